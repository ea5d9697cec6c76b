//! Enrollment rules acting inside the write transaction. Every write that moves
//! members of a group with enrollment rules leaves a [`Moved`] behind; before the
//! commit, [`LiveTx::settle`] enrolls those who joined, removes the enrollments those
//! who left may lose, feeds the enrollments back into the rules that read course
//! status, and repeats with what those moved, until nothing moves. When no group has
//! an enrollment rule, nothing is left behind and nothing is asked of the database.

use roaring::RoaringBitmap;
use roster_domain::{Enrollment, EnrollmentRule, EnrollmentStatus};
use roster_engine::UserChange;
use roster_store::changes::Touched;
use roster_store::enrollment_rules::EnrollmentChange;
use roster_store::feed::Entry;

use super::{Cause, LiveTx, PER_USER_LIMIT};
use crate::live::{self, engine_error};
use crate::{AppError, AppResult};

/// More rounds than any settling chain needs: rules and enrollment rules that feed
/// themselves forever are refused when saved, so reaching this is a loop that got
/// past that check, and the transaction is rolled back.
const MAX_ROUNDS: usize = 32;

const DAY_MS: i64 = 86_400_000;

/// Members of a group with enrollment rules who joined or left, waiting for the rules.
#[derive(Debug)]
pub(crate) struct Moved {
    group: i64,
    /// The group's name, for the cause.
    name: String,
    /// The group's rules when the members moved (a deleted group's are gone after).
    rules: Vec<EnrollmentRule>,
    joined: RoaringBitmap,
    left: RoaringBitmap,
    /// Who made the change that moved them.
    actor: String,
}

/// One enrollment a rule made or removed, to feed back into the rules.
struct Acted {
    change: UserChange,
    cause: Cause,
    course: i64,
}

impl LiveTx {
    /// Records that members of `group` moved, when it has enrollment rules.
    pub(super) fn members_moved(
        &mut self,
        group: i64,
        joined: impl IntoIterator<Item = u32>,
        left: impl IntoIterator<Item = u32>,
        cause: &Cause,
    ) -> AppResult<()> {
        let rules = self.engine(|e| {
            let rules = e.enrollment_rules(group);
            (!rules.is_empty()).then(|| (rules.to_vec(), e.group_name_of(group).unwrap_or_default().to_owned()))
        })?;
        let Some((rules, name)) = rules else { return Ok(()) };
        let joined: RoaringBitmap = joined.into_iter().collect();
        let left: RoaringBitmap = left.into_iter().collect();
        if joined.is_empty() && left.is_empty() {
            return Ok(());
        }
        self.moved.push(Moved { group, name, rules, joined, left, actor: cause.actor.clone() });
        Ok(())
    }

    /// Whether any group has an enrollment rule (so moves are worth recording).
    pub(super) fn enrolling(&self) -> AppResult<bool> {
        self.engine(roster_engine::Engine::has_enrollment_rules)
    }

    /// Replaces a group's enrollment rules; they apply at once to its current members.
    pub(crate) async fn set_enrollment_rules(
        &mut self,
        group: i64,
        rules: &[EnrollmentRule],
        cause: &Cause,
    ) -> AppResult<()> {
        roster_store::enrollment_rules::replace(&mut self.tx, group, rules).await?;
        roster_store::groups::touch(&mut self.tx, group, cause.at).await?;
        self.touch(Touched::Group(group));
        self.record("group.changed", Entry::group(group), Some(cause));
        self.engine_mut(|e| e.set_enrollment_rules(group, rules.to_vec()))?;
        let members = self.engine(|e| e.members(group).cloned().unwrap_or_default())?;
        self.members_moved(group, members, [], cause)
    }

    /// Lets the enrollment rules act on every move left behind, and on every move
    /// that brings, until nothing moves.
    pub(super) async fn settle(&mut self) -> AppResult<()> {
        let mut rounds = 0;
        while !self.moved.is_empty() {
            rounds += 1;
            if rounds > MAX_ROUNDS {
                return Err(AppError::conflict(
                    "enrollment_rules",
                    format!("the enrollment rules did not settle after {MAX_ROUNDS} rounds; nothing was changed"),
                ));
            }
            let moved = std::mem::take(&mut self.moved);
            let mut acted = Vec::new();
            for m in &moved {
                let cause =
                    Cause { actor: m.actor.clone(), why: format!("enrollment rule of \"{}\"", m.name), at: self.now };
                for rule in &m.rules {
                    self.enroll(m, rule, &cause, &mut acted).await?;
                    if rule.unenroll_on_leave {
                        self.unenroll(m, rule, &cause, &mut acted).await?;
                    }
                }
            }
            self.feed_back(acted).await?;
        }
        Ok(())
    }

    /// Enrolls those who joined (and are still members) and have no enrollment in the
    /// rule's course.
    async fn enroll(
        &mut self,
        m: &Moved,
        rule: &EnrollmentRule,
        cause: &Cause,
        acted: &mut Vec<Acted>,
    ) -> AppResult<()> {
        let users = self.engine(|e| {
            let mut users = m.joined.clone();
            users &= e.members(m.group).cloned().unwrap_or_default();
            users -= e.enrolled_in(rule.course_id);
            users
        })?;
        if users.is_empty() {
            return Ok(());
        }
        let due_at = rule.due_days.map(|d| self.now + i64::from(d) * DAY_MS);
        let rows: Vec<Enrollment> = users
            .iter()
            .map(|u| Enrollment {
                user_id: i64::from(u),
                course_id: rule.course_id,
                status: EnrollmentStatus::Enrolled,
                enrolled_at: self.now,
                completed_at: None,
                due_at,
                made_by_group: Some(m.group),
            })
            .collect();
        roster_store::enrollments::insert_many(&mut self.tx, &rows).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
        roster_store::enrollment_rules::record(
            &mut self.tx,
            m.group,
            rule.course_id,
            EnrollmentChange::Enrolled,
            &ids,
            cause,
        )
        .await?;
        let entry = Entry { group: Some(m.group), ..Entry::enrollment(rule.course_id, ids) };
        self.record("enrollment.set", entry, Some(cause));
        for row in &rows {
            let (course, record) = live::enrollment_record(row, &self.live);
            let change = self.engine_mut(|e| e.set_enrollment(row.user_id, course, &record))?.map_err(engine_error)?;
            self.touch(Touched::User(row.user_id));
            acted.push(Acted { change, cause: cause.clone(), course });
        }
        Ok(())
    }

    /// Removes the not-yet-started enrollments a rule made of those who left (and are
    /// still out) when no group they are still in enrolls them in the course.
    async fn unenroll(
        &mut self,
        m: &Moved,
        rule: &EnrollmentRule,
        cause: &Cause,
        acted: &mut Vec<Acted>,
    ) -> AppResult<()> {
        let candidates = self.engine(|e| {
            let mut users = m.left.clone();
            users -= e.members(m.group).cloned().unwrap_or_default();
            for other in e.groups_enrolling_in(rule.course_id) {
                if let Some(members) = e.members(other) {
                    users -= members;
                }
            }
            users
                .iter()
                .map(i64::from)
                .filter(|&u| e.enrollment_status(u, rule.course_id) == Some(EnrollmentStatus::Enrolled))
                .collect::<Vec<i64>>()
        })?;
        if candidates.is_empty() {
            return Ok(());
        }
        let users = roster_store::enrollment_rules::removable(&mut self.tx, rule.course_id, &candidates).await?;
        if users.is_empty() {
            return Ok(());
        }
        roster_store::enrollment_rules::remove(&mut self.tx, rule.course_id, &users).await?;
        roster_store::enrollment_rules::record(
            &mut self.tx,
            m.group,
            rule.course_id,
            EnrollmentChange::Removed,
            &users,
            cause,
        )
        .await?;
        let entry = Entry { group: Some(m.group), ..Entry::enrollment(rule.course_id, users.clone()) };
        self.record("enrollment.removed", entry, Some(cause));
        for &user in &users {
            let change = self.engine_mut(|e| e.clear_enrollment(user, rule.course_id))?.map_err(engine_error)?;
            self.touch(Touched::User(user));
            acted.push(Acted { change, cause: cause.clone(), course: rule.course_id });
        }
        Ok(())
    }

    /// The rules that read course status follow the enrollments made and removed:
    /// user by user when they are few, otherwise the groups reading those courses for
    /// everyone at once.
    async fn feed_back(&mut self, acted: Vec<Acted>) -> AppResult<()> {
        if acted.len() <= PER_USER_LIMIT {
            for a in &acted {
                self.reevaluate_change(&a.change, &a.cause).await?;
            }
            return Ok(());
        }
        let mut courses: Vec<i64> = acted.iter().map(|a| a.course).collect();
        courses.sort_unstable();
        courses.dedup();
        let readers = self.engine(|e| e.readers_of_courses(&courses))?;
        if let (false, Some(first)) = (readers.is_empty(), acted.first()) {
            self.reevaluate_groups(&readers, &first.cause).await?;
        }
        Ok(())
    }
}
