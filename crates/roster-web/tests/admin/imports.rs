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

    // An automatic group the file feeds: the check says how many it would gain.
    let system = Actor::system("t");
    let numbered = roster_app::groups::NewGroup {
        name: "Staff with numbers".into(),
        description: None,
        policy: Some("automatic".into()),
        scope: None,
    };
    let numbered = server.app.create_group(&system, numbered).await.unwrap();
    let rule = roster_app::rules::RuleInput {
        text: Some(r#"field("staff_number") is not empty"#.into()),
        ..Default::default()
    };
    server.app.set_rule(&system, &numbered.id, rule).await.unwrap();

    b.click("#import-check").await;
    b.wait_text("#import-summary", "The file is ready to import: 2 to create, 1 to update.").await;
    assert_eq!(b.text("#import-groups-list").await, "This file moves 3 users into Staff with numbers.");
    assert_eq!(b.text("#import-joined").await, "3");
    assert_eq!(server.app.get_group(&system, &numbered.id).await.unwrap().member_count, 0, "nothing applied");
    b.axe("import checked, with its groups").await;
    b.js("document.getElementById('import-summary').scrollIntoView()").await;
    b.shot("check-groups").await;
    let checked = b.text("#mapping-table").await;
    assert!(
        checked.contains("Username, from the header")
            && checked.contains("Staff Number (additional field), as you chose"),
        "{checked}"
    );
    assert!(b.find("#import-run").await.is_enabled().await.unwrap(), "a clean check allows the import");
    b.shot("checked").await;

    b.click("#import-run").await;
    b.wait_text("#import-summary", "Imported: 2 created, 1 updated.").await;
    assert_eq!(b.text("#import-groups-list").await, "This file moved 3 users into Staff with numbers.");
    assert_eq!(server.app.get_group(&system, &numbered.id).await.unwrap().member_count, 3);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mapping_is_resolved_as_soon_as_the_file_is_read_and_kept_for_a_corrected_file() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let mut b = Browser::open(&server.base, "import-mapping").await;
    b.log_in(ADMIN).await;
    b.go("/admin/imports").await;
    let dir = tempfile::tempdir().unwrap();

    // Not a text file: refused at once, with the reason.
    let png = dir.path().join("photo.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10".to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 200));
    std::fs::write(&png, bytes).unwrap();
    b.find("#import-file").await.send_keys(&png.display().to_string()).await.unwrap();
    b.wait_text("#import-file-error", "“photo.png” is not a CSV file").await;
    assert!(!b.find("#step-mapping").await.is_displayed().await.unwrap(), "no mapping for an image");
    assert!(!b.text("body").await.contains("PNG"), "no column named after the image's bytes");
    b.shot("png-refused").await;
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    b.find("#import-file").await.send_keys(&empty.display().to_string()).await.unwrap();
    b.wait_text("#import-file-error", "“empty.csv” is empty").await;

    // Every column's target is shown before Check; an unknown one is marked.
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "User Name,E-mail,Dept,Staff Number\nnina.rossi,nina@acme.test,Sales,S-1\n").unwrap();
    b.find("#import-file").await.send_keys(&file.display().to_string()).await.unwrap();
    let mapping = b.wait_text("#mapping-table", "Dept").await;
    for resolved in
        ["Username, from the header", "Email, from the header", "Staff Number (additional field), from the header"]
    {
        assert!(mapping.contains(resolved), "{resolved} in {mapping}");
    }
    b.wait_text("#mapping-table tr.unmapped", "Not imported").await;
    b.wait_text("#mapping-unmapped", "1 column is not matched to any field and would not be imported: Dept.").await;
    assert!(!b.find("#import-file-error").await.is_displayed().await.unwrap(), "the earlier refusal is gone");
    b.axe("import mapping").await;
    b.js("document.getElementById('step-mapping').scrollIntoView()").await;
    b.shot("unmapped").await;

    b.choose("#map-2", "department").await;
    b.wait_text("#mapping-table", "Department (additional field), as you chose").await;
    assert!(!b.find("#mapping-unmapped").await.is_displayed().await.unwrap(), "nothing is skipped now");
    assert!(b.client.find(fantoccini::Locator::Css("#mapping-table tr.unmapped")).await.is_err());

    // A corrected file keeps the choice made by hand.
    let fixed = dir.path().join("people-fixed.csv");
    std::fs::write(&fixed, "User Name,E-mail,Dept,Staff Number\nnina.rossi,nina.rossi@acme.test,Sales,S-1\n").unwrap();
    b.find("#import-file").await.send_keys(&fixed.display().to_string()).await.unwrap();
    b.wait_text("#import-file-name", "people-fixed.csv").await;
    assert_eq!(b.find("#map-2").await.prop("value").await.unwrap().as_deref(), Some("department"));
    b.wait_text("#mapping-table", "Department (additional field), as you chose").await;
    b.click("#import-check").await;
    b.wait_text("#import-summary", "The file is ready to import: 1 to create, 0 to update.").await;
    b.shot("mapping-kept").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_on_a_platform_over_the_limit_says_the_groups_were_not_worked_out() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    // The twelve seeded users are over a limit lowered to ten for the test.
    let settings = roster_app::Settings { rehearse_imports_up_to: 10, ..roster_app::Settings::default() };
    let base = server.another_with(settings).await;
    let mut b = Browser::open(&base, "import-large").await;
    b.log_in(ADMIN).await;
    b.go("/admin/imports").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "username,email,Staff Number\nnina.rossi,nina@acme.test,S-1\n").unwrap();
    b.find("#import-file").await.send_keys(&file.display().to_string()).await.unwrap();
    b.wait_text("#mapping-table", "Staff Number").await;
    b.click("#import-check").await;
    b.wait_text("#import-summary", "The file is ready to import: 1 to create, 0 to update.").await;
    let said = b.text("#import-groups-list").await;
    assert!(
        said.starts_with("Group effects are not worked out on platforms of more than 10 users (this one has 12)"),
        "the check says it did not list the groups, and why: {said}"
    );
    assert!(!said.contains("No automatic group"), "{said}");
    assert_eq!(b.text("#import-joined").await, "not worked out");
    b.axe("import check over the limit").await;
    b.js("document.getElementById('import-summary').scrollIntoView()").await;
    b.shot("groups-not-worked-out").await;
    b.close().await;
    server.finish().await;
}
