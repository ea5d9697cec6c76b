//! The `branches` table: the org chart.

use roster_domain::Branch;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::{col, StoreError, WriteTx};

fn from_row(row: &AnyRow) -> Result<Branch, StoreError> {
    Ok(Branch {
        id: col(row, "id")?,
        code: col(row, "code")?,
        name: col(row, "name")?,
        parent_id: col(row, "parent_id")?,
    })
}

/// Every branch, in id order (the tree is small enough to hold whole).
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Branch>, StoreError> {
    let rows = sqlx::query("SELECT id, code, name, parent_id FROM branches ORDER BY id").fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// One branch by code, in any case.
pub async fn by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<Branch>, StoreError> {
    let row = sqlx::query("SELECT id, code, name, parent_id FROM branches WHERE code_key = $1")
        .bind(code.to_lowercase())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts a branch and returns its id.
pub async fn insert(
    tx: &mut WriteTx,
    code: &str,
    name: &str,
    parent_id: Option<i64>,
    now: i64,
) -> Result<i64, StoreError> {
    let conn: &mut AnyConnection = tx;
    Ok(sqlx::query_scalar(
        "INSERT INTO branches (code, code_key, name, parent_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(code)
    .bind(code.to_lowercase())
    .bind(name)
    .bind(parent_id)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Renames or moves a branch.
pub async fn update(tx: &mut WriteTx, b: &Branch) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    let done = sqlx::query("UPDATE branches SET name = $1, parent_id = $2 WHERE id = $3")
        .bind(&b.name)
        .bind(b.parent_id)
        .bind(b.id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a branch (the caller has checked it has no users and no children).
pub async fn delete(tx: &mut WriteTx, id: i64) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("DELETE FROM branches WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}
