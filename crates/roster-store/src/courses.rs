//! The `courses` table.

use roster_domain::Course;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::params::Params;
use crate::{col, like_pattern, Page, StoreError, WriteTx};

fn from_row(row: &AnyRow) -> Result<Course, StoreError> {
    Ok(Course { id: col(row, "id")?, code: col(row, "code")?, name: col(row, "name")? })
}

/// Every course, in id order.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Course>, StoreError> {
    let rows = sqlx::query("SELECT id, code, name FROM courses ORDER BY id").fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// A page of courses in id order.
pub async fn list(conn: &mut AnyConnection, after: Option<i64>, limit: usize) -> Result<Page<Course>, StoreError> {
    let rows = sqlx::query("SELECT id, code, name FROM courses WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after.unwrap_or(0))
        .bind((limit + 1) as i64)
        .fetch_all(conn)
        .await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |c| c.id))
}

/// The courses whose code or name holds `text` (any case), by code, at most `limit`.
pub async fn search(conn: &mut AnyConnection, text: &str, limit: usize) -> Result<Vec<Course>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, code, name FROM courses WHERE code_key LIKE $1 ESCAPE '\\' OR LOWER(name) LIKE $1 ESCAPE '\\' \
         ORDER BY code_key LIMIT $2",
    )
    .bind(like_pattern(text))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The courses with these codes (any case); codes that name none are left out.
pub async fn by_codes(conn: &mut AnyConnection, codes: &[String]) -> Result<Vec<Course>, StoreError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::new(conn);
    let sql = format!("SELECT id, code, name FROM courses WHERE code_key IN ({}) ORDER BY id", p.list(codes.len()));
    let mut q = sqlx::query(crate::built(sql));
    for code in codes {
        q = q.bind(code.to_lowercase());
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// One course by code, in any case.
pub async fn by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<Course>, StoreError> {
    let row = sqlx::query("SELECT id, code, name FROM courses WHERE code_key = $1")
        .bind(code.to_lowercase())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts a course and returns its id.
pub async fn insert(tx: &mut WriteTx, code: &str, name: &str, now: i64) -> Result<i64, StoreError> {
    let conn: &mut AnyConnection = tx;
    Ok(sqlx::query_scalar(
        "INSERT INTO courses (code, code_key, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(code)
    .bind(code.to_lowercase())
    .bind(name)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Renames a course.
pub async fn rename(tx: &mut WriteTx, id: i64, name: &str) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("UPDATE courses SET name = $1 WHERE id = $2").bind(name).bind(id).execute(conn).await?;
    Ok(())
}

/// Deletes a course and its enrollments.
pub async fn delete(tx: &mut WriteTx, id: i64) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("DELETE FROM enrollments WHERE course_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM courses WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}
