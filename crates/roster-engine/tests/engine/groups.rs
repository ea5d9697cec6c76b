//! Groups: member_of chains, cycles named, include and exclude precedence, suspended
//! users, and what a group removal or a user removal does.

use roster_domain::rule::{compile_text, Condition, GroupRef, Rule};
use roster_domain::MembershipChange;
use roster_engine::{AutomaticGroup, EngineError, GroupName, MembershipDelta};

use crate::fixture::{definition, members_of, model, today, with_group, with_manual};
use crate::model::Group;

#[test]
fn member_of_chains_follow_final_memberships() {
    let mut m = model();
    with_manual(&mut m, 1, "Contractors", &[2, 3]);
    with_group(&mut m, 10, "Acme", r#"email contains "@acme.com""#, false);
    with_group(&mut m, 11, "Acme staff", r#"member_of("Acme") and not member_of("Contractors")"#, false);
    with_group(&mut m, 12, "Everyone else", r#"not member_of("Acme staff")"#, true);
    assert_eq!(members_of(&m, 10, today()), ["alice", "bob"]);
    assert_eq!(members_of(&m, 11, today()), ["alice"]);
    assert_eq!(members_of(&m, 12, today()), ["bob", "carol", "dave", "erin"]);
}

#[test]
fn suspended_users_are_left_out_unless_allowed() {
    let mut m = model();
    with_group(&mut m, 10, "Acme", r#"email contains "@acme.com""#, false);
    with_group(&mut m, 11, "Acme, all", r#"email contains "@acme.com""#, true);
    assert_eq!(members_of(&m, 10, today()), ["alice", "bob"]);
    assert_eq!(members_of(&m, 11, today()), ["alice", "bob", "dave"]);
}

#[test]
fn include_adds_even_suspended_and_exclude_wins() {
    let mut m = model();
    with_group(&mut m, 10, "Acme", r#"email contains "@acme.com""#, false);
    if let Some(Group::Automatic { definition, .. }) = m.groups.get_mut(&10) {
        definition.include = vec![3, 4, 5];
        definition.exclude = vec![1, 5];
    }
    assert_eq!(members_of(&m, 10, today()), ["bob", "carol", "dave"]);
}

#[test]
fn a_rule_making_a_cycle_is_refused_with_the_cycle_named() {
    let mut m = model();
    with_group(&mut m, 10, "A", r#"email contains "@acme.com""#, false);
    with_group(&mut m, 11, "B", r#"member_of("A")"#, false);
    with_group(&mut m, 12, "C", r#"member_of("B") or status = active"#, false);
    let mut engine = m.engine();
    let looping = definition(&engine, r#"member_of("C") and status = active"#);
    let err = engine.set_automatic_group(10, "A", &looping).unwrap_err();
    let name = |id: i64, name: &str| GroupName { id, name: name.into() };
    assert_eq!(err, EngineError::Cycle(vec![name(10, "A"), name(12, "C"), name(11, "B"), name(10, "A")]));
    assert_eq!(err.to_string(), "the rule would make groups depend on themselves: \"A\" → \"C\" → \"B\" → \"A\"");
    assert_eq!(engine.find_cycle(11, &looping.rule).unwrap(), vec![name(11, "B"), name(12, "C"), name(11, "B")]);
    let own = definition(&engine, r#"member_of("B")"#);
    assert_eq!(
        engine.set_automatic_group(11, "B", &own).unwrap_err(),
        EngineError::Cycle(vec![name(11, "B"), name(11, "B")])
    );
    assert!(engine.find_cycle(12, &definition(&engine, r#"member_of("A")"#).rule).is_none());
    let evaluation = engine.evaluate_all(today());
    assert_eq!(evaluation.groups.len(), 3);
}

#[test]
fn groups_are_evaluated_after_the_groups_they_name() {
    let mut m = model();
    with_group(&mut m, 30, "Base", r#"email contains "@acme.com""#, false);
    with_group(&mut m, 20, "Middle", r#"member_of("Base")"#, false);
    with_group(&mut m, 10, "Top", r#"member_of("Middle")"#, false);
    let engine = m.engine();
    assert_eq!(engine.automatic_groups(), &[30, 20, 10]);
    assert_eq!(engine.dependents(30), vec![10, 20]);
    let evaluation = engine.evaluate_all(today());
    assert_eq!(evaluation.get(10).unwrap().member_count, 2);
    assert_eq!(engine.members_after(&evaluation, 10).unwrap().len(), 2);
    let partial = engine.evaluate_groups(&[20], today()).unwrap();
    let groups: Vec<i64> = partial.groups.iter().map(|g| g.group).collect();
    assert_eq!(groups, vec![20, 10]);
    assert_eq!(
        engine.members_after(&partial, 10).unwrap(),
        roaring::RoaringBitmap::new(),
        "Base is not re-evaluated, and has no committed members"
    );
}

#[test]
fn a_referenced_group_cannot_be_removed() {
    let mut m = model();
    with_manual(&mut m, 1, "Contractors", &[2]);
    with_group(&mut m, 10, "Staff", r#"not member_of("Contractors")"#, false);
    let mut engine = m.engine();
    let err = engine.remove_group(1).unwrap_err();
    assert_eq!(
        err,
        EngineError::GroupReferenced {
            group: GroupName { id: 1, name: "Contractors".into() },
            by: vec![GroupName { id: 10, name: "Staff".into() }],
        }
    );
    engine.remove_group(10).unwrap();
    engine.remove_group(1).unwrap();
    assert!(engine.members(1).is_none());
    assert_eq!(engine.automatic_groups(), &[] as &[i64]);
}

#[test]
fn renaming_a_group_renames_it_in_the_rules_that_name_it() {
    let mut m = model();
    with_manual(&mut m, 1, "Contractors", &[2]);
    with_group(&mut m, 10, "Staff", r#"not member_of("Contractors")"#, false);
    let mut engine = m.engine();
    engine.rename_group(1, "Temps").unwrap();
    let why = engine.explain(10, 2, today()).unwrap();
    assert_eq!(why.conditions[0].condition, r#"member_of("Temps")"#);
    assert!(compile_text(r#"member_of("Temps")"#, engine.rule_catalog()).is_ok());
}

#[test]
fn per_user_changes_commit_and_cascade_through_member_of() {
    let mut m = model();
    with_manual(&mut m, 1, "Drivers", &[]);
    with_group(&mut m, 10, "Driving staff", r#"member_of("Drivers")"#, false);
    with_group(&mut m, 11, "Not driving", r#"not member_of("Driving staff")"#, true);
    let mut engine = m.engine();
    let first = engine.evaluate_all(today());
    engine.commit(&first);
    assert!(engine.evaluate_all(today()).is_unchanged());

    let changes = engine.add_members(1, &[3, 1]).unwrap();
    assert_eq!(changes.len(), 2);
    assert!(engine.add_members(1, &[3]).unwrap().is_empty(), "already a member");
    let evaluation = engine.evaluate_change(&changes[1], today()).unwrap();
    assert_eq!(evaluation, engine.evaluate_user(3, today()).unwrap());
    let delta = |group, change| MembershipDelta { group, change };
    assert_eq!(evaluation.changes, vec![delta(10, MembershipChange::Joined), delta(11, MembershipChange::Left)]);
    engine.commit_user(&evaluation);
    let alice = engine.evaluate_change(&changes[0], today()).unwrap();
    engine.commit_user(&alice);
    assert_eq!(engine.groups_of(3), vec![1, 10]);
    let unrelated = engine.upsert_user(&m.users[&3]).unwrap();
    assert!(unrelated.is_empty(), "nothing changed");
    assert!(engine.evaluate_change(&unrelated, today()).unwrap().changes.is_empty());
    assert!(engine.evaluate_user(3, today()).unwrap().changes.is_empty());
    assert!(engine.evaluate_all(today()).is_unchanged());

    assert_eq!(engine.add_members(10, &[1]).unwrap_err(), EngineError::NotManual(10));
    assert_eq!(engine.remove_user(3).unwrap(), vec![1, 10]);
    assert_eq!(engine.evaluate_user(3, today()).unwrap_err(), EngineError::UnknownUser(3));
    assert!(engine.evaluate_all(today()).is_unchanged());
}

#[test]
fn ids_must_fit_the_bitmaps_and_references_must_exist() {
    let m = model();
    let mut engine = m.engine();
    let mut big = crate::fixture::user(1 << 32, "big", "big@acme.com", today());
    assert_eq!(engine.upsert_user(&big).unwrap_err(), EngineError::UserIdOutOfRange(1 << 32));
    big.id = i64::from(u32::MAX);
    engine.upsert_user(&big).unwrap();
    big.branch_id = Some(99);
    assert_eq!(engine.upsert_user(&big).unwrap_err(), EngineError::UnknownBranch(99));
    big.branch_id = None;
    big.fields.insert("salary".into(), roster_domain::FieldValue::Number(1.0));
    assert_eq!(engine.upsert_user(&big).unwrap_err(), EngineError::UnknownField("salary".into()));
    big.fields.clear();
    big.fields.insert("seniority".into(), roster_domain::FieldValue::Text("3".into()));
    assert!(matches!(engine.upsert_user(&big).unwrap_err(), EngineError::InvalidFieldValue { .. }));
    big.fields.insert("seniority".into(), roster_domain::FieldValue::Number(f64::NAN));
    assert!(engine.upsert_user(&big).is_err());
    assert_eq!(engine.set_manual_group(1, "G", &[77]).unwrap_err(), EngineError::UnknownUser(77));
    let unresolved = AutomaticGroup {
        rule: Rule::Condition(Condition::MemberOf(GroupRef { id: Some(99), name: "Ghost".into() })),
        include: vec![],
        exclude: vec![],
        allow_suspended: false,
    };
    assert!(matches!(engine.set_automatic_group(10, "G", &unresolved).unwrap_err(), EngineError::Rule(_)));

    engine.set_automatic_group(10, "Big", &definition(&engine, r#"username = "BIG""#)).unwrap();
    let evaluation = engine.evaluate_all(today());
    assert_eq!(engine.members_after(&evaluation, 10).unwrap().iter().collect::<Vec<_>>(), vec![u32::MAX]);
}

#[test]
fn threads_share_groups_without_changing_the_answer() {
    let mut m = model();
    with_manual(&mut m, 1, "Contractors", &[2, 3]);
    let conditions = [
        r#"email contains "@acme.com""#,
        r#"branch under "EMEA""#,
        r#"field("seniority") >= 0"#,
        r#"not member_of("Contractors")"#,
        r#"created_at > today - 3y"#,
        r#"course("SAFE-2") != not_enrolled"#,
    ];
    for i in 0..90 {
        let a = conditions[i % conditions.len()];
        let b = conditions[(i / 3 + 1) % conditions.len()];
        let text = match i % 3 {
            0 => format!("{a} and {b}"),
            1 => format!("{a} or not {b}"),
            _ if i >= 20 => format!(r#"member_of("G{}") or {a}"#, i - 20),
            _ => a.to_owned(),
        };
        with_group(&mut m, 100 + i as i64, &format!("G{i}"), &text, i % 2 == 0);
    }
    let mut engine = m.engine();
    engine.set_threads(1);
    let alone = engine.evaluate_all(today());
    engine.set_threads(3);
    let shared = engine.evaluate_all(today());
    assert_eq!(alone, shared);
    let order: Vec<i64> = shared.groups.iter().map(|g| g.group).collect();
    for g in &shared.groups {
        let names = engine.rule_catalog().groups.iter();
        for (dep, _) in names.filter(|(id, _)| *id >= 100) {
            let refs_g = m.groups.get(&g.group).is_some_and(|x| match x {
                Group::Automatic { definition, .. } => definition.rule.referenced_groups().contains(dep),
                Group::Manual { .. } => false,
            });
            if refs_g {
                let before = order.iter().position(|x| x == dep).unwrap();
                let after = order.iter().position(|x| *x == g.group).unwrap();
                assert!(before < after, "{dep} before {}", g.group);
            }
        }
    }
    members_of(&m, 100, today());
}

/// The app keeps the engine behind a lock shared by request handlers.
#[test]
fn the_engine_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<roster_engine::Engine>();
    shared::<roster_engine::Evaluation>();
}
