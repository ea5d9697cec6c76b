//! Measures one-statement round trips to PostgreSQL over TCP and over the Unix socket,
//! side by side: each INSERT is its own autocommitted statement, the worst case for a
//! driver that lets Nagle's algorithm delay small packets.
//!
//! `cargo run --release -p roster-store --example pg_roundtrip -- postgres://postgres@127.0.0.1:5432/test 2000`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use roster_store::Store;
use std::time::Instant;

async fn run(url: &str, n: usize) -> f64 {
    let store = Store::connect(url).await.expect("connect");
    let mut conn = store.read().await.unwrap();
    roster_store::execute_raw(&mut conn, "DROP TABLE IF EXISTS roster_roundtrip").await.unwrap();
    roster_store::execute_raw(&mut conn, "CREATE TABLE roster_roundtrip (id BIGINT PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    let started = Instant::now();
    for i in 0..n {
        roster_store::execute_raw(&mut conn, &format!("INSERT INTO roster_roundtrip VALUES ({i}, 'x')")).await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    roster_store::execute_raw(&mut conn, "DROP TABLE roster_roundtrip").await.unwrap();
    elapsed
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tcp = args.get(1).cloned().unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let socket = format!("{}?host=/var/run/postgresql", tcp.replace("@127.0.0.1:5432", "@localhost"));
    let t = run(&tcp, n).await;
    let s = run(&socket, n).await;
    println!("| transport | statements | total | per statement |");
    println!("|---|---|---|---|");
    println!("| TCP 127.0.0.1 | {n} | {:.2} s | {:.3} ms |", t, t * 1000.0 / n as f64);
    println!("| Unix socket (baseline) | {n} | {:.2} s | {:.3} ms |", s, s * 1000.0 / n as f64);
}
