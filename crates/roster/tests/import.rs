//! User import through the binary: `roster users import` from the shell, and a server
//! killed (SIGKILL) in the middle of a large import — the database holds all of the
//! import or none of it, and the job ends interrupted, never running forever. Runs on
//! SQLite, and on PostgreSQL when `ROSTER_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn command(db: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roster"));
    c.env("ROSTER_LOG", "warn").env_remove("ROSTER_DATABASE_URL").arg("--database-url").arg(db).args(args);
    c
}

fn roster(db: &str, args: &[&str]) -> Output {
    command(db, args).output().expect("roster runs")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `roster serve` on a free port; killed on drop.
struct Server(Child, String);

impl Server {
    fn start(db: &str) -> Self {
        let mut child =
            command(db, &["serve", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).spawn().expect("serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.split_whitespace().find(|w| w.starts_with("http://")).expect("the URL is printed").to_owned();
        Server(child, base)
    }

    /// SIGKILL: no shutdown, no cleanup, as when a machine or an OOM killer stops it.
    fn kill_9(mut self) {
        let pid = self.0.id().to_string();
        let killed = Command::new("kill").args(["-9", &pid]).status().expect("kill runs");
        assert!(killed.success());
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `test` on a fresh SQLite file, then on a fresh PostgreSQL database if enabled.
async fn on_both_databases<F, Fut>(test: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    test(format!("sqlite://{}", dir.path().join("roster.db").display())).await;
    let Some(admin_url) = std::env::var("ROSTER_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        assert!(std::env::var("CI").is_err(), "CI must set ROSTER_TEST_POSTGRES_URL");
        return;
    };
    let name = format!("roster_cli_{}", std::process::id());
    let admin = roster_store::Store::connect(&admin_url).await.unwrap();
    let mut conn = admin.read().await.unwrap();
    roster_store::execute_raw(&mut conn, &format!("CREATE DATABASE {name}")).await.unwrap();
    drop(conn);
    let (base, query) = admin_url.split_once('?').map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
    let root = &base[..base.rfind('/').unwrap()];
    test(match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    })
    .await;
    let mut conn = admin.read().await.unwrap();
    roster_store::execute_raw(&mut conn, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
}

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
        assert_eq!(j["state"], "running", "the import ended before it could be killed: {j}");
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
    ok(&roster(&db, &["demo", "--generate-only", "--users", "20", "--demo-database-url", &db]));
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
    let out = roster(&db, &["users", "import", path, "--map", "Dept=department"]);
    let applied = ok(&out);
    assert!(applied.starts_with("applied: 2 rows, 2 created"), "{applied}");
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
