//! `/api/v1/admins` and `/api/v1/tokens`: logins and tokens as things a superadmin
//! manages, and what a training admin may not do with them.

use roster_app::sessions::LoginOutcome;
use serde_json::json;

use crate::helpers::TestServer;
use crate::users::{create_user, seed};

async fn a_superadmin_manages_admins_and_the_training_admin_acts_within_its_branches(s: TestServer) {
    seed(&s).await;
    let created = s
        .post_ok(
            "/api/v1/admins",
            json!({"username": "Claire.FR", "password": "a long enough secret", "role": "training_admin", "branches": ["FR"]}),
        )
        .await;
    assert_eq!(created["role"], "training_admin");
    assert_eq!(created["branches"], json!(["FR"]));
    assert_eq!(created["suspended"], false);
    assert!(created.get("password").is_none() && created.get("password_hash").is_none(), "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let listed = s.call("GET", "/api/v1/admins", None).await.body;
    assert!(listed.as_array().unwrap().iter().any(|a| a["username"] == "Claire.FR"), "{listed}");

    // It logs in as a training admin of France.
    let LoginOutcome::LoggedIn { id: session, .. } =
        s.app.log_in("claire.fr", "a long enough secret", "10.0.0.9").await.unwrap()
    else {
        panic!("the new training admin cannot log in")
    };
    let actor = s.app.session(&session).await.unwrap().unwrap().actor;
    assert_eq!(actor.branch_codes(), ["FR"]);
    assert!(s.call("GET", &format!("/api/v1/admins/{id}"), None).await.body["last_login_at"].is_string());

    // Suspending it ends its session and refuses its logins; reactivating lets it back in.
    let r = s.call("PATCH", &format!("/api/v1/admins/{id}"), Some(json!({"suspended": true}))).await;
    assert_eq!((r.status, r.body["suspended"].clone()), (200, json!(true)));
    assert!(s.app.session(&session).await.unwrap().is_none(), "a suspended admin's session ends");
    assert!(matches!(
        s.app.log_in("claire.fr", "a long enough secret", "10.0.0.9").await.unwrap(),
        LoginOutcome::Refused
    ));
    s.call("PATCH", &format!("/api/v1/admins/{id}"), Some(json!({"suspended": false, "branches": ["EMEA"]}))).await;
    assert!(matches!(
        s.app.log_in("claire.fr", "a long enough secret", "10.0.0.9").await.unwrap(),
        LoginOutcome::LoggedIn { .. }
    ));
    assert_eq!(s.call("DELETE", &format!("/api/v1/admins/{id}"), None).await.status, 204);
    assert_eq!(s.call("GET", &format!("/api/v1/admins/{id}"), None).await.status, 404);
}

async fn bad_admins_are_refused_naming_the_field_and_nothing_is_stored(s: TestServer) {
    seed(&s).await;
    let good =
        json!({"username": "dana", "password": "a long enough secret", "role": "training_admin", "branches": ["FR"]});
    let with = |key: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    for (body, status, field) in [
        (with("branches", json!(["NOWHERE"])), 422, "branches"),
        (with("branches", json!([])), 422, "branches"),
        (with("username", json!("")), 422, "username"),
        (with("username", json!("two words")), 422, "username"),
        (with("password", json!("short pass")), 422, "password"),
        (with("role", json!("owner")), 422, "role"),
        (json!({"username": "dana", "role": "superadmin"}), 400, "password"),
    ] {
        let r = s.call("POST", "/api/v1/admins", Some(body.clone())).await;
        assert_eq!((r.status, r.field()), (status, field), "{body}: {}", r.body);
    }
    let r = s
        .call(
            "POST",
            "/api/v1/admins",
            Some(json!({"username": "sup", "password": "a long enough secret", "role": "superadmin", "branches": ["FR"]})),
        )
        .await;
    assert_eq!((r.status, r.field()), (422, "branches"));
    let listed = s.call("GET", "/api/v1/admins", None).await.body;
    assert!(listed.as_array().unwrap().is_empty(), "nothing stored: {listed}");

    s.post_ok("/api/v1/admins", good.clone()).await;
    let r = s.call("POST", "/api/v1/admins", Some(with("username", json!("DANA")))).await;
    assert_eq!((r.status, r.field()), (409, "username"), "a username is unique in any case");
}

async fn the_last_superadmin_that_can_log_in_stays(s: TestServer) {
    let only = s
        .post_ok(
            "/api/v1/admins",
            json!({"username": "root", "password": "a long enough secret", "role": "superadmin"}),
        )
        .await;
    let id = only["id"].as_str().unwrap();
    let path = format!("/api/v1/admins/{id}");
    for (patch, field) in
        [(json!({"suspended": true}), "suspended"), (json!({"role": "training_admin", "branches": []}), "branches")]
    {
        let r = s.call("PATCH", &path, Some(patch.clone())).await;
        assert!(r.status == 409 || r.status == 422, "{patch}: {} {}", r.status, r.body);
        assert_eq!(r.field(), field, "{patch}: {}", r.body);
    }
    s.post_ok("/api/v1/branches", json!({"code": "EMEA", "name": "EMEA"})).await;
    let r = s.call("PATCH", &path, Some(json!({"role": "training_admin", "branches": ["EMEA"]}))).await;
    assert_eq!((r.status, r.field()), (409, "role"), "{}", r.body);
    let r = s.call("DELETE", &path, None).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.message().contains("last superadmin"), "{}", r.body);
    // With a second one, the first can go.
    s.post_ok("/api/v1/admins", json!({"username": "root2", "password": "a long enough secret", "role": "superadmin"}))
        .await;
    assert_eq!(s.call("DELETE", &path, None).await.status, 204);
}

async fn tokens_are_created_once_listed_with_their_last_use_and_revoked(s: TestServer) {
    seed(&s).await;
    let inside = create_user(&s, "in.paris", Some("PAR")).await;
    let outside = create_user(&s, "in.us", Some("US")).await;
    let created =
        s.post_ok("/api/v1/tokens", json!({"name": "lms-fr", "role": "training_admin", "branches": ["FR"]})).await;
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("rst_"));
    assert_eq!(created["role"], "training_admin");
    assert!(created.get("last_used_at").is_none());
    assert_eq!(s.call_as(&secret, "GET", &format!("/api/v1/users/{inside}"), None).await.status, 200);
    assert_eq!(s.call_as(&secret, "GET", &format!("/api/v1/users/{outside}"), None).await.status, 404);
    let listed = s.call("GET", "/api/v1/tokens", None).await.body;
    let mine = listed.as_array().unwrap().iter().find(|t| t["name"] == "lms-fr").unwrap().clone();
    assert!(mine["last_used_at"].is_string(), "{mine}");
    assert!(mine.get("token").is_none(), "a listed token never shows its secret: {mine}");
    assert!(!listed.to_string().contains(&secret));

    let r = s.call("POST", "/api/v1/tokens", Some(json!({"name": "lms-fr", "role": "superadmin"}))).await;
    assert_eq!((r.status, r.field()), (409, "name"));
    let r = s
        .call("POST", "/api/v1/tokens", Some(json!({"name": "x", "role": "training_admin", "branches": ["NOPE"]})))
        .await;
    assert_eq!((r.status, r.field()), (422, "branches"));

    // A training admin manages neither admins nor tokens — refused before its body is read.
    for (method, path, body) in [
        ("GET", "/api/v1/admins", None),
        (
            "POST",
            "/api/v1/admins",
            Some(json!({"username": "me", "password": "a long enough secret", "role": "superadmin"})),
        ),
        ("POST", "/api/v1/admins", Some(json!({"not": "even valid"}))),
        ("GET", "/api/v1/tokens", None),
        ("POST", "/api/v1/tokens", Some(json!({"name": "wider", "role": "superadmin"}))),
        ("DELETE", &format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()), None),
    ] {
        let r = s.call_as(&secret, method, path, body).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }

    let r = s.call("DELETE", &format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()), None).await;
    assert_eq!(r.status, 204);
    assert_eq!(s.call_as(&secret, "GET", "/api/v1/users", None).await.status, 401);
}

async fn the_bearer_scheme_is_matched_in_any_case_and_json_ends_where_it_ends(s: TestServer) {
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = s
            .http
            .get(format!("{}/api/v1/users", s.base))
            .header("authorization", format!("{scheme} {}", s.token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
    }
    let r = s.http.get(format!("{}/api/v1/users", s.base)).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .send_raw(
            "POST",
            "/api/v1/users",
            "application/json",
            br#"{"username": "j", "email": "j@acme.com"} x"#.to_vec(),
        )
        .await;
    assert_eq!((r.status, r.field()), (400, "body"), "{}", r.body);
    assert_eq!(s.call("GET", "/api/v1/users?username=j", None).await.body["items"], json!([]), "nothing created");
}

async fn a_training_admin_learns_nothing_of_users_outside_its_branches(s: TestServer) {
    seed(&s).await;
    let inside = create_user(&s, "in.paris", Some("PAR")).await;
    let outside = create_user(&s, "ceo.smith", Some("US")).await;
    s.call("PATCH", &format!("/api/v1/users/{outside}"), Some(json!({"fields": {"department": "Sales"}}))).await;
    let ta = s.training_admin("fr-admin", &["FR"]).await;

    // Previews count and sample only its users, whatever the rule asks.
    let preview = |text: &str| json!({"text": text});
    let r = s.call_as(&ta, "POST", "/api/v1/rules/preview", Some(preview(r#"username matches ".""#))).await;
    assert_eq!((r.status, r.body["member_count"].as_u64()), (200, Some(1)), "{}", r.body);
    assert!(!r.body.to_string().contains("ceo.smith"), "{}", r.body);
    let probe = preview(r#"username = "ceo.smith" and field("department") = "Sales""#);
    let r = s.call_as(&ta, "POST", "/api/v1/rules/preview", Some(probe.clone())).await;
    assert_eq!(r.body["member_count"], 0, "an outside user's field cannot be probed: {}", r.body);
    assert_eq!(
        s.call("POST", "/api/v1/rules/preview", Some(probe)).await.body["member_count"],
        1,
        "the superadmin sees it"
    );

    // A group with both: counts, events and rule outcomes are of its users only.
    let g = s.post_ok("/api/v1/groups", json!({"name": "Everyone"})).await["id"].as_str().unwrap().to_owned();
    s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": [inside, outside]})).await;
    assert_eq!(s.call("GET", &format!("/api/v1/groups/{g}"), None).await.body["member_count"], 2);
    assert_eq!(s.call_as(&ta, "GET", &format!("/api/v1/groups/{g}"), None).await.body["member_count"], 1);
    let listed = s.call_as(&ta, "GET", "/api/v1/groups", None).await.body;
    let row = listed["items"].as_array().unwrap().iter().find(|x| x["id"] == g.as_str()).unwrap().clone();
    assert_eq!(row["member_count"], 1, "{row}");
    let events = s.call_as(&ta, "GET", &format!("/api/v1/groups/{g}/events"), None).await.body;
    let users: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["user_id"].as_str().unwrap_or("")).collect();
    assert!(!users.is_empty() && users.iter().all(|u| *u == inside), "{events}");
    assert!(!events.to_string().contains(&format!("\"{outside}\"")), "{events}");
    let all_events = s.call("GET", &format!("/api/v1/groups/{g}/events"), None).await.body;
    assert_eq!(all_events["items"].as_array().unwrap().len(), 2, "the superadmin sees both: {all_events}");

    let auto = s
        .post_ok("/api/v1/groups", json!({"name": "Sales", "policy": "automatic", "scope": ["EMEA", "AMER"]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let everyone = json!({"text": r#"username matches ".""#});
    let rule = format!("/api/v1/groups/{auto}/rule");
    let r = s.call_as(&ta, "PUT", &rule, Some(everyone.clone())).await;
    assert_eq!(r.status, 403, "a group reaching AMER is read-only to a French admin: {}", r.body);
    let r = s.call("PUT", &rule, Some(everyone.clone())).await;
    assert_eq!((r.body["joined"].as_u64(), r.body["group"]["member_count"].as_u64()), (Some(2), Some(2)), "{}", r.body);
    assert_eq!(s.call_as(&ta, "GET", &format!("/api/v1/groups/{auto}"), None).await.body["member_count"], 1);
    // Scoped to France, its rule's matches are France's users; the French admin manages it.
    let r = s.call("PATCH", &format!("/api/v1/groups/{auto}"), Some(json!({"scope": ["FR"]}))).await;
    assert_eq!((r.status, r.body["member_count"].clone()), (200, json!(1)), "{}", r.body);
    let r = s.call_as(&ta, "PUT", &rule, Some(json!({"text": r#"username starts with "in.""#}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["left"].as_u64(), r.body["group"]["member_count"].as_u64()), (Some(0), Some(1)), "{}", r.body);
    let why = s.call("GET", &format!("/api/v1/groups/{auto}/explain/{outside}"), None).await.body;
    assert_eq!(why["rule_holds"], false, "the scope is a condition of the rule: {why}");
    assert!(why.to_string().contains(r#"branch under \"FR\""#), "{why}");

    // Another admin's CSV report does not exist for it.
    let up = s
        .send_raw(
            "POST",
            &format!("/api/v1/groups/{g}/members/csv?dry_run=true"),
            "text/csv",
            b"username\nceo.smith\n".to_vec(),
        )
        .await;
    let upload = up.body["upload"].as_str().unwrap().to_owned();
    let report = format!("/api/v1/groups/{g}/uploads/{upload}/report.csv");
    assert_eq!(s.call_as(&ta, "GET", &report, None).await.status, 404);
    assert_eq!(s.call("GET", &report, None).await.status, 200);

    // A bad page size says what is wanted.
    for limit in ["-5", "0", "abc", "100000"] {
        let r = s.call_as(&ta, "GET", &format!("/api/v1/users?limit={limit}"), None).await;
        assert_eq!((r.status, r.field()), (400, "limit"), "{limit}: {}", r.body);
        assert!(r.message().contains("whole number from 1 to 1000"), "{limit}: {}", r.body);
    }
}

crate::on_both_databases!(
    a_training_admin_learns_nothing_of_users_outside_its_branches,
    a_superadmin_manages_admins_and_the_training_admin_acts_within_its_branches,
    bad_admins_are_refused_naming_the_field_and_nothing_is_stored,
    the_last_superadmin_that_can_log_in_stays,
    tokens_are_created_once_listed_with_their_last_use_and_revoked,
    the_bearer_scheme_is_matched_in_any_case_and_json_ends_where_it_ends,
);
