//! The `admins` table: logins for the web UI.

use sqlx::any::AnyRow;
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
    /// Whether its logins are refused.
    pub suspended: bool,
    /// When it was created, epoch milliseconds.
    pub created_at: i64,
    /// When it last logged in, epoch milliseconds.
    pub last_login_at: Option<i64>,
}

const COLUMNS: &str = "id, username, password_hash, role, branches, suspended, created_at, last_login_at";

fn from_row(row: &AnyRow) -> Result<AdminRecord, StoreError> {
    let branches: String = col(row, "branches")?;
    let suspended: i64 = col(row, "suspended")?;
    Ok(AdminRecord {
        id: col(row, "id")?,
        username: col(row, "username")?,
        password_hash: col(row, "password_hash")?,
        role: col(row, "role")?,
        branches: serde_json::from_str(&branches)?,
        suspended: suspended != 0,
        created_at: col(row, "created_at")?,
        last_login_at: col(row, "last_login_at")?,
    })
}

/// Creates an administrator login; a username taken in any case is a conflict.
pub async fn insert(
    conn: &mut AnyConnection,
    username: &str,
    password_hash: &str,
    role: &str,
    branches: &[String],
    now: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO admins (username, username_key, password_hash, role, branches, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(username)
    .bind(roster_domain::Username::fold(username))
    .bind(password_hash)
    .bind(role)
    .bind(serde_json::to_string(branches)?)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Writes an administrator's role, branches, suspension and password hash.
pub async fn update(conn: &mut AnyConnection, admin: &AdminRecord) -> Result<(), StoreError> {
    sqlx::query("UPDATE admins SET role = $1, branches = $2, suspended = $3, password_hash = $4 WHERE id = $5")
        .bind(&admin.role)
        .bind(serde_json::to_string(&admin.branches)?)
        .bind(i64::from(admin.suspended))
        .bind(&admin.password_hash)
        .bind(admin.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes an administrator (its sessions go with it); false when there was none.
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM admins WHERE id = $1").bind(id).execute(conn).await?;
    Ok(done.rows_affected() > 0)
}

/// An administrator by login name, in any case.
pub async fn by_username(conn: &mut AnyConnection, username: &str) -> Result<Option<AdminRecord>, StoreError> {
    let row = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM admins WHERE username_key = $1")))
        .bind(roster_domain::Username::fold(username))
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// An administrator by id.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<AdminRecord>, StoreError> {
    let row = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM admins WHERE id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every administrator, by login name.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<AdminRecord>, StoreError> {
    let rows = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM admins ORDER BY username_key")))
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many superadmins can log in.
pub async fn active_superadmins(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE role = 'superadmin' AND suspended = 0")
        .fetch_one(conn)
        .await?)
}

/// Records a login.
pub async fn touch_login(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE admins SET last_login_at = $1 WHERE id = $2").bind(now).bind(id).execute(conn).await?;
    Ok(())
}
