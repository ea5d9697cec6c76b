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
    #[serde(default, deserialize_with = "page_limit")]
    #[param(value_type = Option<u32>)]
    pub limit: Option<usize>,
}

/// A page size as a client wrote it: anything but a whole number from 1 to the maximum
/// is refused with one message, never a parser's.
fn page_limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    let refuse = || serde::de::Error::custom(format!("limit must be a whole number from 1 to {MAX_PAGE}"));
    let n = match Option::<Raw>::deserialize(d)? {
        None => return Ok(None),
        Some(Raw::Number(n)) => n,
        Some(Raw::Text(t)) if t.trim().is_empty() => return Ok(None),
        Some(Raw::Text(t)) => t.trim().parse::<i64>().map_err(|_| refuse())?,
    };
    usize::try_from(n).ok().filter(|n| (1..=MAX_PAGE).contains(n)).map(Some).ok_or_else(refuse)
}

impl ListParams {
    /// The validated (after, limit) pair.
    pub fn resolve(&self) -> AppResult<(Option<i64>, usize)> {
        let limit = self.limit()?;
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(
                c.parse::<i64>().map_err(|_| AppError::bad_request("cursor", "this cursor is not one we gave out"))?,
            ),
        };
        Ok((after, limit))
    }

    fn limit(&self) -> AppResult<usize> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(_) => Err(AppError::bad_request("limit", format!("limit must be between 1 and {MAX_PAGE}"))),
        }
    }

    /// The validated (from, limit) pair of a history, whose cursors may point inside an
    /// event that moved a set of users.
    pub fn resolve_events(&self) -> AppResult<(Option<roster_store::events::EventCursor>, usize)> {
        let limit = self.limit()?;
        let from = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(
                roster_store::events::EventCursor::parse(c)
                    .ok_or_else(|| AppError::bad_request("cursor", "this cursor is not one we gave out"))?,
            ),
        };
        Ok((from, limit))
    }
}

/// A search text a client typed (`q`, `username`): trimmed, `None` when empty, at most
/// 200 characters, and without control characters — a NUL would match everything on
/// SQLite and be refused by PostgreSQL's driver — each refused with 400 naming `field`.
pub(crate) fn search_text(field: &str, raw: Option<&str>) -> AppResult<Option<String>> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > 200 {
        return Err(AppError::bad_request(field, "the search text must be at most 200 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(AppError::bad_request(field, "the search text must not contain control characters"));
    }
    Ok(Some(text.to_owned()))
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
