//! The `enrollment_rules` table (a group's courses to enroll its members in) and the
//! `enrollment_events` table (each enrollment a rule made or removed, with its cause).

use roster_domain::EnrollmentRule;
use sqlx::AnyConnection;

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
/// `course_id`, with the cause.
pub async fn record(
    tx: &mut WriteTx,
    group_id: i64,
    course_id: i64,
    change: EnrollmentChange,
    users: &[i64],
    cause: &Cause,
) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
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

/// A user's enrollment events, newest first, at most `limit`.
pub async fn events_of_user(
    conn: &mut AnyConnection,
    user_id: i64,
    limit: i64,
) -> Result<Vec<EnrollmentEvent>, StoreError> {
    let rows: Vec<(i64, Option<i64>, String, i64, String, String)> = sqlx::query_as(
        "SELECT course_id, group_id, change, at, actor, cause FROM enrollment_events WHERE user_id = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(course_id, group_id, change, at, actor, cause)| EnrollmentEvent {
            course_id,
            group_id,
            change,
            at,
            actor,
            cause,
        })
        .collect())
}
