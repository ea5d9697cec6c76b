//! Additional fields: a superadmin creates one of each type, renames a field and edits
//! a dropdown's options, and deletes one (refused, naming the groups, while a rule reads
//! it); a training admin reads the list and changes nothing. In the browser, the
//! issue's whole walk: fields made in the UI, a user made by hand with values in them,
//! edited and suspended, and an automatic group reading one of them follows.

use crate::harness::{enabled, Browser, Server, ADMIN, TRAINER};
use crate::http::{each_database, Agent};
use roster_app::groups::NewGroup;
use roster_app::rules::RuleInput;
use roster_app::Actor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superadmin_manages_fields_and_a_training_admin_only_reads_them() {
    each_database(async |server: Server| {
        let system = Actor::system("t");
        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let list = a.get("/admin/fields").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("Staff Number") && list.body.contains("Sales, Logistics, Finance"), "{}", list.body);
        assert!(list.body.contains(r#"href="/admin/fields""#), "the admin menu links the screen");
        let token = Agent::csrf(&list.body);

        // The code is made from the name; a dropdown's options are one a line.
        let created = a
            .post(
                "/admin/fields",
                &[
                    ("csrf", &token),
                    ("name", "Work Site"),
                    ("code", ""),
                    ("type", "dropdown"),
                    ("options", "Lyon Hub\r\n\r\n Paris Depot \r\n"),
                ],
            )
            .await;
        assert_eq!(created.status, 303, "{}", created.body);
        let site = server.app.get_field(&system, "work_site").await.unwrap();
        assert_eq!(
            (site.field_type.as_str(), site.options.clone()),
            ("dropdown", vec!["Lyon Hub".to_owned(), "Paris Depot".to_owned()])
        );
        assert!(a.get(&created.location).await.body.contains("The field Work Site was created."));

        // Errors land beside their input, in words an administrator reads.
        let unnamed = a.post("/admin/fields", &[("csrf", &token), ("name", " "), ("type", "text")]).await;
        assert_eq!(unnamed.status, 422);
        assert!(unnamed.body.contains(r#"class="field invalid""#), "{}", unnamed.body);
        let twice = a
            .post(
                "/admin/fields",
                &[("csrf", &token), ("name", "staff number"), ("code", "staff_no"), ("type", "text")],
            )
            .await;
        assert_eq!(twice.status, 409, "{}", twice.body);
        assert!(twice.body.contains("value=\"staff number\""), "what was typed is kept");

        // Rename and reorder the options, adding one.
        let saved = a
            .post(
                "/admin/fields/work_site",
                &[("csrf", &token), ("name", "Site"), ("options", "Paris Depot\nMarseille Port\nLyon Hub")],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let site = server.app.get_field(&system, "work_site").await.unwrap();
        assert_eq!(site.name, "Site");
        assert_eq!(site.options, ["Paris Depot", "Marseille Port", "Lyon Hub"]);

        // A field that a rule reads cannot be deleted; the page names the group.
        let drivers =
            NewGroup { name: "Sales people".into(), description: None, policy: Some("automatic".into()), scope: None };
        let drivers = server.app.create_group(&system, drivers).await.unwrap();
        let rule = RuleInput { text: Some(r#"field("work_site") = "Lyon Hub""#.into()), ..RuleInput::default() };
        server.app.set_rule(&system, &drivers.id, rule).await.unwrap();
        let refused = a.post("/admin/fields/work_site", &[("csrf", &token), ("action", "delete")]).await;
        assert_eq!(refused.status, 409);
        assert!(
            refused.body.contains("cannot be deleted: the rule of the group") && refused.body.contains("Sales people"),
            "{}",
            refused.body
        );
        assert!(server.app.get_field(&system, "work_site").await.is_ok());
        assert_eq!(a.post("/admin/fields/staff_number", &[("action", "delete")]).await.status, 403, "no token");
        let deleted = a.post("/admin/fields/staff_number", &[("csrf", &token), ("action", "delete")]).await;
        assert_eq!(deleted.status, 303);
        assert!(a.get("/admin/fields").await.body.contains("The field Staff Number was deleted."));
        assert!(server.app.get_field(&system, "staff_number").await.is_err());

        // Moved up, the field is first; the page focuses the button pressed, so Enter moves it again.
        let up = a.post("/admin/fields/work_site", &[("csrf", &token), ("action", "up")]).await;
        assert_eq!((up.status, up.location.as_str()), (303, "/admin/fields?moved=work_site&way=up"));
        let page = a.get(&up.location).await.body;
        assert!(page.contains("Site is now field 1 of 2."), "{page}");
        assert!(
            page.contains(r#"id="down-work_site" aria-label="Move Site down" title="Move down" autofocus"#),
            "{page}"
        );
        let order: Vec<String> = server.app.list_fields(&system).await.unwrap().into_iter().map(|f| f.code).collect();
        assert_eq!(order, ["work_site", "department"]);

        // A training admin sees the list without its forms, and may change nothing.
        let mut t = Agent::new(&server.base);
        t.log_in(TRAINER, "/admin").await;
        let list = t.get("/admin/fields").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("Site") && !list.body.contains("new-field-button") && !list.body.contains("?edit="));
        assert!(!list.body.contains("move-form"), "no move buttons for a training admin");
        let token = Agent::csrf(&list.body);
        let new = t.post("/admin/fields", &[("csrf", &token), ("name", "Shoe Size"), ("type", "number")]).await;
        assert_eq!(new.status, 403);
        let rename = t.post("/admin/fields/work_site", &[("csrf", &token), ("name", "Mine")]).await;
        assert_eq!(rename.status, 403);
        let delete = t.post("/admin/fields/department", &[("csrf", &token), ("action", "delete")]).await;
        assert_eq!(delete.status, 403);
        let moved = t.post("/admin/fields/work_site", &[("csrf", &token), ("action", "up")]).await;
        assert_eq!(moved.status, 403, "nor move a field");
        let order: Vec<String> = server.app.list_fields(&system).await.unwrap().into_iter().map(|f| f.code).collect();
        assert_eq!(order, ["work_site", "department"]);
        assert_eq!(server.app.get_field(&system, "work_site").await.unwrap().name, "Site");
        assert!(server.app.get_field(&system, "shoe_size").await.is_err());
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_made_in_the_browser_carry_a_user_made_by_hand_into_an_automatic_group() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let system = Actor::system("t");
    let mut b = Browser::open(&server.base, "fields").await;
    b.log_in(ADMIN).await;

    // The admin menu leads to the screen.
    b.go("/admin/groups").await;
    b.click("#admin-menu summary").await;
    b.submit("#admin-menu a[href='/admin/fields']").await;
    b.wait_text("h1", "Additional fields").await;
    b.axe("additional fields").await;

    for (name, kind, options) in [
        ("Job Title", "text", ""),
        ("Years of Service", "number", ""),
        ("Hire Date", "date", ""),
        ("Work Site", "dropdown", "Lyon Hub\nParis Depot"),
        ("Driving Licence", "yes_no", ""),
    ] {
        b.click("#new-field-button").await;
        b.fill("#field-name", name).await;
        b.choose("#field-type", kind).await;
        let options_shown = b.find("#field-options-box").await.is_displayed().await.unwrap();
        assert_eq!(options_shown, kind == "dropdown", "options are asked for a dropdown only");
        if !options.is_empty() {
            b.fill("#field-options", options).await;
            b.axe("new field panel").await;
            b.shot("new-dropdown").await;
        }
        b.submit("#create-field").await;
        b.wait_text("#flash", &format!("The field {name} was created.")).await;
    }
    let table = b.text("#fields-table").await;
    for row in [
        "Years of Service years_of_service Number",
        "Work Site work_site Dropdown Lyon Hub, Paris Depot",
        "Driving Licence driving_licence Yes / No",
    ] {
        assert!(table.contains(row), "{row} in {table}");
    }

    // Rename the dropdown and put a new option first.
    b.submit("a[href='/admin/fields?edit=work_site#edit']").await;
    b.fill("#edit-name", "Site").await;
    b.fill("#edit-options", "Marseille Port\nLyon Hub\nParis Depot").await;
    b.axe("field edit form").await;
    b.shot("edit-dropdown").await;
    b.submit("#save-field").await;
    b.wait_text("#flash", "The field Site was saved.").await;
    b.wait_text("#field-work_site", "Marseille Port, Lyon Hub, Paris Depot").await;
    b.shot("fields").await;

    // A group whose rule reads two of the new fields.
    let drivers =
        NewGroup { name: "Licensed drivers".into(), description: None, policy: Some("automatic".into()), scope: None };
    let drivers = server.app.create_group(&system, drivers).await.unwrap();
    let rule = RuleInput {
        text: Some(r#"field("driving_licence") = yes and field("years_of_service") >= 2"#.into()),
        ..RuleInput::default()
    };
    server.app.set_rule(&system, &drivers.id, rule).await.unwrap();

    // Deleting a field the rule reads is refused, naming the group.
    b.submit("a[href='/admin/fields?edit=driving_licence#edit']").await;
    let page = b.page().await;
    b.click("#delete-field").await;
    b.client.accept_alert().await.unwrap();
    b.next_page(page).await;
    b.wait_text("#fields-error", "the rule of the group \"Licensed drivers\" uses it").await;
    b.shot("delete-refused").await;

    // One user by hand, with a value in each field.
    b.go("/admin/users/new").await;
    b.fill("#f-username", "nina.roux").await;
    b.fill("#f-email", "nina.roux@acme.test").await;
    b.pick_branch("f-branch", "lyo", "FR-LYO").await;
    b.fill("[id='fields.job_title']", "Driver").await;
    b.fill("[id='fields.years_of_service']", "3").await;
    b.js("document.getElementById('fields.hire_date').value = '2021-03-15'").await;
    b.choose("[id='fields.work_site']", "Marseille Port").await;
    b.choose("[id='fields.driving_licence']", "yes").await;
    b.axe("new user").await;
    // The checker is not blind: an input without its label is a critical violation.
    b.js("document.querySelector('label[for=\"f-username\"]').remove()").await;
    let found = b.axe_violations().await;
    assert!(found.iter().any(|v| v["id"] == "label"), "axe sees a missing label: {found:?}");
    b.js("document.getElementById('f-username').setAttribute('aria-label', 'Username')").await;
    b.shot("new-user").await;
    b.submit("#create-user").await;
    b.wait_text("#flash", "nina.roux created. Joined: Licensed drivers.").await;
    let id = b.path().await.trim_start_matches("/admin/users/").to_owned();
    let user = server.app.get_user(&system, &id).await.unwrap();
    assert_eq!(user.fields["job_title"], "Driver");
    assert_eq!(user.fields["years_of_service"], 3.0);
    assert_eq!(user.fields["hire_date"], "2021-03-15");
    assert_eq!(user.fields["work_site"], "Marseille Port");
    assert_eq!(user.fields["driving_licence"], true);

    // Edited below the rule's threshold, the user leaves; back above it, returns.
    b.fill("[id='fields.years_of_service']", "1").await;
    b.submit("#user-form button[type=submit]").await;
    b.wait_text("#flash", "nina.roux saved. Left: Licensed drivers.").await;
    b.fill("[id='fields.years_of_service']", "2").await;
    b.submit("#user-form button[type=submit]").await;
    b.wait_text("#flash", "nina.roux saved. Joined: Licensed drivers.").await;
    // Suspended, the user leaves (the group does not take suspended users).
    b.submit("#suspend-user").await;
    b.wait_text("#flash", "nina.roux suspended. Left: Licensed drivers.").await;
    b.axe("user page").await;
    b.shot("suspended").await;
    assert_eq!(server.app.get_group(&system, &drivers.id).await.unwrap().member_count, 0);

    // A field no rule reads is deleted.
    b.go("/admin/fields?edit=job_title").await;
    let page = b.page().await;
    b.click("#delete-field").await;
    b.client.accept_alert().await.unwrap();
    b.next_page(page).await;
    b.wait_text("#flash", "The field Job Title was deleted.").await;
    assert!(!b.text("#fields-table").await.contains("Job Title"));
    b.close().await;
    server.finish().await;
}

/// The codes of the fields table's rows, top to bottom.
async fn field_rows(b: &Browser) -> Vec<String> {
    let codes = b
        .js("return [...document.querySelectorAll('#fields-table tbody tr[id^=field-]')].map(r => r.id.slice(6))")
        .await;
    serde_json::from_value(codes).unwrap()
}

/// Presses Enter on whatever has the keyboard focus, and waits for the page it loads.
async fn press_enter(b: &Browser) {
    let page = b.page().await;
    b.client.active_element().await.unwrap().send_keys("\u{E007}").await.unwrap();
    b.next_page(page).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_are_put_in_order_with_the_keyboard_and_every_screen_follows() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let system = Actor::system("t");
    let sa = system.superadmin().unwrap();
    let site = roster_app::catalog::NewField {
        code: "work_site".into(),
        name: "Work Site".into(),
        field_type: "text".into(),
        options: vec![],
    };
    server.app.create_field(&sa, site).await.unwrap();
    let mut b = Browser::open(&server.base, "field-order").await;
    b.log_in(ADMIN).await;
    b.go("/admin/fields").await;
    assert_eq!(field_rows(&b).await, ["department", "staff_number", "work_site"], "creation order at first");
    assert!(b.find("#up-department").await.attr("disabled").await.unwrap().is_some(), "the first cannot go up");
    assert!(b.find("#down-work_site").await.attr("disabled").await.unwrap().is_some(), "the last cannot go down");

    // Department goes down twice, from the keyboard: the focus stays on its button.
    b.js("document.getElementById('down-department').focus()").await;
    press_enter(&b).await;
    b.wait_text("#flash", "Department is now field 2 of 3.").await;
    assert_eq!(field_rows(&b).await, ["staff_number", "department", "work_site"]);
    assert_eq!(b.js("return document.activeElement.id").await, "down-department", "the focus comes back");
    press_enter(&b).await;
    b.wait_text("#flash", "Department is now field 3 of 3.").await;
    assert_eq!(field_rows(&b).await, ["staff_number", "work_site", "department"]);
    assert_eq!(
        b.js("return document.activeElement.id").await,
        "up-department",
        "at the bottom, the focus moves to the button that still works"
    );
    let label = b.find("#up-department").await.attr("aria-label").await.unwrap();
    assert_eq!(label.as_deref(), Some("Move Department up"), "each button names its field");
    b.axe("fields in order").await;
    b.shot("fields-order").await;
    // Work Site up to the top.
    b.js("document.getElementById('up-work_site').focus()").await;
    press_enter(&b).await;
    b.wait_text("#flash", "Work Site is now field 1 of 3.").await;
    let order = ["work_site", "staff_number", "department"];
    assert_eq!(field_rows(&b).await, order);
    let stored: Vec<String> = server.app.list_fields(&system).await.unwrap().into_iter().map(|f| f.code).collect();
    assert_eq!(stored, order);

    // The user form and the user page list the fields in that order.
    b.go("/admin/users/new").await;
    let form = b.js("return [...document.querySelectorAll('[id^=\"fields.\"]')].map(e => e.id.slice(7))").await;
    assert_eq!(form, serde_json::json!(order), "new-user form");
    b.go(&format!("/admin/users/{}", server.users["alice.martin"])).await;
    let page = b.js("return [...document.querySelectorAll('[id^=\"fields.\"]')].map(e => e.id.slice(7))").await;
    assert_eq!(page, serde_json::json!(order), "user page");

    // The rule builder offers them in that order.
    let group = roster_app::groups::NewGroup {
        name: "Sites".into(),
        description: None,
        policy: Some("automatic".into()),
        scope: None,
    };
    let group = server.app.create_group(&system, group).await.unwrap();
    b.go(&format!("/admin/groups/{}/rules", group.id)).await;
    b.find("#c-0-0-subject").await;
    let offered = b
        .js("return [...document.querySelectorAll('#c-0-0-subject option')].map(o => o.value).filter(v => v.startsWith('field:')).map(v => v.slice(6))")
        .await;
    assert_eq!(offered, serde_json::json!(order), "rule builder");
    b.close().await;
}
