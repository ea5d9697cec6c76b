//! The `feed` table: the change feed's backbone. Each write transaction that touched
//! users, groups or memberships appends one row, under the write lock and in the
//! transaction itself, so row ids follow commit order in every process: once a reader
//! sees row n, every row below n that will ever exist is visible too. A row holds the
//! entity changes it made and the id range of the membership events it wrote.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::{col, StoreError, WriteTx};

/// The shared fact holding the highest feed row pruned (cursors at or below it are gone).
const PRUNED_UPTO: &str = "feed_pruned_upto";

/// An entity change a feed row records (membership moves are read from their events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What happened: `user.created`, `user.updated`, `user.suspended`, `user.deleted`,
    /// `enrollment.set`, `enrollment.removed`, `group.created`, `group.changed`,
    /// `group.deleted`.
    #[serde(rename = "k")]
    pub kind: String,
    /// The group, for group changes and for enrollments its enrollment rule made or
    /// removed.
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub group: Option<i64>,
    /// The users, ascending, for user and enrollment changes.
    #[serde(rename = "u", default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<i64>,
    /// The course, for enrollment changes.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub course: Option<i64>,
    /// The branch a deleted user was in (the row is gone, so scope reads it here).
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<i64>,
}

impl Entry {
    /// A change of these users (the kind is set by whoever records it).
    pub fn users(users: Vec<i64>) -> Self {
        Self { kind: String::new(), group: None, users, course: None, branch: None }
    }

    /// A change of these users' enrollments in `course`.
    pub fn enrollment(course: i64, users: Vec<i64>) -> Self {
        Self { course: Some(course), ..Self::users(users) }
    }

    /// A change of a group.
    pub fn group(group: i64) -> Self {
        Self { group: Some(group), ..Self::users(vec![]) }
    }
}

/// One stored feed row.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its id: the feed's order.
    pub id: i64,
    /// When its transaction committed, epoch ms.
    pub at: i64,
    /// Who made the change.
    pub actor: String,
    /// Why, in words.
    pub cause: String,
    /// The entity changes, in the order they were made.
    pub entries: Vec<Entry>,
    /// Its membership events are those with ids in `(events_after, events_upto]`.
    pub events_after: i64,
    /// See `events_after`.
    pub events_upto: i64,
}

/// Appends the row of the transaction `tx` is about to commit: its entries, and every
/// membership event written since the last row (all of them this transaction's, since
/// writers go one at a time).
pub async fn append(tx: &mut WriteTx, at: i64, actor: &str, cause: &str, entries: &[Entry]) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    let items = serde_json::to_string(entries).map_err(|e| StoreError::Corrupt(format!("feed entries: {e}")))?;
    sqlx::query(
        "INSERT INTO feed (at, actor, cause, items, events_after, events_upto) VALUES ($1, $2, $3, $4, \
         COALESCE((SELECT events_upto FROM feed ORDER BY id DESC LIMIT 1), 0), \
         COALESCE((SELECT MAX(id) FROM membership_events), 0))",
    )
    .bind(at)
    .bind(actor)
    .bind(cause)
    .bind(items)
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` rows from `from` on (inclusive), oldest first.
pub async fn rows_from(conn: &mut AnyConnection, from: i64, limit: i64) -> Result<Vec<Row>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, at, actor, cause, items, events_after, events_upto FROM feed WHERE id >= $1 ORDER BY id LIMIT $2",
    )
    .bind(from)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let id: i64 = col(row, "id")?;
            let items: String = col(row, "items")?;
            let entries = serde_json::from_str(&items)
                .map_err(|e| StoreError::Corrupt(format!("feed row {id}: its entries: {e}")))?;
            Ok(Row {
                id,
                at: col(row, "at")?,
                actor: col(row, "actor")?,
                cause: col(row, "cause")?,
                entries,
                events_after: col(row, "events_after")?,
                events_upto: col(row, "events_upto")?,
            })
        })
        .collect()
}

/// The newest row's id, 0 when there is none.
pub async fn last(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let n: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM feed").fetch_one(conn).await?;
    Ok(n.unwrap_or(0))
}

/// The highest row pruned, 0 when none was.
pub async fn pruned_upto(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let fact = crate::changes::fact(conn, PRUNED_UPTO).await?;
    Ok(fact.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Forgets rows older than `before` (epoch ms), keeping the newest one so a new row
/// still finds where its events start; records the highest row forgotten. Returns how
/// many went.
pub async fn prune(tx: &mut WriteTx, before: i64) -> Result<u64, StoreError> {
    let conn: &mut AnyConnection = tx;
    let gone: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM feed WHERE at < $1 AND id < (SELECT MAX(id) FROM feed)")
            .bind(before)
            .fetch_one(&mut *conn)
            .await?;
    let Some(gone) = gone else { return Ok(0) };
    let done = sqlx::query("DELETE FROM feed WHERE id <= $1").bind(gone).execute(&mut *conn).await?;
    crate::changes::set_fact(tx, PRUNED_UPTO, &gone.to_string()).await?;
    Ok(done.rows_affected())
}
