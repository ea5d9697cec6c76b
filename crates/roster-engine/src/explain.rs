//! "Why": for one user and one automatic group, each condition in written order with
//! whether it holds and the user's actual value, the rule's verdict, and what
//! suspension and the include and exclude lists did to it.

use chrono::NaiveDate;
use roster_domain::rule::{Condition, CourseStatus, Subject};
use roster_domain::FieldValue;
use serde::Serialize;
use serde_json::Value;

use crate::columns::date_of;
use crate::engine::Engine;
use crate::error::{user_key, EngineError, GroupName};
use crate::eval_user::UserEvaluator;
use crate::image::{
    column, FieldColumn, Image, CREATED, EMAIL, FIRST_NAME, LANGUAGE, LAST_LOGIN, LAST_NAME, TIMEZONE, USERNAME,
};
use crate::predicate::{day, DateSource};

/// One condition, for one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionExplanation {
    /// The condition in canonical text (`field("department") = "Sales"`).
    pub condition: String,
    /// Whether it holds for the user.
    pub holds: bool,
    /// The user's value of the condition's subject: text, a number, a date
    /// (`"2024-01-31"`), yes/no as `true`/`false`, a status, a branch code, a course
    /// status; for `member_of`, whether they are a member; `null` when missing.
    pub actual: Value,
    /// The condition itself, for whoever words it for a person.
    #[serde(skip)]
    pub written: Condition,
    /// Whether the rule asks that it does not hold (it stands under a `not`).
    #[serde(skip)]
    pub negated: bool,
}

/// What decided the user's membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The rule: a member if it holds.
    Rule,
    /// The rule holds, but the user is suspended and the group does not allow it.
    Suspended,
    /// The user is on the include list (and the rule alone would not make them one).
    Include,
    /// The user is on the exclude list.
    Exclude,
}

/// Why a user is, or is not, a member of an automatic group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The group.
    pub group: GroupName,
    /// The user.
    pub user: i64,
    /// Each condition, in written order.
    pub conditions: Vec<ConditionExplanation>,
    /// Whether the whole rule holds.
    pub rule_holds: bool,
    /// Whether the user is suspended.
    pub suspended: bool,
    /// Whether the group allows suspended users.
    pub allow_suspended: bool,
    /// Whether the user is on the include list.
    pub included: bool,
    /// Whether the user is on the exclude list.
    pub excluded: bool,
    /// What decided.
    pub decided_by: Decision,
    /// Whether the user is a member, evaluated now.
    pub member: bool,
    /// Whether the user is a member as last committed.
    pub currently_member: bool,
}

impl Engine {
    /// Explains a user's membership of an automatic group on `today`; `member_of`
    /// conditions see the user's memberships evaluated now.
    pub fn explain(&self, group: i64, user: i64, today: NaiveDate) -> Result<Explanation, EngineError> {
        let g = self.groups.get(&group).ok_or(EngineError::UnknownGroup(group))?;
        let auto = g.automatic().ok_or(EngineError::NotAutomatic(group))?;
        let id = user_key(user)?;
        let mut evaluator = UserEvaluator::new(self, id, today).ok_or(EngineError::UnknownUser(user))?;
        evaluator.run();
        let slot = self.image.slot(id).ok_or(EngineError::UnknownUser(user))?;
        let conditions = auto
            .rule
            .conditions_with_negation()
            .zip(&auto.compiled.conditions)
            .map(|((condition, negated), &compiled)| ConditionExplanation {
                condition: condition.to_string(),
                holds: evaluator.condition(compiled),
                actual: match condition {
                    Condition::MemberOf(r) => Value::Bool(r.id.is_some_and(|g| evaluator.member_of(g))),
                    Condition::Compare(c) => actual(&self.image, &c.subject, slot, id),
                },
                written: condition.clone(),
                negated,
            })
            .collect();
        let rule_holds = evaluator.holds(&auto.compiled);
        let suspended = self.image.suspended.contains(id);
        let included = auto.include.contains(id);
        let excluded = auto.exclude.contains(id);
        let by_rule = rule_holds && (auto.allow_suspended || !suspended);
        let decided_by = if excluded {
            Decision::Exclude
        } else if included && !by_rule {
            Decision::Include
        } else if rule_holds && !by_rule {
            Decision::Suspended
        } else {
            Decision::Rule
        };
        Ok(Explanation {
            group: g.name(group),
            user,
            conditions,
            rule_holds,
            suspended,
            allow_suspended: auto.allow_suspended,
            included,
            excluded,
            decided_by,
            member: auto.is_member(id, rule_holds, suspended),
            currently_member: g.members.contains(id),
        })
    }
}

/// A user's value of a subject, as JSON.
fn actual(image: &Image, subject: &Subject, slot: u32, user: u32) -> Value {
    let text = |c: u32| {
        column(&image.text, c)
            .and_then(|col| col.value_at(slot).map(|v| Value::from(col.exact(v))))
            .unwrap_or(Value::Null)
    };
    let date = |source: DateSource| {
        day(image, source, slot).and_then(date_of).map_or(Value::Null, |d| Value::from(d.to_string()))
    };
    let course = |code: &str| image.courses.index_of_code(code);
    match subject {
        Subject::Username => text(USERNAME),
        Subject::Email => text(EMAIL),
        Subject::FirstName => text(FIRST_NAME),
        Subject::LastName => text(LAST_NAME),
        Subject::Language => text(LANGUAGE),
        Subject::Timezone => text(TIMEZONE),
        Subject::Status => Value::from(if image.suspended.contains(user) { "suspended" } else { "active" }),
        Subject::CreatedAt => date(DateSource::User(CREATED)),
        Subject::LastLoginAt => date(DateSource::User(LAST_LOGIN)),
        Subject::Branch => {
            image.branches.at(slot).and_then(|b| image.branches.code(b)).map_or(Value::Null, Value::from)
        }
        Subject::Field { field } => match image.field(field).map(|f| f.column) {
            Some(FieldColumn::Text(c)) => text(c),
            Some(FieldColumn::Number(c)) => column(&image.numbers, c)
                .and_then(|col| col.number(slot))
                .map_or(Value::Null, |n| FieldValue::Number(n).to_json()),
            Some(FieldColumn::Date(c)) => date(DateSource::User(c)),
            Some(FieldColumn::YesNo(c)) => {
                column(&image.yes_no, c).and_then(|col| col.value(user)).map_or(Value::Null, Value::Bool)
            }
            None => Value::Null,
        },
        Subject::Course { course: code } => {
            let status = course(code).and_then(|c| image.courses.enrollment(slot, c)).map(|e| e.status);
            Value::from(CourseStatus::of(status).as_str())
        }
        Subject::CourseEnrolledAt { course: code } => {
            course(code).map_or(Value::Null, |c| date(DateSource::Enrolled(c)))
        }
        Subject::CourseCompletedAt { course: code } => {
            course(code).map_or(Value::Null, |c| date(DateSource::Completed(c)))
        }
    }
}
