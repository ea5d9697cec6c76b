//! User import through the binary: `roster users import` from the shell, and a server
//! killed (SIGKILL) in the middle of a large import — the database holds all of the
//! import or none of it, and the job ends interrupted, never running forever. Runs on
//! SQLite, and on PostgreSQL when `ROSTER_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
mod common;

use common::{ok, on_both_databases, roster, Server};
use std::time::{Duration, Instant};

async fn users_in(db: &str) -> i64 {
    let store = roster_store::Store::connect(db).await.unwrap();
    let mut conn = store.read().await.unwrap();
    let n = roster_store::users::count(&mut conn).await.unwrap();
    drop(conn);
    store.close().await;
    n
}

async fn job(http: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    http.get(format!("{base}/api/v1/imports/{id}")).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

const ROWS: usize = 200_000;

async fn killed_mid_import(db: String) {
    let token = ok(&roster(&db, &["token", "create", "--name", "hr-sync"])).trim().to_owned();
    let mut file = String::from("username,email,first_name,last_name\n");
    for i in 0..ROWS {
        file.push_str(&format!("user{i:06},user{i:06}@example.com,First{i},Last{i}\n"));
    }
    let http = reqwest::Client::new();
    let server = Server::start(&db);
    let accepted: Value = http
        .post(format!("{}/api/v1/imports/users", server.1))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = accepted["id"].as_str().expect("the import is accepted").to_owned();

    // Kill the server once the import is writing: inside its one transaction.
    let started = Instant::now();
    loop {
        let j = job(&http, &server.1, &token, &id).await;
        assert!(j["state"] == "running" || j["state"] == "queued", "the import ended before it could be killed: {j}");
        assert_eq!(j["state"] == "queued", j["phase"] == "queued", "state and phase disagree: {j}");
        if j["phase"] == "applying" && j["rows_read"].as_u64().unwrap() >= 20_000 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "the import never got to writing: {j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill_9();
    assert_eq!(users_in(&db).await, 0, "none of a killed import is in the database");

    let server = Server::start(&db);
    let started = Instant::now();
    let ended = loop {
        let j = job(&http, &server.1, &token, &id).await;
        if j["state"] != "running" && j["state"] != "queued" {
            break j;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the killed import still shows as running: {j}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!((ended["state"].as_str(), ended["error"]["code"].as_str()), (Some("interrupted"), Some("interrupted")));
    assert_eq!(ended["applied"], false);
    drop(server);
    assert_eq!(users_in(&db).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_import_keeps_none_of_it_and_the_job_ends_interrupted() {
    on_both_databases(killed_mid_import).await;
}

async fn imported_from_the_shell(db: String) {
    ok(&roster(&db, &["demo", "--generate-only", "--users", "20"]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "Login;E-mail;Given name;Dept;Hire Date\n\
         ann.lee;ann@acme.com;Ann;sales;31/01/2024\n\
         bob.martin;bob@acme.com;Bob;Logistics;2023-05-04\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let dry = ok(&roster(&db, &["users", "import", path, "--map", "Dept=department", "--dry-run"]));
    assert!(dry.starts_with("dry run: 2 rows, 2 created, 0 updated, 0 unchanged, 0 errors"), "{dry}");
    // The group effects the engine works out, a line a group, as the admin UI says them.
    let lines: Vec<&str> = dry.lines().collect();
    assert!(lines.contains(&"this file moves 1 user into \"Department: Sales\""), "{dry}");
    assert!(lines.contains(&"this file moves 1 user into \"Department: Logistics\""), "{dry}");
    let out = roster(&db, &["users", "import", path, "--map", "Dept=department"]);
    let applied = ok(&out);
    assert!(applied.starts_with("applied: 2 rows, 2 created"), "{applied}");
    assert!(applied.lines().any(|l| l == "this file moved 1 user into \"Department: Sales\""), "{applied}");
    let leaving = dir.path().join("leaving.csv");
    std::fs::write(&leaving, "username,Department\nann.lee,Logistics\n").unwrap();
    let moving = ok(&roster(&db, &["users", "import", leaving.to_str().unwrap(), "--dry-run"]));
    assert!(moving.lines().any(|l| l == "this file takes 1 user out of \"Department: Sales\""), "{moving}");
    assert!(moving.lines().any(|l| l == "this file moves 1 user into \"Department: Logistics\""), "{moving}");
    let large = ok(&roster(
        &db,
        &["--rehearse-imports-up-to", "10", "users", "import", leaving.to_str().unwrap(), "--dry-run"],
    ));
    assert!(
        large
            .lines()
            .any(|l| l
                .starts_with("Group effects are not worked out on platforms of more than 10 users (this one has 22)")),
        "a check over the limit says it did not work the groups out: {large}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("column 4 \"Dept\" -> department"), "{stderr}");

    let refused = roster(&db, &["users", "import", path, "--mode", "create"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("row 2, Login [ann.lee]: a user \"ann.lee\" already exists"), "{stderr}");
    assert!(String::from_utf8_lossy(&refused.stdout).starts_with("nothing imported: 2 rows"));
    let too_big = roster(&db, &["--max-import-bytes", "10", "users", "import", path]);
    assert!(!too_big.status.success());
    assert!(String::from_utf8_lossy(&too_big.stderr).contains("larger than the import limit"));
    assert_eq!(users_in(&db).await, 22);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_imported_from_the_shell() {
    on_both_databases(imported_from_the_shell).await;
}
