//! Every branch choice of the admin UI is the same searchable tree picker (issue 18,
//! item 8): a branch's parent on the Branches screen, a training admin's and a token's
//! branches (several, as removable chips), a rule's branch condition — each used from
//! the keyboard, each passing the accessibility check.

use crate::harness::{enabled, Browser, Server, ADMIN};
use roster_app::Actor;

/// Types `query` into the picker standing for the select `select`, then presses the
/// keys `keys` (WebDriver key codes) in it.
async fn type_keys(b: &Browser, select: &str, query: &str, keys: &str) {
    b.fill(&format!("#{select}-search"), query).await;
    b.find(&format!("#{select}-tree:not([hidden]) li[role=option]")).await;
    b.find(&format!("#{select}-search")).await.send_keys(keys).await.unwrap();
}

const DOWN: &str = "\u{E015}";
const ENTER: &str = "\u{E007}";

/// The codes a picker's list shows now.
async fn offered(b: &Browser, select: &str) -> Vec<String> {
    let codes = b
        .js(&format!("return [...document.querySelectorAll('#{select}-tree li .code')].map(c => c.textContent)"))
        .await;
    serde_json::from_value(codes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_branch_choice_is_the_searchable_tree_picker() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let system = Actor::system("t");
    let mut b = Browser::open(&server.base, "branch-pickers").await;
    b.log_in(ADMIN).await;

    // No plain branch select is left on the screens that choose a branch.
    for path in ["/admin/branches?edit=FR", "/admin/admins", "/admin/tokens", "/admin/users/new"] {
        b.go(path).await;
        let plain = b.js("return [...document.querySelectorAll('select')].filter(s => !s.hidden && [...s.options].some(o => o.value === 'FR-PAR')).length").await;
        assert_eq!(plain, 0, "a plain branch select on {path}");
    }

    // A new branch's parent, found by typing and picked with the keyboard.
    b.go("/admin/branches").await;
    b.click("#new-branch-button").await;
    b.fill("#branch-code", "FR-NCE").await;
    b.fill("#branch-name", "Nice").await;
    b.fill("#branch-parent-search", "fra").await;
    b.find("#branch-parent-tree:not([hidden]) li[role=option]").await;
    assert_eq!(offered(&b, "branch-parent").await, ["EMEA", "FR"], "a match comes with the branches above it");
    b.axe("new branch with its parent picker open").await;
    b.shot("new-branch-parent").await;
    b.find("#branch-parent-search").await.send_keys(ENTER).await.unwrap();
    assert_eq!(b.js("return document.getElementById('branch-parent').value").await, "FR");
    assert_eq!(b.find("#branch-parent-search").await.prop("value").await.unwrap().as_deref(), Some("France (FR)"));
    b.axe("new branch with its parent chosen").await;
    b.submit("#new-branch button[type=submit]").await;
    b.wait_text("#flash", "Branch FR-NCE created.").await;

    // Moving France: neither France nor a branch under it is offered as its parent.
    b.go("/admin/branches?edit=FR").await;
    b.fill("#edit-parent-search", "").await;
    b.click("#edit-parent-search").await;
    b.find("#edit-parent-tree:not([hidden]) li[role=option]").await;
    assert_eq!(offered(&b, "edit-parent").await, ["AMER", "US", "EMEA"], "no cycle can be chosen");
    type_keys(&b, "edit-parent", "united", ENTER).await;
    b.axe("branch move with its parent picker").await;
    b.shot("move-branch").await;
    b.submit("#edit button[type=submit]:not([name])").await;
    b.wait_text("#flash", "Branch FR saved.").await;
    assert_eq!(server.app.get_branch(&system, "FR").await.unwrap().parent.as_deref(), Some("US"));

    // A training admin's branches: several, shown as chips, each removable.
    b.go("/admin/admins").await;
    b.click("#new-admin-button").await;
    b.find("#new-admin:not([hidden]) #admin-username").await;
    b.fill("#admin-username", "claire").await;
    b.fill("#admin-password", "a long enough secret").await;
    type_keys(&b, "admin-branches", "par", ENTER).await;
    type_keys(&b, "admin-branches", "am", ENTER).await;
    type_keys(&b, "admin-branches", "lyo", ENTER).await;
    let chips = b.text("#admin-branches-chosen").await;
    assert!(
        chips.contains("Paris (FR-PAR)") && chips.contains("Americas (AMER)") && chips.contains("Lyon (FR-LYO)"),
        "{chips}"
    );
    b.fill("#admin-branches-search", "").await;
    b.click("#admin-branches-search").await;
    b.find("#admin-branches-tree:not([hidden]) li[role=option]").await;
    let shown = offered(&b, "admin-branches").await;
    assert!(!shown.iter().any(|c| c == "FR-PAR" || c == "FR-LYO"), "a chosen branch is not offered again: {shown:?}");
    let context = b
        .js("return [...document.querySelectorAll('#admin-branches-tree li.context .code')].map(c => c.textContent)")
        .await;
    assert_eq!(context, serde_json::json!(["AMER"]), "a chosen branch above others is shown, not offered");
    b.click("#admin-branches-chosen button[aria-label='Remove Americas (AMER)']").await;
    b.axe("new administrator with its branch picker").await;
    b.shot("admin-branches").await;
    b.submit("#create-admin").await;
    b.wait_text("#flash", "claire can now log in.").await;
    let admins = b.text("#admins-table").await;
    assert!(admins.contains("FR-PAR, FR-LYO") || admins.contains("FR-LYO, FR-PAR"), "{admins}");
    assert!(!admins.contains("AMER"), "the removed chip is not saved: {admins}");

    // A rule's branch condition.
    let group = roster_app::groups::NewGroup {
        name: "Lyon staff".into(),
        description: None,
        policy: Some("automatic".into()),
        scope: None,
    };
    let group = server.app.create_group(&system, group).await.unwrap();
    b.go(&format!("/admin/groups/{}/rules", group.id)).await;
    b.choose("#c-0-0-subject", "branch").await;
    b.choose("#c-0-0-op", "under").await;
    type_keys(&b, "c-0-0-v0", "lyo", &format!("{DOWN}{ENTER}")).await;
    b.wait_text("#preview-join", "+3").await;
    b.axe("rule builder with a branch condition").await;
    b.shot("rule-branch").await;
    b.click("#mode-text").await;
    let text = b.find("#rule-text").await.prop("value").await.unwrap().unwrap();
    assert_eq!(text, "branch under \"FR-LYO\"");
    b.close().await;
}
