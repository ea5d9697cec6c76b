//! The change log and shared facts: how several processes keep their in-memory images
//! of the database current, and agree on periodic work.

use sqlx::AnyConnection;

use crate::{col, StoreError, WriteTx};

/// What a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Touched {
    /// A user, its fields or its enrollments (deleted users included).
    User(i64),
    /// A group: its definition, lists or (manual) members.
    Group(i64),
    /// Fields, branches or courses.
    Catalog,
}

impl Touched {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Touched::User(id) => ("user", id),
            Touched::Group(id) => ("group", id),
            Touched::Catalog => ("catalog", 0),
        }
    }
}

/// Appends changes, in order within each kind (one statement per kind of change, for
/// any number); returns the last sequence number written (or `None` for none).
pub async fn append(tx: &mut WriteTx, touched: &[Touched], at: i64) -> Result<Option<i64>, StoreError> {
    let conn: &mut AnyConnection = tx;
    let mut last = None;
    for kind in ["catalog", "group", "user"] {
        let ids: Vec<i64> = touched.iter().map(|t| t.parts()).filter(|(k, _)| *k == kind).map(|(_, id)| id).collect();
        if ids.is_empty() {
            continue;
        }
        let mut p = crate::params::Params::new(conn);
        let sql = format!(
            "INSERT INTO changes (kind, at, entity) SELECT {}, {}, id FROM {} AS t RETURNING seq",
            p.next(),
            p.next(),
            p.id_table()
        );
        let seqs = sqlx::query_scalar::<_, i64>(crate::built(sql))
            .bind(kind)
            .bind(at)
            .bind(p.ids(&ids))
            .fetch_all(&mut *conn)
            .await?;
        last = seqs.into_iter().max().max(last);
    }
    Ok(last)
}

/// The changes after `seq`, in order (at most `limit`).
pub async fn since(conn: &mut AnyConnection, seq: i64, limit: i64) -> Result<Vec<(i64, Touched)>, StoreError> {
    let rows = sqlx::query("SELECT seq, kind, entity FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(seq)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            let kind: String = col(row, "kind")?;
            let id: i64 = col(row, "entity")?;
            let touched = match kind.as_str() {
                "user" => Touched::User(id),
                "group" => Touched::Group(id),
                "catalog" => Touched::Catalog,
                other => return Err(StoreError::Corrupt(format!("unknown change kind {other}"))),
            };
            Ok((col(row, "seq")?, touched))
        })
        .collect()
}

/// The last sequence number written, 0 when the log is empty.
pub async fn last(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let n: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM changes").fetch_one(conn).await?;
    Ok(n.unwrap_or(0))
}

/// The time (epoch ms) of change `seq`, while the log holds it.
pub async fn at(conn: &mut AnyConnection, seq: i64) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT at FROM changes WHERE seq = $1").bind(seq).fetch_optional(conn).await?)
}

/// Forgets changes older than `before` (epoch ms), keeping the newest one so the
/// sequence never goes back.
pub async fn prune(tx: &mut WriteTx, before: i64) -> Result<u64, StoreError> {
    let conn: &mut AnyConnection = tx;
    let done = sqlx::query("DELETE FROM changes WHERE at < $1 AND seq < (SELECT MAX(seq) FROM changes)")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// A shared fact, if set.
pub async fn fact(conn: &mut AnyConnection, name: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT value FROM facts WHERE name = $1").bind(name).fetch_optional(conn).await?)
}

/// Sets a shared fact.
pub async fn set_fact(tx: &mut WriteTx, name: &str, value: &str) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query(
        "INSERT INTO facts (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}
