//! Fields, branches, courses and enrollments.

use serde_json::json;

use crate::helpers::TestServer;
use crate::users::{create_user, seed};

async fn fields_of_every_type(s: TestServer) {
    seed(&s).await;
    let list = s.call("GET", "/api/v1/fields", None).await.body;
    let types: Vec<&str> = list.as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["dropdown", "date", "text", "number", "yes_no"]);
    let r = s.call("POST", "/api/v1/fields", Some(json!({"code": "DEPARTMENT", "name": "Dept", "type": "text"}))).await;
    assert_eq!((r.status, r.field()), (409, "code"));
    let r =
        s.call("POST", "/api/v1/fields", Some(json!({"code": "dept2", "name": "department", "type": "text"}))).await;
    assert_eq!((r.status, r.field()), (409, "name"));
    let r = s.call("POST", "/api/v1/fields", Some(json!({"code": "x", "name": "X", "type": "colour"}))).await;
    assert_eq!((r.status, r.field()), (422, "type"));
    let r = s.call("POST", "/api/v1/fields", Some(json!({"code": "x", "name": "X", "type": "dropdown"}))).await;
    assert_eq!((r.status, r.field()), (422, "options"));
    let r = s.call("POST", "/api/v1/fields", Some(json!({"code": "x y", "name": "X", "type": "text"}))).await;
    assert_eq!((r.status, r.field()), (422, "code"));

    let id = create_user(&s, "ann", None).await;
    s.call("PATCH", &format!("/api/v1/users/{id}"), Some(json!({"fields": {"department": "Sales"}}))).await;
    let r = s.call("PATCH", "/api/v1/fields/department", Some(json!({"options": ["Marketing", "Operations"]}))).await;
    assert_eq!(r.status, 409, "an option in use cannot be removed: {}", r.body);
    let r = s
        .call(
            "PATCH",
            "/api/v1/fields/department",
            Some(json!({"name": "Team", "options": ["Sales", "Marketing", "Legal"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Team");

    assert_eq!(s.call("DELETE", "/api/v1/fields/department", None).await.status, 204);
    let user = s.call("GET", &format!("/api/v1/users/{id}"), None).await.body;
    assert_eq!(user["fields"], json!({}), "a deleted field's values go with it");
    assert_eq!(s.call("GET", "/api/v1/fields/department", None).await.status, 404);
}

async fn fields_keep_the_order_a_superadmin_gives(s: TestServer) {
    seed(&s).await;
    async fn order(s: &TestServer) -> Vec<(String, u64)> {
        let list = s.call("GET", "/api/v1/fields", None).await.body;
        list.as_array()
            .unwrap()
            .iter()
            .map(|f| (f["code"].as_str().unwrap().to_owned(), f["position"].as_u64().unwrap()))
            .collect()
    }
    let codes = |o: &[(String, u64)]| o.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>();
    let before = order(&s).await;
    assert_eq!(codes(&before), ["department", "hire_date", "job_title", "years", "supervisor"]);
    assert_eq!(before.iter().map(|(_, p)| *p).collect::<Vec<_>>(), [1, 2, 3, 4, 5], "creation order, from 1");

    let r = s.call("PATCH", "/api/v1/fields/department", Some(json!({"position": 4}))).await;
    assert_eq!((r.status, r.body["position"].as_u64()), (200, Some(4)), "{}", r.body);
    assert_eq!(codes(&order(&s).await), ["hire_date", "job_title", "years", "department", "supervisor"]);
    let r = s.call("PATCH", "/api/v1/fields/SUPERVISOR", Some(json!({"position": 1}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let moved = codes(&order(&s).await);
    assert_eq!(moved, ["supervisor", "hire_date", "job_title", "years", "department"]);
    assert_eq!(s.call("GET", "/api/v1/fields/years", None).await.body["position"], 4);

    for bad in [json!(0), json!(6), json!(-1)] {
        let r = s.call("PATCH", "/api/v1/fields/years", Some(json!({"name": "Seniority", "position": bad}))).await;
        assert_eq!((r.status, r.field()), (422, "position"), "{bad}: {}", r.body);
        assert!(r.message().contains("from 1 (first) to 5"), "{}", r.message());
    }
    let r = s.call("PATCH", "/api/v1/fields/years", Some(json!({"position": "last"}))).await;
    assert_eq!((r.status, r.field()), (400, "position"), "{}", r.body);
    assert_eq!(codes(&order(&s).await), moved, "a refused move moves nothing");
    assert_eq!(s.call("GET", "/api/v1/fields/years", None).await.body["name"], "Years", "nor renames");

    let r = s.post_ok("/api/v1/fields", json!({"code": "shift", "name": "Shift", "type": "text"})).await;
    assert_eq!(r["position"], 6, "a new field goes last");

    // The member export lists the additional fields in their order.
    let g = s.post_ok("/api/v1/groups", json!({"name": "Everyone"})).await["id"].as_str().unwrap().to_owned();
    let resp =
        s.http.get(format!("{}/api/v1/groups/{g}/members.csv", s.base)).bearer_auth(&s.token).send().await.unwrap();
    let text = resp.text().await.unwrap();
    let header = text.trim_start_matches('\u{feff}').lines().next().unwrap().to_owned();
    assert!(header.contains(",branch,Supervisor,Hire Date,Job Title,Years,Department,Shift,"), "{header}");

    let trainer = s.training_admin("trainer", &["EMEA"]).await;
    let r = s.call_as(&trainer, "PATCH", "/api/v1/fields/shift", Some(json!({"position": 1}))).await;
    assert_eq!(r.status, 403, "only a superadmin orders fields");
    assert_eq!(s.call_as(&trainer, "GET", "/api/v1/fields", None).await.body[0]["code"], "supervisor");
}

async fn the_branch_tree_moves_and_protects_itself(s: TestServer) {
    seed(&s).await;
    let r = s.call("PATCH", "/api/v1/branches/EMEA", Some(json!({"parent": "PAR"}))).await;
    assert_eq!((r.status, r.field()), (422, "parent"), "no cycles");
    let r = s.call("PATCH", "/api/v1/branches/PAR", Some(json!({"parent": "US", "name": "Paris Office"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["path"], json!(["AMER", "US", "PAR"]));
    let r = s.call("POST", "/api/v1/branches", Some(json!({"code": "par", "name": "Dup"}))).await;
    assert_eq!((r.status, r.field()), (409, "code"));
    let r = s.call("POST", "/api/v1/branches", Some(json!({"code": "X", "name": "X", "parent": "NOPE"}))).await;
    assert_eq!((r.status, r.field()), (422, "parent"));

    create_user(&s, "ann", Some("PAR")).await;
    assert_eq!(s.call("DELETE", "/api/v1/branches/PAR", None).await.status, 409, "it has users");
    assert_eq!(s.call("DELETE", "/api/v1/branches/AMER", None).await.status, 409, "it has children");
    assert_eq!(s.call("DELETE", "/api/v1/branches/FR", None).await.status, 204);
    let all = s.call("GET", "/api/v1/branches", None).await.body;
    let codes: Vec<&str> = all.as_array().unwrap().iter().map(|b| b["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["AMER", "US", "PAR", "EMEA"]);
}

async fn courses_and_enrollments(s: TestServer) {
    let c = s.post_ok("/api/v1/courses", json!({"code": "DRV-101", "name": "Driver Safety Fundamentals"})).await;
    assert_eq!(c["code"], "DRV-101");
    let r = s.call("POST", "/api/v1/courses", Some(json!({"code": "drv-101", "name": "Again"}))).await;
    assert_eq!((r.status, r.field()), (409, "code"));
    let ann = create_user(&s, "ann", None).await;
    let path = format!("/api/v1/courses/DRV-101/enrollments/{ann}");
    let r = s.call("PUT", &path, Some(json!({"status": "in_progress"}))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["completed_at"], serde_json::Value::Null);
    s.clock.advance(86_400_000);
    let r = s.call("PUT", &path, Some(json!({"status": "completed"}))).await;
    assert_eq!(r.body["status"], "completed");
    assert_eq!(r.body["completed_at"], "2026-03-03T12:00:00.000Z");
    assert_eq!(r.body["enrolled_at"], "2026-03-02T12:00:00.000Z");
    let r = s.call("PUT", &path, Some(json!({"status": "done"}))).await;
    assert_eq!((r.status, r.field()), (422, "status"));
    let r =
        s.call("PUT", &format!("/api/v1/courses/NOPE/enrollments/{ann}"), Some(json!({"status": "enrolled"}))).await;
    assert_eq!(r.status, 404);
    let mine = s.call("GET", &format!("/api/v1/users/{ann}/enrollments"), None).await.body;
    assert_eq!(mine[0]["course"], "DRV-101");
    let list = s.call("GET", "/api/v1/courses/DRV-101/enrollments", None).await.body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(s.call("DELETE", &path, None).await.status, 204);
    assert_eq!(s.call("DELETE", &path, None).await.status, 404);
    let r = s.call("PATCH", "/api/v1/courses/DRV-101", Some(json!({"name": "Driver Safety 2"}))).await;
    assert_eq!(r.body["name"], "Driver Safety 2");
    assert_eq!(s.call("DELETE", "/api/v1/courses/DRV-101", None).await.status, 204);
    assert_eq!(s.call("GET", "/api/v1/courses/DRV-101", None).await.status, 404);
}

/// The course page enrolls several users at once: all of them, or none when one cannot be.
async fn several_users_are_enrolled_together_or_not_at_all(s: TestServer) {
    s.post_ok("/api/v1/courses", json!({"code": "FORK-1", "name": "Forklift Basics"})).await;
    let (ann, bob) = (create_user(&s, "ann", None).await, create_user(&s, "bob", None).await);
    let actor = roster_app::Actor::system("t");
    let input = |status: &str| roster_app::enrollments::EnrollmentInput { status: status.into() };
    let users = [ann.clone(), "999999".to_owned(), bob.clone()];
    let refused = s.app.set_enrollments(&actor, "FORK-1", &users, input("enrolled")).await;
    assert!(matches!(refused, Err(roster_app::AppError::NotFound(_))), "{refused:?}");
    let list = s.call("GET", "/api/v1/courses/FORK-1/enrollments", None).await.body;
    assert_eq!(list["items"], json!([]), "nobody was enrolled: ann came before the unknown user");
    let done = s.app.set_enrollments(&actor, "FORK-1", &[ann, bob], input("in_progress")).await.unwrap();
    assert_eq!(done.len(), 2);
    let list = s.call("GET", "/api/v1/courses/FORK-1/enrollments", None).await.body;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // A training admin's list with a user outside its branches is refused exactly as one
    // with an id nobody has: the same 404, and nobody enrolled.
    for (code, name) in [("FR", "France"), ("US", "United States")] {
        s.post_ok("/api/v1/branches", json!({"code": code, "name": name})).await;
    }
    let (cleo, dan) = (create_user(&s, "cleo", Some("FR")).await, create_user(&s, "dan", Some("US")).await);
    let trainer = s.app.authenticate_token(&s.training_admin("fr-admin", &["FR"]).await).await.unwrap();
    let outside = s.app.set_enrollments(&trainer, "FORK-1", &[cleo.clone(), dan], input("enrolled")).await;
    let unknown = s.app.set_enrollments(&trainer, "FORK-1", &[cleo.clone(), "999999".into()], input("enrolled")).await;
    assert_eq!(format!("{outside:?}"), format!("{unknown:?}"), "an outside user is answered as an unknown one");
    assert!(matches!(outside, Err(roster_app::AppError::NotFound(_))), "{outside:?}");
    let list = s.call("GET", "/api/v1/courses/FORK-1/enrollments", None).await.body;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "cleo was not enrolled either");
    assert_eq!(s.app.set_enrollments(&trainer, "FORK-1", &[cleo], input("enrolled")).await.unwrap().len(), 1);
}

crate::on_both_databases!(
    fields_of_every_type,
    fields_keep_the_order_a_superadmin_gives,
    the_branch_tree_moves_and_protects_itself,
    courses_and_enrollments,
    several_users_are_enrolled_together_or_not_at_all
);
