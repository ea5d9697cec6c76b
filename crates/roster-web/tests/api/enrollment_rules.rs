//! Enrollment rules over HTTP: every way of joining enrolls, leaving removes only what
//! a rule made and nobody started, chains settle in one response, loops that could
//! flip forever are refused, and a training admin acts only on the groups it manages.

use serde_json::{json, Value};

use crate::helpers::{Reply, TestServer};
use crate::users::{create_user, seed};

async fn courses(s: &TestServer) {
    for (code, name) in [("DRV-101", "Driver Safety"), ("DRV-201", "Advanced Driving"), ("DRV-301", "Expert Driving")] {
        s.post_ok("/api/v1/courses", json!({"code": code, "name": name})).await;
    }
}

async fn group(s: &TestServer, name: &str, policy: &str) -> String {
    s.post_ok("/api/v1/groups", json!({"name": name, "policy": policy})).await["id"].as_str().unwrap().to_owned()
}

async fn set_rules(s: &TestServer, group: &str, rules: Value) -> Reply {
    s.call("PUT", &format!("/api/v1/groups/{group}/enrollment-rules"), Some(rules)).await
}

async fn set_rule(s: &TestServer, group: &str, text: &str) -> Reply {
    s.call("PUT", &format!("/api/v1/groups/{group}/rule"), Some(json!({"text": text}))).await
}

async fn set_status(s: &TestServer, course: &str, user: &str, status: &str) {
    let r =
        s.call("PUT", &format!("/api/v1/courses/{course}/enrollments/{user}"), Some(json!({"status": status}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A user's enrollment in a course, if any.
async fn enrollment(s: &TestServer, user: &str, course: &str) -> Option<Value> {
    let r = s.call("GET", &format!("/api/v1/users/{user}/enrollments"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().unwrap().iter().find(|e| e["course"] == course).cloned()
}

/// The group that made a user's enrollment in a course ("-" for none, "" for no enrollment).
async fn made_by(s: &TestServer, user: &str, course: &str) -> String {
    match enrollment(s, user, course).await {
        None => String::new(),
        Some(e) => e["made_by_rule_of"]["name"].as_str().unwrap_or("-").to_owned(),
    }
}

async fn member_names(s: &TestServer, group: &str) -> Vec<String> {
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

async fn every_way_of_joining_enrolls(s: TestServer) {
    seed(&s).await;
    courses(&s).await;
    let crew = group(&s, "Crew", "manual").await;
    let r = set_rules(&s, &crew, json!([{"course": "drv-201", "due_days": 30, "unenroll_on_leave": true}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rules"][0]["course"], "DRV-201");
    assert_eq!(r.body["rules"][0]["course_name"], "Advanced Driving");
    assert_eq!(r.body["enrolled"], 0);
    let got = s.call("GET", &format!("/api/v1/groups/{crew}/enrollment-rules"), None).await.body;
    assert_eq!(got["rules"], r.body["rules"]);

    // A manual add: enrolled, due in 30 days, made by the rule of "Crew".
    let ann = create_user(&s, "ann", Some("PAR")).await;
    s.post_ok(&format!("/api/v1/groups/{crew}/members"), json!({"users": [ann]})).await;
    let e = enrollment(&s, &ann, "DRV-201").await.expect("ann enrolled");
    assert_eq!(e["status"], "enrolled");
    assert_eq!(e["made_by_rule_of"]["name"], "Crew");
    assert_eq!(e["made_by_rule_of"]["id"], crew.as_str());
    let now = roster_app::Clock::now_ms(&s.clock);
    assert_eq!(e["enrolled_at"], roster_app::clock::rfc3339(now));
    assert_eq!(e["due_at"], roster_app::clock::rfc3339(now + 30 * 86_400_000));
    let events = s.call("GET", &format!("/api/v1/users/{ann}/enrollment-events"), None).await.body;
    assert_eq!(events[0]["change"], "enrolled");
    assert_eq!(events[0]["course"], "DRV-201");
    assert_eq!(events[0]["cause"], "enrollment rule of \"Crew\"");
    assert_eq!(events[0]["group"]["name"], "Crew");

    // An enrollment set from outside stays as it is: no rule overwrites it.
    let bob = create_user(&s, "bob", Some("PAR")).await;
    set_status(&s, "DRV-201", &bob, "completed").await;
    s.post_ok(&format!("/api/v1/groups/{crew}/members"), json!({"users": [bob]})).await;
    let e = enrollment(&s, &bob, "DRV-201").await.unwrap();
    assert_eq!((e["status"].as_str(), e["made_by_rule_of"].is_null()), (Some("completed"), true));

    // A CSV association.
    let cat = create_user(&s, "cat", Some("US")).await;
    let csv = s
        .send_raw("POST", &format!("/api/v1/groups/{crew}/members/csv"), "text/csv", b"username\ncat\n".to_vec())
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(made_by(&s, &cat, "DRV-201").await, "Crew");

    // A copy from another group, and from a branch.
    let dan = create_user(&s, "dan", Some("US")).await;
    let source = group(&s, "Source", "manual").await;
    s.post_ok(&format!("/api/v1/groups/{source}/members"), json!({"users": [dan]})).await;
    assert_eq!(made_by(&s, &dan, "DRV-201").await, "");
    s.post_ok(&format!("/api/v1/groups/{crew}/members"), json!({"from_groups": [source]})).await;
    assert_eq!(made_by(&s, &dan, "DRV-201").await, "Crew");
    let eve = create_user(&s, "eve", Some("AMER")).await;
    s.post_ok(&format!("/api/v1/groups/{crew}/members"), json!({"from_branch": "AMER", "include_descendants": false}))
        .await;
    assert_eq!(made_by(&s, &eve, "DRV-201").await, "Crew");

    // SCIM: an identity provider adds a member, then removes them (not started: removed).
    let ivy = create_user(&s, "ivy", Some("PAR")).await;
    let patch = |op: &str, value: Value| {
        let operation = match op {
            "add" => json!({"op": "add", "path": "members", "value": [{"value": value}]}),
            _ => json!({"op": "remove", "path": format!("members[value eq \"{}\"]", value.as_str().unwrap())}),
        };
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [operation]})
    };
    for (op, made) in [("add", "Crew"), ("remove", "")] {
        let r = s
            .http
            .patch(format!("{}/scim/v2/Groups/{crew}", s.base))
            .bearer_auth(&s.token)
            .header("content-type", "application/scim+json")
            .body(patch(op, json!(ivy)).to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "SCIM {op}: {}", r.status());
        assert_eq!(made_by(&s, &ivy, "DRV-201").await, made, "after a SCIM {op}");
    }

    // An automatic group: by a rule edit, by a user update, by an enrollment status, by
    // the include list, by an import.
    let auto = group(&s, "Americans", "automatic").await;
    assert_eq!(set_rules(&s, &auto, json!([{"course": "DRV-301"}])).await.status, 200);
    assert_eq!(set_rule(&s, &auto, r#"branch under "AMER""#).await.status, 200);
    for u in [&cat, &dan, &eve] {
        assert_eq!(made_by(&s, u, "DRV-301").await, "Americans");
    }
    assert_eq!(made_by(&s, &ann, "DRV-301").await, "");
    s.call("PATCH", &format!("/api/v1/users/{ann}"), Some(json!({"branch": "US"}))).await;
    assert_eq!(made_by(&s, &ann, "DRV-301").await, "Americans");
    let finishers = group(&s, "Finishers", "automatic").await;
    assert_eq!(set_rule(&s, &finishers, r#"course("DRV-101") = completed"#).await.status, 200);
    assert_eq!(set_rules(&s, &finishers, json!([{"course": "DRV-301"}])).await.status, 200);
    let fay = create_user(&s, "fay", Some("PAR")).await;
    set_status(&s, "DRV-101", &fay, "completed").await;
    assert_eq!(made_by(&s, &fay, "DRV-301").await, "Finishers");
    let gus = create_user(&s, "gus", Some("PAR")).await;
    let r = s.call("PUT", &format!("/api/v1/groups/{finishers}/includes"), Some(json!({"users": [gus]}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(made_by(&s, &gus, "DRV-301").await, "Finishers");
    let job = crate::imports::import(&s, "", b"username,email,branch\nhal,hal@acme.com,US\n".to_vec()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let hal =
        s.call("GET", "/api/v1/users?username=hal", None).await.body["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(made_by(&s, &hal, "DRV-301").await, "Americans");

    // A rule added later applies to the current members at once, and says how many.
    let r =
        set_rules(&s, &crew, json!([{"course": "DRV-201", "unenroll_on_leave": true}, {"course": "DRV-101"}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Crew: ann, bob, cat, dan, eve; fay has DRV-101 already but is not in Crew.
    assert_eq!(r.body["enrolled"], 5);
    assert_eq!(made_by(&s, &bob, "DRV-101").await, "Crew");
    // An enrollment the group's rule stands for cannot go while the user is a member:
    // the rule enrolls them again, and says so.
    let r = s.call("DELETE", &format!("/api/v1/courses/DRV-201/enrollments/{dan}"), None).await;
    assert!(r.status < 300, "{}", r.body);
    assert_eq!(made_by(&s, &dan, "DRV-201").await, "Crew");
    let events = s.call("GET", &format!("/api/v1/users/{dan}/enrollment-events"), None).await.body;
    assert_eq!((events[0]["change"].as_str(), events[0]["course"].as_str()), (Some("enrolled"), Some("DRV-201")));
    let drift = s.app.reconcile(false).await.unwrap();
    assert!(drift.drifted.is_empty(), "{drift:?}");
}

async fn leaving_removes_only_what_a_rule_made_and_nobody_started(s: TestServer) {
    seed(&s).await;
    courses(&s).await;
    let crew = group(&s, "Crew", "manual").await;
    let other = group(&s, "Other crew", "manual").await;
    let keeper = group(&s, "Keepers", "manual").await;
    assert_eq!(set_rules(&s, &crew, json!([{"course": "DRV-201", "unenroll_on_leave": true}])).await.status, 200);
    assert_eq!(set_rules(&s, &other, json!([{"course": "DRV-201", "unenroll_on_leave": true}])).await.status, 200);
    assert_eq!(set_rules(&s, &keeper, json!([{"course": "DRV-301"}])).await.status, 200);
    let mut ids = Vec::new();
    for name in ["enrolled", "started", "done", "failed", "outside", "twice", "kept"] {
        ids.push(create_user(&s, name, Some("PAR")).await);
    }
    let [enrolled, started, done, failed, outside, twice, kept] = <[String; 7]>::try_from(ids.clone()).unwrap();
    // "outside" had the course set through the API before joining: not the rule's.
    set_status(&s, "DRV-201", &outside, "enrolled").await;
    s.post_ok(&format!("/api/v1/groups/{crew}/members"), json!({"users": ids})).await;
    s.post_ok(&format!("/api/v1/groups/{other}/members"), json!({"users": [twice]})).await;
    s.post_ok(&format!("/api/v1/groups/{keeper}/members"), json!({"users": [kept]})).await;
    set_status(&s, "DRV-201", &started, "in_progress").await;
    set_status(&s, "DRV-201", &done, "completed").await;
    set_status(&s, "DRV-201", &failed, "failed").await;
    assert_eq!(made_by(&s, &started, "DRV-201").await, "Crew", "a status set from outside keeps the rule's mark");

    for u in &ids {
        let r = s.call("DELETE", &format!("/api/v1/groups/{crew}/members/{u}"), None).await;
        assert!(r.status < 300, "{}", r.body);
    }
    assert_eq!(enrollment(&s, &enrolled, "DRV-201").await, None, "not started: removed");
    assert_eq!(enrollment(&s, &started, "DRV-201").await.unwrap()["status"], "in_progress");
    assert_eq!(enrollment(&s, &done, "DRV-201").await.unwrap()["status"], "completed");
    assert_eq!(enrollment(&s, &failed, "DRV-201").await.unwrap()["status"], "failed");
    assert_eq!(made_by(&s, &outside, "DRV-201").await, "-", "set through the API: kept");
    assert_eq!(made_by(&s, &twice, "DRV-201").await, "Crew", "another group still enrolls them: kept");
    let events = s.call("GET", &format!("/api/v1/users/{enrolled}/enrollment-events"), None).await.body;
    assert_eq!(events[0]["change"], "removed");
    assert_eq!(events[0]["cause"], "enrollment rule of \"Crew\"");

    // Leaving the other group too: now no group enrolls them.
    s.call("DELETE", &format!("/api/v1/groups/{other}/members/{twice}"), None).await;
    assert_eq!(enrollment(&s, &twice, "DRV-201").await, None);
    // A rule without unenroll_on_leave keeps its enrollments.
    s.call("DELETE", &format!("/api/v1/groups/{keeper}/members/{kept}"), None).await;
    assert_eq!(made_by(&s, &kept, "DRV-301").await, "Keepers");
    // Deleting a group is everyone leaving it.
    s.post_ok(&format!("/api/v1/groups/{other}/members"), json!({"users": [enrolled]})).await;
    assert_eq!(made_by(&s, &enrolled, "DRV-201").await, "Other crew");
    let r = s.call("DELETE", "/api/v1/courses/DRV-201", None).await;
    assert_eq!(r.status, 409, "a course an enrollment rule names stays: {}", r.body);
    assert!(r.message().contains("\"Other crew\""), "{}", r.message());
    assert!(s.call("DELETE", &format!("/api/v1/groups/{other}"), None).await.status < 300);
    assert_eq!(enrollment(&s, &enrolled, "DRV-201").await, None);
}

async fn a_chain_settles_in_one_response(s: TestServer) {
    seed(&s).await;
    courses(&s).await;
    let approved = group(&s, "Approved Drivers", "automatic").await;
    assert_eq!(set_rule(&s, &approved, r#"course("DRV-101") = completed"#).await.status, 200);
    let r = set_rules(&s, &approved, json!([{"course": "DRV-201", "due_days": 14, "unenroll_on_leave": true}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let advanced = group(&s, "Enrolled in advanced driving", "automatic").await;
    assert_eq!(set_rule(&s, &advanced, r#"course("DRV-201") = enrolled"#).await.status, 200);
    let ann = create_user(&s, "ann", Some("PAR")).await;
    let bob = create_user(&s, "bob", Some("PAR")).await;
    set_status(&s, "DRV-101", &bob, "in_progress").await;
    // The rule preview says what the joins would bring: bob would join and be enrolled.
    let preview = json!({"text": r#"course("DRV-101") in (completed, in_progress)"#, "group": approved});
    let r = s.call("POST", "/api/v1/rules/preview", Some(preview)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["join_count"].clone(), r.body["enrollments"].clone()),
        (json!(1), json!([{"course": "DRV-201", "users": 1}]))
    );

    // One write: completed DRV-101 → Approved Drivers → enrolled in DRV-201 → the group.
    let end = s.call("GET", "/api/v1/changes?after=now", None).await.body["next_cursor"].clone();
    set_status(&s, "DRV-101", &ann, "completed").await;
    // The change feed carries the whole chain as one write, the rule's enrollment
    // naming the group whose rule made it.
    let feed = s.call("GET", &format!("/api/v1/changes?after={}", end.as_str().unwrap()), None).await.body;
    let kinds: Vec<(String, String, String)> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let text = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (text("kind"), text("course"), text("group_id"))
        })
        .collect();
    for expected in [
        ("enrollment.set".to_owned(), "DRV-101".to_owned(), String::new()),
        ("enrollment.set".to_owned(), "DRV-201".to_owned(), approved.clone()),
        ("membership.joined".to_owned(), String::new(), approved.clone()),
        ("membership.joined".to_owned(), String::new(), advanced.clone()),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} missing from {kinds:?}");
    }
    assert_eq!(member_names(&s, &approved).await, vec!["ann"]);
    assert_eq!(made_by(&s, &ann, "DRV-201").await, "Approved Drivers");
    assert_eq!(member_names(&s, &advanced).await, vec!["ann"]);
    let events = s.call("GET", &format!("/api/v1/groups/{advanced}/events"), None).await.body;
    assert_eq!(events["items"][0]["cause"], "enrollment rule of \"Approved Drivers\"");

    // Suspended: out of Approved Drivers, the unstarted course goes, and so does the group.
    let r = s.call("PATCH", &format!("/api/v1/users/{ann}"), Some(json!({"status": "suspended"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(member_names(&s, &approved).await.is_empty());
    assert_eq!(enrollment(&s, &ann, "DRV-201").await, None);
    assert!(member_names(&s, &advanced).await.is_empty());
    assert_eq!(made_by(&s, &bob, "DRV-201").await, "");
    let drift = s.app.reconcile(false).await.unwrap();
    assert!(drift.drifted.is_empty(), "{drift:?}");
}

async fn loops_that_could_flip_forever_are_refused(s: TestServer) {
    seed(&s).await;
    courses(&s).await;
    let ann = create_user(&s, "ann", Some("PAR")).await;
    // A group of those not enrolled in DRV-201 that enrolls its members in DRV-201.
    let waiting = group(&s, "Waiting", "automatic").await;
    assert_eq!(set_rule(&s, &waiting, r#"course("DRV-201") = not_enrolled"#).await.status, 200);
    let r = set_rules(&s, &waiting, json!([{"course": "DRV-201", "unenroll_on_leave": true}])).await;
    assert_eq!((r.status, r.field()), (422, "enrollment_rules"), "{}", r.body);
    assert!(r.message().contains("\"Waiting\" → DRV-201 → \"Waiting\""), "{}", r.message());
    assert_eq!(
        s.call("GET", &format!("/api/v1/groups/{waiting}/enrollment-rules"), None).await.body["rules"],
        json!([])
    );
    assert_eq!(enrollment(&s, &ann, "DRV-201").await, None, "nothing applied");

    // Through two groups, closed from the other side: by saving a rule.
    let first = group(&s, "First", "automatic").await;
    assert_eq!(set_rule(&s, &first, r#"course("DRV-301") != enrolled"#).await.status, 200);
    let second = group(&s, "Second", "automatic").await;
    assert_eq!(set_rule(&s, &second, r#"member_of("First")"#).await.status, 200);
    assert_eq!(set_rules(&s, &second, json!([{"course": "DRV-301", "unenroll_on_leave": true}])).await.status, 422);
    let third = group(&s, "Third", "automatic").await;
    assert_eq!(set_rules(&s, &third, json!([{"course": "DRV-301", "unenroll_on_leave": true}])).await.status, 200);
    let r = set_rule(&s, &third, r#"member_of("First")"#).await;
    assert_eq!((r.status, r.field()), (422, "text"), "{}", r.body);
    assert!(r.message().contains("\"Third\" → DRV-301 → \"First\" → \"Third\""), "{}", r.message());

    // A loop whose enrollments stay settles, and is allowed: enrolled once, out of
    // "Waiting" at once, and kept.
    let r = set_rules(&s, &waiting, json!([{"course": "DRV-201"}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(made_by(&s, &ann, "DRV-201").await, "Waiting");
    assert!(member_names(&s, &waiting).await.is_empty());
    let drift = s.app.reconcile(false).await.unwrap();
    assert!(drift.drifted.is_empty(), "{drift:?}");
}

async fn bad_rules_are_refused_naming_the_item(s: TestServer) {
    seed(&s).await;
    courses(&s).await;
    let crew = group(&s, "Crew", "manual").await;
    assert_eq!(set_rules(&s, &crew, json!([{"course": "DRV-101"}])).await.status, 200);
    let cases = [
        (json!([{"course": "DRV-201"}, {"course": "NOPE"}]), 422, "[1].course"),
        (json!([{"course": "DRV-201"}, {"course": "drv-201"}]), 422, "[1].course"),
        (json!([{"course": "DRV-201", "due_days": -1}]), 422, "[0].due_days"),
        (json!([{"course": "DRV-201", "due_days": 3651}]), 422, "[0].due_days"),
        (json!([{"course": "DRV-201", "due": 3}]), 400, "[0]"),
        (json!([{"due_days": 3}]), 400, "[0]"),
        (json!({"course": "DRV-201"}), 400, "body"),
    ];
    for (body, status, field) in cases {
        let r = set_rules(&s, &crew, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert!(r.field().starts_with(field), "{body}: {}", r.body);
        assert!(!r.message().is_empty());
    }
    let kept = s.call("GET", &format!("/api/v1/groups/{crew}/enrollment-rules"), None).await.body;
    assert_eq!(kept["rules"].as_array().unwrap().len(), 1, "nothing half-applied: {kept}");
    assert_eq!(s.call("GET", "/api/v1/groups/999999/enrollment-rules", None).await.status, 404);
    // The preview counts and names who would be enrolled, and saves nothing.
    let ann = create_user(&s, "ann", Some("PAR")).await;
    s.post_ok(&format!("/api/v1/groups/{crew}/members"), json!({"users": [ann]})).await;
    let both = json!([{"course": "DRV-301"}, {"course": "DRV-201"}]);
    let r = s.call("POST", &format!("/api/v1/groups/{crew}/enrollment-rules/preview"), Some(both)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let said = (r.body["enrolled"].clone(), r.body["users"].clone(), r.body["samples"].clone());
    assert_eq!(said, (json!(2), json!(1), json!(["ann"])), "two enrollments, for one user");
    assert_eq!(enrollment(&s, &ann, "DRV-301").await, None);
}

async fn a_training_admin_sets_rules_only_on_groups_it_manages(s: TestServer) {
    seed(&s).await;
    courses(&s).await;
    let fr = s.training_admin("fr", &["FR"]).await;
    let inside = create_user(&s, "inside", Some("PAR")).await;
    let outside = create_user(&s, "outside", Some("US")).await;
    let everyone = group(&s, "Everyone", "manual").await;
    s.post_ok(&format!("/api/v1/groups/{everyone}/members"), json!({"users": [inside, outside]})).await;
    let rules = json!([{"course": "DRV-201"}]);
    let path = format!("/api/v1/groups/{everyone}/enrollment-rules");
    assert_eq!(s.call_as(&fr, "GET", &path, None).await.status, 200, "a group it sees: readable");
    assert_eq!(s.call_as(&fr, "PUT", &path, Some(rules.clone())).await.status, 403);
    assert_eq!(s.call_as(&fr, "POST", &format!("{path}/preview"), Some(rules.clone())).await.status, 403);
    assert_eq!(enrollment(&s, &inside, "DRV-201").await, None);

    // Its own group: allowed; the count is of the users it sees.
    let mine = s.call_as(&fr, "POST", "/api/v1/groups", Some(json!({"name": "Mine"}))).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s.call_as(&fr, "POST", &format!("/api/v1/groups/{mine}/members"), Some(json!({"users": [inside]}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.call_as(&fr, "PUT", &format!("/api/v1/groups/{mine}/enrollment-rules"), Some(rules.clone())).await;
    assert_eq!((r.status, r.body["enrolled"].clone()), (200, json!(1)), "{}", r.body);
    assert_eq!(made_by(&s, &inside, "DRV-201").await, "Mine");

    // The superadmin's rule on "Everyone" counts everyone; the trainer sees only its
    // users' enrollments, and an outside user's are 404.
    let r = set_rules(&s, &everyone, json!([{"course": "DRV-301"}])).await;
    assert_eq!(r.body["enrolled"], 2);
    let r = s.call_as(&fr, "GET", &format!("/api/v1/users/{outside}/enrollments"), None).await;
    assert_eq!(r.status, 404);
    let r = s.call_as(&fr, "GET", &format!("/api/v1/users/{outside}/enrollment-events"), None).await;
    assert_eq!(r.status, 404);
    let r = s.call_as(&fr, "GET", &format!("/api/v1/users/{inside}/enrollment-events"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
}

/// A rule acting on many members at once records one event holding the set of them;
/// each member's history still lists it, newest first among its own events, and a
/// deleted user's enrollments go with the user.
async fn a_rule_acting_on_many_records_a_set_each_member_still_sees(s: TestServer) {
    seed(&s).await;
    courses(&s).await;
    let crew = group(&s, "Crew", "manual").await;
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(create_user(&s, &format!("crew{i:02}"), Some("PAR")).await);
    }
    s.post_ok(&format!("/api/v1/groups/{crew}/members"), json!({"users": ids})).await;
    // One member had a rule's enrollment before: a per-user event, older than the set.
    let solo = group(&s, "Solo", "manual").await;
    assert_eq!(set_rules(&s, &solo, json!([{"course": "DRV-301"}])).await.status, 200);
    s.post_ok(&format!("/api/v1/groups/{solo}/members"), json!({"users": [ids[7]]})).await;
    let r = set_rules(&s, &crew, json!([{"course": "DRV-201", "unenroll_on_leave": true}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["enrolled"], 40);
    for (i, user) in ids.iter().enumerate() {
        let events = s.call("GET", &format!("/api/v1/users/{user}/enrollment-events"), None).await.body;
        let events = events.as_array().unwrap();
        assert_eq!(events[0]["change"], "enrolled", "{user}: {events:?}");
        assert_eq!(events[0]["course"], "DRV-201", "{user}: {events:?}");
        assert_eq!(events[0]["cause"], "enrollment rule of \"Crew\"");
        let expected = if i == 7 { 2 } else { 1 };
        assert_eq!(events.len(), expected, "{user}: {events:?}");
    }
    // Everyone leaves at once: a set of removals, newer than the set of enrollments.
    assert!(s.call("DELETE", &format!("/api/v1/groups/{crew}"), None).await.status < 300);
    let events = s.call("GET", &format!("/api/v1/users/{}/enrollment-events", ids[3]), None).await.body;
    assert_eq!(events[0]["change"], "removed", "{events}");
    assert_eq!(events[1]["change"], "enrolled", "{events}");
    assert_eq!(enrollment(&s, &ids[3], "DRV-201").await, None);

    // Deleting a user deletes its enrollments: the course no longer lists it.
    assert_eq!(made_by(&s, &ids[7], "DRV-301").await, "Solo");
    let course = s.call("GET", "/api/v1/courses/DRV-301/enrollments?limit=1000", None).await.body;
    assert!(course["items"].to_string().contains(&format!("\"{}\"", ids[7])), "{course}");
    assert!(s.call("DELETE", &format!("/api/v1/users/{}", ids[7]), None).await.status < 300);
    let course = s.call("GET", "/api/v1/courses/DRV-301/enrollments?limit=1000", None).await.body;
    assert!(!course["items"].to_string().contains(&format!("\"{}\"", ids[7])), "{course}");
}

crate::on_both_databases!(
    a_rule_acting_on_many_records_a_set_each_member_still_sees,
    every_way_of_joining_enrolls,
    leaving_removes_only_what_a_rule_made_and_nobody_started,
    a_chain_settles_in_one_response,
    loops_that_could_flip_forever_are_refused,
    bad_rules_are_refused_naming_the_item,
    a_training_admin_sets_rules_only_on_groups_it_manages,
);
