//! The `enrollment_rules` table (a group's courses to enroll its members in) and the
//! `enrollment_events` table (each enrollment a rule made or removed, with its cause).

use roster_domain::EnrollmentRule;
use sqlx::AnyConnection;

use crate::events::{set_bytes, set_contains, set_of, SET_FROM};
use crate::memberships::Cause;
use crate::params::Params;
use crate::{StoreError, WriteTx};

fn rule(course_id: i64, due_days: Option<i64>, unenroll: i64) -> Result<EnrollmentRule, StoreError> {
    let due_days = due_days.map(u32::try_from).transpose().map_err(|_| StoreError::Corrupt("due_days".into()))?;
    Ok(EnrollmentRule { course_id, due_days, unenroll_on_leave: unenroll != 0 })
}

/// A group's enrollment rules, in the order it lists them.
pub async fn of_group(conn: &mut AnyConnection, group_id: i64) -> Result<Vec<EnrollmentRule>, StoreError> {
    let rows: Vec<(i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT course_id, due_days, unenroll_on_leave FROM enrollment_rules WHERE group_id = $1 ORDER BY position",
    )
    .bind(group_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(|(c, d, u)| rule(c, d, u)).collect()
}

/// The groups with an enrollment rule for a course, sorted.
pub async fn groups_of_course(conn: &mut AnyConnection, course_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT group_id FROM enrollment_rules WHERE course_id = $1 ORDER BY group_id")
        .bind(course_id)
        .fetch_all(conn)
        .await?)
}

/// Replaces a group's enrollment rules.
pub async fn replace(tx: &mut WriteTx, group_id: i64, rules: &[EnrollmentRule]) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("DELETE FROM enrollment_rules WHERE group_id = $1").bind(group_id).execute(&mut *conn).await?;
    for (position, r) in rules.iter().enumerate() {
        sqlx::query(
            "INSERT INTO enrollment_rules (group_id, course_id, position, due_days, unenroll_on_leave) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(group_id)
        .bind(r.course_id)
        .bind(position as i64)
        .bind(r.due_days.map(i64::from))
        .bind(i64::from(r.unenroll_on_leave))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Of `users`, those whose enrollment in `course_id` a rule made and that is still
/// `enrolled` (not started): the enrollments a leave may remove. Sorted.
pub async fn removable(conn: &mut AnyConnection, course_id: i64, users: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut p = Params::new(conn);
    let sql = format!(
        "SELECT user_id FROM enrollments WHERE course_id = {} AND user_id IN {} \
         AND made_by_group IS NOT NULL AND status = 'enrolled' ORDER BY user_id",
        p.next(),
        p.id_table()
    );
    let ids = p.ids(users);
    Ok(sqlx::query_scalar(crate::built(sql)).bind(course_id).bind(ids).fetch_all(conn).await?)
}

/// Removes the enrollments of `users` in `course_id`.
pub async fn remove(tx: &mut WriteTx, course_id: i64, users: &[i64]) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    let mut p = Params::new(conn);
    let sql = format!("DELETE FROM enrollments WHERE course_id = {} AND user_id IN {}", p.next(), p.id_table());
    let ids = p.ids(users);
    sqlx::query(crate::built(sql)).bind(course_id).bind(ids).execute(conn).await?;
    Ok(())
}

/// Whether a rule's enrollment was made or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentChange {
    /// The rule enrolled the user.
    Enrolled,
    /// The rule's enrollment was removed (the user left).
    Removed,
}

impl EnrollmentChange {
    fn as_str(self) -> &'static str {
        match self {
            Self::Enrolled => "enrolled",
            Self::Removed => "removed",
        }
    }
}

/// Records that the rule of `group_id` made or removed the enrollments of `users` in
/// `course_id`, with the cause: one row holding the set of users when they are at least
/// [`SET_FROM`], one row per user otherwise.
pub async fn record(
    tx: &mut WriteTx,
    group_id: i64,
    course_id: i64,
    change: EnrollmentChange,
    users: &[i64],
    cause: &Cause,
) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    if let (true, Some(set)) = (users.len() >= SET_FROM, set_of(users)) {
        sqlx::query(
            "INSERT INTO enrollment_events (users, user_count, course_id, group_id, change, at, actor, cause) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(set_bytes(&set)?)
        .bind(i64::try_from(set.len()).unwrap_or(i64::MAX))
        .bind(course_id)
        .bind(group_id)
        .bind(change.as_str())
        .bind(cause.at)
        .bind(cause.actor.as_str())
        .bind(cause.why.as_str())
        .execute(conn)
        .await?;
        return Ok(());
    }
    for chunk in users.chunks(1000) {
        let sql = format!(
            "INSERT INTO enrollment_events (user_id, course_id, group_id, change, at, actor, cause) VALUES {}",
            Params::new(conn).rows(chunk.len(), 7)
        );
        let mut q = sqlx::query(crate::built(sql));
        for &user in chunk {
            q = q
                .bind(user)
                .bind(course_id)
                .bind(group_id)
                .bind(change.as_str())
                .bind(cause.at)
                .bind(cause.actor.as_str())
                .bind(cause.why.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// An enrollment a rule made or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentEvent {
    /// The course's id.
    pub course_id: i64,
    /// The group whose rule acted.
    pub group_id: Option<i64>,
    /// `enrolled` or `removed`.
    pub change: String,
    /// When, epoch milliseconds.
    pub at: i64,
    /// Who made the change that set the rule off.
    pub actor: String,
    /// Why, in words.
    pub cause: String,
}

/// An enrollment event as stored: the event's id, whose (a user, or a set of users),
/// and what.
type EventRow = (i64, Option<Vec<u8>>, i64, Option<i64>, String, i64, String, String);

const EVENT_COLUMNS: &str = "id, users, course_id, group_id, change, at, actor, cause";

/// A user's enrollment events, newest first, at most `limit`: the user's own rows and
/// the set rows that hold the user.
pub async fn events_of_user(
    conn: &mut AnyConnection,
    user_id: i64,
    limit: i64,
) -> Result<Vec<EnrollmentEvent>, StoreError> {
    let own: Vec<EventRow> = sqlx::query_as(crate::built(format!(
        "SELECT {EVENT_COLUMNS} FROM enrollment_events WHERE user_id = $1 ORDER BY id DESC LIMIT $2"
    )))
    .bind(user_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let wanted = usize::try_from(limit).unwrap_or(0);
    // Set rows older than the oldest own row that could still be listed need not be read.
    let floor = if own.len() == wanted { own.last().map_or(0, |r| r.0) } else { 0 };
    let mut rows = own;
    if let Ok(member) = u32::try_from(user_id) {
        let mut top = i64::MAX;
        let mut found = 0;
        loop {
            let sets: Vec<EventRow> = sqlx::query_as(crate::built(format!(
                "SELECT {EVENT_COLUMNS} FROM enrollment_events WHERE user_id IS NULL AND id < $1 AND id > $2 \
                 ORDER BY id DESC LIMIT 64"
            )))
            .bind(top)
            .bind(floor)
            .fetch_all(&mut *conn)
            .await?;
            for row in &sets {
                top = row.0;
                let holds = set_contains(row.1.as_deref().unwrap_or_default(), member).ok_or_else(|| {
                    StoreError::Corrupt(format!("enrollment event {}: its set of users is unreadable", row.0))
                })?;
                if holds {
                    rows.push(row.clone());
                    found += 1;
                }
            }
            if sets.len() < 64 || found >= wanted {
                break;
            }
        }
    }
    rows.sort_unstable_by_key(|r| std::cmp::Reverse(r.0));
    rows.truncate(wanted);
    Ok(rows
        .into_iter()
        .map(|(_, _, course_id, group_id, change, at, actor, cause)| EnrollmentEvent {
            course_id,
            group_id,
            change,
            at,
            actor,
            cause,
        })
        .collect())
}
