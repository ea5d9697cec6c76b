//! The authorization matrix of DESIGN §7: every route the server serves — taken from the
//! router itself, so a new route cannot be missed — called as nobody, as a revoked
//! token, as a training admin of France (with a user inside its branches and one
//! outside) and as a superadmin, over the API, SCIM and the admin UI. Each route has an
//! expected outcome for each; no answer to the training admin may name the outside user
//! or count them.

use reqwest::Method;
use roster_app::sessions::LoginOutcome;
use serde_json::json;
use std::collections::BTreeSet;

use crate::helpers::TestServer;
use crate::users::seed;

/// What an identity should get from a route.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// Served to anyone, signed in or not.
    Public,
    /// Served: any answer but 401, 403, 404 or a server error.
    Served,
    /// 403: a right it does not have.
    Denied,
    /// 404: a thing it may not know of (another admin's report, an outside user).
    Hidden,
}
use Want::{Denied, Hidden, Public, Served};

/// Every route and method, and what a training admin gets with the user inside its
/// branches. Anonymous and revoked callers get 401 (API, SCIM) or the login page (UI)
/// unless the route is `Public`; a superadmin is served. With the outside user, a
/// training admin gets 404 — or 403 where the route is closed to it anyway.
const EXPECTED: &[(&str, &str, Want)] = &[
    ("GET", "/api/v1/openapi.json", Public),
    ("GET", "/api/v1/users", Served),
    ("POST", "/api/v1/users", Served),
    ("GET", "/api/v1/users/{id}", Served),
    ("PATCH", "/api/v1/users/{id}", Served),
    ("DELETE", "/api/v1/users/{id}", Served),
    ("GET", "/api/v1/users/{id}/enrollments", Served),
    ("GET", "/api/v1/users/{id}/enrollment-events", Served),
    ("GET", "/api/v1/users/{id}/events", Served),
    ("GET", "/api/v1/users/{id}/groups", Served),
    ("GET", "/api/v1/groups", Served),
    ("POST", "/api/v1/groups", Served),
    ("GET", "/api/v1/groups/sample.csv", Served),
    ("GET", "/api/v1/groups/{id}", Served),
    ("PATCH", "/api/v1/groups/{id}", Denied),
    ("DELETE", "/api/v1/groups/{id}", Denied),
    ("GET", "/api/v1/groups/{id}/members", Served),
    ("POST", "/api/v1/groups/{id}/members", Denied),
    ("POST", "/api/v1/groups/{id}/members/csv", Denied),
    ("GET", "/api/v1/groups/{id}/members.csv", Served),
    ("DELETE", "/api/v1/groups/{id}/members/{user_id}", Denied),
    ("GET", "/api/v1/groups/{id}/uploads/{upload}/report.csv", Hidden),
    ("GET", "/api/v1/groups/{id}/events", Served),
    ("GET", "/api/v1/groups/{id}/rule", Served),
    ("PUT", "/api/v1/groups/{id}/rule", Denied),
    ("GET", "/api/v1/groups/{id}/includes", Served),
    ("PUT", "/api/v1/groups/{id}/includes", Denied),
    ("GET", "/api/v1/groups/{id}/excludes", Served),
    ("PUT", "/api/v1/groups/{id}/excludes", Denied),
    ("GET", "/api/v1/groups/{id}/explain/{user_id}", Served),
    ("GET", "/api/v1/groups/{id}/enrollment-rules", Served),
    ("PUT", "/api/v1/groups/{id}/enrollment-rules", Denied),
    ("POST", "/api/v1/groups/{id}/enrollment-rules/preview", Denied),
    ("POST", "/api/v1/rules/preview", Served),
    ("POST", "/api/v1/imports/users", Served),
    ("GET", "/api/v1/imports/users/template.csv", Served),
    ("GET", "/api/v1/imports/{id}", Hidden),
    ("GET", "/api/v1/imports/{id}/report.csv", Hidden),
    ("GET", "/api/v1/fields", Served),
    ("POST", "/api/v1/fields", Denied),
    ("GET", "/api/v1/fields/{code}", Served),
    ("PATCH", "/api/v1/fields/{code}", Denied),
    ("DELETE", "/api/v1/fields/{code}", Denied),
    ("GET", "/api/v1/branches", Served),
    ("POST", "/api/v1/branches", Denied),
    ("GET", "/api/v1/branches/{code}", Served),
    ("PATCH", "/api/v1/branches/{code}", Denied),
    ("DELETE", "/api/v1/branches/{code}", Denied),
    ("GET", "/api/v1/courses", Served),
    ("POST", "/api/v1/courses", Denied),
    ("GET", "/api/v1/courses/{code}", Served),
    ("PATCH", "/api/v1/courses/{code}", Denied),
    ("DELETE", "/api/v1/courses/{code}", Denied),
    ("GET", "/api/v1/courses/{code}/enrollments", Served),
    ("PUT", "/api/v1/courses/{code}/enrollments/{user_id}", Served),
    ("DELETE", "/api/v1/courses/{code}/enrollments/{user_id}", Served),
    ("GET", "/api/v1/admins", Denied),
    ("POST", "/api/v1/admins", Denied),
    ("GET", "/api/v1/admins/{id}", Denied),
    ("PATCH", "/api/v1/admins/{id}", Denied),
    ("DELETE", "/api/v1/admins/{id}", Denied),
    ("GET", "/api/v1/tokens", Denied),
    ("POST", "/api/v1/tokens", Denied),
    ("DELETE", "/api/v1/tokens/{id}", Denied),
    ("GET", "/api/v1/changes", Served),
    // A training admin has its own webhooks; the superadmin's is unknown to it.
    ("GET", "/api/v1/webhooks", Served),
    ("POST", "/api/v1/webhooks", Served),
    ("GET", "/api/v1/webhooks/{id}", Hidden),
    ("PATCH", "/api/v1/webhooks/{id}", Hidden),
    ("DELETE", "/api/v1/webhooks/{id}", Hidden),
    ("GET", "/api/v1/webhooks/{id}/deliveries", Hidden),
    ("POST", "/api/v1/webhooks/{id}/test", Hidden),
    ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", Hidden),
    // SCIM provisioning is a superadmin's.
    ("GET", "/scim/v2/ServiceProviderConfig", Denied),
    ("GET", "/scim/v2/Schemas", Denied),
    ("GET", "/scim/v2/Schemas/{id}", Denied),
    ("GET", "/scim/v2/ResourceTypes", Denied),
    ("GET", "/scim/v2/ResourceTypes/{name}", Denied),
    ("POST", "/scim/v2/Bulk", Denied),
    ("POST", "/scim/v2/.search", Denied),
    ("GET", "/scim/v2/Users", Denied),
    ("POST", "/scim/v2/Users", Denied),
    ("POST", "/scim/v2/Users/.search", Denied),
    ("GET", "/scim/v2/Users/{id}", Denied),
    ("PUT", "/scim/v2/Users/{id}", Denied),
    ("PATCH", "/scim/v2/Users/{id}", Denied),
    ("DELETE", "/scim/v2/Users/{id}", Denied),
    ("GET", "/scim/v2/Groups", Denied),
    ("POST", "/scim/v2/Groups", Denied),
    ("POST", "/scim/v2/Groups/.search", Denied),
    ("GET", "/scim/v2/Groups/{id}", Denied),
    ("PUT", "/scim/v2/Groups/{id}", Denied),
    ("PATCH", "/scim/v2/Groups/{id}", Denied),
    ("DELETE", "/scim/v2/Groups/{id}", Denied),
    ("GET", "/healthz", Public),
    ("GET", "/metrics", Public),
    ("GET", "/favicon.ico", Public),
    // The admin UI.
    ("GET", "/admin", Public),
    ("GET", "/admin/", Public),
    ("GET", "/admin/login", Public),
    ("POST", "/admin/login", Public),
    ("GET", "/admin/static/{file}", Public),
    ("GET", "/admin/groups", Served),
    ("POST", "/admin/groups", Served),
    ("GET", "/admin/groups/sample.csv", Served),
    ("GET", "/admin/groups/{id}", Served),
    ("POST", "/admin/groups/{id}/members", Denied),
    ("POST", "/admin/groups/{id}/members/remove", Denied),
    ("POST", "/admin/groups/{id}/members/{user_id}/remove", Denied),
    ("POST", "/admin/groups/{id}/csv", Denied),
    ("GET", "/admin/groups/{id}/uploads/{upload}/report.csv", Hidden),
    ("GET", "/admin/groups/{id}/members.csv", Served),
    ("GET", "/admin/groups/{id}/history", Served),
    ("GET", "/admin/groups/{id}/settings", Served),
    ("POST", "/admin/groups/{id}/settings", Denied),
    ("POST", "/admin/groups/{id}/delete", Denied),
    ("GET", "/admin/groups/{id}/rules", Served),
    ("POST", "/admin/groups/{id}/rules", Denied),
    ("GET", "/admin/groups/{id}/enrollment-rules", Served),
    ("POST", "/admin/groups/{id}/enrollment-rules", Denied),
    ("POST", "/admin/groups/{id}/lists", Denied),
    ("POST", "/admin/groups/{id}/suspended", Denied),
    ("GET", "/admin/users", Served),
    ("POST", "/admin/users", Served),
    ("GET", "/admin/users/new", Served),
    ("GET", "/admin/users/{id}", Served),
    ("POST", "/admin/users/{id}", Served),
    ("POST", "/admin/users/{id}/status", Served),
    ("POST", "/admin/users/{id}/delete", Served),
    ("POST", "/admin/users/{id}/enrollments", Served),
    ("GET", "/admin/users/{id}/history", Served),
    ("GET", "/admin/fields", Served),
    ("POST", "/admin/fields", Denied),
    ("POST", "/admin/fields/{code}", Denied),
    ("GET", "/admin/branches", Served),
    ("POST", "/admin/branches", Denied),
    ("POST", "/admin/branches/{code}", Denied),
    ("GET", "/admin/courses", Served),
    ("POST", "/admin/courses", Denied),
    ("GET", "/admin/courses/{code}", Served),
    ("POST", "/admin/courses/{code}", Denied),
    ("POST", "/admin/courses/{code}/enrollments", Served),
    ("GET", "/admin/imports", Served),
    ("GET", "/admin/imports/template.csv", Served),
    ("GET", "/admin/imports/{id}/report.csv", Hidden),
    ("GET", "/admin/json/users", Served),
    ("GET", "/admin/json/groups", Served),
    ("GET", "/admin/json/courses", Served),
    ("POST", "/admin/json/rules/preview", Served),
    ("POST", "/admin/json/imports", Served),
    ("GET", "/admin/json/imports/{id}", Hidden),
    ("GET", "/admin/admins", Denied),
    ("POST", "/admin/admins", Denied),
    ("POST", "/admin/admins/{id}", Denied),
    ("GET", "/admin/tokens", Denied),
    ("POST", "/admin/tokens", Denied),
    ("POST", "/admin/tokens/{id}/revoke", Denied),
    ("GET", "/admin/webhooks", Served),
    ("POST", "/admin/webhooks", Served),
    ("GET", "/admin/webhooks/{id}", Hidden),
    ("POST", "/admin/webhooks/{id}", Hidden),
    ("POST", "/admin/webhooks/{id}/deliveries/{delivery_id}/resend", Hidden),
    ("POST", "/admin/logout", Served),
];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Nobody,
    Revoked,
    Trainer,
    TrainerOutside,
    Superadmin,
}

/// The world the matrix runs in.
struct Fixture {
    inside: String,
    outside: String,
    group: String,
    automatic: String,
    upload: String,
    import: String,
    admin: String,
    token: String,
    webhook: String,
    trainer_token: String,
    revoked_token: String,
    trainer_session: (String, String),
    outside_session: (String, String),
    superadmin_session: (String, String),
}

/// What no answer to the training admin may contain.
const OUTSIDE_USERNAME: &str = "quentin.outsider";
const OUTSIDE_EMAIL: &str = "quentin.outsider@elsewhere.test";
const OUTSIDE_NAME: &str = "Outsiderson";

async fn fixture(s: &TestServer) -> Fixture {
    seed(s).await;
    // Fillers first, so the outside user's id is unlike any other id in an answer.
    for i in 0..12 {
        let body = json!({"username": format!("filler.{i}"), "email": format!("filler{i}@acme.com"), "branch": "PAR"});
        s.post_ok("/api/v1/users", body).await;
    }
    let inside = s
        .post_ok("/api/v1/users", json!({"username": "in.paris", "email": "in.paris@acme.com", "branch": "PAR"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outside_body = json!({"username": OUTSIDE_USERNAME, "email": OUTSIDE_EMAIL, "first_name": "Quentin",
        "last_name": OUTSIDE_NAME, "branch": "US"});
    let outside = s.post_ok("/api/v1/users", outside_body).await["id"].as_str().unwrap().to_owned();
    s.post_ok("/api/v1/courses", json!({"code": "DRV-101", "name": "Driver Safety"})).await;
    for u in [&inside, &outside] {
        let path = format!("/api/v1/courses/DRV-101/enrollments/{u}");
        assert_eq!(s.call("PUT", &path, Some(json!({"status": "enrolled"}))).await.status, 200);
    }
    let group = s.post_ok("/api/v1/groups", json!({"name": "Everyone"})).await["id"].as_str().unwrap().to_owned();
    s.post_ok(&format!("/api/v1/groups/{group}/members"), json!({"users": [inside, outside]})).await;
    let automatic =
        s.post_ok("/api/v1/groups", json!({"name": "Both", "policy": "automatic", "scope": ["FR", "US"]})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let rule = json!({"text": r#"username starts with "in." or username starts with "quentin""#});
    assert_eq!(s.call("PUT", &format!("/api/v1/groups/{automatic}/rule"), Some(rule)).await.status, 200);
    let csv = format!("username\n{OUTSIDE_USERNAME}\nin.paris\n").into_bytes();
    let up = s.send_raw("POST", &format!("/api/v1/groups/{group}/members/csv?dry_run=true"), "text/csv", csv).await;
    let upload = up.body["upload"].as_str().unwrap().to_owned();
    let job = s
        .send_raw(
            "POST",
            "/api/v1/imports/users?dry_run=true",
            "text/csv",
            format!("username,email\n{OUTSIDE_USERNAME},{OUTSIDE_EMAIL}\n").into_bytes(),
        )
        .await;
    assert_eq!(job.status, 202, "{}", job.body);
    let import = job.body["id"].as_str().unwrap().to_owned();
    let admin = s
        .post_ok(
            "/api/v1/admins",
            json!({"username": "trainer", "password": "a long enough secret", "role": "training_admin", "branches": ["FR"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.post_ok("/api/v1/admins", json!({"username": "root", "password": "a long enough secret", "role": "superadmin"}))
        .await;
    let token = s.post_ok("/api/v1/tokens", json!({"name": "spare", "role": "superadmin"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let webhook = s.post_ok("/api/v1/webhooks", json!({"url": "http://127.0.0.1:9/hook"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let trainer_token = s.training_admin("matrix-fr", &["FR"]).await;
    let revoked = s.post_ok("/api/v1/tokens", json!({"name": "revoked", "role": "superadmin"})).await;
    s.call("DELETE", &format!("/api/v1/tokens/{}", revoked["id"].as_str().unwrap()), None).await;
    let session = |username: &'static str| async move {
        match s.app.log_in(username, "a long enough secret", "10.1.1.1").await.unwrap() {
            LoginOutcome::LoggedIn { id, session } => (id, session.csrf_token),
            other => panic!("{username} cannot log in: {other:?}"),
        }
    };
    Fixture {
        inside,
        outside,
        group,
        automatic,
        upload,
        import,
        admin,
        token,
        webhook,
        trainer_token,
        revoked_token: revoked["token"].as_str().unwrap().to_owned(),
        trainer_session: session("trainer").await,
        outside_session: session("trainer").await,
        superadmin_session: session("root").await,
    }
}

/// Fills a route's parameters for `who`. Deletions of users go to an id nobody has, so
/// the matrix does not delete what later calls need (the superadmin's own deletions run
/// last and may).
fn concrete(path: &str, method: &str, who: Who, f: &Fixture) -> String {
    let deletes_user = (method == "DELETE" && path.starts_with("/api/v1/users/"))
        || (path.starts_with("/admin/users/") && path.ends_with("/delete"));
    let user = match who {
        Who::TrainerOutside => f.outside.as_str(),
        _ if deletes_user && who != Who::Superadmin => "999999",
        _ => f.inside.as_str(),
    };
    let rule_route = ["/rule", "/rules", "/includes", "/excludes", "/lists", "/suspended", "/explain"];
    let group = if rule_route.iter().any(|r| path.contains(&format!("{{id}}{r}"))) { &f.automatic } else { &f.group };
    let id = if path.starts_with("/api/v1/users/")
        || path.starts_with("/admin/users/")
        || path.starts_with("/scim/v2/Users/")
    {
        user
    } else if path.contains("/groups/") || path.contains("/Groups/") {
        group.as_str()
    } else if path.contains("/imports/") {
        f.import.as_str()
    } else if path.starts_with("/api/v1/admins/") || path.starts_with("/admin/admins/") {
        f.admin.as_str()
    } else if path.starts_with("/api/v1/tokens/") || path.starts_with("/admin/tokens/") {
        f.token.as_str()
    } else if path.starts_with("/api/v1/webhooks/") || path.starts_with("/admin/webhooks/") {
        f.webhook.as_str()
    } else if path.contains("/Schemas/") {
        "urn:ietf:params:scim:schemas:core:2.0:User"
    } else {
        ""
    };
    let code = if path.contains("/fields/") {
        "department"
    } else if path.contains("/branches/") {
        "PAR"
    } else {
        "DRV-101"
    };
    path.replace("{id}", id)
        .replace("{user_id}", user)
        .replace("{delivery_id}", "1")
        .replace("{upload}", &f.upload)
        .replace("{code}", code)
        .replace("{name}", "User")
        .replace("{file}", "admin.css")
}

struct Answer {
    asked_for_nobody: bool,
    status: u16,
    location: String,
    body: String,
}

async fn call(s: &TestServer, f: &Fixture, who: Who, method: &str, path: &str) -> Answer {
    let url = format!("{}{path}", s.base);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = client.request(Method::from_bytes(method.as_bytes()).unwrap(), &url);
    let admin_ui = path.starts_with("/admin");
    let session = match who {
        Who::Trainer => Some(&f.trainer_session),
        Who::TrainerOutside => Some(&f.outside_session),
        Who::Superadmin => Some(&f.superadmin_session),
        _ => None,
    };
    if admin_ui {
        if let Some((id, csrf)) = session {
            req = req.header("cookie", format!("roster_session={id}")).header("x-csrf-token", csrf);
            if method == "POST" {
                let form = format!("csrf={csrf}&{}", admin_form(path, f));
                req = req.header("content-type", "application/x-www-form-urlencoded").body(form);
            }
        }
    } else {
        let token = match who {
            Who::Nobody => None,
            Who::Revoked => Some(f.revoked_token.as_str()),
            Who::Trainer | Who::TrainerOutside => Some(f.trainer_token.as_str()),
            Who::Superadmin => Some(s.token.as_str()),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if method != "GET" && method != "DELETE" {
            let (content_type, body) = api_body(method, path, f);
            req = req.header("content-type", content_type).body(body);
        }
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = resp.text().await.unwrap_or_default();
    Answer { asked_for_nobody: path.contains("999999"), status, location, body }
}

/// A well-formed body for each write, so a refusal is about who asks, not what it sent.
fn api_body(method: &str, path: &str, f: &Fixture) -> (&'static str, String) {
    let json = |v: serde_json::Value| ("application/json", v.to_string());
    let inside = f.inside.as_str();
    if path.ends_with("/members/csv") {
        return ("text/csv", "username\nin.paris\n".into());
    }
    if path.starts_with("/api/v1/imports/users") {
        return ("text/csv", "username,email,branch\nmatrix.import,mi@acme.com,PAR\n".into());
    }
    if path.starts_with("/scim/v2") {
        return (
            "application/scim+json",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "matrix.scim"})
            .to_string(),
        );
    }
    let tail = path.rsplit('/').next().unwrap_or_default();
    let body = match (method, tail) {
        ("POST", "users") => json!({"username": "matrix.new", "email": "matrix.new@acme.com", "branch": "PAR"}),
        ("POST", "groups") => json!({"name": "Matrix group"}),
        ("POST", "members") => json!({"users": [inside]}),
        ("PUT", "rule") => json!({"text": r#"username = "in.paris""#}),
        ("PUT", "includes" | "excludes") => json!({"users": [inside]}),
        ("PUT", "enrollment-rules") => json!([{"course": "DRV-101", "unenroll_on_leave": true}]),
        ("POST", "preview") if path.contains("/enrollment-rules/") => json!([{"course": "DRV-101"}]),
        ("POST", "preview") => json!({"text": r#"username matches ".""#}),
        ("POST", "fields") => json!({"code": "matrix", "name": "Matrix", "type": "text"}),
        ("POST", "branches") => json!({"code": "MX", "name": "Matrix"}),
        ("POST", "courses") => json!({"code": "MX-1", "name": "Matrix"}),
        ("POST", "admins") => json!({"username": "matrix", "password": "a long enough secret", "role": "superadmin"}),
        ("POST", "tokens") => json!({"name": "matrix", "role": "superadmin"}),
        ("POST", "webhooks") => json!({"url": "http://127.0.0.1:9/other"}),
        ("PATCH", _) if path.starts_with("/api/v1/webhooks/") => json!({"paused": true}),
        ("PUT", _) if path.contains("/enrollments/") => json!({"status": "enrolled"}),
        ("PATCH", _) if path.starts_with("/api/v1/users/") => json!({"first_name": "Matrix"}),
        ("PATCH", _) if path.starts_with("/api/v1/admins/") => json!({"suspended": false}),
        ("PATCH", _) => json!({"name": "Matrix renamed"}),
        _ => json!({}),
    };
    json(body)
}

/// The fields of an admin form, so a refusal is about who posts it.
fn admin_form(path: &str, f: &Fixture) -> String {
    let tail = path.rsplit('/').next().unwrap_or_default();
    match tail {
        "members" => format!("way=users&users={}", f.inside),
        "lists" => format!("list=include&users={}", f.inside),
        "rules" => "text=username+%3D+%22in.paris%22".into(),
        "settings" => "name=Matrix+renamed".into(),
        "groups" => "name=Matrix+UI+group&policy=manual".into(),
        "branches" => "code=MXU&name=Matrix".into(),
        "courses" => "code=MXU-1&name=Matrix".into(),
        "enrollments" => format!("status=enrolled&users={}&course=DRV-101", f.inside),
        "users" => "username=matrix.ui.user&email=matrix.ui.user%40acme.com&branch=PAR".into(),
        "status" => "status=active".into(),
        "login" => "username=nobody&password=wrong".into(),
        "admins" => "username=matrix.ui&password=a+long+enough+secret&role=superadmin".into(),
        "tokens" => "name=matrix.ui&role=superadmin".into(),
        _ => "name=Matrix".into(),
    }
}

/// Whether `answer` is what `who` should get from a route expected to give a trainer
/// `want`; `None` when it is, else why not.
fn judge(path: &str, who: Who, want: Want, answer: &Answer) -> Option<String> {
    let admin_ui = path.starts_with("/admin");
    let served = |s: u16| s < 500 && ![401, 403, 404].contains(&s);
    let ok = match (who, want) {
        // A throwaway id (a deletion the matrix must not make) is unknown to everyone.
        (Who::Trainer | Who::Superadmin, _) if answer.asked_for_nobody => answer.status == 404,
        (_, Public) => answer.status < 500,
        // The screens send a browser to log in; their JSON endpoints answer 401.
        (Who::Nobody | Who::Revoked, _) if admin_ui => {
            [401, 403].contains(&answer.status) || (answer.status == 303 && answer.location.starts_with("/admin/login"))
        }
        (Who::Nobody | Who::Revoked, _) => answer.status == 401,
        (Who::Superadmin, _) => answer.status < 500 && answer.status != 401 && answer.status != 403,
        (Who::Trainer, Served) => served(answer.status),
        (Who::Trainer, Denied) => answer.status == 403,
        (Who::Trainer, Hidden) => answer.status == 404,
        (Who::TrainerOutside, Denied) => answer.status == 403 || answer.status == 404,
        (Who::TrainerOutside, _) => answer.status == 404,
    };
    (!ok).then(|| format!("{:?} got {} {}", who, answer.status, answer.body.chars().take(160).collect::<String>()))
}

/// What the training admin must never receive.
fn leaks(f: &Fixture, body: &str) -> Option<&'static str> {
    let id_patterns = [
        format!("\"id\":\"{}\"", f.outside),
        format!("\"user_id\":\"{}\"", f.outside),
        format!("\"value\":\"{}\"", f.outside),
        format!("/users/{}\"", f.outside),
        format!("[\"{}\"", f.outside),
        format!(",\"{}\"", f.outside),
    ];
    if body.contains(OUTSIDE_USERNAME) {
        Some("the outside user's username")
    } else if body.contains(OUTSIDE_EMAIL) {
        Some("the outside user's email")
    } else if body.contains(OUTSIDE_NAME) {
        Some("the outside user's name")
    } else if id_patterns.iter().any(|p| body.contains(p.as_str())) {
        Some("the outside user's id")
    } else if body.contains("\"member_count\":2") || body.contains("\"count\":2") {
        Some("a count that includes the outside user")
    } else {
        None
    }
}

async fn every_route_answers_each_identity_as_expected_and_never_leaks(s: TestServer) {
    let f = fixture(&s).await;
    let (_, paths) = roster_web::routes(s.app.clone());
    let served: BTreeSet<String> = paths.into_iter().collect();
    let listed: BTreeSet<String> = EXPECTED.iter().map(|(_, p, _)| (*p).to_owned()).collect();
    let unlisted: Vec<&String> = served.difference(&listed).collect();
    assert!(unlisted.is_empty(), "routes without an expected outcome for each identity: {unlisted:?}");
    let gone: Vec<&String> = listed.difference(&served).collect();
    assert!(gone.is_empty(), "expected outcomes for routes the server no longer has: {gone:?}");

    // Logging out ends the session the later calls use: it goes last.
    let mut order: Vec<&(&str, &str, Want)> = EXPECTED.iter().collect();
    order.sort_by_key(|(_, p, _)| *p == "/admin/logout");
    let mut failures = Vec::new();
    let mut calls = 0;
    for who in [Who::Nobody, Who::Revoked, Who::Trainer, Who::TrainerOutside, Who::Superadmin] {
        for (method, route, want) in &order {
            let takes_user = route.contains("{user_id}")
                || (route.contains("{id}")
                    && ["/api/v1/users/", "/admin/users/", "/scim/v2/Users/"].iter().any(|p| route.starts_with(p)));
            if who == Who::TrainerOutside && (!takes_user || *want == Public) {
                continue;
            }
            let path = concrete(route, method, who, &f);
            let answer = call(&s, &f, who, method, &path).await;
            calls += 1;
            if let Some(why) = judge(route, who, *want, &answer) {
                failures.push(format!("{method} {route} ({path}): {why}"));
            }
            if matches!(who, Who::Trainer | Who::TrainerOutside) {
                if let Some(what) = leaks(&f, &answer.body) {
                    failures.push(format!("{method} {path}: the training admin received {what}"));
                }
            }
        }
    }
    // A method a route does not list is not served to anyone.
    for route in &served {
        let listed: Vec<&str> = EXPECTED.iter().filter(|(_, p, _)| p == route).map(|(m, _, _)| *m).collect();
        for method in METHODS.iter().filter(|m| !listed.contains(m)) {
            let path = concrete(route, method, Who::Superadmin, &f);
            let answer = call(&s, &f, Who::Superadmin, method, &path).await;
            calls += 1;
            if answer.status != 405 {
                failures.push(format!("{method} {route}: {} where no method is listed (405 expected)", answer.status));
            }
        }
    }
    eprintln!(
        "authorization matrix: {} routes x 5 identities, {calls} calls, {} unexpected",
        EXPECTED.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} unexpected answers:\n{}", failures.len(), failures.join("\n"));
}

crate::on_both_databases!(every_route_answers_each_identity_as_expected_and_never_leaks);
