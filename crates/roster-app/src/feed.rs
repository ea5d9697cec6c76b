//! The change feed: every committed change to users, enrollments, groups and
//! memberships, oldest first, for consumers that keep a cursor and come back.
//!
//! Each write transaction leaves one feed row (see `roster_store::feed`), whose items
//! are its entity changes (created and updated users, enrollments, groups), then its
//! membership events in the order written, then its deletions. A cursor names a
//! position in that sequence: `R` (after every item of row R) or `R.I` (after the
//! first I items of row R). Rows are numbered in commit order across processes, so a
//! consumer that passes back the last cursor it got never misses an item; it may see
//! one again if it did not store the cursor of the last item it handled.
//!
//! A bulk move (a rule edit, an import, reconcile: at least 16 users of one group at
//! once) is one item whose `user_ids` holds every user it moved; so are the users one
//! import created or updated.

use roaring::RoaringBitmap;
use roster_domain::MembershipChange;
use roster_store::feed::{Entry, Row};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

use crate::reach::Reach;
use crate::{Actor, App, AppError, AppResult};

/// The most items one page may hold.
const MAX_LIMIT: usize = 1000;
/// The page size when none is asked for.
const DEFAULT_LIMIT: usize = 100;
/// Rows read per query while filling a page.
const ROWS_PER_READ: i64 = 64;
/// The most rows one request reads before answering (a filter that keeps little must
/// not make one request read the whole feed; the cursor says where to go on).
const MAX_ROWS_PER_REQUEST: usize = 2000;

/// Every kind of item, as the feed names it.
pub const KINDS: &[&str] = &[
    "membership.joined",
    "membership.left",
    "user.created",
    "user.updated",
    "user.suspended",
    "user.deleted",
    "enrollment.set",
    "enrollment.removed",
    "group.created",
    "group.changed",
    "group.deleted",
];

/// The query of `GET /changes`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct ChangesQuery {
    /// The `cursor` of the last item handled (or `next_cursor`); `now` for the end of
    /// the feed; absent for its beginning.
    pub after: Option<String>,
    /// How many items, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// Only these kinds, comma-separated (`membership.joined,membership.left`).
    pub kind: Option<String>,
    /// Only items about this group (its memberships and the group itself), or these
    /// groups, comma-separated.
    pub group: Option<String>,
}

/// One change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeView {
    /// Pass as `after` to continue after this item.
    pub cursor: String,
    /// `membership.joined`, `membership.left`, `user.created`, `user.updated`,
    /// `user.suspended`, `user.deleted`, `enrollment.set`, `enrollment.removed`,
    /// `group.created`, `group.changed` or `group.deleted`.
    pub kind: String,
    /// When, RFC 3339.
    pub at: String,
    /// Who made the change (`token:hr-sync`, `admin:alice`, `system`).
    pub actor: String,
    /// Why, in words.
    pub cause: String,
    /// The group, for membership and group items, and for enrollments a group's
    /// enrollment rule made or removed (the group whose rule it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The users, ascending: one, or every user a bulk change moved (or created, or
    /// updated) at once. Empty for group items.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_ids: Vec<String>,
    /// The course's code, for enrollment items (absent once the course is deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course: Option<String>,
}

/// A page of the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangePage {
    /// The changes, oldest first.
    pub items: Vec<ChangeView>,
    /// Where to continue from: the last item's cursor, or past the items this request
    /// read and filtered out. Store it, and pass it as `after` next time.
    pub next_cursor: String,
    /// Whether the feed may hold more right now (ask again at once) or the page ends
    /// at its end (ask again later).
    pub more: bool,
}

/// A position in the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// Before everything kept.
    Start,
    /// After every item of this row.
    After(i64),
    /// After the first `1` items of row `0`.
    Within(i64, usize),
}

impl Cursor {
    fn parse(text: &str) -> Option<Self> {
        let number = |t: &str| t.parse::<i64>().ok().filter(|n| *n >= 0 && t.bytes().all(|b| b.is_ascii_digit()));
        match text.split_once('.') {
            Some((row, index)) => Some(Self::Within(number(row)?, usize::try_from(number(index)?).ok()?)),
            None => Some(Self::After(number(text)?)),
        }
    }

    fn after_item(row: i64, index: usize, items: usize) -> Self {
        if index + 1 >= items {
            Self::After(row)
        } else {
            Self::Within(row, index + 1)
        }
    }

    /// Whether items this cursor has not passed were pruned.
    fn is_older_than(self, pruned_upto: i64) -> bool {
        match self {
            Self::Start => false,
            Self::After(row) => row < pruned_upto,
            Self::Within(row, _) => row <= pruned_upto,
        }
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Start => write!(f, "0"),
            Self::After(row) => write!(f, "{row}"),
            Self::Within(row, index) => write!(f, "{row}.{index}"),
        }
    }
}

/// One item of a row before scope and filters: a membership move or an entity change.
enum Raw {
    Move(roster_store::events::Move),
    Entry(Entry),
}

impl App {
    /// A page of the change feed, oldest first, of what the caller may see: a training
    /// admin gets the items about users in its branches (a bulk item narrowed to them,
    /// left out when none is) and about groups; nothing names or counts anyone else.
    pub async fn changes(&self, actor: &Actor, query: &ChangesQuery) -> AppResult<ChangePage> {
        let limit = page_limit(query.limit.as_deref())?;
        let kinds = kinds(query.kind.as_deref())?;
        let groups = groups(query.group.as_deref())?;
        let mut conn = self.store.read().await?;
        let cursor = match query.after.as_deref().filter(|a| !a.is_empty()) {
            None => Cursor::Start,
            Some("now") => {
                let last = roster_store::feed::last(&mut conn).await?;
                return Ok(ChangePage { items: vec![], next_cursor: Cursor::After(last).to_string(), more: false });
            }
            Some(raw) => Cursor::parse(raw)
                .ok_or_else(|| AppError::bad_request("after", "this cursor is not one the change feed gave out"))?,
        };
        let pruned = roster_store::feed::pruned_upto(&mut conn).await?;
        if cursor.is_older_than(pruned) {
            return Err(AppError::Gone(
                "this cursor is older than the change feed keeps: read the current state again \
                 (GET /api/v1/groups/{id}/members for each group you follow), then follow the feed \
                 from after=now"
                    .into(),
            ));
        }
        let reach = Reach::of(&mut conn, actor).await?;
        let population = reach.population(&mut conn).await?;
        let courses: HashMap<i64, String> =
            roster_store::courses::all(&mut conn).await?.into_iter().map(|c| (c.id, c.code)).collect();
        let see =
            Sight { reach: &reach, population: population.as_ref(), kinds: &kinds, groups: &groups, courses: &courses };

        let (mut from, mut skip) = match cursor {
            Cursor::Start => (0, 0),
            Cursor::After(row) => (row + 1, 0),
            Cursor::Within(row, index) => (row, index),
        };
        let mut items = Vec::new();
        let mut next = cursor;
        let mut read = 0;
        loop {
            let rows = roster_store::feed::rows_from(&mut conn, from, ROWS_PER_READ).await?;
            let Some(last) = rows.last() else {
                return Ok(ChangePage { items, next_cursor: next.to_string(), more: false });
            };
            from = last.id + 1;
            let (first_event, last_event) = (rows[0].events_after, last.events_upto);
            let mut moves =
                roster_store::events::range(&mut conn, first_event, last_event).await?.into_iter().peekable();
            for row in rows {
                if !matches!(cursor, Cursor::Within(r, _) if r == row.id) {
                    skip = 0;
                }
                let mut own = Vec::new();
                while let Some(m) = moves.next_if(|m| m.id <= row.events_upto) {
                    if m.id > row.events_after {
                        own.push(m);
                    }
                }
                let raw = expand(&row, own);
                for (index, item) in raw.iter().enumerate().skip(skip) {
                    let at = Cursor::after_item(row.id, index, raw.len());
                    if let Some(view) = see.view(item, &row, at) {
                        items.push(view);
                        next = at;
                        if items.len() == limit {
                            return Ok(ChangePage { items, next_cursor: next.to_string(), more: true });
                        }
                    }
                }
                next = Cursor::After(row.id);
                read += 1;
                if read >= MAX_ROWS_PER_REQUEST {
                    return Ok(ChangePage { items, next_cursor: next.to_string(), more: true });
                }
            }
        }
    }

    /// Forgets the change feed's rows older than the retention (the periodic work
    /// calls it under the write lock, so once across processes); returns how many went.
    pub async fn prune_changes(&self) -> AppResult<u64> {
        let mut tx = self.bookkeeping().await?;
        let before = self.now() - self.settings.feed_retention.as_millis() as i64;
        let gone = roster_store::feed::prune(&mut tx, before).await?;
        tx.commit().await?;
        Ok(gone)
    }
}

/// A row's items in feed order: entity changes, its membership moves, deletions.
fn expand(row: &Row, moves: Vec<roster_store::events::Move>) -> Vec<Raw> {
    let is_deletion = |e: &Entry| e.kind.ends_with(".deleted");
    let mut raw: Vec<Raw> = row.entries.iter().filter(|e| !is_deletion(e)).cloned().map(Raw::Entry).collect();
    raw.extend(moves.into_iter().map(Raw::Move));
    raw.extend(row.entries.iter().filter(|e| is_deletion(e)).cloned().map(Raw::Entry));
    raw
}

/// What one caller sees of the feed, and the filters it asked for.
struct Sight<'a> {
    reach: &'a Reach,
    population: Option<&'a RoaringBitmap>,
    kinds: &'a [String],
    /// Only items about these groups, when any.
    groups: &'a [i64],
    courses: &'a HashMap<i64, String>,
}

impl Sight<'_> {
    /// The item as the caller sees it, or `None` when it sees none of it or filtered it out.
    fn view(&self, item: &Raw, row: &Row, at: Cursor) -> Option<ChangeView> {
        let (kind, group, users, when, actor, cause, course) = match item {
            Raw::Move(m) => {
                let kind = match m.change {
                    MembershipChange::Joined => "membership.joined",
                    MembershipChange::Left => "membership.left",
                };
                let users = self.visible(&m.users)?;
                (kind, Some(m.group_id), users, m.at, m.actor.as_str(), m.cause.as_str(), None)
            }
            Raw::Entry(e) => {
                let users: RoaringBitmap = e.users.iter().filter_map(|u| u32::try_from(*u).ok()).collect();
                let users = if e.kind == "user.deleted" {
                    // The user is gone: the branch it was in decides.
                    self.reach.reaches(e.branch).then_some(users)?
                } else if e.users.is_empty() {
                    users
                } else {
                    self.visible(&users)?
                };
                let course = e.course.map(|c| self.courses.get(&c).cloned());
                (e.kind.as_str(), e.group, users, row.at, row.actor.as_str(), row.cause.as_str(), course)
            }
        };
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == kind) {
            return None;
        }
        if !self.groups.is_empty() && !group.is_some_and(|g| self.groups.contains(&g)) {
            return None;
        }
        Some(ChangeView {
            cursor: at.to_string(),
            kind: kind.to_owned(),
            at: crate::clock::rfc3339(when),
            actor: actor.to_owned(),
            cause: cause.to_owned(),
            group_id: group.map(|g| g.to_string()),
            user_ids: users.iter().map(|u| u.to_string()).collect(),
            course: course.flatten(),
        })
    }

    /// The users the caller reaches, or `None` when it reaches none of them.
    fn visible(&self, users: &RoaringBitmap) -> Option<RoaringBitmap> {
        let seen = match self.population {
            Some(population) => users & population,
            None => users.clone(),
        };
        (!seen.is_empty()).then_some(seen)
    }
}

fn page_limit(raw: Option<&str>) -> AppResult<usize> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(DEFAULT_LIMIT),
        Some(r) => r.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            AppError::bad_request("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
        }),
    }
}

fn groups(raw: Option<&str>) -> AppResult<Vec<i64>> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else { return Ok(vec![]) };
    raw.split(',')
        .map(|g| {
            g.trim().parse::<i64>().ok().filter(|g| *g > 0).ok_or_else(|| {
                AppError::bad_request("group", "group must be a group id, or several separated by commas")
            })
        })
        .collect()
}

fn kinds(raw: Option<&str>) -> AppResult<Vec<String>> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else { return Ok(vec![]) };
    raw.split(',')
        .map(str::trim)
        .map(|k| {
            KINDS.iter().find(|known| **known == k).map(|k| (*k).to_owned()).ok_or_else(|| {
                AppError::bad_request("kind", format!("\"{k}\" is not a kind of change; use {}", KINDS.join(", ")))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_as_written_and_nothing_else() {
        for c in [Cursor::After(0), Cursor::After(17), Cursor::Within(17, 3)] {
            assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        }
        for bad in ["", "x", "-1", "1.", ".1", "1.2.3", "+4", "1.-2", "9999999999999999999999"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_cursor_is_stale_only_when_items_it_has_not_passed_were_pruned() {
        assert!(!Cursor::After(5).is_older_than(5));
        assert!(Cursor::After(4).is_older_than(5));
        assert!(Cursor::Within(5, 2).is_older_than(5));
        assert!(!Cursor::Within(6, 2).is_older_than(5));
        assert!(!Cursor::Start.is_older_than(5));
    }
}
