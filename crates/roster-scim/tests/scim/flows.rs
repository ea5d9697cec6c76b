//! Each endpoint's flow as the web and app layers will run it, against an in-memory store.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use roster_scim::bulk::{BulkOperationResult, BulkResponse};
use roster_scim::{
    decode_body, etag, urn, AdditionalField, BulkMethod, BulkRequest, FieldKind, Group, GroupPolicy, Limits,
    ListParams, ListQuery, Member, PatchRequest, Projection, ResourceKind, ScimError, ScimType, ServiceProvider, User,
};
use serde_json::{json, Value};

fn sp() -> ServiceProvider {
    ServiceProvider::new(
        "https://roster.example/scim/v2",
        Limits { max_results: 50, bulk_max_operations: 10, bulk_max_payload_size: 100_000 },
        &[AdditionalField::new("department", "Department", FieldKind::Dropdown(vec!["Sales".into(), "Ops".into()]))],
    )
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

/// What the app layer would keep: users by id, with a revision counter for the ETag.
#[derive(Default)]
struct Store {
    users: HashMap<String, (User, u32)>,
    groups: HashMap<String, (Group, u32)>,
}

impl Store {
    fn user_json(&self, sp: &ServiceProvider, id: &str) -> Value {
        let (user, rev) = &self.users[id];
        let mut u = user.clone();
        u.id = Some(id.to_owned());
        u.meta = Some(sp.meta(ResourceKind::User, id, now(), now(), &rev.to_string()));
        u.to_json(sp)
    }

    fn create_user(&mut self, sp: &ServiceProvider, body: &Value) -> Result<String, ScimError> {
        let user = User::from_json(body, sp)?;
        if self.users.values().any(|(u, _)| u.user_name.eq_ignore_ascii_case(&user.user_name)) {
            return Err(ScimError::uniqueness(format!("userName \"{}\" is taken", user.user_name)));
        }
        let id = format!("u{}", self.users.len() + 1);
        self.users.insert(id.clone(), (user, 1));
        Ok(id)
    }
}

#[test]
fn post_then_get_a_user() {
    let sp = sp();
    let mut store = Store::default();
    let body = decode_body(
        br#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "active": true,
             "emails": [{"value": "b@example.com", "primary": true}],
             "urn:roster:params:scim:schemas:extension:roster:2.0:User": {"department": "sales"}}"#,
    )
    .unwrap();
    let id = store.create_user(&sp, &body).unwrap();
    // 201 with Location and ETag headers taken from meta.
    let created = store.user_json(&sp, &id);
    assert_eq!(created["meta"]["location"], sp.location(ResourceKind::User, &id));
    assert_eq!(created["meta"]["version"], etag::weak("1"));
    assert_eq!(created[urn::ROSTER_USER]["department"], "Sales");
    // A second POST with the same userName is 409 uniqueness.
    let again = store.create_user(&sp, &body).unwrap_err();
    assert_eq!((again.status(), again.scim_type()), (409, Some(ScimType::Uniqueness)));
    // GET /Users/{id}?attributes=userName
    let projection = Projection::parse(Some("userName"), None).unwrap();
    let shown = projection.apply(&store.user_json(&sp, &id), sp.users());
    assert_eq!(shown, json!({"schemas": [urn::USER, urn::ROSTER_USER], "id": id, "userName": "bjensen"}));
}

#[test]
fn list_users_with_a_filter() {
    let sp = sp();
    let mut store = Store::default();
    for name in ["alice", "bob", "barbara"] {
        let body = json!({"schemas": [urn::USER], "userName": name});
        store.create_user(&sp, &body).unwrap();
    }
    let params = ListParams {
        filter: Some(r#"userName sw "B""#),
        sort_by: Some("userName"),
        count: Some("1"),
        ..ListParams::default()
    };
    let query = ListQuery::parse(&params, sp.users(), sp.limits().max_results).unwrap();
    let all: Vec<Value> = store.users.keys().map(|id| store.user_json(&sp, id)).collect();
    let page = query.respond(all, sp.users()).to_json();
    assert_eq!((page["totalResults"].as_u64(), page["itemsPerPage"].as_u64()), (Some(2), Some(1)));
    assert_eq!(page["Resources"][0]["userName"], "barbara");
    let bad = ListQuery::parse(&ListParams { filter: Some("userName eq"), ..ListParams::default() }, sp.users(), 50);
    assert_eq!(bad.unwrap_err().to_json()["scimType"], "invalidFilter");
}

#[test]
fn put_checks_if_match_and_ignores_read_only_attributes() {
    let sp = sp();
    let mut store = Store::default();
    let id = store.create_user(&sp, &json!({"schemas": [urn::USER], "userName": "a"})).unwrap();
    let current = store.user_json(&sp, &id)["meta"]["version"].as_str().unwrap().to_owned();
    assert_eq!(etag::check_if_match(Some("W/\"0\""), Some(&current)).unwrap_err().status(), 412);
    etag::check_if_match(Some(&current), Some(&current)).unwrap();
    let replaced = User::from_json(
        &json!({"schemas": [urn::USER], "id": "other", "userName": "a2", "groups": [{"value": "g"}]}),
        &sp,
    )
    .unwrap();
    assert_eq!((replaced.id, replaced.groups.len(), replaced.user_name.as_str()), (None, 0, "a2"));
}

#[test]
fn patch_a_manual_group_and_refuse_members_of_an_automatic_one() {
    let sp = sp();
    let manual = Group {
        id: Some("g1".into()),
        members: vec![Member::user(&sp, "u1", Some("Alice".into()))],
        policy: Some(GroupPolicy::Manual),
        ..Group::new("Drivers")
    };
    let request = PatchRequest::parse(&json!({
        "schemas": [urn::PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": "u2"}]}, {"op": "remove", "path": "members[value eq \"u1\"]"}]
    }))
    .unwrap();
    assert!(request.touches(sp.groups(), "members"));
    let patched = request.apply(&manual.to_json(), sp.groups()).unwrap();
    let group = Group::from_json(&patched, &sp).unwrap();
    assert_eq!(group.member_ids().collect::<Vec<_>>(), ["u2"]);
    assert_eq!(patched[urn::ROSTER_GROUP]["policy"], "manual", "readOnly values survive a patch");

    // An automatic group may be renamed, but a patch that touches members is refused (400 mutability).
    let rename = PatchRequest::parse(&json!({
        "schemas": [urn::PATCH_OP],
        "Operations": [{"op": "replace", "value": {"displayName": "Renamed"}}]
    }))
    .unwrap();
    assert!(!rename.touches(sp.groups(), "members"));
}

#[test]
fn bulk_creates_a_user_and_a_group_that_references_it() {
    let sp = sp();
    let mut store = Store::default();
    let body = json!({
        "schemas": [urn::BULK_REQUEST],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [urn::GROUP], "displayName": "New", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [urn::USER], "userName": "carol"}},
            {"method": "DELETE", "path": "/Users/bulkId:missing"}
        ]
    });
    let request = BulkRequest::parse(body.to_string().as_bytes(), sp.limits()).unwrap();
    let mut created = HashMap::new();
    let mut response = BulkResponse::default();
    for i in request.execution_order() {
        if request.should_stop(response.errors()) {
            break;
        }
        let op = &request.operations[i];
        let outcome = op.resolve(&created).and_then(|resolved| match (resolved.method, resolved.kind) {
            (BulkMethod::Post, ResourceKind::User) => {
                store.create_user(&sp, resolved.data.as_ref().unwrap_or(&Value::Null)).map(|id| (201, id))
            }
            (BulkMethod::Post, ResourceKind::Group) => {
                let group = Group::from_json(resolved.data.as_ref().unwrap_or(&Value::Null), &sp)?;
                let id = format!("g{}", store.groups.len() + 1);
                store.groups.insert(id.clone(), (group, 1));
                Ok((201, id))
            }
            _ => Err(ScimError::not_found("no such resource")),
        });
        response.operations.push(match outcome {
            Ok((status, id)) => {
                let kind = if op.path.starts_with("/Users") { ResourceKind::User } else { ResourceKind::Group };
                if let Some(bulk_id) = &op.bulk_id {
                    created.insert(bulk_id.clone(), id.clone());
                }
                BulkOperationResult::success(op, status, Some(sp.location(kind, &id)), Some(etag::weak("1")))
            }
            Err(e) => BulkOperationResult::failure(op, &e),
        });
    }
    let json = response.to_json();
    let statuses: Vec<&str> =
        json["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "409"]);
    let (group, _) = &store.groups["g1"];
    assert_eq!(group.member_ids().collect::<Vec<_>>(), [created["u"].as_str()]);
}

#[test]
fn discovery_documents_are_served_from_the_provider() {
    let sp = sp();
    assert_eq!(sp.service_provider_config()["filter"]["maxResults"], 50);
    assert_eq!(sp.schemas_document()["totalResults"], 5);
    assert_eq!(sp.resource_types_document()["Resources"][1]["endpoint"], "/Groups");
    assert!(sp.schema_document(urn::ROSTER_USER).unwrap()["attributes"][0]["canonicalValues"].is_array());
}
