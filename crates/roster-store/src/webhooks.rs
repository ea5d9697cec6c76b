//! The `webhooks` and `webhook_deliveries` tables: subscriptions to the change feed,
//! each with the feed cursor it was delivered up to, and the log of its deliveries.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::{col, StoreError, WriteTx};

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The signing secret, `whsec_` and base64.
    pub secret: String,
    /// The kinds of change delivered; empty for every kind.
    pub kinds: Vec<String>,
    /// Only changes about these groups; empty for every change.
    pub group_ids: Vec<i64>,
    /// The feed cursor delivered up to.
    pub after: String,
    /// When it was made, epoch ms.
    pub created_at: i64,
    /// Who made it (`admin:alice`, `token:hr-sync`).
    pub created_by: String,
    /// The role its maker had (`superadmin`, `training_admin`): a training admin's
    /// subscription carries only what its maker may see.
    pub owner_role: String,
    /// Failed attempts in a row.
    pub attempts: i64,
    /// Not before this (epoch ms) is the next attempt made.
    pub next_attempt_at: i64,
    /// Since when every attempt has failed, if one has.
    pub failing_since: Option<i64>,
    /// When it was paused (by its owner, or after failing for a day).
    pub paused_at: Option<i64>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// The `webhook-id` sent: the same for every attempt at one batch.
    pub message_id: String,
    /// When, epoch ms.
    pub at: i64,
    /// How many changes the batch held.
    pub items: i64,
    /// Which attempt at this batch (1, 2, ...).
    pub attempt: i64,
    /// `sending` (under way), `delivered` or `failed`.
    pub status: String,
    /// The receiver's HTTP status, when it answered.
    pub response_code: Option<i64>,
    /// Why it failed, in words.
    pub error: Option<String>,
}

const COLUMNS: &str =
    "id, url, secret, kinds, group_ids, delivered_after, created_at, created_by, owner_role, attempts, \
                       next_attempt_at, failing_since, paused_at";

fn read(row: &AnyRow) -> Result<Webhook, StoreError> {
    let kinds: String = col(row, "kinds")?;
    let groups: String = col(row, "group_ids")?;
    Ok(Webhook {
        id: col(row, "id")?,
        url: col(row, "url")?,
        secret: col(row, "secret")?,
        kinds: kinds.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect(),
        group_ids: groups.split(',').filter_map(|g| g.parse().ok()).collect(),
        after: col(row, "delivered_after")?,
        created_at: col(row, "created_at")?,
        created_by: col(row, "created_by")?,
        owner_role: col(row, "owner_role")?,
        attempts: col(row, "attempts")?,
        next_attempt_at: col(row, "next_attempt_at")?,
        failing_since: col(row, "failing_since")?,
        paused_at: col(row, "paused_at")?,
    })
}

fn joined(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Creates a subscription; returns its id.
pub async fn insert(tx: &mut WriteTx, hook: &Webhook) -> Result<i64, StoreError> {
    let conn: &mut AnyConnection = tx;
    let id = sqlx::query_scalar(
        "INSERT INTO webhooks (url, secret, kinds, group_ids, delivered_after, created_at, created_by, owner_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&hook.url)
    .bind(&hook.secret)
    .bind(hook.kinds.join(","))
    .bind(joined(&hook.group_ids))
    .bind(&hook.after)
    .bind(hook.created_at)
    .bind(&hook.created_by)
    .bind(&hook.owner_role)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Every subscription, by id.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Webhook>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks ORDER BY id");
    let rows = sqlx::query(crate::built(sql)).fetch_all(conn).await?;
    rows.iter().map(read).collect()
}

/// One subscription.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<Webhook>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
    let row = sqlx::query(crate::built(sql)).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(read).transpose()
}

/// Saves what its owner may change: URL, kinds, group, paused (resuming clears the
/// failures, so the next attempt is at once).
pub async fn update(tx: &mut WriteTx, hook: &Webhook) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query(
        "UPDATE webhooks SET url = $1, kinds = $2, group_ids = $3, paused_at = $4, attempts = $5, \
         next_attempt_at = $6, failing_since = $7 WHERE id = $8",
    )
    .bind(&hook.url)
    .bind(hook.kinds.join(","))
    .bind(joined(&hook.group_ids))
    .bind(hook.paused_at)
    .bind(hook.attempts)
    .bind(hook.next_attempt_at)
    .bind(hook.failing_since)
    .bind(hook.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a subscription and its log; whether there was one.
pub async fn delete(tx: &mut WriteTx, id: i64) -> Result<bool, StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1").bind(id).execute(&mut *conn).await?;
    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(conn).await?;
    Ok(done.rows_affected() > 0)
}

/// Moves a subscription's cursor past changes it does not take.
pub async fn set_after(tx: &mut WriteTx, id: i64, after: &str) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("UPDATE webhooks SET delivered_after = $1 WHERE id = $2").bind(after).bind(id).execute(conn).await?;
    Ok(())
}

/// Logs an attempt about to be made (status `sending`); returns its id, for [`record`]
/// to complete. An attempt still `sending` was cut short (its process stopped before
/// the receiver answered): it is logged as failed, in the same transaction.
pub async fn begin(tx: &mut WriteTx, webhook: i64, delivery: &Delivery) -> Result<i64, StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', \
         error = 'interrupted: the server stopped before the receiver answered' \
         WHERE webhook_id = $1 AND status = 'sending'",
    )
    .bind(webhook)
    .execute(&mut *conn)
    .await?;
    let id = sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (webhook_id, message_id, at, items, attempt, status) \
         VALUES ($1, $2, $3, $4, $5, 'sending') RETURNING id",
    )
    .bind(webhook)
    .bind(&delivery.message_id)
    .bind(delivery.at)
    .bind(delivery.items)
    .bind(delivery.attempt)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Records an attempt and where the subscription stands after it: its cursor (moved on
/// success), failures, next attempt and pause. An attempt [`begin`] logged (`id` set)
/// is completed; any other is added to the log.
pub async fn record(tx: &mut WriteTx, hook: &Webhook, delivery: &Delivery) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query(
        "UPDATE webhooks SET delivered_after = $1, attempts = $2, next_attempt_at = $3, failing_since = $4, \
         paused_at = $5 WHERE id = $6",
    )
    .bind(&hook.after)
    .bind(hook.attempts)
    .bind(hook.next_attempt_at)
    .bind(hook.failing_since)
    .bind(hook.paused_at)
    .bind(hook.id)
    .execute(&mut *conn)
    .await?;
    if delivery.id != 0 {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, response_code = $2, error = $3 \
             WHERE id = $4 AND webhook_id = $5",
        )
        .bind(&delivery.status)
        .bind(delivery.response_code)
        .bind(&delivery.error)
        .bind(delivery.id)
        .bind(hook.id)
        .execute(conn)
        .await?;
        return Ok(());
    }
    log(tx, hook.id, delivery).await
}

/// Adds an attempt to a subscription's log and nothing else (a batch delivered before,
/// sent again).
pub async fn log(tx: &mut WriteTx, webhook: i64, delivery: &Delivery) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, message_id, at, items, attempt, status, response_code, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(webhook)
    .bind(&delivery.message_id)
    .bind(delivery.at)
    .bind(delivery.items)
    .bind(delivery.attempt)
    .bind(&delivery.status)
    .bind(delivery.response_code)
    .bind(&delivery.error)
    .execute(conn)
    .await?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "id, message_id, at, items, attempt, status, response_code, error";

fn read_delivery(row: &AnyRow) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: col(row, "id")?,
        message_id: col(row, "message_id")?,
        at: col(row, "at")?,
        items: col(row, "items")?,
        attempt: col(row, "attempt")?,
        status: col(row, "status")?,
        response_code: col(row, "response_code")?,
        error: col(row, "error")?,
    })
}

/// A subscription's newest deliveries first, at most `limit`.
pub async fn deliveries(conn: &mut AnyConnection, webhook: i64, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    let sql =
        format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2");
    let rows = sqlx::query(crate::built(sql)).bind(webhook).bind(limit).fetch_all(conn).await?;
    rows.iter().map(read_delivery).collect()
}

/// One attempt in a subscription's log.
pub async fn delivery(conn: &mut AnyConnection, webhook: i64, id: i64) -> Result<Option<Delivery>, StoreError> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2");
    let row = sqlx::query(crate::built(sql)).bind(webhook).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(read_delivery).transpose()
}

/// How many attempts the log holds at one message (one batch).
pub async fn attempts_at(conn: &mut AnyConnection, webhook: i64, message_id: &str) -> Result<i64, StoreError> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = $1 AND message_id = $2")
            .bind(webhook)
            .bind(message_id)
            .fetch_one(conn)
            .await?;
    Ok(n)
}
