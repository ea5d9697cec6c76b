//! An automatic group built with the condition builder ("completed Driver Safety
//! Fundamentals"), previewed live, saved; then one user's enrollment changes and the
//! user joins; "Why?" says why.

use crate::harness::{enabled, Browser, Server, ADMIN, TRAINER};

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

    // One set of conditions: nothing asks how sets combine.
    assert_eq!(b.js("return document.querySelectorAll('#rule-match').length").await, 0);
    assert!(b.text("#match-line").await.contains("match all of these conditions"));

    // Subject, course, operator and value pickers that fit the field's type.
    b.choose("#c-0-0-subject", "course").await;
    b.pick("#c-0-0-course", "drv", "Driver Safety Fundamentals").await;
    let course = b
        .js("const i = document.querySelector('#c-0-0-course'); return [i.value, i.scrollWidth <= i.clientWidth];")
        .await;
    assert_eq!(course, serde_json::json!(["Driver Safety Fundamentals (DRV-101)", true]), "the course name is not cut");
    let negate = b.text("#c-0-0-negate").await;
    assert!(negate.contains("Must match") && negate.contains("Must not match"), "{negate}");
    assert_eq!(b.js("return document.querySelectorAll('.not-toggle').length").await, 0, "no NOT button");
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
    assert!(why.contains("the rule holds"), "{why}");
    assert!(why.contains("Status in Driver Safety Fundamentals (DRV-101) is completed"), "in words: {why}");
    assert!(why.contains("Chloé Durand's status in Driver Safety Fundamentals (DRV-101) is completed"), "{why}");
    b.axe("why, in words").await;
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
    assert!(b.text("#rule-match").await.contains("at least one set"), "two sets: how they combine is asked");
    b.shot("builder-any").await;

    // "Must not match" negates a condition, in the text form too.
    b.choose("#c-1-0-negate", "not").await;
    let mut text = String::new();
    for _ in 0..50 {
        text = b.js("return document.getElementById('rule-text').value").await.as_str().unwrap().to_owned();
        if text.contains(" not ") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(text.ends_with("or not field(\"department\") = \"Finance\""), "{text}");
    b.click("#mode-builder").await;

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

/// An automatic group, and one that names it in `member_of`, both made by the system.
async fn safe_and_approved(server: &Server) -> (String, String) {
    let system = roster_app::Actor::system("t");
    let mut ids = Vec::new();
    for (name, rule) in [
        ("Safe drivers", r#"course("DRV-101") = completed and branch under "EMEA""#),
        (
            "Approved drivers",
            r#"member_of("Safe drivers") and field("department") = "Logistics" and not member_of("Warehouse team")"#,
        ),
    ] {
        let group = roster_app::groups::NewGroup {
            name: name.into(),
            description: None,
            policy: Some("automatic".into()),
            scope: None,
        };
        let group = server.app.create_group(&system, group).await.unwrap();
        let input = roster_app::rules::RuleInput { text: Some(rule.into()), ..Default::default() };
        server.app.set_rule(&system, &group.id, input).await.unwrap();
        ids.push(group.id);
    }
    (ids[0].clone(), ids[1].clone())
}

/// The text of a page's "Why?" answer, its entities read back.
fn why_text(body: &str) -> String {
    let start = body.find("id=\"why-result\"").unwrap_or_else(|| panic!("no answer in {body}"));
    let end = body[start..].find("</section>").map_or(body.len(), |e| start + e);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.replace("&#x27;", "'").replace("&#39;", "'").replace("&quot;", "\"").replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn why_reads_condition_by_condition_in_words_with_the_users_values() {
    crate::http::each_database(async |server: Server| {
        let (safe, approved) = safe_and_approved(&server).await;
        let mut a = crate::http::Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;

        // A member, through a nested group.
        let alice = &server.users["alice.martin"];
        let page = a.get(&format!("/admin/groups/{approved}/rules?why={alice}")).await;
        assert_eq!(page.status, 200);
        let why = why_text(&page.body);
        for words in [
            "alice.martin is a member because the rule holds",
            "Alice Martin is a member of Safe drivers ✓",
            "Alice Martin is a member of Safe drivers: its rule holds",
            "Status in Driver Safety Fundamentals (DRV-101) is completed",
            "Alice Martin's status in Driver Safety Fundamentals (DRV-101) is completed ✓",
            "Branch is in or under Europe, Middle East and Africa",
            "Alice Martin is in Paris (under Europe, Middle East and Africa) ✓",
            "Department is Logistics",
            "Alice Martin's department is Logistics ✓",
            "Not: Member of Warehouse team",
            "Alice Martin is not a member of Warehouse team ✓",
        ] {
            assert!(why.contains(words), "{words:?} not in {why}");
        }

        // Not a member: the conditions that fail say so, with the user's values.
        let chloe = &server.users["chloe.durand"];
        let why = why_text(&a.get(&format!("/admin/groups/{safe}/rules?why={chloe}")).await.body);
        assert!(why.contains("chloe.durand is not a member because the rule does not hold"), "{why}");
        assert!(
            why.contains("Chloé Durand's status in Driver Safety Fundamentals (DRV-101) is in progress ✗"),
            "{why}"
        );
        assert!(why.contains("Chloé Durand is in Lyon (under Europe, Middle East and Africa) ✓"), "{why}");

        // The lists, in sentences.
        let karim = &server.users["karim.haddad"];
        let token = crate::http::Agent::csrf(&page.body);
        let added = a
            .post(
                &format!("/admin/groups/{safe}/lists"),
                &[("csrf", &token), ("list", "include"), ("action", "add"), ("users", karim)],
            )
            .await;
        assert_eq!(added.status, 303);
        let why = why_text(&a.get(&format!("/admin/groups/{safe}/rules?why={karim}")).await.body);
        assert!(why.contains("karim.haddad is a member because Karim Haddad is on the include list"), "{why}");
        assert!(why.contains("Karim Haddad is on the include list: a member whatever the rule says"), "{why}");

        // A training admin asks only of its users: outside them, no answer at all.
        let mut t = crate::http::Agent::new(&server.base);
        t.log_in(TRAINER, "/admin").await;
        let grace = &server.users["grace.lee"];
        let page = t.get(&format!("/admin/groups/{safe}/rules?why={grace}")).await;
        assert!(!page.body.contains("why-result") && !page.body.contains("Grace"), "nothing of Grace Lee");
        assert!(page.body.contains("was not found, or is outside your branches"), "a plain refusal");
        let why = why_text(&t.get(&format!("/admin/groups/{safe}/rules?why={alice}")).await.body);
        assert!(why.contains("Alice Martin is in Paris"), "its own users it may ask about: {why}");
        server.finish().await;
    })
    .await;
}
