//! Reads of the image (previews, "why") beside writes, on SQLite and on PostgreSQL: a
//! write of groups, which writes a copy of the image, never makes them wait, and they
//! see only what was committed; a write of users, which writes the image in place,
//! makes them wait for it, never see it half-done; a write that fails leaves the image
//! as committed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use roster_store::memberships::Cause;
use roster_store::Store;

use crate::automatic::PreviewInput;
use crate::catalog::NewField;
use crate::groups::NewGroup;
use crate::rules::RuleInput;
use crate::users::NewUser;
use crate::{Actor, App, ManualClock, Settings};

const NOW: i64 = 1_780_000_000_000;
/// Far longer than a read takes, far shorter than forever.
const PATIENCE: Duration = Duration::from_secs(10);

async fn app(url: &str) -> App {
    let store = Store::connect(url).await.unwrap();
    store.migrate(NOW).await.unwrap();
    App::new(store, Arc::new(ManualClock::new(NOW)), Settings::default())
}

fn rule(text: &str) -> RuleInput {
    RuleInput { text: Some(text.into()), ..RuleInput::default() }
}

/// Whether `user` is a member of `group`, as "why" says.
async fn why(app: &App, actor: &Actor, group: &str, user: &str) -> bool {
    tokio::time::timeout(PATIENCE, app.explain(actor, group, user))
        .await
        .expect("\"why\" waited for a write of groups")
        .unwrap()
        .member
}

async fn reads_beside_writes(url: &str) {
    let app = app(url).await;
    let actor = Actor::system("test");
    let admin = actor.superadmin().unwrap();
    let field = NewField {
        code: "department".into(),
        name: "Department".into(),
        field_type: "dropdown".into(),
        options: vec!["Sales".into(), "Ops".into()],
    };
    app.create_field(&admin, field).await.unwrap();
    let mut users = Vec::new();
    for (name, department) in [("ann", "Sales"), ("bob", "Ops")] {
        let user = NewUser {
            username: name.into(),
            email: format!("{name}@example.com"),
            fields: [("department".to_owned(), serde_json::json!(department))].into(),
            ..NewUser::default()
        };
        users.push(app.create_user(&actor, user).await.unwrap().id);
    }
    let (ann, bob) = (users[0].as_str(), users[1].as_str());
    let new_group = NewGroup { name: "G".into(), description: None, policy: Some("automatic".into()), scope: None };
    let group = app.create_group(&actor, new_group).await.unwrap().id;
    app.set_rule(&actor, &group, rule(r#"field("department") = "Sales""#)).await.unwrap();
    assert!(why(&app, &actor, &group, ann).await && !why(&app, &actor, &group, bob).await);
    let group_id: i64 = group.parse().unwrap();
    let cause = Cause { actor: "test".into(), why: "test".into(), at: NOW };

    // A rule edit under way, written to the database and to its copy of the image but
    // not committed: reads answer at once, from what was committed.
    for commit in [false, true] {
        let mut tx = app.begin_copy().await.unwrap();
        let mut stored = roster_store::groups::get(tx.read(), group_id).await.unwrap().unwrap();
        let ops = roster_domain::rule::parse(r#"field("department") = "Ops""#).unwrap();
        stored.rule_text = Some(ops.to_string());
        stored.rule_tree = Some(serde_json::to_string(&ops).unwrap());
        let moved = tx.save_definition(&stored, &cause).await.unwrap();
        assert_eq!(moved.get(group_id).map(|g| (g.joined.len(), g.left.len())), Some((1, 1)));
        assert!(why(&app, &actor, &group, ann).await, "a read saw a rule edit before its commit");
        assert!(!why(&app, &actor, &group, bob).await, "a read saw a rule edit before its commit");
        let preview = PreviewInput {
            text: Some(r#"field("department") = "Ops""#.into()),
            group: Some(group.clone()),
            ..PreviewInput::default()
        };
        let preview = tokio::time::timeout(PATIENCE, app.preview_rule(&actor, preview))
            .await
            .expect("a preview waited for a rule edit")
            .unwrap();
        assert_eq!((preview.join_count, preview.leave_count), (1, 1), "the preview reads the committed members");
        if commit {
            tx.commit().await.unwrap();
        } else {
            drop(tx);
        }
        // Dropped: the image is the committed one again, and the next writes build on it.
        assert_eq!(why(&app, &actor, &group, ann).await, !commit);
        assert_eq!(why(&app, &actor, &group, bob).await, commit);
    }
    assert!(app.image_differences().await.unwrap().is_empty());

    // A user's write in place: a read waits for it, then sees all of it.
    let mut tx = app.begin().await.unwrap();
    let bob_id: i64 = bob.parse().unwrap();
    let mut user = roster_store::users::get(tx.read(), bob_id).await.unwrap().unwrap();
    let fields = roster_store::fields::all(tx.read()).await.unwrap();
    user.fields.insert("department".into(), serde_json::json!("Sales"));
    tx.update_user(&user, None, &fields, &cause).await.unwrap();
    let read = tokio::spawn({
        let (app, actor, group, bob) = (app.clone(), actor.clone(), group.clone(), bob.to_owned());
        async move { app.explain(&actor, &group, &bob).await.unwrap().member }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!read.is_finished(), "a read went ahead of a write in place");
    tx.commit().await.unwrap();
    assert!(!tokio::time::timeout(PATIENCE, read).await.unwrap().unwrap(), "the read missed the committed write");
    assert!(app.image_differences().await.unwrap().is_empty());
}

/// Rule edits (written as a copy) and users' updates (written in place) one after
/// another, while readers ask "why" over and over: every answer is of a committed image,
/// where what the rule says now is what the committed members say. An image caught
/// half-way (a rule saved but its members not yet moved, a user's value written but
/// their groups not yet) would answer otherwise for the users who move.
async fn readers_never_see_a_write_half_done(url: &str) {
    const USERS: usize = 12;
    const ROUNDS: usize = 16;
    let app = app(url).await;
    let actor = Actor::system("test");
    let field = NewField {
        code: "department".into(),
        name: "Department".into(),
        field_type: "dropdown".into(),
        options: vec!["Sales".into(), "Ops".into()],
    };
    app.create_field(&actor.superadmin().unwrap(), field).await.unwrap();
    let mut users = Vec::new();
    for i in 0..USERS {
        let user = NewUser {
            username: format!("u{i}"),
            email: format!("u{i}@example.com"),
            fields: [("department".to_owned(), serde_json::json!(["Sales", "Ops"][i % 2]))].into(),
            ..NewUser::default()
        };
        users.push(app.create_user(&actor, user).await.unwrap().id);
    }
    let new_group = NewGroup { name: "G".into(), description: None, policy: Some("automatic".into()), scope: None };
    let group = app.create_group(&actor, new_group).await.unwrap().id;
    app.set_rule(&actor, &group, rule(r#"field("department") = "Sales""#)).await.unwrap();
    let writer = tokio::spawn({
        let (app, actor, group, users) = (app.clone(), actor.clone(), group.clone(), users.clone());
        async move {
            for round in 0..ROUNDS {
                let department = ["Ops", "Sales"][round % 2];
                let text = format!(r#"field("department") = "{department}""#);
                app.set_rule(&actor, &group, rule(&text)).await.unwrap();
                let fields = [("department".to_owned(), serde_json::json!(department))].into();
                let patch = crate::users::UserPatch { fields: Some(fields), ..Default::default() };
                app.update_user(&actor, &users[round % USERS], patch).await.unwrap();
            }
        }
    });
    let mut answers = 0;
    let mut round = 0;
    while !writer.is_finished() {
        let user = &users[round % USERS];
        round += 1;
        let why = tokio::time::timeout(PATIENCE, app.explain(&actor, &group, user)).await.unwrap().unwrap();
        assert_eq!(why.member, why.currently_member, "a read saw a write half-done: {why:?}");
        answers += 1;
    }
    writer.await.unwrap();
    assert!(answers > ROUNDS, "the readers asked too seldom ({answers} answers) to say anything");
    assert!(app.image_differences().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_a_write_half_done_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    readers_never_see_a_write_half_done(&format!("sqlite://{}", dir.path().join("h.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_a_write_half_done_on_postgres() {
    let Some(db) = roster_test_support::FreshPostgres::create("roster_halfdone").await else { return };
    readers_never_see_a_write_half_done(&db.url).await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_beside_writes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    reads_beside_writes(&format!("sqlite://{}", dir.path().join("r.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_beside_writes_on_postgres() {
    let Some(db) = roster_test_support::FreshPostgres::create("roster_reads").await else { return };
    reads_beside_writes(&db.url).await;
    db.drop_database().await;
}
