//! The binary as an operator uses it: demo data, tokens, a server, and groups filled
//! from CSV and exported from the shell while the server runs on the same database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ok, roster, Server};
use std::process::Command;

#[tokio::test]
async fn an_operator_fills_a_group_from_csv_and_exports_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ops.db").display());
    ok(&roster(&db, &["demo", "--generate-only", "--users", "300"]));
    assert!(ok(&roster(&db, &["migrate"])).contains("up to date"));

    let token = ok(&roster(&db, &["token", "create", "--name", "hr-sync"])).trim().to_owned();
    assert!(token.starts_with("rst_") && token.len() == 68, "{token}");
    let listed = ok(&roster(&db, &["token", "list"]));
    assert!(listed.contains("hr-sync\tsuperadmin"));
    assert!(!listed.contains(&token), "a token is shown only once");
    assert!(!roster(&db, &["token", "create", "--name", "hr-sync"]).status.success());
    let scoped = roster(&db, &["token", "create", "--name", "fr", "--role", "training_admin", "--branches", "NOPE"]);
    assert!(String::from_utf8_lossy(&scoped.stderr).contains("NOPE"));

    let server = Server::start(&db);
    let http = reqwest::Client::new();
    let users: serde_json::Value = http
        .get(format!("{}/api/v1/users?limit=5", server.1))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = users["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 5);
    let created = http
        .post(format!("{}/api/v1/groups", server.1))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Night Shift"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let file = dir.path().join("members.csv");
    std::fs::write(&file, format!("Login\n{}\n", names.join("\n"))).unwrap();
    let dry = ok(&roster(&db, &["groups", "import-members", "Night Shift", file.to_str().unwrap(), "--dry-run"]));
    assert!(dry.starts_with("dry run: 5 rows, 5 added"), "{dry}");
    let applied = ok(&roster(&db, &["groups", "import-members", "night shift", file.to_str().unwrap()]));
    assert!(applied.starts_with("applied: 5 rows, 5 added"), "{applied}");
    let list = ok(&roster(&db, &["groups", "list"]));
    assert!(list.lines().any(|l| l.ends_with("\tmanual\t5\tNight Shift")), "{list}");

    // The server sees what the command line did: all state is in the database.
    let group: serde_json::Value = http
        .get(format!("{}/api/v1/groups?q=night", server.1))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(group["items"][0]["member_count"], 5);

    let out = dir.path().join("export.csv");
    ok(&roster(&db, &["groups", "export", "Night Shift", "-o", out.to_str().unwrap()]));
    let exported = std::fs::read_to_string(&out).unwrap();
    assert_eq!(exported.lines().count(), 6);
    assert_eq!(ok(&roster(&db, &["groups", "export", "Night Shift"])), exported, "stdout and file get the same bytes");
    // The members at a moment: none before anything happened, the five after.
    let past = ok(&roster(&db, &["groups", "export", "Night Shift", "--as-of", "2000-01-01T00:00:00Z"]));
    assert_eq!(past, "user_id\n");
    let later = ok(&roster(&db, &["groups", "export", "Night Shift", "--as-of", "2999-01-01T00:00:00Z"]));
    assert_eq!(later.lines().count(), 6, "{later}");
    assert!(later.lines().skip(1).all(|id| id.parse::<u32>().is_ok()), "{later}");
    let refused = roster(&db, &["groups", "export", "Night Shift", "--as-of", "last week"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("RFC 3339"));

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "username\nnobody\n").unwrap();
    let refused = roster(&db, &["groups", "import-members", "Night Shift", bad.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("nothing was applied"));

    ok(&roster(&db, &["token", "revoke", "hr-sync"]));
    let after = http.get(format!("{}/api/v1/users", server.1)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(after.status(), 401, "a revoked token stops working at once, across processes");
}

#[test]
fn help_explains_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_roster")).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in ["serve", "migrate", "token", "groups", "admin", "demo"] {
        assert!(help.contains(cmd), "{cmd} missing from --help:\n{help}");
    }
}

#[test]
fn the_demo_has_one_database_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_roster")).args(["demo", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert_eq!(help.matches("database-url").count(), 1, "{help}");
    assert!(help.contains("roster-demo.db"), "the demo's own default is stated: {help}");
}

#[test]
fn an_operator_lists_and_sets_enrollment_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("rules.db").display());
    ok(&roster(&db, &["demo", "--generate-only", "--users", "300"]));
    // The demo's approved drivers are enrolled in the advanced course, and the group of
    // those enrolled and not started holds them.
    let shown = ok(&roster(&db, &["groups", "enrollment-rules", "approved drivers"]));
    assert_eq!(shown, "DRV-201\t30\ttrue\tDefensive Driving\n");
    let list = ok(&roster(&db, &["groups", "list"]));
    let count = |name: &str| -> u64 {
        let line = list.lines().find(|l| l.ends_with(&format!("\t{name}"))).unwrap_or_else(|| panic!("{list}"));
        line.split('\t').nth(2).unwrap().parse().unwrap()
    };
    assert!(count("Approved Drivers") > 0 && count("Enrolled in advanced driving") > 0, "{list}");

    let set = roster(
        &db,
        &["groups", "enrollment-rules", "Fleet Safety Committee", "--set", "SAFE-1:14", "--set", "fork-101::unenroll"],
    );
    assert_eq!(ok(&set), "SAFE-1\t14\tfalse\tWorkplace Safety Basics\nFORK-101\t\ttrue\tForklift Certification\n");
    assert!(
        String::from_utf8_lossy(&set.stderr).contains("enrollments made for the members of \"Fleet Safety Committee\"")
    );
    for bad in ["NOPE", "SAFE-1:soon", "SAFE-1:3:forever"] {
        let out = roster(&db, &["groups", "enrollment-rules", "Fleet Safety Committee", "--set", bad]);
        assert!(!out.status.success(), "{bad}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(bad.split(':').next_back().unwrap()), "{bad}: {said}");
    }
    assert_eq!(ok(&roster(&db, &["groups", "enrollment-rules", "Fleet Safety Committee"])).lines().count(), 2);
    ok(&roster(&db, &["groups", "enrollment-rules", "Fleet Safety Committee", "--clear"]));
    assert_eq!(ok(&roster(&db, &["groups", "enrollment-rules", "Fleet Safety Committee"])), "");
}
