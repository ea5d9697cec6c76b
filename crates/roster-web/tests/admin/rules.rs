//! An automatic group built with the condition builder ("completed Driver Safety
//! Fundamentals"), previewed live, saved; then one user's enrollment changes and the
//! user joins; "Why?" says why.

use crate::harness::{enabled, Browser, Server, ADMIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automatic_group_from_the_builder_follows_an_enrollment() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let mut b = Browser::open(&server.base, "automatic-group").await;
    b.log_in(ADMIN).await;
    b.go("/admin/groups").await;
    b.click("#new-group-button").await;
    b.fill("#group-name", "Safe drivers").await;
    b.click("#new-group input[value=automatic]").await;
    b.submit("#create-group").await;
    b.wait_text("#flash", "Group \"Safe drivers\" created.").await;
    assert!(b.path().await.ends_with("/rules"), "an automatic group opens on its rules");

    // Subject, course, operator and value pickers that fit the field's type.
    b.choose("#c-0-0-subject", "course").await;
    b.pick("#c-0-0-course", "drv", "Driver Safety Fundamentals").await;
    let ops = b.text("#c-0-0-op").await;
    assert!(ops.contains("is one of") && !ops.contains("contains"), "course operators: {ops}");
    b.choose("#c-0-0-v0", "completed").await;
    b.wait_text("#preview-join", "+3").await;
    let samples = b.text("#preview-join-samples").await;
    assert!(samples.contains("alice.martin") && samples.contains("grace.lee"), "{samples}");
    assert_eq!(b.text("#preview-leave").await, "−0");
    b.axe("rule builder with its preview").await;
    b.shot("builder-preview").await;

    // The text form follows the builder.
    b.click("#mode-text").await;
    let text = b.find("#rule-text").await.prop("value").await.unwrap().unwrap();
    assert_eq!(text, "course(\"DRV-101\") = completed");
    b.shot("text-mode").await;
    b.click("#mode-builder").await;

    b.submit("#save-rule").await;
    b.wait_text("#flash", "Rule saved: 3 joined, 0 left; 3 members now.").await;
    b.shot("rule-saved").await;

    // A changed enrollment: the user joins, in the same request.
    b.go(&format!("/admin/users/{}", server.users["chloe.durand"])).await;
    b.shot("user").await;
    b.choose_and_submit("#status-DRV-101", "completed").await;
    b.wait_text("#flash", "Joined: Safe drivers.").await;
    assert!(b.text("#user-groups").await.contains("Safe drivers"));
    let group = server.app.find_group(&roster_app::Actor::system("t"), "Safe drivers").await.unwrap();
    b.go(&format!("/admin/groups/{}", group.id)).await;
    assert_eq!(b.text("#member-count").await, "4");
    let members = b.text("#members-table").await;
    assert!(members.contains("chloe.durand") && members.contains("Rule"), "{members}");
    b.shot("members").await;

    // Why? for that user.
    b.submit("tr[data-username='chloe.durand'] a[href*=why]").await;
    let why = b.wait_text("#why-result", "is a member").await;
    assert!(why.contains("the rule holds") && why.contains("completed"), "{why}");
    b.shot("why").await;

    // A rule in text with a mistake: the error, with its place, beside the editor.
    b.click("#mode-text").await;
    b.fill("#rule-text", "course(\"DRV-101\") = complted").await;
    let error = b.wait_text("#rule-error", "did you mean").await;
    assert!(error.starts_with("Line 1, column 21"), "{error}");
    b.fill(
        "#rule-text",
        "(course(\"DRV-101\") = completed or field(\"Department\") = \"Finance\") and branch under \"FR\"",
    )
    .await;
    b.wait_text("#preview-join", "+1").await;
    assert_eq!(b.text("#preview-leave").await, "−1", "grace.lee is not in France");
    assert!(
        b.find("#mode-builder").await.attr("disabled").await.unwrap().is_some(),
        "brackets cannot be condition sets"
    );
    b.fill("#rule-text", "course(\"DRV-101\") = completed or field(\"Department\") = \"Finance\"").await;
    b.wait_text("#preview-join", "+3").await;
    b.click("#mode-builder").await;
    assert_eq!(
        b.find("#rule-match").await.prop("value").await.unwrap().as_deref(),
        Some("any"),
        "the builder follows the text"
    );
    b.find("#c-1-0-subject").await;
    b.shot("builder-any").await;

    // The include list and the suspended switch.
    b.pick("#include-picker", "walker", "henry.walker").await;
    b.submit("#lists form.inline-picker button[type=submit]").await;
    b.wait_text("#flash", "Include list saved: 1 joined, 0 left.").await;
    assert!(b.text("#include-list").await.contains("henry.walker"));
    b.shot("lists").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_finds_a_group_by_search_and_keeps_its_name() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let system = roster_app::Actor::system("t");
    let readers = roster_app::groups::NewGroup {
        name: "Readers".into(),
        description: None,
        policy: Some("automatic".into()),
        scope: None,
    };
    let readers = server.app.create_group(&system, readers).await.unwrap();
    let b = Browser::open(&server.base, "rule-group-search").await;
    b.log_in(ADMIN).await;
    b.go(&format!("/admin/groups/{}/rules", readers.id)).await;
    b.choose("#c-0-0-subject", "member_of").await;
    b.pick("#c-0-0-group", "wareh", "Warehouse team").await;
    b.wait_text("#preview-join", "+3").await;
    b.click("#mode-text").await;
    let text = b.find("#rule-text").await.prop("value").await.unwrap().unwrap();
    assert_eq!(text, "member_of(\"Warehouse team\")");
    b.click("#mode-builder").await;
    let shown = b.find("#c-0-0-group").await.prop("value").await.unwrap();
    assert_eq!(shown.as_deref(), Some("Warehouse team"), "the builder names the group it read back");
    b.axe("rule builder with a group").await;
    b.close().await;
    server.finish().await;
}
