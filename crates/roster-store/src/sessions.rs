//! The `sessions` and `login_failures` tables: browser sessions of the admin UI, and
//! failed logins counted for throttling. A session is found by the hash of its id and
//! read together with its admin, so a changed role or branch list applies at once.

use sqlx::AnyConnection;

use crate::{col, StoreError};

/// A live session and the admin it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The admin's id.
    pub admin_id: i64,
    /// The admin's login name.
    pub username: String,
    /// `superadmin` or `training_admin`.
    pub role: String,
    /// The branch codes a training admin is scoped to.
    pub branches: Vec<String>,
    /// The token every state-changing form of this session must carry.
    pub csrf_token: String,
    /// When the session began, epoch milliseconds.
    pub created_at: i64,
    /// When it ends, epoch milliseconds.
    pub expires_at: i64,
}

/// Stores a new session.
pub async fn insert(
    conn: &mut AnyConnection,
    id_hash: &str,
    admin_id: i64,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, admin_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash)
    .bind(admin_id)
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session whose id hashes to `id_hash`, unless it has expired by `now`.
pub async fn live(conn: &mut AnyConnection, id_hash: &str, now: i64) -> Result<Option<SessionRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT s.admin_id, a.username, a.role, a.branches, s.csrf_token, s.created_at, s.expires_at \
         FROM sessions s JOIN admins a ON a.id = s.admin_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND a.suspended = 0",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        let branches: String = col(&row, "branches")?;
        Ok(SessionRecord {
            admin_id: col(&row, "admin_id")?,
            username: col(&row, "username")?,
            role: col(&row, "role")?,
            branches: serde_json::from_str(&branches)?,
            csrf_token: col(&row, "csrf_token")?,
            created_at: col(&row, "created_at")?,
            expires_at: col(&row, "expires_at")?,
        })
    })
    .transpose()
}

/// Ends a session; false when there was none.
pub async fn delete(conn: &mut AnyConnection, id_hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(conn).await?;
    Ok(done.rows_affected() > 0)
}

/// Forgets the sessions that expired by `now`; returns how many.
pub async fn delete_expired(conn: &mut AnyConnection, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(conn).await?;
    Ok(done.rows_affected())
}

/// Failed logins under `key` in the window that began at the returned time, if any.
pub async fn failures(conn: &mut AnyConnection, key: &str) -> Result<Option<(i64, i64)>, StoreError> {
    let row = sqlx::query("SELECT failures, window_start FROM login_failures WHERE throttle_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.map(|row| Ok((col(&row, "failures")?, col(&row, "window_start")?))).transpose()
}

/// Counts one more failed login under `key`: the window that began at `window_start`
/// goes on, or a new one begins at `now` when the old one has closed.
pub async fn record_failure(conn: &mut AnyConnection, key: &str, now: i64, window_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO login_failures (throttle_key, failures, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (throttle_key) DO UPDATE SET \
         failures = CASE WHEN login_failures.window_start <= $3 THEN 1 ELSE login_failures.failures + 1 END, \
         window_start = CASE WHEN login_failures.window_start <= $3 THEN $2 ELSE login_failures.window_start END",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the failed logins under `key` (after a successful one).
pub async fn clear_failures(conn: &mut AnyConnection, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1").bind(key).execute(conn).await?;
    Ok(())
}

/// Forgets failure windows that closed before `before`.
pub async fn delete_stale_failures(conn: &mut AnyConnection, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM login_failures WHERE window_start <= $1").bind(before).execute(conn).await?;
    Ok(done.rows_affected())
}

/// Ends every session of an admin (suspended, deleted, or given another role).
pub async fn delete_of_admin(conn: &mut AnyConnection, admin_id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE admin_id = $1").bind(admin_id).execute(conn).await?;
    Ok(())
}
