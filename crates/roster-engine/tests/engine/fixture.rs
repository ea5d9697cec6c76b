//! A small hand-made population, for tests whose answers are worked out by hand.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use roster_domain::rule::compile_text;
use roster_domain::{Branch, Code, Course, EnrollmentStatus, FieldDef, FieldType, FieldValue, Name, UserStatus};
use roster_engine::{AutomaticGroup, Catalog, Engine, EnrollmentRecord, UserRecord};

use crate::model::{Group, Model};
use crate::reference;

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The default "today": a month's end in a leap year.
pub fn today() -> NaiveDate {
    date(2024, 3, 31)
}

pub fn field(code: &str, name: &str, field_type: FieldType, options: &[&str]) -> FieldDef {
    FieldDef {
        code: Code::parse("code", code).unwrap(),
        name: Name::parse("name", name).unwrap(),
        field_type,
        options: options.iter().map(|o| o.to_string()).collect(),
    }
}

pub fn catalog() -> Catalog {
    let branch = |id, code: &str, parent| Branch { id, code: code.into(), name: code.into(), parent_id: parent };
    Catalog {
        fields: vec![
            field("department", "Department", FieldType::Dropdown, &["Sales", "Marketing", "R&D"]),
            field("job_title", "Job Title", FieldType::Text, &[]),
            field("hire_date", "Hire Date", FieldType::Date, &[]),
            field("seniority", "Seniority", FieldType::Number, &[]),
            field("manager", "Is Manager", FieldType::YesNo, &[]),
        ],
        branches: vec![
            branch(1, "EMEA", None),
            branch(2, "FR", Some(1)),
            branch(3, "PAR", Some(2)),
            branch(4, "AMER", None),
        ],
        courses: vec![
            Course { id: 101, code: "DRV-101".into(), name: "Driving".into() },
            Course { id: 102, code: "SAFE-2".into(), name: "Safety".into() },
        ],
    }
}

/// A user with only the required values.
pub fn user(id: i64, username: &str, email: &str, created_on: NaiveDate) -> UserRecord {
    UserRecord {
        id,
        username: username.into(),
        email: email.into(),
        first_name: None,
        last_name: None,
        status: UserStatus::Active,
        language: None,
        timezone: None,
        branch_id: None,
        created_on,
        last_login_on: None,
        fields: BTreeMap::new(),
    }
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.into())
}

fn enrolled(status: EnrollmentStatus, enrolled_on: NaiveDate, completed_on: Option<NaiveDate>) -> EnrollmentRecord {
    EnrollmentRecord { status, enrolled_on, completed_on }
}

/// alice, bob, carol, dave (suspended) and erin.
pub fn model() -> Model {
    let mut alice = user(1, "alice", "alice@acme.com", date(2023, 6, 1));
    alice.first_name = Some("Alice".into());
    alice.last_name = Some("Martin".into());
    alice.language = Some("fr".into());
    alice.timezone = Some("Europe/Paris".into());
    alice.branch_id = Some(3);
    alice.last_login_on = Some(date(2024, 3, 30));
    alice.fields = BTreeMap::from([
        ("department".into(), text("Sales")),
        ("job_title".into(), text("Truck Driver")),
        ("hire_date".into(), FieldValue::Date(date(2024, 1, 31))),
        ("seniority".into(), FieldValue::Number(3.0)),
        ("manager".into(), FieldValue::YesNo(true)),
    ]);

    let bob = user(2, "bob", "Bob@ACME.com", date(2024, 1, 15));

    let mut carol = user(3, "carol", "carol@other.org", date(2022, 2, 28));
    carol.first_name = Some("Carol".into());
    carol.last_name = Some("Ōtsuka".into());
    carol.branch_id = Some(2);
    carol.last_login_on = Some(date(2024, 2, 29));
    carol.fields = BTreeMap::from([
        ("department".into(), text("Marketing")),
        ("job_title".into(), text("DRIVER supervisor")),
        ("hire_date".into(), FieldValue::Date(date(2021, 12, 31))),
        ("seniority".into(), FieldValue::Number(12.5)),
        ("manager".into(), FieldValue::YesNo(false)),
    ]);

    let mut dave = user(4, "dave", "dave@acme.com", date(2020, 1, 1));
    dave.first_name = Some("Émile".into());
    dave.status = UserStatus::Suspended;
    dave.branch_id = Some(4);
    dave.fields = BTreeMap::from([
        ("department".into(), text("R&D")),
        ("job_title".into(), text("")),
        ("hire_date".into(), FieldValue::Date(date(2024, 2, 29))),
        ("seniority".into(), FieldValue::Number(-1.0)),
    ]);

    let mut erin = user(5, "erin", "erin@acme.co.uk", date(2024, 3, 31));
    erin.branch_id = Some(1);
    erin.fields = BTreeMap::from([
        ("department".into(), text("Sales")),
        ("job_title".into(), text("Driver")),
        ("seniority".into(), FieldValue::Number(0.0)),
        ("manager".into(), FieldValue::YesNo(true)),
    ]);

    Model {
        catalog: catalog(),
        users: [alice, bob, carol, dave, erin].into_iter().map(|u| (u.id, u)).collect(),
        enrollments: BTreeMap::from([
            ((1, 101), enrolled(EnrollmentStatus::Completed, date(2024, 1, 1), Some(date(2024, 2, 10)))),
            ((1, 102), enrolled(EnrollmentStatus::InProgress, date(2024, 3, 1), None)),
            ((3, 101), enrolled(EnrollmentStatus::Enrolled, date(2024, 3, 15), None)),
            ((4, 102), enrolled(EnrollmentStatus::Failed, date(2023, 5, 5), None)),
            ((5, 102), enrolled(EnrollmentStatus::Completed, date(2023, 1, 1), Some(date(2023, 4, 1)))),
        ]),
        groups: BTreeMap::new(),
    }
}

/// A definition with this rule text, checked against the engine's catalog.
pub fn definition(engine: &Engine, text: &str) -> AutomaticGroup {
    AutomaticGroup {
        rule: compile_text(text, engine.rule_catalog()).unwrap(),
        include: vec![],
        exclude: vec![],
        allow_suspended: false,
    }
}

/// Adds an automatic group to the model, checked against its engine.
pub fn with_group(model: &mut Model, id: i64, name: &str, text: &str, allow_suspended: bool) {
    let engine = model.engine();
    let mut definition = definition(&engine, text);
    definition.allow_suspended = allow_suspended;
    model.groups.insert(id, Group::Automatic { name: name.into(), definition });
}

/// Adds a manual group to the model.
pub fn with_manual(model: &mut Model, id: i64, name: &str, members: &[i64]) {
    model
        .groups
        .insert(id, Group::Manual { name: name.into(), members: members.iter().copied().collect::<BTreeSet<_>>() });
}

/// The usernames of a group's members on `today`, after checking that the population
/// evaluation, the per-user evaluation and the reference agree for every group.
pub fn members_of(model: &Model, group: i64, today: NaiveDate) -> Vec<String> {
    let engine = model.engine();
    let evaluation = engine.evaluate_all(today);
    for g in model.automatic() {
        let by_reference: Vec<i64> =
            model.users.keys().copied().filter(|&u| reference::is_member(model, u, g, today)).collect();
        let by_bitmap: Vec<i64> = engine.members_after(&evaluation, g).unwrap().iter().map(i64::from).collect();
        let by_user: Vec<i64> = model
            .users
            .keys()
            .copied()
            .filter(|&u| engine.evaluate_user(u, today).unwrap().changes.iter().any(|d| d.group == g))
            .collect();
        assert_eq!(by_bitmap, by_reference, "group {g}: bitmaps vs reference");
        assert_eq!(by_user, by_reference, "group {g}: per user vs reference");
    }
    let members = match model.groups.get(&group) {
        Some(Group::Manual { members, .. }) => members.iter().copied().collect(),
        _ => model.users.keys().copied().filter(|&u| reference::is_member(model, u, group, today)).collect::<Vec<_>>(),
    };
    members.into_iter().map(|u| model.users[&u].username.clone()).collect()
}

/// The usernames matching a rule text on `today`, suspended users included.
pub fn matching_on(text: &str, today: NaiveDate) -> Vec<String> {
    let mut model = model();
    with_group(&mut model, 100, "Probe", text, true);
    members_of(&model, 100, today)
}

/// The usernames matching a rule text on the default today.
pub fn matching(text: &str) -> Vec<String> {
    matching_on(text, today())
}
