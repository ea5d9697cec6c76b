//! The rule tree: the one stored form of a rule, read by the engine, printed as text and
//! shown by the builder.
//!
//! # Semantics (for the engine)
//!
//! - Text comparisons (`=`, `!=`, `in`, `contains`, `starts with`, `ends with`) ignore
//!   case; `matches` runs [`regex_for`](super::regex_for)'s case-insensitive,
//!   linear-time regex and holds when it matches anywhere in the value.
//! - A missing value (no first name, no hire date, no branch, never logged in) is empty:
//!   `is empty` holds and every positive comparison (`=`, `<`, `<=`, `>`, `>=`,
//!   `contains`, `starts with`, `ends with`, `matches`, `in`, `between`, `under`) is false.
//! - Each negated operator is exactly `not` of its positive form ([`Op::positive`]):
//!   `!=`, `not contains`, `not in`, `is not empty`, `not under`... hold for a missing
//!   value. `<` and `>=` are not negations of each other: both are false when missing.
//! - `between a and b` includes both ends.
//! - `course("X")` is `not_enrolled` when the user has no enrollment in X
//!   ([`CourseStatus::of`]); its `enrolled_at`/`completed_at` are then missing.
//! - Dates compare by calendar day in the platform's time zone; a [`RelativeDate`] is
//!   resolved against an injected "today" with [`RelativeDate::on`].
//! - `branch under "X"` holds for X and every branch below it.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize, Serializer};

use crate::{EnrollmentStatus, UserStatus};

/// A rule: a boolean expression over a user's fields, branch, enrollments and groups.
///
/// A tree is canonical when every `and`/`or` has at least two members and none of its
/// own kind; the parser, JSON reading and the checker produce only canonical trees, and
/// [`Rule::all`]/[`Rule::any`] build them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Every member holds.
    And(Vec<Rule>),
    /// At least one member holds.
    Or(Vec<Rule>),
    /// The member does not hold.
    Not(Box<Rule>),
    /// A leaf.
    #[serde(untagged)]
    Condition(Condition),
}

/// A leaf of the tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The user is a member of another group.
    MemberOf(GroupRef),
    /// A subject compared with values.
    #[serde(untagged)]
    Compare(Comparison),
}

/// A subject, an operator and the operator's values (none, one, two or a list).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// What is compared.
    #[serde(flatten)]
    pub subject: Subject,
    /// How.
    pub op: Op,
    /// With what: none for `is empty`, two for `between`, a list for `in`, else one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
}

/// A group referenced by `member_of`: the id once checked, and the name as last known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRef {
    /// The group's id; filled by the checker, authoritative once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The group's name, for printing; refreshed with [`Rule::refresh_group_names`].
    pub name: String,
}

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "subject", rename_all = "snake_case")]
pub enum Subject {
    /// The login name.
    Username,
    /// The email address.
    Email,
    /// The given name.
    FirstName,
    /// The family name.
    LastName,
    /// `active` or `suspended`.
    Status,
    /// The language tag.
    Language,
    /// The time zone.
    Timezone,
    /// When the user was created.
    CreatedAt,
    /// When the user last logged in.
    LastLoginAt,
    /// The user's branch (its code).
    Branch,
    /// An additional field, by code once checked.
    Field {
        /// The field's code (or, before checking, its name).
        field: String,
    },
    /// The user's enrollment status in a course.
    Course {
        /// The course's code.
        course: String,
    },
    /// When the user was enrolled in a course.
    CourseEnrolledAt {
        /// The course's code.
        course: String,
    },
    /// When the user completed a course.
    CourseCompletedAt {
        /// The course's code.
        course: String,
    },
}

impl Subject {
    /// The subjects that take no argument.
    pub const STANDARD: [Subject; 10] = [
        Self::Username,
        Self::Email,
        Self::FirstName,
        Self::LastName,
        Self::Status,
        Self::Language,
        Self::Timezone,
        Self::CreatedAt,
        Self::LastLoginAt,
        Self::Branch,
    ];

    /// The name used in JSON (`"subject": ...`) and, for standard subjects, in text.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::Email => "email",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Status => "status",
            Self::Language => "language",
            Self::Timezone => "timezone",
            Self::CreatedAt => "created_at",
            Self::LastLoginAt => "last_login_at",
            Self::Branch => "branch",
            Self::Field { .. } => "field",
            Self::Course { .. } => "course",
            Self::CourseEnrolledAt { .. } => "course_enrolled_at",
            Self::CourseCompletedAt { .. } => "course_completed_at",
        }
    }

    /// The standard subject called `name` (lower case).
    pub fn standard(name: &str) -> Option<Subject> {
        Self::STANDARD.into_iter().find(|s| s.name() == name)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`, exactly `not =`.
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains`
    Contains,
    /// `not contains`
    NotContains,
    /// `starts with`
    StartsWith,
    /// `not starts with`
    NotStartsWith,
    /// `ends with`
    EndsWith,
    /// `not ends with`
    NotEndsWith,
    /// `matches`: a regular expression.
    Matches,
    /// `not matches`
    NotMatches,
    /// `in (a, b, ...)`
    In,
    /// `not in (a, b, ...)`
    NotIn,
    /// `between a and b`, both included.
    Between,
    /// `is empty`
    IsEmpty,
    /// `is not empty`
    IsNotEmpty,
    /// `under "CODE"`: that branch or any below it.
    Under,
    /// `not under "CODE"`
    NotUnder,
}

/// How many values an operator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arity {
    None,
    One,
    Two,
    List,
}

impl Op {
    /// Every operator.
    pub const ALL: [Op; 21] = [
        Self::Eq,
        Self::Ne,
        Self::Lt,
        Self::Le,
        Self::Gt,
        Self::Ge,
        Self::Contains,
        Self::NotContains,
        Self::StartsWith,
        Self::NotStartsWith,
        Self::EndsWith,
        Self::NotEndsWith,
        Self::Matches,
        Self::NotMatches,
        Self::In,
        Self::NotIn,
        Self::Between,
        Self::IsEmpty,
        Self::IsNotEmpty,
        Self::Under,
        Self::NotUnder,
    ];

    /// The text form (`not starts with`).
    pub fn text(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Contains => "contains",
            Self::NotContains => "not contains",
            Self::StartsWith => "starts with",
            Self::NotStartsWith => "not starts with",
            Self::EndsWith => "ends with",
            Self::NotEndsWith => "not ends with",
            Self::Matches => "matches",
            Self::NotMatches => "not matches",
            Self::In => "in",
            Self::NotIn => "not in",
            Self::Between => "between",
            Self::IsEmpty => "is empty",
            Self::IsNotEmpty => "is not empty",
            Self::Under => "under",
            Self::NotUnder => "not under",
        }
    }

    /// The JSON name (`not_starts_with`): the text form with `_` for spaces.
    pub fn json_name(self) -> &'static str {
        match self {
            Self::NotContains => "not_contains",
            Self::StartsWith => "starts_with",
            Self::NotStartsWith => "not_starts_with",
            Self::EndsWith => "ends_with",
            Self::NotEndsWith => "not_ends_with",
            Self::NotMatches => "not_matches",
            Self::NotIn => "not_in",
            Self::IsEmpty => "is_empty",
            Self::IsNotEmpty => "is_not_empty",
            Self::NotUnder => "not_under",
            other => other.text(),
        }
    }

    /// The operator with this JSON name.
    pub fn from_json_name(name: &str) -> Option<Op> {
        Self::ALL.into_iter().find(|op| op.json_name() == name)
    }

    /// Whether this is the negated form of [`Op::positive`].
    pub fn is_negated(self) -> bool {
        self.positive() != self
    }

    /// The positive form: `NotIn` → `In`, `Ne` → `Eq`, `IsNotEmpty` → `IsEmpty`;
    /// a positive operator is its own.
    pub fn positive(self) -> Op {
        match self {
            Self::Ne => Self::Eq,
            Self::NotContains => Self::Contains,
            Self::NotStartsWith => Self::StartsWith,
            Self::NotEndsWith => Self::EndsWith,
            Self::NotMatches => Self::Matches,
            Self::NotIn => Self::In,
            Self::IsNotEmpty => Self::IsEmpty,
            Self::NotUnder => Self::Under,
            other => other,
        }
    }

    pub(crate) fn arity(self) -> Arity {
        match self.positive() {
            Self::IsEmpty => Arity::None,
            Self::Between => Arity::Two,
            Self::In => Arity::List,
            _ => Arity::One,
        }
    }

    /// Whether `count` values suit this operator; otherwise, what it takes.
    pub(crate) fn check_arity(self, count: usize) -> Result<(), String> {
        let (fits, takes) = match self.arity() {
            Arity::None => (count == 0, "no value"),
            Arity::One => (count == 1, "one value"),
            Arity::Two => (count == 2, "two values"),
            Arity::List => (count >= 1, "at least one value"),
        };
        if fits {
            Ok(())
        } else {
            Err(format!("\"{}\" takes {takes}", self.text()))
        }
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.json_name())
    }
}

/// A value in a condition. Each kind has its own text and JSON form, so the tree says
/// what was written: `"2024-01-31"` is text, `2024-01-31` a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// A calendar date: `2024-01-31`; JSON `{"date": "2024-01-31"}`.
    Date(NaiveDate),
    /// A date relative to today: `today - 90d`; JSON
    /// `{"today": {"offset": -90, "unit": "day"}}`.
    #[serde(rename = "today")]
    Relative(RelativeDate),
    /// A user status: `active`; JSON `{"status": "active"}`.
    Status(UserStatus),
    /// A course status: `completed`, `not_enrolled`; JSON `{"course_status": "completed"}`.
    CourseStatus(CourseStatus),
    /// `yes` or `no`; JSON `true` or `false`.
    #[serde(untagged)]
    YesNo(bool),
    /// A finite number: `-2.5`; JSON `-2.5`.
    #[serde(untagged)]
    Number(f64),
    /// Text: `"Sales"`; JSON `"Sales"`.
    #[serde(untagged)]
    Text(String),
}

/// How deeply `and`, `or` and `not` may nest in a tree ([`Rule::depth`]). JSON readers
/// stop at 128 nested arrays and objects and each `and`/`or` takes two, so a deeper
/// tree could be written but not read back.
pub const MAX_DEPTH: usize = 60;

/// The most units a relative date may reach back or ahead.
pub const MAX_OFFSET: i32 = 10_000;

/// `today`, or `today` plus or minus a number of days, weeks, months or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelativeDate {
    /// How many units after today (negative: before); at most [`MAX_OFFSET`] either way.
    pub offset: i32,
    /// The unit of `offset`.
    pub unit: DateUnit,
}

/// The unit of a relative date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateUnit {
    /// `d`
    Day,
    /// `w`
    Week,
    /// `m`: calendar months, the day clamped to the month's end.
    Month,
    /// `y`: calendar years, 29 February clamped to 28.
    Year,
}

impl DateUnit {
    /// Every unit.
    pub const ALL: [DateUnit; 4] = [Self::Day, Self::Week, Self::Month, Self::Year];

    /// The letter used in text (`d`, `w`, `m`, `y`).
    pub fn letter(self) -> char {
        match self {
            Self::Day => 'd',
            Self::Week => 'w',
            Self::Month => 'm',
            Self::Year => 'y',
        }
    }
}

impl RelativeDate {
    /// Plain `today`.
    pub const TODAY: RelativeDate = RelativeDate { offset: 0, unit: DateUnit::Day };

    /// The date this stands for when today is `today`; `None` outside the calendar.
    pub fn on(self, today: NaiveDate) -> Option<NaiveDate> {
        let n = i64::from(self.offset);
        match self.unit {
            DateUnit::Day => today.checked_add_signed(chrono::TimeDelta::try_days(n)?),
            DateUnit::Week => today.checked_add_signed(chrono::TimeDelta::try_weeks(n)?),
            DateUnit::Month => add_months(today, n),
            DateUnit::Year => add_months(today, n.checked_mul(12)?),
        }
    }
}

fn add_months(date: NaiveDate, n: i64) -> Option<NaiveDate> {
    let months = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    if n >= 0 {
        date.checked_add_months(months)
    } else {
        date.checked_sub_months(months)
    }
}

/// Where a user stands in a course, `not_enrolled` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CourseStatus {
    /// No enrollment in the course.
    NotEnrolled,
    /// Enrolled, not started.
    Enrolled,
    /// Started.
    InProgress,
    /// Finished successfully.
    Completed,
    /// Finished unsuccessfully.
    Failed,
}

impl CourseStatus {
    /// Every status.
    pub const ALL: [CourseStatus; 5] =
        [Self::NotEnrolled, Self::Enrolled, Self::InProgress, Self::Completed, Self::Failed];

    /// The word used in text and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotEnrolled => "not_enrolled",
            Self::Enrolled => "enrolled",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// The status of a user whose enrollment in the course is `enrollment`.
    pub fn of(enrollment: Option<EnrollmentStatus>) -> CourseStatus {
        match enrollment {
            None => Self::NotEnrolled,
            Some(EnrollmentStatus::Enrolled) => Self::Enrolled,
            Some(EnrollmentStatus::InProgress) => Self::InProgress,
            Some(EnrollmentStatus::Completed) => Self::Completed,
            Some(EnrollmentStatus::Failed) => Self::Failed,
        }
    }
}

impl Rule {
    /// The canonical `and` of `members`: nested `and`s flattened, a lone member returned
    /// as is; `None` when there are no members.
    pub fn all(members: Vec<Rule>) -> Option<Rule> {
        join(members, Rule::And, |r| match r {
            Rule::And(inner) => Ok(inner),
            other => Err(other),
        })
    }

    /// The canonical `or` of `members`, as [`Rule::all`] does for `and`.
    pub fn any(members: Vec<Rule>) -> Option<Rule> {
        join(members, Rule::Or, |r| match r {
            Rule::Or(inner) => Ok(inner),
            other => Err(other),
        })
    }

    /// This rule held only by users of `branches`, each with its sub-branches: how a
    /// group's scope joins its rule (`... and (branch under "FR" or branch under "DE")`),
    /// so evaluation, preview and "why" treat the scope as one more branch condition.
    /// An empty list holds for nobody.
    pub fn within_branches(self, branches: &[String]) -> Rule {
        let compare = |subject, op, values| Rule::Condition(Condition::Compare(Comparison { subject, op, values }));
        let under =
            branches.iter().map(|code| compare(Subject::Branch, Op::Under, vec![Value::Text(code.clone())])).collect();
        let scope = Rule::any(under).unwrap_or_else(|| compare(Subject::Username, Op::IsEmpty, vec![]));
        match Rule::all(vec![self, scope.clone()]) {
            Some(rule) => rule,
            None => scope,
        }
    }

    /// How deeply `and`, `or` and `not` nest: 0 for a single condition.
    pub fn depth(&self) -> usize {
        match self {
            Rule::And(members) | Rule::Or(members) => 1 + members.iter().map(Rule::depth).max().unwrap_or(0),
            Rule::Not(inner) => 1 + inner.depth(),
            Rule::Condition(_) => 0,
        }
    }

    /// The conditions, in the order they are written.
    pub fn conditions(&self) -> impl Iterator<Item = &Condition> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            while let Some(rule) = stack.pop() {
                match rule {
                    Rule::Condition(c) => return Some(c),
                    Rule::Not(inner) => stack.push(inner),
                    Rule::And(members) | Rule::Or(members) => stack.extend(members.iter().rev()),
                }
            }
            None
        })
    }

    /// Each condition in the order of [`Rule::conditions`], with whether it stands
    /// under an odd number of `not`s (the rule asks that it does not hold).
    pub fn conditions_with_negation(&self) -> impl Iterator<Item = (&Condition, bool)> {
        let mut stack = vec![(self, false)];
        std::iter::from_fn(move || {
            while let Some((rule, negated)) = stack.pop() {
                match rule {
                    Rule::Condition(c) => return Some((c, negated)),
                    Rule::Not(inner) => stack.push((inner, !negated)),
                    Rule::And(members) | Rule::Or(members) => {
                        stack.extend(members.iter().rev().map(|m| (m, negated)));
                    }
                }
            }
            None
        })
    }

    fn comparisons(&self) -> impl Iterator<Item = &Comparison> {
        self.conditions().filter_map(|c| match c {
            Condition::Compare(cmp) => Some(cmp),
            Condition::MemberOf(_) => None,
        })
    }

    /// The ids of the groups named by `member_of`, sorted, without repeats (a checked
    /// rule names every group by id).
    pub fn referenced_groups(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .conditions()
            .filter_map(|c| match c {
                Condition::MemberOf(group) => group.id,
                Condition::Compare(_) => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The codes of the additional fields used, sorted, without repeats.
    pub fn referenced_fields(&self) -> Vec<String> {
        sorted(self.comparisons().filter_map(|c| match &c.subject {
            Subject::Field { field } => Some(field.clone()),
            _ => None,
        }))
    }

    /// The codes of the courses used, sorted, without repeats.
    pub fn referenced_courses(&self) -> Vec<String> {
        sorted(self.comparisons().filter_map(|c| match &c.subject {
            Subject::Course { course }
            | Subject::CourseEnrolledAt { course }
            | Subject::CourseCompletedAt { course } => Some(course.clone()),
            _ => None,
        }))
    }

    /// The codes of the branches compared with `branch`, sorted, without repeats.
    pub fn referenced_branches(&self) -> Vec<String> {
        sorted(self.comparisons().filter(|c| c.subject == Subject::Branch).flat_map(|c| &c.values).filter_map(|v| {
            match v {
                Value::Text(code) => Some(code.clone()),
                _ => None,
            }
        }))
    }

    /// Whether a value is relative to today, so the rule must be re-evaluated when the
    /// date rolls over.
    pub fn uses_relative_dates(&self) -> bool {
        self.comparisons().flat_map(|c| &c.values).any(|v| matches!(v, Value::Relative(_)))
    }

    /// Replaces each `member_of` name with the current name of its group, as
    /// `name_of(id)` gives it (a group renamed since the rule was saved); names of
    /// unknown or unresolved groups are kept.
    pub fn refresh_group_names(&mut self, mut name_of: impl FnMut(i64) -> Option<String>) {
        self.refresh_with(&mut name_of);
    }

    fn refresh_with(&mut self, name_of: &mut dyn FnMut(i64) -> Option<String>) {
        match self {
            Rule::And(members) | Rule::Or(members) => {
                members.iter_mut().for_each(|m| m.refresh_with(name_of));
            }
            Rule::Not(inner) => inner.refresh_with(name_of),
            Rule::Condition(Condition::MemberOf(group)) => {
                if let Some(name) = group.id.and_then(&mut *name_of) {
                    group.name = name;
                }
            }
            Rule::Condition(Condition::Compare(_)) => {}
        }
    }
}

fn join(
    members: Vec<Rule>,
    make: fn(Vec<Rule>) -> Rule,
    same_kind: fn(Rule) -> Result<Vec<Rule>, Rule>,
) -> Option<Rule> {
    let mut flat = Vec::with_capacity(members.len());
    for member in members {
        match same_kind(member) {
            Ok(inner) => flat.extend(inner),
            Err(other) => flat.push(other),
        }
    }
    match flat.len() {
        0 => None,
        1 => flat.pop(),
        _ => Some(make(flat)),
    }
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.collect();
    items.sort_unstable();
    items.dedup();
    items
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {

    #[test]
    fn a_scope_joins_the_rule_as_a_branch_condition() {
        let rule = crate::rule::parse(r#"username contains "a" or email ends with ".fr""#).unwrap();
        let scoped = rule.within_branches(&["FR".into(), "DE".into()]);
        assert_eq!(
            scoped.to_string(),
            r#"(username contains "a" or email ends with ".fr") and (branch under "FR" or branch under "DE")"#
        );
        let lone = crate::rule::parse(r#"username contains "a""#).unwrap().within_branches(&["FR".into()]);
        assert_eq!(lone.to_string(), r#"username contains "a" and branch under "FR""#);
        let none = crate::rule::parse(r#"username contains "a""#).unwrap().within_branches(&[]);
        assert_eq!(none.to_string(), r#"username contains "a" and username is empty"#);
    }

    use super::*;

    fn cmp(subject: Subject, op: Op, values: Vec<Value>) -> Rule {
        Rule::Condition(Condition::Compare(Comparison { subject, op, values }))
    }

    fn group(id: Option<i64>, name: &str) -> Rule {
        Rule::Condition(Condition::MemberOf(GroupRef { id, name: name.into() }))
    }

    #[test]
    fn all_and_any_flatten_and_unwrap() {
        let a = cmp(Subject::Email, Op::IsEmpty, vec![]);
        let b = cmp(Subject::Username, Op::IsEmpty, vec![]);
        let c = group(Some(1), "G");
        let inner = Rule::all(vec![a.clone(), b.clone()]).unwrap();
        assert_eq!(Rule::all(vec![inner.clone(), c.clone()]), Some(Rule::And(vec![a.clone(), b.clone(), c.clone()])));
        assert_eq!(Rule::any(vec![inner.clone(), c.clone()]), Some(Rule::Or(vec![inner, c])));
        assert_eq!(Rule::all(vec![a.clone()]), Some(a));
        assert_eq!(Rule::any(vec![]), None);
    }

    #[test]
    fn references_are_collected_sorted_and_unique() {
        let rule = Rule::all(vec![
            cmp(Subject::Field { field: "role".into() }, Op::IsEmpty, vec![]),
            Rule::Not(Box::new(group(Some(7), "B"))),
            group(Some(3), "A"),
            group(Some(7), "B"),
            group(None, "Unchecked"),
            cmp(Subject::Branch, Op::In, vec![Value::Text("EU".into()), Value::Text("AM".into())]),
            cmp(
                Subject::CourseCompletedAt { course: "S-2".into() },
                Op::Gt,
                vec![Value::Relative(RelativeDate::TODAY)],
            ),
            cmp(Subject::Course { course: "S-1".into() }, Op::Eq, vec![Value::CourseStatus(CourseStatus::Failed)]),
            cmp(Subject::Field { field: "dept".into() }, Op::IsEmpty, vec![]),
        ])
        .unwrap();
        assert_eq!(rule.referenced_groups(), vec![3, 7]);
        assert_eq!(rule.referenced_fields(), vec!["dept", "role"]);
        assert_eq!(rule.referenced_courses(), vec!["S-1", "S-2"]);
        assert_eq!(rule.referenced_branches(), vec!["AM", "EU"]);
        assert!(rule.uses_relative_dates());
        assert!(!cmp(Subject::CreatedAt, Op::IsEmpty, vec![]).uses_relative_dates());
        assert_eq!(rule.conditions().count(), 9);
        assert_eq!(rule.depth(), 2);
    }

    #[test]
    fn group_names_refresh_from_ids() {
        let mut rule = Rule::any(vec![group(Some(1), "Old"), Rule::Not(Box::new(group(Some(2), "Kept")))]).unwrap();
        rule.refresh_group_names(|id| (id == 1).then(|| "New".to_owned()));
        assert_eq!(rule, Rule::any(vec![group(Some(1), "New"), Rule::Not(Box::new(group(Some(2), "Kept")))]).unwrap());
    }

    #[test]
    fn relative_dates_resolve_against_an_injected_today() {
        let today = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
        let on = |offset, unit| RelativeDate { offset, unit }.on(today).unwrap();
        assert_eq!(on(0, DateUnit::Day), today);
        assert_eq!(on(-90, DateUnit::Day), NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert_eq!(on(2, DateUnit::Week), NaiveDate::from_ymd_opt(2024, 4, 14).unwrap());
        assert_eq!(on(-1, DateUnit::Month), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert_eq!(on(1, DateUnit::Year), NaiveDate::from_ymd_opt(2025, 3, 31).unwrap());
    }

    #[test]
    fn negated_operators_name_their_positive_form() {
        assert_eq!(Op::NotIn.positive(), Op::In);
        assert_eq!(Op::Ne.positive(), Op::Eq);
        assert!(Op::IsNotEmpty.is_negated());
        assert!(!Op::Ge.is_negated());
        for op in Op::ALL {
            assert_eq!(Op::from_json_name(op.json_name()), Some(op));
            assert_eq!(op.json_name(), op.text().replace(' ', "_"));
            assert_eq!(op.positive().arity(), op.arity());
        }
    }

    #[test]
    fn course_status_of_no_enrollment_is_not_enrolled() {
        assert_eq!(CourseStatus::of(None), CourseStatus::NotEnrolled);
        assert_eq!(CourseStatus::of(Some(EnrollmentStatus::InProgress)), CourseStatus::InProgress);
    }
}
