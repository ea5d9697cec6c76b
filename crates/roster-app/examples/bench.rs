//! The benchmark on a fresh database.
//!
//! `cargo run --release -p roster-app --example bench -- [--users N] [--groups G] [--updates U] [--database-url URL]`
//!
//! Defaults: 1,000,000 users, 1,000 automatic groups, 1,000 updates, a new SQLite file
//! under the system's temporary folder. A PostgreSQL URL must name an empty database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use roster_app::bench::BenchSpec;
use roster_app::{App, Settings, SystemClock};
use roster_store::Store;
use std::sync::Arc;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main]
async fn main() {
    tracing_subscriber_init();
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: usize| arg(&args, name).map_or(default, |v| v.parse().expect("a number"));
    let spec = BenchSpec {
        users: num("--users", 1_000_000),
        groups: num("--groups", 1000),
        updates: num("--updates", 1000),
        seed: 7,
    };
    let url = arg(&args, "--database-url").unwrap_or_else(|| {
        let path = std::env::temp_dir().join("roster-bench.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        format!("sqlite://{}", path.display())
    });
    let store = Store::connect(&url).await.expect("database");
    let clock = Arc::new(SystemClock);
    store.migrate(roster_app::Clock::now_ms(&*clock)).await.expect("migrations");
    let app = App::new(store, clock, Settings::default());
    let report = app.bench(&spec).await.expect("benchmark");
    println!("{}", report.markdown());
}

fn tracing_subscriber_init() {}
