//! Explanations: each condition with the user's values, and what suspension and the
//! lists did.

use serde_json::json;

use crate::fixture::{model, today, with_group, with_manual};
use crate::model::Group;
use roster_engine::Decision;

const RULE: &str = r#"field("Department") = "Sales" and field("hire_date") < today - 30d and not member_of("Contractors") and course("DRV-101") = completed and branch under "EMEA""#;

#[test]
fn explanations_name_each_condition_and_the_users_values() {
    let mut m = model();
    with_manual(&mut m, 1, "Contractors", &[2]);
    with_group(&mut m, 10, "Sales drivers", RULE, false);
    let engine = m.engine();
    let why = engine.explain(10, 3, today()).unwrap();
    assert_eq!(
        serde_json::to_value(&why).unwrap(),
        json!({
            "group": {"id": 10, "name": "Sales drivers"},
            "user": 3,
            "conditions": [
                {"condition": "field(\"department\") = \"Sales\"", "holds": false, "actual": "Marketing"},
                {"condition": "field(\"hire_date\") < today - 30d", "holds": true, "actual": "2021-12-31"},
                {"condition": "member_of(\"Contractors\")", "holds": false, "actual": false},
                {"condition": "course(\"DRV-101\") = completed", "holds": false, "actual": "enrolled"},
                {"condition": "branch under \"EMEA\"", "holds": true, "actual": "FR"}
            ],
            "rule_holds": false,
            "suspended": false,
            "allow_suspended": false,
            "included": false,
            "excluded": false,
            "decided_by": "rule",
            "member": false,
            "currently_member": false
        })
    );

    let alice = engine.explain(10, 1, today()).unwrap();
    assert!(alice.conditions.iter().all(|c| c.holds == (c.condition != "member_of(\"Contractors\")")));
    assert!(alice.rule_holds && alice.member);
    assert_eq!(alice.conditions[0].actual, json!("Sales"));

    let bob = engine.explain(10, 2, today()).unwrap();
    let actual: Vec<_> = bob.conditions.iter().map(|c| c.actual.clone()).collect();
    assert_eq!(actual, vec![json!(null), json!(null), json!(true), json!("not_enrolled"), json!(null)]);
}

#[test]
fn explanations_say_what_suspension_and_the_lists_did() {
    let mut m = model();
    with_group(&mut m, 10, "Acme", r#"email contains "@acme.com" and field("seniority") is not empty"#, false);
    if let Some(Group::Automatic { definition, .. }) = m.groups.get_mut(&10) {
        definition.include = vec![3, 2];
        definition.exclude = vec![1, 2];
    }
    let mut engine = m.engine();
    let first = engine.evaluate_all(today());
    engine.commit(&first);
    let why = |user| engine.explain(10, user, today()).unwrap();
    let dave = why(4);
    assert_eq!((dave.rule_holds, dave.suspended, dave.member), (true, true, false));
    assert_eq!(dave.decided_by, Decision::Suspended);
    assert_eq!(dave.conditions[1].actual, json!(-1));
    let alice = why(1);
    assert_eq!((alice.rule_holds, alice.excluded, alice.member), (true, true, false));
    assert_eq!(alice.decided_by, Decision::Exclude);
    let bob = why(2);
    assert_eq!((bob.included, bob.excluded, bob.member), (true, true, false));
    assert_eq!(bob.decided_by, Decision::Exclude);
    let carol = why(3);
    assert_eq!((carol.rule_holds, carol.member, carol.currently_member), (false, true, true));
    assert_eq!(carol.decided_by, Decision::Include);
    let erin = why(5);
    assert_eq!((erin.rule_holds, erin.member), (false, false));
    assert_eq!(erin.decided_by, Decision::Rule);
    assert_eq!(erin.conditions[0].actual, json!("erin@acme.co.uk"));

    assert!(matches!(engine.explain(99, 1, today()), Err(roster_engine::EngineError::UnknownGroup(99))));
    assert!(matches!(engine.explain(10, 77, today()), Err(roster_engine::EngineError::UnknownUser(77))));
}

#[test]
fn previews_count_who_would_join_and_leave() {
    let mut m = model();
    with_group(&mut m, 10, "Acme", r#"email contains "@acme.com""#, false);
    let mut engine = m.engine();
    let first = engine.evaluate_all(today());
    engine.commit(&first);
    let candidate = crate::fixture::definition(&engine, r#"branch under "EMEA""#);
    let preview = engine.preview(&candidate, Some(10), today(), 1).unwrap();
    assert_eq!(
        serde_json::to_value(&preview).unwrap(),
        json!({
            "member_count": 3,
            "join_count": 2,
            "leave_count": 1,
            "join_samples": [3],
            "leave_samples": [2]
        })
    );
    assert_eq!(preview.joined.iter().collect::<Vec<_>>(), vec![3, 5]);
    let fresh = engine.preview(&candidate, None, today(), 10).unwrap();
    assert_eq!(fresh.join_samples, vec![1, 3, 5]);
    assert_eq!(fresh.leave_count, 0);
    assert_eq!(engine.members(10).unwrap().len(), 2, "nothing is saved");
    let looping = crate::fixture::definition(&engine, r#"member_of("Acme")"#);
    assert!(matches!(engine.preview(&looping, Some(10), today(), 1), Err(roster_engine::EngineError::Cycle(_))));
}
