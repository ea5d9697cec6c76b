//! The canonical text form: one spelling per tree, lower-case keywords, the fewest
//! parentheses (`not` binds tighter than `and`, `and` tighter than `or`), so that
//! parsing what is printed gives the same tree back.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{Arity, Comparison, Condition, Op, RelativeDate, Rule, Subject, Value};

/// How tightly an expression binds; a member binding looser than its place needs
/// parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Binding {
    Or,
    And,
    Unary,
}

impl Display for Rule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_rule(f, self, Binding::Or)
    }
}

fn write_rule(f: &mut Formatter<'_>, rule: &Rule, place: Binding) -> fmt::Result {
    match rule {
        Rule::Or(members) => write_group(f, members, Binding::Or, place),
        Rule::And(members) => write_group(f, members, Binding::And, place),
        Rule::Not(inner) => {
            f.write_str("not ")?;
            write_rule(f, inner, Binding::Unary)
        }
        Rule::Condition(condition) => condition.fmt(f),
    }
}

/// An `and` or `or`. A lone member prints as itself; an empty group, which no parser,
/// JSON reading or check produces, prints as `()`, which does not parse.
fn write_group(f: &mut Formatter<'_>, members: &[Rule], binding: Binding, place: Binding) -> fmt::Result {
    match members {
        [] => f.write_str("()"),
        [only] => write_rule(f, only, place),
        _ => {
            let parenthesised = binding < place;
            if parenthesised {
                f.write_char('(')?;
            }
            let separator = if binding == Binding::Or { " or " } else { " and " };
            for (i, member) in members.iter().enumerate() {
                if i > 0 {
                    f.write_str(separator)?;
                }
                write_rule(f, member, binding)?;
            }
            if parenthesised {
                f.write_char(')')?;
            }
            Ok(())
        }
    }
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Condition::MemberOf(group) => write!(f, "member_of({})", Quoted(&group.name)),
            Condition::Compare(comparison) => comparison.fmt(f),
        }
    }
}

impl Display for Comparison {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.subject, self.op)?;
        match (self.op.arity(), self.values.as_slice()) {
            (Arity::Two, [low, high]) => write!(f, " {low} and {high}"),
            (Arity::List, values) => {
                f.write_str(" (")?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    value.fmt(f)?;
                }
                f.write_char(')')
            }
            (_, values) => values.iter().try_for_each(|value| write!(f, " {value}")),
        }
    }
}

impl Display for Subject {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Field { field } => write!(f, "field({})", Quoted(field)),
            Subject::Course { course } => write!(f, "course({})", Quoted(course)),
            Subject::CourseEnrolledAt { course } => {
                write!(f, "course({}).enrolled_at", Quoted(course))
            }
            Subject::CourseCompletedAt { course } => {
                write!(f, "course({}).completed_at", Quoted(course))
            }
            standard => f.write_str(standard.name()),
        }
    }
}

impl Display for Op {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) => Quoted(text).fmt(f),
            Value::Number(n) => n.fmt(f),
            Value::Date(date) => date.fmt(f),
            Value::Relative(relative) => relative.fmt(f),
            Value::YesNo(yes) => f.write_str(if *yes { "yes" } else { "no" }),
            Value::Status(status) => f.write_str(status.as_str()),
            Value::CourseStatus(status) => f.write_str(status.as_str()),
        }
    }
}

impl Display for RelativeDate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if *self == RelativeDate::TODAY {
            return f.write_str("today");
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        write!(f, "today {sign} {}{}", self.offset.unsigned_abs(), self.unit.letter())
    }
}

/// A string in double quotes, with `"`, `\` and control characters escaped.
struct Quoted<'a>(&'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\t' => f.write_str("\\t")?,
                '\r' => f.write_str("\\r")?,
                c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;
    use crate::rule::ast::DateUnit;
    use crate::rule::parse;

    fn leaf(subject: Subject, op: Op, values: Vec<Value>) -> Rule {
        Rule::Condition(Condition::Compare(Comparison { subject, op, values }))
    }

    #[test]
    fn parentheses_only_where_precedence_needs_them() {
        let a = leaf(Subject::Email, Op::IsEmpty, vec![]);
        let b = leaf(Subject::Username, Op::IsEmpty, vec![]);
        let or = Rule::Or(vec![a.clone(), b.clone()]);
        let and = Rule::And(vec![a.clone(), b.clone()]);
        assert_eq!(
            Rule::And(vec![or.clone(), a.clone()]).to_string(),
            "(email is empty or username is empty) and email is empty"
        );
        assert_eq!(
            Rule::Or(vec![and.clone(), a.clone()]).to_string(),
            "email is empty and username is empty or email is empty"
        );
        assert_eq!(Rule::Not(Box::new(and)).to_string(), "not (email is empty and username is empty)");
        assert_eq!(Rule::Not(Box::new(Rule::Not(Box::new(a.clone())))).to_string(), "not not email is empty");
        assert_eq!(Rule::Or(vec![a]).to_string(), "email is empty");
        assert_eq!(Rule::And(vec![]).to_string(), "()");
    }

    #[test]
    fn values_print_in_their_canonical_spelling() {
        let cases = [
            (Value::Text("say \"hi\"\\\n\t\r\u{1}é".into()), r#""say \"hi\"\\\n\t\r\u{1}é""#),
            (Value::Number(-2.5), "-2.5"),
            (Value::Number(1e21), "1000000000000000000000"),
            (Value::Number(3.0), "3"),
            (Value::Relative(RelativeDate::TODAY), "today"),
            (Value::Relative(RelativeDate { offset: -90, unit: DateUnit::Day }), "today - 90d"),
            (Value::Relative(RelativeDate { offset: 0, unit: DateUnit::Week }), "today + 0w"),
            (Value::Relative(RelativeDate { offset: 6, unit: DateUnit::Month }), "today + 6m"),
            (Value::YesNo(false), "no"),
        ];
        for (value, text) in cases {
            assert_eq!(value.to_string(), text);
            let rule = leaf(Subject::Field { field: "f".into() }, Op::Eq, vec![value]);
            assert_eq!(parse(&rule.to_string()).unwrap(), rule);
        }
    }

    #[test]
    fn operators_print_with_their_values() {
        let f = || Subject::Field { field: "a \"b\"".into() };
        let one = || Value::Number(1.0);
        assert_eq!(leaf(f(), Op::IsNotEmpty, vec![]).to_string(), r#"field("a \"b\"") is not empty"#);
        assert_eq!(leaf(f(), Op::NotIn, vec![one(), one()]).to_string(), r#"field("a \"b\"") not in (1, 1)"#);
        assert_eq!(leaf(f(), Op::Between, vec![one(), one()]).to_string(), r#"field("a \"b\"") between 1 and 1"#);
        assert_eq!(
            leaf(Subject::CourseEnrolledAt { course: "C".into() }, Op::Gt, vec![one()]).to_string(),
            r#"course("C").enrolled_at > 1"#
        );
    }
}
