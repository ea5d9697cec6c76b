//! Persistence for Roster on SQLite (a file, the default) and PostgreSQL (a URL), through
//! one code path: sqlx's `Any` driver with SQL that both dialects accept (`$1`
//! placeholders, `RETURNING`, `BIGINT` times in epoch milliseconds, JSON kept as text).
//!
//! - [`Store`]: the pool, the backend, migrations, and [`Store::write`], the one way to
//!   open a transaction that writes. Writes are serialized: in-process by a mutex, and
//!   across processes on PostgreSQL by a transaction-scoped advisory lock, so the
//!   membership engine always sees the database as its own writes left it.
//! - One module per table family: [`users`], [`fields`], [`branches`], [`courses`],
//!   [`enrollments`], [`enrollment_rules`], [`groups`], [`memberships`], [`events`], [`imports`], [`tokens`],
//!   [`admins`], [`sessions`] (admin UI sessions and login throttling); [`feed`], the
//!   change feed's rows, one per write transaction; [`webhooks`], its subscribers.
//!   Their functions take a `&mut AnyConnection`, so the same query runs inside a write
//!   transaction or on a pooled connection for reads.
//! - [`directory`]: external ids, condition searches over users and groups counted in
//!   SQL, and membership facts, for provisioning clients (SCIM).
//! - [`StoreError`]: what can go wrong, with unique-constraint conflicts named by field.

pub mod admins;
pub mod branches;
pub mod changes;
pub mod courses;
pub mod directory;
pub mod enrollment_rules;
pub mod enrollments;
mod error;
pub mod events;
pub mod feed;
pub mod fields;
pub mod groups;
pub mod imports;
pub mod memberships;
mod migrate;
mod page;
mod params;
pub mod sessions;
pub mod tokens;
pub mod users;
pub mod webhooks;

pub use error::StoreError;
pub use page::{like_pattern, Page};
pub use sqlx::AnyConnection;
/// A pooled connection, for reads.
pub type ReadConnection = sqlx::pool::PoolConnection<sqlx::Any>;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The advisory lock key that serializes writers across processes on PostgreSQL.
const WRITE_LOCK_KEY: i64 = 0x526f_7374_6572; // "Roster"

/// A connection pool to one database, and the gate that serializes its writers.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    write_gate: Arc<Mutex<()>>,
    /// Held by work that runs once at a time ([`Store::once_across_processes`]).
    work_gate: Arc<Mutex<()>>,
}

/// A write transaction: holds the write gate until it commits or is dropped (a drop
/// rolls back). Dereferences to the connection its queries run on.
#[derive(Debug)]
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    gate: OwnedMutexGuard<()>,
}

impl WriteTx {
    /// Commits everything written through this transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.commit_then(|| ()).await
    }

    /// Commits, then runs `after` before the next writer of this process may begin:
    /// what follows the commit in memory is done before any writer sees it.
    pub async fn commit_then<T>(self, after: impl FnOnce() -> T) -> Result<T, StoreError> {
        let Self { tx, gate } = self;
        if let Err(e) = tx.commit().await {
            // What `after` holds is dropped before the gate opens, as it would have run.
            drop(after);
            drop(gate);
            return Err(e.into());
        }
        let done = after();
        drop(gate);
        Ok(done)
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Splits `sqlite://PATH` into the form sqlx wants, creating the file when missing.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

impl Store {
    /// Connects to `sqlite://PATH` (the file is created when missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            (Backend::Sqlite, sqlite_url(url))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::Config("the database URL must start with sqlite:// or postgres://".into()));
        };
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Waiting for a lock comes first, so that every pragma after it waits.
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        // Write-ahead logging is the database file's own setting: set once.
                        // Setting it again, as every new connection of the pool would, needs
                        // a lock no busy timeout waits for, and fails beside a writer.
                        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await?;
                        if !mode.eq_ignore_ascii_case("wal") {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                        }
                        for pragma in [
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA cache_size = -65536",
                            // A multi-row write journals each page it changes, so that the
                            // statement alone can roll back: in memory, not in a temporary file.
                            "PRAGMA temp_store = MEMORY",
                            // The log is copied back by `checkpoints`, not by whichever
                            // commit crosses 1,000 pages. This is the fallback, above what
                            // one bulk write leaves in the log, so that the write does not
                            // copy it back in its own commit: a diff of 138,000 memberships
                            // at 1M users is 100,000 pages, whose copy took 1.0-1.1 s of
                            // a 1.3 s commit at 16,384.
                            "PRAGMA wal_autocheckpoint = 262144",
                        ] {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            });
        let pool = options.connect(&url).await?;
        let store = Self { pool, backend, write_gate: Arc::new(Mutex::new(())), work_gate: Arc::new(Mutex::new(())) };
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoints(store.pool.clone(), Arc::downgrade(&store.write_gate)));
        }
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Brings the schema up to date; safe to call at every start and from several
    /// processes at once. `now_ms` stamps the applied versions.
    pub async fn migrate(&self, now_ms: i64) -> Result<(), StoreError> {
        #[expect(clippy::disallowed_methods, reason = "migrations are the schema's, not the domain's")]
        let mut tx = self.write().await?;
        migrate::run(&mut tx, self.backend, now_ms).await?;
        tx.commit().await
    }

    /// A pooled connection for reads.
    pub async fn read(&self) -> Result<ReadConnection, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// Opens the write transaction; waits for any other writer, in this process or
    /// (on PostgreSQL) another, to finish first.
    pub async fn write(&self) -> Result<WriteTx, StoreError> {
        let gate = self.write_gate.clone().lock_owned().await;
        let tx = match self.backend {
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK_KEY).execute(&mut *tx).await?;
                tx
            }
            // The write lock at once, waited for as long as the busy timeout says: a
            // transaction that read first and then wrote would fail at once, without
            // waiting, if anything else had written in between.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
        };
        Ok(WriteTx { tx, gate })
    }

    /// Runs `work` if no other process (on PostgreSQL) or task of this store is running
    /// work under `key`; `None` when one is. Across processes the lock is a session
    /// advisory lock on a connection held for the work, released after it.
    pub async fn once_across_processes<T, F: std::future::Future<Output = T>>(
        &self,
        key: i64,
        work: impl FnOnce() -> F,
    ) -> Result<Option<T>, StoreError> {
        let Ok(_local) = self.work_gate.try_lock() else { return Ok(None) };
        if self.backend != Backend::Postgres {
            return Ok(Some(work().await));
        }
        let mut conn = self.pool.acquire().await?;
        let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut *conn).await?;
        if !held {
            return Ok(None);
        }
        let done = work().await;
        if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut *conn).await {
            // Closing the session releases its lock; back in the pool it would keep it.
            conn.close_on_drop();
            return Err(e.into());
        }
        Ok(Some(done))
    }

    /// Checks that the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.read().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Closes every connection: idle ones at once, checked-out ones as they come back.
    /// Waits at most [`CLOSE_GRACE`] for those (a background task or a caller may hold
    /// one for good); any still out then close when dropped.
    pub async fn close(&self) {
        if tokio::time::timeout(CLOSE_GRACE, self.pool.close()).await.is_err() {
            tracing::warn!("connections still in use {} s after closing the store", CLOSE_GRACE.as_secs());
        }
    }
}

/// How long [`Store::close`] waits for connections in use to come back.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How often the SQLite write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Copies SQLite's write-ahead log back into the database file, beside the writers
/// rather than inside one of their commits. Left to itself, SQLite does it in the
/// commit that takes the log past 1,000 pages, adding the copy and an fsync to that
/// one write: the slowest one percent of single-user updates, at ten times the rest.
/// A passive checkpoint waits for no one and is waited for by no one. It stops once
/// every handle on the store is gone.
async fn checkpoints(pool: AnyPool, alive: std::sync::Weak<Mutex<()>>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.strong_count() == 0 || pool.is_closed() {
            return;
        }
        let Ok(mut conn) = pool.acquire().await else { return };
        if let Err(e) = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
            tracing::warn!(error = %e, "SQLite checkpoint not done");
        }
    }
}

/// Reads a column, turning a decoding failure into a [`StoreError`].
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    use sqlx::Row;
    row.try_get(name).map_err(StoreError::from)
}

/// Runs one SQL statement as given (maintenance and tests: `CREATE DATABASE`...).
pub async fn execute_raw(conn: &mut AnyConnection, sql: &str) -> Result<(), StoreError> {
    conn.execute(sqlx::AssertSqlSafe(sql.to_owned())).await?;
    Ok(())
}

/// SQL text the store assembled itself. Every dynamic query in this crate is made of
/// static fragments, column and table names taken from enums or constants, and numbered
/// placeholders; every value, above all every value a user typed, is a bind parameter.
/// This is the one place that vouches for that to sqlx.
pub(crate) fn built(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}
