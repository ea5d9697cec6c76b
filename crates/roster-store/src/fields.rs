//! The `fields` table: additional field definitions.

use roster_domain::{Code, FieldDef, FieldType, Name};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::{col, StoreError, WriteTx};

fn from_row(row: &AnyRow) -> Result<FieldDef, StoreError> {
    let corrupt = |e: roster_domain::DomainError| StoreError::Corrupt(e.to_string());
    let code: String = col(row, "code")?;
    let name: String = col(row, "name")?;
    let field_type: String = col(row, "field_type")?;
    let options: String = col(row, "options")?;
    Ok(FieldDef {
        code: Code::parse("code", &code).map_err(corrupt)?,
        name: Name::parse("name", &name).map_err(corrupt)?,
        field_type: FieldType::parse("field_type", &field_type).map_err(corrupt)?,
        options: serde_json::from_str(&options)?,
    })
}

/// Every field definition, in the order a superadmin gave them (new fields go last).
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<FieldDef>, StoreError> {
    let rows =
        sqlx::query("SELECT code, name, field_type, options FROM fields ORDER BY position, id").fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// Inserts a field definition, after the others.
pub async fn insert(tx: &mut WriteTx, f: &FieldDef, now: i64) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query(
        "INSERT INTO fields (code, code_key, name, name_key, field_type, options, created_at, position) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT COALESCE(MAX(position), 0) + 1 FROM fields))",
    )
    .bind(f.code.as_str())
    .bind(f.code.as_str().to_lowercase())
    .bind(f.name.as_str())
    .bind(f.name.as_str().to_lowercase())
    .bind(f.field_type.as_str())
    .bind(serde_json::to_string(&f.options)?)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Changes a field's name and options (its code and type never change).
pub async fn update(tx: &mut WriteTx, f: &FieldDef) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    let done = sqlx::query("UPDATE fields SET name = $1, name_key = $2, options = $3 WHERE code_key = $4")
        .bind(f.name.as_str())
        .bind(f.name.as_str().to_lowercase())
        .bind(serde_json::to_string(&f.options)?)
        .bind(f.code.as_str().to_lowercase())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Puts the fields in the order of `codes` (every field's code, each once): positions
/// 1..n.
pub async fn set_order(tx: &mut WriteTx, codes: &[&str]) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    for (i, code) in codes.iter().enumerate() {
        let position = i64::try_from(i + 1).map_err(|_| StoreError::Corrupt("too many fields".to_owned()))?;
        sqlx::query("UPDATE fields SET position = $1 WHERE code_key = $2")
            .bind(position)
            .bind(code.to_lowercase())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Deletes a field definition.
pub async fn delete(tx: &mut WriteTx, code: &str) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("DELETE FROM fields WHERE code_key = $1").bind(code.to_lowercase()).execute(conn).await?;
    Ok(())
}
