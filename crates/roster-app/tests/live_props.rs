//! After any sequence of writes through the application layer, the stored memberships
//! equal a from-scratch evaluation of every rule: membership is always true. And the
//! history tells the same story: every group's events, replayed from the first, end in
//! its members, and every user's history is the same events seen from the user's side,
//! whether a move was recorded alone or in a set of users. Enrollment rules take part:
//! the enrollments they made are a from-scratch fixed point too (see
//! [`enrollments_are_a_fixed_point`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use roster_app::catalog::{NewBranch, NewCourse, NewField};
use roster_app::enrollment_rules::EnrollmentRuleInput;
use roster_app::enrollments::EnrollmentInput;
use roster_app::groups::{AddMembers, NewGroup};
use roster_app::rules::RuleInput;
use roster_app::users::{NewUser, UserPatch};
use roster_app::{Actor, App, ListKind, ManualClock, Settings};
use roster_store::Store;
use std::sync::Arc;

const RULES: &[&str] = &[
    r#"field("department") = "Sales""#,
    r#"field("department") in ("Sales", "Ops") and branch under "EMEA""#,
    r#"course("C1") = completed"#,
    r#"course("C1") != completed or course("C2") = failed"#,
    r#"email ends with "@acme.com" and status = active"#,
    r#"field("hired") > today - 30d"#,
    r#"member_of("Manual") and not field("department") is empty"#,
    r#"member_of("Auto 0") or branch = "US""#,
    r#"not member_of("Auto 1")"#,
    r#"username matches "^u[0-4]""#,
];

#[derive(Debug, Clone)]
enum Op {
    CreateUser {
        dept: u8,
        branch: u8,
        acme: bool,
        hired_days_ago: u8,
    },
    /// Enough users at once for the moves that follow to be recorded as sets.
    CreateMany {
        count: u8,
        dept: u8,
        branch: u8,
    },
    AddAllManual,
    UpdateUser {
        user: u8,
        dept: u8,
        branch: u8,
        suspend: bool,
    },
    DeleteUser {
        user: u8,
    },
    Enroll {
        user: u8,
        course: u8,
        status: u8,
    },
    AddManual {
        user: u8,
    },
    RemoveManual {
        user: u8,
    },
    SetRule {
        group: u8,
        rule: u8,
    },
    Include {
        group: u8,
        user: u8,
    },
    Exclude {
        group: u8,
        user: u8,
    },
    AllowSuspended {
        group: u8,
        allow: bool,
    },
    NextDay {
        days: u8,
    },
    /// Saves the image to its file.
    Save,
    /// A new process on the same database: its image is read from the file when the
    /// file can be trusted (the changes since replayed), else built from the database.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4u8, 0..4u8, any::<bool>(), 0..60u8).prop_map(|(dept, branch, acme, hired_days_ago)| Op::CreateUser { dept, branch, acme, hired_days_ago }),
        1 => (16..24u8, 0..4u8, 0..4u8).prop_map(|(count, dept, branch)| Op::CreateMany { count, dept, branch }),
        1 => Just(Op::AddAllManual),
        2 => (0..12u8, 0..4u8, 0..4u8, any::<bool>()).prop_map(|(user, dept, branch, suspend)| Op::UpdateUser { user, dept, branch, suspend }),
        1 => (0..12u8).prop_map(|user| Op::DeleteUser { user }),
        2 => (0..12u8, 0..2u8, 0..5u8).prop_map(|(user, course, status)| Op::Enroll { user, course, status }),
        1 => (0..12u8).prop_map(|user| Op::AddManual { user }),
        1 => (0..12u8).prop_map(|user| Op::RemoveManual { user }),
        2 => (0..3u8, 0..RULES.len() as u8).prop_map(|(group, rule)| Op::SetRule { group, rule }),
        1 => (0..3u8, 0..12u8).prop_map(|(group, user)| Op::Include { group, user }),
        1 => (0..3u8, 0..12u8).prop_map(|(group, user)| Op::Exclude { group, user }),
        1 => (0..3u8, any::<bool>()).prop_map(|(group, allow)| Op::AllowSuspended { group, allow }),
        1 => (1..40u8).prop_map(|days| Op::NextDay { days }),
        1 => Just(Op::Save),
        1 => Just(Op::Restart),
    ]
}

const DEPTS: [Option<&str>; 4] = [Some("Sales"), Some("Ops"), Some("Legal"), None];
const BRANCHES: [Option<&str>; 4] = [Some("FR"), Some("EMEA"), Some("US"), None];
const DAY: i64 = 86_400_000;
const NOW: i64 = 1_772_452_800_000;

async fn setup(app: &App, actor: &Actor) -> Vec<String> {
    let admin = &actor.superadmin().unwrap();
    for (code, parent) in [("EMEA", None), ("FR", Some("EMEA")), ("US", None)] {
        app.create_branch(admin, NewBranch { code: code.into(), name: code.into(), parent: parent.map(Into::into) })
            .await
            .unwrap();
    }
    app.create_field(
        admin,
        NewField {
            code: "department".into(),
            name: "Department".into(),
            field_type: "dropdown".into(),
            options: vec!["Sales".into(), "Ops".into(), "Legal".into()],
        },
    )
    .await
    .unwrap();
    app.create_field(
        admin,
        NewField { code: "hired".into(), name: "Hired".into(), field_type: "date".into(), options: vec![] },
    )
    .await
    .unwrap();
    for c in ["C1", "C2", "C3"] {
        app.create_course(admin, NewCourse { code: c.into(), name: c.into() }).await.unwrap();
    }
    let manual = app
        .create_group(actor, NewGroup { name: "Manual".into(), description: None, policy: None, scope: None })
        .await
        .unwrap();
    let mut autos = Vec::new();
    for i in 0..3 {
        let g = app
            .create_group(
                actor,
                NewGroup {
                    name: format!("Auto {i}"),
                    description: None,
                    policy: Some("automatic".into()),
                    // One group is scoped: its rule's matches count only within EMEA.
                    scope: (i == 1).then(|| vec!["EMEA".to_owned()]),
                },
            )
            .await
            .unwrap();
        autos.push(g.id);
    }
    // Start with member_of chains and relative dates in force; ops may change them.
    for (group, rule) in autos.iter().zip([6, 5, 7]) {
        app.set_rule(actor, group, RuleInput { text: Some(RULES[rule].into()), ..RuleInput::default() }).await.unwrap();
    }
    // Enrollment rules: the manual group enrolls in C2, which rules read; "Auto 2" in
    // C1, which rules read too (a rule edit that would close a loop is refused);
    // "Auto 0" in C3, which nothing reads, and keeps it.
    for (group, course, unenroll) in [(&manual.id, "C2", true), (&autos[2], "C1", true), (&autos[0], "C3", false)] {
        let rule = EnrollmentRuleInput { course: course.into(), due_days: Some(7), unenroll_on_leave: unenroll };
        app.set_enrollment_rules(actor, group, vec![rule]).await.unwrap();
    }
    autos
}

/// The enrollments enrollment rules made are what a from-scratch fixed point makes: the
/// memberships follow from every enrollment (reconcile finds no drift), every member of
/// a group with an enrollment rule has an enrollment in its course, and every
/// not-started enrollment a removing rule made belongs to a member of a group that
/// enrolls in that course. Given the other enrollments, these say that the rule-made
/// ones are exactly the members' missing ones.
async fn enrollments_are_a_fixed_point(app: &App, actor: &Actor, users: &[String]) {
    use std::collections::{BTreeSet, HashMap};
    let page = roster_app::ListParams { cursor: None, limit: Some(1000) };
    let groups = app.list_groups(actor, &Default::default(), &page).await.unwrap().items;
    let mut enrolling: HashMap<String, Vec<(String, bool)>> = HashMap::new();
    let mut members: HashMap<String, BTreeSet<String>> = HashMap::new();
    for g in &groups {
        let rules = app.enrollment_rules(actor, &g.id).await.unwrap().rules;
        for r in rules {
            enrolling.entry(r.course).or_default().push((g.id.clone(), r.unenroll_on_leave));
        }
        let listed = app.list_members(actor, &g.id, &Default::default(), &page).await.unwrap().items;
        members.insert(g.id.clone(), listed.into_iter().map(|m| m.user.id).collect());
    }
    for u in users {
        let Ok(enrollments) = app.user_enrollments(actor, u).await else { continue };
        for (course, groups) in &enrolling {
            let held = enrollments.iter().find(|e| &e.course == course);
            let in_enrolling: Vec<&String> =
                groups.iter().map(|(g, _)| g).filter(|g| members[*g].contains(u)).collect();
            if !in_enrolling.is_empty() {
                assert!(held.is_some(), "user {u} is in {in_enrolling:?} but has no enrollment in {course}");
            }
            let removable = groups.iter().all(|(_, unenroll)| *unenroll);
            if let Some(e) = held.filter(|e| e.made_by_rule_of.is_some() && e.status.as_str() == "enrolled") {
                assert!(
                    !removable || !in_enrolling.is_empty(),
                    "user {u} keeps the unstarted {course} enrollment of {:?} outside every group that enrolls in it",
                    e.made_by_rule_of
                );
            }
        }
    }
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("p.db").display())).await.unwrap();
    store.migrate(NOW).await.unwrap();
    let clock = ManualClock::new(NOW);
    let settings = Settings { image_file: Some(dir.path().join("p.db.image")), ..Settings::default() };
    let mut app = App::new(store.clone(), Arc::new(clock.clone()), settings.clone());
    let actor = Actor::system("prop");
    let autos = setup(&app, &actor).await;
    let manual = app.find_group(&actor, "Manual").await.unwrap().id;
    let mut users: Vec<String> = Vec::new();
    let pick = |users: &Vec<String>, i: u8| users.get(i as usize % users.len().max(1)).cloned();
    for (n, op) in ops.into_iter().enumerate() {
        // Refusals (a rule cycle, a deleted user) are fine: they must change nothing.
        match op {
            Op::CreateUser { dept, branch, acme, hired_days_ago } => {
                let hired =
                    chrono::DateTime::from_timestamp_millis(clock_now(&clock) - i64::from(hired_days_ago) * DAY)
                        .unwrap()
                        .date_naive();
                let mut fields = std::collections::BTreeMap::new();
                if let Some(d) = DEPTS[dept as usize] {
                    fields.insert("department".to_owned(), serde_json::json!(d));
                }
                fields.insert("hired".to_owned(), serde_json::json!(hired.to_string()));
                let u = NewUser {
                    username: format!("u{n}"),
                    email: format!("u{n}@{}", if acme { "acme.com" } else { "other.org" }),
                    branch: BRANCHES[branch as usize].map(Into::into),
                    fields,
                    ..NewUser::default()
                };
                users.push(app.create_user(&actor, u).await.unwrap().id);
            }
            Op::CreateMany { count, dept, branch } => {
                for k in 0..count {
                    let mut fields = std::collections::BTreeMap::new();
                    if let Some(d) = DEPTS[dept as usize] {
                        fields.insert("department".to_owned(), serde_json::json!(d));
                    }
                    let u = NewUser {
                        username: format!("m{n}x{k}"),
                        email: format!("m{n}x{k}@acme.com"),
                        branch: BRANCHES[branch as usize].map(Into::into),
                        fields,
                        ..NewUser::default()
                    };
                    users.push(app.create_user(&actor, u).await.unwrap().id);
                }
            }
            Op::AddAllManual => {
                let everyone = AddMembers { users: Some(users.clone()), ..AddMembers::default() };
                let _ = app.add_members(&actor, &manual, everyone).await;
            }
            Op::UpdateUser { user, dept, branch, suspend } => {
                if let Some(id) = pick(&users, user) {
                    let patch = UserPatch {
                        status: Some(Some(if suspend { "suspended" } else { "active" }.into())),
                        branch: Some(BRANCHES[branch as usize].map(Into::into)),
                        fields: Some(
                            [(
                                "department".to_owned(),
                                DEPTS[dept as usize].map_or(serde_json::Value::Null, |d| serde_json::json!(d)),
                            )]
                            .into(),
                        ),
                        ..UserPatch::default()
                    };
                    let _ = app.update_user(&actor, &id, patch).await;
                }
            }
            Op::DeleteUser { user } => {
                if let Some(id) = pick(&users, user) {
                    let _ = app.delete_user(&actor, &id).await;
                }
            }
            Op::Enroll { user, course, status } => {
                if let Some(id) = pick(&users, user) {
                    let code = ["C1", "C2"][course as usize];
                    // Setting a rule's enrollment back to `enrolled` from outside after its
                    // user left would make it one that only history explains (leaving
                    // removes what is not started *then*): the one write left out.
                    let rule_made = app
                        .user_enrollments(&actor, &id)
                        .await
                        .is_ok_and(|all| all.iter().any(|e| e.course == code && e.made_by_rule_of.is_some()));
                    if status == 0 && rule_made {
                        continue;
                    }
                    let _ = match status {
                        4 => app.delete_enrollment(&actor, code, &id).await,
                        s => app
                            .set_enrollment(
                                &actor,
                                code,
                                &id,
                                EnrollmentInput {
                                    status: ["enrolled", "in_progress", "completed", "failed"][s as usize].into(),
                                },
                            )
                            .await
                            .map(drop),
                    };
                }
            }
            Op::AddManual { user } => {
                if let Some(id) = pick(&users, user) {
                    let _ = app
                        .add_members(&actor, &manual, AddMembers { users: Some(vec![id]), ..AddMembers::default() })
                        .await;
                }
            }
            Op::RemoveManual { user } => {
                if let Some(id) = pick(&users, user) {
                    let _ = app.remove_member(&actor, &manual, &id).await;
                }
            }
            Op::SetRule { group, rule } => {
                let input = RuleInput { text: Some(RULES[rule as usize].into()), ..RuleInput::default() };
                let _ = app.set_rule(&actor, &autos[group as usize], input).await;
            }
            Op::Include { group, user } | Op::Exclude { group, user } => {
                if let Some(id) = pick(&users, user) {
                    let kind = if matches!(op, Op::Include { .. }) { ListKind::Include } else { ListKind::Exclude };
                    let mut list: Vec<String> = app
                        .get_list(&actor, &autos[group as usize], kind)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|u| u.id)
                        .collect();
                    list.push(id);
                    let _ = app
                        .set_list(
                            &actor,
                            &autos[group as usize],
                            kind,
                            roster_app::automatic::ListInput { users: list },
                        )
                        .await;
                }
            }
            Op::AllowSuspended { group, allow } => {
                let patch = roster_app::groups::GroupPatch { allow_suspended: Some(allow), ..Default::default() };
                let _ = app.update_group(&actor, &autos[group as usize], patch).await;
            }
            Op::NextDay { days } => {
                clock.advance(i64::from(days) * DAY);
                app.roll_over().await.unwrap();
            }
            Op::Save => {
                app.save_image().await.unwrap();
            }
            Op::Restart => {
                app = App::new(store.clone(), Arc::new(clock.clone()), settings.clone());
            }
        }
        assert_eq!(app.image_differences().await.unwrap(), Vec::<String>::new(), "after op {n}");
    }
    let drift = app.reconcile(false).await.unwrap();
    assert!(drift.drifted.is_empty(), "{drift:?}");
    histories_replay_to_the_members(&app, &actor, &users).await;
    enrollments_are_a_fixed_point(&app, &actor, &users).await;
    // The scoped group holds no one outside EMEA but whom its include list names.
    let page = roster_app::ListParams { cursor: None, limit: Some(1000) };
    let members = app.list_members(&actor, &autos[1], &Default::default(), &page).await.unwrap();
    let included: Vec<String> =
        app.get_list(&actor, &autos[1], ListKind::Include).await.unwrap().into_iter().map(|u| u.id).collect();
    for m in members.items {
        let inside = matches!(m.user.branch.as_deref(), Some("EMEA" | "FR"));
        assert!(inside || included.contains(&m.user.id), "{} ({:?}) is outside the scope", m.user.id, m.user.branch);
    }
}

/// Every event of a history, newest first, read in small pages so that cursors fall
/// inside sets.
async fn history(
    app: &App,
    actor: &Actor,
    group: Option<&str>,
    user: Option<&str>,
) -> Vec<roster_app::views::EventView> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = roster_app::ListParams { cursor: cursor.take(), limit: Some(7) };
        let list = match (group, user) {
            (Some(g), _) => app.group_events(actor, g, &page).await.unwrap(),
            (_, Some(u)) => app.user_events(actor, u, &page).await.unwrap(),
            _ => unreachable!(),
        };
        all.extend(list.items);
        match list.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

async fn histories_replay_to_the_members(app: &App, actor: &Actor, users: &[String]) {
    use std::collections::BTreeSet;
    let page = roster_app::ListParams { cursor: None, limit: Some(1000) };
    let groups = app.list_groups(actor, &Default::default(), &page).await.unwrap().items;
    let mut all_events = Vec::new();
    for g in groups {
        let events = history(app, actor, Some(&g.id), None).await;
        let mut members: BTreeSet<String> = BTreeSet::new();
        for e in events.iter().rev() {
            let moved = match e.change {
                roster_domain::MembershipChange::Joined => members.insert(e.user_id.clone()),
                roster_domain::MembershipChange::Left => members.remove(&e.user_id),
            };
            assert!(
                moved,
                "group {} event {} ({:?} {}) does not follow from the ones before",
                g.id, e.id, e.change, e.user_id
            );
        }
        let stored: BTreeSet<String> = app
            .list_members(actor, &g.id, &Default::default(), &page)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|m| m.user.id)
            .collect();
        assert_eq!(members, stored, "group {} ({}): its history replays to other members", g.id, g.name);
        all_events.extend(events);
    }
    for u in users {
        let Ok(mine) = app.user_events(actor, u, &page).await else { continue };
        let paged = history(app, actor, None, Some(u)).await;
        let expected: Vec<(String, String)> = {
            let mut v: Vec<(i64, String, String)> = all_events
                .iter()
                .filter(|e| &e.user_id == u)
                .map(|e| (e.id.parse().unwrap(), e.group_id.clone(), format!("{:?}", e.change)))
                .collect();
            v.sort_by_key(|e| std::cmp::Reverse(e.0));
            v.into_iter().map(|(_, g, c)| (g, c)).collect()
        };
        let seen: Vec<(String, String)> =
            paged.iter().map(|e| (e.group_id.clone(), format!("{:?}", e.change))).collect();
        assert_eq!(seen, expected, "user {u}: their history is not their groups' events");
        assert_eq!(mine.items.len(), paged.len().min(1000));
    }
}

fn clock_now(clock: &ManualClock) -> i64 {
    roster_app::Clock::now_ms(clock)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn stored_memberships_always_equal_a_fresh_evaluation(ops in prop::collection::vec(op(), 1..40)) {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run(ops));
    }
}
