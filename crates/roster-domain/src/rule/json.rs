//! Reading the JSON form of a tree: strict, bounded in size and depth, with errors that
//! say where in the tree. Writing is serde's derive on the tree types.

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::ast::{
    Comparison, Condition, CourseStatus, GroupRef, Op, RelativeDate, Rule, Subject, Value, MAX_DEPTH, MAX_OFFSET,
};
use super::lexer::parse_date;
use super::suggest::hint;
use super::RuleError;
use crate::UserStatus;

/// The largest JSON tree [`Rule::from_json`] reads, in bytes.
pub const MAX_JSON_LEN: usize = 256 * 1024;

impl Rule {
    /// Reads a JSON tree, refusing one over [`MAX_JSON_LEN`] bytes or nested deeper than
    /// [`MAX_DEPTH`]; the tree comes back canonical (see [`Rule`]) but unchecked.
    pub fn from_json(json: &str) -> Result<Rule, RuleError> {
        if json.len() > MAX_JSON_LEN {
            return Err(RuleError::new(format!("a rule's JSON may have at most {MAX_JSON_LEN} bytes")));
        }
        let json: Json =
            serde_json::from_str(json).map_err(|e| RuleError::new(format!("the rule is not valid JSON: {e}")))?;
        rule(&json, &mut Vec::new(), 0)
    }
}

// serde's JSON reader stops at 128 nested arrays and objects, so the `Json` read first
// is bounded; the conversion then bounds the rule's own depth.
macro_rules! deserialize_through_json {
    ($ty:ty, $read:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let json = Json::deserialize(deserializer)?;
                $read(&json).map_err(de::Error::custom)
            }
        }
    };
}

deserialize_through_json!(Rule, |json| rule(json, &mut Vec::new(), 0));
deserialize_through_json!(Condition, |json| condition(json, &[]));
deserialize_through_json!(Comparison, |json| comparison(json, &[]));
deserialize_through_json!(Value, |json| value(json, &[]));

const SHAPES: &str = "expected {\"and\": [...]}, {\"or\": [...]}, {\"not\": {...}}, \
                      {\"member_of\": {...}} or {\"subject\": ..., \"op\": ..., \"values\": [...]}";

fn rule(json: &Json, path: &mut Vec<usize>, depth: usize) -> Result<Rule, RuleError> {
    if depth > MAX_DEPTH {
        return Err(RuleError::in_tree(
            path,
            format!("\"and\", \"or\" and \"not\" nest more than {MAX_DEPTH} deep here"),
        ));
    }
    let Some((key, inner)) = single_entry(json) else {
        return condition(json, path).map(Rule::Condition);
    };
    let join = match key {
        "and" => Rule::all,
        "or" => Rule::any,
        "not" => return Ok(Rule::Not(Box::new(rule(inner, path, depth + 1)?))),
        _ => return condition(json, path).map(Rule::Condition),
    };
    let Some(items) = inner.as_array() else {
        return Err(RuleError::in_tree(path, format!("\"{key}\" takes a list of conditions")));
    };
    let mut members = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        path.push(i);
        members.push(rule(item, path, depth + 1)?);
        path.pop();
    }
    // A canonical tree is never deeper than the JSON it came from, so the bound above
    // holds for it too.
    join(members).ok_or_else(|| RuleError::in_tree(path, format!("\"{key}\" needs at least one condition")))
}

fn condition(json: &Json, path: &[usize]) -> Result<Condition, RuleError> {
    let object = json.as_object().ok_or_else(|| RuleError::in_tree(path, SHAPES))?;
    match object.get("member_of") {
        Some(group) if object.len() == 1 => GroupRef::deserialize(group)
            .map(Condition::MemberOf)
            .map_err(|e| RuleError::in_tree(path, format!("member_of: {e}"))),
        Some(_) => Err(RuleError::in_tree(path, "member_of takes nothing else: no subject, op or values")),
        None => comparison(json, path).map(Condition::Compare),
    }
}

fn comparison(json: &Json, path: &[usize]) -> Result<Comparison, RuleError> {
    let fail = |message: String| RuleError::in_tree(path, message);
    let object = json.as_object().ok_or_else(|| fail(SHAPES.to_owned()))?;
    let name = text(object, "subject", path)?.ok_or_else(|| fail(SHAPES.to_owned()))?;
    let argument = match name {
        "field" => Some("field"),
        "course" | "course_enrolled_at" | "course_completed_at" => Some("course"),
        _ => None,
    };
    let allowed = ["subject", "op", "values"].into_iter().chain(argument);
    if let Some(unknown) = object.keys().find(|k| !allowed.clone().any(|a| a == k.as_str())) {
        return Err(fail(format!("unknown key \"{unknown}\"{}", hint(unknown, allowed))));
    }
    let subject = match argument {
        Some(key) => {
            let code = text(object, key, path)?
                .ok_or_else(|| fail(format!("subject \"{name}\" needs \"{key}\": its code")))?
                .to_owned();
            match name {
                "field" => Subject::Field { field: code },
                "course" => Subject::Course { course: code },
                "course_enrolled_at" => Subject::CourseEnrolledAt { course: code },
                _ => Subject::CourseCompletedAt { course: code },
            }
        }
        None => Subject::standard(name).ok_or_else(|| {
            let names = Subject::STANDARD.map(|s| s.name());
            let candidates = names.into_iter().chain(["field", "course", "course_enrolled_at", "course_completed_at"]);
            fail(format!("unknown subject \"{name}\"{}", hint(name, candidates)))
        })?,
    };
    let op_name = text(object, "op", path)?.ok_or_else(|| fail("\"op\" is missing".to_owned()))?;
    let op = Op::from_json_name(op_name)
        .ok_or_else(|| fail(format!("unknown op \"{op_name}\"{}", hint(op_name, Op::ALL.map(Op::json_name)))))?;
    let values = match object.get("values") {
        None => Vec::new(),
        Some(Json::Array(items)) => items.iter().map(|v| value(v, path)).collect::<Result<_, _>>()?,
        Some(_) => return Err(fail("\"values\" must be a list".to_owned())),
    };
    op.check_arity(values.len()).map_err(fail)?;
    Ok(Comparison { subject, op, values })
}

/// The string under `key`, if present; an error if it is not a string.
fn text<'a>(object: &'a Map<String, Json>, key: &str, path: &[usize]) -> Result<Option<&'a str>, RuleError> {
    match object.get(key) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(RuleError::in_tree(path, format!("\"{key}\" must be a string"))),
    }
}

fn value(json: &Json, path: &[usize]) -> Result<Value, RuleError> {
    let fail = |message: String| RuleError::in_tree(path, message);
    match json {
        Json::String(s) => Ok(Value::Text(s.clone())),
        Json::Bool(b) => Ok(Value::YesNo(*b)),
        Json::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Value::Number)
            .ok_or_else(|| fail(format!("{n} is not a finite number"))),
        _ => match single_entry(json) {
            Some((key, inner)) => tagged_value(key, inner).map_err(fail),
            None => Err(fail(VALUE_SHAPES.to_owned())),
        },
    }
}

/// A value written as `{"date": ...}`, `{"today": ...}`, `{"status": ...}` or
/// `{"course_status": ...}`.
fn tagged_value(key: &str, inner: &Json) -> Result<Value, String> {
    let as_str = || inner.as_str().ok_or_else(|| format!("\"{key}\" takes a string"));
    match key {
        "date" => {
            let raw = as_str()?;
            parse_date(raw)
                .map(Value::Date)
                .ok_or_else(|| format!("\"{raw}\" is not a date that exists, written YYYY-MM-DD"))
        }
        "today" => {
            let relative = RelativeDate::deserialize(inner).map_err(|e| format!("today: {e}"))?;
            if relative.offset.unsigned_abs() > MAX_OFFSET.unsigned_abs() {
                return Err(format!("today: the offset may be at most {MAX_OFFSET} either way"));
            }
            Ok(Value::Relative(relative))
        }
        "status" => {
            UserStatus::parse("status", as_str()?).map(Value::Status).map_err(|e| format!("status: {}", e.message))
        }
        "course_status" => {
            CourseStatus::deserialize(inner).map(Value::CourseStatus).map_err(|e| format!("course_status: {e}"))
        }
        _ => Err(VALUE_SHAPES.to_owned()),
    }
}

/// The key and value of an object with exactly one entry.
fn single_entry(json: &Json) -> Option<(&str, &Json)> {
    let object = json.as_object().filter(|o| o.len() == 1)?;
    object.iter().next().map(|(key, value)| (key.as_str(), value))
}

const VALUE_SHAPES: &str = "a value is a string, a number, true or false, {\"date\": \"2024-01-31\"}, \
                            {\"today\": {\"offset\": -90, \"unit\": \"day\"}}, {\"status\": \"active\"} \
                            or {\"course_status\": \"completed\"}";

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rule::{parse, ConditionSets, Location};

    fn refused(json: &str) -> String {
        Rule::from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn writes_the_documented_shape() {
        let rule = parse(
            r#"email contains "@acme.com" and not member_of("Contractors") and course("S").completed_at >= today - 2w
               and status in (active) and field("f") between 1 and 2024-01-31 and course("S") = not_enrolled and field("y") = yes"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&rule).unwrap(),
            json!({"and": [
                {"subject": "email", "op": "contains", "values": ["@acme.com"]},
                {"not": {"member_of": {"name": "Contractors"}}},
                {"subject": "course_completed_at", "course": "S", "op": ">=",
                 "values": [{"today": {"offset": -2, "unit": "week"}}]},
                {"subject": "status", "op": "in", "values": [{"status": "active"}]},
                {"subject": "field", "field": "f", "op": "between", "values": [1.0, {"date": "2024-01-31"}]},
                {"subject": "course", "course": "S", "op": "=", "values": [{"course_status": "not_enrolled"}]},
                {"subject": "field", "field": "y", "op": "=", "values": [true]},
            ]})
        );
        assert_eq!(
            serde_json::to_value(parse("email is empty").unwrap()).unwrap(),
            json!({"subject": "email", "op": "is_empty"})
        );
    }

    #[test]
    fn reads_back_what_it_writes_and_canonicalises() {
        let rule = parse(r#"(email = "a" or username = "b") and not member_of("G") and branch not under "X""#).unwrap();
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(Rule::from_json(&json).unwrap(), rule);
        assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), rule);
        let nested = r#"{"and": [{"and": [{"subject": "email", "op": "is_empty"},
                                          {"subject": "username", "op": "is_empty"}]},
                                {"or": [{"subject": "language", "op": "is_empty"}]}]}"#;
        assert_eq!(
            Rule::from_json(nested).unwrap(),
            parse("email is empty and username is empty and language is empty").unwrap()
        );
        let group = r#"{"member_of": {"id": 4, "name": "G"}}"#;
        assert_eq!(
            Rule::from_json(group).unwrap(),
            Rule::Condition(Condition::MemberOf(GroupRef { id: Some(4), name: "G".into() }))
        );
    }

    #[test]
    fn errors_say_where_in_the_tree() {
        let cases = [
            (
                r#"{"or": [{"subject": "email", "op": "is_empty"}, {"and": [{"subject": "email", "op": "is_empty"}, {"subject": "email", "op": "containz", "values": ["x"]}]}]}"#,
                r#"condition 2 of set 2: unknown op "containz" — did you mean "contains"?"#,
            ),
            (
                r#"{"subject": "email", "op": "=", "value": "x"}"#,
                r#"unknown key "value" — did you mean "values"?"#,
            ),
            (r#"{"subject": "emial", "op": "is_empty"}"#, r#"unknown subject "emial" — did you mean "email"?"#),
            (r#"{"subject": "field", "op": "is_empty"}"#, r#"subject "field" needs "field": its code"#),
            (r#"{"subject": "email", "op": "="}"#, r#""=" takes one value"#),
            (r#"{"subject": "email", "op": "is_empty", "values": "x"}"#, r#""values" must be a list"#),
            (r#"{"subject": "email", "values": []}"#, r#""op" is missing"#),
            (r#"{"subject": 3, "op": "="}"#, r#""subject" must be a string"#),
            (r#"{"and": []}"#, r#""and" needs at least one condition"#),
            (r#"{"or": {"subject": "email"}}"#, r#""or" takes a list of conditions"#),
            (r#"{"and": [{"not": 5}]}"#, "condition 1: expected {\"and\": [...]}, {\"or\": [...]}, {\"not\": {...}}, {\"member_of\": {...}} or {\"subject\": ..., \"op\": ..., \"values\": [...]}"),
            (r#"{"member_of": {"name": "G"}, "op": "="}"#, "member_of takes nothing else: no subject, op or values"),
            (r#"{"member_of": {"nom": "G"}}"#, "member_of: unknown field `nom`, expected `id` or `name`"),
            (
                r#"{"subject": "created_at", "op": "=", "values": [{"date": "2023-02-30"}]}"#,
                r#""2023-02-30" is not a date that exists, written YYYY-MM-DD"#,
            ),
            (
                r#"{"subject": "created_at", "op": "=", "values": [{"today": {"offset": 10001, "unit": "day"}}]}"#,
                "today: the offset may be at most 10000 either way",
            ),
            (
                r#"{"subject": "created_at", "op": "=", "values": [{"today": {"offset": 1, "unit": "fortnight"}}]}"#,
                "today: unknown variant `fortnight`, expected one of `day`, `week`, `month`, `year`",
            ),
            (
                r#"{"subject": "status", "op": "=", "values": [{"status": "asleep"}]}"#,
                "status: \"asleep\" is not one of: active, suspended",
            ),
            (r#"{"subject": "email", "op": "=", "values": [null]}"#, VALUE_SHAPES),
            (r#"{"subject": "email", "op": "=", "values": [{"dat": "x"}]}"#, VALUE_SHAPES),
            ("[1, 2", "the rule is not valid JSON: EOF while parsing a list at line 1 column 5"),
        ];
        for (json, expected) in cases {
            assert_eq!(refused(json), expected, "{json}");
        }
        let err = Rule::from_json(r#"{"and": [{"subject": "email", "op": "is_empty"}, {"not": {"subject": "x"}}]}"#)
            .unwrap_err();
        assert_eq!(err.location, Some(Location::Tree { path: vec![1] }));
    }

    #[test]
    fn size_and_depth_are_bounded() {
        let nots = |n: usize| {
            format!("{}{{\"subject\": \"email\", \"op\": \"is_empty\"}}{}", "{\"not\": ".repeat(n), "}".repeat(n))
        };
        assert_eq!(Rule::from_json(&nots(MAX_DEPTH)).unwrap().depth(), MAX_DEPTH);
        assert!(refused(&nots(MAX_DEPTH + 1)).contains("nest more than 60 deep"));
        let ands = |n: usize| {
            format!(
                "{}{{\"subject\": \"email\", \"op\": \"is_empty\"}}{}",
                "{\"and\": [{\"subject\": \"email\", \"op\": \"is_empty\"}, ".repeat(n),
                "]}".repeat(n)
            )
        };
        assert!(Rule::from_json(&ands(MAX_DEPTH)).is_ok());
        for hostile in [nots(30_000), "[".repeat(200_000), "{\"not\":".repeat(36_000)] {
            assert!(Rule::from_json(&hostile).is_err());
            assert!(serde_json::from_str::<Rule>(&hostile).is_err());
        }
        let huge = format!("{{\"subject\": \"email\", \"op\": \"=\", \"values\": [\"{}\"]}}", "a".repeat(MAX_JSON_LEN));
        assert_eq!(refused(&huge), "a rule's JSON may have at most 262144 bytes");
    }

    #[test]
    fn condition_sets_read_their_documented_shape() {
        let sets: ConditionSets = serde_json::from_str(
            r#"{"match": "any", "sets": [[{"condition": {"subject": "email", "op": "is_empty"}},
                                          {"negated": true, "condition": {"member_of": {"name": "G"}}}],
                                         [{"condition": {"subject": "username", "op": "is_empty"}}]]}"#,
        )
        .unwrap();
        assert_eq!(
            sets.to_rule().unwrap(),
            parse(r#"email is empty and not member_of("G") or username is empty"#).unwrap()
        );
    }
}
