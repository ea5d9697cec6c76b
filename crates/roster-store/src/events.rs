//! The `membership_events` table: the history of joins and leaves.

use roster_domain::{MembershipChange, MembershipEvent};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::params::Params;
use crate::{col, Page, StoreError};

/// A join or leave to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<'a> {
    /// The group.
    pub group_id: i64,
    /// The user.
    pub user_id: i64,
    /// Joined or left.
    pub change: MembershipChange,
    /// When, epoch milliseconds.
    pub at: i64,
    /// Who.
    pub actor: &'a str,
    /// Why.
    pub cause: &'a str,
}

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

/// Records events in multi-row statements.
pub async fn insert_many(conn: &mut AnyConnection, events: &[NewEvent<'_>]) -> Result<(), StoreError> {
    for chunk in events.chunks(500) {
        let sql = format!(
            "INSERT INTO membership_events (group_id, user_id, change, at, actor, cause) VALUES {}",
            Params::new(conn).rows(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q.bind(e.group_id).bind(e.user_id).bind(e.change.as_str()).bind(e.at).bind(e.actor).bind(e.cause);
        }
        q.execute(&mut *conn).await?;
    }
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

/// A page of events, newest first; `before` is the cursor (an event id).
pub async fn page(
    conn: &mut AnyConnection,
    subject: Subject,
    before: Option<i64>,
    limit: usize,
) -> Result<Page<MembershipEvent>, StoreError> {
    let (column, id) = match subject {
        Subject::Group(id) => ("group_id", id),
        Subject::User(id) => ("user_id", id),
    };
    let sql = format!(
        "SELECT id, group_id, user_id, change, at, actor, cause FROM membership_events \
         WHERE {column} = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    );
    let rows =
        sqlx::query(&sql).bind(id).bind(before.unwrap_or(i64::MAX)).bind((limit + 1) as i64).fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |e| e.id))
}
