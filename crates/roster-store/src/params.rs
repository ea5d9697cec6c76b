//! Placeholders for statements with many parameters (multi-row inserts, `IN` lists).
//!
//! Both dialects accept `$1`, but SQLite looks a named parameter up by walking a list,
//! so binding n of them costs O(n²): 84% of the time of a 500-row insert went there.
//! Anonymous `?` parameters bind in O(1). Statements built here therefore number their
//! parameters on PostgreSQL and leave them anonymous on SQLite, and bind every value
//! in the order it appears in the text.

use sqlx::AnyConnection;

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

    /// `p,p,p`: an `IN` list of `n`.
    pub(crate) fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.next()).collect::<Vec<_>>().join(",")
    }
}
