//! What the binary's tests share: running `roster`, a server on a free port, and each
//! test on a fresh SQLite file and a fresh PostgreSQL database.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

pub fn command(db: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roster"));
    c.env("ROSTER_LOG", "warn").env_remove("ROSTER_DATABASE_URL").arg("--database-url").arg(db).args(args);
    c
}

pub fn roster(db: &str, args: &[&str]) -> Output {
    command(db, args).output().expect("roster runs")
}

pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `roster serve` on a free port; killed on drop.
pub struct Server(pub Child, pub String);

impl Server {
    pub fn start(db: &str) -> Self {
        Self::start_with(db, &[]).0
    }

    /// A server started with more arguments, and what it printed until it was ready.
    pub fn start_with(db: &str, args: &[&str]) -> (Self, String) {
        let mut child = command(db, &["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        // It prints its URL when it starts listening, and again once it is ready.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut printed = String::new();
        let mut line = String::new();
        while !line.contains("is serving on") {
            line.clear();
            assert_ne!(out.read_line(&mut line).unwrap(), 0, "the server stopped before it was ready");
            printed.push_str(&line);
        }
        let base = line.split_whitespace().find(|w| w.starts_with("http://")).expect("the URL is printed").to_owned();
        // Keep reading what it prints, so that it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        (Server(child, base), printed)
    }

    /// SIGTERM, as a supervisor stops it; waits until it has exited, and says whether it
    /// exited cleanly.
    pub fn stop(mut self) -> bool {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success());
        self.0.wait().expect("the server exits").success()
    }

    /// SIGKILL: no shutdown, no cleanup, as when a machine or an OOM killer stops it.
    pub fn kill_9(mut self) {
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
pub async fn on_both_databases<F, Fut>(test: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    test(format!("sqlite://{}", dir.path().join("roster.db").display())).await;
    let Some(pg) = roster_test_support::FreshPostgres::create("roster_cli").await else { return };
    test(pg.url.clone()).await;
    pg.drop_database().await;
}
