//! Groups: manual membership in every way, CSV association with real files, export,
//! history, and training-admin scope.

use serde_json::{json, Value};

use crate::helpers::TestServer;
use crate::users::{create_user, seed};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");

fn file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}{name}")).unwrap()
}

/// ann.lee and zoe.muller in PAR, bob.martin in US, jose.garcia in FR; a group "Drivers".
async fn people(s: &TestServer) -> (String, Vec<String>) {
    seed(s).await;
    let mut ids = Vec::new();
    for (u, b) in [("ann.lee", "PAR"), ("bob.martin", "US"), ("zoe.muller", "PAR"), ("jose.garcia", "FR")] {
        ids.push(create_user(s, u, Some(b)).await);
    }
    let g = s.post_ok("/api/v1/groups", json!({"name": "Drivers", "description": "Everyone who drives"})).await;
    (g["id"].as_str().unwrap().to_owned(), ids)
}

async fn member_names(s: &TestServer, group: &str) -> Vec<String> {
    let page = s.call("GET", &format!("/api/v1/groups/{group}/members?limit=1000"), None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut names: Vec<String> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn upload(s: &TestServer, group: &str, query: &str, bytes: Vec<u8>) -> crate::helpers::Reply {
    s.send_raw("POST", &format!("/api/v1/groups/{group}/members/csv{query}"), "text/csv", bytes).await
}

async fn groups_are_named_uniquely_and_listed_with_counts(s: TestServer) {
    let (g, ids) = people(&s).await;
    let r = s.call("POST", "/api/v1/groups", Some(json!({"name": "drivers"}))).await;
    assert_eq!((r.status, r.field()), (409, "name"));
    let r = s.call("POST", "/api/v1/groups", Some(json!({"name": "X", "policy": "sometimes"}))).await;
    assert_eq!((r.status, r.field()), (422, "policy"));
    let r = s.call("POST", "/api/v1/groups", Some(json!({"name": "  "}))).await;
    assert_eq!((r.status, r.field()), (422, "name"));
    s.post_ok("/api/v1/groups", json!({"name": "Auto", "policy": "automatic"})).await;
    s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": [ids[0], ids[1]]})).await;

    let list = s.call("GET", "/api/v1/groups", None).await.body;
    assert_eq!(list["items"][0]["name"], "Drivers");
    assert_eq!(list["items"][0]["member_count"], 2);
    assert_eq!(list["items"][1]["policy"], "automatic");
    let autos = s.call("GET", "/api/v1/groups?policy=automatic", None).await.body;
    assert_eq!(autos["items"].as_array().unwrap().len(), 1);
    let named = s.call("GET", "/api/v1/groups?q=DRIV", None).await.body;
    assert_eq!(named["items"].as_array().unwrap().len(), 1);

    let r = s.call("PATCH", &format!("/api/v1/groups/{g}"), Some(json!({"name": "Auto"}))).await;
    assert_eq!(r.status, 409);
    let r =
        s.call("PATCH", &format!("/api/v1/groups/{g}"), Some(json!({"name": "Drivers EU", "description": null}))).await;
    assert_eq!(r.body["name"], "Drivers EU");
    assert_eq!(r.body["description"], Value::Null);
    assert_eq!(s.call("DELETE", &format!("/api/v1/groups/{g}"), None).await.status, 204);
    assert_eq!(s.call("GET", &format!("/api/v1/groups/{g}"), None).await.status, 404);
    assert_eq!(s.call("GET", "/api/v1/groups/999999/members", None).await.status, 404);
}

async fn users_are_added_individually_by_copy_and_from_a_branch(s: TestServer) {
    let (g, ids) = people(&s).await;
    let r = s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": [ids[0], ids[0]]})).await;
    assert_eq!((r["added"].as_u64(), r["already_members"].as_u64()), (Some(1), Some(0)));
    let r = s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": [ids[0]]})).await;
    assert_eq!((r["added"].as_u64(), r["already_members"].as_u64()), (Some(0), Some(1)));
    let r = s.call("POST", &format!("/api/v1/groups/{g}/members"), Some(json!({"users": [ids[1], "424242"]}))).await;
    assert_eq!((r.status, r.field()), (422, "users[1]"));
    assert_eq!(member_names(&s, &g).await, vec!["ann.lee"], "a refused request adds nobody");
    let r = s
        .call("POST", &format!("/api/v1/groups/{g}/members"), Some(json!({"users": [ids[1]], "from_branch": "PAR"})))
        .await;
    assert_eq!(r.status, 400, "one way at a time");

    // Copy from a branch, with and without its sub-branches.
    let copy = s.post_ok("/api/v1/groups", json!({"name": "From FR"})).await["id"].as_str().unwrap().to_owned();
    let r = s
        .post_ok(&format!("/api/v1/groups/{copy}/members"), json!({"from_branch": "FR", "include_descendants": false}))
        .await;
    assert_eq!(r["added"], 1);
    assert_eq!(member_names(&s, &copy).await, vec!["jose.garcia"]);
    s.post_ok(&format!("/api/v1/groups/{copy}/members"), json!({"from_branch": "EMEA"})).await;
    assert_eq!(member_names(&s, &copy).await, vec!["ann.lee", "jose.garcia", "zoe.muller"]);
    let r = s.call("POST", &format!("/api/v1/groups/{copy}/members"), Some(json!({"from_branch": "NOPE"}))).await;
    assert_eq!((r.status, r.field()), (422, "from_branch"));

    // Copy from groups: a snapshot; later changes to the source do not follow.
    let snap = s.post_ok("/api/v1/groups", json!({"name": "Snapshot"})).await["id"].as_str().unwrap().to_owned();
    s.post_ok(&format!("/api/v1/groups/{snap}/members"), json!({"from_groups": [g, copy]})).await;
    assert_eq!(member_names(&s, &snap).await, vec!["ann.lee", "jose.garcia", "zoe.muller"]);
    s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": [ids[1]]})).await;
    assert_eq!(member_names(&s, &snap).await.len(), 3);
    let r = s.call("POST", &format!("/api/v1/groups/{snap}/members"), Some(json!({"from_groups": [snap]}))).await;
    assert_eq!(r.status, 422);

    // Sources and history.
    let members = s.call("GET", &format!("/api/v1/groups/{snap}/members"), None).await.body;
    assert_eq!(members["items"][0]["source"], "copy");
    assert_eq!(members["items"][0]["added_by"], "token:test-admin");
    let from_fr = s.call("GET", &format!("/api/v1/groups/{copy}/members"), None).await.body;
    let mut copied: Vec<(String, String)> = from_fr["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user"]["username"].as_str().unwrap().to_owned(), m["copied_from"].as_str().unwrap().to_owned()))
        .collect();
    copied.sort();
    assert_eq!(
        copied,
        vec![
            ("ann.lee".to_owned(), "branch EMEA and its sub-branches".to_owned()),
            ("jose.garcia".to_owned(), "branch FR".to_owned()),
            ("zoe.muller".to_owned(), "branch EMEA and its sub-branches".to_owned()),
        ],
        "each copied member says from where"
    );
    let manual = s.call("GET", &format!("/api/v1/groups/{g}/members"), None).await.body;
    assert!(manual["items"][0].get("copied_from").is_none(), "nothing for a member added by hand");
    let events = s.call("GET", &format!("/api/v1/groups/{copy}/events"), None).await.body;
    let causes: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["cause"].as_str().unwrap()).collect();
    assert_eq!(
        causes,
        vec![
            "copied from branch \"EMEA\" and its sub-branches",
            "copied from branch \"EMEA\" and its sub-branches",
            "copied from branch \"FR\""
        ]
    );

    // Removal, and the user's view.
    let r = s.call("DELETE", &format!("/api/v1/groups/{g}/members/{}", ids[0]), None).await;
    assert_eq!((r.status, r.body["member_count"].as_i64()), (200, Some(1)));
    assert_eq!(s.call("DELETE", &format!("/api/v1/groups/{g}/members/{}", ids[0]), None).await.status, 404);
    let mine = s.call("GET", &format!("/api/v1/users/{}/groups", ids[0]), None).await.body;
    let names: Vec<&str> = mine.as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["From FR", "Snapshot"]);
    let history = s.call("GET", &format!("/api/v1/users/{}/events", ids[0]), None).await.body;
    let first = &history["items"][0];
    assert_eq!((first["change"].as_str(), first["cause"].as_str()), (Some("left"), Some("removed individually")));

    // Deleting a user ends its memberships, with history.
    s.call("DELETE", &format!("/api/v1/users/{}", ids[2]), None).await;
    assert_eq!(member_names(&s, &snap).await, vec!["ann.lee", "jose.garcia"]);
    let history = s.call("GET", &format!("/api/v1/groups/{snap}/events?limit=1"), None).await.body;
    assert_eq!(history["items"][0]["cause"], "user deleted");
    assert!(history["next_cursor"].is_string());
}

async fn csv_files_as_spreadsheets_write_them(s: TestServer) {
    let (g, _) = people(&s).await;
    let r = upload(&s, &g, "", file("assoc_utf8_bom.csv")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["counts"]["added"], 3);
    assert_eq!(r.body["matched_by"], "username");
    assert_eq!(member_names(&s, &g).await, vec!["ann.lee", "bob.martin", "zoe.muller"]);

    let r = upload(&s, &g, "", file("assoc_utf16le.txt")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["counts"]["added"].as_u64(), r.body["counts"]["already_members"].as_u64()), (Some(1), Some(3)));
    assert_eq!(r.body["user_column"], "Login");

    let g2 = s.post_ok("/api/v1/groups", json!({"name": "By email"})).await["id"].as_str().unwrap().to_owned();
    let r = upload(&s, &g2, "", file("assoc_cp1252_semicolon.csv")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["matched_by"], "email");
    assert_eq!(member_names(&s, &g2).await, vec!["ann.lee", "zoe.muller"]);

    // Excel's first line naming the delimiter.
    let g3 = s.post_ok("/api/v1/groups", json!({"name": "Declared"})).await["id"].as_str().unwrap().to_owned();
    let r = upload(&s, &g3, "", b"sep=;\r\nusername;note\r\nbob.martin;a, b, c\r\n".to_vec()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(member_names(&s, &g3).await, vec!["bob.martin"]);

    let r = upload(&s, &g2, "", file("assoc_quoted_actions.csv")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = &r.body["counts"];
    assert_eq!(
        (c["rows"].as_u64(), c["already_members"].as_u64(), c["not_members"].as_u64()),
        (Some(3), Some(2), Some(1))
    );
    let blank: Vec<u64> = r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["outcome"] == "empty")
        .map(|x| x["row"].as_u64().unwrap())
        .collect();
    assert_eq!(blank, vec![3], "the blank row between records is reported by its number");

    let g3 = s.post_ok("/api/v1/groups", json!({"name": "From import file"})).await["id"].as_str().unwrap().to_owned();
    let r = upload(&s, &g3, "", file("assoc_user_import_file.csv")).await;
    assert_eq!((r.status, r.body["user_column"].as_str()), (200, Some("User Name")));
    assert_eq!(member_names(&s, &g3).await, vec!["ann.lee", "bob.martin"]);
}

async fn csv_errors_apply_nothing_unless_skipped(s: TestServer) {
    let (g, _) = people(&s).await;
    let r = upload(&s, &g, "", file("assoc_errors.csv")).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["applied"], false);
    assert_eq!(r.body["counts"]["errors"], 4);
    let outcomes: Vec<(u64, &str)> = r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["row"].as_u64().unwrap(), x["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, vec![(3, "not_found"), (4, "duplicate"), (5, "invalid"), (6, "invalid")]);
    assert!(r.body["rows"][1]["message"].as_str().unwrap().contains("row 2"));
    assert!(member_names(&s, &g).await.is_empty(), "all or nothing");

    let r = upload(&s, &g, "?dry_run=true&on_error=skip", file("assoc_errors.csv")).await;
    assert_eq!((r.status, r.body["applied"].as_bool()), (200, Some(false)));
    assert_eq!(r.body["counts"]["added"], 2);
    assert!(member_names(&s, &g).await.is_empty(), "a dry run applies nothing");

    let r = upload(&s, &g, "?on_error=skip", file("assoc_errors.csv")).await;
    assert_eq!((r.status, r.body["applied"].as_bool()), (200, Some(true)));
    assert_eq!(member_names(&s, &g).await, vec!["ann.lee", "zoe.muller"]);
    let upload_id = r.body["upload"].as_str().unwrap();
    let events = s.call("GET", &format!("/api/v1/groups/{g}/events"), None).await.body;
    assert_eq!(events["items"][0]["cause"], format!("CSV upload {upload_id}"));
    let report = s
        .http
        .get(format!("{}/api/v1/groups/{g}/uploads/{upload_id}/report.csv", s.base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = report.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "row,user,action,outcome,message");
    assert_eq!(lines.len(), 7, "every row is in the downloadable report: {report}");
    assert!(lines[2].starts_with("3,nobody.here,add,not_found"));

    for (name, field_hint) in [
        ("assoc_no_user_column.csv", "username column"),
        ("assoc_empty.csv", "empty"),
        ("assoc_header_only.csv", "no rows"),
    ] {
        let r = upload(&s, &g, "", file(name)).await;
        assert_eq!((r.status, r.field()), (422, "file"), "{name}: {}", r.body);
        assert!(r.message().contains(field_hint), "{name}: {}", r.message());
    }
    let binary: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let r = upload(&s, &g, "", binary).await;
    assert_eq!((r.status, r.field()), (422, "file"), "{}", r.body);
    assert!(r.message().contains("not a CSV text file"), "{}", r.message());
    let r = upload(&s, "999999", "", file("assoc_utf8_bom.csv")).await;
    assert_eq!(r.status, 404);
    assert_eq!(member_names(&s, &g).await, vec!["ann.lee", "zoe.muller"]);
}

/// A file of exactly `size` bytes: a header and usernames, padded by a comment column.
fn file_of_size(size: usize) -> Vec<u8> {
    let mut out = b"username,note\nann.lee,".to_vec();
    out.resize(size - 1, b'x');
    out.push(b'\n');
    out
}

async fn the_size_limit_is_exact_and_stated(s: TestServer) {
    let (g, _) = people(&s).await;
    let limit = 3 * 1024 * 1024;
    let r = upload(&s, &g, "?dry_run=true", file_of_size(limit)).await;
    assert_eq!(r.status, 422, "3 MB is accepted (and its 3 MB cell refused as a cell): {}", r.body);
    let mut ok = b"username\n".to_vec();
    while ok.len() + 9 < limit {
        ok.extend_from_slice(b"ann.lee\n");
    }
    ok.resize(limit, b'\n');
    assert_eq!(ok.len(), limit);
    let r = upload(&s, &g, "?on_error=skip", ok).await;
    assert_eq!(r.status, 200, "exactly 3 MB applies: {}", r.body["counts"]);
    let r = upload(&s, &g, "", file_of_size(limit + 1)).await;
    assert_eq!(r.status, 413);
    assert!(r.message().contains("3 MB"), "{}", r.message());
    let sample = s.http.get(format!("{}/api/v1/groups/sample.csv", s.base)).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(sample.headers()["content-type"], "text/csv; charset=utf-8");
    let text = sample.text().await.unwrap();
    assert!(text.trim_start_matches('\u{feff}').starts_with("username,action"));
}

async fn concurrent_uploads_both_apply(s: TestServer) {
    let (g, _) = people(&s).await;
    let a = upload(&s, &g, "", b"username\nann.lee\nbob.martin\n".to_vec());
    let b = upload(&s, &g, "", b"username\nzoe.muller\nbob.martin\n".to_vec());
    let (a, b) = tokio::join!(a, b);
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(a.body["counts"]["added"].as_u64().unwrap() + b.body["counts"]["added"].as_u64().unwrap(), 3);
    assert_eq!(member_names(&s, &g).await, vec!["ann.lee", "bob.martin", "zoe.muller"]);
    let group = s.call("GET", &format!("/api/v1/groups/{g}"), None).await.body;
    assert_eq!(group["member_count"], 3, "nothing lost or counted twice");
}

async fn export_round_trips_into_a_new_group(s: TestServer) {
    let (g, ids) = people(&s).await;
    s.call(
        "PATCH",
        &format!("/api/v1/users/{}", ids[0]),
        Some(json!({"first_name": "=cmd|' /C calc'!A0", "fields": {"department": "Sales", "hire_date": "2024-01-31"}})),
    )
    .await;
    s.call("PATCH", &format!("/api/v1/users/{}", ids[2]), Some(json!({"last_name": "Müller", "status": "suspended"})))
        .await;
    // Written '-dash by the export, read back as -dash by the group upload.
    let dash = create_user(&s, "-dash", Some("PAR")).await;
    s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": [ids[0], ids[2], ids[3], dash]})).await;
    let resp =
        s.http.get(format!("{}/api/v1/groups/{g}/members.csv", s.base)).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("group-"));
    let bytes = resp.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 BOM");
    let text = String::from_utf8(bytes.clone()).unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "username,email,first_name,last_name,status,language,timezone,branch,Department,Hire Date,Job Title,Years,Supervisor,membership_source,member_since");
    assert!(
        lines[1].starts_with("ann.lee,ann.lee@acme.com,'=cmd|' /C calc'!A0,,active,,,PAR,Sales,2024-01-31,,,,manual,"),
        "{}",
        lines[1]
    );
    assert!(lines.iter().any(|l| l.contains("Müller,suspended")), "accents and suspended users kept");

    let copy = s.post_ok("/api/v1/groups", json!({"name": "Re-imported"})).await["id"].as_str().unwrap().to_owned();
    let r = upload(&s, &copy, "", bytes).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(member_names(&s, &copy).await, member_names(&s, &g).await);
}

async fn training_admins_reach_only_their_users(s: TestServer) {
    let (g, ids) = people(&s).await;
    s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": [ids[0], ids[1]]})).await;
    let ta = s.training_admin("fr-admin", &["FR"]).await;
    // A platform-wide group is read-only to it, and shows only its users.
    let r = s.call_as(&ta, "POST", &format!("/api/v1/groups/{g}/members"), Some(json!({"users": [ids[2]]}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.message().contains("platform-wide"), "{}", r.body);
    for (method, path, body) in [
        ("PATCH", format!("/api/v1/groups/{g}"), Some(json!({"name": "Mine now"}))),
        ("DELETE", format!("/api/v1/groups/{g}"), None),
        ("DELETE", format!("/api/v1/groups/{g}/members/{}", ids[0]), None),
    ] {
        assert_eq!(s.call_as(&ta, method, &path, body).await.status, 403, "{method} {path}");
    }
    assert_eq!(s.call_as(&ta, "DELETE", &format!("/api/v1/groups/{g}/members/{}", ids[1]), None).await.status, 404);
    let seen = s.call_as(&ta, "GET", &format!("/api/v1/groups/{g}/members"), None).await.body;
    assert_eq!(seen["items"].as_array().unwrap().len(), 1, "ann; not bob: {seen}");
    let export = s
        .http
        .get(format!("{}/api/v1/groups/{g}/members.csv", s.base))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!export.contains("bob.martin"));
    assert_eq!(export.lines().count(), 2);

    // Its own groups are scoped to its branches, or a part of them; never wider.
    let mine = s.call_as(&ta, "POST", "/api/v1/groups", Some(json!({"name": "FR drivers"}))).await;
    assert_eq!((mine.status, mine.body["scope"].clone()), (201, json!(["FR"])), "{}", mine.body);
    let mine = mine.body["id"].as_str().unwrap().to_owned();
    let r = s.call_as(&ta, "POST", "/api/v1/groups", Some(json!({"name": "US drivers", "scope": ["US"]}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = s.call_as(&ta, "POST", "/api/v1/groups", Some(json!({"name": "Nowhere", "scope": ["XX"]}))).await;
    assert_eq!((r.status, r.field()), (422, "scope"), "{}", r.body);
    let r = s.call_as(&ta, "POST", "/api/v1/groups", Some(json!({"name": "Paris", "scope": ["par"]}))).await;
    assert_eq!((r.status, r.body["scope"].clone()), (201, json!(["PAR"])), "{}", r.body);
    let r = s.call_as(&ta, "PATCH", &format!("/api/v1/groups/{mine}"), Some(json!({"scope": null}))).await;
    assert_eq!(r.status, 403, "only a superadmin makes a group platform-wide");
    let r = s.call_as(&ta, "POST", "/api/v1/groups", Some(json!({"name": "Everything", "scope": []}))).await;
    assert_eq!((r.status, r.field()), (422, "scope"));

    let r = s.call_as(&ta, "POST", &format!("/api/v1/groups/{mine}/members"), Some(json!({"users": [ids[1]]}))).await;
    assert_eq!((r.status, r.field()), (422, "users[0]"), "bob is in US: not reachable");
    let r =
        s.call_as(&ta, "POST", &format!("/api/v1/groups/{mine}/members"), Some(json!({"from_branch": "EMEA"}))).await;
    assert_eq!(r.status, 403, "EMEA is above the admin's branch");
    let r = s.call_as(&ta, "POST", &format!("/api/v1/groups/{mine}/members"), Some(json!({"from_branch": "FR"}))).await;
    assert_eq!(r.body["added"], 3, "ann, zoe, jose: {}", r.body);
    // Nor can a superadmin put an outside user in a group scoped to France.
    let r = s.call("POST", &format!("/api/v1/groups/{mine}/members"), Some(json!({"users": [ids[1]]}))).await;
    assert_eq!((r.status, r.field()), (422, "users[0]"), "{}", r.body);
    let r = s.call("POST", &format!("/api/v1/groups/{mine}/members"), Some(json!({"from_groups": [g]}))).await;
    assert_eq!(r.body["added"], 0, "bob is not copied in: {}", r.body);
    let r = s.call_as(&ta, "POST", &format!("/api/v1/groups/{mine}/members/csv"), None).await;
    assert_eq!(r.status, 422);
    let mut req = s.http.post(format!("{}/api/v1/groups/{mine}/members/csv?on_error=skip", s.base)).bearer_auth(&ta);
    req = req.header("content-type", "text/csv").body("username\nbob.martin\nann.lee\n");
    let r: Value = req.send().await.unwrap().json().await.unwrap();
    assert_eq!((r["counts"]["not_found"].as_u64(), r["counts"]["already_members"].as_u64()), (Some(1), Some(1)));
    let csv = s.send_raw("POST", "/", "text/csv", vec![]).await;
    assert_eq!(csv.status, 404);

    // A superadmin can hand a group to the French admins by scoping it.
    let r = s.call("PATCH", &format!("/api/v1/groups/{g}"), Some(json!({"scope": ["FR"]}))).await;
    assert_eq!((r.status, r.body["scope"].clone()), (200, json!(["FR"])), "{}", r.body);
    let r = s.call_as(&ta, "PATCH", &format!("/api/v1/groups/{g}"), Some(json!({"name": "Drivers (FR)"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn deleting_a_group_records_its_members_leaving(s: TestServer) {
    let (g, ids) = people(&s).await;
    s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": [ids[0], ids[1]]})).await;
    let auto = s.post_ok("/api/v1/groups", json!({"name": "Parisians", "policy": "automatic"})).await;
    let auto = auto["id"].as_str().unwrap().to_owned();
    let r = s.call("PUT", &format!("/api/v1/groups/{auto}/rule"), Some(json!({"text": "branch = \"PAR\""}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for group in [&g, &auto] {
        assert_eq!(s.call("DELETE", &format!("/api/v1/groups/{group}"), None).await.status, 204);
    }
    for (user, groups) in [(&ids[0], vec![&g, &auto]), (&ids[1], vec![&g]), (&ids[2], vec![&auto])] {
        let events = s.call("GET", &format!("/api/v1/users/{user}/events"), None).await.body;
        let events = events["items"].as_array().unwrap();
        for group in groups {
            let of_group: Vec<&Value> = events.iter().filter(|e| e["group_id"] == group.as_str()).collect();
            assert_eq!(of_group.len(), 2, "a join and a leave in {group}: {events:?}");
            assert_eq!(of_group[0]["change"], "left", "newest first: {of_group:?}");
            assert_eq!(of_group[0]["cause"], "group deleted", "{of_group:?}");
            assert_eq!(of_group[1]["change"], "joined");
        }
    }
    let untouched = s.call("GET", &format!("/api/v1/users/{}/events", ids[3]), None).await.body;
    assert_eq!(untouched["items"], json!([]), "jose was in neither group");
}

/// Every page of a history, following `next_cursor`.
async fn all_events(s: &TestServer, token: Option<&str>, path: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{path}?limit={limit}{cursor}");
        let r = match token {
            Some(t) => s.call_as(t, "GET", &url, None).await,
            None => s.call("GET", &url, None).await,
        };
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return items,
        }
    }
}

async fn a_bulk_move_is_one_event_listed_user_by_user(s: TestServer) {
    let (g, _) = people(&s).await;
    let mut ids = Vec::new();
    for k in 0..30 {
        ids.push(create_user(&s, &format!("bulk{k:02}"), Some(if k % 2 == 0 { "PAR" } else { "US" })).await);
    }
    s.post_ok(&format!("/api/v1/groups/{g}/members"), json!({"users": ids})).await;
    let events = all_events(&s, None, &format!("/api/v1/groups/{g}/events"), 7).await;
    assert_eq!(events.len(), 30, "{events:?}");
    let shared: std::collections::BTreeSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(shared.len(), 1, "one set event: {shared:?}");
    let mut users: Vec<String> = events.iter().map(|e| e["user_id"].as_str().unwrap().to_owned()).collect();
    users.sort();
    users.dedup();
    assert_eq!(users.len(), 30, "each user once");
    // Pages end inside the set: the cursor says where.
    let first = s.call("GET", &format!("/api/v1/groups/{g}/events?limit=7"), None).await.body;
    assert!(first["next_cursor"].as_str().unwrap().contains('.'), "{first}");
    // A training admin sees the users of its branches only, page after page.
    let ta = s.training_admin("fr-admin", &["FR"]).await;
    let seen = all_events(&s, Some(&ta), &format!("/api/v1/groups/{g}/events"), 4).await;
    let expected: Vec<&String> = ids.iter().step_by(2).collect();
    assert_eq!(seen.len(), expected.len(), "{seen:?}");
    assert!(seen.iter().all(|e| expected.iter().any(|id| e["user_id"] == id.as_str())), "{seen:?}");
    // Each user's history holds the join.
    let history = all_events(&s, None, &format!("/api/v1/users/{}/events", ids[5]), 1).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!((history[0]["group_id"].as_str(), history[0]["change"].as_str()), (Some(g.as_str()), Some("joined")));
    for bad in ["1.x", "x", "-4", "3.-1"] {
        let r = s.call("GET", &format!("/api/v1/groups/{g}/events?cursor={bad}"), None).await;
        assert_eq!((r.status, r.field()), (400, "cursor"), "{bad}: {}", r.body);
    }
}

crate::on_both_databases!(
    a_bulk_move_is_one_event_listed_user_by_user,
    deleting_a_group_records_its_members_leaving,
    groups_are_named_uniquely_and_listed_with_counts,
    users_are_added_individually_by_copy_and_from_a_branch,
    csv_files_as_spreadsheets_write_them,
    csv_errors_apply_nothing_unless_skipped,
    the_size_limit_is_exact_and_stated,
    concurrent_uploads_both_apply,
    export_round_trips_into_a_new_group,
    training_admins_reach_only_their_users,
);
