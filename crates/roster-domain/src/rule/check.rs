//! Type checking and resolution against a [`Catalog`]: names become canonical codes and
//! ids, and every operator and value must suit its subject.

use regex::{Regex, RegexBuilder};

use super::ast::{Comparison, Condition, GroupRef, Op, Rule, Subject, Value, MAX_DEPTH, MAX_OFFSET};
use super::parser::{parse_with_spans, ConditionSpans, MAX_TEXT_LEN};
use super::suggest::{closest, hint};
use super::RuleError;
use crate::{FieldDef, FieldType};

/// The largest compiled size of a `matches` regular expression, in bytes: enough for
/// `\w{10}` (Unicode classes are large), small enough for a thousand rules to hold.
pub const MAX_REGEX_SIZE: usize = 1024 * 1024;

/// How many dropdown options an error lists.
const LISTED_OPTIONS: usize = 20;

/// What a rule may reference: the additional fields, and the codes or names of courses,
/// branches and groups that exist.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Every additional field.
    pub fields: Vec<FieldDef>,
    /// Every course's code.
    pub courses: Vec<String>,
    /// Every branch's code.
    pub branches: Vec<String>,
    /// Every group, as (id, name).
    pub groups: Vec<(i64, String)>,
}

/// Parses and checks a rule's text; errors carry a line and column.
pub fn compile_text(text: &str, catalog: &Catalog) -> Result<Rule, RuleError> {
    let parsed = parse_with_spans(text)?;
    let rule = Resolver::new(catalog).rule(&parsed.rule).map_err(|fault| fault.in_text(text, &parsed.spans))?;
    printable(rule)
}

/// Checks a tree (from JSON or the builder); errors carry a path in the tree.
pub fn compile_tree(rule: &Rule, catalog: &Catalog) -> Result<Rule, RuleError> {
    if rule.depth() > MAX_DEPTH {
        return Err(RuleError::new(format!("\"and\", \"or\" and \"not\" nest more than {MAX_DEPTH} deep")));
    }
    let resolved = Resolver::new(catalog).rule(rule).map_err(Fault::in_tree)?;
    printable(resolved)
}

/// The regular expression `matches` runs: case-insensitive, linear-time, and refused
/// when its compiled form would exceed [`MAX_REGEX_SIZE`].
pub fn regex_for(pattern: &str) -> Result<Regex, RuleError> {
    RegexBuilder::new(pattern).case_insensitive(true).size_limit(MAX_REGEX_SIZE).build().map_err(|e| match e {
        regex::Error::CompiledTooBig(_) => RuleError::new(format!(
            "the regular expression is too large once compiled (over {} KiB): repeated \\w \
                 or \\d grow fast, so try [a-z0-9_] or [0-9] instead",
            MAX_REGEX_SIZE / 1024
        )),
        regex::Error::Syntax(detail) => RuleError::new(format!(
            "the regular expression is invalid: {}",
            detail.lines().find_map(|line| line.strip_prefix("error: ")).unwrap_or("it cannot be read")
        )),
        _ => RuleError::new("the regular expression is invalid"),
    })
}

/// A resolved rule, unless its text form would be too long to read back.
fn printable(rule: Rule) -> Result<Rule, RuleError> {
    if rule.to_string().chars().count() > MAX_TEXT_LEN {
        return Err(RuleError::new(format!(
            "the rule would be longer than {MAX_TEXT_LEN} characters once written out"
        )));
    }
    Ok(rule)
}

/// The part of a condition an error is about.
#[derive(Debug, Clone, Copy)]
enum Part {
    Subject,
    Op,
    Value(usize),
}

/// A checking error, before it is placed in the text or the tree.
#[derive(Debug)]
struct Fault {
    /// The `and`/`or` member indices down to the faulty node.
    path: Vec<usize>,
    /// The faulty condition's index in writing order, and the part at fault; `None`
    /// when the fault is a group's.
    at: Option<(usize, Part)>,
    message: String,
}

impl Fault {
    fn in_tree(self) -> RuleError {
        RuleError::in_tree(&self.path, self.message)
    }

    fn in_text(self, text: &str, spans: &[ConditionSpans]) -> RuleError {
        let offset = self.at.and_then(|(index, part)| {
            let spans = spans.get(index)?;
            match part {
                Part::Subject => Some(spans.subject),
                Part::Op => Some(spans.op),
                Part::Value(i) => spans.values.get(i).copied(),
            }
        });
        match offset {
            Some(offset) => RuleError::at(text, offset, self.message),
            None => RuleError::new(self.message),
        }
    }
}

/// What a subject holds, which decides its operators and values.
#[derive(Debug, Clone, Copy)]
enum Kind<'c> {
    Text,
    Dropdown(&'c FieldDef),
    Number,
    Date,
    YesNo,
    Status,
    Branch,
    Course,
}

/// The operators a saved rule may use on each kind of subject, by the condition
/// builder's kind names, each as its JSON name: what the admin UI offers, taken from the
/// checker itself so that it never offers what a save would refuse.
pub fn operators_by_kind() -> Vec<(&'static str, Vec<&'static str>)> {
    // A dropdown's operators are text's; the kind only changes the value picker.
    [
        ("text", Kind::Text),
        ("dropdown", Kind::Text),
        ("number", Kind::Number),
        ("date", Kind::Date),
        ("yes_no", Kind::YesNo),
        ("status", Kind::Status),
        ("course", Kind::Course),
        ("branch", Kind::Branch),
    ]
    .into_iter()
    .map(|(name, kind)| (name, kind.ops().iter().map(|op| op.json_name()).collect()))
    .collect()
}

/// The standard subjects (not fields or courses), each with the builder's kind name.
pub fn standard_subject_kinds() -> Vec<(&'static str, &'static str)> {
    Subject::STANDARD
        .into_iter()
        .map(|s| {
            let kind = match s {
                Subject::Status => "status",
                Subject::CreatedAt | Subject::LastLoginAt => "date",
                Subject::Branch => "branch",
                _ => "text",
            };
            (s.name(), kind)
        })
        .collect()
}

impl Kind<'_> {
    fn of_field(field: &FieldDef) -> Kind<'_> {
        match field.field_type {
            FieldType::Text => Kind::Text,
            FieldType::Number => Kind::Number,
            FieldType::Date => Kind::Date,
            FieldType::Dropdown => Kind::Dropdown(field),
            FieldType::YesNo => Kind::YesNo,
        }
    }

    fn ops(self) -> &'static [Op] {
        use Op::*;
        match self {
            Kind::Text | Kind::Dropdown(_) => &[
                Eq,
                Ne,
                Contains,
                NotContains,
                StartsWith,
                NotStartsWith,
                EndsWith,
                NotEndsWith,
                Matches,
                NotMatches,
                In,
                NotIn,
                IsEmpty,
                IsNotEmpty,
            ],
            Kind::Number => &[Eq, Ne, Lt, Le, Gt, Ge, In, NotIn, Between, IsEmpty, IsNotEmpty],
            Kind::Date => &[Eq, Ne, Lt, Le, Gt, Ge, Between, IsEmpty, IsNotEmpty],
            Kind::YesNo => &[Eq, Ne, IsEmpty, IsNotEmpty],
            Kind::Status | Kind::Course => &[Eq, Ne, In, NotIn],
            Kind::Branch => &[Eq, Ne, In, NotIn, Under, NotUnder, IsEmpty, IsNotEmpty],
        }
    }

    fn holds(self) -> &'static str {
        match self {
            Kind::Text | Kind::Dropdown(_) => "text",
            Kind::Number => "numbers",
            Kind::Date => "dates",
            Kind::YesNo => "yes or no",
            Kind::Status => "a user status (active or suspended)",
            Kind::Branch => "a branch code in double quotes",
            Kind::Course => "a course status (not_enrolled, enrolled, in_progress, completed or failed)",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Kind::Text | Kind::Dropdown(_) | Kind::Branch, Value::Text(_))
                | (Kind::Number, Value::Number(_))
                | (Kind::Date, Value::Date(_) | Value::Relative(_))
                | (Kind::YesNo, Value::YesNo(_))
                | (Kind::Status, Value::Status(_))
                | (Kind::Course, Value::CourseStatus(_))
        )
    }
}

/// What a value is, for messages: `text ("x")`, `a number (5)`.
fn describe(value: &Value) -> String {
    let what = match value {
        Value::Text(_) => "text",
        Value::Number(_) => "a number",
        Value::Date(_) | Value::Relative(_) => "a date",
        Value::YesNo(_) => "yes or no",
        Value::Status(_) => "a user status",
        Value::CourseStatus(_) => "a course status",
    };
    format!("{what} ({value})")
}

/// Whether two names are the same, ignoring case.
fn same(a: &str, b: &str) -> bool {
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

/// `known`'s spelling of `wanted`, or an "unknown" error with a suggestion.
fn find_code(known: &[String], wanted: &str, what: &str) -> Result<String, String> {
    known
        .iter()
        .find(|k| same(k, wanted))
        .cloned()
        .ok_or_else(|| format!("unknown {what} \"{wanted}\"{}", hint(wanted, known.iter().map(String::as_str))))
}

/// Walks a tree, rebuilding it resolved and canonical.
struct Resolver<'c> {
    catalog: &'c Catalog,
    path: Vec<usize>,
    conditions: usize,
}

impl<'c> Resolver<'c> {
    fn new(catalog: &'c Catalog) -> Self {
        Self { catalog, path: Vec::new(), conditions: 0 }
    }

    fn rule(&mut self, rule: &Rule) -> Result<Rule, Fault> {
        match rule {
            Rule::And(members) => self.group(members, Rule::all, "and"),
            Rule::Or(members) => self.group(members, Rule::any, "or"),
            Rule::Not(inner) => Ok(Rule::Not(Box::new(self.rule(inner)?))),
            Rule::Condition(condition) => {
                let index = self.conditions;
                self.conditions += 1;
                self.condition(condition).map(Rule::Condition).map_err(|(part, message)| Fault {
                    path: self.path.clone(),
                    at: Some((index, part)),
                    message,
                })
            }
        }
    }

    fn group(&mut self, members: &[Rule], join: fn(Vec<Rule>) -> Option<Rule>, name: &str) -> Result<Rule, Fault> {
        let mut resolved = Vec::with_capacity(members.len());
        for (i, member) in members.iter().enumerate() {
            self.path.push(i);
            resolved.push(self.rule(member)?);
            self.path.pop();
        }
        join(resolved).ok_or_else(|| Fault {
            path: self.path.clone(),
            at: None,
            message: format!("\"{name}\" needs at least one condition"),
        })
    }

    fn condition(&self, condition: &Condition) -> Result<Condition, (Part, String)> {
        match condition {
            Condition::MemberOf(group) => {
                self.group_ref(group).map(Condition::MemberOf).map_err(|message| (Part::Subject, message))
            }
            Condition::Compare(comparison) => self.comparison(comparison).map(Condition::Compare),
        }
    }

    fn comparison(&self, comparison: &Comparison) -> Result<Comparison, (Part, String)> {
        let Comparison { subject, op, values } = comparison;
        let (resolved, kind) = self.subject(subject).map_err(|message| (Part::Subject, message))?;
        if !kind.ops().contains(op) {
            let usable: Vec<&str> = kind.ops().iter().map(|op| op.text()).collect();
            return Err((
                Part::Op,
                format!(
                    "\"{op}\" does not apply to {subject}, which holds {}; use {}",
                    kind.holds(),
                    usable.join(", ")
                ),
            ));
        }
        op.check_arity(values.len()).map_err(|message| (Part::Op, message))?;
        let values = values
            .iter()
            .enumerate()
            .map(|(i, value)| self.value(subject, kind, *op, value).map_err(|message| (Part::Value(i), message)))
            .collect::<Result<Vec<_>, _>>()?;
        if *op == Op::Between {
            between_in_order(&values).map_err(|message| (Part::Value(0), message))?;
        }
        Ok(Comparison { subject: resolved, op: *op, values })
    }

    fn subject(&self, subject: &Subject) -> Result<(Subject, Kind<'c>), String> {
        Ok(match subject {
            Subject::Username
            | Subject::Email
            | Subject::FirstName
            | Subject::LastName
            | Subject::Language
            | Subject::Timezone => (subject.clone(), Kind::Text),
            Subject::Status => (subject.clone(), Kind::Status),
            Subject::CreatedAt | Subject::LastLoginAt => (subject.clone(), Kind::Date),
            Subject::Branch => (subject.clone(), Kind::Branch),
            Subject::Field { field } => {
                let def = self.field(field)?;
                let code = def.code.as_str().to_owned();
                (Subject::Field { field: code }, Kind::of_field(def))
            }
            Subject::Course { course } => (Subject::Course { course: self.course(course)? }, Kind::Course),
            Subject::CourseEnrolledAt { course } => {
                (Subject::CourseEnrolledAt { course: self.course(course)? }, Kind::Date)
            }
            Subject::CourseCompletedAt { course } => {
                (Subject::CourseCompletedAt { course: self.course(course)? }, Kind::Date)
            }
        })
    }

    /// The field whose code, or else whose name, is `wanted`.
    fn field(&self, wanted: &str) -> Result<&'c FieldDef, String> {
        let fields = &self.catalog.fields;
        fields
            .iter()
            .find(|f| same(f.code.as_str(), wanted))
            .or_else(|| fields.iter().find(|f| same(f.name.as_str(), wanted)))
            .ok_or_else(|| {
                let names = fields.iter().flat_map(|f| [f.name.as_str(), f.code.as_str()]);
                format!("unknown field \"{wanted}\"{}", hint(wanted, names))
            })
    }

    fn course(&self, wanted: &str) -> Result<String, String> {
        find_code(&self.catalog.courses, wanted, "course")
    }

    /// The group by id when known (it may have been renamed), else by name.
    fn group_ref(&self, group: &GroupRef) -> Result<GroupRef, String> {
        let groups = &self.catalog.groups;
        let (id, name) = match group.id {
            Some(id) => groups
                .iter()
                .find(|(known, _)| *known == id)
                .ok_or_else(|| format!("group #{id} (\"{}\") no longer exists", group.name))?,
            None => groups.iter().find(|(_, name)| same(name, &group.name)).ok_or_else(|| {
                let names = groups.iter().map(|(_, name)| name.as_str());
                format!("unknown group \"{}\"{}", group.name, hint(&group.name, names))
            })?,
        };
        Ok(GroupRef { id: Some(*id), name: name.clone() })
    }

    fn value(&self, subject: &Subject, kind: Kind<'_>, op: Op, value: &Value) -> Result<Value, String> {
        if !kind.accepts(value) {
            return Err(format!("{subject} holds {}, so it cannot be compared with {}", kind.holds(), describe(value)));
        }
        match (kind, value) {
            (_, Value::Number(n)) if !n.is_finite() => Err(format!("{n} is not a finite number")),
            (_, Value::Relative(r)) if r.offset.unsigned_abs() > MAX_OFFSET.unsigned_abs() => {
                Err(format!("a relative date may reach at most {MAX_OFFSET} days, weeks, months or years from today"))
            }
            (_, Value::Text(pattern)) if op.positive() == Op::Matches => {
                regex_for(pattern).map_err(|e| e.message)?;
                Ok(value.clone())
            }
            (Kind::Dropdown(def), Value::Text(wanted)) if matches!(op.positive(), Op::Eq | Op::In) => {
                option(def, subject, wanted)
            }
            (Kind::Branch, Value::Text(code)) => find_code(&self.catalog.branches, code, "branch").map(Value::Text),
            _ => Ok(value.clone()),
        }
    }
}

/// Refuses `between` bounds that are the wrong way round (relative dates cannot be told
/// apart before today is known).
fn between_in_order(values: &[Value]) -> Result<(), String> {
    let reversed = match values {
        [Value::Number(low), Value::Number(high)] => low > high,
        [Value::Date(low), Value::Date(high)] => low > high,
        _ => false,
    };
    match values {
        [low, high] if reversed => {
            Err(format!("\"between {low} and {high}\" matches nothing: put the smaller value first"))
        }
        _ => Ok(()),
    }
}

/// The dropdown option `wanted`, in the option's own spelling.
fn option(def: &FieldDef, subject: &Subject, wanted: &str) -> Result<Value, String> {
    if let Some(option) = def.options.iter().find(|o| same(o, wanted)) {
        return Ok(Value::Text(option.clone()));
    }
    let options = def.options.iter().map(String::as_str);
    Err(match closest(wanted, options.clone()) {
        Some(near) => {
            format!("\"{wanted}\" is not an option of {subject} — did you mean \"{near}\"?")
        }
        None => {
            let listed: Vec<&str> = options.take(LISTED_OPTIONS).collect();
            let more = if def.options.len() > LISTED_OPTIONS { ", …" } else { "" };
            format!("\"{wanted}\" is not an option of {subject}; the options are: {}{more}", listed.join(", "))
        }
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;
    use crate::rule::{parse, Location};
    use crate::{Code, Name};

    fn field(code: &str, name: &str, field_type: FieldType, options: &[&str]) -> FieldDef {
        FieldDef {
            code: Code::parse("code", code).unwrap(),
            name: Name::parse("name", name).unwrap(),
            field_type,
            options: options.iter().map(|o| o.to_string()).collect(),
        }
    }

    fn catalog() -> Catalog {
        Catalog {
            fields: vec![
                field("department", "Department", FieldType::Dropdown, &["Sales", "Marketing"]),
                field("job_title", "Job Title", FieldType::Text, &[]),
                field("hire_date", "Hire Date", FieldType::Date, &[]),
                field("seniority", "Seniority", FieldType::Number, &[]),
                field("manager", "Is Manager", FieldType::YesNo, &[]),
            ],
            courses: vec!["DRV-101".into(), "SAFE-2".into()],
            branches: vec!["EMEA".into(), "AMER".into()],
            groups: vec![(12, "Contractors".into()), (13, "Drivers".into())],
        }
    }

    fn compile(text: &str) -> Result<Rule, RuleError> {
        compile_text(text, &catalog())
    }

    /// The error's position and message, as `line:column message`.
    fn error(text: &str) -> String {
        let err = compile(text).unwrap_err();
        match err.location {
            Some(Location::Text { line, column }) => format!("{line}:{column} {}", err.message),
            other => panic!("no text position in {other:?}: {}", err.message),
        }
    }

    #[test]
    fn names_resolve_to_canonical_codes_ids_and_spellings() {
        let rule = compile(
            r#"field("DEPARTMENT") in ("sales", "MARKETING") and field("job_title") = "x"
               and course("drv-101") = completed and course("safe-2").completed_at > today - 1y
               and branch not under "emea" and not member_of("contractors")"#,
        )
        .unwrap();
        assert_eq!(
            rule.to_string(),
            r#"field("department") in ("Sales", "Marketing") and field("job_title") = "x" and course("DRV-101") = completed and course("SAFE-2").completed_at > today - 1y and branch not under "EMEA" and not member_of("Contractors")"#
        );
        assert_eq!(rule.referenced_groups(), vec![12]);
        assert_eq!(rule.referenced_fields(), vec!["department", "job_title"]);
        assert_eq!(rule.referenced_courses(), vec!["DRV-101", "SAFE-2"]);
        assert_eq!(rule.referenced_branches(), vec!["EMEA"]);
        assert!(rule.uses_relative_dates());
    }

    #[test]
    fn a_field_code_wins_over_another_fields_name() {
        let mut catalog = catalog();
        catalog.fields.push(field("Seniority", "Tenure", FieldType::Text, &[]));
        catalog.fields.swap(3, 5);
        let rule = compile_text(r#"field("seniority") > 2"#, &catalog).unwrap_err();
        assert!(rule.message.contains("holds text"), "{}", rule.message);
    }

    #[test]
    fn each_subject_takes_its_operators_and_values() {
        let accepted = [
            r#"username = "a""#,
            r#"email contains "@acme.com""#,
            r#"first_name starts with "A""#,
            r#"last_name not ends with "z""#,
            r#"language in ("en", "fr")"#,
            r#"timezone not in ("UTC")"#,
            r#"email matches "^[a-z]+@acme\.com$""#,
            r#"email not matches "\d""#,
            r#"last_name is empty"#,
            r#"first_name is not empty"#,
            r#"field("Job Title") != "Driver""#,
            r#"field("Department") contains "al""#,
            r#"field("Department") not in ("Sales")"#,
            r#"field("Seniority") >= -1.5"#,
            r#"field("Seniority") between 1 and 5"#,
            r#"field("Seniority") not in (1, 2)"#,
            r#"field("Seniority") is empty"#,
            r#"field("Hire Date") < 2024-01-31"#,
            r#"field("Hire Date") between today - 1y and today"#,
            r#"created_at <= today + 2w"#,
            r#"last_login_at is empty"#,
            r#"course("DRV-101").enrolled_at = 2024-01-01"#,
            r#"field("Is Manager") = yes"#,
            r#"field("Is Manager") is not empty"#,
            r#"status = active"#,
            r#"status not in (suspended)"#,
            r#"branch = "EMEA""#,
            r#"branch in ("EMEA", "AMER")"#,
            r#"branch under "AMER""#,
            r#"branch is empty"#,
            r#"course("SAFE-2") != not_enrolled"#,
            r#"course("SAFE-2") in (enrolled, in_progress)"#,
            r#"member_of("Drivers")"#,
        ];
        for text in accepted {
            assert!(compile(text).is_ok(), "{text}: {:?}", compile(text));
        }
        let refused = [
            (
                r#"email > "a""#,
                r#"1:7 ">" does not apply to email, which holds text; use =, !=, contains, not contains, starts with, not starts with, ends with, not ends with, matches, not matches, in, not in, is empty, is not empty"#,
            ),
            (r#"email = 5"#, r#"1:9 email holds text, so it cannot be compared with a number (5)"#),
            (
                r#"field("Job Title") = 5"#,
                r#"1:22 field("Job Title") holds text, so it cannot be compared with a number (5)"#,
            ),
            (
                r#"field("Hire Date") = "hello""#,
                r#"1:22 field("Hire Date") holds dates, so it cannot be compared with text ("hello")"#,
            ),
            (
                r#"created_at contains "2024""#,
                r#"1:12 "contains" does not apply to created_at, which holds dates; use =, !=, <, <=, >, >=, between, is empty, is not empty"#,
            ),
            (
                r#"created_at in (today)"#,
                r#"1:12 "in" does not apply to created_at, which holds dates; use =, !=, <, <=, >, >=, between, is empty, is not empty"#,
            ),
            (
                r#"field("Seniority") contains 1"#,
                r#"1:20 "contains" does not apply to field("Seniority"), which holds numbers; use =, !=, <, <=, >, >=, in, not in, between, is empty, is not empty"#,
            ),
            (
                r#"field("Seniority") = "3""#,
                r#"1:22 field("Seniority") holds numbers, so it cannot be compared with text ("3")"#,
            ),
            (
                r#"field("Seniority") between 5 and 1"#,
                r#"1:28 "between 5 and 1" matches nothing: put the smaller value first"#,
            ),
            (
                r#"field("Is Manager") = "yes""#,
                r#"1:23 field("Is Manager") holds yes or no, so it cannot be compared with text ("yes")"#,
            ),
            (
                r#"field("Is Manager") < yes"#,
                r#"1:21 "<" does not apply to field("Is Manager"), which holds yes or no; use =, !=, is empty, is not empty"#,
            ),
            (
                r#"status = "active""#,
                r#"1:10 status holds a user status (active or suspended), so it cannot be compared with text ("active")"#,
            ),
            (
                r#"status is empty"#,
                r#"1:8 "is empty" does not apply to status, which holds a user status (active or suspended); use =, !=, in, not in"#,
            ),
            (
                r#"status = completed"#,
                r#"1:10 status holds a user status (active or suspended), so it cannot be compared with a course status (completed)"#,
            ),
            (r#"branch = EMEA"#, r#"1:10 unknown value EMEA — write text in double quotes: "EMEA""#),
            (
                r#"branch contains "E""#,
                r#"1:8 "contains" does not apply to branch, which holds a branch code in double quotes; use =, !=, in, not in, under, not under, is empty, is not empty"#,
            ),
            (r#"branch under "EMAE""#, r#"1:14 unknown branch "EMAE" — did you mean "EMEA"?"#),
            (r#"branch in ("EMEA", "APAC")"#, r#"1:20 unknown branch "APAC""#),
            (
                r#"email under "EMEA""#,
                r#"1:7 "under" does not apply to email, which holds text; use =, !=, contains, not contains, starts with, not starts with, ends with, not ends with, matches, not matches, in, not in, is empty, is not empty"#,
            ),
            (
                r#"course("SAFE-2") = active"#,
                r#"1:20 course("SAFE-2") holds a course status (not_enrolled, enrolled, in_progress, completed or failed), so it cannot be compared with a user status (active)"#,
            ),
            (
                r#"course("SAFE-2") is empty"#,
                r#"1:18 "is empty" does not apply to course("SAFE-2"), which holds a course status (not_enrolled, enrolled, in_progress, completed or failed); use =, !=, in, not in"#,
            ),
            (r#"course("SAFE-3") = completed"#, r#"1:8 unknown course "SAFE-3" — did you mean "SAFE-2"?"#),
            (r#"course("XYZ").completed_at is empty"#, r#"1:8 unknown course "XYZ""#),
            (r#"field("Departmnet") = "Sales""#, r#"1:7 unknown field "Departmnet" — did you mean "Department"?"#),
            (r#"field("Salary") > 1"#, r#"1:7 unknown field "Salary""#),
            (
                r#"field("Department") = "Legal""#,
                r#"1:23 "Legal" is not an option of field("Department"); the options are: Sales, Marketing"#,
            ),
            (
                r#"field("Department") in ("Sales", "Sals")"#,
                r#"1:34 "Sals" is not an option of field("Department") — did you mean "Sales"?"#,
            ),
            (
                "email = \"x\" and\n not member_of(\"Contractor\")",
                r#"2:16 unknown group "Contractor" — did you mean "Contractors"?"#,
            ),
            (r#"member_of("Nobody")"#, r#"1:11 unknown group "Nobody""#),
            (r#"email matches "(abc""#, r#"1:15 the regular expression is invalid: unclosed group"#),
        ];
        for (text, expected) in refused {
            assert_eq!(error(text), expected, "{text}");
        }
    }

    #[test]
    fn a_regex_too_large_once_compiled_is_refused() {
        let err = error(r#"email matches "\w{1000}\w{1000}""#);
        assert_eq!(
            err,
            "1:15 the regular expression is too large once compiled (over 1024 KiB): repeated \\w \
             or \\d grow fast, so try [a-z0-9_] or [0-9] instead"
        );
        assert!(compile(r#"email matches "^\w{10}@acme\.com$""#).is_ok());
        assert!(regex_for("^[a-z]+$").unwrap().is_match("ACME"));
    }

    #[test]
    fn trees_report_errors_by_path() {
        let tree = Rule::from_json(
            r#"{"or": [
                {"and": [{"subject": "email", "op": "is_empty"}, {"subject": "email", "op": ">", "values": ["a"]}]},
                {"subject": "status", "op": "=", "values": [{"status": "active"}]}
            ]}"#,
        )
        .unwrap();
        let err = compile_tree(&tree, &catalog()).unwrap_err();
        assert_eq!(err.location, Some(Location::Tree { path: vec![0, 1] }));
        assert!(err.to_string().starts_with("condition 2 of set 1: \">\" does not apply to email"));
    }

    #[test]
    fn trees_are_checked_for_shape_too() {
        let empty = Rule::Or(vec![parse("email is empty").unwrap(), Rule::And(vec![])]);
        let err = compile_tree(&empty, &catalog()).unwrap_err();
        assert_eq!(err.to_string(), "condition 2: \"and\" needs at least one condition");
        let wrong_arity = Rule::Condition(Condition::Compare(Comparison {
            subject: Subject::CreatedAt,
            op: Op::Between,
            values: vec![Value::Relative(crate::rule::RelativeDate::TODAY)],
        }));
        assert_eq!(compile_tree(&wrong_arity, &catalog()).unwrap_err().message, "\"between\" takes two values");
        let lone = Rule::And(vec![parse("email is empty").unwrap()]);
        assert_eq!(compile_tree(&lone, &catalog()).unwrap(), parse("email is empty").unwrap());
        let deep = (0..=MAX_DEPTH).fold(parse("email is empty").unwrap(), |r, _| Rule::Not(Box::new(r)));
        assert!(compile_tree(&deep, &catalog()).unwrap_err().message.contains("more than 60 deep"));
    }

    #[test]
    fn groups_are_found_by_id_after_a_rename() {
        let renamed = Rule::Condition(Condition::MemberOf(GroupRef { id: Some(13), name: "Old name".into() }));
        assert_eq!(compile_tree(&renamed, &catalog()).unwrap().to_string(), r#"member_of("Drivers")"#);
        let gone = Rule::Condition(Condition::MemberOf(GroupRef { id: Some(99), name: "Temps".into() }));
        assert_eq!(compile_tree(&gone, &catalog()).unwrap_err().message, "group #99 (\"Temps\") no longer exists");
    }

    #[test]
    fn a_rule_too_long_once_resolved_is_refused() {
        let mut catalog = catalog();
        catalog.fields.push(field(&"x".repeat(64), "X", FieldType::Text, &[]));
        let text = vec![r#"field("X") is empty"#; 400].join(" or ");
        assert!(text.len() < MAX_TEXT_LEN);
        let err = compile_text(&text, &catalog).unwrap_err();
        assert_eq!(err.message, "the rule would be longer than 10000 characters once written out");
    }
}
