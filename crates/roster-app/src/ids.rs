//! Opaque ids and paging parameters as clients send them.

use serde::Deserialize;

use crate::{AppError, AppResult};

/// The most items one page may hold.
pub const MAX_PAGE: usize = 1000;
/// The page size when none is asked for.
pub const DEFAULT_PAGE: usize = 100;

/// Parses an id from a path; anything that is not one of ours is simply not found.
pub fn parse_id(what: &str, raw: &str) -> AppResult<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| AppError::NotFound(what.to_owned()))
}

/// `cursor` and `limit` of a list request.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many items, 1 to 1000 (default 100).
    pub limit: Option<usize>,
}

impl ListParams {
    /// The validated (after, limit) pair.
    pub fn resolve(&self) -> AppResult<(Option<i64>, usize)> {
        let limit = match self.limit {
            None => DEFAULT_PAGE,
            Some(n) if (1..=MAX_PAGE).contains(&n) => n,
            Some(_) => return Err(AppError::bad_request("limit", format!("limit must be between 1 and {MAX_PAGE}"))),
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(
                c.parse::<i64>().map_err(|_| AppError::bad_request("cursor", "this cursor is not one we gave out"))?,
            ),
        };
        Ok((after, limit))
    }
}

/// Deserializes a present property (even `null`) as `Some`, so PATCH can tell "clear"
/// from "leave alone".
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
