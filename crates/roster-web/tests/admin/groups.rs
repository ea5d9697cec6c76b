//! A manual group from the plus button, users assigned in each of the three ways, a
//! CSV association through the slide-out (and a file over the limit), the export.

use crate::harness::{enabled, Browser, Server, ADMIN};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_group_is_filled_three_ways_and_by_csv_then_exported() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let mut b = Browser::open(&server.base, "manual-group").await;
    b.log_in(ADMIN).await;
    b.go("/admin/groups").await;
    let list = b.text("#groups-table").await;
    assert!(list.contains("Warehouse team") && list.contains("Manual") && list.contains('3'), "{list}");
    b.shot("groups").await;

    // The plus button opens the New Group panel; an error shows next to its field.
    b.click("#new-group-button").await;
    b.find("#new-group:not([hidden]) #group-name").await;
    b.submit("#create-group").await;
    assert!(!b.text("#group-name-error").await.is_empty(), "the name is required");
    b.shot("new-group-error").await;
    b.fill("#group-name", "Paris drivers").await;
    b.fill("#group-description", "Drivers based in and around Paris").await;
    b.shot("new-group").await;
    b.submit("#create-group").await;
    b.wait_text("#flash", "Group \"Paris drivers\" created.").await;
    b.wait_text("#group-title", "Manual").await;

    // 1. Individually, with the search-as-you-type picker.
    b.click("#assign-menu > summary").await;
    b.click("#assign-menu a[data-open-panel=assign-users]").await;
    b.pick("#user-picker", "alic", "alice.martin").await;
    b.pick("#user-picker", "laurent", "emma.laurent").await;
    b.shot("assign-individually").await;
    b.submit("#assign-users-submit").await;
    b.wait_text("#flash", "2 users assigned.").await;

    // 2. Copying the members of another group.
    b.click("#assign-menu > summary").await;
    b.click("#assign-menu a[data-open-panel=assign-groups]").await;
    b.pick("#group-picker", "ware", "Warehouse team").await;
    b.submit("#assign-groups-submit").await;
    b.wait_text("#flash", "3 users assigned.").await;

    // 3. Copying a branch: without its sub-branches, then with them.
    b.click("#assign-menu > summary").await;
    b.click("#assign-menu a[data-open-panel=assign-branch]").await;
    // The branch picker searches the org chart and shows a match under its parents.
    b.fill("#from-branch-search", "lyo").await;
    let tree = b.wait_text("#from-branch-tree", "Lyon").await;
    assert!(tree.contains("Europe, Middle East and Africa") && tree.contains("France"), "parents shown: {tree}");
    assert!(!tree.contains("United States") && !tree.contains("Paris"), "only matches and their parents: {tree}");
    b.axe("copy from a branch").await;
    b.shot("branch-tree-picker").await;
    b.pick_branch("from-branch", "fran", "FR").await;
    assert_eq!(b.find("#from-branch-search").await.prop("value").await.unwrap().as_deref(), Some("France (FR)"));
    b.click("#include-descendants").await;
    b.shot("assign-branch").await;
    b.submit("#assign-branch-submit").await;
    b.wait_text("#flash", "0 users assigned; 1 was already a member.").await;
    b.click("#assign-menu > summary").await;
    b.click("#assign-menu a[data-open-panel=assign-branch]").await;
    b.pick_branch("from-branch", "fran", "FR").await;
    b.submit("#assign-branch-submit").await;
    b.wait_text("#flash", "3 users assigned; 4 were already members.").await;
    assert_eq!(b.text("#member-count").await, "8");
    let members = b.text("#members-table").await;
    assert!(members.contains("Added manually"), "source badges: {members}");
    assert!(members.contains("Copied from Warehouse team"), "the badge says from where: {members}");
    assert!(members.contains("Copied from branch FR and its sub-branches"), "{members}");
    b.shot("members").await;

    // Search and remove.
    b.fill("#member-search", "fischer").await;
    b.submit(".toolbar button[type=submit]").await;
    b.wait_text("#members-table", "lena.fischer").await;
    assert!(!b.text("#members-table").await.contains("alice.martin"));
    let page = b.page().await;
    b.click("tr[data-username='lena.fischer'] button").await;
    b.client.accept_alert().await.unwrap();
    b.next_page(page).await;
    b.wait_text("#flash", "lena.fischer removed.").await;
    assert_eq!(b.text("#member-count").await, "7");

    // The CSV slide-out: a file with an error applies nothing; skipping applies the rest.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("associations.csv");
    std::fs::write(&file, "username,action\ngrace.lee,add\nhenry.walker,add\nnobody.here,add\nbruno.petit,remove\n")
        .unwrap();
    b.click("#csv-button").await;
    let panel = b.text("#csv").await;
    assert!(panel.contains("Maximum file size: 3 MB") && panel.contains("Download the sample file"), "{panel}");
    // An image is refused before anything is sent.
    let png = dir.path().join("badge.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10").unwrap();
    b.find("#csv-file").await.send_keys(&png.display().to_string()).await.unwrap();
    b.wait_text("#csv-file-error", "“badge.png” is not a CSV file").await;
    assert!(!b.find("#csv-upload").await.is_enabled().await.unwrap(), "nothing to upload");
    b.axe("CSV panel with a refused file").await;
    b.find("#csv-file").await.send_keys(&file.display().to_string()).await.unwrap();
    b.wait_text("#csv-file-name", "associations.csv").await;
    assert!(!b.find("#csv-file-error").await.is_displayed().await.unwrap());
    b.click("#csv-upload").await;
    b.wait_text("#csv-result", "nothing was applied").await;
    b.wait_text("#csv-result", "WOULD HAVE BEEN ADDED\n2").await;
    assert!(b.text("#csv-rows").await.contains("nobody.here"), "the row in error is listed");
    b.click("#csv input[name=on_error]").await;
    b.click("#csv-upload").await;
    b.wait_text("#csv-summary", "File applied.").await;
    assert_eq!(b.text("#csv-added").await, "2");
    b.shot("csv-applied").await;
    let sample = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.getElementById('csv-sample').href).then(r => r.text()).then(done);",
        )
        .await;
    assert!(sample.as_str().unwrap().contains("username"), "the sample file downloads");

    // A file over the limit, dropped on the zone, is refused with the limit stated...
    b.js(
        "const dt = new DataTransfer();
         dt.items.add(new File([new Uint8Array(3.2 * 1024 * 1024)], 'everyone.csv', {type: 'text/csv'}));
         document.getElementById('csv-dropzone').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));",
    )
    .await;
    let refused = b.wait_text("#csv-file-error", "the limit is 3 MB").await;
    assert!(refused.contains("3.2 MB"), "{refused}");
    assert!(!b.find("#csv-upload").await.is_enabled().await.unwrap(), "it cannot be sent");
    b.shot("csv-too-large").await;
    // ...and by the server too, before it reads it.
    let server_says = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             const data = new FormData();
             data.append('file', new File([new Uint8Array(3.2 * 1024 * 1024)], 'everyone.csv'));
             const csrf = document.querySelector('meta[name=csrf-token]').content;
             fetch(document.getElementById('csv-form').action, {method: 'POST', body: data,
                   headers: {'X-CSRF-Token': csrf, 'X-Fragment': '1'}})
               .then(r => r.text().then(t => done([r.status, t])));",
        )
        .await;
    assert_eq!(server_says[0], 413);
    assert!(server_says[1].as_str().unwrap().contains("the limit is 3 MB"), "{server_says}");

    // The export downloads the members as CSV.
    b.go(&format!(
        "/admin/groups/{}",
        server.app.find_group(&roster_app::Actor::system("t"), "Paris drivers").await.unwrap().id
    ))
    .await;
    b.click("#export-button").await;
    let csv = downloaded(&b, ".csv").await;
    assert!(csv.starts_with('\u{feff}'), "a BOM for spreadsheets");
    let header = csv.lines().next().unwrap();
    assert!(header.contains("username") && header.contains("Department"), "{header}");
    assert!(csv.contains("grace.lee") && csv.contains("henry.walker") && csv.contains("alice.martin"));
    assert!(!csv.contains("bruno.petit") && !csv.contains("lena.fischer"), "removed users are gone");
    assert_eq!(csv.lines().count(), 1 + 8, "a header and eight members");

    b.submit("nav.tabs a[href$=history]").await;
    let history = b.wait_text("#history-table", "CSV upload").await;
    assert!(
        history.contains("Joined") && history.contains("Left") && history.contains("removed individually"),
        "{history}"
    );
    b.shot("history").await;
    b.close().await;
}

/// The first file with `suffix` the browser downloaded, once complete.
async fn downloaded(b: &Browser, suffix: &str) -> String {
    for _ in 0..100 {
        let done = std::fs::read_dir(b.downloads.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(suffix));
        if let Some(path) = done {
            return std::fs::read_to_string(path).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing was downloaded");
}
