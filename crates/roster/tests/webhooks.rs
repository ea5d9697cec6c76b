//! Webhooks from a real `roster serve` to a receiver on 127.0.0.1 that verifies every
//! signature and, as the Standard Webhooks convention asks of a consumer, handles each
//! `webhook-id` once. The receiver goes away and comes back (the deliveries wait and
//! arrive), then holds a delivery unanswered while the server is killed with SIGKILL
//! and more changes are committed: after a restart on the same database every change of
//! the feed arrives, and a message sent twice is the same message, same `webhook-id`.
//! Runs on SQLite, and on PostgreSQL when `ROSTER_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use common::{ok, on_both_databases, roster, Server};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the receiver got: every message, verified, in the order it arrived.
#[derive(Default)]
struct Inbox {
    secret: Mutex<Vec<u8>>,
    /// (webhook-id, body) of every request, duplicates included.
    messages: Mutex<Vec<(String, Value)>>,
    /// Record each message, then never answer: the server is to be killed meanwhile.
    stall: AtomicBool,
}

impl Inbox {
    /// The items of every message, each `webhook-id` taken once (the first time), as a
    /// consumer that deduplicates by id sees them.
    fn items(&self) -> Vec<Value> {
        let mut seen = std::collections::BTreeSet::new();
        let mut items = vec![];
        for (id, body) in self.messages.lock().unwrap().iter() {
            if seen.insert(id.clone()) {
                items.extend(body["data"]["items"].as_array().unwrap().iter().cloned());
            }
        }
        items
    }
}

/// HMAC-SHA256 written from RFC 2104, not Roster's own.
fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).chain(message.iter().copied()).collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).chain(inner.iter().copied()).collect();
    Sha256::digest(&outer).to_vec()
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: String) -> (StatusCode, HeaderMap) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let expected = base64::engine::general_purpose::STANDARD
        .encode(hmac(&inbox.secret.lock().unwrap(), format!("{id}.{timestamp}.{body}").as_bytes()));
    assert_eq!(signature, format!("v1,{expected}"), "a signature that does not verify");
    assert!(timestamp.parse::<i64>().is_ok(), "{timestamp}");
    inbox.messages.lock().unwrap().push((id, serde_json::from_str(&body).unwrap()));
    if inbox.stall.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    // No connection kept open: a receiver that is stopped is gone for every request.
    let mut close = HeaderMap::new();
    close.insert("connection", "close".parse().unwrap());
    (StatusCode::NO_CONTENT, close)
}

/// The receiver listening on `port` (0: any free port) until the handle is aborted.
async fn listen(inbox: &Arc<Inbox>, port: u16) -> (u16, tokio::task::JoinHandle<()>) {
    #[expect(clippy::disallowed_methods, reason = "the receiver is the test's own server, not one of Roster's routes")]
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (port, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut r =
            self.http.request(method.parse().unwrap(), format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            r = r.json(&body);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    async fn user(&self, name: &str) -> String {
        let body = json!({"username": name, "email": format!("{name}@acme.com")});
        self.call("POST", "/users", Some(body)).await["id"].as_str().unwrap().to_owned()
    }

    /// Every item of the feed after `after`.
    async fn feed(&self, after: &str) -> Vec<Value> {
        let mut items = vec![];
        let mut after = after.to_owned();
        loop {
            let page = self.call("GET", &format!("/changes?after={after}&limit=1000"), None).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            after = page["next_cursor"].as_str().unwrap().to_owned();
            if !page["more"].as_bool().unwrap() {
                return items;
            }
        }
    }
}

/// Waits until the receiver holds exactly the feed after `start`; what it holds at the end.
async fn all_delivered(api: &Api, inbox: &Inbox, start: &str, within: Duration) -> Vec<Value> {
    let began = Instant::now();
    loop {
        let feed = api.feed(start).await;
        let got = inbox.items();
        if got == feed {
            return feed;
        }
        assert!(
            got.len() <= feed.len() && feed[..got.len()] == got[..],
            "the receiver got what the feed does not have, or out of order:\n{got:#?}\n{feed:#?}"
        );
        assert!(began.elapsed() < within, "{} of {} changes delivered after {within:?}", got.len(), feed.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn killed_between_commit_and_delivery(db: String) {
    let token = ok(&roster(&db, &["token", "create", "--name", "hooks"])).trim().to_owned();
    let inbox = Arc::new(Inbox::default());
    let (port, receiver) = listen(&inbox, 0).await;
    let server = Server::start(&db);
    let mut api = Api { http: reqwest::Client::new(), base: server.1.clone(), token };

    let hook = api.call("POST", "/webhooks", Some(json!({"url": format!("http://127.0.0.1:{port}/hook")}))).await;
    let (id, start) = (hook["id"].as_str().unwrap().to_owned(), hook["delivered_after"].as_str().unwrap().to_owned());
    let secret = hook["secret"].as_str().unwrap().strip_prefix("whsec_").unwrap();
    *inbox.secret.lock().unwrap() = base64::engine::general_purpose::STANDARD.decode(secret).unwrap();

    let group = api.call("POST", "/groups", Some(json!({"name": "Crew"}))).await["id"].as_str().unwrap().to_owned();
    let mut users = vec![];
    for i in 0..5 {
        users.push(api.user(&format!("first{i}")).await);
    }
    api.call("POST", &format!("/groups/{group}/members"), Some(json!({"users": users}))).await;
    let delivered = all_delivered(&api, &inbox, &start, Duration::from_secs(10)).await;
    assert!(delivered.len() >= 11, "{delivered:#?}");

    // The receiver is stopped: nothing listens on its port. The deliveries fail, are
    // logged, and arrive once it is back.
    receiver.abort();
    let _ = receiver.await;
    let late = api.user("while.down").await;
    api.call("POST", &format!("/groups/{group}/members"), Some(json!({"users": [late]}))).await;
    let began = Instant::now();
    let log = loop {
        let log = api.call("GET", &format!("/webhooks/{id}/deliveries"), None).await;
        if log[0]["status"] == "failed" {
            break log;
        }
        assert!(began.elapsed() < Duration::from_secs(10), "no failed attempt logged: {log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(log[0]["error"], "the receiver could not be reached", "{log}");
    assert_eq!(api.call("GET", &format!("/webhooks/{id}"), None).await["state"], "retrying");
    let (_, receiver) = listen(&inbox, port).await;
    all_delivered(&api, &inbox, &start, Duration::from_secs(20)).await;
    let log = api.call("GET", &format!("/webhooks/{id}/deliveries"), None).await;
    assert_eq!(log[0]["status"], "delivered", "{log}");
    assert_eq!(log[0]["message_id"], log[1]["message_id"], "a retry keeps its webhook-id: {log}");

    // The receiver takes the next message and never answers; more changes are committed
    // behind it; the server is killed with nothing recorded of that delivery.
    inbox.stall.store(true, Ordering::SeqCst);
    let before = inbox.messages.lock().unwrap().len();
    api.call("PATCH", &format!("/users/{late}"), Some(json!({"first_name": "Late"}))).await;
    let began = Instant::now();
    while inbox.messages.lock().unwrap().len() == before {
        assert!(began.elapsed() < Duration::from_secs(10), "the server never sent the change");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held = inbox.messages.lock().unwrap().last().unwrap().0.clone();
    let mut more = vec![];
    for i in 0..3 {
        more.push(api.user(&format!("behind{i}")).await);
    }
    api.call("POST", &format!("/groups/{group}/members"), Some(json!({"users": more}))).await;
    api.call("DELETE", &format!("/groups/{group}/members/{}", users[0]), None).await;
    server.kill_9();
    inbox.stall.store(false, Ordering::SeqCst);

    let server = Server::start(&db);
    api.base = server.1.clone();
    let all = all_delivered(&api, &inbox, &start, Duration::from_secs(20)).await;
    let kinds: Vec<&str> = all.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "membership.left").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "user.created").count(), 9, "{kinds:?}");

    // At least once, and a duplicate is the same message: same id, same items; no change
    // came under two ids.
    let messages = inbox.messages.lock().unwrap().clone();
    let mut by_id: std::collections::BTreeMap<&str, Vec<&Value>> = std::collections::BTreeMap::new();
    for (id, body) in &messages {
        by_id.entry(id).or_default().push(&body["data"]["items"]);
    }
    assert!(by_id[held.as_str()].len() >= 2, "the message held at the kill was sent again: {messages:#?}");
    for (id, copies) in &by_id {
        assert!(copies.iter().all(|c| *c == copies[0]), "{id} was sent with different items: {copies:#?}");
    }
    let sent: usize = by_id.values().map(|copies| copies[0].as_array().unwrap().len()).sum();
    assert_eq!(sent, all.len(), "a change was sent under two webhook-ids");
    drop(server);
    receiver.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_survive_receiver_downtime_and_a_server_killed_before_delivery() {
    on_both_databases(killed_between_commit_and_delivery).await;
}
