//! Catalog changes: what they keep, what they refuse, and that the engine then answers
//! as one built from scratch with the new catalog.

use roster_domain::{Branch, FieldType, FieldValue};
use roster_engine::EngineError;

use crate::fixture::{field, members_of, model, today, with_group, with_manual};
use crate::model::{Group, Model};

/// The engine built incrementally (old catalog, then the new one) answers like one
/// built from scratch with the new catalog.
fn assert_same_as_rebuilt(before: &Model, after: &Model) {
    let mut engine = before.engine();
    let first = engine.evaluate_all(today());
    engine.commit(&first);
    engine.set_catalog(&after.catalog).unwrap();
    let rebuilt = after.engine();
    let (a, b) = (engine.evaluate_all(today()), rebuilt.evaluate_all(today()));
    for g in after.automatic() {
        assert_eq!(engine.members_after(&a, g), rebuilt.members_after(&b, g), "group {g}");
    }
    members_of(after, after.automatic()[0], today());
}

#[test]
fn fields_keep_their_values_across_catalog_changes_unless_their_kind_changes() {
    let mut before = model();
    with_group(&mut before, 10, "Sales", r#"field("department") = "Sales" or field("seniority") > 2"#, true);
    with_group(&mut before, 11, "Drivers", r#"field("job_title") contains "driver""#, true);
    let mut after = before.clone();
    after.catalog.fields.push(field("location", "Location", FieldType::Text, &[]));
    after.catalog.fields.retain(|f| f.code.as_str() != "manager");
    for user in after.users.values_mut() {
        user.fields.remove("manager");
    }
    assert_same_as_rebuilt(&before, &after);

    let mut changed = before.clone();
    for f in &mut changed.catalog.fields {
        if f.code.as_str() == "job_title" {
            f.field_type = FieldType::Dropdown;
            f.options = vec!["Driver".into(), "Truck Driver".into(), "DRIVER supervisor".into()];
        }
        if f.code.as_str() == "manager" {
            f.field_type = FieldType::Text;
        }
    }
    for user in changed.users.values_mut() {
        user.fields.remove("manager");
    }
    assert_same_as_rebuilt(&before, &changed);

    let mut engine = before.engine();
    let mut number = before.catalog.clone();
    for f in &mut number.fields {
        if f.code.as_str() == "seniority" {
            f.field_type = FieldType::Text;
        }
    }
    let err = engine.set_catalog(&number).unwrap_err();
    assert!(matches!(&err, EngineError::RuleBroken { group, .. } if group.id == 10), "{err}");
    let mut user = before.users[&1].clone();
    user.fields.insert("seniority".into(), FieldValue::Text("3".into()));
    assert!(engine.upsert_user(&user).is_err(), "the old catalog still holds");
}

#[test]
fn moving_a_branch_moves_who_is_under_what() {
    let mut before = model();
    with_group(&mut before, 10, "EMEA", r#"branch under "EMEA""#, true);
    with_group(&mut before, 11, "FR", r#"branch under "FR" or branch = "AMER""#, true);
    let mut after = before.clone();
    for b in &mut after.catalog.branches {
        if b.code == "FR" {
            b.parent_id = Some(4);
        }
    }
    after.catalog.branches.push(Branch { id: 9, code: "APAC".into(), name: "APAC".into(), parent_id: None });
    assert_same_as_rebuilt(&before, &after);
    assert_eq!(members_of(&after, 10, today()), ["erin"]);

    let mut engine = before.engine();
    let mut without_par = before.catalog.clone();
    without_par.branches.retain(|b| b.code != "PAR");
    assert_eq!(
        engine.set_catalog(&without_par).unwrap_err(),
        EngineError::InvalidCatalog("branch #3 still has users".into())
    );
    let mut without_course = before.catalog.clone();
    without_course.courses.retain(|c| c.id != 101);
    assert_eq!(
        engine.set_catalog(&without_course).unwrap_err(),
        EngineError::InvalidCatalog("course #101 still has enrollments".into())
    );
}

#[test]
fn groups_change_policy_and_load_their_stored_members() {
    let mut m = model();
    with_manual(&mut m, 1, "Team", &[1, 2]);
    with_group(&mut m, 10, "In team", r#"member_of("Team")"#, true);
    let mut engine = m.engine();
    engine.load_members(10, &[5]).unwrap();
    let evaluation = engine.evaluate_all(today());
    let g = evaluation.get(10).unwrap();
    assert_eq!(g.joined.iter().collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(g.left.iter().collect::<Vec<_>>(), vec![5]);
    engine.commit(&evaluation);

    let definition = crate::fixture::definition(&engine, r#"email contains "@acme.com""#);
    engine.set_automatic_group(1, "Team", &definition).unwrap();
    assert_eq!(engine.members(1).unwrap().iter().collect::<Vec<_>>(), vec![1, 2], "kept until evaluated");
    let evaluation = engine.evaluate_groups(&[1], today()).unwrap();
    assert_eq!(evaluation.groups.iter().map(|g| g.group).collect::<Vec<_>>(), vec![1, 10]);
    assert_eq!(engine.members_after(&evaluation, 10).unwrap().iter().collect::<Vec<_>>(), vec![1, 2]);
    engine.commit(&evaluation);

    engine.set_manual_group(1, "Team", &[3]).unwrap();
    assert_eq!(engine.automatic_groups(), &[10]);
    let evaluation = engine.evaluate_groups(&[1], today()).unwrap();
    assert_eq!(engine.members_after(&evaluation, 10).unwrap().iter().collect::<Vec<_>>(), vec![3]);
    if let Some(Group::Manual { members, .. }) = m.groups.get_mut(&1) {
        *members = [3].into_iter().collect();
    }
    assert_eq!(members_of(&m, 10, today()), ["carol"]);
}
