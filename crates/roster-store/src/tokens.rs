//! The `api_tokens` table. Only a token's SHA-256 hash is stored.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::{col, StoreError};

/// An API token's record (never the token itself).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    /// Internal id.
    pub id: i64,
    /// The name it was created under; unique.
    pub name: String,
    /// `superadmin` or `training_admin`.
    pub role: String,
    /// The branch codes a training admin is scoped to.
    pub branches: Vec<String>,
    /// When it was created, epoch milliseconds.
    pub created_at: i64,
    /// When it was last used, epoch milliseconds.
    pub last_used_at: Option<i64>,
}

fn from_row(row: &AnyRow) -> Result<TokenRecord, StoreError> {
    let branches: String = col(row, "branches")?;
    Ok(TokenRecord {
        id: col(row, "id")?,
        name: col(row, "name")?,
        role: col(row, "role")?,
        branches: serde_json::from_str(&branches)?,
        created_at: col(row, "created_at")?,
        last_used_at: col(row, "last_used_at")?,
    })
}

const COLUMNS: &str = "id, name, role, branches, created_at, last_used_at";

/// Stores a new token's hash.
pub async fn insert(
    conn: &mut AnyConnection,
    name: &str,
    hash: &str,
    role: &str,
    branches: &[String],
    now: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_tokens (name, token_hash, role, branches, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(name)
    .bind(hash)
    .bind(role)
    .bind(serde_json::to_string(branches)?)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// The token whose hash this is.
pub async fn by_hash(conn: &mut AnyConnection, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
    let row = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1")))
        .bind(hash)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every token, by name.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<TokenRecord>, StoreError> {
    let rows =
        sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM api_tokens ORDER BY name"))).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// A token by id.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<TokenRecord>, StoreError> {
    let row = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Revokes a token by id; false when there was none.
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1").bind(id).execute(conn).await?;
    Ok(done.rows_affected() > 0)
}

/// Records that a token was used.
pub async fn touch(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(conn).await?;
    Ok(())
}
