//! The REST API, tested over real HTTP against a real server on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_debug_implementations)]

mod helpers;

mod access;
mod auth;
mod automatic;
mod catalog;
mod cluster;
mod enrollment_rules;
mod feed;
mod groups;
mod imports;
mod matrix;
mod scim;
mod users;
mod webhooks;
