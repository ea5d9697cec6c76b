//! SCIM 2.0 at `/scim/v2` over real HTTP, for what the public conformance checker
//! (scripts/scim-conformance.sh) does not cover: every filter operator, precedence and
//! complex filters, paging and sorting, ETags, Bulk with bulkId references, the read-only
//! members of automatic groups, deactivation flowing into them, the enterprise and
//! Roster extensions, and bad input.

use serde_json::{json, Value};

use crate::helpers::{Reply, TestServer};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER_USER: &str = "urn:roster:params:scim:schemas:extension:roster:2.0:User";
const ROSTER_GROUP: &str = "urn:roster:params:scim:schemas:extension:roster:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Sends a SCIM request as `application/scim+json`, with extra headers.
async fn scim(s: &TestServer, method: &str, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.http.request(method, format!("{}/scim/v2{path}", s.base)).bearer_auth(&s.token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    Reply { status, body, headers }
}

async fn get(s: &TestServer, path: &str) -> Reply {
    scim(s, "GET", path, None, &[]).await
}

fn header<'r>(r: &'r Reply, name: &str) -> &'r str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Creates a user over SCIM; returns its id.
async fn user(s: &TestServer, body: Value) -> String {
    let mut body = body;
    body["schemas"] = json!([USER]);
    let r = scim(s, "POST", "/Users", Some(body), &[]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn person(user_name: &str, email: &str, given: &str, family: &str) -> Value {
    json!({"userName": user_name, "emails": [{"value": email, "type": "work"}],
           "name": {"givenName": given, "familyName": family}, "active": true})
}

/// The userNames a filter finds, sorted, and the totalResults.
async fn found(s: &TestServer, filter: &str) -> (Vec<String>, u64) {
    let q: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    let r = get(s, &format!("/Users?filter={q}&attributes=userName")).await;
    assert_eq!(r.status, 200, "{filter}: {}", r.body);
    let mut names: Vec<String> =
        r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_owned()).collect();
    names.sort();
    let total = r.body["totalResults"].as_u64().unwrap();
    assert_eq!(total, names.len() as u64, "{filter}: totalResults is exact");
    (names, total)
}

async fn names(s: &TestServer, filter: &str) -> Vec<String> {
    found(s, filter).await.0
}

/// Five users: ann, bob, carla, dan (suspended, no names), eve (an externalId).
async fn population(s: &TestServer) {
    user(s, person("ann", "ann@acme.com", "Ann", "Lee")).await;
    user(s, person("bob", "Bob@Other.org", "Bob", "Stone")).await;
    user(s, person("carla", "carla@acme.com", "Carla", "Leeds")).await;
    user(s, json!({"userName": "dan", "emails": [{"value": "dan@acme.co.uk"}], "active": false})).await;
    let mut eve = person("eve", "eve@ACME.com", "Eve", "Ng");
    eve["externalId"] = json!("HR-0005");
    eve["preferredLanguage"] = json!("fr");
    user(s, eve).await;
}

pub async fn every_filter_operator(s: TestServer) {
    population(&s).await;
    assert_eq!(names(&s, r#"userName eq "ANN""#).await, ["ann"]);
    assert_eq!(names(&s, r#"userName ne "ann""#).await, ["bob", "carla", "dan", "eve"]);
    assert_eq!(names(&s, r#"emails.value co "ACME""#).await, ["ann", "carla", "dan", "eve"]);
    assert_eq!(names(&s, r#"userName sw "CA""#).await, ["carla"]);
    assert_eq!(names(&s, r#"emails ew ".org""#).await, ["bob"]);
    assert_eq!(names(&s, "externalId pr").await, ["eve"]);
    assert_eq!(names(&s, r#"userName gt "carla""#).await, ["dan", "eve"]);
    assert_eq!(names(&s, r#"userName ge "carla""#).await, ["carla", "dan", "eve"]);
    assert_eq!(names(&s, r#"userName lt "bob""#).await, ["ann"]);
    assert_eq!(names(&s, r#"userName le "bob""#).await, ["ann", "bob"]);
    assert_eq!(names(&s, r#"externalId eq "HR-0005""#).await, ["eve"]);
    assert_eq!(names(&s, r#"externalId eq "hr-0005""#).await, Vec::<String>::new(), "externalId is caseExact");
    assert_eq!(names(&s, "active eq false").await, ["dan"]);
    assert_eq!(names(&s, r#"preferredLanguage eq "FR""#).await, ["eve"]);
    assert_eq!(names(&s, "timezone eq null").await.len(), 5);
    assert_eq!(names(&s, r#"meta.created le "2026-03-02T12:00:00Z""#).await.len(), 5);
    assert_eq!(names(&s, r#"meta.created gt "2026-03-02T12:00:00Z""#).await.len(), 0);
    // Names and the display name are narrowed in SQL and decided in memory.
    assert_eq!(names(&s, r#"name.givenName eq "ANN""#).await, ["ann"]);
    assert_eq!(names(&s, r#"name.familyName sw "lee""#).await, ["ann", "carla"]);
    assert_eq!(names(&s, r#"displayName eq "dan""#).await, ["dan"], "no names: the userName");
    assert_eq!(names(&s, r#"name.givenName pr"#).await, ["ann", "bob", "carla", "eve"]);
}

pub async fn precedence_and_complex_filters(s: TestServer) {
    population(&s).await;
    // `and` binds tighter than `or`.
    assert_eq!(names(&s, r#"userName eq "bob" or userName sw "a" and active eq false"#).await, ["bob"]);
    assert_eq!(names(&s, r#"(userName eq "bob" or userName sw "d") and active eq false"#).await, ["dan"]);
    assert_eq!(names(&s, r#"not (emails co "acme") or userName eq "eve""#).await, ["bob", "eve"]);
    assert_eq!(names(&s, r#"not (name.familyName sw "Lee")"#).await, ["bob", "dan", "eve"], "NULL names included");
    assert_eq!(names(&s, r#"emails[type eq "work" and value ew "acme.com"]"#).await, ["ann", "carla", "eve"]);
    assert_eq!(names(&s, r#"emails[type eq "home"]"#).await, Vec::<String>::new());
    assert_eq!(
        names(&s, r#"userName sw "c" or (name.givenName eq "Eve" and not (externalId eq "x"))"#).await,
        ["carla", "eve"]
    );
    let (_, total) = found(&s, r#"emails.value ew "acme.com" and userName ne "ann""#).await;
    assert_eq!(total, 2);
}

pub async fn paging_sorting_and_projection(s: TestServer) {
    for i in 0..12 {
        user(&s, person(&format!("user{i:02}"), &format!("u{i}@acme.com"), "U", &format!("{}", 11 - i))).await;
    }
    let r = get(&s, "/Users?sortBy=userName&sortOrder=descending&startIndex=3&count=4").await;
    assert_eq!(r.status, 200);
    assert_eq!((r.body["totalResults"].as_u64(), r.body["startIndex"].as_u64()), (Some(12), Some(3)));
    let page: Vec<&str> =
        r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap()).collect();
    assert_eq!(page, ["user09", "user08", "user07", "user06"]);
    assert_eq!(r.body["itemsPerPage"], 4);
    // Sorted in memory (family names), same answer shape.
    let r = get(&s, "/Users?sortBy=name.familyName&count=2&filter=userName%20sw%20%22user%22").await;
    let page: Vec<&str> =
        r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap()).collect();
    assert_eq!(page, ["user11", "user10"], "\"0\" < \"1\" < \"10\"...");
    assert_eq!(r.body["totalResults"], 12);
    // count=0 answers the total only; past the end, nothing.
    let r = get(&s, "/Users?count=0").await;
    assert_eq!((r.body["totalResults"].as_u64(), r.body["Resources"].as_array().map(Vec::len)), (Some(12), Some(0)));
    assert_eq!(get(&s, "/Users?startIndex=13").await.body["Resources"], json!([]));
    // attributes / excludedAttributes; id and schemas are always returned.
    let r = get(&s, "/Users?count=1&attributes=emails.value").await;
    let first = &r.body["Resources"][0];
    assert_eq!(first["emails"], json!([{"value": "u0@acme.com"}]));
    assert!(first.get("userName").is_none() && first.get("id").is_some() && first.get("schemas").is_some());
    let r = get(&s, "/Users?count=1&excludedAttributes=emails,meta").await;
    assert!(r.body["Resources"][0].get("emails").is_none() && r.body["Resources"][0].get("userName").is_some());
    // POST .search answers the same.
    let body = json!({"schemas": [SEARCH], "filter": "userName sw \"user1\"", "sortBy": "userName", "count": 1});
    let r = scim(&s, "POST", "/Users/.search", Some(body), &[]).await;
    assert_eq!((r.status, r.body["totalResults"].as_u64()), (200, Some(2)));
    assert_eq!(r.body["Resources"][0]["userName"], "user10");
}

pub async fn count_over_the_maximum_is_clamped(s: TestServer) {
    let rows: String = (0..1005).map(|i| format!("bulk{i:04},bulk{i}@acme.com\n")).collect();
    let job = crate::imports::import(&s, "?mode=create", format!("username,email\n{rows}").into_bytes()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let config = get(&s, "/ServiceProviderConfig").await;
    assert_eq!(config.body["filter"]["maxResults"], 1000);
    let r = get(&s, "/Users?count=50000&attributes=userName").await;
    assert_eq!(r.status, 200);
    assert_eq!((r.body["totalResults"].as_u64(), r.body["itemsPerPage"].as_u64()), (Some(1005), Some(1000)));
}

pub async fn etags_and_preconditions(s: TestServer) {
    let id = user(&s, person("ann", "ann@acme.com", "Ann", "Lee")).await;
    let r = get(&s, &format!("/Users/{id}")).await;
    let etag = header(&r, "etag").to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(r.body["meta"]["version"], etag);
    assert_eq!(header(&r, "content-type"), "application/scim+json");
    // If-None-Match: 304 while unchanged.
    let r = scim(&s, "GET", &format!("/Users/{id}"), None, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, 304);
    let r = scim(&s, "GET", &format!("/Users/{id}"), None, &[("if-none-match", "W/\"other\"")]).await;
    assert_eq!(r.status, 200);
    // If-Match: a stale version is 412, the current one goes through and changes it.
    let change =
        json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.givenName", "value": "Anne"}]});
    let r = scim(&s, "PATCH", &format!("/Users/{id}"), Some(change.clone()), &[("if-match", "W/\"stale\"")]).await;
    assert_eq!(r.status, 412, "{}", r.body);
    let r = scim(&s, "PATCH", &format!("/Users/{id}"), Some(change), &[("if-match", &etag)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"]["givenName"], "Anne");
    let newer = header(&r, "etag").to_owned();
    assert_ne!(newer, etag);
    assert_eq!(r.body["meta"]["version"], newer);
    let put = json!({"schemas": [USER], "userName": "ann", "emails": [{"value": "ann@acme.com"}]});
    let r = scim(&s, "PUT", &format!("/Users/{id}"), Some(put.clone()), &[("if-match", &etag)]).await;
    assert_eq!(r.status, 412);
    let r = scim(&s, "PUT", &format!("/Users/{id}"), Some(put), &[("if-match", &newer)]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("name").is_none(), "PUT replaces: the names are gone");
    let r = scim(&s, "DELETE", &format!("/Users/{id}"), None, &[("if-match", &newer)]).await;
    assert_eq!(r.status, 412);
    assert_eq!(scim(&s, "DELETE", &format!("/Users/{id}"), None, &[("if-match", "*")]).await.status, 204);
    assert_eq!(get(&s, &format!("/Users/{id}")).await.status, 404);
    // A group's version follows its members.
    let u = user(&s, person("bob", "bob@acme.com", "Bob", "Stone")).await;
    let g = scim(&s, "POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "Drivers"})), &[]).await;
    let (gid, before) = (g.body["id"].as_str().unwrap().to_owned(), header(&g, "etag").to_owned());
    assert_eq!(header(&g, "location"), g.body["meta"]["location"].as_str().unwrap());
    s.post_ok(&format!("/api/v1/groups/{gid}/members"), json!({"users": [u]})).await;
    let after = get(&s, &format!("/Groups/{gid}?excludedAttributes=members")).await;
    assert_ne!(header(&after, "etag"), before, "a member added over REST changes the version");
}

pub async fn bulk_with_bulk_ids(s: TestServer) {
    let body = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "Night shift",
            "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": [USER], "userName": "kim", "emails": [{"value": "kim@acme.com"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u2", "data": {"schemas": [USER], "userName": "lou", "emails": [{"value": "lou@acme.com"}]}},
        {"method": "PATCH", "path": "/Users/bulkId:u2", "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]}},
        {"method": "DELETE", "path": "/Users/bulkId:nobody"}
    ]});
    let r = scim(&s, "POST", "/Bulk", Some(body), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "201", "200", "409"], "users first, then the group that references them");
    assert_eq!(ops[0]["bulkId"], "u1");
    let group = ops.iter().find(|o| o["bulkId"] == "g").unwrap();
    let location = group["location"].as_str().unwrap();
    let gid = location.rsplit('/').next().unwrap();
    let g = get(&s, &format!("/Groups/{gid}")).await;
    assert_eq!(g.body["members"].as_array().unwrap().len(), 2);
    assert_eq!(g.body["meta"]["version"], group["version"]);
    let (suspended, _) = found(&s, "active eq false").await;
    assert_eq!(suspended, ["lou"]);
    // failOnErrors: 1 stops after the first failure.
    let body = json!({"schemas": [BULK], "failOnErrors": 1, "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "kim", "emails": [{"value": "k@acme.com"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER], "userName": "new", "emails": [{"value": "n@acme.com"}]}}
    ]});
    let r = scim(&s, "POST", "/Bulk", Some(body), &[]).await;
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!((ops[0]["status"].as_str(), ops[0]["response"]["scimType"].as_str()), (Some("409"), Some("uniqueness")));
    // Over maxOperations: 413.
    let config = get(&s, "/ServiceProviderConfig").await;
    let max = config.body["bulk"]["maxOperations"].as_u64().unwrap() as usize;
    let ops = vec![json!({"method": "DELETE", "path": "/Users/1"}); max + 1];
    let r = scim(&s, "POST", "/Bulk", Some(json!({"schemas": [BULK], "Operations": ops})), &[]).await;
    assert_eq!(r.status, 413);
}

/// An automatic group made over REST: users whose email ends with "@acme.com".
async fn acme_group(s: &TestServer) -> String {
    let g = s.post_ok("/api/v1/groups", json!({"name": "Acme staff", "policy": "automatic"})).await;
    let id = g["id"].as_str().unwrap().to_owned();
    let r = s
        .call("PUT", &format!("/api/v1/groups/{id}/rule"), Some(json!({"text": "email ends with \"@acme.com\""})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    id
}

async fn member_ids(s: &TestServer, group: &str) -> Vec<String> {
    let r = get(s, &format!("/Groups/{group}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut ids: Vec<String> = r.body["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

pub async fn automatic_group_members_are_read_only(s: TestServer) {
    let ann = user(&s, person("ann", "ann@acme.com", "Ann", "Lee")).await;
    let bob = user(&s, person("bob", "bob@other.org", "Bob", "Stone")).await;
    let group = acme_group(&s).await;
    assert_eq!(member_ids(&s, &group).await, [ann.as_str()]);
    let r = get(&s, &format!("/Groups/{group}?attributes={ROSTER_GROUP}")).await;
    assert_eq!(r.body[ROSTER_GROUP]["policy"], "automatic");
    assert_eq!(r.body[ROSTER_GROUP]["rule"], "email ends with \"@acme.com\"");
    for ops in [
        json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
        json!([{"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]),
        json!([{"op": "replace", "value": {"members": []}}]),
    ] {
        let r =
            scim(&s, "PATCH", &format!("/Groups/{group}"), Some(json!({"schemas": [PATCH], "Operations": ops})), &[])
                .await;
        assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("mutability")), "{}", r.body);
    }
    let put = json!({"schemas": [GROUP], "displayName": "Acme staff", "members": [{"value": bob}]});
    let r = scim(&s, "PUT", &format!("/Groups/{group}"), Some(put), &[]).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("mutability")));
    // Its name is another matter.
    let rename =
        json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Acme people"}]});
    let r = scim(&s, "PATCH", &format!("/Groups/{group}"), Some(rename), &[]).await;
    assert_eq!((r.status, r.body["displayName"].as_str()), (200, Some("Acme people")));
    let put = json!({"schemas": [GROUP], "displayName": "Acme people", "members": [{"value": ann}]});
    assert_eq!(scim(&s, "PUT", &format!("/Groups/{group}"), Some(put), &[]).await.status, 200, "unchanged members");
    assert_eq!(member_ids(&s, &group).await, [ann]);
    // Filter groups by member and by policy.
    let q: String = form_urlencoded::byte_serialize(format!("members[value eq \"{bob}\"]").as_bytes()).collect();
    assert_eq!(get(&s, &format!("/Groups?filter={q}")).await.body["totalResults"], 0);
    let q: String =
        form_urlencoded::byte_serialize(format!("{ROSTER_GROUP}:policy eq \"automatic\"").as_bytes()).collect();
    assert_eq!(get(&s, &format!("/Groups?filter={q}")).await.body["totalResults"], 1);
}

pub async fn manual_groups_take_members_by_patch_paths(s: TestServer) {
    let ann = user(&s, person("ann", "ann@acme.com", "Ann", "Lee")).await;
    let bob = user(&s, person("bob", "bob@acme.com", "Bob", "Stone")).await;
    let body = json!({"schemas": [GROUP], "displayName": "Drivers", "externalId": "grp-1", "members": [{"value": ann}],
                      ROSTER_GROUP: {"description": "People who drive"}});
    let g = scim(&s, "POST", "/Groups", Some(body), &[]).await;
    assert_eq!(g.status, 201, "{}", g.body);
    let id = g.body["id"].as_str().unwrap().to_owned();
    assert_eq!(g.body[ROSTER_GROUP], json!({"description": "People who drive"}), "policy and rule only on request");
    let ops = json!([{"op": "add", "path": "members", "value": [{"value": bob}]},
                     {"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]);
    let r =
        scim(&s, "PATCH", &format!("/Groups/{id}"), Some(json!({"schemas": [PATCH], "Operations": ops})), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(member_ids(&s, &id).await, [bob.as_str()]);
    // The same group over REST, with its history.
    let rest = s.call("GET", &format!("/api/v1/groups/{id}"), None).await;
    assert_eq!((rest.body["name"].as_str(), rest.body["member_count"].as_i64()), (Some("Drivers"), Some(1)));
    let events = s.call("GET", &format!("/api/v1/groups/{id}/events"), None).await;
    assert_eq!(events.body["items"].as_array().unwrap().len(), 3);
    // A user's groups, and filters through them.
    let u = get(&s, &format!("/Users/{bob}")).await;
    assert_eq!(u.body["groups"][0]["value"], id.as_str());
    assert_eq!(u.body["groups"][0]["display"], "Drivers");
    assert_eq!(names(&s, &format!("groups.value eq \"{id}\"")).await, ["bob"]);
    assert_eq!(get(&s, "/Groups?filter=externalId%20eq%20%22grp-1%22").await.body["totalResults"], 1);
    // Entra ID's remove with a value.
    let ops = json!([{"op": "remove", "path": "members", "value": [{"value": bob}]}]);
    let r =
        scim(&s, "PATCH", &format!("/Groups/{id}"), Some(json!({"schemas": [PATCH], "Operations": ops})), &[]).await;
    assert_eq!(r.status, 200);
    assert!(member_ids(&s, &id).await.is_empty());
}

pub async fn deactivation_flows_into_automatic_groups(s: TestServer) {
    let ann = user(&s, person("ann", "ann@acme.com", "Ann", "Lee")).await;
    let group = acme_group(&s).await;
    assert_eq!(member_ids(&s, &group).await, [ann.as_str()]);
    let off = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let r = scim(&s, "PATCH", &format!("/Users/{ann}"), Some(off), &[]).await;
    assert_eq!((r.status, r.body["active"].as_bool()), (200, Some(false)), "{}", r.body);
    assert!(member_ids(&s, &group).await.is_empty(), "suspended users leave at once");
    let rest = s.call("GET", &format!("/api/v1/users/{ann}"), None).await;
    assert_eq!(rest.body["status"], "suspended");
    let on = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": true}]});
    assert_eq!(scim(&s, "PATCH", &format!("/Users/{ann}"), Some(on), &[]).await.status, 200);
    assert_eq!(member_ids(&s, &group).await, [ann.as_str()]);
    // A changed email moves the user out too, through `emails[type eq "work"].value`.
    let moved = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann@elsewhere.org"}]});
    let r = scim(&s, "PATCH", &format!("/Users/{ann}"), Some(moved), &[]).await;
    assert_eq!((r.status, r.body["emails"][0]["value"].as_str()), (200, Some("ann@elsewhere.org")), "{}", r.body);
    assert!(member_ids(&s, &group).await.is_empty());
    let events = s.call("GET", &format!("/api/v1/users/{ann}/events"), None).await;
    assert_eq!(events.body["items"].as_array().unwrap().len(), 4, "joined, left, joined, left");
}

pub async fn users_are_roster_users_with_their_fields(s: TestServer) {
    s.post_ok(
        "/api/v1/fields",
        json!({"code": "department", "name": "Department", "type": "dropdown", "options": ["Sales", "Ops"]}),
    )
    .await;
    s.post_ok("/api/v1/fields", json!({"code": "institutional_id", "name": "Institutional ID", "type": "text"})).await;
    s.post_ok("/api/v1/fields", json!({"code": "hire_date", "name": "Hire Date", "type": "date"})).await;
    let schemas = get(&s, "/Schemas").await;
    let ids: Vec<&str> =
        schemas.body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&ENTERPRISE) && ids.contains(&ROSTER_USER), "{ids:?}");
    let ent = get(&s, &format!("/Schemas/{ENTERPRISE}")).await;
    let attrs: Vec<&str> =
        ent.body["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(attrs, ["employeeNumber", "department"], "only what a field holds");
    let body = json!({"schemas": [USER, ENTERPRISE, ROSTER_USER], "userName": "ann", "externalId": "E-1",
        "emails": [{"value": "ann@acme.com", "type": "work"}],
        ENTERPRISE: {"department": "sales", "employeeNumber": "0042", "costCenter": "ignored"},
        ROSTER_USER: {"hire_date": "2024-05-01"}});
    let r = scim(&s, "POST", "/Users", Some(body), &[]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(header(&r, "location"), r.body["meta"]["location"].as_str().unwrap());
    assert!(header(&r, "location").starts_with(&format!("{}/scim/v2/Users/", s.base)));
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body[ENTERPRISE], json!({"department": "Sales", "employeeNumber": "0042"}));
    assert_eq!(
        r.body[ROSTER_USER],
        json!({"department": "Sales", "institutional_id": "0042", "hire_date": "2024-05-01"})
    );
    for key in ["created", "lastModified", "resourceType", "location", "version"] {
        assert!(r.body["meta"].get(key).is_some(), "meta.{key}");
    }
    let rest = s.call("GET", &format!("/api/v1/users/{id}"), None).await;
    assert_eq!(rest.body["username"], "ann");
    assert_eq!(
        rest.body["fields"],
        json!({"department": "Sales", "institutional_id": "0042", "hire_date": "2024-05-01"})
    );
    // The enterprise path changes the field; a REST change shows in SCIM.
    let ops = json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Ops"}]);
    let r = scim(&s, "PATCH", &format!("/Users/{id}"), Some(json!({"schemas": [PATCH], "Operations": ops})), &[]).await;
    assert_eq!(r.body[ROSTER_USER]["department"], "Ops", "{}", r.body);
    s.call("PATCH", &format!("/api/v1/users/{id}"), Some(json!({"fields": {"hire_date": "2020-01-31"}}))).await;
    assert_eq!(get(&s, &format!("/Users/{id}")).await.body[ROSTER_USER]["hire_date"], "2020-01-31");
    // Extension attributes filter in memory over the candidates.
    let q: String = form_urlencoded::byte_serialize(format!("{ENTERPRISE}:department eq \"ops\"").as_bytes()).collect();
    assert_eq!(get(&s, &format!("/Users?filter={q}")).await.body["totalResults"], 1);
    let q: String =
        form_urlencoded::byte_serialize(format!("{ROSTER_USER}:hire_date lt \"2021-01-01\"").as_bytes()).collect();
    assert_eq!(get(&s, &format!("/Users?filter={q}")).await.body["totalResults"], 1);
    // A PUT that leaves the extensions out keeps the fields.
    let put = json!({"schemas": [USER], "userName": "ann", "externalId": "E-1", "emails": [{"value": "ann@acme.com"}]});
    let r = scim(&s, "PUT", &format!("/Users/{id}"), Some(put), &[]).await;
    assert_eq!(r.body[ROSTER_USER]["department"], "Ops");
    // Root search spans Users and Groups.
    scim(&s, "POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "G"})), &[]).await;
    let r = scim(&s, "POST", "/.search", Some(json!({"schemas": [SEARCH]})), &[]).await;
    assert_eq!((r.status, r.body["totalResults"].as_u64()), (200, Some(2)));
    let r =
        scim(&s, "POST", "/.search", Some(json!({"schemas": [SEARCH], "filter": "userName eq \"ann\""})), &[]).await;
    assert_eq!(r.body["totalResults"], 1, "only Users have a userName");
}

pub async fn bad_input_is_refused_in_scim_terms(s: TestServer) {
    let id = user(&s, person("ann", "ann@acme.com", "Ann", "Lee")).await;
    let scim_type = |r: &Reply| r.body["scimType"].as_str().unwrap_or("").to_owned();
    // Malformed and ill-typed filters.
    for filter in
        ["userName%20eq", "userName%20xx%20%22a%22", "(userName%20pr", "nickName%20pr", "active%20gt%20%22x%22"]
    {
        let r = get(&s, &format!("/Users?filter={filter}")).await;
        assert_eq!((r.status, scim_type(&r)), (400, "invalidFilter".into()), "{filter}: {}", r.body);
        assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
        assert_eq!(r.body["status"], "400");
    }
    // PATCH paths that name nothing, and values of the wrong type.
    let patch = |ops: Value| json!({"schemas": [PATCH], "Operations": ops});
    let r = scim(
        &s,
        "PATCH",
        &format!("/Users/{id}"),
        Some(patch(json!([{"op": "replace", "path": "nickName", "value": "x"}]))),
        &[],
    )
    .await;
    assert_eq!((r.status, scim_type(&r)), (400, "invalidPath".into()));
    let r = scim(
        &s,
        "PATCH",
        &format!("/Users/{id}"),
        Some(patch(json!([{"op": "replace", "path": "emails[kind eq \"x\"].value", "value": "x"}]))),
        &[],
    )
    .await;
    assert_eq!((r.status, scim_type(&r)), (400, "invalidPath".into()));
    let r = scim(
        &s,
        "PATCH",
        &format!("/Users/{id}"),
        Some(patch(json!([{"op": "replace", "path": "active", "value": "maybe"}]))),
        &[],
    )
    .await;
    assert_eq!((r.status, scim_type(&r)), (400, "invalidValue".into()));
    let r = scim(
        &s,
        "PATCH",
        &format!("/Users/{id}"),
        Some(patch(json!([{"op": "replace", "path": "id", "value": "9"}]))),
        &[],
    )
    .await;
    assert_eq!((r.status, scim_type(&r)), (400, "mutability".into()));
    let bad_email = json!({"schemas": [USER], "userName": "zed", "emails": [{"value": "not an email"}]});
    let r = scim(&s, "POST", "/Users", Some(bad_email), &[]).await;
    assert_eq!((r.status, scim_type(&r)), (400, "invalidValue".into()));
    let mars =
        json!({"schemas": [USER], "userName": "zed", "emails": [{"value": "z@acme.com"}], "timezone": "Mars/Olympus"});
    let r = scim(&s, "POST", "/Users", Some(mars), &[]).await;
    assert_eq!((r.status, scim_type(&r)), (400, "invalidValue".into()), "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or_default().contains("timezone"), "{}", r.body);
    let schema = scim(&s, "GET", &format!("/Schemas/{USER}"), None, &[]).await.body;
    let zones = schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "timezone").unwrap();
    assert!(zones["canonicalValues"].as_array().unwrap().contains(&json!("Europe/Paris")), "{zones}");
    let no_email = json!({"schemas": [USER], "userName": "zed"});
    assert_eq!(scim_type(&scim(&s, "POST", "/Users", Some(no_email), &[]).await), "invalidValue");
    let r = scim(&s, "POST", "/Users", Some(json!({"userName": "zed"})), &[]).await;
    assert_eq!((r.status, scim_type(&r)), (400, "invalidSyntax".into()), "schemas is required");
    // Uniqueness, regardless of case.
    let r = scim(
        &s,
        "POST",
        "/Users",
        Some(json!({"schemas": [USER], "userName": "ANN", "emails": [{"value": "a2@acme.com"}]})),
        &[],
    )
    .await;
    assert_eq!((r.status, scim_type(&r)), (409, "uniqueness".into()), "{}", r.body);
    scim(&s, "POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "Drivers"})), &[]).await;
    let r = scim(&s, "POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "drivers"})), &[]).await;
    assert_eq!((r.status, scim_type(&r)), (409, "uniqueness".into()));
    // A body over the limit.
    let huge = json!({"schemas": [USER], "userName": "big", "emails": [{"value": "b@acme.com"}], "displayName": "x".repeat(2 * 1024 * 1024)});
    assert_eq!(scim(&s, "POST", "/Users", Some(huge), &[]).await.status, 413);
    // Not JSON, or another media type.
    let r = s.send_raw("POST", "/scim/v2/Users", "application/scim+json", b"{".to_vec()).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidSyntax")));
    assert_eq!(s.send_raw("POST", "/scim/v2/Users", "text/csv", b"a,b".to_vec()).await.status, 415);
    // Plain application/json is welcome too.
    let r = s
        .call(
            "POST",
            "/scim/v2/Users",
            Some(json!({"schemas": [USER], "userName": "plain", "emails": [{"value": "p@acme.com"}]})),
        )
        .await;
    assert_eq!(r.status, 201);
    // Unknown ids and paths; no token; a training admin.
    assert_eq!(get(&s, "/Users/999999").await.status, 404);
    assert_eq!(get(&s, "/Users/abc").await.body["status"], "404");
    assert_eq!(get(&s, "/Nope").await.status, 404);
    let r = s.http.get(format!("{}/scim/v2/Users", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert_eq!(r.headers()["content-type"], "application/scim+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "401");
    s.post_ok("/api/v1/branches", json!({"code": "EMEA", "name": "Europe"})).await;
    let ta = s.training_admin("ta", &["EMEA"]).await;
    let r = s.call_as(&ta, "GET", "/scim/v2/Users", None).await;
    assert_eq!((r.status, r.body["status"].as_str()), (403, Some("403")));
    // A training admin's malformed body is refused for who sends it, not for its shape.
    let mut req = s.http.post(format!("{}/scim/v2/Users", s.base)).bearer_auth(&ta);
    req = req.header("content-type", "application/scim+json").body("{\"userName\": ");
    assert_eq!(req.send().await.unwrap().status(), 403);
    let mut req = s.http.post(format!("{}/scim/v2/Users", s.base)).bearer_auth(&ta);
    req = req.header("content-type", "text/plain").body("x");
    assert_eq!(req.send().await.unwrap().status(), 403, "not even its content type is judged");
    // The scheme is matched in any case here too.
    let r = s.http.get(format!("{}/scim/v2/Users", s.base)).header("authorization", format!("BEARER {}", s.token));
    assert_eq!(r.send().await.unwrap().status(), 200);
}

/// PATCHes a resource at `path` with these operations.
async fn patch(s: &TestServer, path: &str, ops: Value) -> Reply {
    scim(s, "PATCH", path, Some(json!({"schemas": [PATCH], "Operations": ops})), &[]).await
}

pub async fn display_names_are_kept_as_sent(s: TestServer) {
    let schema = get(&s, &format!("/Schemas/{USER}")).await;
    let attribute = schema.body["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "displayName").cloned();
    assert_eq!(attribute.unwrap()["mutability"], "readWrite", "RFC 7643 §4.1.1");
    let mut body = person("rj", "rj@acme.com", "Robert", "Jones");
    body["displayName"] = json!("Bobby J");
    let bob = user(&s, body).await;
    let at = format!("/Users/{bob}");
    assert_eq!(get(&s, &at).await.body["displayName"], "Bobby J");
    let ann = user(&s, person("ann", "ann@acme.com", "Ann", "Lee")).await;
    assert_eq!(get(&s, &format!("/Users/{ann}")).await.body["displayName"], "Ann Lee", "absent: the names");
    // A stored display name is found by its own words, in any case.
    assert_eq!(names(&s, r#"displayName eq "bobby j""#).await, ["rj"]);
    assert_eq!(names(&s, r#"displayName co "BBY""#).await, ["rj"]);
    assert_eq!(names(&s, r#"displayName sw "Robert""#).await, Vec::<String>::new(), "the names no longer show");
    assert_eq!(names(&s, r#"displayName eq "Ann Lee""#).await, ["ann"]);
    // A PATCH that leaves it alone keeps it.
    let r = patch(&s, &at, json!([{"op": "replace", "path": "name.givenName", "value": "Rob"}])).await;
    assert_eq!((r.status, r.body["displayName"].as_str()), (200, Some("Bobby J")), "{}", r.body);
    // One that removes it leaves it unassigned (RFC 7644 §3.5.2.2), even as the names change.
    let r = patch(&s, &at, json!([{"op": "remove", "path": "displayName"}])).await;
    assert_eq!((r.status, r.body.get("displayName")), (200, None), "{}", r.body);
    let r = patch(&s, &at, json!([{"op": "replace", "path": "name.familyName", "value": "Jonas"}])).await;
    assert_eq!(r.body.get("displayName"), None, "{}", r.body);
    assert_eq!(get(&s, &at).await.body.get("displayName"), None);
    assert_eq!(names(&s, "displayName pr").await, ["ann"]);
    let r = patch(&s, &at, json!([{"op": "replace", "value": {"displayName": "RJ"}}])).await;
    assert_eq!(r.body["displayName"], "RJ", "{}", r.body);
    let r = patch(&s, &at, json!([{"op": "replace", "path": "displayName", "value": null}])).await;
    assert_eq!(r.body.get("displayName"), None, "{}", r.body);
    // A computed one follows the names.
    let r =
        patch(&s, &format!("/Users/{ann}"), json!([{"op": "replace", "path": "name.familyName", "value": "Ng"}])).await;
    assert_eq!(r.body["displayName"], "Ann Ng");
    // PUT replaces it like anything else.
    let mut put = person("rj", "rj@acme.com", "Robert", "Jones");
    put["schemas"] = json!([USER]);
    put["displayName"] = json!("Mr Jones");
    let r = scim(&s, "PUT", &at, Some(put.clone()), &[]).await;
    assert_eq!((r.status, r.body["displayName"].as_str()), (200, Some("Mr Jones")), "{}", r.body);
    put.as_object_mut().unwrap().remove("displayName");
    let r = scim(&s, "PUT", &at, Some(put), &[]).await;
    assert_eq!(r.body["displayName"], "Robert Jones", "left out of a PUT: the names again");
    assert_eq!(names(&s, "displayName pr").await, ["ann", "rj"]);
    // It is a name: hidden characters are refused.
    let r = patch(&s, &at, json!([{"op": "replace", "path": "displayName", "value": "Bad\u{0007}"}])).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{}", r.body);
}

pub async fn patch_values_without_a_path_take_dotted_keys(s: TestServer) {
    // The enterprise extension is published with the attributes a field holds: here, department.
    s.post_ok("/api/v1/fields", json!({"code": "department", "name": "Department", "type": "text"})).await;
    let id = user(&s, person("ann", "ann@acme.com", "Ann", "Lee")).await;
    let at = format!("/Users/{id}");
    // Entra ID's older PATCH: attribute paths as the keys of a path-less value.
    let r = patch(&s, &at, json!([{"op": "Replace", "value": {"active": "True", "name.familyName": "Fam2"}}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["name"]["familyName"].as_str(), r.body["active"].as_bool()), (Some("Fam2"), Some(true)));
    let value = json!({"name.givenName": "Annie", "emails[type eq \"work\"].value": "annie@acme.com",
        (format!("{USER}:preferredLanguage")): "fr"});
    let r = patch(&s, &at, json!([{"op": "replace", "value": value}])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], json!({"givenName": "Annie", "familyName": "Fam2"}));
    assert_eq!(r.body["emails"], json!([{"value": "annie@acme.com", "type": "work"}]));
    assert_eq!(r.body["preferredLanguage"], "fr");
    let before = get(&s, &at).await.body;
    // An attribute Roster does not have is refused by name, and nothing else is applied.
    for ops in [
        json!([{"op": "replace", "value": {"name.familyName": "Fam3", "nickName": "Nan"}}]),
        json!([{"op": "add", "value": {"name.middleName": "Q"}}]),
        json!([{"op": "replace", "path": "name.familyName", "value": "Fam3"}, {"op": "add", "value": {"title": "Dr"}}]),
        json!([{"op": "replace", "value": {ENTERPRISE: {"costCenter": "42"}}}]),
    ] {
        let r = patch(&s, &at, ops.clone()).await;
        assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidPath")), "{ops}: {}", r.body);
        let named = ["nickName", "name.middleName", "title", "costCenter"];
        let detail = r.body["detail"].as_str().unwrap();
        assert!(named.iter().any(|n| detail.contains(n)), "{detail}");
        assert_eq!(get(&s, &at).await.body, before, "{ops}: nothing changed");
    }
    // Groups too.
    let g = scim(&s, "POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "Drivers"})), &[]).await;
    let group = format!("/Groups/{}", g.body["id"].as_str().unwrap());
    let r = patch(&s, &group, json!([{"op": "replace", "value": {"displayName": "Riders", "owner": "ann"}}])).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidPath")), "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("owner"), "{}", r.body);
    assert_eq!(get(&s, &group).await.body["displayName"], "Drivers");
    let ops = json!([{"op": "replace", "value": {"displayName": "Riders", "members": [{"value": id}]}}]);
    let r = patch(&s, &group, ops).await;
    assert_eq!((r.status, r.body["displayName"].as_str()), (200, Some("Riders")), "{}", r.body);
    assert_eq!(member_ids(&s, g.body["id"].as_str().unwrap()).await, [id.as_str()]);
}

crate::on_both_databases!(
    every_filter_operator,
    precedence_and_complex_filters,
    paging_sorting_and_projection,
    count_over_the_maximum_is_clamped,
    etags_and_preconditions,
    bulk_with_bulk_ids,
    automatic_group_members_are_read_only,
    manual_groups_take_members_by_patch_paths,
    deactivation_flows_into_automatic_groups,
    users_are_roster_users_with_their_fields,
    bad_input_is_refused_in_scim_terms,
    display_names_are_kept_as_sent,
    patch_values_without_a_path_take_dotted_keys,
);
