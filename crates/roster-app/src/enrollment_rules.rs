//! Enrollment rules: a group enrolls its members in courses when they join (DESIGN §1,
//! §3). Reading them is open to whoever sees the group; replacing them to whoever
//! manages it. They act inside every write transaction (see `transaction::enrolling`).

use roaring::RoaringBitmap;
use roster_domain::{EnrollmentRule, Group, MAX_DUE_DAYS};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::live::ImageRead;
use crate::reach::Reach;
use crate::transaction::LiveTx;
use crate::views::{EnrollmentRuleView, EnrollmentRulesView};
use crate::{Actor, App, AppError, AppResult};

/// The most enrollment rules one group may have.
pub const MAX_ENROLLMENT_RULES: usize = 100;

/// How many users a preview names.
const SAMPLES: usize = 10;

/// One enrollment rule as a client sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentRuleInput {
    /// The course's code.
    pub course: String,
    /// A due date this many days after the enrollment (0 to 3650); absent: none.
    #[serde(default)]
    pub due_days: Option<i64>,
    /// Whether leaving the group removes an enrollment the rule made that has not
    /// started; default `false`.
    #[serde(default)]
    pub unenroll_on_leave: bool,
}

impl App {
    /// A group's enrollment rules.
    pub async fn enrollment_rules(&self, _actor: &Actor, id: &str) -> AppResult<EnrollmentRulesView> {
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        let rules = roster_store::enrollment_rules::of_group(&mut conn, group.id).await?;
        let courses = course_names(&mut conn).await?;
        Ok(EnrollmentRulesView { rules: views(&rules, &courses), enrolled: None, users: None, samples: None })
    }

    /// Replaces a group's enrollment rules; they apply at once to its current members,
    /// and the answer counts the enrollments that made (of the users the caller sees).
    pub async fn set_enrollment_rules(
        &self,
        actor: &Actor,
        id: &str,
        input: Vec<EnrollmentRuleInput>,
    ) -> AppResult<EnrollmentRulesView> {
        let Proposed { mut tx, group, rules, enrolled, users } = self.propose(actor, id, &input).await?;
        let cause = self.cause(actor, format!("enrollment rules of \"{}\" edited by {}", group.name, actor.name));
        tx.set_enrollment_rules(group.id, &rules, &cause).await?;
        let courses = course_names(tx.read()).await?;
        tx.commit().await?;
        Ok(EnrollmentRulesView {
            rules: views(&rules, &courses),
            enrolled: Some(enrolled),
            users: Some(users.len()),
            samples: None,
        })
    }

    /// What saving these enrollment rules would do, without saving them: how many of the
    /// group's current members would be enrolled, with samples (of the users the caller
    /// sees). Checked as saving checks them.
    pub async fn preview_enrollment_rules(
        &self,
        actor: &Actor,
        id: &str,
        input: Vec<EnrollmentRuleInput>,
    ) -> AppResult<EnrollmentRulesView> {
        // The last committed image: a preview never waits for a write of groups.
        let mut image = self.snapshot().await?;
        let (_, rules, enrolled, users) = self.check_proposal(&mut image, actor, id, &input).await?;
        let ids: Vec<i64> = users.iter().take(SAMPLES).map(i64::from).collect();
        let names = roster_store::users::usernames(image.read(), &ids).await?;
        let samples = ids.iter().filter_map(|id| names.get(id).cloned()).collect();
        let courses = course_names(image.read()).await?;
        Ok(EnrollmentRulesView {
            rules: views(&rules, &courses),
            enrolled: Some(enrolled),
            users: Some(users.len()),
            samples: Some(samples),
        })
    }
}

/// Enrollment rules proposed for a group, checked, in the transaction that may save them.
struct Proposed {
    tx: LiveTx,
    group: Group,
    rules: Vec<EnrollmentRule>,
    /// Enrollments they would make (of the users the caller reaches).
    enrolled: u64,
    /// Members they would enroll (of the users the caller reaches).
    users: RoaringBitmap,
}

impl App {
    /// Opens the write transaction, checks that `actor` manages the group and that the
    /// rules are sound, and counts what they would do.
    async fn propose(&self, actor: &Actor, id: &str, input: &[EnrollmentRuleInput]) -> AppResult<Proposed> {
        let mut tx = self.begin_copy().await?;
        let (group, rules, enrolled, users) = self.check_proposal(&mut tx, actor, id, input).await?;
        Ok(Proposed { tx, group, rules, enrolled, users })
    }

    /// Checks that `actor` manages the group and that the rules are sound; the group,
    /// the rules, and what they would do (see [`Proposed`]).
    async fn check_proposal(
        &self,
        image: &mut impl ImageRead,
        actor: &Actor,
        id: &str,
        input: &[EnrollmentRuleInput],
    ) -> AppResult<(Group, Vec<EnrollmentRule>, u64, RoaringBitmap)> {
        let group = self.group(image.read(), id).await?;
        let reach = Reach::of(image.read(), actor).await?;
        reach.manage(&group)?;
        let rules = checked(image, &group, input).await?;
        let (enrolled, users) = would_enroll(image, &reach, &group, &rules).await?;
        Ok((group, rules, enrolled, users))
    }
}

/// The rules as sent, checked: each course exists (422 naming the item), due dates are
/// within bounds, no course is listed twice, and no loop that could flip forever.
async fn checked(
    tx: &mut impl ImageRead,
    group: &Group,
    input: &[EnrollmentRuleInput],
) -> AppResult<Vec<EnrollmentRule>> {
    if input.len() > MAX_ENROLLMENT_RULES {
        return Err(AppError::invalid(
            "enrollment_rules",
            format!("a group has at most {MAX_ENROLLMENT_RULES} enrollment rules"),
        ));
    }
    let mut rules: Vec<EnrollmentRule> = Vec::with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let code = item.course.trim();
        let course = roster_store::courses::by_code(tx.read(), code)
            .await?
            .ok_or_else(|| AppError::invalid(format!("[{i}].course"), format!("no course has the code \"{code}\"")))?;
        if rules.iter().any(|r| r.course_id == course.id) {
            return Err(AppError::invalid(
                format!("[{i}].course"),
                format!("course \"{}\" is listed twice; a group enrolls in a course once", course.code),
            ));
        }
        let due_days = match item.due_days {
            None => None,
            Some(d) => Some(u32::try_from(d).ok().filter(|d| *d <= MAX_DUE_DAYS).ok_or_else(|| {
                AppError::invalid(
                    format!("[{i}].due_days"),
                    format!("due_days is a number of days from 0 to {MAX_DUE_DAYS}"),
                )
            })?),
        };
        rules.push(EnrollmentRule { course_id: course.id, due_days, unenroll_on_leave: item.unenroll_on_leave });
    }
    if let Some(steps) = tx.engine(|e| e.enrollment_loop(group.id, None, Some(&rules)))? {
        return Err(loop_error("enrollment_rules", &steps));
    }
    Ok(rules)
}

/// The 422 for a loop of rules and enrollment rules that could flip forever.
pub(crate) fn loop_error(field: &str, steps: &[String]) -> AppError {
    AppError::invalid(
        field,
        format!(
            "this would close a loop that could enroll and unenroll its members forever: {} \
             (a group enrolls its members in a course, removing it on leave, that a rule on the way reads)",
            steps.join(" → ")
        ),
    )
}

/// How many of the group's current members these rules would enroll (of those the
/// caller reaches), and who.
async fn would_enroll(
    tx: &mut impl ImageRead,
    reach: &Reach,
    group: &Group,
    rules: &[EnrollmentRule],
) -> AppResult<(u64, RoaringBitmap)> {
    let population = reach.population(tx.read()).await?;
    tx.engine(|e| {
        let members = e.members(group.id).cloned().unwrap_or_default();
        let mut users = RoaringBitmap::new();
        let mut count = 0;
        for rule in rules {
            let mut enrolled = &members - &e.enrolled_in(rule.course_id);
            if let Some(reached) = &population {
                enrolled &= reached;
            }
            count += enrolled.len();
            users |= enrolled;
        }
        (count, users)
    })
}

async fn course_names(conn: &mut roster_store::AnyConnection) -> AppResult<HashMap<i64, (String, String)>> {
    Ok(roster_store::courses::all(conn).await?.into_iter().map(|c| (c.id, (c.code, c.name))).collect())
}

fn views(rules: &[EnrollmentRule], courses: &HashMap<i64, (String, String)>) -> Vec<EnrollmentRuleView> {
    rules
        .iter()
        .map(|r| {
            let (code, name) = courses.get(&r.course_id).cloned().unwrap_or_default();
            EnrollmentRuleView {
                course: code,
                course_name: name,
                due_days: r.due_days,
                unenroll_on_leave: r.unenroll_on_leave,
            }
        })
        .collect()
}
