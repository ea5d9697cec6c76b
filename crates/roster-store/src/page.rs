//! Keyset pagination and search patterns shared by the list queries.

/// One page of a list: the items and the cursor of the next page, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in id order.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in id order: the extra row only
    /// says that there is a next page.
    pub fn from_rows(mut rows: Vec<T>, limit: usize, id: impl Fn(&T) -> i64) -> Self {
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&id)
        } else {
            None
        };
        Self { items: rows, next }
    }
}

/// A `LIKE` pattern matching `needle` anywhere, lower-cased, with `%`, `_` and `\`
/// escaped (use with `ESCAPE '\'`).
pub fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}
