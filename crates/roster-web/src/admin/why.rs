//! "Why?" in words: an explanation of the engine (each condition, whether it holds,
//! the user's value) read out for an administrator, condition by condition, with the
//! user's own values — "Department is Sales — Ann Lee's department is Sales ✓" —
//! and, for a `member_of` condition, why the user is in or out of that group too.
//!
//! Only the user asked about is named, and `App::explain` answers only for a user the
//! caller reaches (404 otherwise): a training admin learns nothing of anyone else.

use roster_app::{App, AppError, Explanation};
use roster_domain::rule::{Comparison, Condition, DateUnit, Op, Subject, Value as RuleValue};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use super::session::Admin;

/// How deep "why" follows `member_of` into other groups.
const MAX_NESTING: usize = 3;

/// One condition, in words.
#[derive(Debug)]
pub(crate) struct WhyLine {
    /// What the rule asks, in words ("Department is Sales").
    pub condition: String,
    /// The condition as the rule's text has it, for whoever knows the syntax.
    pub code: String,
    /// What the user has, in words ("Ann Lee's department is Sales").
    pub actual: String,
    /// Whether the user meets what the rule asks (a condition under `not` is met when
    /// it does not hold).
    pub met: bool,
    /// How many `member_of` steps down from the group asked about (0: its own rule).
    pub depth: usize,
    /// For a line of a nested group: that group's verdict.
    pub verdict: Option<String>,
}

/// "Why?" for one user, in words.
#[derive(Debug)]
pub(crate) struct Why {
    pub user_id: String,
    pub username: String,
    pub member: bool,
    /// "because the rule holds", "because Ann Lee is on the exclude list"...
    pub decided_by: String,
    pub lines: Vec<WhyLine>,
    /// What suspension and the include and exclude lists did, in sentences.
    pub notes: Vec<String>,
}

/// The names a condition's words need: fields, courses, branches.
struct Names {
    person: String,
    fields: HashMap<String, String>,
    courses: HashMap<String, String>,
    /// Branch code → (name, codes from the root down to it).
    branches: HashMap<String, (String, Vec<String>)>,
}

impl Names {
    fn field(&self, code: &str) -> String {
        self.fields.get(code).cloned().unwrap_or_else(|| code.to_owned())
    }

    fn course(&self, code: &str) -> String {
        self.courses.get(&code.to_lowercase()).map_or_else(|| code.to_owned(), |name| format!("{name} ({code})"))
    }

    fn branch(&self, code: &str) -> String {
        self.branches.get(code).map_or_else(|| code.to_owned(), |(name, _)| name.clone())
    }
}

/// Explains `user`'s membership of `group` in words.
pub(crate) async fn explain(app: &App, admin: &Admin, group: &str, user: &str) -> Result<Why, AppError> {
    let explanation = app.explain(&admin.actor, group, user).await?;
    let label = app.user_labels(&admin.actor, &[user.to_owned()]).await?.remove(user);
    let username = label.as_ref().map_or_else(|| format!("user {user}"), |u| u.username.clone());
    let person = label.map(|u| u.full_name).filter(|n| !n.trim().is_empty()).unwrap_or_else(|| username.clone());
    let mut names = names(app, admin, person).await?;
    let mut lines = Vec::new();
    words(app, admin, &mut names, &explanation, user, 0, &mut lines).await;
    let who = &names.person;
    let decided_by = match serde_json::to_value(explanation.decided_by).ok().as_ref().and_then(Value::as_str) {
        Some("suspended") => format!("{who} is suspended and this group does not take suspended users"),
        Some("include") => format!("{who} is on the include list"),
        Some("exclude") => format!("{who} is on the exclude list"),
        _ if explanation.rule_holds => "the rule holds".to_owned(),
        _ => "the rule does not hold".to_owned(),
    };
    Ok(Why {
        user_id: user.to_owned(),
        username,
        member: explanation.member,
        decided_by,
        lines,
        notes: notes(who, &explanation),
    })
}

async fn names(app: &App, admin: &Admin, person: String) -> Result<Names, AppError> {
    let fields = app.list_fields(&admin.actor).await?.into_iter().map(|f| (f.code, f.name)).collect();
    let branches = app.list_branches(&admin.actor).await?.into_iter().map(|b| (b.code, (b.name, b.path))).collect();
    Ok(Names { person, fields, courses: HashMap::new(), branches })
}

/// The lines of one explanation, and below each `member_of` line the lines of that
/// group's own explanation for the same user (boxed: it calls itself).
fn words<'a>(
    app: &'a App,
    admin: &'a Admin,
    names: &'a mut Names,
    explanation: &'a Explanation,
    user: &'a str,
    depth: usize,
    out: &'a mut Vec<WhyLine>,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        let codes: Vec<String> = explanation
            .conditions
            .iter()
            .filter_map(|c| match &c.written {
                Condition::Compare(Comparison {
                    subject:
                        Subject::Course { course }
                        | Subject::CourseEnrolledAt { course }
                        | Subject::CourseCompletedAt { course },
                    ..
                }) => Some(course.clone()),
                _ => None,
            })
            .collect();
        if !codes.is_empty() {
            if let Ok(courses) = app.courses_by_codes(&admin.actor, &codes).await {
                names.courses.extend(courses.into_iter().map(|c| (c.code.to_lowercase(), c.name)));
            }
        }
        for c in &explanation.conditions {
            let met = c.holds != c.negated;
            let (condition, actual) = condition_words(names, &c.written, &c.actual);
            let condition = if c.negated { format!("Not: {condition}") } else { condition };
            out.push(WhyLine { condition, code: c.condition.clone(), actual, met, depth, verdict: None });
            let Condition::MemberOf(group) = &c.written else { continue };
            let Some(id) = group.id.filter(|_| depth + 1 < MAX_NESTING) else { continue };
            // A manual group, or one without a rule, has no conditions to show.
            let Ok(nested) = app.explain(&admin.actor, &id.to_string(), user).await else { continue };
            if let Some(line) = out.last_mut() {
                line.verdict = Some(format!(
                    "{} is {}a member of {}: {}",
                    names.person,
                    if nested.member { "" } else { "not " },
                    group.name,
                    nested_reason(&nested)
                ));
            }
            words(app, admin, &mut *names, &nested, user, depth + 1, &mut *out).await;
        }
    })
}

fn nested_reason(e: &Explanation) -> &'static str {
    match serde_json::to_value(e.decided_by).ok().as_ref().and_then(Value::as_str) {
        Some("suspended") => "suspended, and that group does not take suspended users",
        Some("include") => "on its include list",
        Some("exclude") => "on its exclude list",
        _ if e.rule_holds => "its rule holds",
        _ => "its rule does not hold",
    }
}

/// What suspension and the lists did, in sentences.
fn notes(who: &str, e: &Explanation) -> Vec<String> {
    let mut notes = Vec::new();
    if e.excluded {
        notes.push(format!("{who} is on the exclude list: never a member, whatever the rule says."));
    }
    if e.included {
        notes.push(format!("{who} is on the include list: a member whatever the rule says, unless excluded."));
    }
    if e.suspended {
        notes.push(if e.allow_suspended {
            format!("{who} is suspended; this group takes suspended users who match.")
        } else {
            format!("{who} is suspended; this group does not take suspended users.")
        });
    }
    notes
}

/// A condition and the user's value of its subject, in words.
fn condition_words(names: &Names, condition: &Condition, actual: &Value) -> (String, String) {
    let who = &names.person;
    match condition {
        Condition::MemberOf(group) => {
            let is = if actual.as_bool() == Some(true) { "is" } else { "is not" };
            (format!("Member of {}", group.name), format!("{who} {is} a member of {}", group.name))
        }
        Condition::Compare(c) => {
            let subject = subject_words(names, &c.subject);
            let condition = format!("{subject} {}", op_words(names, c));
            let actual = match &c.subject {
                Subject::Branch => branch_actual(names, c, actual),
                Subject::Status => format!("{who} is {}", shown(actual)),
                _ => format!("{who}'s {} is {}", lowercase_first(&subject), shown_value(&c.subject, actual)),
            };
            (condition, actual)
        }
    }
}

fn subject_words(names: &Names, subject: &Subject) -> String {
    match subject {
        Subject::Username => "Username".into(),
        Subject::Email => "Email".into(),
        Subject::FirstName => "First name".into(),
        Subject::LastName => "Last name".into(),
        Subject::Status => "Status".into(),
        Subject::Language => "Language".into(),
        Subject::Timezone => "Time zone".into(),
        Subject::CreatedAt => "Date created".into(),
        Subject::LastLoginAt => "Last login".into(),
        Subject::Branch => "Branch".into(),
        Subject::Field { field } => names.field(field),
        Subject::Course { course } => format!("Status in {}", names.course(course)),
        Subject::CourseEnrolledAt { course } => format!("Enrollment date in {}", names.course(course)),
        Subject::CourseCompletedAt { course } => format!("Completion date in {}", names.course(course)),
    }
}

/// Only the first letter lowered, so a field named "SAP ID" keeps its capitals
/// after it: "Ann's sAP ID" would be worse than "Ann's SAP ID".
fn lowercase_first(subject: &str) -> String {
    let mut chars = subject.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if !second.is_uppercase() => {
            first.to_lowercase().chain(subject.chars().skip(1)).collect()
        }
        _ => subject.to_owned(),
    }
}

fn op_words(names: &Names, c: &Comparison) -> String {
    let dates = matches!(
        c.subject,
        Subject::CreatedAt
            | Subject::LastLoginAt
            | Subject::CourseEnrolledAt { .. }
            | Subject::CourseCompletedAt { .. }
    );
    let value = |v: &RuleValue| match (&c.subject, v) {
        (Subject::Branch, RuleValue::Text(code)) => names.branch(code),
        _ => value_words(v),
    };
    let values: Vec<String> = c.values.iter().map(value).collect();
    let first = values.first().cloned().unwrap_or_default();
    let list = || match values.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => first.clone(),
    };
    match c.op {
        Op::Eq if dates => format!("is on {first}"),
        Op::Ne if dates => format!("is not on {first}"),
        Op::Lt if dates => format!("is before {first}"),
        Op::Le if dates => format!("is on or before {first}"),
        Op::Gt if dates => format!("is after {first}"),
        Op::Ge if dates => format!("is on or after {first}"),
        Op::Eq => format!("is {first}"),
        Op::Ne => format!("is not {first}"),
        Op::Lt => format!("is less than {first}"),
        Op::Le => format!("is at most {first}"),
        Op::Gt => format!("is more than {first}"),
        Op::Ge => format!("is at least {first}"),
        Op::Contains => format!("contains \u{201c}{first}\u{201d}"),
        Op::NotContains => format!("does not contain \u{201c}{first}\u{201d}"),
        Op::StartsWith => format!("starts with \u{201c}{first}\u{201d}"),
        Op::NotStartsWith => format!("does not start with \u{201c}{first}\u{201d}"),
        Op::EndsWith => format!("ends with \u{201c}{first}\u{201d}"),
        Op::NotEndsWith => format!("does not end with \u{201c}{first}\u{201d}"),
        Op::Matches => format!("matches the pattern {first}"),
        Op::NotMatches => format!("does not match the pattern {first}"),
        Op::In => format!("is {}", list()),
        Op::NotIn => format!("is not {}", list().replace(" or ", " nor ")),
        Op::Between => format!("is between {first} and {}", values.get(1).cloned().unwrap_or_default()),
        Op::IsEmpty => "is empty".into(),
        Op::IsNotEmpty => "is not empty".into(),
        Op::Under => format!("is {}", list_under(&values)),
        Op::NotUnder => format!("is not {}", list_under(&values)),
    }
}

fn list_under(values: &[String]) -> String {
    format!("in or under {}", values.join(" or "))
}

fn value_words(v: &RuleValue) -> String {
    match v {
        RuleValue::Date(d) => d.to_string(),
        RuleValue::Relative(r) if r.offset == 0 => "today".into(),
        RuleValue::Relative(r) => {
            let n = r.offset.unsigned_abs();
            let unit = match r.unit {
                DateUnit::Day => "day",
                DateUnit::Week => "week",
                DateUnit::Month => "month",
                DateUnit::Year => "year",
            };
            let plural = if n == 1 { "" } else { "s" };
            format!("{n} {unit}{plural} {}", if r.offset < 0 { "ago" } else { "from now" })
        }
        RuleValue::Status(s) => s.as_str().to_owned(),
        RuleValue::CourseStatus(s) => course_status(s.as_str()),
        RuleValue::YesNo(true) => "yes".into(),
        RuleValue::YesNo(false) => "no".into(),
        RuleValue::Number(n) => n.to_string(),
        RuleValue::Text(t) => t.clone(),
    }
}

fn course_status(s: &str) -> String {
    s.replace('_', " ")
}

/// The user's value as words, for its subject.
fn shown_value(subject: &Subject, actual: &Value) -> String {
    match (subject, actual) {
        (Subject::Course { .. }, Value::String(s)) => course_status(s),
        _ => shown(actual),
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "empty".to_owned(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::String(s) if s.is_empty() => "empty".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// "Ann Lee is in Paris (under Europe)": the user's branch, and which of the
/// condition's branches it lies under.
fn branch_actual(names: &Names, c: &Comparison, actual: &Value) -> String {
    let who = &names.person;
    let Some(code) = actual.as_str() else { return format!("{who} is in no branch") };
    let here = names.branch(code);
    let path = names.branches.get(code).map(|(_, path)| path.as_slice()).unwrap_or_default();
    let above = c.values.iter().find_map(|v| match v {
        RuleValue::Text(asked) if asked != code && path.iter().any(|p| p == asked) => Some(names.branch(asked)),
        _ => None,
    });
    match above {
        Some(above) if matches!(c.op, Op::Under | Op::NotUnder) => format!("{who} is in {here} (under {above})"),
        _ => format!("{who} is in {here}"),
    }
}
