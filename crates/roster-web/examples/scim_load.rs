//! Measures a running server's SCIM API: user creation throughput over `POST /Users`,
//! then filtered list queries (the kinds an identity provider sends) with their latency.
//!
//! ```sh
//! cargo run --release -p roster-web --example scim_load -- http://127.0.0.1:8080 TOKEN [USERS] [CLIENTS]
//! ```
//!
//! USERS (default 2000) are created by CLIENTS (default 4) concurrent clients, each user
//! named `load-<run>-<n>` so that runs do not collide; every request is checked for its
//! status. The queries then run 200 times each, one at a time.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = format!("{}/scim/v2", args.get(1).expect("the server's URL").trim_end_matches('/'));
    let token = args.get(2).expect("a superadmin token").clone();
    let users: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(2000);
    let clients: usize = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(4).max(1);
    let http = reqwest::Client::new();
    let run = std::process::id();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in (c..users).step_by(clients) {
                let body = json!({"schemas": [USER], "userName": format!("load-{run}-{n}"),
                    "name": {"givenName": "Load", "familyName": format!("Test {n}")},
                    "emails": [{"value": format!("load-{run}-{n}@example.com"), "type": "work"}], "active": true});
                let t = Instant::now();
                let r = http
                    .post(format!("{base}/Users"))
                    .bearer_auth(&token)
                    .header("content-type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap_or_default());
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("client"));
    }
    let elapsed = started.elapsed();
    println!(
        "POST /Users: {users} users by {clients} clients in {:.2} s: {:.0} users/s; {}",
        elapsed.as_secs_f64(),
        users as f64 / elapsed.as_secs_f64(),
        summary(&mut latencies)
    );

    let total = list(&http, &base, &token, "").await["totalResults"].as_u64().unwrap_or(0);
    println!("{total} users in the database");
    let queries = [
        ("userName eq", format!(r#"userName eq "load-{run}-{}""#, users / 2)),
        ("userName sw (1 page)", r#"userName sw "a""#.to_owned()),
        ("userName co", r#"userName co "son1""#.to_owned()),
        ("emails.value eq", format!(r#"emails.value eq "load-{run}-7@example.com""#)),
        ("externalId eq", r#"externalId eq "nobody""#.to_owned()),
        ("active eq false", "active eq false".to_owned()),
        ("and/or", format!(r#"(userName sw "b" or userName sw "c") and active eq true and emails co "{}""#, ".")),
        ("name.familyName eq (narrowed)", r#"name.familyName eq "Test 7""#.to_owned()),
        ("no filter, sortBy userName", String::new()),
    ];
    for (label, filter) in queries {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..200 {
            let t = Instant::now();
            let page = list(&http, &base, &token, &filter).await;
            times.push(t.elapsed());
            found = page["totalResults"].as_u64().unwrap_or(0);
        }
        println!("GET /Users?filter={label}: {found} found; {}", summary(&mut times));
    }
}

async fn list(http: &reqwest::Client, base: &str, token: &str, filter: &str) -> Value {
    let mut query = vec![("count", "100".to_owned())];
    if filter.is_empty() {
        query.push(("sortBy", "userName".into()));
    } else {
        query.push(("filter", filter.to_owned()));
    }
    let r = http.get(format!("{base}/Users")).bearer_auth(token).query(&query).send().await.expect("request");
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("json");
    assert_eq!(status, 200, "{filter}: {body}");
    body
}

fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    format!("p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", at(0.5), at(0.99), at(1.0))
}
