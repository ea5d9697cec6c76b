//! Delegated administration as a new superadmin would set it up: a training admin made
//! on the Administrators screen logs in and works within its branches; an API token
//! made on the tokens screen shows its secret once.

use crate::harness::{enabled, Browser, Server, ADMIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superadmin_makes_a_training_admin_who_then_works_within_its_branches() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let mut b = Browser::open(&server.base, "delegation").await;
    b.log_in(ADMIN).await;
    b.click("#admin-menu > summary").await;
    let page = b.page().await;
    b.click("#admin-menu a[href='/admin/admins']").await;
    b.next_page(page).await;
    b.click("#new-admin-button").await;
    b.find("#new-admin:not([hidden]) #admin-username").await;
    b.fill("#admin-username", "claire").await;
    b.fill("#admin-password", "short").await;
    b.pick_branch("admin-branches", "fran", "FR").await;
    b.submit("#create-admin").await;
    assert!(b.text("#new-admin").await.contains("at least 12 characters"), "a short password is refused");
    b.fill("#admin-password", "a long enough secret").await;
    let kept = b.js("return [...document.querySelector('#admin-branches').selectedOptions].map(o => o.value)").await;
    assert_eq!(kept, serde_json::json!(["FR"]), "the refused form keeps its branches");
    b.shot("new-admin").await;
    b.submit("#create-admin").await;
    b.wait_text("#flash", "claire can now log in.").await;
    let table = b.text("#admins-table").await;
    assert!(table.contains("claire") && table.contains("Training admin") && table.contains("FR"), "{table}");
    b.shot("admins").await;

    // A token: its secret is on the page once, and never again.
    b.go("/admin/tokens").await;
    b.click("#new-token-button").await;
    b.find("#new-token:not([hidden]) #token-name").await;
    b.fill("#token-name", "lms-fr").await;
    b.pick_branch("token-branches", "fran", "FR").await;
    b.submit("#create-token").await;
    let secret = b.js("return document.querySelector('#token-secret').value").await;
    let secret = secret.as_str().unwrap().to_owned();
    assert!(secret.starts_with("rst_"), "{secret}");
    b.shot("token-created").await;
    b.go("/admin/tokens").await;
    let listed = b.text("#tokens-table").await;
    assert!(listed.contains("lms-fr") && !b.js("return document.body.innerHTML").await.to_string().contains(&secret));

    b.click("#admin-menu > summary").await;
    b.submit("#admin-menu .menu-logout button").await;
    b.find("#username").await;

    // The new training admin sees France's users only, and its groups are France's.
    b.log_in(("claire", "a long enough secret")).await;
    b.go("/admin/users").await;
    let users = b.text("#users-table").await;
    assert!(users.contains("alice.martin") && users.contains("karim.haddad"), "{users}");
    assert!(!users.contains("grace.lee") && !users.contains("lena.fischer"), "{users}");
    let menu = b.js("return document.querySelector('#admin-menu').innerText").await;
    assert!(!menu.to_string().contains("Administrators"), "the access screens are a superadmin's: {menu}");
    b.go("/admin/admins").await;
    b.wait_text("#error-message", "superadmin").await;

    b.go("/admin/groups").await;
    b.click("#new-group-button").await;
    b.find("#new-group:not([hidden]) #group-name").await;
    b.fill("#group-name", "France drivers").await;
    b.submit("#create-group").await;
    b.wait_text("#flash", "Group \"France drivers\" created.").await;
    // Individually (the picker offers only its users), from a branch, and by CSV.
    b.click("#assign-menu > summary").await;
    b.click("#assign-menu a[data-open-panel=assign-users]").await;
    b.pick("#user-picker", "alic", "alice.martin").await;
    b.submit("#assign-users-submit").await;
    b.wait_text("#flash", "1 user assigned.").await;
    let offered = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             fetch('/admin/json/users?q=grace').then(r => r.json()).then(done);",
        )
        .await;
    assert!(!offered.to_string().contains("grace.lee"), "{offered}");
    b.click("#assign-menu > summary").await;
    b.click("#assign-menu a[data-open-panel=assign-branch]").await;
    b.pick_branch("from-branch", "fran", "FR").await;
    b.submit("#assign-branch-submit").await;
    b.wait_text("#flash", "6 users assigned; 1 was already a member.").await;
    b.shot("trainer-group").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("france.csv");
    std::fs::write(&file, "username,action\ngrace.lee,add\nbruno.petit,remove\n").unwrap();
    b.click("#csv-button").await;
    b.find("#csv-file").await.send_keys(&file.display().to_string()).await.unwrap();
    b.wait_text("#csv-file-name", "france.csv").await;
    b.click("#csv input[name=on_error]").await;
    b.click("#csv-upload").await;
    b.wait_text("#csv-summary", "File applied.").await;
    assert!(b.text("#csv-rows").await.contains("grace.lee"), "the name it typed, reported as not found");
    let export = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.getElementById('export-button').href).then(r => r.text()).then(done);",
        )
        .await;
    let export = export.as_str().unwrap();
    assert!(export.contains("alice.martin") && !export.contains("bruno.petit") && !export.contains("grace.lee"));

    // An automatic group with a course, an additional field and a standard field: its
    // members are France's matches only (grace.lee completed the course too, in the US).
    b.go("/admin/groups").await;
    b.click("#new-group-button").await;
    b.fill("#group-name", "France safe drivers").await;
    b.click("#new-group input[value=automatic]").await;
    b.submit("#create-group").await;
    b.wait_text("#flash", "Group \"France safe drivers\" created.").await;
    b.click("#mode-text").await;
    b.fill(
        "#rule-text",
        "(course(\"DRV-101\") = completed or field(\"Department\") = \"Finance\") and email ends with \"@acme.test\"",
    )
    .await;
    b.wait_text("#preview-join", "+3").await;
    let samples = b.text("#preview-join-samples").await;
    assert!(samples.contains("alice.martin") && !samples.contains("grace.lee"), "{samples}");
    b.submit("#save-rule").await;
    b.wait_text("#flash", "Rule saved: 3 joined, 0 left; 3 members now.").await;
    assert!(b.text("#group-scope").await.contains("FR"));
    b.shot("trainer-automatic-group").await;

    // A platform-wide group is read-only to it.
    let system = roster_app::Actor::system("t");
    let all = server.app.list_groups(&system, &Default::default(), &Default::default()).await.unwrap();
    let team = all.items.into_iter().find(|g| g.name == "Warehouse team").unwrap().id;
    b.go(&format!("/admin/groups/{team}/settings")).await;
    assert_eq!(b.text("#group-scope").await, "Platform-wide");
    b.fill("#settings-name", "Taken over").await;
    b.submit("#save-settings").await;
    b.wait_text("#error-message", "platform-wide").await;
    b.shot("read-only-group").await;
    b.close().await;
    server.finish().await;
}
