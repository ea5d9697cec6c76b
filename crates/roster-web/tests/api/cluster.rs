//! Several servers on one PostgreSQL database: each keeps its own engine image, catches
//! up with the others' writes through the change log, and writes under the cluster-wide
//! advisory lock. After concurrent writes through both, the stored memberships equal a
//! from-scratch evaluation, and both servers answer alike.

use futures_util::future::join_all;
use roster_app::{App, ManualClock, Settings};
use roster_store::Store;
use serde_json::json;
use std::sync::Arc;

use crate::helpers::{spawn_server, TestServer, NOW_MS};
use roster_test_support::FreshPostgres;

async fn members(s: &TestServer, group: &str) -> Vec<String> {
    let page = s.call("GET", &format!("/api/v1/groups/{group}/members?limit=1000"), None).await;
    let mut v: Vec<String> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_keep_every_membership_right() {
    let Some(pg) = FreshPostgres::create("roster_cluster").await else { return };
    let url = pg.url.clone();

    let a = spawn_server(&url, None, None).await;
    let b = spawn_server(&url, None, Some(a.token.clone())).await;
    crate::users::seed(&a).await;
    for code in ["DRV-101", "SAFE-2"] {
        a.post_ok("/api/v1/courses", json!({"code": code, "name": code})).await;
    }
    let drivers = b.post_ok("/api/v1/groups", json!({"name": "Drivers", "policy": "automatic"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = a
        .call(
            "PUT",
            &format!("/api/v1/groups/{drivers}/rule"),
            Some(json!({"text": r#"course("DRV-101") = completed"#})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let staff = a.post_ok("/api/v1/groups", json!({"name": "Staff", "policy": "automatic"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = b
        .call(
            "PUT",
            &format!("/api/v1/groups/{staff}/rule"),
            Some(json!({"text": r#"member_of("Drivers") and field("department") = "Sales""#})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Writers on both servers at once: users, enrollments, rule edits, manual members.
    let servers = [&a, &b];
    let writes = (0..24).map(|i| {
        let s = servers[i % 2];
        async move {
            let dept = if i % 3 == 0 { "Sales" } else { "Marketing" };
            let branch = if i % 2 == 0 { "PAR" } else { "US" };
            let u = s
                .post_ok("/api/v1/users", json!({"username": format!("u{i:02}"), "email": format!("u{i}@acme.com"), "branch": branch, "fields": {"department": dept}}))
                .await;
            let id = u["id"].as_str().unwrap().to_owned();
            let status = if i % 4 == 0 { "in_progress" } else { "completed" };
            let r = s.call("PUT", &format!("/api/v1/courses/DRV-101/enrollments/{id}"), Some(json!({"status": status}))).await;
            assert_eq!(r.status, 200, "{}", r.body);
            if i % 5 == 0 {
                let r = s.call("PATCH", &format!("/api/v1/users/{id}"), Some(json!({"status": "suspended"}))).await;
                assert_eq!(r.status, 200);
            }
        }
    });
    let edits = async {
        for text in [r#"course("DRV-101") = completed and branch under "EMEA""#, r#"course("DRV-101") = completed"#] {
            let r = b.call("PUT", &format!("/api/v1/groups/{drivers}/rule"), Some(json!({"text": text}))).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    let (_, ()) = tokio::join!(join_all(writes), edits);

    // Both servers answer alike, and a fresh evaluation finds no drift.
    assert_eq!(members(&a, &drivers).await, members(&b, &drivers).await);
    assert_eq!(members(&a, &staff).await, members(&b, &staff).await);
    let expected_drivers: Vec<String> =
        (0..24).filter(|i| i % 4 != 0 && i % 5 != 0).map(|i| format!("u{i:02}")).collect();
    assert_eq!(members(&a, &drivers).await, expected_drivers);
    let fresh = App::new(Store::connect(&url).await.unwrap(), Arc::new(ManualClock::new(NOW_MS)), Settings::default());
    let drift = fresh.reconcile(false).await.unwrap();
    assert!(drift.drifted.is_empty(), "{drift:?}");
    assert_eq!(drift.groups, 2);

    for s in [&a, &b] {
        s.app.store().close().await;
    }
    fresh.store().close().await;
    pg.drop_database().await;
}
