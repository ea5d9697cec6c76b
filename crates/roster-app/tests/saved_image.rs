//! The image saved to a file: a new process reads it back, replays the changes made
//! since, and ends with the image a build from the database makes; a file it cannot
//! trust (another database's, a rewound database's, cut short, not an image) is left
//! aside and the image built from the database. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use roster_app::catalog::{NewBranch, NewCourse, NewField};
use roster_app::enrollment_rules::EnrollmentRuleInput;
use roster_app::enrollments::EnrollmentInput;
use roster_app::groups::{AddMembers, NewGroup};
use roster_app::rules::RuleInput;
use roster_app::users::{NewUser, UserPatch};
use roster_app::{Actor, App, ManualClock, Settings};
use roster_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const NOW: i64 = 1_772_452_800_000;

async fn open(url: &str, file: &Path) -> App {
    let store = Store::connect(url).await.unwrap();
    store.migrate(NOW).await.unwrap();
    let settings = Settings { image_file: Some(file.to_path_buf()), ..Settings::default() };
    App::new(store, Arc::new(ManualClock::new(NOW)), settings)
}

/// A population with something of everything the image holds: fields of every type, a
/// branch tree, courses and enrollments, manual and automatic groups with `member_of`,
/// lists, scope and enrollment rules. Returns the user ids.
async fn populate(app: &App) -> Vec<String> {
    let actor = Actor::system("test");
    let admin = &actor.superadmin().unwrap();
    for (code, parent) in [("EMEA", None), ("FR", Some("EMEA")), ("US", None)] {
        let branch = NewBranch { code: code.into(), name: format!("Branch {code}"), parent: parent.map(Into::into) };
        app.create_branch(admin, branch).await.unwrap();
    }
    for (code, kind, options) in [
        ("department", "dropdown", vec!["Sales".to_owned(), "Ops".to_owned()]),
        ("title", "text", vec![]),
        ("hired", "date", vec![]),
        ("level", "number", vec![]),
        ("mentor", "yes_no", vec![]),
    ] {
        let field = NewField { code: code.into(), name: code.into(), field_type: kind.into(), options };
        app.create_field(admin, field).await.unwrap();
    }
    for c in ["C1", "C2"] {
        app.create_course(admin, NewCourse { code: c.into(), name: format!("Course {c}") }).await.unwrap();
    }
    let mut users = Vec::new();
    for n in 0..40 {
        let mut fields = std::collections::BTreeMap::new();
        fields.insert("department".to_owned(), serde_json::json!(if n % 3 == 0 { "Sales" } else { "Ops" }));
        fields.insert("title".to_owned(), serde_json::json!(format!("Émile Title {}", n % 5)));
        fields.insert("hired".to_owned(), serde_json::json!(format!("2025-0{}-1{}", 1 + n % 9, n % 10)));
        fields.insert("level".to_owned(), serde_json::json!(n % 7));
        if n % 4 != 0 {
            fields.insert("mentor".to_owned(), serde_json::json!(n % 3 == 0));
        }
        let user = NewUser {
            username: format!("user{n}"),
            email: format!("user{n}@{}", if n % 2 == 0 { "acme.com" } else { "other.org" }),
            first_name: (n % 5 != 0).then(|| format!("First{n}")),
            branch: [Some("FR"), Some("EMEA"), Some("US"), None][n % 4].map(Into::into),
            fields,
            ..NewUser::default()
        };
        users.push(app.create_user(&actor, user).await.unwrap().id);
    }
    for (i, user) in users.iter().enumerate().step_by(3) {
        let status = ["completed", "in_progress", "failed"][(i / 3) % 3];
        app.set_enrollment(&actor, "C1", user, EnrollmentInput { status: status.into() }).await.unwrap();
    }
    let group = |name: &str, automatic: bool| NewGroup {
        name: name.into(),
        description: None,
        policy: automatic.then(|| "automatic".into()),
        scope: (name == "Scoped").then(|| vec!["EMEA".to_owned()]),
    };
    let manual = app.create_group(&actor, group("Manual", false)).await.unwrap().id;
    let add = AddMembers { users: Some(users[..10].to_vec()), ..AddMembers::default() };
    app.add_members(&actor, &manual, add).await.unwrap();
    for (name, rule) in [
        ("Sales", r#"field("department") = "Sales" and field("level") >= 2"#),
        ("Scoped", r#"course("C1") = completed or field("mentor") = yes"#),
        ("Chained", r#"member_of("Sales") or (member_of("Manual") and field("hired") < 2025-05-01)"#),
    ] {
        let id = app.create_group(&actor, group(name, true)).await.unwrap().id;
        app.set_rule(&actor, &id, RuleInput { text: Some(rule.into()), ..RuleInput::default() }).await.unwrap();
        if name == "Chained" {
            let rule = EnrollmentRuleInput { course: "C2".into(), due_days: Some(7), unenroll_on_leave: true };
            app.set_enrollment_rules(&actor, &id, vec![rule]).await.unwrap();
        }
    }
    users
}

/// Changes of every kind after the image was saved.
async fn change_more(app: &App, users: &[String]) {
    let actor = Actor::system("test");
    let patch: UserPatch =
        serde_json::from_value(serde_json::json!({"status": "suspended", "fields": {"level": 9}})).unwrap();
    app.update_user(&actor, &users[3], patch).await.unwrap();
    let patch: UserPatch = serde_json::from_value(serde_json::json!({"branch": "US", "first_name": null})).unwrap();
    app.update_user(&actor, &users[4], patch).await.unwrap();
    app.delete_user(&actor, &users[5]).await.unwrap();
    // A user the image has not seen, whom the rule edit below puts in a group.
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("department".to_owned(), serde_json::json!("Ops"));
    let user = NewUser { username: "late".into(), email: "late@acme.com".into(), fields, ..NewUser::default() };
    app.create_user(&actor, user).await.unwrap();
    app.set_enrollment(&actor, "C1", &users[1], EnrollmentInput { status: "completed".into() }).await.unwrap();
    let sales = app.find_group(&actor, "Sales").await.unwrap().id;
    let rule = RuleInput { text: Some(r#"field("department") = "Ops""#.into()), ..RuleInput::default() };
    app.set_rule(&actor, &sales, rule).await.unwrap();
}

async fn assert_same_as_database(app: &App) {
    assert_eq!(app.image_differences().await.unwrap(), Vec::<String>::new());
    let drift = app.reconcile(false).await.unwrap();
    assert!(drift.drifted.is_empty(), "{drift:?}");
}

async fn on_both_databases<F, Fut>(test: F)
where
    F: Fn(String, PathBuf) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.db.image");
    test(format!("sqlite://{}", dir.path().join("roster.db").display()), file).await;
    if let Some(pg) = roster_test_support::FreshPostgres::create("roster_saved").await {
        test(pg.url.clone(), dir.path().join("pg.image")).await;
        pg.drop_database().await;
    }
}

#[tokio::test]
async fn a_new_process_reads_the_saved_image_and_replays_what_came_after() {
    on_both_databases(|url, file| async move {
        let first = open(&url, &file).await;
        let users = populate(&first).await;
        assert!(!first.image_read_from_file());
        let saved = first.save_image().await.unwrap().expect("an image to save");
        assert_eq!(saved.users, 40);
        assert_eq!(saved.groups, 4);
        assert!(first.save_image().await.unwrap().is_none(), "nothing changed: nothing to save");

        // Read back as it was saved.
        let second = open(&url, &file).await;
        assert_eq!(second.image_differences().await.unwrap(), Vec::<String>::new());
        assert!(second.image_read_from_file());

        // Read back with changes made since, which the change log replays.
        change_more(&first, &users).await;
        let third = open(&url, &file).await;
        assert_eq!(third.image_differences().await.unwrap(), Vec::<String>::new());
        assert!(third.image_read_from_file(), "the changes since were replayed on the saved image");
        assert_same_as_database(&third).await;
        // The reconcile built its image from the database, as it must.
        assert!(!third.image_read_from_file());

        // A process that read the file writes through it like any other.
        let fourth = open(&url, &file).await;
        let actor = Actor::system("test");
        let patch: UserPatch = serde_json::from_value(serde_json::json!({"fields": {"department": "Sales"}})).unwrap();
        fourth.update_user(&actor, &users[7], patch).await.unwrap();
        assert!(fourth.image_read_from_file());
        assert_same_as_database(&fourth).await;
    })
    .await;
}

#[tokio::test]
async fn a_file_that_cannot_be_trusted_is_left_aside() {
    on_both_databases(|url, file| async move {
        let first = open(&url, &file).await;
        populate(&first).await;
        first.save_image().await.unwrap().expect("an image to save");
        let good = std::fs::read(&file).unwrap();

        // Another database's image (same shape, same ids, same times): not used.
        let dir = tempfile::tempdir().unwrap();
        let other = open(&format!("sqlite://{}", dir.path().join("other.db").display()), &file).await;
        populate(&other).await;
        let fresh = open(&format!("sqlite://{}", dir.path().join("other.db").display()), &file).await;
        assert_same_as_database(&fresh).await;
        assert!(!fresh.image_read_from_file());
        std::fs::write(&file, &good).unwrap();

        // Saved with another platform time zone (the users' days would be other days).
        let store = Store::connect(&url).await.unwrap();
        let settings =
            Settings { image_file: Some(file.clone()), timezone: chrono_tz::Pacific::Auckland, ..Settings::default() };
        let elsewhere = App::new(store, Arc::new(ManualClock::new(NOW)), settings);
        assert_eq!(elsewhere.image_differences().await.unwrap(), Vec::<String>::new());
        assert!(!elsewhere.image_read_from_file());
        std::fs::write(&file, &good).unwrap();

        // Only its owner may read it: it holds every user's data.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }

        // Cut short, one byte changed, or not an image at all: not used.
        let mut flipped = good.clone();
        flipped[good.len() / 3] ^= 0x10;
        for broken in [good[..good.len() - 3].to_vec(), good[..good.len() / 2].to_vec(), flipped, b"hello".to_vec()] {
            std::fs::write(&file, &broken).unwrap();
            let app = open(&url, &file).await;
            assert_eq!(app.image_differences().await.unwrap(), Vec::<String>::new());
            assert!(!app.image_read_from_file());
        }

        // The file as written is used.
        std::fs::write(&file, &good).unwrap();
        let app = open(&url, &file).await;
        assert_eq!(app.image_differences().await.unwrap(), Vec::<String>::new());
        assert!(app.image_read_from_file());
    })
    .await;
}

/// A database restored from a copy older than the image: the change the image stands
/// at is not in its log, so the image is built from the database.
#[tokio::test]
async fn a_database_restored_from_an_older_copy_does_not_use_a_newer_image() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("roster.db");
    let url = format!("sqlite://{}", db.display());
    let file = dir.path().join("roster.db.image");
    let app = open(&url, &file).await;
    let users = populate(&app).await;
    app.save_image().await.unwrap();
    app.store().close().await;
    let copy = dir.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let app = open(&url, &file).await;
    change_more(&app, &users).await;
    app.save_image().await.unwrap().expect("a newer image");
    app.store().close().await;
    std::fs::copy(&copy, &db).unwrap();
    for wal in ["roster.db-wal", "roster.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(wal));
    }
    let restored = open(&url, &file).await;
    assert_same_as_database(&restored).await;
    assert!(!restored.image_read_from_file());
}
