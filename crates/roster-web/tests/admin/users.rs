//! Creating one user, editing every field, suspending, reactivating and deleting it:
//! in the browser, with an automatic group following each change; and over plain HTTP
//! on SQLite and PostgreSQL, where errors land beside their field, every form needs
//! the CSRF token, and a training admin works only within its branches.

use crate::harness::{enabled, Browser, Server, ADMIN, TRAINER};
use crate::http::{each_database, Agent};
use roster_app::groups::NewGroup;
use roster_app::rules::RuleInput;
use roster_app::Actor;

/// The id of the user a redirect to its page names.
fn user_id(location: &str) -> String {
    location.strip_prefix("/admin/users/").unwrap_or_else(|| panic!("not a user page: {location}")).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superadmin_creates_edits_suspends_reactivates_and_deletes_a_user() {
    each_database(async |server: Server| {
        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let list = a.get("/admin/users").await;
        assert!(list.body.contains(r#"href="/admin/users/new""#), "the list links the new-user form");
        let form = a.get("/admin/users/new").await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains(r#"name="fields.department""#) && form.body.contains("Staff Number"));
        let token = Agent::csrf(&form.body);

        let mut fields = vec![
            ("csrf", token.as_str()),
            ("username", "nina.roux"),
            ("email", "not an email"),
            ("first_name", "Nina"),
            ("last_name", "Roux"),
            ("status", "active"),
            ("language", "fr"),
            ("timezone", "Europe/Paris"),
            ("branch", "FR-LYO"),
            ("fields.department", "Sales"),
            ("fields.staff_number", "S-0042"),
        ];
        let refused = a.post("/admin/users", &fields).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains(r#"id="email-error""#), "beside the email: {}", refused.body);
        assert!(refused.body.contains(r#"value="nina.roux""#), "what was typed is kept");
        fields[2].1 = "nina.roux@acme.test";
        fields[1].1 = "ALICE.MARTIN";
        let taken = a.post("/admin/users", &fields).await;
        assert_eq!(taken.status, 409);
        assert!(taken.body.contains(r#"id="username-error""#), "beside the username: {}", taken.body);
        fields[1].1 = "nina.roux";
        let created = a.post("/admin/users", &fields).await;
        assert_eq!(created.status, 303, "{}", created.body);
        let id = user_id(&created.location);
        let page = a.get(&created.location).await;
        assert!(page.body.contains("nina.roux created."), "{}", page.body);
        let system = Actor::system("t");
        let user = server.app.get_user(&system, &id).await.unwrap();
        assert_eq!((user.branch.as_deref(), user.language.as_deref()), (Some("FR-LYO"), Some("fr")));
        assert_eq!(user.timezone.as_deref(), Some("Europe/Paris"));
        assert_eq!(user.fields["department"], "Sales");
        assert_eq!(user.fields["staff_number"], "S-0042");

        // Every standard field and the additional ones are edited in one form.
        let token = Agent::csrf(&page.body);
        let edit = [
            ("csrf", token.as_str()),
            ("username", "nina.roux-martin"),
            ("email", "nina.rm@acme.test"),
            ("first_name", "Nina"),
            ("last_name", "Roux-Martin"),
            ("status", "active"),
            ("language", "en"),
            ("timezone", "America/New_York"),
            ("branch", "US"),
            ("fields.department", "Finance"),
            ("fields.staff_number", ""),
        ];
        let saved = a.post(&format!("/admin/users/{id}"), &edit).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let user = server.app.get_user(&system, &id).await.unwrap();
        assert_eq!((user.username.as_str(), user.email.as_str()), ("nina.roux-martin", "nina.rm@acme.test"));
        assert_eq!((user.branch.as_deref(), user.timezone.as_deref()), (Some("US"), Some("America/New_York")));
        assert_eq!(user.fields["department"], "Finance");
        assert!(!user.fields.contains_key("staff_number"), "emptied: {:?}", user.fields);
        let mut bad = edit;
        bad[7].1 = "Mars/Olympus";
        let refused = a.post(&format!("/admin/users/{id}"), &bad).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains(r#"id="timezone-error""#), "{}", refused.body);

        // Suspend, reactivate.
        let page = a.get(&format!("/admin/users/{id}")).await;
        assert!(page.body.contains(r#"id="suspend-user""#));
        let token = Agent::csrf(&page.body);
        let status = format!("/admin/users/{id}/status");
        assert_eq!(a.post(&status, &[("status", "suspended")]).await.status, 403, "no token, no change");
        let suspended = a.post(&status, &[("csrf", &token), ("status", "suspended")]).await;
        assert_eq!(suspended.status, 303);
        let page = a.get(&suspended.location).await;
        assert!(page.body.contains("nina.roux-martin suspended.") && page.body.contains(r#"id="reactivate-user""#));
        assert_eq!(server.app.get_user(&system, &id).await.unwrap().status.as_str(), "suspended");
        a.post(&status, &[("csrf", &token), ("status", "active")]).await;
        assert_eq!(server.app.get_user(&system, &id).await.unwrap().status.as_str(), "active");

        // Delete: the page asks first; the user is gone after.
        let page = a.get(&format!("/admin/users/{id}")).await;
        assert!(page.body.contains(r#"action="/admin/users/"#) && page.body.contains("data-confirm=\"Delete the user"));
        let delete = format!("/admin/users/{id}/delete");
        assert_eq!(a.post(&delete, &[("csrf", "forged")]).await.status, 403);
        let deleted = a.post(&delete, &[("csrf", &token)]).await;
        assert_eq!((deleted.status, deleted.location.as_str()), (303, "/admin/users"));
        assert!(a.get("/admin/users").await.body.contains("nina.roux-martin deleted."));
        assert_eq!(a.get(&format!("/admin/users/{id}")).await.status, 404);
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_admin_creates_and_changes_users_only_within_its_branches() {
    each_database(async |server: Server| {
        let mut a = Agent::new(&server.base);
        a.log_in(TRAINER, "/admin").await;
        let form = a.get("/admin/users/new").await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains(r#"<option value="FR-PAR""#), "its branches are offered");
        assert!(!form.body.contains(r#"<option value="US""#), "others are not: {}", form.body);
        assert!(!form.body.contains("No branch"), "a training admin must place the user");
        let token = Agent::csrf(&form.body);
        let new = |branch| {
            [("csrf", token.as_str()), ("username", "omar.diallo"), ("email", "omar@acme.test"), ("branch", branch)]
        };
        let outside = a.post("/admin/users", &new("US")).await;
        assert_eq!(outside.status, 403, "a branch outside its own");
        let nowhere = a.post("/admin/users", &new("")).await;
        assert_eq!(nowhere.status, 403, "no branch at all");
        assert!(nowhere.body.contains("one of its branches"), "{}", nowhere.body);
        let inside = a.post("/admin/users", &new("FR-PAR")).await;
        assert_eq!(inside.status, 303, "{}", inside.body);
        assert_eq!(a.get(&inside.location).await.status, 200);

        // Users outside its branches cannot be suspended or deleted; they stay as they were.
        let grace = &server.users["grace.lee"];
        let suspend =
            a.post(&format!("/admin/users/{grace}/status"), &[("csrf", &token), ("status", "suspended")]).await;
        assert_eq!(suspend.status, 404);
        let delete = a.post(&format!("/admin/users/{grace}/delete"), &[("csrf", &token)]).await;
        assert_eq!(delete.status, 404);
        let user = server.app.get_user(&Actor::system("t"), grace).await.unwrap();
        assert_eq!(user.status.as_str(), "active");
        // Nor moved out of its branches by one it manages.
        let alice = &server.users["alice.martin"];
        let moved = a
            .post(
                &format!("/admin/users/{alice}"),
                &[
                    ("csrf", &token),
                    ("username", "alice.martin"),
                    ("email", "alice.martin@acme.test"),
                    ("status", "active"),
                    ("branch", "US"),
                ],
            )
            .await;
        assert_eq!(moved.status, 403);
        assert_eq!(server.app.get_user(&Actor::system("t"), alice).await.unwrap().branch.as_deref(), Some("FR-PAR"));
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_made_by_hand_is_edited_suspended_and_deleted_as_its_groups_follow() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let system = Actor::system("t");
    let sales =
        NewGroup { name: "Sales team".into(), description: None, policy: Some("automatic".into()), scope: None };
    let sales = server.app.create_group(&system, sales).await.unwrap();
    let rule = RuleInput { text: Some(r#"field("department") = "Sales""#.into()), ..RuleInput::default() };
    server.app.set_rule(&system, &sales.id, rule).await.unwrap();
    let seeded = server.app.get_group(&system, &sales.id).await.unwrap().member_count;
    let mut b = Browser::open(&server.base, "user").await;
    b.log_in(ADMIN).await;

    b.go("/admin/users").await;
    b.submit("#new-user-button").await;
    b.wait_text("h1", "New user").await;
    b.fill("#f-username", "nina.roux").await;
    b.fill("#f-email", "nina.roux").await;
    b.fill("#f-first", "Nina").await;
    b.fill("#f-last", "Roux").await;
    b.pick_branch("f-branch", "lyo", "FR-LYO").await;
    b.fill("#f-language", "fr").await;
    b.fill("#f-timezone", "Europe/Paris").await;
    b.choose("[id='fields.department']", "Sales").await;
    b.fill("[id='fields.staff_number']", "S-0042").await;
    b.submit("#create-user").await;
    b.wait_text(".field.invalid", "email").await;
    assert_eq!(b.find("#f-username").await.prop("value").await.unwrap().as_deref(), Some("nina.roux"));
    b.shot("new-user-error").await;
    b.fill("#f-email", "nina.roux@acme.test").await;
    b.submit("#create-user").await;
    b.wait_text("#flash", "nina.roux created. Joined: Sales team.").await;
    b.wait_text("#user-groups", "Sales team").await;
    b.shot("created").await;

    // An edit of an additional field takes the user out of the automatic group.
    b.choose("[id='fields.department']", "Finance").await;
    b.fill("#f-last", "Roux-Martin").await;
    b.submit("#user-form button[type=submit]").await;
    b.wait_text("#flash", "nina.roux saved. Left: Sales team.").await;
    b.wait_text("#user-title", "Nina Roux-Martin").await;
    b.choose("[id='fields.department']", "Sales").await;
    b.submit("#user-form button[type=submit]").await;
    b.wait_text("#flash", "Joined: Sales team.").await;

    // Suspended users leave it (the group does not take them); reactivated, they return.
    b.submit("#suspend-user").await;
    b.wait_text("#flash", "nina.roux suspended. Left: Sales team.").await;
    b.wait_text("#user-title", "Suspended").await;
    b.shot("suspended").await;
    b.submit("#reactivate-user").await;
    b.wait_text("#flash", "nina.roux reactivated. Joined: Sales team.").await;

    // Deleting asks first; dismissed, nothing happens.
    b.click("#delete-user").await;
    b.client.dismiss_alert().await.unwrap();
    assert!(b.path().await.starts_with("/admin/users/"), "still on the user's page");
    let page = b.page().await;
    b.click("#delete-user").await;
    b.client.accept_alert().await.unwrap();
    b.next_page(page).await;
    b.wait_text("#flash", "nina.roux deleted.").await;
    assert_eq!(b.path().await, "/admin/users");
    let members = server.app.get_group(&system, &sales.id).await.unwrap().member_count;
    assert_eq!(members, seeded, "the group followed the deletion");
    b.close().await;
    server.finish().await;
}
