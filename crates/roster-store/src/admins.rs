//! The `admins` table: logins for the web UI.

use sqlx::AnyConnection;

use crate::{col, StoreError};

/// An administrator login.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminRecord {
    /// Internal id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// The argon2 hash of the password.
    pub password_hash: String,
    /// `superadmin` or `training_admin`.
    pub role: String,
    /// The branch codes a training admin is scoped to.
    pub branches: Vec<String>,
}

/// Creates an administrator login, or replaces the password and role of an existing one.
pub async fn upsert(
    conn: &mut AnyConnection,
    username: &str,
    password_hash: &str,
    role: &str,
    branches: &[String],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO admins (username, username_key, password_hash, role, branches, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username_key) DO UPDATE SET \
         password_hash = excluded.password_hash, role = excluded.role, branches = excluded.branches",
    )
    .bind(username)
    .bind(username.to_lowercase())
    .bind(password_hash)
    .bind(role)
    .bind(serde_json::to_string(branches)?)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// An administrator by login name, in any case.
pub async fn by_username(conn: &mut AnyConnection, username: &str) -> Result<Option<AdminRecord>, StoreError> {
    let row = sqlx::query("SELECT id, username, password_hash, role, branches FROM admins WHERE username_key = $1")
        .bind(username.to_lowercase())
        .fetch_optional(conn)
        .await?;
    row.map(|row| {
        let branches: String = col(&row, "branches")?;
        Ok(AdminRecord {
            id: col(&row, "id")?,
            username: col(&row, "username")?,
            password_hash: col(&row, "password_hash")?,
            role: col(&row, "role")?,
            branches: serde_json::from_str(&branches)?,
        })
    })
    .transpose()
}
