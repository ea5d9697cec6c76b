//! The reference evaluator: DESIGN §2 for one user and one rule, as plainly as it can
//! be written, with no index and nothing shared with the engine.

use chrono::NaiveDate;
use roster_domain::rule::{regex_for, Comparison, Condition, CourseStatus, Op, Rule, Subject, Value};
use roster_domain::{FieldValue, UserStatus};

use crate::model::{Group, Model};

/// A user's value of a subject.
#[derive(Debug, Clone)]
enum Actual {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    YesNo(bool),
    Status(UserStatus),
    Branch(i64),
    Course(CourseStatus),
}

fn lower(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// Whether the user is a member of the group.
pub fn is_member(model: &Model, user: i64, group: i64, today: NaiveDate) -> bool {
    match &model.groups[&group] {
        Group::Manual { members, .. } => members.contains(&user),
        Group::Automatic { definition, .. } => {
            if definition.exclude.contains(&user) {
                return false;
            }
            if definition.include.contains(&user) {
                return true;
            }
            let suspended = model.users[&user].status == UserStatus::Suspended;
            rule_holds(model, user, &definition.rule, today) && (definition.allow_suspended || !suspended)
        }
    }
}

/// Whether the rule holds for the user.
pub fn rule_holds(model: &Model, user: i64, rule: &Rule, today: NaiveDate) -> bool {
    match rule {
        Rule::And(members) => members.iter().all(|m| rule_holds(model, user, m, today)),
        Rule::Or(members) => members.iter().any(|m| rule_holds(model, user, m, today)),
        Rule::Not(inner) => !rule_holds(model, user, inner, today),
        Rule::Condition(c) => condition_holds(model, user, c, today),
    }
}

/// Whether one condition holds for the user.
pub fn condition_holds(model: &Model, user: i64, condition: &Condition, today: NaiveDate) -> bool {
    match condition {
        Condition::MemberOf(group) => is_member(model, user, group.id.unwrap(), today),
        Condition::Compare(comparison) => compare(model, user, comparison, today),
    }
}

fn compare(model: &Model, user: i64, c: &Comparison, today: NaiveDate) -> bool {
    let actual = value_of(model, user, &c.subject);
    match c.op {
        Op::IsEmpty => return actual.is_none(),
        Op::IsNotEmpty => return actual.is_some(),
        op if op.is_negated() => {
            let positive = Comparison { subject: c.subject.clone(), op: op.positive(), values: c.values.clone() };
            return !compare(model, user, &positive, today);
        }
        _ => {}
    }
    let Some(actual) = actual else {
        return false;
    };
    match actual {
        Actual::Text(text) => match c.op {
            Op::Matches => match &c.values[0] {
                Value::Text(pattern) => regex_for(pattern).unwrap().is_match(&text),
                _ => false,
            },
            op => c.values.iter().any(|v| match v {
                Value::Text(needle) => {
                    let (text, needle) = (lower(&text), lower(needle));
                    match op {
                        Op::Eq | Op::In => text == needle,
                        Op::Contains => text.contains(&needle),
                        Op::StartsWith => text.starts_with(&needle),
                        Op::EndsWith => text.ends_with(&needle),
                        _ => panic!("{op:?} on text"),
                    }
                }
                _ => false,
            }),
        },
        Actual::Number(n) => {
            let values: Vec<f64> = c
                .values
                .iter()
                .map(|v| match v {
                    Value::Number(x) => *x,
                    other => panic!("{other:?} for a number"),
                })
                .collect();
            match c.op {
                Op::Eq | Op::In => values.contains(&n),
                Op::Lt => n < values[0],
                Op::Le => n <= values[0],
                Op::Gt => n > values[0],
                Op::Ge => n >= values[0],
                Op::Between => values[0] <= n && n <= values[1],
                op => panic!("{op:?} on a number"),
            }
        }
        Actual::Date(d) => {
            let dates: Vec<Option<NaiveDate>> = c
                .values
                .iter()
                .map(|v| match v {
                    Value::Date(x) => Some(*x),
                    Value::Relative(r) => r.on(today),
                    other => panic!("{other:?} for a date"),
                })
                .collect();
            let Some(dates) = dates.into_iter().collect::<Option<Vec<_>>>() else {
                return false;
            };
            match c.op {
                Op::Eq => d == dates[0],
                Op::Lt => d < dates[0],
                Op::Le => d <= dates[0],
                Op::Gt => d > dates[0],
                Op::Ge => d >= dates[0],
                Op::Between => dates[0] <= d && d <= dates[1],
                op => panic!("{op:?} on a date"),
            }
        }
        Actual::YesNo(b) => c.values.iter().any(|v| matches!(v, Value::YesNo(x) if *x == b)),
        Actual::Status(s) => c.values.iter().any(|v| matches!(v, Value::Status(x) if *x == s)),
        Actual::Course(s) => c.values.iter().any(|v| matches!(v, Value::CourseStatus(x) if *x == s)),
        Actual::Branch(id) => c.values.iter().any(|v| {
            let Value::Text(code) = v else {
                return false;
            };
            match c.op {
                Op::Eq | Op::In => branch_code(model, id).is_some_and(|b| lower(&b) == lower(code)),
                Op::Under => {
                    let mut at = Some(id);
                    while let Some(b) = at {
                        if branch_code(model, b).is_some_and(|x| lower(&x) == lower(code)) {
                            return true;
                        }
                        at = model.catalog.branches.iter().find(|x| x.id == b).and_then(|x| x.parent_id);
                    }
                    false
                }
                op => panic!("{op:?} on a branch"),
            }
        }),
    }
}

fn branch_code(model: &Model, id: i64) -> Option<String> {
    model.catalog.branches.iter().find(|b| b.id == id).map(|b| b.code.clone())
}

fn course_id(model: &Model, code: &str) -> i64 {
    model.catalog.courses.iter().find(|c| lower(&c.code) == lower(code)).unwrap().id
}

fn value_of(model: &Model, user: i64, subject: &Subject) -> Option<Actual> {
    let u = &model.users[&user];
    let text = |s: Option<&String>| s.filter(|s| !s.is_empty()).map(|s| Actual::Text(s.clone()));
    match subject {
        Subject::Username => text(Some(&u.username)),
        Subject::Email => text(Some(&u.email)),
        Subject::FirstName => text(u.first_name.as_ref()),
        Subject::LastName => text(u.last_name.as_ref()),
        Subject::Language => text(u.language.as_ref()),
        Subject::Timezone => text(u.timezone.as_ref()),
        Subject::Status => Some(Actual::Status(u.status)),
        Subject::CreatedAt => Some(Actual::Date(u.created_on)),
        Subject::LastLoginAt => u.last_login_on.map(Actual::Date),
        Subject::Branch => u.branch_id.map(Actual::Branch),
        Subject::Field { field } => {
            let value = u.fields.iter().find(|(code, _)| lower(code) == lower(field))?.1;
            match value {
                FieldValue::Text(s) => text(Some(s)),
                FieldValue::Number(n) => Some(Actual::Number(*n)),
                FieldValue::Date(d) => Some(Actual::Date(*d)),
                FieldValue::YesNo(b) => Some(Actual::YesNo(*b)),
            }
        }
        Subject::Course { course } => {
            let e = model.enrollments.get(&(user, course_id(model, course)));
            Some(Actual::Course(CourseStatus::of(e.map(|e| e.status))))
        }
        Subject::CourseEnrolledAt { course } => {
            model.enrollments.get(&(user, course_id(model, course))).map(|e| Actual::Date(e.enrolled_on))
        }
        Subject::CourseCompletedAt { course } => {
            model.enrollments.get(&(user, course_id(model, course))).and_then(|e| e.completed_on).map(Actual::Date)
        }
    }
}
