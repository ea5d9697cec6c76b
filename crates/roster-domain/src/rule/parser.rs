//! Reads the text form into a tree: a hand-written recursive descent over the tokens,
//! bounded in length and nesting so that no input can exhaust the stack.

use super::ast::{
    Arity, Comparison, Condition, CourseStatus, GroupRef, Op, RelativeDate, Rule, Subject, Value, MAX_DEPTH,
};
use super::lexer::{tokens, Tok, Token};
use super::suggest::{closest, hint};
use super::RuleError;
use crate::UserStatus;

/// The longest rule text, in characters.
pub const MAX_TEXT_LEN: usize = 10_000;
/// How deeply parentheses and `not` may nest in the text.
pub const MAX_NESTING: usize = 64;

/// Words that join conditions and so cannot start one or be a value.
const CONNECTIVES: [&str; 3] = ["and", "or", "not"];

/// Where the parts of one condition start in the text (bytes), for the checker's errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConditionSpans {
    /// The subject, or the quoted name of a field, course or group.
    pub subject: usize,
    /// The operator (for `member_of`, the group's name).
    pub op: usize,
    /// Each value.
    pub values: Vec<usize>,
}

/// A tree and the spans of its conditions, in the order [`Rule::conditions`] gives.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub rule: Rule,
    pub spans: Vec<ConditionSpans>,
}

/// Parses a rule's text into a canonical tree, checking its syntax only.
pub fn parse(text: &str) -> Result<Rule, RuleError> {
    parse_with_spans(text).map(|parsed| parsed.rule)
}

/// Parses a rule's text, keeping where each condition's parts are.
pub(crate) fn parse_with_spans(text: &str) -> Result<Parsed, RuleError> {
    if let Some((offset, _)) = text.char_indices().nth(MAX_TEXT_LEN) {
        return Err(RuleError::at(text, offset, format!("a rule may have at most {MAX_TEXT_LEN} characters")));
    }
    let mut parser = Parser { text, tokens: tokens(text)?, pos: 0, nesting: 0, spans: Vec::new() };
    let rule = parser.or()?;
    let next = parser.advance();
    match next.tok {
        Tok::End => Ok(Parsed { rule, spans: parser.spans }),
        Tok::RParen => Err(parser.error(&next, "this \")\" closes no \"(\"")),
        _ => Err(parser
            .error(&next, format!("expected \"and\", \"or\" or the end of the rule, found {}", parser.found(&next)))),
    }
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    nesting: usize,
    spans: Vec<ConditionSpans>,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }

    /// The next token; at the end, [`Tok::End`] again and again.
    fn advance(&mut self) -> Token {
        let token = self.tokens[self.pos].clone();
        if token.tok != Tok::End {
            self.pos += 1;
        }
        token
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Word(w) if w == word)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let hit = self.at_word(word);
        if hit {
            self.advance();
        }
        hit
    }

    fn error(&self, token: &Token, message: impl Into<String>) -> RuleError {
        RuleError::at(self.text, token.start, message)
    }

    /// The token as written, quoted, or "the end of the rule".
    fn found(&self, token: &Token) -> String {
        match token.tok {
            Tok::End => "the end of the rule".to_owned(),
            _ => format!("\"{}\"", &self.text[token.start..token.end]),
        }
    }

    /// Fails unless the next token is the word `word`.
    fn expect_word(&mut self, word: &str, message: &str) -> Result<(), RuleError> {
        let token = self.advance();
        match &token.tok {
            Tok::Word(w) if w == word => Ok(()),
            _ => Err(self.error(&token, format!("{message}, found {}", self.found(&token)))),
        }
    }

    /// Fails unless the next token is `tok`.
    fn expect(&mut self, tok: &Tok, message: &str) -> Result<(), RuleError> {
        let token = self.advance();
        if token.tok == *tok {
            Ok(())
        } else {
            Err(self.error(&token, format!("{message}, found {}", self.found(&token))))
        }
    }

    /// Refuses a group that nests more than [`MAX_DEPTH`] deep.
    fn bounded(&self, rule: Option<Rule>, start: usize) -> Result<Rule, RuleError> {
        rule.filter(|r| r.depth() <= MAX_DEPTH).ok_or_else(|| {
            RuleError::at(self.text, start, format!("\"and\", \"or\" and \"not\" nest more than {MAX_DEPTH} deep here"))
        })
    }

    /// Enters a `(` or a `not`.
    fn nest(&mut self, token: &Token) -> Result<(), RuleError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.error(token, format!("parentheses and \"not\" nest more than {MAX_NESTING} deep here")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Rule, RuleError> {
        let start = self.tokens[self.pos].start;
        let mut members = vec![self.and()?];
        while self.eat_word("or") {
            members.push(self.and()?);
        }
        self.bounded(Rule::any(members), start)
    }

    fn and(&mut self) -> Result<Rule, RuleError> {
        let start = self.tokens[self.pos].start;
        let mut members = vec![self.unary()?];
        while self.eat_word("and") {
            members.push(self.unary()?);
        }
        self.bounded(Rule::all(members), start)
    }

    fn unary(&mut self) -> Result<Rule, RuleError> {
        match self.peek() {
            Tok::Word(w) if w == "not" => {
                let token = self.advance();
                self.nest(&token)?;
                let inner = self.unary()?;
                self.nesting -= 1;
                self.bounded(Some(Rule::Not(Box::new(inner))), token.start)
            }
            Tok::LParen => {
                let token = self.advance();
                self.nest(&token)?;
                let inner = self.or()?;
                self.expect(&Tok::RParen, "expected \"and\", \"or\" or \")\"")?;
                self.nesting -= 1;
                Ok(inner)
            }
            _ => self.condition(),
        }
    }

    fn condition(&mut self) -> Result<Rule, RuleError> {
        let token = self.advance();
        let word = match &token.tok {
            Tok::Word(w) if !CONNECTIVES.contains(&w.as_str()) => w.clone(),
            Tok::End if self.tokens.len() == 1 => {
                return Err(
                    self.error(&token, "the rule is empty: write a condition such as email contains \"@acme.com\"")
                )
            }
            _ => {
                return Err(self.error(
                    &token,
                    format!("expected a condition, such as email contains \"@acme.com\", found {}", self.found(&token)),
                ))
            }
        };
        let (subject, subject_at) = match word.as_str() {
            "field" => {
                let (field, at) = self.argument("field", "the field's code or name")?;
                (Subject::Field { field }, at)
            }
            "course" => {
                let (course, at) = self.argument("course", "the course's code")?;
                (self.course_part(course)?, at)
            }
            "member_of" => {
                let (name, at) = self.argument("member_of", "the group's name")?;
                if let Tok::Compare(_) = self.peek() {
                    let token = self.advance();
                    return Err(self.error(
                        &token,
                        "member_of takes no operator: write member_of(\"...\") or not member_of(\"...\")",
                    ));
                }
                self.spans.push(ConditionSpans { subject: at, op: at, values: Vec::new() });
                return Ok(Rule::Condition(Condition::MemberOf(GroupRef { id: None, name })));
            }
            other => match Subject::standard(other) {
                Some(subject) => (subject, token.start),
                None => {
                    let names = Subject::STANDARD.map(|s| s.name());
                    let candidates = names.into_iter().chain(["field", "course", "member_of"]);
                    return Err(self.error(
                        &token,
                        format!(
                            "unknown subject \"{}\"{}",
                            &self.text[token.start..token.end],
                            hint(other, candidates)
                        ),
                    ));
                }
            },
        };
        let (op, op_at) = self.op(&subject)?;
        let mut values = Vec::new();
        let mut value_spans = Vec::new();
        let mut push = |(value, at)| {
            values.push(value);
            value_spans.push(at);
        };
        match op.arity() {
            Arity::None => {}
            Arity::One => push(self.value(op.text())?),
            Arity::Two => {
                push(self.value(op.text())?);
                self.expect_word("and", "expected \"and\" between the two values of \"between\"")?;
                push(self.value("and")?);
            }
            Arity::List => {
                self.expect(&Tok::LParen, &format!("expected \"(\" after \"{}\", as in in (\"a\", \"b\")", op.text()))?;
                push(self.value("(")?);
                while *self.peek() == Tok::Comma {
                    self.advance();
                    push(self.value(",")?);
                }
                self.expect(&Tok::RParen, "expected \",\" or \")\" in the list")?;
            }
        }
        self.spans.push(ConditionSpans { subject: subject_at, op: op_at, values: value_spans });
        Ok(Rule::Condition(Condition::Compare(Comparison { subject, op, values })))
    }

    /// `("...")` after `field`, `course` or `member_of`: the text and where it starts.
    fn argument(&mut self, function: &str, what: &str) -> Result<(String, usize), RuleError> {
        let example = format!("as in {function}(\"...\")");
        self.expect(&Tok::LParen, &format!("expected \"(\" after {function}, {example}"))?;
        let token = self.advance();
        let Tok::Str(argument) = token.tok else {
            return Err(self
                .error(&token, format!("expected {what} in double quotes, {example}, found {}", self.found(&token))));
        };
        self.expect(&Tok::RParen, &format!("expected \")\" after {what}"))?;
        Ok((argument, token.start))
    }

    /// After `course("X")`: nothing, `.enrolled_at` or `.completed_at`.
    fn course_part(&mut self, course: String) -> Result<Subject, RuleError> {
        if *self.peek() != Tok::Dot {
            return Ok(Subject::Course { course });
        }
        self.advance();
        let token = self.advance();
        match &token.tok {
            Tok::Word(w) if w == "enrolled_at" => Ok(Subject::CourseEnrolledAt { course }),
            Tok::Word(w) if w == "completed_at" => Ok(Subject::CourseCompletedAt { course }),
            _ => Err(self.error(
                &token,
                format!("expected enrolled_at or completed_at after the \".\", found {}", self.found(&token)),
            )),
        }
    }

    fn op(&mut self, subject: &Subject) -> Result<(Op, usize), RuleError> {
        let token = self.advance();
        let op = match &token.tok {
            Tok::Compare(op) => *op,
            Tok::Word(w) => match w.as_str() {
                "contains" => Op::Contains,
                "matches" => Op::Matches,
                "in" => Op::In,
                "between" => Op::Between,
                "under" => Op::Under,
                "starts" => self.with(Op::StartsWith)?,
                "ends" => self.with(Op::EndsWith)?,
                "is" => {
                    let negated = self.eat_word("not");
                    self.expect_word("empty", "expected \"empty\" after \"is\"")?;
                    if negated {
                        Op::IsNotEmpty
                    } else {
                        Op::IsEmpty
                    }
                }
                "not" => self.negated_op()?,
                _ => {
                    let written = &self.text[token.start..token.end];
                    return Err(self.error(
                        &token,
                        format!("unknown operator \"{written}\"{}", hint(written, Op::ALL.map(Op::text))),
                    ));
                }
            },
            _ => {
                return Err(self.error(
                    &token,
                    format!(
                        "expected an operator after {subject}, such as = or contains, found {}",
                        self.found(&token)
                    ),
                ))
            }
        };
        Ok((op, token.start))
    }

    /// `with` after `starts` or `ends`.
    fn with(&mut self, op: Op) -> Result<Op, RuleError> {
        self.expect_word("with", &format!("expected \"{}\"", op.text()))?;
        Ok(op)
    }

    /// The operator after `not`.
    fn negated_op(&mut self) -> Result<Op, RuleError> {
        let token = self.advance();
        if let Tok::Word(w) = &token.tok {
            match w.as_str() {
                "contains" => return Ok(Op::NotContains),
                "matches" => return Ok(Op::NotMatches),
                "in" => return Ok(Op::NotIn),
                "under" => return Ok(Op::NotUnder),
                "starts" => return self.with(Op::NotStartsWith),
                "ends" => return self.with(Op::NotEndsWith),
                _ => {}
            }
        }
        Err(self.error(
            &token,
            format!(
                "expected contains, starts with, ends with, matches, in or under after \"not\", found {}",
                self.found(&token)
            ),
        ))
    }

    /// One value, written after `after`.
    fn value(&mut self, after: &str) -> Result<(Value, usize), RuleError> {
        let token = self.advance();
        let value = match &token.tok {
            Tok::Str(s) => Value::Text(s.clone()),
            Tok::Number(n) => Value::Number(*n),
            Tok::Date(d) => Value::Date(*d),
            Tok::Minus => {
                let number = self.advance();
                match number.tok {
                    Tok::Number(n) => Value::Number(-n),
                    _ => {
                        return Err(self
                            .error(&number, format!("expected a number after \"-\", found {}", self.found(&number))))
                    }
                }
            }
            Tok::Word(w) if w == "today" => Value::Relative(self.relative()?),
            Tok::Word(w) if !CONNECTIVES.contains(&w.as_str()) => self.word_value(&token, w)?,
            Tok::Offset(..) => {
                return Err(self.error(
                    &token,
                    format!(
                        "an amount of time such as {} comes after \"today -\" or \"today +\"",
                        &self.text[token.start..token.end]
                    ),
                ))
            }
            _ => {
                return Err(
                    self.error(&token, format!("expected a value after \"{after}\", found {}", self.found(&token)))
                )
            }
        };
        Ok((value, token.start))
    }

    /// After `today`: nothing, or `+`/`-` and an amount of time.
    fn relative(&mut self) -> Result<RelativeDate, RuleError> {
        let sign = match self.peek() {
            Tok::Plus => 1,
            Tok::Minus => -1,
            _ => return Ok(RelativeDate::TODAY),
        };
        let sign_token = self.advance();
        let token = self.advance();
        match token.tok {
            Tok::Offset(amount, unit) => Ok(RelativeDate { offset: sign * amount, unit }),
            _ => Err(self.error(
                &token,
                format!(
                    "expected an amount of time after \"today {}\", such as 90d (days), 2w, 6m or 1y, found {}",
                    &self.text[sign_token.start..sign_token.end],
                    self.found(&token)
                ),
            )),
        }
    }

    /// A bare word as a value: yes, no, a user status or a course status.
    fn word_value(&self, token: &Token, word: &str) -> Result<Value, RuleError> {
        if let Some((_, value)) = word_values().find(|(w, _)| *w == word) {
            return Ok(value);
        }
        let written = &self.text[token.start..token.end];
        let message = match closest(word, word_values().map(|(w, _)| w)) {
            Some(name) => format!("unknown value \"{written}\" — did you mean \"{name}\"?"),
            None => format!("unknown value {written} — write text in double quotes: \"{written}\""),
        };
        Err(self.error(token, message))
    }
}

/// The bare words that are values.
fn word_values() -> impl Iterator<Item = (&'static str, Value)> {
    let statuses = UserStatus::ALL.iter().map(|s| (s.as_str(), Value::Status(*s)));
    let courses = CourseStatus::ALL.iter().map(|s| (s.as_str(), Value::CourseStatus(*s)));
    [("yes", Value::YesNo(true)), ("no", Value::YesNo(false))].into_iter().chain(statuses).chain(courses)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::rule::ast::DateUnit;
    use crate::rule::Location;

    fn leaf(subject: Subject, op: Op, values: Vec<Value>) -> Rule {
        Rule::Condition(Condition::Compare(Comparison { subject, op, values }))
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    /// The error's position and message, as `line:column message`.
    fn error(input: &str) -> String {
        let err = parse(input).unwrap_err();
        match err.location {
            Some(Location::Text { line, column }) => format!("{line}:{column} {}", err.message),
            other => panic!("no text position in {other:?}"),
        }
    }

    #[test]
    fn reads_the_design_examples() {
        for example in [
            r#"email contains "@acme.com""#,
            r#"course("DRV-101") = completed"#,
            r#"field("Department") in ("Sales", "Marketing") and branch under "EMEA""#,
            r#"field("Hire Date") < today - 90d and not member_of("Contractors")"#,
            r#"(field("Role") = "Driver" or field("Job Title") starts with "Driver") and status = active"#,
            r#"course("SAFE-2") = completed and course("SAFE-2").completed_at >= today - 365d"#,
        ] {
            let rule = parse(example).unwrap();
            assert_eq!(rule.to_string(), example);
        }
    }

    #[test]
    fn not_binds_tighter_than_and_and_and_than_or() {
        let a = leaf(Subject::Email, Op::IsEmpty, vec![]);
        let b = leaf(Subject::Username, Op::IsEmpty, vec![]);
        let c = leaf(Subject::Language, Op::IsEmpty, vec![]);
        let not_a = Rule::Not(Box::new(a.clone()));
        assert_eq!(
            parse("email is empty or username is empty and language is empty").unwrap(),
            Rule::Or(vec![a.clone(), Rule::And(vec![b.clone(), c.clone()])])
        );
        assert_eq!(
            parse("not email is empty and username is empty").unwrap(),
            Rule::And(vec![not_a.clone(), b.clone()])
        );
        assert_eq!(
            parse("(email is empty or username is empty) and language is empty").unwrap(),
            Rule::And(vec![Rule::Or(vec![a.clone(), b.clone()]), c.clone()])
        );
        assert_eq!(
            parse("not (email is empty or username is empty)").unwrap(),
            Rule::Not(Box::new(Rule::Or(vec![a.clone(), b.clone()])))
        );
        assert_eq!(parse("not not email is empty").unwrap(), Rule::Not(Box::new(not_a)));
        assert_eq!(
            parse("(email is empty and username is empty) and ((language is empty))").unwrap(),
            Rule::And(vec![a, b, c])
        );
    }

    #[test]
    fn keywords_and_enum_words_ignore_case() {
        assert_eq!(
            parse(r#"EMAIL Not Starts WITH "x" AND Status = ACTIVE OR course("c") In (Not_Enrolled)"#)
                .unwrap()
                .to_string(),
            r#"email not starts with "x" and status = active or course("c") in (not_enrolled)"#
        );
    }

    #[test]
    fn reads_every_operator() {
        let cases = [
            ("= 1", Op::Eq),
            ("!= 1", Op::Ne),
            ("< 1", Op::Lt),
            ("<= 1", Op::Le),
            ("> 1", Op::Gt),
            (">= 1", Op::Ge),
            ("contains 1", Op::Contains),
            ("not contains 1", Op::NotContains),
            ("starts with 1", Op::StartsWith),
            ("not starts with 1", Op::NotStartsWith),
            ("ends with 1", Op::EndsWith),
            ("not ends with 1", Op::NotEndsWith),
            ("matches 1", Op::Matches),
            ("not matches 1", Op::NotMatches),
            ("in (1)", Op::In),
            ("not in (1)", Op::NotIn),
            ("between 1 and 1", Op::Between),
            ("is empty", Op::IsEmpty),
            ("is not empty", Op::IsNotEmpty),
            ("under 1", Op::Under),
            ("not under 1", Op::NotUnder),
        ];
        for (written, op) in cases {
            let rule = parse(&format!("branch {written}")).unwrap();
            let Rule::Condition(Condition::Compare(comparison)) = rule else { panic!("{written}: not a comparison") };
            assert_eq!(comparison.op, op, "{written}");
        }
        assert_eq!(cases.len(), Op::ALL.len());
    }

    #[test]
    fn reads_every_kind_of_value() {
        let rule = parse(
            r#"field("f") in ("a\"b", -2.5, 7, 2024-02-29, today, today - 90d, today + 2w, today-6M, today + 1y,
               yes, No, active, suspended, enrolled, in_progress, completed, failed, not_enrolled)"#,
        )
        .unwrap();
        let relative = |offset, unit| Value::Relative(RelativeDate { offset, unit });
        let expected = vec![
            text("a\"b"),
            Value::Number(-2.5),
            Value::Number(7.0),
            Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
            Value::Relative(RelativeDate::TODAY),
            relative(-90, DateUnit::Day),
            relative(2, DateUnit::Week),
            relative(-6, DateUnit::Month),
            relative(1, DateUnit::Year),
            Value::YesNo(true),
            Value::YesNo(false),
            Value::Status(UserStatus::Active),
            Value::Status(UserStatus::Suspended),
            Value::CourseStatus(CourseStatus::Enrolled),
            Value::CourseStatus(CourseStatus::InProgress),
            Value::CourseStatus(CourseStatus::Completed),
            Value::CourseStatus(CourseStatus::Failed),
            Value::CourseStatus(CourseStatus::NotEnrolled),
        ];
        assert_eq!(rule, leaf(Subject::Field { field: "f".into() }, Op::In, expected));
    }

    #[test]
    fn reads_every_subject() {
        for subject in Subject::STANDARD {
            let rule = parse(&format!("{} is empty", subject.name())).unwrap();
            assert_eq!(rule, leaf(subject, Op::IsEmpty, vec![]));
        }
        let course = |s: &str| parse(&format!("{s} is empty")).unwrap();
        assert_eq!(
            course(r#"course("X").enrolled_at"#),
            leaf(Subject::CourseEnrolledAt { course: "X".into() }, Op::IsEmpty, vec![])
        );
        assert_eq!(
            course(r#"course("X") . completed_at"#),
            leaf(Subject::CourseCompletedAt { course: "X".into() }, Op::IsEmpty, vec![])
        );
        assert_eq!(
            parse(r#"member_of("Contractors")"#).unwrap(),
            Rule::Condition(Condition::MemberOf(GroupRef { id: None, name: "Contractors".into() }))
        );
    }

    #[test]
    fn errors_name_the_position_and_what_was_expected() {
        let cases = [
            (r#"email contains"#, r#"1:15 expected a value after "contains", found the end of the rule"#),
            (r#"emial = "x""#, r#"1:1 unknown subject "emial" — did you mean "email"?"#),
            (r#"email containz "x""#, r#"1:7 unknown operator "containz" — did you mean "contains"?"#),
            ("email = \"x\"\n  and status = actve", r#"2:16 unknown value "actve" — did you mean "active"?"#),
            (r#"email = acme"#, r#"1:9 unknown value acme — write text in double quotes: "acme""#),
            (r#"(email = "x""#, r#"1:13 expected "and", "or" or ")", found the end of the rule"#),
            (r#"email = "x")"#, r#"1:12 this ")" closes no "(""#),
            (r#"email = "x" status = active"#, r#"1:13 expected "and", "or" or the end of the rule, found "status""#),
            (
                r#"field(Department) = "x""#,
                r#"1:7 expected the field's code or name in double quotes, as in field("..."), found "Department""#,
            ),
            (r#"field "x" = 1"#, r#"1:7 expected "(" after field, as in field("..."), found ""x"""#),
            (
                r#"course("X").started_at = today"#,
                r#"1:13 expected enrolled_at or completed_at after the ".", found "started_at""#,
            ),
            (
                r#"member_of("G") = yes"#,
                r#"1:16 member_of takes no operator: write member_of("...") or not member_of("...")"#,
            ),
            (
                r#"created_at > today - 90"#,
                r#"1:22 expected an amount of time after "today -", such as 90d (days), 2w, 6m or 1y, found "90""#,
            ),
            (r#"created_at > 90d"#, r#"1:14 an amount of time such as 90d comes after "today -" or "today +""#),
            (r#"field("n") between 1 2"#, r#"1:22 expected "and" between the two values of "between", found "2""#),
            (r#"status in active"#, r#"1:11 expected "(" after "in", as in in ("a", "b"), found "active""#),
            (r#"status in (active suspended)"#, r#"1:19 expected "," or ")" in the list, found "suspended""#),
            (r#"status in ()"#, r#"1:12 expected a value after "(", found ")""#),
            (r#"email is full"#, r#"1:10 expected "empty" after "is", found "full""#),
            (
                r#"email not equals "x""#,
                r#"1:11 expected contains, starts with, ends with, matches, in or under after "not", found "equals""#,
            ),
            (r#"email starts "x""#, r#"1:14 expected "starts with", found ""x"""#),
            (r#"email"#, r#"1:6 expected an operator after email, such as = or contains, found the end of the rule"#),
            (r#"email = - "x""#, r#"1:11 expected a number after "-", found ""x"""#),
            (r#"and email = "x""#, r#"1:1 expected a condition, such as email contains "@acme.com", found "and""#),
            (
                r#"email = "x" and"#,
                r#"1:16 expected a condition, such as email contains "@acme.com", found the end of the rule"#,
            ),
            (r#"email = or"#, r#"1:9 expected a value after "=", found "or""#),
            ("  ", r#"1:3 the rule is empty: write a condition such as email contains "@acme.com""#),
            ("created_at = 2023-02-30", "1:14 2023-02-30 is not a date that exists"),
        ];
        for (input, expected) in cases {
            assert_eq!(error(input), expected, "{input}");
        }
    }

    #[test]
    fn text_longer_than_the_limit_is_refused() {
        let fitting = format!("email = \"{}\"", "a".repeat(MAX_TEXT_LEN - 10));
        assert_eq!(fitting.chars().count(), MAX_TEXT_LEN);
        assert!(parse(&fitting).is_ok());
        let long = format!("email = \"{}\"", "é".repeat(MAX_TEXT_LEN - 9));
        assert_eq!(error(&long), "1:10001 a rule may have at most 10000 characters");
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused_without_overflow() {
        let parens = |n: usize| format!("{}email is empty{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&parens(MAX_NESTING)).is_ok());
        assert_eq!(error(&parens(MAX_NESTING + 1)), "1:65 parentheses and \"not\" nest more than 64 deep here");
        assert!(error(&"(".repeat(MAX_TEXT_LEN)).contains("nest more than 64"));
        let nots = |n: usize| format!("{}email is empty", "not ".repeat(n));
        assert!(parse(&nots(MAX_DEPTH)).is_ok());
        assert_eq!(error(&nots(MAX_DEPTH + 1)), "1:1 \"and\", \"or\" and \"not\" nest more than 60 deep here");
        assert!(error(&nots(MAX_NESTING + 1)).contains("nest more than 64"));
        let alternating = (0..MAX_NESTING).fold("email is empty".to_owned(), |inner, i| {
            let joiner = if i % 2 == 0 { "or" } else { "and" };
            format!("username is empty {joiner} ({inner})")
        });
        assert!(error(&alternating).contains("nest more than 60 deep"));
    }
}
