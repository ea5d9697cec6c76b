//! The `imports` table: user import jobs, their progress and outcome. Also the bulk
//! read of the `users` table that an import makes: the users its rows name.
//!
//! A job's row is written by the process that runs it: created `queued`, moved to
//! `running` with a heartbeat while it works, and made final (`succeeded`, `failed`) at
//! the end. A process that dies leaves its jobs queued or running with a heartbeat that
//! no longer moves; [`interrupt_stale`] marks them `interrupted`.

use roster_domain::User;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::params::Params;
use crate::{col, StoreError};

/// Where an import job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Accepted, not started.
    Queued,
    /// Being checked or applied.
    Running,
    /// Finished: applied (or, for a dry run, checked).
    Succeeded,
    /// Finished without applying anything: rows in error, or a failure of ours.
    Failed,
    /// The process running it stopped before it finished; nothing was applied.
    Interrupted,
}

impl ImportState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }

    fn parse(raw: &str) -> Result<Self, StoreError> {
        Ok(match raw {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "interrupted" => Self::Interrupted,
            other => return Err(StoreError::Corrupt(format!("unknown import state {other}"))),
        })
    }

    /// Whether the job is over.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Interrupted)
    }
}

/// A job to record.
#[derive(Debug, Clone)]
pub struct NewImport<'a> {
    /// Who asked for it.
    pub actor: &'a str,
    /// Its options, as JSON.
    pub options: &'a str,
    /// The size of the file, in bytes.
    pub file_bytes: i64,
    /// The process that runs it.
    pub owner: &'a str,
    /// Now, epoch milliseconds.
    pub at: i64,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRecord {
    /// The job's id.
    pub id: i64,
    /// Who asked for it.
    pub actor: String,
    /// Where it stands.
    pub state: ImportState,
    /// What it was doing at its last heartbeat (`checking`, `applying`...).
    pub phase: String,
    /// Its options, as JSON.
    pub options: String,
    /// The size of the file, in bytes.
    pub file_bytes: i64,
    /// Bytes of the file read in the current phase.
    pub bytes_read: i64,
    /// Rows read in the current phase.
    pub rows_read: i64,
    /// The process that runs it.
    pub owner: String,
    /// When its process last said it was alive, epoch milliseconds.
    pub heartbeat_at: i64,
    /// The outcome (JSON), once final.
    pub result: Option<String>,
    /// When it was accepted.
    pub created_at: i64,
    /// When it ended.
    pub finished_at: Option<i64>,
}

const COLUMNS: &str = "id, actor, state, phase, options, file_bytes, bytes_read, rows_read, owner, heartbeat_at, \
                       result, created_at, finished_at";

fn from_row(row: &AnyRow) -> Result<ImportRecord, StoreError> {
    let state: String = col(row, "state")?;
    Ok(ImportRecord {
        id: col(row, "id")?,
        actor: col(row, "actor")?,
        state: ImportState::parse(&state)?,
        phase: col(row, "phase")?,
        options: col(row, "options")?,
        file_bytes: col(row, "file_bytes")?,
        bytes_read: col(row, "bytes_read")?,
        rows_read: col(row, "rows_read")?,
        owner: col(row, "owner")?,
        heartbeat_at: col(row, "heartbeat_at")?,
        result: col(row, "result")?,
        created_at: col(row, "created_at")?,
        finished_at: col(row, "finished_at")?,
    })
}

/// Records a queued job and returns its id.
pub async fn insert(conn: &mut AnyConnection, new: &NewImport<'_>) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO imports (actor, state, phase, options, file_bytes, owner, heartbeat_at, created_at) \
         VALUES ($1, 'queued', 'queued', $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(new.actor)
    .bind(new.options)
    .bind(new.file_bytes)
    .bind(new.owner)
    .bind(new.at)
    .fetch_one(conn)
    .await?)
}

/// One job.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<ImportRecord>, StoreError> {
    let row = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM imports WHERE id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// What a heartbeat reports.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat<'a> {
    /// `queued` or `running`.
    pub state: ImportState,
    /// What the job is doing.
    pub phase: &'a str,
    /// Rows read in this phase.
    pub rows_read: i64,
    /// Bytes read in this phase.
    pub bytes_read: i64,
    /// Now, epoch milliseconds.
    pub at: i64,
}

/// Records that a job is alive and how far it got; a job already final is left alone.
pub async fn heartbeat(conn: &mut AnyConnection, id: i64, beat: &Heartbeat<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE imports SET state = $1, phase = $2, rows_read = $3, bytes_read = $4, heartbeat_at = $5 \
         WHERE id = $6 AND state IN ('queued', 'running')",
    )
    .bind(beat.state.as_str())
    .bind(beat.phase)
    .bind(beat.rows_read)
    .bind(beat.bytes_read)
    .bind(beat.at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes a job final with its outcome, whatever it was marked before: a job that
/// committed its import succeeded, even if another process had given up on it.
pub async fn finish(
    conn: &mut AnyConnection,
    id: i64,
    state: ImportState,
    result: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE imports SET state = $1, phase = 'done', result = $2, finished_at = $3 WHERE id = $4")
        .bind(state.as_str())
        .bind(result)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks `interrupted` the jobs still queued or running whose heartbeat is older than
/// `before`, except `running` (the caller's own, alive); returns how many.
pub async fn interrupt_stale(
    conn: &mut AnyConnection,
    before: i64,
    running: &[i64],
    at: i64,
) -> Result<u64, StoreError> {
    let mut p = Params::new(conn);
    let mut sql = format!(
        "UPDATE imports SET state = 'interrupted', phase = 'done', finished_at = {} \
         WHERE state IN ('queued', 'running') AND heartbeat_at < {}",
        p.next(),
        p.next()
    );
    if !running.is_empty() {
        sql.push_str(&format!(" AND id NOT IN ({})", p.list(running.len())));
    }
    let mut q = sqlx::query(crate::built(sql)).bind(at).bind(before);
    for id in running {
        q = q.bind(*id);
    }
    Ok(q.execute(conn).await?.rows_affected())
}

/// The users with these lower-cased usernames, in no particular order.
///
/// Not kept prepared: PostgreSQL gives a prepared statement a generic plan after five
/// runs, and a plan made while `users` was small (a sequential scan) would then stay
/// with the pooled connection as the table grows by the hundred thousand.
pub async fn users_by_username(conn: &mut AnyConnection, keys: &[String]) -> Result<Vec<User>, StoreError> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let sql = format!(
            "SELECT {} FROM users WHERE username_key IN ({})",
            crate::users::COLUMNS,
            Params::new(conn).list(chunk.len())
        );
        let mut q = sqlx::query(crate::built(sql)).persistent(false);
        for k in chunk {
            q = q.bind(k);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(crate::users::from_row(&row)?);
        }
    }
    Ok(out)
}

/// After a bulk write, vacuums the tables an import fills on PostgreSQL and refreshes
/// their planner statistics (which also makes every connection plan its cached
/// statements again, on the real sizes). The vacuum marks the new pages all-visible,
/// so a group's members are read from the `(group_id, user_id)` key alone: reading
/// every group's members at 1M users took 87 s before it and 2.7 s after (psql, 27.9M
/// memberships). Autovacuum would do the same, later. SQLite plans without size
/// statistics and reads a group from its clustered key: nothing to do.
pub async fn refresh_statistics(conn: &mut AnyConnection) -> Result<(), StoreError> {
    if conn.backend_name() != "SQLite" {
        crate::execute_raw(conn, "VACUUM (ANALYZE) users, memberships, membership_events").await?;
    }
    Ok(())
}
