//! The `membership_events` table: the history of joins and leaves.

use roster_domain::{MembershipChange, MembershipEvent};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::params::Params;
use crate::{col, Page, StoreError, WriteTx};

fn from_row(row: &AnyRow) -> Result<MembershipEvent, StoreError> {
    let change: String = col(row, "change")?;
    Ok(MembershipEvent {
        id: col(row, "id")?,
        group_id: col(row, "group_id")?,
        user_id: col(row, "user_id")?,
        change: MembershipChange::parse("change", &change).map_err(|e| StoreError::Corrupt(e.message))?,
        at: col(row, "at")?,
        actor: col(row, "actor")?,
        cause: col(row, "cause")?,
    })
}

/// Who moved where: one group and many users, or one user and many groups.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Moved<'a> {
    /// These users joined or left this group.
    Users {
        /// The group.
        group_id: i64,
        /// The users, in the order their events are recorded.
        users: &'a [i64],
    },
    /// This user joined or left these groups.
    Groups {
        /// The user.
        user_id: i64,
        /// The groups, in the order their events are recorded.
        groups: &'a [i64],
    },
    /// Each of these users joined or left the group beside it: `(user_id, group_id)`.
    Pairs(&'a [(i64, i64)]),
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

/// Records one event per user (or group) moved: one statement for any number.
pub(crate) async fn record(tx: &mut WriteTx, moved: Moved<'_>, said: Said<'_>) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    let (fixed, many, columns) = match moved {
        Moved::Pairs(pairs) => return record_pairs(conn, pairs, said).await,
        Moved::Users { group_id, users } => (group_id, users, "group_id, user_id"),
        Moved::Groups { user_id, groups } => (user_id, groups, "user_id, group_id"),
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

/// Whose history: a group's or a user's.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    /// Events of one group.
    Group(i64),
    /// Events of one user.
    User(i64),
}

/// A page of events, newest first; `before` is the cursor (an event id). With
/// `branch_ids`, only events of users now in those branches.
pub async fn page(
    conn: &mut AnyConnection,
    subject: Subject,
    branch_ids: Option<&[i64]>,
    before: Option<i64>,
    limit: usize,
) -> Result<Page<MembershipEvent>, StoreError> {
    if branch_ids.is_some_and(<[i64]>::is_empty) {
        return Ok(Page { items: vec![], next: None });
    }
    let (column, id) = match subject {
        Subject::Group(id) => ("group_id", id),
        Subject::User(id) => ("user_id", id),
    };
    let mut p = Params::new(conn);
    let mut sql = format!(
        "SELECT id, group_id, user_id, change, at, actor, cause FROM membership_events \
         WHERE {column} = {} AND id < {}",
        p.next(),
        p.next()
    );
    if let Some(ids) = branch_ids {
        sql.push_str(&format!(
            " AND user_id IN (SELECT u.id FROM users u WHERE u.branch_id IN ({}))",
            p.list(ids.len())
        ));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", p.next()));
    let mut q = sqlx::query(crate::built(sql)).bind(id).bind(before.unwrap_or(i64::MAX));
    for b in branch_ids.into_iter().flatten() {
        q = q.bind(*b);
    }
    let rows = q.bind((limit + 1) as i64).fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |e| e.id))
}
