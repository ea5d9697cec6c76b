//! Logging in and out, the admin menu, CSRF, throttling, and a training admin's scope.

use crate::harness::{enabled, Browser, Server, ADMIN, TRAINER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_logs_in_finds_the_menu_and_logs_out() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let mut b = Browser::open(&server.base, "login").await;

    b.go("/admin/groups").await;
    assert!(b.path().await.starts_with("/admin/login?next="), "a page without a session goes to the login");
    b.shot("login").await;
    b.fill("#username", ADMIN.0).await;
    b.fill("#password", "not the password").await;
    b.submit("button[type=submit]").await;
    b.wait_text("#login-error", "The username or password is wrong").await;
    b.shot("wrong-password").await;

    b.fill("#password", ADMIN.1).await;
    b.submit("button[type=submit]").await;
    b.wait_text("h1", "Groups").await;
    assert_eq!(b.path().await, "/admin/groups", "the login goes on to the page asked for");
    let cookies = b.js("return document.cookie").await;
    assert!(!cookies.as_str().unwrap_or_default().contains("roster_session"), "the session cookie is HttpOnly");

    // The admin menu: a gear in the top right corner; E-learning holds Groups.
    b.click("#admin-menu > summary").await;
    let menu = b.wait_text("#admin-menu .menu-popover", "E-LEARNING").await; // headings are set in capitals
    for entry in ["Groups", "Users", "Branches", "Courses", "Import and Manage", "Log out"] {
        assert!(menu.contains(entry), "the menu offers {entry}: {menu}");
    }
    b.shot("admin-menu").await;
    b.submit("#admin-menu a[data-menu=groups]").await;
    b.wait_text("h1", "Groups").await;

    // A state-changing request without the session's CSRF token is refused.
    let forged = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             fetch('/admin/groups', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                    body: 'name=Forged&policy=manual'}).then(r => done(r.status));",
        )
        .await;
    assert_eq!(forged, 403);
    let groups = server
        .app
        .list_groups(&roster_app::Actor::system("t"), &Default::default(), &Default::default())
        .await
        .unwrap();
    assert!(groups.items.iter().all(|g| g.name != "Forged"), "nothing was created");

    b.click("#admin-menu > summary").await;
    b.submit("#admin-menu .menu-logout button").await;
    b.find("#username").await;
    b.go("/admin/groups").await;
    assert!(b.path().await.starts_with("/admin/login"), "logged out: the session is gone");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_are_throttled() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let mut b = Browser::open(&server.base, "throttle").await;
    b.go("/admin/login").await;
    for _ in 0..5 {
        b.fill("#username", ADMIN.0).await;
        b.fill("#password", "guess").await;
        b.submit("button[type=submit]").await;
        b.wait_text("#login-error", "wrong").await;
    }
    b.fill("#username", ADMIN.0).await;
    b.fill("#password", ADMIN.1).await;
    b.submit("button[type=submit]").await;
    b.wait_text("#login-error", "Too many failed attempts").await;
    b.shot("throttled").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_admin_sees_only_the_users_of_its_branches() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let mut b = Browser::open(&server.base, "scope").await;
    b.log_in(TRAINER).await;
    b.go("/admin/users").await;
    let table = b.text("#users-table").await;
    assert!(table.contains("alice.martin") && table.contains("lena.fischer"), "EMEA users are listed: {table}");
    assert!(!table.contains("grace.lee") && !table.contains("henry.walker"), "AMER users are not: {table}");
    b.click("#user-branch-search").await;
    let branches = b.wait_text("#user-branch-tree", "Paris").await;
    assert!(branches.contains("Paris") && !branches.contains("United States"), "only its branches to filter by");
    b.shot("users").await;

    b.go(&format!("/admin/users/{}", server.users["grace.lee"])).await;
    b.wait_text("#error-message", "not found").await;
    b.shot("outside-user").await;

    // Nor through a picker.
    let found = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             fetch('/admin/json/users?q=grace').then(r => r.json()).then(done);",
        )
        .await;
    assert_eq!(found, serde_json::json!([]));
    b.close().await;
}
