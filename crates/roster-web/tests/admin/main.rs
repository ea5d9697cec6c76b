//! The admin UI, tested against the real server: over plain HTTP (sessions, cookies,
//! CSRF, throttling, scope; always, on SQLite and, when `ROSTER_TEST_POSTGRES_URL` is
//! set, PostgreSQL) and end to end in a real headless Chromium driven through WebDriver
//! (chromedriver).
//!
//! The browser tests are off unless `ROSTER_BROWSER_TESTS=1` (set by
//! `scripts/browser-tests.sh`, which also installs Chromium and starts chromedriver), so
//! `cargo test` passes on a machine without a browser. When on, a missing browser is a
//! failure, not a skip. Each browser test saves a screenshot of every screen it visits
//! under `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_debug_implementations)]

mod harness;

mod a11y;
mod access;
mod catalog;
mod enrollment_rules;
mod fields;
mod groups;
mod http;
mod imports;
mod lists;
mod messages;
mod pickers;
mod rules;
mod sessions;
mod users;
mod webhooks;
