//! The crate's integration tests, in one binary: request flows as the web and app layers
//! will run them, and properties over generated input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flows;
mod properties;
