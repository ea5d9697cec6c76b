//! Webhooks, delivered to a real receiver on 127.0.0.1 that checks every signature as a
//! consumer would (its own HMAC, from the Standard Webhooks description): it gets every
//! change the feed has, in order, and a batch it refused is sent again, same id.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::helpers::TestServer;

/// What the receiver holds: every verified message (id, body), and whether it is "down".
#[derive(Default)]
struct Receiver {
    messages: Mutex<Vec<(String, Value)>>,
    down: AtomicBool,
    secret: Mutex<Vec<u8>>,
}

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

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: String) -> StatusCode {
    if r.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let expected = base64::engine::general_purpose::STANDARD
        .encode(hmac(&r.secret.lock().unwrap(), format!("{id}.{timestamp}.{body}").as_bytes()));
    assert_eq!(signature, format!("v1,{expected}"), "a signature that does not verify");
    assert!(timestamp.parse::<i64>().is_ok(), "{timestamp}");
    r.messages.lock().unwrap().push((id, serde_json::from_str(&body).unwrap()));
    StatusCode::NO_CONTENT
}

async fn start_receiver() -> (Arc<Receiver>, String) {
    let receiver = Arc::new(Receiver::default());
    #[expect(clippy::disallowed_methods, reason = "the receiver is a test's own server, not one of Roster's routes")]
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, url)
}

/// Every item of the feed after `after`, as the superadmin reads it.
async fn feed(s: &TestServer, after: &str) -> Vec<Value> {
    let mut items = vec![];
    let mut after = after.to_owned();
    loop {
        let r = s.call("GET", &format!("/api/v1/changes?after={after}&limit=1000"), None).await;
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        after = r.body["next_cursor"].as_str().unwrap().to_owned();
        if !r.body["more"].as_bool().unwrap() {
            return items;
        }
    }
}

/// The items the receiver got, once each, in the order sent.
fn received(r: &Receiver) -> Vec<Value> {
    let mut seen = std::collections::BTreeSet::new();
    let mut items = vec![];
    for (id, body) in r.messages.lock().unwrap().iter() {
        if seen.insert(id.clone()) {
            items.extend(body["data"]["items"].as_array().unwrap().iter().cloned());
        }
    }
    items
}

async fn a_receiver_gets_every_change_signed_and_retried(s: TestServer) {
    let (receiver, url) = start_receiver().await;
    let start = s.call("GET", "/api/v1/changes?after=now", None).await.body["next_cursor"].as_str().unwrap().to_owned();
    let hook = s.post_ok("/api/v1/webhooks", json!({"url": url})).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let secret = hook["secret"].as_str().unwrap().strip_prefix("whsec_").unwrap().to_owned();
    *receiver.secret.lock().unwrap() = base64::engine::general_purpose::STANDARD.decode(secret).unwrap();
    let http = roster_app::App::webhook_client().unwrap();

    crate::users::seed(&s).await;
    let group = s.post_ok("/api/v1/groups", json!({"name": "Crew"})).await["id"].as_str().unwrap().to_owned();
    for i in 0..20 {
        crate::users::create_user(&s, &format!("w{i}"), Some("PAR")).await;
    }
    s.post_ok(&format!("/api/v1/groups/{group}/members"), json!({"from_branch": "FR", "include_descendants": true}))
        .await;
    assert!(s.app.deliver_webhooks(&http).await.unwrap() >= 1);
    let sent = feed(&s, &start).await;
    assert!(sent.len() > 20, "{}", sent.len());
    assert_eq!(received(&receiver), sent);

    // The receiver is down: the batch fails, is logged, and waits for its backoff.
    receiver.down.store(true, Ordering::SeqCst);
    let one = crate::users::create_user(&s, "while.down", Some("PAR")).await;
    assert_eq!(s.app.deliver_webhooks(&http).await.unwrap(), 0);
    let state = s.call("GET", &format!("/api/v1/webhooks/{id}"), None).await.body;
    assert_eq!(state["state"], "retrying", "{state}");
    receiver.down.store(false, Ordering::SeqCst);
    assert_eq!(s.app.deliver_webhooks(&http).await.unwrap(), 0, "retried before its backoff");
    s.clock.advance(60_000);
    assert_eq!(s.app.deliver_webhooks(&http).await.unwrap(), 1);
    let all = feed(&s, &start).await;
    assert_eq!(received(&receiver), all);
    assert_eq!(all.last().unwrap()["user_ids"][0].as_str(), Some(one.as_str()));
    let log = s.call("GET", &format!("/api/v1/webhooks/{id}/deliveries"), None).await.body;
    let (last, failed) = (&log[0], &log[1]);
    assert_eq!((last["status"].as_str(), last["attempt"].as_i64()), (Some("delivered"), Some(2)), "{log}");
    assert_eq!((failed["status"].as_str(), failed["response_code"].as_i64()), (Some("failed"), Some(503)), "{log}");
    assert_eq!(last["message_id"], failed["message_id"], "a retry keeps its webhook-id");
    assert_eq!(s.call("GET", &format!("/api/v1/webhooks/{id}"), None).await.body["state"], "active");

    // A receiver down for a day: the subscription is paused, and says so; resumed, it
    // delivers what waited.
    receiver.down.store(true, Ordering::SeqCst);
    crate::users::create_user(&s, "down.for.a.day", Some("PAR")).await;
    for _ in 0..30 {
        s.clock.advance(3_600_000);
        s.app.deliver_webhooks(&http).await.unwrap();
    }
    let state = s.call("GET", &format!("/api/v1/webhooks/{id}"), None).await.body;
    assert_eq!(state["state"], "paused", "{state}");
    assert!(state["note"].as_str().unwrap().contains("failing since"), "{state}");
    receiver.down.store(false, Ordering::SeqCst);
    assert_eq!(s.app.deliver_webhooks(&http).await.unwrap(), 0, "a paused subscription waits");
    let r = s.call("PATCH", &format!("/api/v1/webhooks/{id}"), Some(json!({"paused": false}))).await;
    assert_eq!((r.status, r.body["state"].as_str()), (200, Some("active")), "{}", r.body);
    assert_eq!(s.app.deliver_webhooks(&http).await.unwrap(), 1);
    let all = feed(&s, &start).await;
    assert_eq!(received(&receiver), all);

    // Filters: a subscription to one kind gets only that kind.
    let joins = s.post_ok("/api/v1/webhooks", json!({"url": url, "kinds": ["membership.joined"]})).await;
    assert_eq!(joins["delivered_after"], all.last().unwrap()["cursor"]);
    for (body, field) in [
        (json!({"url": "ftp://127.0.0.1/"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": url, "kinds": ["user.renamed"]}), "kinds[0]"),
        (json!({"url": url, "group": "999999"}), "group"),
    ] {
        let r = s.call("POST", "/api/v1/webhooks", Some(body)).await;
        assert_eq!((r.status, r.field()), (422, field), "{}", r.body);
    }
    assert_eq!(s.call("DELETE", &format!("/api/v1/webhooks/{id}"), None).await.status, 204);
    assert_eq!(s.call("GET", &format!("/api/v1/webhooks/{id}"), None).await.status, 404);
    receiver.messages.lock().unwrap().clear();
    let secret = joins["secret"].as_str().unwrap().strip_prefix("whsec_").unwrap();
    *receiver.secret.lock().unwrap() = base64::engine::general_purpose::STANDARD.decode(secret).unwrap();
    let late = crate::users::create_user(&s, "late.joiner", Some("PAR")).await;
    s.post_ok(&format!("/api/v1/groups/{group}/members"), json!({"users": [late]})).await;
    assert_eq!(s.app.deliver_webhooks(&http).await.unwrap(), 1);
    let got = received(&receiver);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0]["kind"].as_str(), got[0]["user_ids"][0].as_str()),
        (Some("membership.joined"), Some(late.as_str()))
    );
}

async fn a_test_message_reaches_the_receiver_signed_and_touches_nothing(s: TestServer) {
    let (receiver, url) = start_receiver().await;
    let hook = s.post_ok("/api/v1/webhooks", json!({"url": url})).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let secret = hook["secret"].as_str().unwrap().strip_prefix("whsec_").unwrap().to_owned();
    *receiver.secret.lock().unwrap() = base64::engine::general_purpose::STANDARD.decode(secret).unwrap();

    let r = s.call("POST", &format!("/api/v1/webhooks/{id}/test"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["delivered"].as_bool(), r.body["response_code"].as_i64()),
        (Some(true), Some(204)),
        "{}",
        r.body
    );
    let got = receiver.messages.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, r.body["webhook_id"].as_str().unwrap(), "the answer names the webhook-id sent");
    assert_eq!(
        (got[0].1["type"].as_str(), got[0].1["data"]["webhook"].as_str()),
        (Some("roster.test"), Some(id.as_str()))
    );

    // A receiver that refuses: the answer says so; the subscription and its log stay.
    receiver.down.store(true, Ordering::SeqCst);
    let r = s.call("POST", &format!("/api/v1/webhooks/{id}/test"), None).await;
    assert_eq!(
        (r.body["delivered"].as_bool(), r.body["response_code"].as_i64()),
        (Some(false), Some(503)),
        "{}",
        r.body
    );
    assert!(r.body["error"].as_str().unwrap().contains("503"), "{}", r.body);
    let log = s.call("GET", &format!("/api/v1/webhooks/{id}/deliveries"), None).await.body;
    assert_eq!(log, json!([]), "a test is not a delivery");
    assert_eq!(s.call("GET", &format!("/api/v1/webhooks/{id}"), None).await.body["state"], "active");
    assert_eq!(s.call("POST", "/api/v1/webhooks/999999/test", None).await.status, 404);
}

async fn a_delivery_is_sent_again_with_its_webhook_id(s: TestServer) {
    let (receiver, url) = start_receiver().await;
    let start = s.call("GET", "/api/v1/changes?after=now", None).await.body["next_cursor"].as_str().unwrap().to_owned();
    let hook = s.post_ok("/api/v1/webhooks", json!({"url": url})).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let secret = hook["secret"].as_str().unwrap().strip_prefix("whsec_").unwrap().to_owned();
    *receiver.secret.lock().unwrap() = base64::engine::general_purpose::STANDARD.decode(secret).unwrap();
    let http = roster_app::App::webhook_client().unwrap();
    crate::users::seed(&s).await;
    crate::users::create_user(&s, "first", Some("PAR")).await;
    assert_eq!(s.app.deliver_webhooks(&http).await.unwrap(), 1);
    let log = s.call("GET", &format!("/api/v1/webhooks/{id}/deliveries"), None).await.body;
    let first = log[0].clone();
    let cursor = s.call("GET", &format!("/api/v1/webhooks/{id}"), None).await.body["delivered_after"].clone();

    // A batch delivered before: sent again as it was, same webhook-id; the subscription
    // stays where it is.
    let r = s
        .call("POST", &format!("/api/v1/webhooks/{id}/deliveries/{}/resend", first["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["status"].as_str(), r.body["attempt"].as_i64(), r.body["response_code"].as_i64()),
        (Some("delivered"), Some(2), Some(204)),
        "{}",
        r.body
    );
    assert_eq!(r.body["message_id"], first["message_id"]);
    {
        let got = receiver.messages.lock().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], got[1], "the same batch under the same webhook-id");
    }
    assert_eq!(received(&receiver), feed(&s, &start).await, "a receiver that dedupes sees each change once");
    assert_eq!(s.call("GET", &format!("/api/v1/webhooks/{id}"), None).await.body["delivered_after"], cursor);

    // The batch waiting after a failure: sending it again is its next attempt, and
    // delivered, the subscription moves on at once, before its backoff.
    receiver.down.store(true, Ordering::SeqCst);
    crate::users::create_user(&s, "second", Some("PAR")).await;
    assert_eq!(s.app.deliver_webhooks(&http).await.unwrap(), 0);
    let failed = s.call("GET", &format!("/api/v1/webhooks/{id}/deliveries"), None).await.body[0].clone();
    assert_eq!(failed["status"], "failed");
    let resend = format!("/api/v1/webhooks/{id}/deliveries/{}/resend", failed["id"].as_str().unwrap());
    let r = s.call("POST", &resend, None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str(), r.body["response_code"].as_i64()),
        (200, Some("failed"), Some(503))
    );
    assert_eq!(s.call("GET", &format!("/api/v1/webhooks/{id}"), None).await.body["state"], "retrying");
    receiver.down.store(false, Ordering::SeqCst);
    let r = s.call("POST", &resend, None).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["attempt"].as_i64(), r.body["message_id"].as_str()),
        (Some("delivered"), Some(3), failed["message_id"].as_str()),
        "{}",
        r.body
    );
    let state = s.call("GET", &format!("/api/v1/webhooks/{id}"), None).await.body;
    assert_eq!(state["state"], "active", "{state}");
    assert_eq!(s.app.deliver_webhooks(&http).await.unwrap(), 0, "nothing is left to deliver");
    assert_eq!(received(&receiver), feed(&s, &start).await);

    // Deliveries of another subscription, or none, are not found.
    let other = s.post_ok("/api/v1/webhooks", json!({"url": url})).await["id"].as_str().unwrap().to_owned();
    let r = s
        .call("POST", &format!("/api/v1/webhooks/{other}/deliveries/{}/resend", failed["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(s.call("POST", &format!("/api/v1/webhooks/{id}/deliveries/999999/resend"), None).await.status, 404);
    assert_eq!(s.call("POST", &format!("/api/v1/webhooks/{id}/deliveries/x/resend"), None).await.status, 404);
}

/// A receiver's secret, from a subscription as created.
fn trust(receiver: &Receiver, hook: &Value) {
    let secret = hook["secret"].as_str().unwrap().strip_prefix("whsec_").unwrap();
    *receiver.secret.lock().unwrap() = base64::engine::general_purpose::STANDARD.decode(secret).unwrap();
}

async fn a_training_admins_webhook_carries_only_what_it_may_see(s: TestServer) {
    crate::users::seed(&s).await;
    let trainer = s.training_admin("fr-hooks", &["FR"]).await;
    let (mine, my_url) = start_receiver().await;
    let (everything, all_url) = start_receiver().await;
    let crew = s.call_as(&trainer, "POST", "/api/v1/groups", Some(json!({"name": "Paris crew"}))).await;
    assert_eq!(crew.status, 201, "{}", crew.body);
    let crew = crew.body["id"].as_str().unwrap().to_owned();
    let wide = s.post_ok("/api/v1/groups", json!({"name": "Everyone"})).await["id"].as_str().unwrap().to_owned();

    // It subscribes to groups it manages, and must name one.
    let r = s.call_as(&trainer, "POST", "/api/v1/webhooks", Some(json!({"url": my_url}))).await;
    assert_eq!((r.status, r.field()), (422, "groups"), "{}", r.body);
    let r = s.call_as(&trainer, "POST", "/api/v1/webhooks", Some(json!({"url": my_url, "groups": [wide]}))).await;
    assert_eq!(r.status, 403, "a platform-wide group is not its own: {}", r.body);
    let r = s.call_as(&trainer, "POST", "/api/v1/webhooks", Some(json!({"url": my_url, "groups": [crew]}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let my_hook = r.body["id"].as_str().unwrap().to_owned();
    let my_start = r.body["delivered_after"].as_str().unwrap().to_owned();
    assert_eq!(r.body["created_by"], "token:fr-hooks");
    trust(&mine, &r.body);
    let all_hook = s.post_ok("/api/v1/webhooks", json!({"url": all_url})).await;
    trust(&everything, &all_hook);
    let all_start = all_hook["delivered_after"].as_str().unwrap().to_owned();
    let all_hook = all_hook["id"].as_str().unwrap().to_owned();

    // It sees its own subscription only; the superadmin sees both.
    let listed = s.call_as(&trainer, "GET", "/api/v1/webhooks", None).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"].as_str(), Some(my_hook.as_str()));
    assert_eq!(s.call("GET", "/api/v1/webhooks", None).await.body.as_array().unwrap().len(), 2);
    for (method, path) in [
        ("GET", format!("/api/v1/webhooks/{all_hook}")),
        ("PATCH", format!("/api/v1/webhooks/{all_hook}")),
        ("GET", format!("/api/v1/webhooks/{all_hook}/deliveries")),
        ("POST", format!("/api/v1/webhooks/{all_hook}/test")),
        ("DELETE", format!("/api/v1/webhooks/{all_hook}")),
    ] {
        let body = (method == "PATCH").then(|| json!({"paused": true}));
        assert_eq!(s.call_as(&trainer, method, &path, body).await.status, 404, "{method} {path}");
    }
    let r = s.call_as(&trainer, "PATCH", &format!("/api/v1/webhooks/{my_hook}"), Some(json!({"groups": []}))).await;
    assert_eq!((r.status, r.field()), (422, "groups"), "{}", r.body);

    // Paris users join its group; one of them moves to the United States and is taken
    // out; an American is in a group it does not follow.
    let stays = crate::users::create_user(&s, "stays.in.paris", Some("PAR")).await;
    let moves = crate::users::create_user(&s, "moves.away", Some("PAR")).await;
    let outside = crate::users::create_user(&s, "always.outside", Some("US")).await;
    s.post_ok(&format!("/api/v1/groups/{crew}/members"), json!({"users": [stays, moves]})).await;
    s.post_ok(&format!("/api/v1/groups/{wide}/members"), json!({"users": [stays, moves, outside]})).await;
    let r = s.call("PATCH", &format!("/api/v1/users/{moves}"), Some(json!({"branch": "US"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.call("DELETE", &format!("/api/v1/groups/{crew}/members/{moves}"), None).await;

    let http = roster_app::App::webhook_client().unwrap();
    assert!(s.app.deliver_webhooks(&http).await.unwrap() >= 2);
    let got = received(&mine);
    assert!(!got.is_empty());
    for item in &got {
        let users: Vec<&str> =
            item["user_ids"].as_array().map_or(vec![], |u| u.iter().filter_map(|v| v.as_str()).collect());
        assert!(!users.contains(&moves.as_str()) && !users.contains(&outside.as_str()), "outside its branches: {item}");
        assert_eq!(item["group_id"].as_str(), Some(crew.as_str()), "not its group: {item}");
    }
    assert!(got.iter().any(|i| i["kind"] == "membership.joined" && i["user_ids"] == json!([stays])), "{got:?}");
    // Exactly what the feed shows it, for its group.
    let r =
        s.call_as(&trainer, "GET", &format!("/api/v1/changes?after={my_start}&group={crew}&limit=1000"), None).await;
    assert_eq!(&got, r.body["items"].as_array().unwrap());
    // The superadmin's receiver had every change, the mover's too.
    let all = received(&everything);
    assert_eq!(all, feed(&s, &all_start).await);
    assert!(all.iter().any(|i| i["kind"] == "membership.left" && i["user_ids"] == json!([moves])), "{all:?}");

    // Its token revoked, its subscription stops and says why.
    let tokens = s.call("GET", "/api/v1/tokens", None).await.body;
    let token =
        tokens.as_array().unwrap().iter().find(|t| t["name"] == "fr-hooks").unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(s.call("DELETE", &format!("/api/v1/tokens/{token}"), None).await.status, 204);
    let late = crate::users::create_user(&s, "late.parisian", Some("PAR")).await;
    s.post_ok(&format!("/api/v1/groups/{crew}/members"), json!({"users": [late]})).await;
    let before = mine.messages.lock().unwrap().len();
    s.app.deliver_webhooks(&http).await.unwrap();
    assert_eq!(mine.messages.lock().unwrap().len(), before, "nothing goes out for a maker that is gone");
    let hook = s.call("GET", &format!("/api/v1/webhooks/{my_hook}"), None).await.body;
    assert_eq!(hook["state"], "paused", "{hook}");
    let log = s.call("GET", &format!("/api/v1/webhooks/{my_hook}/deliveries"), None).await.body;
    assert!(log[0]["error"].as_str().unwrap().contains("token:fr-hooks"), "{log}");
}

crate::on_both_databases!(
    a_receiver_gets_every_change_signed_and_retried,
    a_test_message_reaches_the_receiver_signed_and_touches_nothing,
    a_delivery_is_sent_again_with_its_webhook_id,
    a_training_admins_webhook_carries_only_what_it_may_see
);
