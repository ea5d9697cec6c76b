//! Users → Import and Manage: a file whose headers are the administrator's own, mapped
//! by hand, checked, imported, with a progress bar.

use crate::harness::{enabled, Browser, Server, ADMIN};
use roster_app::users::UserFilter;
use roster_app::{Actor, ListParams};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_imported_with_a_custom_header_mapping() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let mut b = Browser::open(&server.base, "import").await;
    b.log_in(ADMIN).await;
    b.go("/admin/users").await;
    b.submit("#import-button").await;
    b.wait_text("h1", "Import users").await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hr-export.csv");
    std::fs::write(
        &file,
        "Login;Work Mail;Given;Family;Staff No;Site\n\
         nina.rossi;nina.rossi@acme.test;Nina;Rossi;S-1001;FR-PAR\n\
         omar.said;omar.said@acme.test;Omar;Said;S-1002;FR-LYO\n\
         alice.martin;alice.martin@acme.test;Alice;Martin;S-0001;FR-PAR\n",
    )
    .unwrap();
    b.find("#import-file").await.send_keys(&file.display().to_string()).await.unwrap();
    let mapping = b.wait_text("#mapping-table", "Staff No").await;
    assert!(mapping.contains("Work Mail") && mapping.contains("Site"), "{mapping}");
    for (column, target) in [(1, "email"), (2, "first_name"), (3, "last_name"), (4, "staff_number"), (5, "branch")] {
        b.choose(&format!("#map-{column}"), target).await;
    }
    b.shot("mapping").await;

    b.click("#import-check").await;
    b.wait_text("#import-summary", "The file is ready to import: 2 to create, 1 to update.").await;
    let checked = b.text("#mapping-table").await;
    assert!(
        checked.contains("username (from the header)") && checked.contains("staff_number (as you chose)"),
        "{checked}"
    );
    assert!(b.find("#import-run").await.is_enabled().await.unwrap(), "a clean check allows the import");
    b.shot("checked").await;

    b.click("#import-run").await;
    b.wait_text("#import-summary", "Imported: 2 created, 1 updated.").await;
    assert!(b.find("#import-progress").await.is_displayed().await.unwrap(), "the progress bar is shown");
    assert_eq!(b.js("return document.getElementById('import-progress-bar').value").await, 100);
    b.shot("imported").await;

    let filter = UserFilter { username: Some("nina.rossi".into()), ..UserFilter::default() };
    let found = server.app.list_users(&Actor::system("t"), &filter, &ListParams::default()).await.unwrap();
    let nina = &found.items[0];
    assert_eq!(nina.branch.as_deref(), Some("FR-PAR"));
    assert_eq!(nina.fields["staff_number"], "S-1001");
    b.go(&format!("/admin/users/{}", nina.id)).await;
    assert_eq!(b.find("#f-first").await.prop("value").await.unwrap().as_deref(), Some("Nina"));
    b.close().await;
}
