//! The `memberships` table: who is in which group, since when, and how.

use roaring::RoaringBitmap;
use roster_domain::{Membership, MembershipChange, MembershipSource, User};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::events::{Moved, Said};
use crate::params::Params;
use crate::{col, like_pattern, Page, StoreError, WriteTx};

/// A member: the user and how they came to be in the group.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The user.
    pub user: User,
    /// The membership.
    pub membership: Membership,
}

fn membership_from_row(row: &AnyRow) -> Result<Membership, StoreError> {
    let source: String = col(row, "source")?;
    Ok(Membership {
        group_id: col(row, "group_id")?,
        user_id: col(row, "user_id")?,
        source: MembershipSource::parse("source", &source).map_err(|e| StoreError::Corrupt(e.message))?,
        added_at: col(row, "added_at")?,
        added_by: col(row, "added_by")?,
    })
}

/// Who moved them and why: recorded on every membership and event a move writes.
#[derive(Debug, Clone)]
pub struct Cause {
    /// The actor's name.
    pub actor: String,
    /// Why, in words.
    pub why: String,
    /// When, epoch milliseconds.
    pub at: i64,
}

impl Cause {
    fn said(&self, change: MembershipChange) -> Said<'_> {
        Said { change, at: self.at, actor: &self.actor, cause: &self.why }
    }
}

/// Memberships that begin and end, in the shape the change produced them; [`apply`]
/// writes each shape in as few statements as it allows. Every join is of a user who is
/// not a member yet, every leave of one who is (the caller knows: the engine's image or
/// a read in the same transaction says so).
#[derive(Debug, Clone, Copy)]
pub enum Moves<'a> {
    /// Users join (all in one way) and leave one group.
    Group {
        /// The group.
        group_id: i64,
        /// The users who join.
        joined: &'a [i64],
        /// How they join.
        source: MembershipSource,
        /// The users who leave.
        left: &'a [i64],
    },
    /// One user joins groups, by rule or by include list, and leaves others.
    User {
        /// The user.
        user_id: i64,
        /// Groups joined because the rule matches.
        by_rule: &'a [i64],
        /// Groups joined through their include list.
        by_list: &'a [i64],
        /// Groups left.
        left: &'a [i64],
    },
    /// The moves of many groups at once (a rule edit with its dependents, an import, a
    /// reconcile, the date roll-over): memberships written window by window of users
    /// (see `write_windows`), and each group's joins and leaves recorded as one set
    /// event each (one event per user below [`crate::events::SET_FROM`]).
    Sets(&'a [GroupMoves<'a>]),
}

/// One group's share of [`Moves::Sets`]: users not members yet join, members leave.
#[derive(Debug, Clone, Copy)]
pub struct GroupMoves<'a> {
    /// The group.
    pub group_id: i64,
    /// Users who join because the rule matches.
    pub by_rule: &'a RoaringBitmap,
    /// Users who join through the include list.
    pub by_list: &'a RoaringBitmap,
    /// Users who leave.
    pub left: &'a RoaringBitmap,
}

/// Pairs per statement of a [`Moves::Sets`] write.
const STATEMENT: usize = 1 << 17;

/// Writes `moves`: membership rows, member counts and their events, with `cause`.
pub async fn apply(tx: &mut WriteTx, moves: Moves<'_>, cause: &Cause) -> Result<(), StoreError> {
    let by = Some(cause.actor.as_str());
    let (joined, left) = (cause.said(MembershipChange::Joined), cause.said(MembershipChange::Left));
    match moves {
        Moves::Group { group_id, joined: users, source, left: gone } => {
            insert_around(tx, Around::Group(group_id), users, source, cause.at, by).await?;
            expect_rows(delete_around(tx, Around::Group(group_id), gone).await?, gone.len())?;
            let delta = len(users) - len(gone);
            if delta != 0 {
                crate::groups::add_to_counts(tx, &[group_id], delta).await?;
            }
            crate::events::record(tx, Moved::Users { group_id, users }, joined).await?;
            crate::events::record(tx, Moved::Users { group_id, users: gone }, left).await?;
        }
        Moves::User { user_id, by_rule, by_list, left: gone } => {
            insert_around(tx, Around::User(user_id), by_rule, MembershipSource::Rule, cause.at, by).await?;
            insert_around(tx, Around::User(user_id), by_list, MembershipSource::Include, cause.at, by).await?;
            expect_rows(delete_around(tx, Around::User(user_id), gone).await?, gone.len())?;
            let groups: Vec<i64> = by_rule.iter().chain(by_list).copied().collect();
            crate::groups::move_counts(tx, &groups, gone).await?;
            crate::events::record_user_moves(tx, user_id, &groups, gone, joined).await?;
        }
        Moves::Sets(groups) => {
            write_windows(tx, groups, cause).await?;
            let mut by_delta: std::collections::BTreeMap<i64, Vec<i64>> = std::collections::BTreeMap::new();
            for g in groups {
                let delta = count(g.by_rule) + count(g.by_list) - count(g.left);
                by_delta.entry(delta).or_default().push(g.group_id);
            }
            for (delta, ids) in by_delta {
                crate::groups::add_to_counts(tx, &ids, delta).await?;
            }
            let joined_sets: Vec<(i64, RoaringBitmap)> =
                groups.iter().map(|g| (g.group_id, g.by_rule | g.by_list)).collect();
            let joins: Vec<(i64, &RoaringBitmap)> = joined_sets.iter().map(|(g, users)| (*g, users)).collect();
            let leaves: Vec<(i64, &RoaringBitmap)> = groups.iter().map(|g| (g.group_id, g.left)).collect();
            crate::events::record_sets_of_groups(tx, &joins, joined).await?;
            crate::events::record_sets_of_groups(tx, &leaves, left).await?;
        }
    }
    Ok(())
}

/// Writes the memberships of [`Moves::Sets`] window by window of user ids, in the order
/// each database keeps its rows best.
///
/// - **SQLite** keeps memberships clustered by `(group_id, user_id)` whatever the
///   order they come in, so the order serves the writes: each statement's pairs sorted
///   by window, then group, then user. Within a window both the key and the user index
///   take their rows a few neighbouring pages at a time; group after group over all
///   users would leave the user index a random insert per move (measured at 1M users:
///   85 s to persist 25M memberships from empty by windows, 198 s group by group).
///   Inside a window, group before user puts a group's rows one after another into the
///   key's leaf: 2.2M memberships of 100,000 new users (an import) were written in
///   4.0-4.4 s that way, 5.3-5.5 s sorted by user then group (1.3M users, Python's
///   `sqlite3`).
/// - **PostgreSQL** keeps rows in its heap in the order they were written, so the order
///   serves the changes that come later: sorted by user, then group, a user's
///   memberships share one or two heap pages, and a change of a user's fields, which
///   moves several of them, rewrites those pages, not one page per group (a 1% diff
///   at 1M users, 138,000 moves: see docs/benchmarks.md, seventh round).
async fn write_windows(tx: &mut WriteTx, groups: &[GroupMoves<'_>], cause: &Cause) -> Result<(), StoreError> {
    /// Users per window.
    const WINDOW: u32 = 1 << 12;
    let by = Some(cause.actor.as_str());
    let by_user = tx.backend_name() != "SQLite";
    let Some(last) = groups.iter().flat_map(|g| [g.by_rule.max(), g.by_list.max(), g.left.max()]).flatten().max()
    else {
        return Ok(());
    };
    let mut cursors: Vec<(i64, [std::iter::Peekable<roaring::bitmap::Iter<'_>>; 3])> = groups
        .iter()
        .map(|g| (g.group_id, [g.by_rule.iter().peekable(), g.by_list.iter().peekable(), g.left.iter().peekable()]))
        .collect();
    let (mut by_rule, mut by_list, mut left) = (Vec::new(), Vec::new(), Vec::new());
    let mut end = 0u32;
    loop {
        end = end.saturating_add(WINDOW);
        for (group, sets) in &mut cursors {
            for (set, into) in sets.iter_mut().zip([&mut by_rule, &mut by_list, &mut left]) {
                while let Some(user) = set.next_if(|u| *u < end) {
                    into.push((i64::from(user), *group));
                }
            }
        }
        let done = end > last || end == u32::MAX;
        if done || by_rule.len() + by_list.len() + left.len() >= STATEMENT {
            for list in [&mut by_rule, &mut by_list, &mut left] {
                if by_user {
                    list.sort_unstable();
                } else {
                    list.sort_unstable_by_key(|&(user, group)| (user >> WINDOW.trailing_zeros(), group, user));
                }
            }
            expect_rows(delete_pairs(tx, &left).await?, left.len())?;
            insert_pairs(tx, &by_rule, MembershipSource::Rule, cause.at, by).await?;
            insert_pairs(tx, &by_list, MembershipSource::Include, cause.at, by).await?;
            for list in [&mut by_rule, &mut by_list, &mut left] {
                list.clear();
            }
        }
        if done {
            return Ok(());
        }
    }
}

fn count(set: &RoaringBitmap) -> i64 {
    i64::try_from(set.len()).unwrap_or(i64::MAX)
}

fn len(items: &[i64]) -> i64 {
    i64::try_from(items.len()).unwrap_or(i64::MAX)
}

/// Memberships the caller knew of were not all there: its view is out of step with the
/// database, and the change must not commit (its counts would be wrong).
fn expect_rows(deleted: u64, expected: usize) -> Result<(), StoreError> {
    if deleted == expected as u64 {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!("{expected} memberships were expected to end, the database had {deleted}")))
    }
}

/// Which of `users` are members of the group, in order.
pub async fn which_are_members(conn: &mut AnyConnection, group_id: i64, users: &[i64]) -> Result<Vec<i64>, StoreError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::new(conn);
    let sql = format!(
        "SELECT user_id FROM memberships WHERE group_id = {} AND user_id IN {} ORDER BY user_id",
        p.next(),
        p.id_table()
    );
    Ok(sqlx::query_scalar::<_, i64>(crate::built(sql)).bind(group_id).bind(p.ids(users)).fetch_all(&mut *conn).await?)
}

/// One side of the memberships a statement writes: the group of many users, or the
/// user of many groups.
#[derive(Debug, Clone, Copy)]
enum Around {
    Group(i64),
    User(i64),
}

impl Around {
    /// The fixed column, its value, and the column the many ids fill.
    fn columns(self) -> (&'static str, i64, &'static str) {
        match self {
            Around::Group(id) => ("group_id", id, "user_id"),
            Around::User(id) => ("user_id", id, "group_id"),
        }
    }
}

/// Inserts memberships around one group or one user, none of which exists yet (the
/// caller knows): one statement for any number.
async fn insert_around(
    tx: &mut WriteTx,
    around: Around,
    many: &[i64],
    source: MembershipSource,
    at: i64,
    by: Option<&str>,
) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    if many.is_empty() {
        return Ok(());
    }
    let (fixed, id, other) = around.columns();
    let mut p = Params::new(conn);
    let sql = format!(
        "{} INTO memberships ({fixed}, source, added_at, added_by, {other}) SELECT {}, {}, {}, {}, id FROM {} AS t",
        p.insert_new(),
        p.next(),
        p.next(),
        p.next(),
        p.next(),
        p.id_table()
    );
    sqlx::query(crate::built(sql))
        .bind(id)
        .bind(source.as_str())
        .bind(at)
        .bind(by)
        .bind(p.ids(many))
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts memberships given as `(user_id, group_id)` pairs, none of which exists yet
/// (the caller knows): one statement for any number, in the order given (see
/// `write_windows` for the order that makes a million-row write fast).
async fn insert_pairs(
    tx: &mut WriteTx,
    pairs: &[(i64, i64)],
    source: MembershipSource,
    at: i64,
    by: Option<&str>,
) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    if pairs.is_empty() {
        return Ok(());
    }
    let mut p = Params::new(conn);
    let sql = format!(
        "{} INTO memberships (source, added_at, added_by, user_id, group_id) \
         SELECT {}, {}, {}, user_id, group_id FROM {} AS t",
        p.insert_new(),
        p.next(),
        p.next(),
        p.next(),
        p.pair_table()
    );
    let pairs = p.pairs(pairs)?;
    sqlx::query(crate::built(sql)).bind(source.as_str()).bind(at).bind(by).bind(pairs).execute(conn).await?;
    Ok(())
}

/// Deletes memberships given as distinct `(user_id, group_id)` pairs; returns how many
/// there were.
///
/// On PostgreSQL the pairs are joined as given: an `IN` would first hash them, and the
/// rows would then be found in the hash's order, all over the heap, not in the order
/// the caller sorted them for (126,000 pairs at 1M users, in psql: 2.5 s through the
/// hash, 2.0 s in order).
async fn delete_pairs(tx: &mut WriteTx, pairs: &[(i64, i64)]) -> Result<u64, StoreError> {
    let conn: &mut AnyConnection = tx;
    if pairs.is_empty() {
        return Ok(0);
    }
    let mut p = Params::new(conn);
    let sql = if conn.backend_name() == "SQLite" {
        format!(
            "DELETE FROM memberships WHERE (group_id, user_id) IN (SELECT group_id, user_id FROM {} AS t)",
            p.pair_table()
        )
    } else {
        format!(
            "DELETE FROM memberships AS m USING {} AS t WHERE m.group_id = t.group_id AND m.user_id = t.user_id",
            p.pair_table()
        )
    };
    let pairs = p.pairs(pairs)?;
    Ok(sqlx::query(crate::built(sql)).bind(pairs).execute(conn).await?.rows_affected())
}

/// Deletes memberships around one group or one user; returns how many there were.
async fn delete_around(tx: &mut WriteTx, around: Around, many: &[i64]) -> Result<u64, StoreError> {
    let conn: &mut AnyConnection = tx;
    if many.is_empty() {
        return Ok(0);
    }
    let (fixed, id, other) = around.columns();
    let mut p = Params::new(conn);
    let sql = format!("DELETE FROM memberships WHERE {fixed} = {} AND {other} IN {}", p.next(), p.id_table());
    Ok(sqlx::query(crate::built(sql)).bind(id).bind(p.ids(many)).execute(conn).await?.rows_affected())
}

/// Every member id of a group, in order.
pub async fn member_ids(conn: &mut AnyConnection, group_id: i64) -> Result<Vec<i64>, StoreError> {
    // As one text of comma-separated ids: a group can have a million members, and a
    // start-up reads every group's (27.9M at 1M users); a third less text than JSON
    // rows. On PostgreSQL the read is fast once the table is vacuumed (see
    // `imports::refresh_statistics`).
    let sql = if conn.backend_name() == "SQLite" {
        "SELECT group_concat(user_id, ',' ORDER BY user_id) FROM memberships WHERE group_id = $1"
    } else {
        "SELECT string_agg(CAST(user_id AS TEXT), ',' ORDER BY user_id) FROM memberships WHERE group_id = $1"
    };
    let text: Option<String> = sqlx::query_scalar(sql).bind(group_id).fetch_one(&mut *conn).await?;
    let Some(text) = text else { return Ok(Vec::new()) };
    text.split(',')
        .map(|id| id.parse().map_err(|_| StoreError::Corrupt(format!("group {group_id}: member id \"{id}\""))))
        .collect()
}

/// The ids of the groups a user belongs to.
pub async fn group_ids_of_user(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT group_id FROM memberships WHERE user_id = $1 ORDER BY group_id")
        .bind(user_id)
        .fetch_all(conn)
        .await?)
}

/// A user's memberships, with the groups' ids.
pub async fn of_user(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<Membership>, StoreError> {
    let rows = sqlx::query(
        "SELECT group_id, user_id, source, added_at, added_by FROM memberships WHERE user_id = $1 ORDER BY group_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(membership_from_row).collect()
}

/// What a page of members is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// Text searched in usernames, emails and names.
    pub q: Option<String>,
    /// Only users in these branches.
    pub branch_ids: Option<Vec<i64>>,
    /// Members with a user id above this one.
    pub after: Option<i64>,
    /// At most this many.
    pub limit: usize,
}

/// A page of a group's members with their users, in user id order.
pub async fn page(conn: &mut AnyConnection, group_id: i64, query: &MemberQuery) -> Result<Page<Member>, StoreError> {
    if matches!(&query.branch_ids, Some(ids) if ids.is_empty()) {
        return Ok(Page { items: vec![], next: None });
    }
    let mut p = Params::new(conn);
    let mut sql = format!(
        "SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.status, u.language, u.timezone, \
         u.branch_id, u.fields, u.created_at, u.updated_at, u.last_login_at, \
         m.group_id, m.user_id, m.source, m.added_at, m.added_by \
         FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.group_id = {} AND m.user_id > {}",
        p.next(),
        p.next()
    );
    if query.q.is_some() {
        sql.push_str(&format!(" AND u.search LIKE {} ESCAPE '\\'", p.next()));
    }
    if let Some(ids) = &query.branch_ids {
        sql.push_str(&format!(" AND u.branch_id IN ({})", p.list(ids.len())));
    }
    sql.push_str(&format!(" ORDER BY m.user_id LIMIT {}", p.next()));
    let mut q = sqlx::query(crate::built(sql)).bind(group_id).bind(query.after.unwrap_or(0));
    if let Some(text) = &query.q {
        q = q.bind(like_pattern(text));
    }
    for id in query.branch_ids.iter().flatten() {
        q = q.bind(*id);
    }
    let rows = q.bind((query.limit + 1) as i64).fetch_all(conn).await?;
    let members = rows
        .iter()
        .map(|row| Ok(Member { user: crate::users::from_row(row)?, membership: membership_from_row(row)? }))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page::from_rows(members, query.limit, |m| m.user.id))
}

/// What a sorted page of members is ordered by (then by user id, the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberOrder {
    /// Username, any case.
    Username,
    /// When they joined.
    Added,
}

/// A page of a group's members matching `query` (its cursor aside), ordered, `limit`
/// of them after `offset`.
pub async fn page_ordered(
    conn: &mut AnyConnection,
    group_id: i64,
    query: &MemberQuery,
    (order, descending): (MemberOrder, bool),
    offset: u64,
) -> Result<Vec<Member>, StoreError> {
    if matches!(&query.branch_ids, Some(ids) if ids.is_empty()) {
        return Ok(Vec::new());
    }
    let mut p = Params::new(conn);
    let mut sql = format!(
        "SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.status, u.language, u.timezone, \
         u.branch_id, u.fields, u.created_at, u.updated_at, u.last_login_at, \
         m.group_id, m.user_id, m.source, m.added_at, m.added_by \
         FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.group_id = {}",
        p.next()
    );
    if query.q.is_some() {
        sql.push_str(&format!(" AND u.search LIKE {} ESCAPE '\\'", p.next()));
    }
    if let Some(ids) = &query.branch_ids {
        sql.push_str(&format!(" AND u.branch_id IN ({})", p.list(ids.len())));
    }
    let column = match order {
        MemberOrder::Username => "u.username_key",
        MemberOrder::Added => "m.added_at",
    };
    let dir = if descending { "DESC" } else { "ASC" };
    sql.push_str(&format!(" ORDER BY {column} {dir}, m.user_id {dir} LIMIT {} OFFSET {}", p.next(), p.next()));
    let mut q = sqlx::query(crate::built(sql)).bind(group_id);
    if let Some(text) = &query.q {
        q = q.bind(like_pattern(text));
    }
    for id in query.branch_ids.iter().flatten() {
        q = q.bind(*id);
    }
    let rows = q
        .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| Ok(Member { user: crate::users::from_row(row)?, membership: membership_from_row(row)? }))
        .collect()
}

/// How many members of a group match `query` (its cursor and limit aside).
pub async fn count_matching(conn: &mut AnyConnection, group_id: i64, query: &MemberQuery) -> Result<i64, StoreError> {
    if matches!(&query.branch_ids, Some(ids) if ids.is_empty()) {
        return Ok(0);
    }
    let mut p = Params::new(conn);
    let mut sql =
        format!("SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.group_id = {}", p.next());
    if query.q.is_some() {
        sql.push_str(&format!(" AND u.search LIKE {} ESCAPE '\\'", p.next()));
    }
    if let Some(ids) = &query.branch_ids {
        sql.push_str(&format!(" AND u.branch_id IN ({})", p.list(ids.len())));
    }
    let mut q = sqlx::query_scalar(crate::built(sql)).bind(group_id);
    if let Some(text) = &query.q {
        q = q.bind(like_pattern(text));
    }
    for id in query.branch_ids.iter().flatten() {
        q = q.bind(*id);
    }
    Ok(q.fetch_one(conn).await?)
}

/// How many members of each of `groups` are users of `branch_ids` (groups with none are
/// absent).
pub async fn counts_in_branches(
    conn: &mut AnyConnection,
    groups: &[i64],
    branch_ids: &[i64],
) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
    if groups.is_empty() || branch_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let mut p = Params::new(conn);
    let sql = format!(
        "SELECT m.group_id, COUNT(*) AS n FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.group_id IN ({}) AND u.branch_id IN ({}) GROUP BY m.group_id",
        p.list(groups.len()),
        p.list(branch_ids.len())
    );
    let mut q = sqlx::query(crate::built(sql));
    for id in groups.iter().chain(branch_ids) {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(|row| Ok((col(row, "group_id")?, col(row, "n")?))).collect()
}
