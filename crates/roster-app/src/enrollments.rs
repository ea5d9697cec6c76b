//! Enrollments: a user's status in a course.

use roster_domain::{Enrollment, EnrollmentStatus};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::reach::Reach;
use crate::views::{EnrollmentView, List};
use crate::{parse_id, Actor, App, AppError, AppResult, ListParams};

/// The status to set for a user in a course.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentInput {
    /// `enrolled`, `in_progress`, `completed` or `failed`.
    pub status: String,
}

impl App {
    async fn course_codes(&self, conn: &mut roster_store::AnyConnection) -> AppResult<HashMap<i64, String>> {
        Ok(roster_store::courses::all(conn).await?.into_iter().map(|c| (c.id, c.code)).collect())
    }

    /// A user's enrollments.
    pub async fn user_enrollments(&self, actor: &Actor, user_id: &str) -> AppResult<Vec<EnrollmentView>> {
        let id = parse_id("user", user_id)?;
        let mut conn = self.store.read().await?;
        Reach::of(&mut conn, actor).await?.user(&mut conn, id).await?;
        let codes = self.course_codes(&mut conn).await?;
        let rows = roster_store::enrollments::of_user(&mut conn, id).await?;
        Ok(rows.into_iter().map(|e| EnrollmentView::new(e, &codes)).collect())
    }

    /// A page of a course's enrollments, of the users the caller may see.
    pub async fn course_enrollments(
        &self,
        actor: &Actor,
        code: &str,
        page: &ListParams,
    ) -> AppResult<List<EnrollmentView>> {
        let (after, limit) = page.resolve()?;
        let mut conn = self.store.read().await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let course = roster_store::courses::by_code(&mut conn, code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("course \"{code}\"")))?;
        let filter = reach.branch_filter();
        let rows = roster_store::enrollments::of_course(&mut conn, course.id, filter.as_deref(), after, limit).await?;
        let codes = HashMap::from([(course.id, course.code)]);
        Ok(List::from_page(rows, |e| EnrollmentView::new(e, &codes)))
    }

    /// Enrolls a user in a course, or changes the status of the enrollment. Completion
    /// time is set when the status becomes `completed` and cleared when it leaves it.
    pub async fn set_enrollment(
        &self,
        actor: &Actor,
        code: &str,
        user_id: &str,
        input: EnrollmentInput,
    ) -> AppResult<EnrollmentView> {
        let mut views = self.set_enrollments(actor, code, &[user_id.to_owned()], input).await?;
        views.pop().ok_or_else(|| AppError::NotFound("enrollment".into()))
    }

    /// Sets the same status for several users in a course, in one transaction: every
    /// user is enrolled (or changed), or, when one cannot be, none is.
    pub async fn set_enrollments(
        &self,
        actor: &Actor,
        code: &str,
        user_ids: &[String],
        input: EnrollmentInput,
    ) -> AppResult<Vec<EnrollmentView>> {
        let status = EnrollmentStatus::parse("status", &input.status)?;
        let ids = user_ids.iter().map(|u| parse_id("user", u)).collect::<AppResult<Vec<i64>>>()?;
        let mut tx = self.begin().await?;
        let reach = Reach::within(tx.context().await?, actor);
        let course = roster_store::courses::by_code(tx.read(), code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("course \"{code}\"")))?;
        let cause = self.cause(actor, format!("enrollment in \"{}\" set to {}", course.code, status.as_str()));
        let codes = HashMap::from([(course.id, course.code.clone())]);
        let mut views = Vec::with_capacity(ids.len());
        for id in ids {
            reach.user(tx.read(), id).await?;
            let previous = roster_store::enrollments::get(tx.read(), id, course.id).await?;
            let enrollment = Enrollment {
                user_id: id,
                course_id: course.id,
                status,
                enrolled_at: previous.as_ref().map_or(cause.at, |p| p.enrolled_at),
                completed_at: match (status, &previous) {
                    (EnrollmentStatus::Completed, Some(p)) if p.status == EnrollmentStatus::Completed => p.completed_at,
                    (EnrollmentStatus::Completed, _) => Some(cause.at),
                    _ => None,
                },
            };
            tx.set_enrollment(&enrollment, &cause).await?;
            views.push(EnrollmentView::new(enrollment, &codes));
        }
        tx.commit().await?;
        Ok(views)
    }

    /// Removes a user's enrollment in a course.
    pub async fn delete_enrollment(&self, actor: &Actor, code: &str, user_id: &str) -> AppResult<()> {
        let id = parse_id("user", user_id)?;
        let mut tx = self.begin().await?;
        let user = Reach::within(tx.context().await?, actor).user(tx.read(), id).await?;
        let course = roster_store::courses::by_code(tx.read(), code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("course \"{code}\"")))?;
        let cause = self.cause(actor, format!("enrollment in \"{}\" removed", course.code));
        if !tx.remove_enrollment(user.id, course.id, &cause).await? {
            return Err(AppError::NotFound("enrollment".into()));
        }
        tx.commit().await?;
        Ok(())
    }
}
