//! The benchmark's SQL baselines agree with the engine: on a demo population, every
//! automatic group's members as one SQL query each, through either schema (the indexed
//! field-value table, the JSON text), equal the memberships the engine stored — with rules
//! over every subject of the language and every operator each one allows, on SQLite, and
//! on PostgreSQL when `ROSTER_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate};
use roster_app::demo::DemoSpec;
use roster_app::groups::{AddMembers, GroupPatch, NewGroup};
use roster_app::rules::RuleInput;
use roster_app::users::NewUser;
use roster_app::{automatic::ListInput, Actor, App, ListKind, ManualClock, Settings};
use roster_bench::baseline::{self, BaselineGroup, Schema};
use roster_store::Store;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// 2026-03-02 12:00 UTC.
const NOW: i64 = 1_772_452_800_000;
/// A half-hour offset with daylight saving time: day bounds are neither UTC midnights
/// nor a fixed offset from them.
const TZ: chrono_tz::Tz = chrono_tz::America::St_Johns;

/// One rule per operator a subject allows; `member_of` and nesting last. Each names a
/// group `Rule NN` in this order.
const RULES: &[&str] = &[
    // A text field.
    r#"field("Job Title") = "driver""#,
    r#"field("Job Title") != "DRIVER""#,
    r#"field("Job Title") contains "LEAD""#,
    r#"field("Job Title") not contains "driver""#,
    r#"field("Job Title") starts with "senior""#,
    r#"field("Job Title") not starts with "d""#,
    r#"field("Job Title") ends with "ANALYST""#,
    r#"field("Job Title") not ends with "er""#,
    r#"field("Job Title") matches "^(sales|team) ""#,
    r#"field("Job Title") not matches "driv.r$""#,
    r#"field("Job Title") in ("Dispatcher", "legal counsel")"#,
    r#"field("Job Title") not in ("Driver", "senior driver")"#,
    r#"field("Manager") is empty"#,
    r#"field("Manager") is not empty"#,
    r#"field("Manager") contains "o'b""#,
    // LIKE's wildcards and escape character are literal text.
    r#"field("Institutional ID") contains "p-000_" or field("Manager") starts with "%" or field("Job Title") ends with "\\""#,
    // Dropdown fields.
    r#"field("Department") = "sales""#,
    r#"field("Department") != "Sales""#,
    r#"field("Department") in ("Legal", "finance")"#,
    r#"field("Department") not in ("Operations", "Sales")"#,
    r#"field("Department") contains "ing""#,
    r#"field("Department") not contains "o""#,
    r#"field("Employee Status") starts with "full""#,
    r#"field("Employee Status") not starts with "p""#,
    r#"field("Product") ends with "CHAIN""#,
    r#"field("Product") not ends with "l""#,
    r#"field("Role") matches "^(driver|manager)$""#,
    r#"field("Role") not matches "r$""#,
    r#"field("Product") is empty"#,
    r#"field("Student or Employee") is not empty"#,
    // A number field.
    r#"field("Years of Experience") = 10"#,
    r#"field("Years of Experience") != 10"#,
    r#"field("Years of Experience") < 5"#,
    r#"field("Years of Experience") <= 5"#,
    r#"field("Years of Experience") > 30"#,
    r#"field("Years of Experience") >= 30"#,
    r#"field("Years of Experience") > 2.5"#,
    r#"field("Years of Experience") in (1, 2, 3.0)"#,
    r#"field("Years of Experience") not in (0, 34)"#,
    r#"field("Years of Experience") between 10 and 12.5"#,
    r#"field("Years of Experience") is empty"#,
    r#"field("Years of Experience") is not empty"#,
    // Date fields, absolute and relative.
    r#"field("Hire Date") = today - 30d"#,
    r#"field("Hire Date") != 2025-01-15"#,
    r#"field("Hire Date") < today - 1y"#,
    r#"field("Hire Date") <= 2020-06-30"#,
    r#"field("Hire Date") > today - 2w"#,
    r#"field("Hire Date") >= today - 3m"#,
    r#"field("Hire Date") between 2019-01-01 and 2020-12-31"#,
    r#"field("Hire Date") is empty"#,
    r#"field("Hire Date") is not empty"#,
    r#"field("Start Date") between today - 1y and today + 2w"#,
    // A yes/no field.
    r#"field("Supervisor") = yes"#,
    r#"field("Supervisor") = no"#,
    r#"field("Supervisor") != yes"#,
    r#"field("Supervisor") is empty"#,
    r#"field("Supervisor") is not empty"#,
    // Standard text subjects.
    r#"username matches "^a[a-z]*\.""#,
    r#"username starts with "J""#,
    r#"email ends with "@ACME.com""#,
    r#"email not contains "acme""#,
    r#"first_name = "zoë""#,
    r#"first_name is empty"#,
    r#"last_name starts with "o'""#,
    r#"last_name not in ("Smith", "garcía")"#,
    r#"language in ("fr", "DE")"#,
    r#"language is empty"#,
    r#"timezone starts with "europe/""#,
    r#"timezone not starts with "America""#,
    // Status (suspended users are members only where allowed: see below).
    r#"status = active and email contains "outlook""#,
    r#"status != suspended and email contains "gmail""#,
    r#"status in (active, suspended) and field("Role") = "Director""#,
    r#"status not in (suspended) and field("Role") = "Instructor""#,
    // Standard times.
    r#"created_at = today - 100d"#,
    r#"created_at != today - 100d"#,
    r#"created_at < today - 4y"#,
    r#"created_at <= 2022-03-01"#,
    r#"created_at > today - 30d"#,
    r#"created_at >= today - 1m"#,
    r#"created_at between today - 2y and today - 1y"#,
    r#"last_login_at is empty"#,
    r#"last_login_at is not empty"#,
    r#"last_login_at >= today - 7d"#,
    r#"last_login_at < today - 90d"#,
    r#"last_login_at = today - 3d"#,
    r#"last_login_at != today"#,
    r#"last_login_at between today - 60d and today - 30d"#,
    // Branches.
    r#"branch = "EMEA-FR-PAR""#,
    r#"branch != "emea-fr-par""#,
    r#"branch in ("AMER-US-CHI", "apac-jp-tok")"#,
    r#"branch not in ("EMEA-FR-PAR")"#,
    r#"branch under "EMEA""#,
    r#"branch not under "AMER-US""#,
    r#"branch under "APAC-IN-MUM""#,
    r#"branch is empty"#,
    r#"branch is not empty"#,
    // Course statuses.
    r#"course("DRV-101") = completed"#,
    r#"course("DRV-101") != completed"#,
    r#"course("DRV-101") in (enrolled, in_progress)"#,
    r#"course("DRV-101") not in (completed, failed)"#,
    r#"course("SAFE-1") = not_enrolled"#,
    r#"course("SAFE-1") != not_enrolled"#,
    r#"course("SAFE-1") in (not_enrolled, failed)"#,
    r#"course("SAFE-1") not in (not_enrolled, enrolled)"#,
    // Course dates.
    r#"course("SAFE-2").completed_at >= today - 365d"#,
    r#"course("DRV-101").enrolled_at < 2025-06-01"#,
    r#"course("DRV-101").completed_at is empty"#,
    r#"course("DRV-101").enrolled_at is not empty"#,
    r#"course("COC-100").completed_at between today - 2y and today - 1y"#,
    r#"course("DRV-101").enrolled_at = today - 100d"#,
    r#"course("SAFE-1").completed_at != today - 30d"#,
    r#"course("SAFE-1").completed_at > today - 6m"#,
    r#"course("DRV-101").enrolled_at <= today - 2y"#,
    // member_of: automatic and manual groups, chained.
    r#"member_of("Approved Drivers") and not member_of("Contractors")"#,
    r#"member_of("Fleet Safety Committee") or member_of("Hand picked")"#,
    r#"not member_of("Staff drivers") and field("Role") = "Driver""#,
    // Nesting.
    r#"(field("Department") in ("Sales", "Marketing") or branch under "EMEA") and not (course("DRV-101") = completed and (field("Years of Experience") > 10 or not field("Supervisor") = yes))"#,
    r#"not (not (email ends with "@acme.com" or email ends with ".de") and last_login_at is empty)"#,
];

/// Rules that hold for nobody on the demo data, by design.
const EMPTY: &[&str] = &[
    r#"field("Institutional ID") contains "p-000_" or field("Manager") starts with "%" or field("Job Title") ends with "\\""#,
];

async fn create(app: &App, actor: &Actor, name: &str, automatic: bool) -> String {
    let group = NewGroup {
        name: name.into(),
        description: None,
        policy: automatic.then(|| "automatic".to_owned()),
        scope: None,
    };
    app.create_group(actor, group).await.unwrap().id
}

async fn set_rule(app: &App, actor: &Actor, id: &str, text: &str) {
    if let Err(e) = app.set_rule(actor, id, RuleInput { text: Some(text.into()), ..RuleInput::default() }).await {
        panic!("rule {text}: {e}");
    }
}

fn ids(range: impl Iterator<Item = i64>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

/// Up to five users in one list and not the other.
fn only_in(a: &[i64], b: &[i64]) -> Vec<i64> {
    let b: BTreeSet<i64> = b.iter().copied().collect();
    a.iter().copied().filter(|u| !b.contains(u)).take(5).collect()
}

async fn scenario(url: &str) {
    let store = Store::connect(url).await.unwrap();
    store.migrate(NOW).await.unwrap();
    let settings = Settings { timezone: TZ, ..Settings::default() };
    let app = App::new(store.clone(), Arc::new(ManualClock::new(NOW)), settings);
    let actor = Actor::system("test");
    let users = 3000;
    app.generate_demo(&DemoSpec { users, ..DemoSpec::default() }, |_| {}).await.unwrap();
    // Users with every optional value missing.
    for i in 0..3 {
        let user =
            NewUser { username: format!("bare{i}"), email: format!("bare{i}@example.org"), ..NewUser::default() };
        app.create_user(&actor, user).await.unwrap();
    }
    let hand_picked = create(&app, &actor, "Hand picked", false).await;
    let picked = AddMembers { users: Some(ids((1..=600).step_by(3))), ..AddMembers::default() };
    app.add_members(&actor, &hand_picked, picked).await.unwrap();

    // A rule naming a group made after it: evaluation order is not id order.
    let early = create(&app, &actor, "Early", true).await;
    for (i, text) in RULES.iter().enumerate() {
        let id = create(&app, &actor, &format!("Rule {i:03}"), true).await;
        set_rule(&app, &actor, &id, text).await;
    }
    set_rule(&app, &actor, &early, r#"member_of("Rule 001") and not member_of("Hand picked")"#).await;

    let suspended = create(&app, &actor, "Suspended allowed", true).await;
    set_rule(&app, &actor, &suspended, r#"status = suspended or email ends with "@gmail.com""#).await;
    let patch = GroupPatch { allow_suspended: Some(true), ..GroupPatch::default() };
    app.update_group(&actor, &suspended, patch).await.unwrap();

    let listed = create(&app, &actor, "Listed", true).await;
    set_rule(&app, &actor, &listed, r#"field("Department") = "Operations""#).await;
    app.set_list(&actor, &listed, ListKind::Include, ListInput { users: ids(1..=40) }).await.unwrap();
    app.set_list(&actor, &listed, ListKind::Exclude, ListInput { users: ids(30..=120) }).await.unwrap();

    // No rule: only the include list makes members.
    let unruled = create(&app, &actor, "Include list only", true).await;
    app.set_list(&actor, &unruled, ListKind::Include, ListInput { users: ids(7..=9) }).await.unwrap();

    let groups: Vec<BaselineGroup> = baseline::load_groups(url).await.unwrap();
    let today: NaiveDate = DateTime::from_timestamp_millis(NOW).unwrap().with_timezone(&TZ).date_naive();
    let mut conn = store.read().await.unwrap();
    let stored = roster_store::groups::all(&mut conn).await.unwrap();
    let names: HashMap<i64, (String, Option<String>)> =
        stored.into_iter().map(|g| (g.id, (g.name, g.rule_text))).collect();
    let mut engine = HashMap::new();
    for group in &groups {
        engine.insert(group.id, roster_store::memberships::member_ids(&mut conn, group.id).await.unwrap());
    }
    drop(conn);

    let all_users = users + 3;
    let mut failures = Vec::new();
    for (group, members) in &engine {
        // Each rule of the list must tell users apart, or it proves nothing.
        let (name, text) = &names[group];
        let listed = name.strip_prefix("Rule ").and_then(|i| RULES.get(i.parse::<usize>().ok()?));
        if listed.is_some_and(|rule| !EMPTY.contains(rule)) && (members.is_empty() || members.len() >= all_users) {
            failures.push(format!(
                "rule {} holds for {} of {all_users} users: choose one that splits them",
                text.as_deref().unwrap_or("none"),
                members.len()
            ));
        }
    }
    for schema in [Schema::Indexed, Schema::Json] {
        if schema == Schema::Indexed {
            let built = baseline::create_indexed_tables(url).await.unwrap();
            assert!(built.field_values > 0, "{url}: the field-value table is empty");
        }
        let run = baseline::run(url, &groups, schema, TZ, today).await.unwrap();
        if schema == Schema::Indexed {
            baseline::drop_indexed_tables(url).await.unwrap();
        }
        assert_eq!(run.groups.len(), RULES.len() + 8 + 10 + 4, "every automatic group is evaluated");
        for (group, result) in groups.iter().zip(&run.groups) {
            assert_eq!(group.id, result.id);
            let (name, text) = &names[&group.id];
            let engine = &engine[&group.id];
            if *engine != result.members {
                failures.push(format!(
                    "{schema:?} schema, group \"{name}\" ({}): engine has {} members, SQL {}; only the engine's: \
                     {:?}; only SQL's: {:?}\n{}",
                    text.as_deref().unwrap_or("no rule"),
                    engine.len(),
                    result.members.len(),
                    only_in(engine, &result.members),
                    only_in(&result.members, engine),
                    result.sql,
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{url}: {} failures:\n{}", failures.len(), failures.join("\n"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_baseline_agrees_with_the_engine_on_every_group() {
    let dir = tempfile::tempdir().unwrap();
    scenario(&format!("sqlite://{}", dir.path().join("roster.db").display())).await;

    let Some(pg) = roster_test_support::FreshPostgres::create("roster_baseline").await else { return };
    scenario(&pg.url).await;
    pg.drop_database().await;
}
