//! The `enrollments` table.

use roster_domain::{Enrollment, EnrollmentStatus};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::params::Params;
use crate::{col, Page, StoreError, WriteTx};

fn from_row(row: &AnyRow) -> Result<Enrollment, StoreError> {
    let status: String = col(row, "status")?;
    Ok(Enrollment {
        user_id: col(row, "user_id")?,
        course_id: col(row, "course_id")?,
        status: EnrollmentStatus::parse("status", &status).map_err(|e| StoreError::Corrupt(e.message))?,
        enrolled_at: col(row, "enrolled_at")?,
        completed_at: col(row, "completed_at")?,
        due_at: col(row, "due_at")?,
        made_by_group: col(row, "made_by_group")?,
    })
}

const COLUMNS: &str = "user_id, course_id, status, enrolled_at, completed_at, due_at, made_by_group";

/// [`COLUMNS`] of the enrollments table named `e`.
const E_COLUMNS: &str = "e.user_id, e.course_id, e.status, e.enrolled_at, e.completed_at, e.due_at, e.made_by_group";

/// A user's enrollments, by course id. Enrollments are keyed by course: one key lookup
/// per course (the course table is small beside them), no index by user to keep up.
pub async fn of_user(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<Enrollment>, StoreError> {
    let rows = sqlx::query(crate::built(format!(
        "SELECT {E_COLUMNS} FROM courses c CROSS JOIN enrollments e \
         WHERE e.course_id = c.id AND e.user_id = $1 ORDER BY c.id"
    )))
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Deletes every enrollment of a user (the user is being deleted).
pub async fn delete_of_user(tx: &mut WriteTx, user_id: i64) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("DELETE FROM enrollments WHERE course_id IN (SELECT id FROM courses) AND user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A page of a course's enrollments, in user id order, optionally only users of these
/// branches.
pub async fn of_course(
    conn: &mut AnyConnection,
    course_id: i64,
    branch_ids: Option<&[i64]>,
    after: Option<i64>,
    limit: usize,
) -> Result<Page<Enrollment>, StoreError> {
    if branch_ids.is_some_and(<[i64]>::is_empty) {
        return Ok(Page { items: vec![], next: None });
    }
    let mut p = Params::new(conn);
    let mut sql = format!(
        "SELECT e.user_id, e.course_id, e.status, e.enrolled_at, e.completed_at, e.due_at, e.made_by_group \
         FROM enrollments e \
         WHERE e.course_id = {} AND e.user_id > {}",
        p.next(),
        p.next()
    );
    if let Some(ids) = branch_ids {
        sql.push_str(&format!(" AND e.user_id IN (SELECT id FROM users WHERE branch_id IN ({}))", p.list(ids.len())));
    }
    sql.push_str(&format!(" ORDER BY e.user_id LIMIT {}", p.next()));
    let mut q = sqlx::query(crate::built(sql)).bind(course_id).bind(after.unwrap_or(0));
    for id in branch_ids.into_iter().flatten() {
        q = q.bind(*id);
    }
    let rows = q.bind((limit + 1) as i64).fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |e| e.user_id))
}

/// One enrollment.
pub async fn get(conn: &mut AnyConnection, user_id: i64, course_id: i64) -> Result<Option<Enrollment>, StoreError> {
    let row =
        sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM enrollments WHERE user_id = $1 AND course_id = $2")))
            .bind(user_id)
            .bind(course_id)
            .fetch_optional(conn)
            .await?;
    row.as_ref().map(from_row).transpose()
}

/// Creates or replaces an enrollment. A replaced enrollment keeps the rule that made
/// it and its due date: a status set from outside (the LMS reporting progress) does not
/// make a rule's enrollment someone else's.
pub async fn upsert(tx: &mut WriteTx, e: &Enrollment) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query(
        "INSERT INTO enrollments (user_id, course_id, status, enrolled_at, completed_at, due_at, made_by_group) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (course_id, user_id) DO UPDATE SET status = excluded.status, \
         enrolled_at = excluded.enrolled_at, completed_at = excluded.completed_at",
    )
    .bind(e.user_id)
    .bind(e.course_id)
    .bind(e.status.as_str())
    .bind(e.enrolled_at)
    .bind(e.completed_at)
    .bind(e.due_at)
    .bind(e.made_by_group)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts many new enrollments in multi-row statements (imports, the generator).
pub async fn insert_many(tx: &mut WriteTx, rows: &[Enrollment]) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    for chunk in rows.chunks(1000) {
        let sql = format!(
            "INSERT INTO enrollments (user_id, course_id, status, enrolled_at, completed_at, due_at, made_by_group) \
             VALUES {}",
            Params::new(conn).rows(chunk.len(), 7)
        );
        let mut q = sqlx::query(crate::built(sql));
        for e in chunk {
            q = q
                .bind(e.user_id)
                .bind(e.course_id)
                .bind(e.status.as_str())
                .bind(e.enrolled_at)
                .bind(e.completed_at)
                .bind(e.due_at)
                .bind(e.made_by_group);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Removes an enrollment; false when there was none.
pub async fn delete(tx: &mut WriteTx, user_id: i64, course_id: i64) -> Result<bool, StoreError> {
    let conn: &mut AnyConnection = tx;
    let done = sqlx::query("DELETE FROM enrollments WHERE user_id = $1 AND course_id = $2")
        .bind(user_id)
        .bind(course_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// An enrollment as [`of_course_after`] reads it: the columns of [`COLUMNS`], in order.
type EnrollmentRow = (i64, i64, String, i64, Option<i64>, Option<i64>, Option<i64>);

/// Up to `limit` enrollments in a course of users with ids above `after`, in user id
/// order: for loading everyone, course by course, a key range each.
pub async fn of_course_after(
    conn: &mut AnyConnection,
    course_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<Enrollment>, StoreError> {
    let columns = COLUMNS.split(',').map(|c| (c.trim(), false)).collect::<Vec<_>>();
    let from = "(SELECT * FROM enrollments WHERE course_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3) e";
    let rows: Vec<EnrollmentRow> =
        crate::params::json_rows(conn, &columns, from, "user_id", &[course_id, after, limit]).await?;
    rows.into_iter()
        .map(|(user_id, course_id, status, enrolled_at, completed_at, due_at, made_by_group)| {
            Ok(Enrollment {
                user_id,
                course_id,
                status: EnrollmentStatus::parse("status", &status).map_err(|e| StoreError::Corrupt(e.message))?,
                enrolled_at,
                completed_at,
                due_at,
                made_by_group,
            })
        })
        .collect()
}
