//! The Webhooks screen and the group's "Members on ..." picker, in a real browser: a
//! superadmin subscribes a receiver on 127.0.0.1 (a small server of the test's own),
//! sends it a test, sees the delivery log, sends a batch again, pauses and resumes,
//! and deletes; a training admin's form asks for its groups; the history answers who
//! was a member on a given day. Every screen passes the accessibility check.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use roster_app::Actor;

use crate::harness::{enabled, Browser, Server, ADMIN, NOW_MS, TRAINER};

/// A receiver that takes everything and keeps the `webhook-id` of each message.
async fn start_receiver() -> (Arc<Mutex<Vec<String>>>, String) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    #[expect(clippy::disallowed_methods, reason = "the receiver is a test's own server, not one of Roster's routes")]
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| async move {
            let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            kept.lock().unwrap().push(id);
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (got, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superadmin_subscribes_tests_and_sends_again_on_the_webhooks_screen() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let (got, url) = start_receiver().await;
    let mut b = Browser::open(&server.base, "webhooks").await;
    b.log_in(ADMIN).await;
    b.click("#admin-menu > summary").await;
    let page = b.page().await;
    b.click("#admin-menu a[href='/admin/webhooks']").await;
    b.next_page(page).await;
    b.axe("webhooks").await;
    b.click("#new-webhook-button").await;
    b.find("#new-webhook:not([hidden]) #webhook-url").await;
    b.axe("new webhook panel").await;
    b.fill("#webhook-url", "ftp://files.example.com/").await;
    b.submit("#create-webhook").await;
    b.wait_text("#new-webhook", "http or https").await;
    b.fill("#webhook-url", &url).await;
    b.click("#webhook-kinds input[value='membership.joined']").await;
    b.pick("#webhook-groups", "Wareh", "Warehouse team").await;
    b.shot("new-webhook").await;
    b.submit("#create-webhook").await;
    let secret = b.js("return document.querySelector('#webhook-secret').value").await;
    assert!(secret.as_str().unwrap().starts_with("whsec_"), "{secret}");
    let table = b.text("#webhooks-table").await;
    assert!(table.contains(&url) && table.contains("Warehouse team") && table.contains("Active"), "{table}");
    assert!(table.contains("membership.joined"), "{table}");
    b.shot("webhooks").await;

    // Its page: a test message, answered by the receiver.
    let page = b.page().await;
    b.click("#webhooks-table a.button").await;
    b.next_page(page).await;
    b.submit("#send-test").await;
    let said = b.wait_text("#test-result", "took the test message").await;
    assert!(said.contains("204"), "{said}");
    assert_eq!(got.lock().unwrap().len(), 1);
    b.axe("webhook").await;

    // A change is delivered; the log shows it; "Send again" sends it under its id.
    let system = Actor::system("t");
    let team = server.app.find_group(&system, "Warehouse team").await.unwrap().id;
    let alice = server.users["alice.martin"].clone();
    let add = roster_app::groups::AddMembers { users: Some(vec![alice]), ..Default::default() };
    server.app.add_members(&system, &team, add).await.unwrap();
    let http = roster_app::App::webhook_client().unwrap();
    assert_eq!(server.app.deliver_webhooks(&http).await.unwrap(), 1);
    let here = b.path().await;
    b.go(&here).await;
    let log = b.text("#deliveries-table").await;
    assert!(log.contains("Delivered") && log.contains("204"), "{log}");
    b.submit("#deliveries-table button").await;
    b.wait_text("#flash", "Sent again: delivered (204).").await;
    {
        let ids = got.lock().unwrap();
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert_eq!(ids[1], ids[2], "sent again under the same webhook-id");
    }
    b.shot("webhook-deliveries").await;

    // Pause and resume; change the URL (refused, then kept); delete, after a confirmation.
    b.submit("#pause-webhook").await;
    b.wait_text("#flash", "Paused").await;
    assert!(b.text("#webhook-state").await.contains("Paused"));
    b.submit("#resume-webhook").await;
    b.wait_text("#flash", "Resumed").await;
    b.click("#edit-webhook > summary").await;
    b.fill("#webhook-url", "javascript:alert(1)").await;
    b.submit("#save-webhook").await;
    b.wait_text("#edit-webhook", "http or https").await;
    b.axe("webhook edit refused").await;
    let confirm = b.js("return document.querySelector('#delete-webhook').dataset.confirmClick").await;
    assert!(confirm.as_str().unwrap().contains("Delete the webhook"), "{confirm}");
    b.js("window.confirm = () => true; return null").await;
    let page = b.page().await;
    b.click("#delete-webhook").await;
    b.next_page(page).await;
    b.wait_text("#flash", "deleted").await;
    assert!(b.text("main").await.contains("No webhooks yet."));
    b.close().await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_admin_subscribes_to_its_groups_only() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let (_got, url) = start_receiver().await;
    let mut b = Browser::open(&server.base, "webhooks-trainer").await;
    b.log_in(TRAINER).await;
    b.go("/admin/webhooks?new=1").await;
    b.find("#new-webhook:not([hidden]) #webhook-url").await;
    b.fill("#webhook-url", &url).await;
    // The picker asks for a group before the form goes.
    b.click("#create-webhook").await;
    b.wait_text("#new-webhook", "Pick at least one group").await;
    b.pick("#webhook-groups", "Wareh", "Warehouse team").await;
    b.submit("#create-webhook").await;
    b.wait_text("#new-webhook", "platform-wide group").await;
    b.shot("webhook-trainer-refused").await;
    b.axe("training admin's refused webhook").await;
    b.close().await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_tab_answers_who_was_a_member_on_a_day() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let system = Actor::system("t");
    let team = server.app.find_group(&system, "Warehouse team").await.unwrap().id;
    let today = roster_app::clock::rfc3339(NOW_MS)[..10].to_owned();
    let day_before = roster_app::clock::rfc3339(NOW_MS - 86_400_000)[..10].to_owned();
    let mut b = Browser::open(&server.base, "as-of").await;
    b.log_in(ADMIN).await;
    b.go(&format!("/admin/groups/{team}/history")).await;
    b.js(&format!("document.querySelector('#as-of-day').value = '{today}'; return null")).await;
    b.submit("#as-of-show").await;
    let count = b.wait_text("#as-of-count", "3 members").await;
    assert!(count.contains("then"), "{count}");
    let members = b.text("#as-of-table").await;
    assert!(members.contains("karim.haddad") && members.contains("lena.fischer"), "{members}");
    b.shot("group-as-of").await;
    b.axe("members on a day").await;

    b.js(&format!("document.querySelector('#as-of-day').value = '{day_before}'; return null")).await;
    b.submit("#as-of-show").await;
    b.wait_text("#as-of-before", "did not exist yet").await;

    b.go(&format!("/admin/groups/{team}/history?on=2026-02-30")).await;
    b.wait_text("#as-of-error", "no such moment").await;
    b.go(&format!("/admin/groups/{team}/history?on=1%20March")).await;
    b.wait_text("#as-of-error", "is not a day").await;
    b.axe("members on a day refused").await;
    b.close().await;
    server.finish().await;
}
