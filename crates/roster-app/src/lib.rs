//! Roster's use cases, shared by the web server and the CLI. Each operation checks who
//! is asking ([`auth`]), validates its input with the domain's types, and runs in one
//! store transaction, so it happens whole or not at all.
//!
//! - [`App`]: the handle every use case hangs off: the store, the clock, the settings.
//! - One module per subject: [`users`], [`catalog`] (fields, branches, courses),
//!   [`enrollments`], [`enrollment_rules`] (a group's courses), [`tokens`], [`sessions`] (the admin UI's logins); [`import`],
//!   users in bulk from CSV, as jobs.
//! - [`scim`]: SCIM 2.0 provisioning of users and groups over the same use cases.
//! - [`feed`]: the change feed, every committed change oldest first, for consumers.
//! - [`views`]: what the use cases return, as clients see it; [`labels`] and
//!   [`rule_check`]: what the admin screens need besides (names for ids, a rule
//!   checked as it is typed).
//! - [`demo`]: the deterministic generator of realistic data, reused by the benchmark
//!   (the `roster-bench` crate, which times whole-population steps through `bulk`).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod admins;
pub mod auth;
pub mod automatic;
#[cfg(feature = "bench")]
pub mod bulk;
pub mod catalog;
pub mod clock;
pub mod demo;
pub mod enrollment_rules;
pub mod enrollments;
mod error;
pub mod export;
pub mod feed;
pub mod group_csv;
pub mod groups;
mod ids;
pub mod import;
pub mod labels;
mod live;
pub mod maintenance;
mod reach;
#[cfg(test)]
mod reads_beside_writes;
pub mod rule_check;
pub mod rules;
pub mod saved;
pub mod scim;
pub mod sessions;
pub mod tokens;
mod transaction;
pub mod users;
pub mod views;
pub mod webhooks;

pub use auth::{Actor, Role, Scope, Superadmin};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, AppResult, Internal};
pub use ids::{parse_id, ListParams};
pub use roster_engine::Explanation;
pub use roster_store::groups::ListKind;
pub use roster_store::StoreError;

use roster_domain::{BranchTree, FieldDef};
use roster_store::{AnyConnection, Store};
use std::sync::Arc;

/// Settings that bound what clients may send.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The largest group association CSV accepted, in bytes.
    pub max_csv_bytes: usize,
    /// The largest user import CSV accepted, in bytes.
    pub max_import_bytes: usize,
    /// The platform's time zone: where "today" of relative dates turns over.
    pub timezone: chrono_tz::Tz,
    /// How long the change feed keeps a change (older cursors get 410).
    pub feed_retention: std::time::Duration,
    /// The most users on the platform for which an import's dry run works out what
    /// each automatic group would gain or lose (above it, the check says it did not).
    /// Tests lower it; the default is [`import::REHEARSE_UP_TO`].
    pub rehearse_imports_up_to: u64,
    /// Where the in-memory image is saved between runs, for a start-up in seconds
    /// (see [`App::save_image`]); `None`: every start-up builds it from the database.
    pub image_file: Option<std::path::PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_csv_bytes: 3 * 1024 * 1024,
            max_import_bytes: 100 * 1024 * 1024,
            timezone: chrono_tz::UTC,
            feed_retention: std::time::Duration::from_secs(30 * 24 * 3600),
            rehearse_imports_up_to: import::REHEARSE_UP_TO,
            image_file: None,
        }
    }
}

/// The application: every use case is a method of this (or of a value it hands out).
#[derive(Debug, Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: Settings,
    live: Arc<live::Live>,
    imports: Arc<import::Jobs>,
    /// While set, the server is building its image and answers nothing but that.
    starting: Arc<std::sync::atomic::AtomicBool>,
}

impl App {
    /// Wraps an opened, migrated store.
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        let live = live::Live::new(settings.timezone);
        Self { store, clock, settings, live, imports: import::Jobs::new(), starting: Arc::default() }
    }

    /// The store, for the binary's maintenance commands and health checks.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Now, epoch milliseconds.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The cause of membership events: who, and why in words.
    pub(crate) fn cause(&self, actor: &Actor, why: impl Into<String>) -> transaction::Cause {
        transaction::Cause { actor: actor.name.clone(), why: why.into(), at: self.now() }
    }

    /// A write transaction for the application's own records — sessions, login
    /// throttling, tokens, admins, import jobs — which no rule and no membership reads.
    /// Everything else is written through [`App::begin`]'s `LiveTx`.
    pub(crate) async fn bookkeeping(&self) -> AppResult<roster_store::WriteTx> {
        #[expect(clippy::disallowed_methods, reason = "bookkeeping tables only; the domain goes through LiveTx")]
        let tx = self.store.write().await?;
        Ok(tx)
    }

    /// Checks that the database answers.
    /// Marks the server as starting (its image is being built and the groups
    /// re-evaluated) or ready: while starting, it answers every request with 503.
    pub fn set_starting(&self, starting: bool) {
        self.starting.store(starting, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the server is still starting (see [`App::set_starting`]).
    pub fn is_starting(&self) -> bool {
        self.starting.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub async fn health(&self) -> AppResult<()> {
        Ok(self.store.ping().await?)
    }
}

/// What validating a user needs to know: the field definitions and the org chart.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub fields: Vec<FieldDef>,
    pub tree: BranchTree,
}

impl Context {
    pub(crate) async fn load(conn: &mut AnyConnection) -> AppResult<Self> {
        Ok(Self {
            fields: roster_store::fields::all(&mut *conn).await?,
            tree: BranchTree::new(roster_store::branches::all(&mut *conn).await?),
        })
    }

    pub(crate) fn field(&self, code: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.code.as_str().eq_ignore_ascii_case(code))
    }
}
