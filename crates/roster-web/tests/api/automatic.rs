//! Automatic groups over HTTP: every subject and operator, live membership on every
//! kind of write, preview, explain, lists, suspension, member_of chains, relative dates
//! across a roll-over, and rules refused with their position.

use serde_json::{json, Value};

use crate::helpers::TestServer;
use crate::users::seed;

async fn user(s: &TestServer, body: Value) -> String {
    s.post_ok("/api/v1/users", body).await["id"].as_str().unwrap().to_owned()
}

async fn auto(s: &TestServer, name: &str) -> String {
    s.post_ok("/api/v1/groups", json!({"name": name, "policy": "automatic"})).await["id"].as_str().unwrap().to_owned()
}

async fn set_rule(s: &TestServer, group: &str, text: &str) -> crate::helpers::Reply {
    s.call("PUT", &format!("/api/v1/groups/{group}/rule"), Some(json!({"text": text}))).await
}

async fn members(s: &TestServer, group: &str) -> Vec<String> {
    let page = s.call("GET", &format!("/api/v1/groups/{group}/members?limit=1000"), None).await;
    let mut names: Vec<String> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// Five users with varied values, a course, and a manual group "Contractors".
async fn population(s: &TestServer) -> Vec<String> {
    seed(s).await;
    s.post_ok("/api/v1/courses", json!({"code": "DRV-101", "name": "Driver Safety Fundamentals"})).await;
    s.post_ok("/api/v1/courses", json!({"code": "SAFE-2", "name": "Safety Refresher"})).await;
    let ann = user(s, json!({"username": "ann", "email": "Ann@Acme.com", "first_name": "Ann", "last_name": "Lee", "branch": "PAR", "language": "fr",
        "fields": {"department": "Sales", "hire_date": "2025-01-15", "job_title": "Senior Driver", "years": 7, "supervisor": true}})).await;
    let bob = user(s, json!({"username": "bob", "email": "bob@other.org", "first_name": "Bob", "branch": "US",
        "fields": {"department": "Marketing", "hire_date": "2026-02-20", "job_title": "Analyst", "years": 1.5, "supervisor": false}})).await;
    let zoe = user(
        s,
        json!({"username": "zoe", "email": "zoe@acme.com", "first_name": "Zoë", "branch": "FR", "status": "suspended",
        "fields": {"department": "Operations", "job_title": "Driver"}}),
    )
    .await;
    let max = user(s, json!({"username": "max", "email": "max@acme.co.uk", "branch": "EMEA", "fields": {}})).await;
    let eve = user(
        s,
        json!({"username": "eve", "email": "eve@ACME.com", "fields": {"years": 12, "hire_date": "2020-06-01"}}),
    )
    .await;
    for (u, course, status) in [
        (&ann, "DRV-101", "completed"),
        (&bob, "DRV-101", "in_progress"),
        (&zoe, "DRV-101", "completed"),
        (&max, "SAFE-2", "failed"),
    ] {
        let r =
            s.call("PUT", &format!("/api/v1/courses/{course}/enrollments/{u}"), Some(json!({"status": status}))).await;
        assert_eq!(r.status, 200);
    }
    let contractors =
        s.post_ok("/api/v1/groups", json!({"name": "Contractors"})).await["id"].as_str().unwrap().to_owned();
    s.post_ok(&format!("/api/v1/groups/{contractors}/members"), json!({"users": [bob, eve]})).await;
    vec![ann, bob, zoe, max, eve]
}

async fn every_subject_and_operator(s: TestServer) {
    population(&s).await;
    let g = auto(&s, "Probe").await;
    s.call("PATCH", &format!("/api/v1/groups/{g}"), Some(json!({"allow_suspended": true}))).await;
    let cases: &[(&str, &[&str])] = &[
        (r#"email contains "@acme.com""#, &["ann", "eve", "zoe"]),
        (r#"email not contains "@acme.com""#, &["bob", "max"]),
        (r#"email ends with ".org""#, &["bob"]),
        (r#"email not ends with ".org""#, &["ann", "eve", "max", "zoe"]),
        (r#"username starts with "A""#, &["ann"]),
        (r#"username not starts with "a""#, &["bob", "eve", "max", "zoe"]),
        (r#"username = "ZOE""#, &["zoe"]),
        (r#"username != "zoe""#, &["ann", "bob", "eve", "max"]),
        (r#"username matches "^[a-b]""#, &["ann", "bob"]),
        (r#"username not matches "^[a-b]""#, &["eve", "max", "zoe"]),
        (r#"username in ("ann", "MAX", "nobody")"#, &["ann", "max"]),
        (r#"username not in ("ann", "max")"#, &["bob", "eve", "zoe"]),
        (r#"first_name is empty"#, &["eve", "max"]),
        (r#"first_name is not empty"#, &["ann", "bob", "zoe"]),
        (r#"first_name = "zoë""#, &["zoe"]),
        (r#"last_name != "Lee""#, &["bob", "eve", "max", "zoe"]),
        (r#"language = "fr""#, &["ann"]),
        (r#"language is empty"#, &["bob", "eve", "max", "zoe"]),
        (r#"timezone is empty"#, &["ann", "bob", "eve", "max", "zoe"]),
        ("status = active", &["ann", "bob", "eve", "max"]),
        ("status != active", &["zoe"]),
        ("status in (suspended)", &["zoe"]),
        ("created_at = 2026-03-02", &["ann", "bob", "eve", "max", "zoe"]),
        ("created_at < 2026-03-02", &[]),
        ("created_at between today - 1d and today", &["ann", "bob", "eve", "max", "zoe"]),
        ("last_login_at is empty", &["ann", "bob", "eve", "max", "zoe"]),
        ("last_login_at > 2020-01-01", &[]),
        ("last_login_at != 2020-01-01", &["ann", "bob", "eve", "max", "zoe"]),
        (r#"field("Department") = "sales""#, &["ann"]),
        (r#"field("department") in ("Sales", "Marketing")"#, &["ann", "bob"]),
        (r#"field("department") not in ("Sales", "Marketing")"#, &["eve", "max", "zoe"]),
        (r#"field("department") is empty"#, &["eve", "max"]),
        (r#"field("Job Title") contains "driver""#, &["ann", "zoe"]),
        (r#"field("job_title") starts with "Senior""#, &["ann"]),
        (r#"field("hire_date") < 2025-06-01"#, &["ann", "eve"]),
        (r#"field("hire_date") >= 2025-06-01"#, &["bob"]),
        (r#"field("hire_date") between 2025-01-01 and 2025-12-31"#, &["ann"]),
        (r#"field("Hire Date") < today - 90d"#, &["ann", "eve"]),
        (r#"field("hire_date") > today - 2w"#, &["bob"]),
        (r#"field("hire_date") > today - 1w"#, &[]),
        (r#"field("hire_date") >= today - 1m"#, &["bob"]),
        (r#"field("hire_date") is not empty"#, &["ann", "bob", "eve"]),
        (r#"field("years") > 5"#, &["ann", "eve"]),
        (r#"field("years") <= 1.5"#, &["bob"]),
        (r#"field("years") between 1 and 10"#, &["ann", "bob"]),
        (r#"field("years") != 7"#, &["bob", "eve", "max", "zoe"]),
        (r#"field("years") in (7, 12)"#, &["ann", "eve"]),
        (r#"field("supervisor") = yes"#, &["ann"]),
        (r#"field("supervisor") = no"#, &["bob"]),
        (r#"field("supervisor") != yes"#, &["bob", "eve", "max", "zoe"]),
        (r#"field("supervisor") is empty"#, &["eve", "max", "zoe"]),
        (r#"branch = "FR""#, &["zoe"]),
        (r#"branch under "EMEA""#, &["ann", "max", "zoe"]),
        (r#"branch under "FR""#, &["ann", "zoe"]),
        (r#"not branch under "EMEA""#, &["bob", "eve"]),
        (r#"branch in ("US", "PAR")"#, &["ann", "bob"]),
        (r#"branch is empty"#, &["eve"]),
        (r#"branch != "US""#, &["ann", "eve", "max", "zoe"]),
        (r#"course("DRV-101") = completed"#, &["ann", "zoe"]),
        (r#"course("DRV-101") != completed"#, &["bob", "eve", "max"]),
        (r#"course("DRV-101") = not_enrolled"#, &["eve", "max"]),
        (r#"course("drv-101") in (in_progress, enrolled)"#, &["bob"]),
        (r#"course("SAFE-2") = failed"#, &["max"]),
        (r#"course("DRV-101").completed_at >= today - 365d"#, &["ann", "zoe"]),
        (r#"course("DRV-101").completed_at is empty"#, &["bob", "eve", "max"]),
        (r#"course("DRV-101").enrolled_at = today"#, &["ann", "bob", "zoe"]),
        (r#"member_of("Contractors")"#, &["bob", "eve"]),
        (r#"not member_of("contractors")"#, &["ann", "max", "zoe"]),
        (
            r#"(field("Job Title") contains "driver" or field("department") = "Marketing") and status = active"#,
            &["ann", "bob"],
        ),
        (r#"email contains "acme" and not member_of("Contractors") or branch = "US""#, &["ann", "bob", "max", "zoe"]),
    ];
    for (text, expected) in cases {
        let r = set_rule(&s, &g, text).await;
        assert_eq!(r.status, 200, "{text}: {}", r.body);
        let got = members(&s, &g).await;
        assert_eq!(got, expected.to_vec(), "{text}");
        assert_eq!(r.body["group"]["member_count"].as_u64().unwrap() as usize, expected.len(), "{text}");
    }
}

async fn membership_follows_every_write(s: TestServer) {
    let ids = population(&s).await;
    let drivers = auto(&s, "Approved Drivers").await;
    let r = set_rule(&s, &drivers, r#"course("DRV-101") = completed"#).await;
    assert_eq!((r.body["joined"].as_u64(), r.body["left"].as_u64()), (Some(1), Some(0)), "zoe is suspended");
    assert_eq!(members(&s, &drivers).await, vec!["ann"]);

    // An enrollment status change: bob joins in the same request.
    s.call("PUT", &format!("/api/v1/courses/DRV-101/enrollments/{}", ids[1]), Some(json!({"status": "completed"})))
        .await;
    assert_eq!(members(&s, &drivers).await, vec!["ann", "bob"]);
    // Suspension: bob leaves; reactivation: back.
    s.call("PATCH", &format!("/api/v1/users/{}", ids[1]), Some(json!({"status": "suspended"}))).await;
    assert_eq!(members(&s, &drivers).await, vec!["ann"]);
    s.call("PATCH", &format!("/api/v1/users/{}", ids[1]), Some(json!({"status": "active"}))).await;
    assert_eq!(members(&s, &drivers).await, vec!["ann", "bob"]);
    // Allowing suspended users brings zoe in.
    s.call("PATCH", &format!("/api/v1/groups/{drivers}"), Some(json!({"allow_suspended": true}))).await;
    assert_eq!(members(&s, &drivers).await, vec!["ann", "bob", "zoe"]);
    // Removing the enrollment: ann leaves.
    s.call("DELETE", &format!("/api/v1/courses/DRV-101/enrollments/{}", ids[0]), None).await;
    assert_eq!(members(&s, &drivers).await, vec!["bob", "zoe"]);

    // A new user who matches joins on creation; a deleted one leaves.
    let emea = auto(&s, "EMEA staff").await;
    set_rule(&s, &emea, r#"branch under "EMEA""#).await;
    let new = user(&s, json!({"username": "neo", "email": "neo@acme.com", "branch": "PAR"})).await;
    assert_eq!(members(&s, &emea).await, vec!["ann", "max", "neo"]);
    // A branch move of the user, then of the branch itself.
    s.call("PATCH", &format!("/api/v1/users/{new}"), Some(json!({"branch": "US"}))).await;
    assert_eq!(members(&s, &emea).await, vec!["ann", "max"]);
    s.call("PATCH", "/api/v1/branches/US", Some(json!({"parent": "EMEA"}))).await;
    assert_eq!(members(&s, &emea).await, vec!["ann", "bob", "max", "neo"]);
    s.call("DELETE", &format!("/api/v1/users/{new}"), None).await;
    assert_eq!(members(&s, &emea).await, vec!["ann", "bob", "max"]);

    // A field value.
    let sales = auto(&s, "Sales").await;
    set_rule(&s, &sales, r#"field("department") = "Sales""#).await;
    s.call("PATCH", &format!("/api/v1/users/{}", ids[3]), Some(json!({"fields": {"department": "sales"}}))).await;
    assert_eq!(members(&s, &sales).await, vec!["ann", "max"]);

    // A manual group named by member_of, changed by hand and by CSV; and a chain.
    let not_contractors = auto(&s, "Staff").await;
    set_rule(&s, &not_contractors, r#"not member_of("Contractors") and status = active"#).await;
    assert_eq!(
        members(&s, &not_contractors).await,
        vec!["ann", "bob", "max"].into_iter().filter(|u| *u != "bob").collect::<Vec<_>>()
    );
    let chain = auto(&s, "Staff drivers").await;
    set_rule(&s, &chain, r#"member_of("Staff") and member_of("Approved Drivers")"#).await;
    assert_eq!(members(&s, &chain).await, Vec::<String>::new());
    let contractors =
        s.call("GET", "/api/v1/groups?q=contractors", None).await.body["items"][0]["id"].as_str().unwrap().to_owned();
    s.call("DELETE", &format!("/api/v1/groups/{contractors}/members/{}", ids[1]), None).await;
    assert_eq!(members(&s, &not_contractors).await, vec!["ann", "bob", "max"]);
    assert_eq!(members(&s, &chain).await, vec!["bob"], "the chain follows in dependency order");
    let r = s
        .send_raw("POST", &format!("/api/v1/groups/{contractors}/members/csv"), "text/csv", b"username\nbob\n".to_vec())
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(members(&s, &chain).await, Vec::<String>::new());

    // Every join and leave has its cause.
    let events = s.call("GET", &format!("/api/v1/groups/{drivers}/events?limit=100"), None).await.body;
    let causes: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["cause"].as_str().unwrap()).collect();
    assert!(causes.contains(&"enrollment in \"DRV-101\" set to completed"), "{causes:?}");
    assert!(causes.contains(&"user changed"), "{causes:?}");
    assert!(causes.contains(&"rule edited by token:test-admin"), "{causes:?}");
    assert!(causes.iter().any(|c| c.starts_with("suspended users allowed")), "{causes:?}");
    let sources = s.call("GET", &format!("/api/v1/groups/{drivers}/members"), None).await.body;
    assert_eq!(sources["items"][0]["source"], "rule");
}

async fn include_exclude_and_rule_edits_as_diffs(s: TestServer) {
    let ids = population(&s).await;
    let g = auto(&s, "Acme").await;
    set_rule(&s, &g, r#"email contains "acme""#).await;
    assert_eq!(members(&s, &g).await, vec!["ann", "eve", "max"]);
    let r = s.call("PUT", &format!("/api/v1/groups/{g}/includes"), Some(json!({"users": [ids[1], ids[2]]}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(members(&s, &g).await, vec!["ann", "bob", "eve", "max", "zoe"], "included, even suspended");
    let r = s.call("PUT", &format!("/api/v1/groups/{g}/excludes"), Some(json!({"users": [ids[0], ids[1]]}))).await;
    assert_eq!(r.status, 200);
    assert_eq!(members(&s, &g).await, vec!["eve", "max", "zoe"], "exclusion wins; bob moved off the include list");
    let inc = s.call("GET", &format!("/api/v1/groups/{g}/includes"), None).await.body;
    assert_eq!(inc, json!([{"id": ids[2], "username": "zoe"}]));
    // Removing a matching user by hand puts them on the exclude list; adding puts on include.
    s.call("DELETE", &format!("/api/v1/groups/{g}/members/{}", ids[4]), None).await;
    s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": [ids[0]]})).await;
    assert_eq!(members(&s, &g).await, vec!["ann", "max", "zoe"]);
    let exc = s.call("GET", &format!("/api/v1/groups/{g}/excludes"), None).await.body;
    let exc: Vec<&str> = exc.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(exc, vec!["bob", "eve"]);

    // A rule edit is a diff: max still matches and keeps his membership (same event count).
    let before =
        s.call("GET", &format!("/api/v1/users/{}/events", ids[3]), None).await.body["items"].as_array().unwrap().len();
    let r = set_rule(&s, &g, r#"email contains "acme.co""#).await;
    assert_eq!((r.body["joined"].as_u64(), r.body["left"].as_u64()), (Some(0), Some(0)));
    let r = set_rule(&s, &g, r#"email ends with ".uk""#).await;
    assert_eq!(
        (r.body["joined"].as_u64(), r.body["left"].as_u64()),
        (Some(0), Some(0)),
        "ann included, zoe included, max matches"
    );
    let after =
        s.call("GET", &format!("/api/v1/users/{}/events", ids[3]), None).await.body["items"].as_array().unwrap().len();
    assert_eq!(before, after, "max never left");
    assert_eq!(members(&s, &g).await, vec!["ann", "max", "zoe"]);

    // A manual group has no rule.
    let manual = s.post_ok("/api/v1/groups", json!({"name": "Hand"})).await["id"].as_str().unwrap().to_owned();
    assert_eq!(set_rule(&s, &manual, "status = active").await.status, 409);
}

async fn preview_and_explain(s: TestServer) {
    let ids = population(&s).await;
    let g = auto(&s, "Drivers").await;
    set_rule(&s, &g, r#"course("DRV-101") = completed"#).await;
    let p = s
        .call(
            "POST",
            "/api/v1/rules/preview",
            Some(json!({"text": r#"field("job_title") contains "driver" or branch = "US""#, "group": g})),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(
        (p.body["join_count"].as_u64(), p.body["leave_count"].as_u64(), p.body["member_count"].as_u64()),
        (Some(1), Some(0), Some(2))
    );
    assert_eq!(p.body["join_samples"][0]["username"], "bob");
    assert_eq!(members(&s, &g).await, vec!["ann"], "a preview saves nothing");
    // Samples of both sides come back on their own side.
    let swap = s
        .call(
            "POST",
            "/api/v1/rules/preview",
            Some(json!({"text": r#"field("department") = "Marketing""#, "group": g})),
        )
        .await;
    assert_eq!(swap.status, 200, "{}", swap.body);
    let names = |side: &str| -> Vec<String> {
        swap.body[side].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!((names("join_samples"), names("leave_samples")), (vec!["bob".to_owned()], vec!["ann".to_owned()]));
    let fresh = s
        .call("POST", "/api/v1/rules/preview", Some(json!({"text": "status = suspended", "allow_suspended": true})))
        .await;
    assert_eq!(fresh.body["join_count"], 1);

    let why = s.call("GET", &format!("/api/v1/groups/{g}/explain/{}", ids[2]), None).await;
    assert_eq!(why.status, 200, "{}", why.body);
    assert_eq!(why.body["rule_holds"], true);
    assert_eq!(why.body["member"], false);
    assert_eq!(why.body["decided_by"], "suspended");
    let why = s.call("GET", &format!("/api/v1/groups/{g}/explain/{}", ids[1]), None).await.body;
    assert_eq!(why["conditions"][0]["holds"], false);
    assert_eq!(why["conditions"][0]["actual"], "in_progress");
    assert_eq!(s.call("GET", &format!("/api/v1/groups/{g}/explain/999999"), None).await.status, 404);
}

async fn explain_names_groups_as_they_are_named_now(s: TestServer) {
    let ann = user(&s, json!({"username": "ann", "email": "ann@acme.com"})).await;
    let old = s.post_ok("/api/v1/groups", json!({"name": "Contractors"})).await["id"].as_str().unwrap().to_owned();
    s.post_ok(&format!("/api/v1/groups/{old}/members"), json!({"users": [ann]})).await;
    let g = auto(&s, "Via contractors").await;
    // Another server writes the rule and the rename; this one learns them from the
    // change log together, the rule before the rename.
    let other = s.twin().await;
    assert_eq!(set_rule(&other, &g, r#"member_of("Contractors")"#).await.status, 200);
    let r = other.call("PATCH", &format!("/api/v1/groups/{old}"), Some(json!({"name": "Contractors 2025"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The old name, reused by another group, must not show up as the condition's.
    other.post_ok("/api/v1/groups", json!({"name": "Contractors"})).await;
    other.app.store().close().await;

    let rule = s.call("GET", &format!("/api/v1/groups/{g}/rule"), None).await.body;
    assert_eq!(rule["text"], r#"member_of("Contractors 2025")"#);
    let why = s.call("GET", &format!("/api/v1/groups/{g}/explain/{ann}"), None).await;
    assert_eq!(why.status, 200, "{}", why.body);
    assert_eq!(why.body["conditions"][0]["condition"], rule["text"], "{}", why.body);
    assert_eq!(why.body["conditions"][0]["holds"], true);
    assert_eq!(why.body["member"], true);
}

async fn bad_rules_are_refused_with_their_position(s: TestServer) {
    population(&s).await;
    let g = auto(&s, "Probe").await;
    let a = auto(&s, "A").await;
    let b = auto(&s, "B").await;
    set_rule(&s, &a, r#"member_of("B")"#).await;
    let cases: Vec<(String, &str)> = vec![
        (r#"email contains"#.into(), "line 1"),
        (r#"field("Departmnet") = "Sales""#.into(), "did you mean \"Department\""),
        (r#"field("hire_date") = "Sales""#.into(), "date"),
        (r#"course("NOPE") = completed"#.into(), "course"),
        (r#"branch under "MARS""#.into(), "branch"),
        (r#"member_of("Nobody")"#.into(), "group"),
        (r#"username matches "(""#.into(), "regular expression"),
        (format!("username = \"{}\"", "x".repeat(10_001)), "10000"),
        (format!("{}status = active{}", "(".repeat(65), ")".repeat(65)), "deep"),
        ("status = retired".into(), "retired"),
    ];
    for (text, hint) in &cases {
        let r = set_rule(&s, &g, text).await;
        assert_eq!(r.status, 422, "{}: {}", &text[..text.len().min(60)], r.body);
        assert_eq!(r.body["error"]["code"], "invalid_rule");
        assert!(
            r.message().to_lowercase().contains(&hint.to_lowercase()),
            "{}: {}",
            &text[..text.len().min(60)],
            r.message()
        );
    }
    let r = set_rule(&s, &g, "status = active and\n  field(\"Departmnet\") = \"Sales\"").await;
    assert_eq!(r.body["error"]["position"], json!({"line": 2, "column": 9}), "{}", r.body);
    let r = set_rule(&s, &b, r#"member_of("A")"#).await;
    assert_eq!(r.status, 422);
    assert!(r.message().contains("cycle") && r.message().contains("\"A\""), "{}", r.message());
    let r = s
        .call("PUT", &format!("/api/v1/groups/{g}/rule"), Some(json!({"tree": {"subject": "email", "op": "contains"}})))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r =
        s.call("PUT", &format!("/api/v1/groups/{g}/rule"), Some(json!({"text": "status = active", "tree": {}}))).await;
    assert_eq!(r.status, 400);
    assert_eq!(members(&s, &g).await, Vec::<String>::new(), "nothing saved");

    // What rules use cannot be deleted.
    set_rule(&s, &g, r#"field("department") = "Sales" and course("SAFE-2") = failed and branch under "FR""#).await;
    assert_eq!(s.call("DELETE", "/api/v1/fields/department", None).await.status, 409);
    assert_eq!(s.call("DELETE", "/api/v1/courses/SAFE-2", None).await.status, 409);
    s.call("DELETE", "/api/v1/users/1", None).await;
    let r = s.call("DELETE", &format!("/api/v1/groups/{b}"), None).await;
    assert_eq!(r.status, 409);
    assert!(r.message().contains("\"A\""), "{}", r.message());
    // Renaming a group keeps the rules that name it working, and their text follows.
    s.call("PATCH", &format!("/api/v1/groups/{b}"), Some(json!({"name": "Bee"}))).await;
    let rule = s.call("GET", &format!("/api/v1/groups/{a}/rule"), None).await.body;
    assert_eq!(rule["text"], "member_of(\"Bee\")");
    assert!(rule["sets"].is_object());
}

async fn relative_dates_follow_the_roll_over(s: TestServer) {
    let ids = population(&s).await;
    let g = auto(&s, "New hires").await;
    set_rule(&s, &g, r#"field("hire_date") > today - 10d"#).await;
    assert!(members(&s, &g).await.is_empty(), "bob was hired 2026-02-20, 10 days ago is 2026-02-20");
    s.call("PATCH", &format!("/api/v1/users/{}", ids[1]), Some(json!({"fields": {"hire_date": "2026-02-25"}}))).await;
    assert_eq!(members(&s, &g).await, vec!["bob"]);
    // Six days later the rule no longer holds for bob: the roll-over moves him out.
    s.clock.advance(6 * 86_400_000);
    assert_eq!(s.app.roll_over().await.unwrap().map(|d| d.to_string()), Some("2026-03-08".to_owned()));
    assert!(members(&s, &g).await.is_empty());
    assert_eq!(s.app.roll_over().await.unwrap(), None, "once per day");
    let events = s.call("GET", &format!("/api/v1/groups/{g}/events"), None).await.body;
    assert_eq!(events["items"][0]["cause"], "date roll-over to 2026-03-08");
    let drift = s.app.reconcile(false).await.unwrap();
    assert!(drift.drifted.is_empty(), "{drift:?}");
}

crate::on_both_databases!(
    every_subject_and_operator,
    membership_follows_every_write,
    include_exclude_and_rule_edits_as_diffs,
    preview_and_explain,
    explain_names_groups_as_they_are_named_now,
    bad_rules_are_refused_with_their_position,
    relative_dates_follow_the_roll_over,
);
