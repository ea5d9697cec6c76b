//! Tokens, training-admin scope, and what every response carries.

use serde_json::json;

use crate::helpers::TestServer;
use crate::users::{create_user, seed};

async fn calls_without_a_valid_token_are_refused(s: TestServer) {
    let anonymous = s.http.get(format!("{}/api/v1/users", s.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(s.call_as("rst_forged", "GET", "/api/v1/users", None).await.status, 401);
    let created = s.post_ok("/api/v1/tokens", json!({"name": "temp", "role": "superadmin"})).await;
    let temp = created["token"].as_str().unwrap().to_owned();
    assert_eq!(s.call_as(&temp, "GET", "/api/v1/users", None).await.status, 200);
    let revoked = s.call("DELETE", &format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()), None).await;
    assert_eq!(revoked.status, 204);
    assert_eq!(s.call_as(&temp, "GET", "/api/v1/users", None).await.status, 401, "a revoked token stops working");
}

async fn a_training_admin_sees_only_its_branches(s: TestServer) {
    seed(&s).await;
    let inside = create_user(&s, "in.paris", Some("PAR")).await;
    let in_fr = create_user(&s, "in.france", Some("FR")).await;
    let outside = create_user(&s, "in.us", Some("US")).await;
    let nowhere = create_user(&s, "no.branch", None).await;
    let ta = s.training_admin("fr-admin", &["FR"]).await;

    let list = s.call_as(&ta, "GET", "/api/v1/users", None).await.body;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["in.paris", "in.france"]);

    assert_eq!(s.call_as(&ta, "GET", &format!("/api/v1/users/{inside}"), None).await.status, 200);
    assert_eq!(s.call_as(&ta, "GET", &format!("/api/v1/users/{in_fr}"), None).await.status, 200);
    for id in [&outside, &nowhere] {
        assert_eq!(s.call_as(&ta, "GET", &format!("/api/v1/users/{id}"), None).await.status, 404);
        assert_eq!(
            s.call_as(&ta, "PATCH", &format!("/api/v1/users/{id}"), Some(json!({"first_name": "X"}))).await.status,
            404
        );
        assert_eq!(s.call_as(&ta, "DELETE", &format!("/api/v1/users/{id}"), None).await.status, 404);
        assert_eq!(s.call_as(&ta, "GET", &format!("/api/v1/users/{id}/enrollments"), None).await.status, 404);
    }
    let us_list = s.call_as(&ta, "GET", "/api/v1/users?branch=US", None).await.body;
    assert_eq!(us_list["items"].as_array().unwrap().len(), 0);

    // Moving a user out of scope, or creating one outside it, is forbidden.
    let r = s.call_as(&ta, "PATCH", &format!("/api/v1/users/{inside}"), Some(json!({"branch": "US"}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = s
        .call_as(&ta, "POST", "/api/v1/users", Some(json!({"username": "x", "email": "x@acme.com", "branch": "US"})))
        .await;
    assert_eq!(r.status, 403);
    let r = s.call_as(&ta, "POST", "/api/v1/users", Some(json!({"username": "x", "email": "x@acme.com"}))).await;
    assert_eq!(r.status, 403);
    let r = s
        .call_as(&ta, "POST", "/api/v1/users", Some(json!({"username": "x", "email": "x@acme.com", "branch": "PAR"})))
        .await;
    assert_eq!(r.status, 201);

    // Fields and the org chart are a superadmin's.
    let r = s.call_as(&ta, "POST", "/api/v1/fields", Some(json!({"code": "x", "name": "X", "type": "text"}))).await;
    assert_eq!(r.status, 403);
    assert_eq!(s.call_as(&ta, "DELETE", "/api/v1/fields/department", None).await.status, 403);
    assert_eq!(s.call_as(&ta, "POST", "/api/v1/branches", Some(json!({"code": "X", "name": "X"}))).await.status, 403);
    assert_eq!(s.call_as(&ta, "GET", "/api/v1/fields", None).await.status, 200);

    // Enrollments follow the same scope.
    s.post_ok("/api/v1/courses", json!({"code": "DRV-101", "name": "Driver Safety Fundamentals"})).await;
    let put = |id: &str| format!("/api/v1/courses/DRV-101/enrollments/{id}");
    assert_eq!(s.call_as(&ta, "PUT", &put(&inside), Some(json!({"status": "enrolled"}))).await.status, 200);
    assert_eq!(s.call_as(&ta, "PUT", &put(&outside), Some(json!({"status": "enrolled"}))).await.status, 404);
    s.call("PUT", &put(&outside), Some(json!({"status": "completed"}))).await;
    let seen = s.call_as(&ta, "GET", "/api/v1/courses/DRV-101/enrollments", None).await.body;
    assert_eq!(seen["items"].as_array().unwrap().len(), 1, "only in-scope enrollments: {seen}");
}

async fn responses_carry_a_request_id_and_health_and_metrics_answer(s: TestServer) {
    let r = s.call("GET", "/api/v1/users", None).await;
    assert!(r.headers.get("x-request-id").is_some());
    let health = s.http.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let metrics = s.http.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("roster_http_requests_total{method=\"GET\",route=\"/api/v1/users\",status=\"200\"} 1"),
        "{metrics}"
    );
    let doc = s.call("GET", "/api/v1/openapi.json", None).await.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/users/{id}"]["patch"].is_object());
    let unknown = s.call("GET", "/api/v1/nothing-here", None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["error"]["code"], "not_found");
}

async fn a_starting_server_answers_503_until_ready(s: TestServer) {
    s.app.set_starting(true);
    let health = s.http.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status(), 503);
    assert_eq!(health.headers()["retry-after"], "5");
    assert_eq!(health.json::<serde_json::Value>().await.unwrap()["status"], "starting");
    let r = s.call("POST", "/api/v1/users", Some(json!({"username": "early", "email": "e@acme.com"}))).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (503, Some("starting")), "{}", r.body);
    let page = s.http.get(format!("{}/admin/groups", s.base)).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("Roster is starting"));
    let metrics = s.http.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(metrics.status(), 200, "metrics answer while starting");
    s.app.set_starting(false);
    assert_eq!(s.http.get(format!("{}/healthz", s.base)).send().await.unwrap().status(), 200);
    let r = s.call("GET", "/api/v1/users?username=early", None).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0, "the refused request wrote nothing: {}", r.body);
}

crate::on_both_databases!(
    a_starting_server_answers_503_until_ready,
    calls_without_a_valid_token_are_refused,
    a_training_admin_sees_only_its_branches,
    responses_carry_a_request_id_and_health_and_metrics_answer,
);
