//! Properties over generated trees and hostile inputs: the text and JSON forms give
//! every tree back, the builder view round-trips, and no input makes anything panic.
#![expect(clippy::unwrap_used, reason = "a failing test panics")]

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;
use crate::{FieldType, UserStatus};

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.@-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        "[\"\\\\\n\t\r\u{0}-\u{1f}\u{7f}-\u{9f}é]{0,6}",
    ]
}

/// A number as people write them: at most 15 significant digits, which JSON readers
/// without exact float parsing also read back exactly (any finite number survives the
/// text form; see `any_finite_number_prints_and_parses_back_exactly`).
fn decimal() -> impl Strategy<Value = f64> {
    (-999_999_999_999_999i64..=999_999_999_999_999, 0u32..12)
        .prop_map(|(digits, scale)| format!("{digits}e-{scale}").parse::<f64>().unwrap())
}

fn arb_value() -> impl Strategy<Value = Value> {
    let date = (1i32..=3_652_059).prop_filter_map("a date", NaiveDate::from_num_days_from_ce_opt);
    let relative = (-MAX_OFFSET..=MAX_OFFSET, prop::sample::select(DateUnit::ALL.to_vec()))
        .prop_map(|(offset, unit)| RelativeDate { offset, unit });
    prop_oneof![
        arb_text().prop_map(Value::Text),
        decimal().prop_map(Value::Number),
        date.prop_map(Value::Date),
        relative.prop_map(Value::Relative),
        Just(Value::Relative(RelativeDate::TODAY)),
        any::<bool>().prop_map(Value::YesNo),
        prop::sample::select(UserStatus::ALL.to_vec()).prop_map(Value::Status),
        prop::sample::select(CourseStatus::ALL.to_vec()).prop_map(Value::CourseStatus),
    ]
}

fn arb_subject() -> impl Strategy<Value = Subject> {
    prop_oneof![
        prop::sample::select(Subject::STANDARD.to_vec()),
        arb_text().prop_map(|field| Subject::Field { field }),
        arb_text().prop_map(|course| Subject::Course { course }),
        arb_text().prop_map(|course| Subject::CourseEnrolledAt { course }),
        arb_text().prop_map(|course| Subject::CourseCompletedAt { course }),
    ]
}

fn arb_comparison() -> impl Strategy<Value = Comparison> {
    (arb_subject(), prop::sample::select(Op::ALL.to_vec()), prop::collection::vec(arb_value(), 1..4)).prop_map(
        |(subject, op, mut values)| {
            let count = match op.arity() {
                ast::Arity::None => 0,
                ast::Arity::One => 1,
                ast::Arity::Two => 2,
                ast::Arity::List => values.len(),
            };
            values.resize(count, Value::YesNo(true));
            Comparison { subject, op, values }
        },
    )
}

/// A condition; `with_ids` gives `member_of` an id, which the text form does not hold.
fn arb_condition(with_ids: bool) -> impl Strategy<Value = Condition> {
    let id = if with_ids { any::<Option<i64>>().boxed() } else { Just(None).boxed() };
    prop_oneof![
        4 => arb_comparison().prop_map(Condition::Compare),
        1 => (id, arb_text()).prop_map(|(id, name)| Condition::MemberOf(GroupRef { id, name })),
    ]
}

/// A canonical tree.
fn arb_rule(with_ids: bool) -> impl Strategy<Value = Rule> {
    arb_condition(with_ids).prop_map(Rule::Condition).prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_filter_map("an and", Rule::all),
            prop::collection::vec(inner.clone(), 2..4).prop_filter_map("an or", Rule::any),
            inner.prop_map(|r| Rule::Not(Box::new(r))),
        ]
    })
}

fn arb_sets() -> impl Strategy<Value = ConditionSets> {
    let line =
        (any::<bool>(), arb_condition(true)).prop_map(|(negated, condition)| SetCondition { negated, condition });
    let matching = prop_oneof![Just(Match::All), Just(Match::Any)];
    (matching, prop::collection::vec(prop::collection::vec(line, 1..4), 1..4))
        .prop_map(|(matching, sets)| ConditionSets { matching, sets })
}

/// Pieces of rule text, right and wrong, to shuffle into token soups: whole conditions
/// and connectives, so that some soups parse, and fragments, so that most do not.
const SOUP: &[&str] = &[
    "email = \"x\"",
    "status in (active, suspended)",
    "branch under \"EMEA\"",
    "field(\"Department\") = \"Sales\"",
    "member_of(\"Drivers\")",
    "created_at > today - 90d",
    "course(\"DRV-101\") = completed",
    "username is empty",
    "and",
    "and",
    "or",
    "or",
    "not",
    "not",
    "(",
    "(",
    ")",
    ")",
    "email",
    "status",
    "branch",
    "course(\"DRV-101\").enrolled_at",
    "field(",
    ",",
    ".",
    "+",
    "-",
    "=",
    "!=",
    "<=",
    ">",
    "is",
    "empty",
    "contains",
    "starts",
    "with",
    "matches",
    "in",
    "between",
    "under",
    "\"x\"",
    "\"(a\"",
    "\"\\u{",
    "\"",
    "1",
    "-2.5",
    "2024-01-31",
    "2023-02-30",
    "today",
    "90d",
    "10001d",
    "yes",
    "actve",
    "\\",
    "#",
    "é",
];

/// The text of a generated tree with up to three words inserted, removed or replaced.
fn mutated_text() -> impl Strategy<Value = String> {
    let edit = (any::<prop::sample::Index>(), 0..3u8, prop::sample::select(SOUP));
    (arb_rule(false), prop::collection::vec(edit, 0..4)).prop_map(|(rule, edits)| {
        let mut words: Vec<String> = rule.to_string().split(' ').map(str::to_owned).collect();
        for (at, kind, piece) in edits {
            let i = at.index(words.len());
            match kind {
                0 => words.insert(i, piece.to_owned()),
                1 => {
                    words.remove(i);
                }
                _ => words[i] = piece.to_owned(),
            }
            if words.is_empty() {
                words.push(piece.to_owned());
            }
        }
        words.join(" ")
    })
}

fn catalog() -> Catalog {
    Catalog {
        fields: vec![crate::FieldDef {
            code: crate::Code::parse("code", "department").unwrap(),
            name: crate::Name::parse("name", "Department").unwrap(),
            field_type: FieldType::Dropdown,
            options: vec!["Sales".into(), "Marketing".into()],
        }],
        courses: vec!["DRV-101".into()],
        branches: vec!["EMEA".into()],
        groups: vec![(1, "Drivers".into())],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printed_text_parses_back_to_the_same_tree(rule in arb_rule(false)) {
        let text = rule.to_string();
        prop_assert_eq!(parse(&text), Ok(rule), "{}", text);
    }

    #[test]
    fn any_finite_number_prints_and_parses_back_exactly(n in any::<f64>().prop_filter("finite", |n| n.is_finite())) {
        let rule = Rule::Condition(Condition::Compare(Comparison {
            subject: Subject::Field { field: "n".into() },
            op: Op::Eq,
            values: vec![Value::Number(n)],
        }));
        prop_assert_eq!(parse(&rule.to_string()), Ok(rule));
    }

    #[test]
    fn json_reads_back_to_the_same_tree(rule in arb_rule(true)) {
        let json = serde_json::to_string(&rule).unwrap();
        prop_assert_eq!(Rule::from_json(&json), Ok(rule), "{}", json);
    }

    #[test]
    fn condition_sets_round_trip_through_the_tree(sets in arb_sets()) {
        let rule = sets.to_rule().unwrap();
        let view = rule.to_sets().unwrap();
        prop_assert_eq!(view.to_rule().unwrap(), rule);
        let json = serde_json::to_string(&view).unwrap();
        prop_assert_eq!(serde_json::from_str::<ConditionSets>(&json).unwrap(), view);
    }

    #[test]
    fn any_text_is_answered_without_panic(text in any::<String>()) {
        let _ = compile_text(&text, &catalog());
    }

    #[test]
    fn token_soups_are_answered_without_panic(soup in prop::collection::vec(prop::sample::select(SOUP), 0..24)) {
        let text = soup.join(" ");
        if let Err(err) = parse(&text) {
            prop_assert!(matches!(err.location, Some(Location::Text { .. })), "{:?}", err);
        }
        let _ = compile_text(&text, &catalog());
        let _ = compile_text(&soup.concat(), &catalog());
    }

    #[test]
    fn mutated_rules_are_answered_without_panic(text in mutated_text()) {
        if let Ok(rule) = parse(&text) {
            prop_assert_eq!(parse(&rule.to_string()), Ok(rule.clone()));
            let _ = compile_tree(&rule, &catalog());
        }
        let _ = compile_text(&text, &catalog());
    }

    #[test]
    fn any_bytes_as_json_are_answered_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Rule::from_json(&text);
        let _ = compile_text(&text, &catalog());
    }

    #[test]
    fn generated_trees_check_without_panic(rule in arb_rule(true)) {
        let _ = compile_tree(&rule, &catalog());
    }
}
