//! The `membership_events` table: the history of joins and leaves.

use roster_domain::{MembershipChange, MembershipEvent};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use roaring::RoaringBitmap;

use crate::params::Params;
use crate::{col, StoreError, WriteTx};

/// Who moved where: one group and many users (one user's moves are
/// [`record_user_moves`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Moved<'a> {
    /// These users joined or left this group.
    Users {
        /// The group.
        group_id: i64,
        /// The users, in the order their events are recorded.
        users: &'a [i64],
    },
}

/// What every event of one [`record`] says besides who and where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Said<'a> {
    /// Joined or left.
    pub change: MembershipChange,
    /// When, epoch milliseconds.
    pub at: i64,
    /// Who.
    pub actor: &'a str,
    /// Why.
    pub cause: &'a str,
}

/// A group's joins (or leaves) in one change at least this large are recorded as one
/// event holding the set of users: a bulk change writes one row per group and
/// direction, not one per user.
pub const SET_FROM: usize = 16;

/// Records who moved: a set row for each group with at least [`SET_FROM`] users moved,
/// one row per user (or group) otherwise, in as few statements as the shape allows.
pub(crate) async fn record(tx: &mut WriteTx, moved: Moved<'_>, said: Said<'_>) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    let (fixed, many, columns) = match moved {
        Moved::Users { group_id, users } if users.len() >= SET_FROM => {
            if let Some(set) = set_of(users) {
                return record_sets(conn, &[(group_id, &set)], said).await;
            }
            (group_id, users, "group_id, user_id")
        }
        Moved::Users { group_id, users } => (group_id, users, "group_id, user_id"),
    };
    if many.is_empty() {
        return Ok(());
    }
    let mut p = Params::new(conn);
    let sql = format!(
        "INSERT INTO membership_events ({columns}, change, at, actor, cause) SELECT {}, id, {}, {}, {}, {} FROM {} AS t",
        p.next(),
        p.next(),
        p.next(),
        p.next(),
        p.next(),
        p.id_table()
    );
    sqlx::query(crate::built(sql))
        .bind(fixed)
        .bind(said.change.as_str())
        .bind(said.at)
        .bind(said.actor)
        .bind(said.cause)
        .bind(p.ids(many))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records one user's joins and leaves together: one row per group, the joins first,
/// in one statement (a single update's moves; two statements before, one per
/// direction). `said` is the joins'; the leaves' differ only in their change.
pub(crate) async fn record_user_moves(
    tx: &mut WriteTx,
    user_id: i64,
    joined: &[i64],
    left: &[i64],
    said: Said<'_>,
) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    if joined.is_empty() && left.is_empty() {
        return Ok(());
    }
    let mut p = Params::new(conn);
    let sql = format!(
        "INSERT INTO membership_events (user_id, group_id, change, at, actor, cause) \
         SELECT {}, abs(t.id), CASE WHEN t.id > 0 THEN {} ELSE {} END, {} FROM {} AS t",
        p.next(),
        p.next(),
        p.next(),
        p.list(3),
        p.id_table()
    );
    sqlx::query(crate::built(sql))
        .bind(user_id)
        .bind(MembershipChange::Joined.as_str())
        .bind(MembershipChange::Left.as_str())
        .bind(said.at)
        .bind(said.actor)
        .bind(said.cause)
        .bind(p.ids(&signed(joined, left)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Group ids, those of `plus` as they are and those of `minus` negated (ids are
/// positive): one list that says both who and which way.
pub(crate) fn signed(plus: &[i64], minus: &[i64]) -> Vec<i64> {
    plus.iter().copied().chain(minus.iter().map(|id| -id)).collect()
}

/// The users as a set, if every id fits one (they always do: ids are below 2³²).
pub(crate) fn set_of(users: &[i64]) -> Option<RoaringBitmap> {
    users.iter().map(|&u| u32::try_from(u).ok()).collect()
}

/// One row per `(user_id, group_id)` pair, in the pairs' order: one statement.
async fn record_pairs(conn: &mut AnyConnection, pairs: &[(i64, i64)], said: Said<'_>) -> Result<(), StoreError> {
    if pairs.is_empty() {
        return Ok(());
    }
    let mut p = Params::new(conn);
    let sql = format!(
        "INSERT INTO membership_events (change, at, actor, cause, user_id, group_id) \
         SELECT {}, {}, {}, {}, user_id, group_id FROM {} AS t",
        p.next(),
        p.next(),
        p.next(),
        p.next(),
        p.pair_table()
    );
    let pairs = p.pairs(pairs)?;
    sqlx::query(crate::built(sql))
        .bind(said.change.as_str())
        .bind(said.at)
        .bind(said.actor)
        .bind(said.cause)
        .bind(pairs)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records each group's users, all joined or all left: a set row for each group with
/// at least [`SET_FROM`] of them, one row per user for the others.
pub(crate) async fn record_sets_of_groups(
    tx: &mut WriteTx,
    groups: &[(i64, &RoaringBitmap)],
    said: Said<'_>,
) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    let large = |users: &RoaringBitmap| users.len() >= SET_FROM as u64;
    let sets: Vec<(i64, &RoaringBitmap)> = groups.iter().filter(|(_, users)| large(users)).copied().collect();
    record_sets(conn, &sets, said).await?;
    let mut pairs: Vec<(i64, i64)> = groups
        .iter()
        .filter(|(_, users)| !large(users))
        .flat_map(|(group, users)| users.iter().map(|u| (i64::from(u), *group)))
        .collect();
    pairs.sort_unstable();
    record_pairs(conn, &pairs, said).await
}

/// One set row per group, a hundred rows per statement.
async fn record_sets(
    conn: &mut AnyConnection,
    sets: &[(i64, &RoaringBitmap)],
    said: Said<'_>,
) -> Result<(), StoreError> {
    for chunk in sets.chunks(100) {
        let mut p = Params::new(conn);
        let rows: Vec<String> = chunk.iter().map(|_| p.row(7)).collect();
        let sql = format!(
            "INSERT INTO membership_events (group_id, users, user_count, change, at, actor, cause) VALUES {}",
            rows.join(",")
        );
        let mut q = sqlx::query(crate::built(sql));
        for (group_id, set) in chunk {
            q = q
                .bind(*group_id)
                .bind(set_bytes(set)?)
                .bind(i64::try_from(set.len()).unwrap_or(i64::MAX))
                .bind(said.change.as_str())
                .bind(said.at)
                .bind(said.actor)
                .bind(said.cause);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A set of users as a set event stores it: the portable roaring format.
pub(crate) fn set_bytes(set: &RoaringBitmap) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::with_capacity(set.serialized_size());
    set.serialize_into(&mut bytes).map_err(|e| StoreError::Corrupt(format!("a set of users: {e}")))?;
    Ok(bytes)
}

/// Whose history: a group's or a user's.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    /// Events of one group.
    Group(i64),
    /// Events of one user.
    User(i64),
}

/// Where the next page of a history starts: below an event, or, inside an event that
/// moved a set of users, below one of its users. Written `123` or `123.4567`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCursor {
    /// The event.
    pub id: i64,
    /// Inside a set event: the last user already listed.
    pub user: Option<i64>,
}

impl EventCursor {
    /// Reads a cursor as [`EventCursor`]'s `Display` writes it.
    pub fn parse(text: &str) -> Option<Self> {
        let (id, user) = match text.split_once('.') {
            Some((id, user)) => (id, Some(user.parse().ok().filter(|u: &i64| *u > 0)?)),
            None => (text, None),
        };
        Some(Self { id: id.parse().ok().filter(|id: &i64| *id > 0)?, user })
    }

    /// The highest event id a page from here may hold.
    fn top(self) -> i64 {
        if self.user.is_some() {
            self.id
        } else {
            self.id - 1
        }
    }

    /// Whether `user` of event `id` comes after this cursor (is not listed yet).
    fn admits(self, id: i64, user: i64) -> bool {
        match self.user {
            Some(last) if id == self.id => user < last,
            _ => id <= self.top(),
        }
    }
}

impl std::fmt::Display for EventCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.user {
            Some(user) => write!(f, "{}.{user}", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}

/// One page of a history, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    /// One event per user moved: a set event gives one item per user, in descending
    /// user order, all with the set event's id.
    pub items: Vec<MembershipEvent>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<EventCursor>,
}

/// A stored event row: one user's move, or a set of users'.
struct Row {
    id: i64,
    group_id: i64,
    user_id: Option<i64>,
    users: Option<Vec<u8>>,
    change: MembershipChange,
    at: i64,
    actor: String,
    cause: String,
}

const COLUMNS: &str = "id, group_id, user_id, users, change, at, actor, cause";

impl Row {
    fn read(row: &AnyRow) -> Result<Self, StoreError> {
        let change: String = col(row, "change")?;
        Ok(Self {
            id: col(row, "id")?,
            group_id: col(row, "group_id")?,
            user_id: col(row, "user_id")?,
            users: col(row, "users")?,
            change: MembershipChange::parse("change", &change).map_err(|e| StoreError::Corrupt(e.message))?,
            at: col(row, "at")?,
            actor: col(row, "actor")?,
            cause: col(row, "cause")?,
        })
    }

    fn set(&self) -> Result<RoaringBitmap, StoreError> {
        let bytes = self.users.as_deref().unwrap_or_default();
        RoaringBitmap::deserialize_from(bytes)
            .map_err(|e| StoreError::Corrupt(format!("membership event {}: its set of users: {e}", self.id)))
    }

    fn event(&self, user_id: i64) -> MembershipEvent {
        MembershipEvent {
            id: self.id,
            group_id: self.group_id,
            user_id,
            change: self.change,
            at: self.at,
            actor: self.actor.clone(),
            cause: self.cause.clone(),
        }
    }
}

/// Whether `value` is in a set serialized in the portable roaring format, read where it
/// lies: a user's history tests every set event newer than its page, and most sets do
/// not hold the user, so none is decoded. `None`: the bytes are not such a set.
pub(crate) fn set_contains(bytes: &[u8], value: u32) -> Option<bool> {
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let cookie = u32_at(0)?;
    // Without run containers: cookie, count. With: cookie holding count - 1, and a
    // bitset of which containers are runs.
    let (size, runs, header) = if cookie == 12346 {
        (usize::try_from(u32_at(4)?).ok()?, None, 8)
    } else if cookie & 0xFFFF == 12347 {
        let size = usize::try_from(cookie >> 16).ok()? + 1;
        (size, Some(4usize), 4 + size.div_ceil(8))
    } else {
        return None;
    };
    let is_run = |i: usize| runs.map_or(Some(false), |at| bytes.get(at + i / 8).map(|b| b & (1 << (i % 8)) != 0));
    // The descriptive header: (key, cardinality - 1) per container, by key.
    let key_of = |i: usize| u16_at(header + i * 4);
    let cardinality = |i: usize| u16_at(header + i * 4 + 2).map(|c| usize::from(c) + 1);
    let (key, low) = (u16::try_from(value >> 16).ok()?, u16::try_from(value & 0xFFFF).ok()?);
    let Some(i) = search(size, key_of, key)? else { return Some(false) };
    let after_header = header + size * 4;
    let length = |j: usize, at: usize| -> Option<usize> {
        Some(if is_run(j)? {
            2 + usize::from(u16_at(at)?) * 4
        } else if cardinality(j)? <= 4096 {
            cardinality(j)? * 2
        } else {
            8192
        })
    };
    // Offsets follow the header unless the set has runs and fewer than 4 containers.
    let start = if runs.is_none() || size >= 4 {
        usize::try_from(u32_at(after_header + i * 4)?).ok()?
    } else {
        let mut at = after_header;
        for j in 0..i {
            at += length(j, at)?;
        }
        at
    };
    if is_run(i)? {
        let runs = usize::from(u16_at(start)?);
        for r in 0..runs {
            let (first, extra) = (u16_at(start + 2 + r * 4)?, u16_at(start + 4 + r * 4)?);
            if low < first {
                return Some(false);
            }
            if u32::from(low - first) <= u32::from(extra) {
                return Some(true);
            }
        }
        Some(false)
    } else if cardinality(i)? <= 4096 {
        Some(search(cardinality(i)?, |j| u16_at(start + j * 2), low)?.is_some())
    } else {
        let word = bytes.get(start + usize::from(low / 64) * 8..start + usize::from(low / 64) * 8 + 8)?;
        let word = u64::from_le_bytes(word.try_into().ok()?);
        Some(word & (1 << (low % 64)) != 0)
    }
}

/// Where `target` is among `len` sorted values read by `at`: `Some(None)` when absent,
/// `None` when a value cannot be read.
fn search(len: usize, at: impl Fn(usize) -> Option<u16>, target: u16) -> Option<Option<usize>> {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match at(mid)?.cmp(&target) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(Some(mid)),
        }
    }
    Some(None)
}

/// A page of events, newest first, from `from` (the first page: `None`). With
/// `branch_ids`, only events of users now in those branches.
pub async fn page(
    conn: &mut AnyConnection,
    subject: Subject,
    branch_ids: Option<&[i64]>,
    from: Option<EventCursor>,
    limit: usize,
) -> Result<EventPage, StoreError> {
    if branch_ids.is_some_and(<[i64]>::is_empty) {
        return Ok(EventPage { items: vec![], next: None });
    }
    let from = from.unwrap_or(EventCursor { id: i64::MAX, user: None });
    match subject {
        Subject::Group(id) => group_page(conn, id, branch_ids, from, limit).await,
        Subject::User(id) => user_page(conn, id, branch_ids, from, limit).await,
    }
}

async fn group_page(
    conn: &mut AnyConnection,
    group_id: i64,
    branch_ids: Option<&[i64]>,
    from: EventCursor,
    limit: usize,
) -> Result<EventPage, StoreError> {
    let mut items: Vec<(MembershipEvent, EventCursor)> = Vec::new();
    let mut top = from.top();
    'rows: loop {
        let mut p = Params::new(conn);
        let mut sql =
            format!("SELECT {COLUMNS} FROM membership_events WHERE group_id = {} AND id <= {}", p.next(), p.next());
        if let Some(ids) = branch_ids {
            sql.push_str(&format!(
                " AND (user_id IS NULL OR user_id IN (SELECT u.id FROM users u WHERE u.branch_id IN ({})))",
                p.list(ids.len())
            ));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", p.next()));
        let mut q = sqlx::query(crate::built(sql)).bind(group_id).bind(top);
        for b in branch_ids.into_iter().flatten() {
            q = q.bind(*b);
        }
        let wanted = limit + 1;
        let rows = q.bind(wanted as i64).fetch_all(&mut *conn).await?;
        let full = rows.len() == wanted;
        for row in rows.iter().map(Row::read) {
            let row = row?;
            top = row.id - 1;
            if let Some(user) = row.user_id {
                if from.admits(row.id, user) {
                    items.push((row.event(user), EventCursor { id: row.id, user: None }));
                }
            } else {
                let users: Vec<i64> =
                    row.set()?.iter().rev().map(i64::from).filter(|&u| from.admits(row.id, u)).collect();
                for chunk in users.chunks(500) {
                    let seen = match branch_ids {
                        Some(branches) => in_branches(conn, chunk, branches).await?,
                        None => chunk.to_vec(),
                    };
                    for user in seen {
                        items.push((row.event(user), EventCursor { id: row.id, user: Some(user) }));
                        if items.len() > limit {
                            break 'rows;
                        }
                    }
                }
            }
            if items.len() > limit {
                break 'rows;
            }
        }
        if !full {
            break;
        }
    }
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|(_, cursor)| *cursor)
    } else {
        None
    };
    Ok(EventPage { items: items.into_iter().map(|(e, _)| e).collect(), next })
}

/// Which of `users` (in descending order) are now in `branch_ids`, in the same order.
async fn in_branches(conn: &mut AnyConnection, users: &[i64], branch_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut p = Params::new(conn);
    let sql = format!(
        "SELECT id FROM users WHERE id IN {} AND branch_id IN ({}) ORDER BY id DESC",
        p.id_table(),
        p.list(branch_ids.len())
    );
    let mut q = sqlx::query_scalar::<_, i64>(crate::built(sql)).bind(p.ids(users));
    for b in branch_ids {
        q = q.bind(*b);
    }
    Ok(q.fetch_all(conn).await?)
}

async fn user_page(
    conn: &mut AnyConnection,
    user_id: i64,
    branch_ids: Option<&[i64]>,
    from: EventCursor,
    limit: usize,
) -> Result<EventPage, StoreError> {
    if let Some(branches) = branch_ids {
        if in_branches(conn, &[user_id], branches).await?.is_empty() {
            return Ok(EventPage { items: vec![], next: None });
        }
    }
    let wanted = limit + 1;
    // A user appears at most once in an event, so the page is the newest `wanted` of
    // the user's own rows and the set rows that hold the user.
    let top = from.id - 1;
    let sql =
        format!("SELECT {COLUMNS} FROM membership_events WHERE user_id = $1 AND id <= $2 ORDER BY id DESC LIMIT $3");
    let rows = sqlx::query(crate::built(sql)).bind(user_id).bind(top).bind(wanted as i64).fetch_all(&mut *conn).await?;
    let mut events: Vec<MembershipEvent> =
        rows.iter().map(|r| Row::read(r).map(|row| row.event(user_id))).collect::<Result<_, _>>()?;
    // Set rows older than the oldest own row that could still be on the page need not be read.
    let floor = if events.len() == wanted { events.last().map_or(0, |e| e.id) } else { 0 };
    let member = u32::try_from(user_id).ok();
    let mut set_top = top;
    let mut from_sets = 0;
    while let Some(member) = member {
        let sql = format!(
            "SELECT {COLUMNS} FROM membership_events WHERE user_id IS NULL AND id <= $1 AND id > $2 \
             ORDER BY id DESC LIMIT 64"
        );
        let rows = sqlx::query(crate::built(sql)).bind(set_top).bind(floor).fetch_all(&mut *conn).await?;
        for row in rows.iter().map(Row::read) {
            let row = row?;
            set_top = row.id - 1;
            let bytes = row.users.as_deref().unwrap_or_default();
            let holds = set_contains(bytes, member).ok_or_else(|| {
                StoreError::Corrupt(format!("membership event {}: its set of users is unreadable", row.id))
            })?;
            if holds {
                events.push(row.event(user_id));
                from_sets += 1;
            }
        }
        if rows.len() < 64 || from_sets >= wanted {
            break;
        }
    }
    events.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
    let next = if events.len() > limit {
        events.truncate(limit);
        events.last().map(|e| EventCursor { id: e.id, user: None })
    } else {
        None
    };
    Ok(EventPage { items: events, next })
}

/// One stored event as the change feed carries it: one user's move, or a bulk move of
/// a set of users in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// The event's id.
    pub id: i64,
    /// The group.
    pub group_id: i64,
    /// The users who moved, ascending (one, or the set of a bulk move).
    pub users: RoaringBitmap,
    /// Joined or left.
    pub change: MembershipChange,
    /// When, epoch milliseconds.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Why.
    pub cause: String,
}

impl Row {
    fn into_move(self) -> Result<Move, StoreError> {
        let users = match self.user_id {
            Some(user) => u32::try_from(user).ok().into_iter().collect(),
            None => self.set()?,
        };
        Ok(Move {
            id: self.id,
            group_id: self.group_id,
            users,
            change: self.change,
            at: self.at,
            actor: self.actor,
            cause: self.cause,
        })
    }
}

/// The events with ids in `(after, upto]`, oldest first.
pub async fn range(conn: &mut AnyConnection, after: i64, upto: i64) -> Result<Vec<Move>, StoreError> {
    if upto <= after {
        return Ok(vec![]);
    }
    let sql = format!("SELECT {COLUMNS} FROM membership_events WHERE id > $1 AND id <= $2 ORDER BY id");
    let rows = sqlx::query(crate::built(sql)).bind(after).bind(upto).fetch_all(conn).await?;
    rows.iter().map(|r| Row::read(r)?.into_move()).collect()
}

/// The joins of `group_id` recorded at any of these moments (epoch ms), oldest first:
/// who joined, when and why.
pub async fn joins_at(conn: &mut AnyConnection, group_id: i64, moments: &[i64]) -> Result<Vec<Move>, StoreError> {
    if moments.is_empty() {
        return Ok(vec![]);
    }
    let mut p = Params::new(conn);
    let sql = format!(
        "SELECT {COLUMNS} FROM membership_events WHERE group_id = {} AND change = 'joined' AND at IN ({}) ORDER BY id",
        p.next(),
        p.list(moments.len())
    );
    let mut q = sqlx::query(crate::built(sql)).bind(group_id);
    for at in moments {
        q = q.bind(*at);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Row::read(r)?.into_move()).collect()
}

/// A group's members at `at` (epoch ms), replayed from its events: every join and leave
/// recorded at or before that moment, in the order they were written.
pub async fn members_at(conn: &mut AnyConnection, group_id: i64, at: i64) -> Result<RoaringBitmap, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM membership_events WHERE group_id = $1 AND at <= $2 ORDER BY id");
    let rows = sqlx::query(crate::built(sql)).bind(group_id).bind(at).fetch_all(conn).await?;
    let mut members = RoaringBitmap::new();
    for row in rows.iter() {
        let moved = Row::read(row)?.into_move()?;
        match moved.change {
            MembershipChange::Joined => members |= moved.users,
            MembershipChange::Left => members -= moved.users,
        }
    }
    Ok(members)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn a_set_is_read_in_place_as_decoding_it_would() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..300 {
            let mut set = RoaringBitmap::new();
            // Sparse, dense and runs, over one container or many.
            let span: u32 = [100, 70_000, 1 << 20, 1 << 24][round % 4];
            let density = [0.001, 0.05, 0.5, 0.99][(round / 4) % 4];
            for _ in 0..(f64::from(span.min(200_000)) * density) as u32 {
                set.insert(rng.random_range(0..span));
            }
            if round % 3 == 0 {
                set.insert_range(rng.random_range(0..span)..span.saturating_add(rng.random_range(0..5000)));
            }
            if round % 2 == 0 {
                set.optimize();
            }
            let mut bytes = Vec::new();
            set.serialize_into(&mut bytes).unwrap();
            for _ in 0..200 {
                let probe = if rng.random_bool(0.5) {
                    set.select(rng.random_range(0..set.len().max(1)) as u32).unwrap_or(0)
                } else {
                    rng.random_range(0..span.saturating_add(10))
                };
                assert_eq!(set_contains(&bytes, probe), Some(set.contains(probe)), "round {round}, {probe}");
            }
        }
        assert_eq!(set_contains(&[1, 2, 3], 1), None, "not a set");
    }
}
