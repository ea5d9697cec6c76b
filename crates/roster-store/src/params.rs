//! Placeholders for statements with many parameters (multi-row inserts, `IN` lists).
//!
//! Both dialects accept `$1`, but SQLite looks a named parameter up by walking a list,
//! so binding n of them costs O(n²): 84% of the time of a 500-row insert went there.
//! Anonymous `?` parameters bind in O(1). Statements built here therefore number their
//! parameters on PostgreSQL and leave them anonymous on SQLite, and bind every value
//! in the order it appears in the text.
//!
//! A set of ids of any size travels as one parameter: a JSON array read by `json_each`
//! on SQLite, an array literal cast to `BIGINT[]` and unnested on PostgreSQL. The
//! statement's text is then the same whatever the count, so it is prepared once and
//! cached, and neither dialect's limit on parameters (32,766 and 65,535) is reached.

use crate::StoreError;
use sqlx::AnyConnection;
use std::fmt::Write as _;

/// Hands out the placeholders of one statement, in textual order.
#[derive(Debug)]
pub(crate) struct Params {
    numbered: bool,
    next: usize,
}

impl Params {
    /// Placeholders for a statement on `conn`.
    pub(crate) fn new(conn: &AnyConnection) -> Self {
        Self { numbered: conn.backend_name() != "SQLite", next: 1 }
    }

    /// The verb of a many-row insert whose rows the caller knows to be new. On SQLite,
    /// `INSERT OR FAIL`: a row a constraint refuses ends the statement there, where a
    /// plain `INSERT` would undo the statement's earlier rows, for which SQLite keeps a
    /// copy of every page the statement changes. A 1% diff at 1M users joins 70,000
    /// memberships at random places: 250 MB of copies (peak of a `sqlite3` replay 367
    /// → 116 MB), and 8-15% of the statement's time. Either way the error reaches the
    /// caller, whose whole write then rolls back.
    pub(crate) fn insert_new(&self) -> &'static str {
        if self.numbered {
            "INSERT"
        } else {
            "INSERT OR FAIL"
        }
    }

    /// The next placeholder.
    pub(crate) fn next(&mut self) -> String {
        let n = self.next;
        self.next += 1;
        if self.numbered {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }

    /// `(p, p, p)`: a row of `width` placeholders.
    pub(crate) fn row(&mut self, width: usize) -> String {
        let cells: Vec<String> = (0..width).map(|_| self.next()).collect();
        format!("({})", cells.join(","))
    }

    /// `rows` rows of `width` placeholders, comma-separated (a VALUES list).
    pub(crate) fn rows(&mut self, rows: usize, width: usize) -> String {
        (0..rows).map(|_| self.row(width)).collect::<Vec<_>>().join(",")
    }

    /// A table of one column `id` holding the ids bound (with [`Params::ids`]) at this
    /// place: usable after `FROM` and in `IN (...)`.
    pub(crate) fn id_table(&mut self) -> String {
        let p = self.next();
        if self.numbered {
            format!("(SELECT unnest(CAST({p} AS BIGINT[])) AS id)")
        } else {
            format!("(SELECT value AS id FROM json_each({p}))")
        }
    }

    /// The value that binds a set of ids to an [`Params::id_table`].
    pub(crate) fn ids(&self, ids: &[i64]) -> String {
        let (open, close) = if self.numbered { ('{', '}') } else { ('[', ']') };
        let mut out = String::with_capacity(2 + ids.len() * 8);
        out.push(open);
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{id}");
        }
        out.push(close);
        out
    }

    /// A table of two columns `user_id` and `group_id` holding the pairs bound (with
    /// [`Params::pairs`]) at this place, in their order. Each pair travels as one
    /// integer, the user id in the high 32 bits, so it rides on [`Params::id_table`].
    pub(crate) fn pair_table(&mut self) -> String {
        let p = self.next();
        if self.numbered {
            format!(
                "(SELECT id >> 32 AS user_id, id & 4294967295 AS group_id FROM unnest(CAST({p} AS BIGINT[])) AS id)"
            )
        } else {
            format!("(SELECT value >> 32 AS user_id, value & 4294967295 AS group_id FROM json_each({p}))")
        }
    }

    /// The value that binds `(user_id, group_id)` pairs to a [`Params::pair_table`].
    pub(crate) fn pairs(&self, pairs: &[(i64, i64)]) -> Result<String, StoreError> {
        const LOW: i64 = 1 << 32;
        let packed = pairs
            .iter()
            .map(|&(user, group)| match (user, group) {
                (0..LOW, 0..LOW) if user < i64::from(i32::MAX) => Ok((user << 32) | group),
                _ => Err(StoreError::Corrupt(format!("user {user} and group {group}: ids beyond 32 bits"))),
            })
            .collect::<Result<Vec<i64>, StoreError>>()?;
        Ok(self.ids(&packed))
    }

    /// `p,p,p`: an `IN` list of `n`.
    pub(crate) fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.next()).collect::<Vec<_>>().join(",")
    }
}

/// A column of [`json_rows`]: its expression, and whether it holds JSON text (kept as
/// JSON inside the row rather than as a string).
pub(crate) type Column<'a> = (&'a str, bool);

/// Reads the rows of `FROM {from}`, ordered by `order`, as one value: a JSON array
/// with one array per row, decoded by serde. A driver hands rows over one by one, and
/// sqlx's SQLite driver does it through a channel from its worker thread, copying
/// every value and every column's name: at start-up, most of the time of reading a
/// million users went there. `binds` are the integers of `from`'s `$n` placeholders.
pub(crate) async fn json_rows<T: serde::de::DeserializeOwned>(
    conn: &mut AnyConnection,
    columns: &[Column<'_>],
    from: &str,
    order: &str,
    binds: &[i64],
) -> Result<Vec<T>, StoreError> {
    let postgres = conn.backend_name() != "SQLite";
    let cells: Vec<String> = columns
        .iter()
        .map(|&(expression, json)| match (json, postgres) {
            (false, _) => expression.to_owned(),
            (true, false) => format!("json({expression})"),
            (true, true) => format!("CAST({expression} AS JSON)"),
        })
        .collect();
    let cells = cells.join(", ");
    let sql = if postgres {
        format!("SELECT CAST(json_agg(json_build_array({cells}) ORDER BY {order}) AS TEXT) FROM {from}")
    } else {
        format!("SELECT json_group_array(json_array({cells}) ORDER BY {order}) FROM {from}")
    };
    let mut query = sqlx::query_scalar::<_, Option<String>>(crate::built(sql));
    for bind in binds {
        query = query.bind(*bind);
    }
    match query.fetch_one(conn).await? {
        Some(text) => Ok(serde_json::from_str(&text)?),
        None => Ok(Vec::new()),
    }
}
