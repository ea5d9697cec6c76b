//! Accessibility: axe-core finds no serious or critical WCAG 2.2 AA violation on any
//! screen, side panels keep the keyboard inside them, and the focused control shows a
//! marker that can be seen.

use crate::harness::{enabled, Browser, Server, ADMIN};
use fantoccini::key::Key;
use roster_app::groups::NewGroup;
use roster_app::rules::RuleInput;
use roster_app::Actor;
use serde_json::Value;

/// Presses `keys` on the focused element.
async fn press(b: &Browser, keys: &str) {
    b.client.active_element().await.unwrap().send_keys(keys).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_passes_the_accessibility_check_and_panels_keep_the_focus() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let system = Actor::system("t");
    let drivers =
        NewGroup { name: "Lyon drivers".into(), description: None, policy: Some("automatic".into()), scope: None };
    let drivers = server.app.create_group(&system, drivers).await.unwrap();
    let rule = RuleInput { text: Some(r#"branch under "FR-LYO""#.into()), ..RuleInput::default() };
    server.app.set_rule(&system, &drivers.id, rule).await.unwrap();
    let team = server.app.find_group(&system, "Warehouse team").await.unwrap().id;
    let alice = server.users["alice.martin"].clone();

    let mut b = Browser::open(&server.base, "a11y").await;
    b.go("/admin/login").await;
    b.axe("login").await;
    b.log_in(ADMIN).await;
    for (screen, path) in [
        ("groups", "/admin/groups".to_owned()),
        ("group members", format!("/admin/groups/{team}")),
        ("group history", format!("/admin/groups/{team}/history")),
        ("group settings", format!("/admin/groups/{team}/settings")),
        ("group rules", format!("/admin/groups/{}/rules", drivers.id)),
        ("users", "/admin/users".to_owned()),
        ("new user", "/admin/users/new".to_owned()),
        ("user", format!("/admin/users/{alice}")),
        ("user history", format!("/admin/users/{alice}/history")),
        ("additional fields", "/admin/fields".to_owned()),
        ("branches", "/admin/branches".to_owned()),
        ("courses", "/admin/courses".to_owned()),
        ("course", "/admin/courses/DRV-101".to_owned()),
        ("import", "/admin/imports".to_owned()),
        ("administrators", "/admin/admins".to_owned()),
        ("API tokens", "/admin/tokens".to_owned()),
        ("webhooks", "/admin/webhooks".to_owned()),
        ("not found", "/admin/nowhere".to_owned()),
    ] {
        b.go(&path).await;
        b.find("main").await;
        b.axe(screen).await;
    }

    // The New group panel: Tab and Shift+Tab go round inside it, never behind it.
    b.go("/admin/groups").await;
    b.click("#new-group-button").await;
    b.find("#new-group:not([hidden])").await;
    b.axe("new group panel").await;
    let inside = "return document.getElementById('new-group').contains(document.activeElement)";
    assert_eq!(b.js(inside).await, Value::Bool(true), "the panel takes the focus");
    for _ in 0..12 {
        press(&b, &Key::Tab.to_string()).await;
        assert_eq!(b.js(inside).await, Value::Bool(true), "Tab stays in the panel");
    }
    for _ in 0..12 {
        press(&b, &format!("{}{}", Key::Shift, Key::Tab)).await;
        assert_eq!(b.js(inside).await, Value::Bool(true), "Shift+Tab stays in the panel");
    }
    // The focused control shows a solid outline at least 2px wide.
    let outline = b
        .js("const s = getComputedStyle(document.activeElement); return [s.outlineStyle, parseFloat(s.outlineWidth)]")
        .await;
    assert_eq!(outline[0], "solid", "{outline}");
    assert!(outline[1].as_f64().unwrap() >= 2.0, "{outline}");
    b.shot("panel-focus").await;
    press(&b, &Key::Escape.to_string()).await;
    assert_eq!(
        b.js("return document.activeElement.id").await,
        "new-group-button",
        "closing gives the focus back to the plus button"
    );
    let outline = b.js("return getComputedStyle(document.activeElement).outlineStyle").await;
    assert_eq!(outline, "solid", "the plus button's focus marker is an outline, not a faint shadow");
    b.shot("plus-button-focus").await;
    b.close().await;
    server.finish().await;
}
