//! Enrollments: a user's status in a course.

use roster_domain::{Enrollment, EnrollmentStatus};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::reach::Reach;
use crate::views::{EnrollmentEventView, EnrollmentView, GroupRef, List};
use crate::{parse_id, Actor, App, AppError, AppResult, ListParams};

/// The status to set for a user in a course.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentInput {
    /// `enrolled`, `in_progress`, `completed` or `failed`.
    pub status: String,
}

/// How many of a user's enrollment events are shown.
const EVENTS_SHOWN: i64 = 100;

impl App {
    async fn course_codes(&self, conn: &mut roster_store::AnyConnection) -> AppResult<HashMap<i64, String>> {
        Ok(roster_store::courses::all(conn).await?.into_iter().map(|c| (c.id, c.code)).collect())
    }

    /// The names of the groups whose rules made these enrollments.
    async fn makers(
        &self,
        conn: &mut roster_store::AnyConnection,
        enrollments: &[Enrollment],
    ) -> AppResult<HashMap<i64, String>> {
        let mut names = HashMap::new();
        for id in enrollments.iter().filter_map(|e| e.made_by_group) {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id) {
                if let Some(g) = roster_store::groups::get(conn, id).await? {
                    slot.insert(g.name);
                }
            }
        }
        Ok(names)
    }

    /// A user's enrollments.
    pub async fn user_enrollments(&self, actor: &Actor, user_id: &str) -> AppResult<Vec<EnrollmentView>> {
        let id = parse_id("user", user_id)?;
        let mut conn = self.store.read().await?;
        Reach::of(&mut conn, actor).await?.user(&mut conn, id).await?;
        let codes = self.course_codes(&mut conn).await?;
        let rows = roster_store::enrollments::of_user(&mut conn, id).await?;
        let makers = self.makers(&mut conn, &rows).await?;
        Ok(rows.into_iter().map(|e| EnrollmentView::new(e, &codes, &makers)).collect())
    }

    /// The latest enrollments enrollment rules made or removed for a user, newest
    /// first, with their cause.
    pub async fn user_enrollment_events(&self, actor: &Actor, user_id: &str) -> AppResult<Vec<EnrollmentEventView>> {
        let id = parse_id("user", user_id)?;
        let mut conn = self.store.read().await?;
        Reach::of(&mut conn, actor).await?.user(&mut conn, id).await?;
        let codes = self.course_codes(&mut conn).await?;
        let events = roster_store::enrollment_rules::events_of_user(&mut conn, id, EVENTS_SHOWN).await?;
        let mut names: HashMap<i64, String> = HashMap::new();
        for group in events.iter().filter_map(|e| e.group_id) {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(group) {
                if let Some(g) = roster_store::groups::get(&mut conn, group).await? {
                    slot.insert(g.name);
                }
            }
        }
        Ok(events
            .into_iter()
            .map(|e| EnrollmentEventView {
                course: codes.get(&e.course_id).cloned().unwrap_or_else(|| format!("#{}", e.course_id)),
                change: e.change,
                group: e.group_id.map(|g| GroupRef {
                    id: g.to_string(),
                    name: names.get(&g).cloned().unwrap_or_else(|| format!("#{g}")),
                }),
                at: crate::clock::rfc3339(e.at),
                actor: e.actor,
                cause: e.cause,
            })
            .collect())
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
        let makers = self.makers(&mut conn, &rows.items).await?;
        Ok(List::from_page(rows, |e| EnrollmentView::new(e, &codes, &makers)))
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
                due_at: previous.as_ref().and_then(|p| p.due_at),
                made_by_group: previous.as_ref().and_then(|p| p.made_by_group),
            };
            tx.set_enrollment(&enrollment, &cause).await?;
            views.push(enrollment);
        }
        let makers = self.makers(tx.read(), &views).await?;
        tx.commit().await?;
        let views = views.into_iter().map(|e| EnrollmentView::new(e, &codes, &makers)).collect();
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
