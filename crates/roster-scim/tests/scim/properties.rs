//! Properties: the parsers never panic whatever the input, and a filter printed then
//! parsed again is the same tree.

use proptest::prelude::*;
use roster_scim::filter::MAX_FILTER_LENGTH;
use roster_scim::{urn, AttrPath, CompValue, CompareOp, Filter, Limits, PatchPath, PatchRequest, ServiceProvider};
use serde_json::{json, Number, Value};

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![9 => "[a-zA-Z][a-zA-Z0-9_-]{0,6}", 1 => Just("$ref".to_owned())]
}

fn schema() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(urn::USER.to_owned())),
        1 => Just(Some(urn::ENTERPRISE_USER.to_owned())),
        1 => "urn:[a-z]{1,5}(:[a-zA-Z0-9._-]{1,5}){0,3}".prop_map(Some),
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (schema(), attr_name(), proptest::option::of(attr_name())).prop_map(|(schema, name, sub_attr)| AttrPath {
        schema,
        name,
        sub_attr,
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(CompValue::Number)),
        ".{0,12}".prop_map(CompValue::String),
        any::<String>().prop_map(|s| CompValue::String(s.chars().take(12).collect())),
    ]
}

fn comparison(path: impl Strategy<Value = AttrPath>) -> impl Strategy<Value = Filter> {
    (path, proptest::sample::select(CompareOp::ALL.to_vec()), comp_value()).prop_map(|(path, op, value)| {
        // true, false and null only take eq and ne: the parser refuses the rest.
        let op = match value {
            CompValue::Null | CompValue::Bool(_) if op.is_ordering() || op.is_substring() => CompareOp::Eq,
            _ => op,
        };
        Filter::Compare { path, op, value }
    })
}

/// Filters over sub-attributes, as inside `[...]`: no schema, no sub-attribute, no nesting.
fn value_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        attr_name().prop_map(|n| Filter::Present(AttrPath::new(n))),
        comparison(attr_name().prop_map(AttrPath::new))
    ];
    leaf.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(Filter::negate),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::and(l, r)),
            (inner.clone(), inner).prop_map(|(l, r)| Filter::or(l, r)),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let value_path = ((schema(), attr_name()), value_filter()).prop_map(|((schema, name), f)| Filter::ValuePath {
        path: AttrPath { schema, name, sub_attr: None },
        filter: Box::new(f),
    });
    let leaf = prop_oneof![3 => attr_path().prop_map(Filter::Present), 6 => comparison(attr_path()), 1 => value_path];
    leaf.prop_recursive(5, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(Filter::negate),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::and(l, r)),
            (inner.clone(), inner).prop_map(|(l, r)| Filter::or(l, r)),
        ]
    })
}

/// Text that looks like filters: their tokens in any order, plus any characters.
fn filterish_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just("."),
        Just(" and "),
        Just(" or "),
        Just("not "),
        Just(" eq "),
        Just(" pr"),
        Just(" gt "),
        Just("\""),
        Just("\\"),
        Just("userName"),
        Just("emails"),
        Just("1e5"),
        Just("-"),
        Just("true"),
        Just("null"),
        Just(" "),
        Just(urn::USER),
        Just(":"),
        Just("\"x\""),
        Just("é"),
    ];
    prop_oneof![proptest::collection::vec(token, 0..40).prop_map(|t| t.concat()), any::<String>(), "[ -~]{0,60}",]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-zA-Z@. ]{0,8}".prop_map(Value::String),
        Just(json!("bulkId:x")),
        Just(json!("True")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("value".to_owned()),
                    Just("type".to_owned()),
                    Just("primary".to_owned()),
                    Just("givenName".to_owned()),
                    "[a-zA-Z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn patch_path_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "userName",
            "name",
            "name.givenName",
            "emails",
            "emails[type eq \"work\"]",
            "emails[type eq \"work\"].value",
            "emails[primary eq true].primary",
            "groups",
            "id",
            "active",
            "meta.version",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ])
        .prop_map(str::to_owned),
        filterish_text(),
    ]
}

fn sp() -> ServiceProvider {
    ServiceProvider::new(
        "https://x/scim/v2",
        Limits { max_results: 10, bulk_max_operations: 10, bulk_max_payload_size: 10_000 },
        &[],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_filter_parser_never_panics(text in filterish_text()) {
        let _ = Filter::parse(&text);
        let _ = PatchPath::parse(&text);
        let _ = AttrPath::parse(&text);
    }

    #[test]
    fn printing_then_parsing_gives_the_same_filter(f in filter()) {
        let text = f.to_string();
        prop_assume!(text.len() <= MAX_FILTER_LENGTH);
        let parsed = Filter::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(parsed, f);
    }

    #[test]
    fn checking_and_evaluating_any_filter_never_panics(f in filter(), resource in json_value()) {
        let sp = sp();
        let _ = f.check(sp.users());
        let _ = f.matches(&resource, sp.users());
    }

    #[test]
    fn applying_any_patch_never_panics(
        ops in proptest::collection::vec((proptest::sample::select(vec!["add", "remove", "replace"]), proptest::option::of(patch_path_text()), proptest::option::of(json_value())), 1..4)
    ) {
        let sp = sp();
        let ops: Vec<Value> = ops.into_iter().map(|(op, path, value)| {
            let mut o = json!({"op": op});
            if let Some(p) = path { o["path"] = json!(p); }
            if let Some(v) = value { o["value"] = v; }
            o
        }).collect();
        let resource = json!({
            "schemas": [urn::USER], "id": "u1", "userName": "b",
            "emails": [{"value": "w@x", "type": "work", "primary": true}], "name": {"givenName": "B"}
        });
        if let Ok(request) = PatchRequest::parse(&json!({"schemas": [urn::PATCH_OP], "Operations": ops})) {
            if let Ok(patched) = request.apply(&resource, sp.users()) {
                // Whatever a patch does, the result still names the core schema and keeps its id.
                prop_assert_eq!(&patched["id"], "u1");
                prop_assert!(patched["schemas"].as_array().is_some_and(|s| s.contains(&json!(urn::USER))));
            }
        }
    }
}

#[test]
fn deeply_nested_input_is_refused_not_overflowed() {
    let deep = "(".repeat(100_000);
    assert!(Filter::parse(&deep).is_err());
    let not_chain = "not (".repeat(700);
    assert!(Filter::parse(&not_chain).is_err());
    let brackets = "a[".repeat(1000);
    assert!(Filter::parse(&brackets).is_err());
}
