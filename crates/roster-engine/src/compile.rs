//! Compiling a checked rule against the image: each condition becomes a shared
//! predicate (field codes resolved to columns, branch and course codes to indexes,
//! texts folded, regexes built) or a `member_of`, once, when the rule is saved.

use roster_domain::rule::{Comparison, Condition, CourseStatus, Op, Rule, RuleError, Subject, Value};
use roster_domain::UserStatus;

use crate::change::Input;
use crate::error::EngineError;
use crate::image::{
    FieldColumn, Image, CREATED, EMAIL, FIRST_NAME, LANGUAGE, LAST_LOGIN, LAST_NAME, TIMEZONE, USERNAME,
};
use crate::ordered::number_key;
use crate::predicate::{
    status_key, DateBound, DateSource, DateValue, MatcherKey, PredicateId, PredicateKey, Predicates, Presence,
};
use crate::text::{fold, TextColumn};

/// A rule's tree over its conditions.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Every member holds.
    All(Vec<Node>),
    /// One member holds.
    Any(Vec<Node>),
    /// The member does not hold.
    Not(Box<Node>),
    /// The condition at this index of [`CompiledRule::conditions`].
    Condition(usize),
}

/// A condition, compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compiled {
    /// A predicate, or its negation.
    Predicate { id: PredicateId, negated: bool },
    /// Membership of a group.
    MemberOf(i64),
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub(crate) root: Node,
    /// The conditions in written order.
    pub(crate) conditions: Vec<Compiled>,
}

impl CompiledRule {
    /// The predicates the rule uses, once per use.
    pub(crate) fn predicates(&self) -> impl Iterator<Item = PredicateId> + '_ {
        self.conditions.iter().filter_map(|c| match c {
            Compiled::Predicate { id, .. } => Some(*id),
            Compiled::MemberOf(_) => None,
        })
    }

    /// What of a user the rule reads, sorted, without repeats.
    pub(crate) fn inputs(&self, predicates: &Predicates) -> Vec<Input> {
        let mut inputs: Vec<Input> = self
            .conditions
            .iter()
            .filter_map(|c| match c {
                Compiled::Predicate { id, .. } => predicates.get(*id).map(|p| p.key.input()),
                Compiled::MemberOf(group) => Some(Input::Group(*group)),
            })
            .collect();
        inputs.sort_unstable();
        inputs.dedup();
        inputs
    }

    /// Gives back every predicate the rule holds.
    pub(crate) fn release(&self, predicates: &mut Predicates, text: &mut [Option<TextColumn>]) {
        for id in self.predicates() {
            predicates.release(id, text);
        }
    }
}

/// A condition resolved against the image, before its predicate is acquired.
enum Resolved {
    Predicate { key: PredicateKey, negated: bool },
    MemberOf(i64),
}

/// Where a compiled rule's text predicates get their matches.
enum Scope<'a> {
    /// Kept current by the columns (a saved rule).
    Watched(&'a mut [Option<TextColumn>]),
    /// Computed once (a previewed rule).
    Once(&'a [Option<TextColumn>]),
}

/// Compiles a rule whose text predicates the columns keep current (a saved rule).
pub(crate) fn compile_watched(
    rule: &Rule,
    image: &mut Image,
    predicates: &mut Predicates,
) -> Result<CompiledRule, EngineError> {
    let (root, resolved) = resolve(rule, image)?;
    acquire(root, resolved, predicates, Scope::Watched(&mut image.text))
}

/// Compiles a rule whose text predicates are computed once (a previewed rule), into a
/// registry of its own.
pub(crate) fn compile_once(
    rule: &Rule,
    image: &Image,
    predicates: &mut Predicates,
) -> Result<CompiledRule, EngineError> {
    let (root, resolved) = resolve(rule, image)?;
    acquire(root, resolved, predicates, Scope::Once(&image.text))
}

fn acquire(
    root: Node,
    resolved: Vec<Resolved>,
    predicates: &mut Predicates,
    mut scope: Scope<'_>,
) -> Result<CompiledRule, EngineError> {
    let mut conditions = Vec::with_capacity(resolved.len());
    for r in resolved {
        let compiled = match r {
            Resolved::MemberOf(group) => Compiled::MemberOf(group),
            Resolved::Predicate { key, negated } => {
                let taken = match &mut scope {
                    Scope::Watched(text) => predicates.acquire_watched(key, text),
                    Scope::Once(text) => predicates.acquire_once(key, text),
                };
                match taken {
                    Ok(id) => Compiled::Predicate { id, negated },
                    Err(e) => {
                        let rule = CompiledRule { root, conditions };
                        match &mut scope {
                            Scope::Watched(text) => rule.release(predicates, text),
                            Scope::Once(_) => rule.release(predicates, &mut []),
                        }
                        return Err(e);
                    }
                }
            }
        };
        conditions.push(compiled);
    }
    Ok(CompiledRule { root, conditions })
}

fn refuse<T>(message: String) -> Result<T, EngineError> {
    Err(EngineError::Rule(RuleError::new(message)))
}

/// The rule's tree and its conditions in written order.
fn resolve(rule: &Rule, image: &Image) -> Result<(Node, Vec<Resolved>), EngineError> {
    let mut conditions = Vec::new();
    let root = node(rule, image, &mut conditions)?;
    Ok((root, conditions))
}

fn node(rule: &Rule, image: &Image, out: &mut Vec<Resolved>) -> Result<Node, EngineError> {
    Ok(match rule {
        Rule::And(members) => Node::All(members.iter().map(|m| node(m, image, out)).collect::<Result<_, _>>()?),
        Rule::Or(members) => Node::Any(members.iter().map(|m| node(m, image, out)).collect::<Result<_, _>>()?),
        Rule::Not(inner) => Node::Not(Box::new(node(inner, image, out)?)),
        Rule::Condition(condition) => {
            out.push(match condition {
                Condition::MemberOf(group) => match group.id {
                    Some(id) => Resolved::MemberOf(id),
                    None => return refuse(format!("group \"{}\" is not resolved", group.name)),
                },
                Condition::Compare(comparison) => {
                    let (key, negated) = comparison_key(comparison, image)?;
                    Resolved::Predicate { key, negated }
                }
            });
            Node::Condition(out.len() - 1)
        }
    })
}

/// What a subject holds, resolved.
enum Kind {
    Text(u32),
    Number(u32),
    Date(DateSource),
    YesNo(u32),
    Status,
    Branch,
    Course(u32),
}

fn kind(subject: &Subject, image: &Image) -> Result<Kind, EngineError> {
    let course = |code: &str| match image.courses.index_of_code(code) {
        Some(index) => Ok(index),
        None => refuse(format!("unknown course \"{code}\"")),
    };
    Ok(match subject {
        Subject::Username => Kind::Text(USERNAME),
        Subject::Email => Kind::Text(EMAIL),
        Subject::FirstName => Kind::Text(FIRST_NAME),
        Subject::LastName => Kind::Text(LAST_NAME),
        Subject::Language => Kind::Text(LANGUAGE),
        Subject::Timezone => Kind::Text(TIMEZONE),
        Subject::Status => Kind::Status,
        Subject::CreatedAt => Kind::Date(DateSource::User(CREATED)),
        Subject::LastLoginAt => Kind::Date(DateSource::User(LAST_LOGIN)),
        Subject::Branch => Kind::Branch,
        Subject::Field { field } => match image.field(field).map(|f| f.column) {
            Some(FieldColumn::Text(c)) => Kind::Text(c),
            Some(FieldColumn::Number(c)) => Kind::Number(c),
            Some(FieldColumn::Date(c)) => Kind::Date(DateSource::User(c)),
            Some(FieldColumn::YesNo(c)) => Kind::YesNo(c),
            None => return refuse(format!("unknown field \"{field}\"")),
        },
        Subject::Course { course: code } => Kind::Course(course(code)?),
        Subject::CourseEnrolledAt { course: code } => Kind::Date(DateSource::Enrolled(course(code)?)),
        Subject::CourseCompletedAt { course: code } => Kind::Date(DateSource::Completed(course(code)?)),
    })
}

/// A comparison as a positive predicate and whether the rule negates it.
fn comparison_key(cmp: &Comparison, image: &Image) -> Result<(PredicateKey, bool), EngineError> {
    let positive = cmp.op.positive();
    let negated = cmp.op.is_negated() != (positive == Op::IsEmpty);
    let kind = kind(&cmp.subject, image)?;
    let values = &cmp.values;
    let wrong = || refuse(format!("\"{}\" does not apply to {}", cmp.op, cmp.subject));
    let key = match (kind, positive) {
        (Kind::Text(c), Op::IsEmpty) => PredicateKey::Present(Presence::Text(c)),
        (Kind::Number(c), Op::IsEmpty) => PredicateKey::Present(Presence::Number(c)),
        (Kind::Date(source), Op::IsEmpty) => PredicateKey::Present(Presence::Date(source)),
        (Kind::YesNo(c), Op::IsEmpty) => PredicateKey::Present(Presence::YesNo(c)),
        (Kind::Branch, Op::IsEmpty) => PredicateKey::Present(Presence::Branch),
        (Kind::Text(c), op) => {
            let one = || -> Result<String, EngineError> { Ok(fold(text(values.first())?).into_owned()) };
            let matcher = match op {
                Op::Eq | Op::In => {
                    let mut folded = values
                        .iter()
                        .map(|v| text(Some(v)).map(|t| fold(t).into_owned()))
                        .collect::<Result<Vec<_>, _>>()?;
                    folded.sort_unstable();
                    folded.dedup();
                    MatcherKey::Equals(folded)
                }
                Op::Contains => MatcherKey::Contains(one()?),
                Op::StartsWith => MatcherKey::StartsWith(one()?),
                Op::EndsWith => MatcherKey::EndsWith(one()?),
                Op::Matches => MatcherKey::Matches(text(values.first())?.to_owned()),
                _ => return wrong(),
            };
            PredicateKey::Text { column: c, matcher }
        }
        (Kind::Number(c), op) => {
            let n = |i: usize| number(values.get(i)).map(number_key);
            match op {
                Op::Eq | Op::In => {
                    let mut keys =
                        values.iter().map(|v| number(Some(v)).map(number_key)).collect::<Result<Vec<_>, _>>()?;
                    keys.sort_unstable();
                    keys.dedup();
                    PredicateKey::NumberIn { column: c, keys }
                }
                Op::Lt => PredicateKey::NumberRange { column: c, lo: None, hi: Some((n(0)?, false)) },
                Op::Le => PredicateKey::NumberRange { column: c, lo: None, hi: Some((n(0)?, true)) },
                Op::Gt => PredicateKey::NumberRange { column: c, lo: Some((n(0)?, false)), hi: None },
                Op::Ge => PredicateKey::NumberRange { column: c, lo: Some((n(0)?, true)), hi: None },
                Op::Between => {
                    PredicateKey::NumberRange { column: c, lo: Some((n(0)?, true)), hi: Some((n(1)?, true)) }
                }
                _ => return wrong(),
            }
        }
        (Kind::Date(source), op) => {
            let bound = |i: usize, inclusive: bool| -> Result<Option<DateBound>, EngineError> {
                Ok(Some(DateBound { value: date(values.get(i))?, inclusive }))
            };
            let (lo, hi) = match op {
                Op::Eq => (bound(0, true)?, bound(0, true)?),
                Op::Lt => (None, bound(0, false)?),
                Op::Le => (None, bound(0, true)?),
                Op::Gt => (bound(0, false)?, None),
                Op::Ge => (bound(0, true)?, None),
                Op::Between => (bound(0, true)?, bound(1, true)?),
                _ => return wrong(),
            };
            PredicateKey::DateRange { source, lo, hi }
        }
        (Kind::YesNo(c), Op::Eq) => match values.first() {
            Some(Value::YesNo(value)) => PredicateKey::YesNo { column: c, value: *value },
            _ => return wrong(),
        },
        (Kind::Status, Op::Eq | Op::In) => {
            let statuses = values
                .iter()
                .map(|v| match v {
                    Value::Status(s) => Ok(*s),
                    _ => refuse(format!("{v} is not a user status")),
                })
                .collect::<Result<Vec<UserStatus>, _>>()?;
            status_key(&statuses)
        }
        (Kind::Branch, Op::Eq | Op::In) => {
            let mut branches = values.iter().map(|v| branch(v, image)).collect::<Result<Vec<_>, _>>()?;
            branches.sort_unstable();
            branches.dedup();
            PredicateKey::BranchIn(branches)
        }
        (Kind::Branch, Op::Under) => match values.first() {
            Some(v) => PredicateKey::BranchUnder(branch(v, image)?),
            None => return wrong(),
        },
        (Kind::Course(course), Op::Eq | Op::In) => {
            let mut statuses = values
                .iter()
                .map(|v| match v {
                    Value::CourseStatus(s) => Ok(*s),
                    _ => refuse(format!("{v} is not a course status")),
                })
                .collect::<Result<Vec<CourseStatus>, _>>()?;
            statuses.sort_unstable_by_key(|s| s.as_str());
            statuses.dedup();
            PredicateKey::Course { course, statuses }
        }
        _ => return wrong(),
    };
    Ok((key, negated))
}

fn text(value: Option<&Value>) -> Result<&str, EngineError> {
    match value {
        Some(Value::Text(t)) => Ok(t),
        Some(other) => refuse(format!("{other} is not text")),
        None => refuse("a value is missing".into()),
    }
}

fn number(value: Option<&Value>) -> Result<f64, EngineError> {
    match value {
        Some(Value::Number(n)) if n.is_finite() => Ok(*n),
        Some(other) => refuse(format!("{other} is not a finite number")),
        None => refuse("a value is missing".into()),
    }
}

fn date(value: Option<&Value>) -> Result<DateValue, EngineError> {
    match value {
        Some(Value::Date(d)) => Ok(DateValue::On(*d)),
        Some(Value::Relative(r)) => Ok(DateValue::Relative(*r)),
        Some(other) => refuse(format!("{other} is not a date")),
        None => refuse("a value is missing".into()),
    }
}

fn branch(value: &Value, image: &Image) -> Result<u32, EngineError> {
    match value {
        Value::Text(code) => match image.branches.index_of_code(code) {
            Some(index) => Ok(index),
            None => refuse(format!("unknown branch \"{code}\"")),
        },
        other => refuse(format!("{other} is not a branch code")),
    }
}
