//! `/api/v1/users`: create, read, change, delete, list; every refusal names its field
//! and stores nothing.

use serde_json::json;

use crate::helpers::TestServer;

/// Branches EMEA > FR > PAR and AMER > US, and one field of each type.
pub async fn seed(s: &TestServer) {
    for (code, name, parent) in [
        ("EMEA", "Europe", None),
        ("FR", "France", Some("EMEA")),
        ("PAR", "Paris", Some("FR")),
        ("AMER", "Americas", None),
        ("US", "United States", Some("AMER")),
    ] {
        s.post_ok("/api/v1/branches", json!({"code": code, "name": name, "parent": parent})).await;
    }
    for body in [
        json!({"code": "department", "name": "Department", "type": "dropdown", "options": ["Sales", "Marketing", "Operations"]}),
        json!({"code": "hire_date", "name": "Hire Date", "type": "date"}),
        json!({"code": "job_title", "name": "Job Title", "type": "text"}),
        json!({"code": "years", "name": "Years", "type": "number"}),
        json!({"code": "supervisor", "name": "Supervisor", "type": "yes_no"}),
    ] {
        s.post_ok("/api/v1/fields", body).await;
    }
}

pub async fn create_user(s: &TestServer, username: &str, branch: Option<&str>) -> String {
    let body = s
        .post_ok(
            "/api/v1/users",
            json!({"username": username, "email": format!("{username}@acme.com"), "branch": branch}),
        )
        .await;
    body["id"].as_str().unwrap().to_owned()
}

async fn user_count(s: &TestServer) -> usize {
    s.call("GET", "/api/v1/users?limit=1000", None).await.body["items"].as_array().unwrap().len()
}

async fn create_read_update_delete(s: TestServer) {
    seed(&s).await;
    let created = s
        .post_ok(
            "/api/v1/users",
            json!({
                "username": "Zoe.Muller", "email": "zoe@acme.com", "first_name": "Zoë", "last_name": "Müller",
                "branch": "PAR", "language": "fr", "timezone": "Europe/Paris",
                "fields": {"department": "sales", "Hire Date": "2024-01-31", "years": 4, "supervisor": "yes"}
            }),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["status"], "active");
    assert_eq!(created["branch"], "PAR");
    assert_eq!(
        created["fields"],
        json!({"department": "Sales", "hire_date": "2024-01-31", "years": 4, "supervisor": true})
    );
    assert_eq!(created["created_at"], "2026-03-02T12:00:00.000Z");

    let got = s.call("GET", &format!("/api/v1/users/{id}"), None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, created);

    s.clock.advance(60_000);
    let patched = s
        .call(
            "PATCH",
            &format!("/api/v1/users/{id}"),
            Some(json!({"first_name": null, "status": "suspended", "branch": "US", "fields": {"years": null, "job_title": "Driver"}})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["first_name"], serde_json::Value::Null);
    assert_eq!(patched.body["last_name"], "Müller");
    assert_eq!(patched.body["status"], "suspended");
    assert_eq!(patched.body["branch"], "US");
    assert_eq!(
        patched.body["fields"],
        json!({"department": "Sales", "hire_date": "2024-01-31", "supervisor": true, "job_title": "Driver"})
    );
    assert_eq!(patched.body["updated_at"], "2026-03-02T12:01:00.000Z");

    assert_eq!(s.call("DELETE", &format!("/api/v1/users/{id}"), None).await.status, 204);
    assert_eq!(s.call("GET", &format!("/api/v1/users/{id}"), None).await.status, 404);
    assert_eq!(s.call("DELETE", &format!("/api/v1/users/{id}"), None).await.status, 404);
    assert_eq!(s.call("GET", "/api/v1/users/not-an-id", None).await.status, 404);
}

async fn bad_input_is_refused_naming_the_field(s: TestServer) {
    seed(&s).await;
    let base = json!({"username": "ann", "email": "ann@acme.com"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (with("email", json!("not-an-email")), 422, "email"),
        (with("username", json!("")), 422, "username"),
        (with("username", json!("has space")), 422, "username"),
        (with("username", json!("x".repeat(101))), 422, "username"),
        (with("username", json!(5)), 400, "username"),
        (with("nickname", json!("annie")), 400, "nickname"),
        (with("branch", json!("NOPE")), 422, "branch"),
        (with("status", json!("retired")), 422, "status"),
        (with("language", json!("english please")), 422, "language"),
        (with("first_name", json!("x".repeat(101))), 422, "first_name"),
        (with("fields", json!({"shoe_size": 42})), 422, "fields.shoe_size"),
        (with("fields", json!({"hire_date": "2023-02-30"})), 422, "fields.hire_date"),
        (with("fields", json!({"hire_date": "yesterday"})), 422, "fields.hire_date"),
        (with("fields", json!({"years": "many"})), 422, "fields.years"),
        (with("fields", json!({"years": true})), 422, "fields.years"),
        (with("fields", json!({"department": "Legal"})), 422, "fields.department"),
        (with("fields", json!({"supervisor": "maybe"})), 422, "fields.supervisor"),
        (with("password", json!("short")), 422, "password"),
        (json!({"email": "ann@acme.com"}), 400, "username"),
    ];
    for (body, status, field) in cases {
        let r = s.call("POST", "/api/v1/users", Some(body.clone())).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.field(), field, "{body}: {}", r.body);
        assert!(!r.message().is_empty());
    }
    let malformed = s.send_raw("POST", "/api/v1/users", "application/json", b"{\"username\": ".to_vec()).await;
    assert_eq!(malformed.status, 400);
    let not_json = s.send_raw("POST", "/api/v1/users", "text/plain", b"username=ann".to_vec()).await;
    assert_eq!(not_json.status, 400);
    let huge = format!(
        "{{\"username\": \"ann\", \"email\": \"ann@acme.com\", \"first_name\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let too_big = s.send_raw("POST", "/api/v1/users", "application/json", huge.into_bytes()).await;
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    assert_eq!(user_count(&s).await, 0, "nothing was stored");

    let id = create_user(&s, "ann", Some("PAR")).await;
    let r = s.call("PATCH", &format!("/api/v1/users/{id}"), Some(json!({"email": "bad", "first_name": "Ann"}))).await;
    assert_eq!((r.status, r.field()), (422, "email"));
    let after = s.call("GET", &format!("/api/v1/users/{id}"), None).await;
    assert_eq!(after.body["first_name"], serde_json::Value::Null, "a refused patch changes nothing");
}

async fn usernames_are_unique_regardless_of_case(s: TestServer) {
    create_user(&s, "Ann.Lee", None).await;
    let r = s.call("POST", "/api/v1/users", Some(json!({"username": "ann.lee", "email": "other@acme.com"}))).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.field(), "username");
    let other = create_user(&s, "bob", None).await;
    let r = s.call("PATCH", &format!("/api/v1/users/{other}"), Some(json!({"username": "ANN.LEE"}))).await;
    assert_eq!((r.status, r.field()), (409, "username"));
    assert!(!r.message().to_lowercase().contains("constraint"), "no database text leaks: {}", r.message());
}

async fn lists_page_and_filter(s: TestServer) {
    seed(&s).await;
    for i in 0..25 {
        let branch = if i % 2 == 0 { "PAR" } else { "US" };
        create_user(&s, &format!("user{i:02}"), Some(branch)).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=10&cursor={c}"),
            None => "/api/v1/users?limit=10".to_owned(),
        };
        let page = s.call("GET", &path, None).await.body;
        for u in page["items"].as_array().unwrap() {
            seen.push(u["username"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    seen.dedup();
    assert_eq!(seen.len(), 25, "no user twice across pages");

    let emea = s.call("GET", "/api/v1/users?branch=EMEA&limit=100", None).await.body;
    assert_eq!(emea["items"].as_array().unwrap().len(), 13, "EMEA includes PAR below it");
    let q = s.call("GET", "/api/v1/users?q=USER1", None).await.body;
    assert_eq!(q["items"].as_array().unwrap().len(), 10);
    let q = s.call("GET", "/api/v1/users?q=%25", None).await.body;
    assert_eq!(q["items"].as_array().unwrap().len(), 0, "% is searched literally");
    let exact = s.call("GET", "/api/v1/users?username=USER07", None).await.body;
    assert_eq!(exact["items"][0]["username"], "user07");
    let suspended = s.call("GET", "/api/v1/users?status=suspended", None).await.body;
    assert_eq!(suspended["items"].as_array().unwrap().len(), 0);

    let r = s.call("GET", "/api/v1/users?limit=1001", None).await;
    assert_eq!((r.status, r.field()), (400, "limit"));
    let r = s.call("GET", "/api/v1/users?limit=ten", None).await;
    assert_eq!((r.status, r.field()), (400, "limit"));
    let r = s.call("GET", "/api/v1/users?cursor=abc", None).await;
    assert_eq!((r.status, r.field()), (400, "cursor"));
    let r = s.call("GET", "/api/v1/users?status=gone", None).await;
    assert_eq!((r.status, r.field()), (400, "status"));
}

async fn a_nul_in_a_filter_is_refused_naming_the_parameter(s: TestServer) {
    seed(&s).await;
    create_user(&s, "ann.lee", Some("PAR")).await;
    s.post_ok("/api/v1/groups", json!({"name": "Drivers"})).await;
    for (path, field) in [
        ("/api/v1/users?q=a%00b", "q"),
        ("/api/v1/users?username=%00", "username"),
        ("/api/v1/groups?q=%00", "q"),
        ("/api/v1/groups/1/members?q=x%01", "q"),
    ] {
        let r = s.call("GET", path, None).await;
        assert_eq!((r.status, r.field()), (400, field), "{path}: {}", r.body);
    }
}

async fn hidden_characters_and_null_required_fields_are_refused(s: TestServer) {
    seed(&s).await;
    s.post_ok("/api/v1/fields", json!({"code": "note", "name": "Note", "type": "text"})).await;
    let ann = create_user(&s, "anna", Some("PAR")).await;
    let before = s.call("GET", &format!("/api/v1/users/{ann}"), None).await.body;
    for (body, field) in [
        (json!({"username": "anna\u{200f}", "email": "a2@acme.com"}), "username"),
        (json!({"username": "an\u{200b}na", "email": "a2@acme.com"}), "username"),
        (json!({"username": "anna2", "email": "a2@acme.com", "first_name": "\u{202e}Anna"}), "first_name"),
        (json!({"username": "anna2", "email": "a2@acme.com", "fields": {"note": "a\u{0}b"}}), "fields.note"),
    ] {
        let r = s.call("POST", "/api/v1/users", Some(body.clone())).await;
        assert_eq!((r.status, r.field()), (422, field), "{body}: {}", r.body);
        assert!(r.message().contains("U+"), "the message names the character: {}", r.message());
    }
    let path = format!("/api/v1/users/{ann}");
    for (body, field) in [
        (json!({"email": null}), "email"),
        (json!({"username": null}), "username"),
        (json!({"status": null}), "status"),
        (json!({"last_name": "Lee\u{2066}"}), "last_name"),
        (json!({"fields": {"note": "x\u{7}"}}), "fields.note"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
    ] {
        let r = s.call("PATCH", &path, Some(body.clone())).await;
        assert_eq!((r.status, r.field()), (422, field), "{body}: {}", r.body);
    }
    assert_eq!(s.call("GET", &path, None).await.body, before, "nothing was applied");
    // A time zone is one of the IANA database, in any case, stored as it spells it.
    let r = s.call("PATCH", &path, Some(json!({"timezone": "america/new_york"}))).await;
    assert_eq!((r.status, r.body["timezone"].as_str()), (200, Some("America/New_York")), "{}", r.body);
    // A username is kept in NFC, so its decomposed spelling is the same name.
    let zoe = s.post_ok("/api/v1/users", json!({"username": "zo\u{eb}", "email": "z@acme.com"})).await;
    assert_eq!(zoe["username"], "zo\u{eb}");
    let r = s.call("POST", "/api/v1/users", Some(json!({"username": "ZOE\u{308}", "email": "z2@acme.com"}))).await;
    assert_eq!((r.status, r.field()), (409, "username"), "{}", r.body);
    let found = s.call("GET", "/api/v1/users?username=zoe%CC%88", None).await.body;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "the decomposed spelling finds it: {found}");
}

async fn a_truncated_body_is_named_as_the_body(s: TestServer) {
    for body in [r#"{"code": "x", "na"#, r#"{"code": "x", "#, r#"{"#] {
        let r = s.send_raw("POST", "/api/v1/fields", "application/json", body.as_bytes().to_vec()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_ne!(r.field(), "?", "{body}: {}", r.body);
        assert!(!r.field().contains('?'), "{body}: {}", r.body);
    }
}

crate::on_both_databases!(
    a_truncated_body_is_named_as_the_body,
    hidden_characters_and_null_required_fields_are_refused,
    a_nul_in_a_filter_is_refused_naming_the_parameter,
    create_read_update_delete,
    bad_input_is_refused_naming_the_field,
    usernames_are_unique_regardless_of_case,
    lists_page_and_filter,
);
