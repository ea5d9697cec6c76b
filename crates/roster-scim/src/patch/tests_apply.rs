//! Every PATCH operation, with and without filters, on single- and multi-valued
//! attributes, core and extension paths.

use serde_json::{json, Value};

use super::{changed_attributes, PatchRequest};
use crate::schema::roster::{AdditionalField, FieldKind};
use crate::schema::{group, user, ResourceType};
use crate::{urn, ScimError, ScimType};

fn users() -> ResourceType {
    user::resource_type(&[AdditionalField::new("hire_date", "Hire Date", FieldKind::Date)])
}

fn barbara() -> Value {
    json!({
        "schemas": [urn::USER],
        "id": "u1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "b@work.example", "type": "work", "primary": true},
            {"value": "b@home.example", "type": "home"}
        ],
        "active": true,
        "groups": [{"value": "g1", "display": "Drivers", "type": "direct"}],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    })
}

fn drivers() -> Value {
    json!({
        "schemas": [urn::GROUP],
        "id": "g1",
        "displayName": "Drivers",
        "members": [
            {"value": "u1", "display": "Alice", "type": "User"},
            {"value": "u2", "display": "Bob", "type": "User"}
        ]
    })
}

fn patch_with(rt: &ResourceType, resource: &Value, ops: Value) -> Result<Value, ScimError> {
    PatchRequest::parse(&json!({"schemas": [urn::PATCH_OP], "Operations": ops}))?.apply(resource, rt)
}

fn user_patch(ops: Value) -> Result<Value, ScimError> {
    patch_with(&users(), &barbara(), ops)
}

fn group_patch(ops: Value) -> Result<Value, ScimError> {
    patch_with(&group::resource_type(), &drivers(), ops)
}

fn scim_type(r: Result<Value, ScimError>) -> Option<ScimType> {
    r.unwrap_err().scim_type()
}

fn member_ids(g: &Value) -> Vec<&str> {
    g["members"].as_array().map_or(vec![], |m| m.iter().map(|m| m["value"].as_str().unwrap()).collect())
}

// --- add ---

#[test]
fn add_sets_a_single_valued_attribute() {
    let u = user_patch(json!([{"op": "add", "path": "displayName", "value": "Babs"}])).unwrap();
    assert_eq!(u["displayName"], "Babs");
    let u = user_patch(json!([{"op": "add", "path": "USERNAME", "value": "barbara"}])).unwrap();
    assert_eq!(u["userName"], "barbara", "attribute names are case-insensitive and written canonically");
}

#[test]
fn add_merges_sub_attributes_into_a_complex_attribute() {
    let u = user_patch(json!([{"op": "add", "path": "name", "value": {"formatted": "Ms. Barbara J Jensen"}}])).unwrap();
    assert_eq!(u["name"], json!({"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen"}));
    let u = user_patch(json!([{"op": "add", "path": "name.givenName", "value": "Babs"}])).unwrap();
    assert_eq!(u["name"]["givenName"], "Babs");
}

#[test]
fn add_appends_to_a_multi_valued_attribute_without_duplicates() {
    let g = group_patch(
        json!([{"op": "add", "path": "members", "value": [{"value": "u3"}, {"value": "u1", "display": "ignored"}]}]),
    )
    .unwrap();
    assert_eq!(member_ids(&g), ["u1", "u2", "u3"]);
    assert_eq!(g["members"][0]["display"], "Alice", "readOnly sub-attributes in values are ignored");
    let g = group_patch(json!([{"op": "add", "path": "members", "value": {"value": "u4"}}])).unwrap();
    assert_eq!(member_ids(&g), ["u1", "u2", "u4"], "a single value is accepted");
    let u =
        user_patch(json!([{"op": "add", "path": "emails", "value": [{"value": "B@HOME.example", "type": "home"}]}]))
            .unwrap();
    assert_eq!(u["emails"].as_array().unwrap().len(), 2, "emails compare case-insensitively");
}

#[test]
fn add_of_a_new_primary_value_clears_the_old_one() {
    let u = user_patch(
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@x", "type": "other", "primary": true}]}]),
    )
    .unwrap();
    let primaries: Vec<&str> = u["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(primaries, ["new@x"]);
}

#[test]
fn add_with_a_filter_updates_matching_values() {
    let u =
        user_patch(json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "barbara@work.example"}]))
            .unwrap();
    assert_eq!(u["emails"][0], json!({"value": "barbara@work.example", "type": "work", "primary": true}));
    let u = user_patch(json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"primary": true}}])).unwrap();
    assert_eq!(u["emails"][1]["primary"], true);
    assert_eq!(u["emails"][0].get("primary"), None);
}

#[test]
fn add_with_an_eq_filter_that_matches_nothing_creates_the_value() {
    let u = user_patch(json!([{"op": "add", "path": "emails[type eq \"other\"].value", "value": "o@x"}])).unwrap();
    assert_eq!(u["emails"][2], json!({"type": "other", "value": "o@x"}));
    let none = patch_with(
        &users(),
        &json!({"schemas": [urn::USER], "userName": "a"}),
        json!([
            {"op": "add", "path": "emails[type eq \"work\" and primary eq true].value", "value": "w@x"}
        ]),
    )
    .unwrap();
    assert_eq!(none["emails"], json!([{"type": "work", "primary": true, "value": "w@x"}]));
    assert_eq!(
        scim_type(user_patch(json!([{"op": "add", "path": "emails[type co \"x\"].value", "value": "o@x"}]))),
        Some(ScimType::NoTarget)
    );
}

#[test]
fn add_without_a_path_merges_an_object() {
    let u = user_patch(json!([{"op": "add", "value": {
        "displayName": "Babs",
        "emails": [{"value": "third@x"}],
        "id": "ignored",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division": "EMEA"
    }}]))
    .unwrap();
    assert_eq!(u["displayName"], "Babs");
    assert_eq!(u["emails"].as_array().unwrap().len(), 3);
    assert_eq!(u["id"], "u1", "readOnly attributes are ignored, as in a PUT");
    assert_eq!(u[urn::ENTERPRISE_USER], json!({"department": "Sales", "division": "EMEA"}));
    assert_eq!(u["schemas"], json!([urn::USER, urn::ENTERPRISE_USER]), "schemas follows the extensions present");
}

#[test]
fn add_to_extension_paths() {
    let u = user_patch(json!([
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "u7"},
        {"op": "add", "path": "urn:roster:params:scim:schemas:extension:roster:2.0:User:HIRE_DATE", "value": "2020-01-01"}
    ]))
    .unwrap();
    assert_eq!(u[urn::ENTERPRISE_USER], json!({"department": "Sales", "manager": {"value": "u7"}}));
    assert_eq!(u[urn::ROSTER_USER], json!({"hire_date": "2020-01-01"}));
    let u = user_patch(json!([{"op": "add", "path": urn::ENTERPRISE_USER, "value": {"costCenter": "42"}}])).unwrap();
    assert_eq!(u[urn::ENTERPRISE_USER], json!({"costCenter": "42"}));
}

// --- replace ---

#[test]
fn replace_a_single_valued_attribute() {
    let u = user_patch(json!([{"op": "replace", "path": "active", "value": "False"}])).unwrap();
    assert_eq!(u["active"], false, "Entra ID's string booleans are read");
    let u = user_patch(json!([{"op": "replace", "path": "displayName", "value": "x"}])).unwrap();
    assert_eq!(u["displayName"], "x", "replacing a missing attribute adds it");
    let u = user_patch(json!([{"op": "replace", "path": "name.familyName", "value": "Doe"}])).unwrap();
    assert_eq!(u["name"], json!({"givenName": "Barbara", "familyName": "Doe"}));
}

#[test]
fn replace_a_complex_attribute_keeps_unspecified_sub_attributes() {
    let u = user_patch(json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}])).unwrap();
    assert_eq!(u["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
}

#[test]
fn replace_a_multi_valued_attribute_replaces_all_values() {
    let g = group_patch(json!([{"op": "replace", "path": "members", "value": [{"value": "u9"}]}])).unwrap();
    assert_eq!(member_ids(&g), ["u9"]);
    let g = group_patch(json!([{"op": "replace", "path": "members", "value": []}])).unwrap();
    assert_eq!(g.get("members"), None);
}

#[test]
fn replace_with_a_filter_replaces_matching_values() {
    let u = user_patch(
        json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "new@home", "type": "home"}}]),
    )
    .unwrap();
    assert_eq!(u["emails"][1], json!({"value": "new@home", "type": "home"}));
    let u = user_patch(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x"}])).unwrap();
    assert_eq!(u["emails"][0]["value"], "w@x");
    assert_eq!(u["emails"][1]["value"], "b@home.example");
    let e = user_patch(json!([{"op": "replace", "path": "emails[value ew \".org\"].value", "value": "o@x"}]));
    assert_eq!(scim_type(e), Some(ScimType::NoTarget));
    let u = user_patch(json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x"}])).unwrap();
    assert_eq!(
        u["emails"][2],
        json!({"type": "other", "value": "o@x"}),
        "an eq filter that matches nothing adds the value"
    );
}

#[test]
fn replace_without_a_path() {
    let u = user_patch(
        json!([{"op": "replace", "value": {"userName": "babs", "active": false, "schemas": ["ignored"], "meta": {}}}]),
    )
    .unwrap();
    assert_eq!((u["userName"].as_str(), u["active"].as_bool()), (Some("babs"), Some(false)));
    assert_eq!(u["meta"], barbara()["meta"]);
    let g = group_patch(json!([{"op": "Replace", "value": {"id": "g1", "displayName": "Renamed"}}])).unwrap();
    assert_eq!(g["displayName"], "Renamed");
}

#[test]
fn keys_of_a_value_without_a_path_are_paths() {
    let u = user_patch(json!([{"op": "Replace", "value": {
        "active": "False",
        "name.familyName": "Doe",
        "emails[type eq \"home\"].value": "new@home",
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Babs",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "u7",
        "groups": [{"value": "ignored"}]
    }}]))
    .unwrap();
    assert_eq!(u["active"], false);
    assert_eq!(u["name"], json!({"givenName": "Barbara", "familyName": "Doe"}));
    assert_eq!(u["emails"][1], json!({"value": "new@home", "type": "home"}));
    assert_eq!(u["displayName"], "Babs");
    assert_eq!(u[urn::ENTERPRISE_USER], json!({"manager": {"value": "u7"}}));
    assert_eq!(u["groups"], barbara()["groups"]);
}

#[test]
fn unknown_attributes_in_a_value_are_invalid_path() {
    for (value, named) in [
        (json!({"active": false, "nickName": "Babs"}), "nickName"),
        (json!({"name.middleName": "Q"}), "name.middleName"),
        (json!({"emails.value": "x@y"}), "emails.value"),
        (json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"nickName": "x"}}), "nickName"),
        (json!({"name..x": 1}), "name..x"),
    ] {
        for op in ["add", "replace"] {
            let e = user_patch(json!([{"op": op, "value": value}])).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{value}: {}", e.detail());
            assert!(e.detail().contains(named), "{value}: {}", e.detail());
        }
    }
    let e = group_patch(json!([{"op": "replace", "value": {"displayName": "x", "owner": "u1"}}])).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
    let e = user_patch(json!([{"op": "add", "path": urn::ENTERPRISE_USER, "value": {"nickName": "x"}}])).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "an extension's object by its path too");
    let u = user_patch(
        json!([{"op": "add", "path": urn::ENTERPRISE_USER, "value": {"schemas": [urn::ENTERPRISE_USER], "division": "EMEA"}}]),
    )
    .unwrap();
    assert_eq!(u[urn::ENTERPRISE_USER], json!({"division": "EMEA"}), "readOnly common attributes are ignored there");
}

#[test]
fn replace_in_extensions() {
    let with_ext = {
        let mut b = barbara();
        b[urn::ENTERPRISE_USER] = json!({"department": "Sales", "manager": {"value": "u2", "displayName": "Boss"}});
        b
    };
    let u = patch_with(&users(), &with_ext, json!([
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Ops"},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "u3"}
    ]))
    .unwrap();
    assert_eq!(
        u[urn::ENTERPRISE_USER],
        json!({"department": "Ops", "manager": {"value": "u3", "displayName": "Boss"}})
    );
}

// --- remove ---

#[test]
fn remove_single_valued_and_sub_attributes() {
    let u = user_patch(json!([{"op": "remove", "path": "active"}])).unwrap();
    assert_eq!(u.get("active"), None);
    let u =
        user_patch(json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]))
            .unwrap();
    assert_eq!(u.get("name"), None, "an emptied complex attribute is unassigned");
    let u = user_patch(json!([{"op": "remove", "path": "displayName"}])).unwrap();
    assert_eq!(u, barbara(), "removing a missing attribute changes nothing");
}

#[test]
fn remove_all_values_of_a_multi_valued_attribute() {
    let g = group_patch(json!([{"op": "remove", "path": "members"}])).unwrap();
    assert_eq!(g.get("members"), None);
}

#[test]
fn remove_with_a_filter_removes_matching_values() {
    let g = group_patch(json!([{"op": "remove", "path": "members[value eq \"u2\"]"}])).unwrap();
    assert_eq!(member_ids(&g), ["u1"]);
    let g = group_patch(json!([{"op": "remove", "path": "members[value eq \"u1\" or value eq \"u2\"]"}])).unwrap();
    assert_eq!(g.get("members"), None);
    let e = group_patch(json!([{"op": "remove", "path": "members[value eq \"U2\"]"}]));
    assert_eq!(scim_type(e), Some(ScimType::NoTarget), "member ids are caseExact; no match is noTarget");
    let u = user_patch(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}])).unwrap();
    assert_eq!(u["emails"][0], json!({"value": "b@work.example", "type": "work"}));
}

#[test]
fn remove_listed_values_entra_style() {
    let g = group_patch(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "nobody"}]}]))
        .unwrap();
    assert_eq!(member_ids(&g), ["u2"]);
}

#[test]
fn remove_an_extension_attribute_and_a_whole_extension() {
    let mut with_ext = barbara();
    with_ext[urn::ENTERPRISE_USER] = json!({"department": "Sales", "division": "EMEA"});
    with_ext["schemas"] = json!([urn::USER, urn::ENTERPRISE_USER]);
    let u = patch_with(
        &users(),
        &with_ext,
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]),
    )
    .unwrap();
    assert_eq!(u[urn::ENTERPRISE_USER], json!({"division": "EMEA"}));
    let u = patch_with(&users(), &with_ext, json!([{"op": "remove", "path": urn::ENTERPRISE_USER}])).unwrap();
    assert_eq!(u.get(urn::ENTERPRISE_USER), None);
    assert_eq!(u["schemas"], json!([urn::USER]));
}

// --- errors ---

#[test]
fn read_only_targets_are_mutability_errors() {
    for path in ["id", "groups", "meta.version", "groups[value eq \"g1\"].display", "emails.value"] {
        let e = user_patch(json!([{"op": "replace", "path": path, "value": "x"}])).unwrap_err();
        let expected = if path == "emails.value" { ScimType::InvalidPath } else { ScimType::Mutability };
        assert_eq!(e.scim_type(), Some(expected), "{path}: {}", e.detail());
    }
    let rt = group::resource_type();
    let automatic = json!({"schemas": [urn::GROUP, urn::ROSTER_GROUP], "displayName": "A", urn::ROSTER_GROUP: {"policy": "automatic"}});
    let e = patch_with(
        &rt,
        &automatic,
        json!([{"op": "replace", "path": "urn:roster:params:scim:schemas:extension:roster:2.0:Group:policy", "value": "manual"}]),
    );
    assert_eq!(scim_type(e), Some(ScimType::Mutability));
    let kept = patch_with(&rt, &automatic, json!([{"op": "remove", "path": urn::ROSTER_GROUP}])).unwrap();
    assert_eq!(kept[urn::ROSTER_GROUP], json!({"policy": "automatic"}), "removing the extension keeps readOnly values");
}

#[test]
fn immutable_sub_attributes_cannot_change() {
    let e = group_patch(json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u9"}]));
    assert_eq!(scim_type(e), Some(ScimType::Mutability));
}

#[test]
fn unknown_and_malformed_paths_are_invalid_path() {
    for path in [
        "nickName",
        "name.middleName",
        "department",
        "userName[value eq \"x\"]",
        "emails[kind eq \"x\"]",
        "emails.value",
    ] {
        let e = user_patch(json!([{"op": "add", "path": path, "value": "x"}])).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{path}: {}", e.detail());
    }
}

#[test]
fn values_of_the_wrong_type_are_invalid_value() {
    for (path, value) in
        [("active", json!("maybe")), ("userName", json!(5)), ("name", json!([1])), ("emails", json!([{"value": 1}]))]
    {
        let e = user_patch(json!([{"op": "replace", "path": path, "value": value}])).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue), "{path}");
    }
}

#[test]
fn required_attributes_cannot_be_removed() {
    let e = user_patch(json!([{"op": "remove", "path": "userName"}])).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    assert_eq!(e.detail(), "\"userName\" is required and cannot be removed");
    let e = group_patch(json!([{"op": "replace", "path": "displayName", "value": null}])).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
}

#[test]
fn at_most_one_primary_value() {
    let e = user_patch(
        json!([{"op": "replace", "path": "emails", "value": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]),
    );
    assert_eq!(scim_type(e), Some(ScimType::InvalidValue));
}

#[test]
fn a_failing_operation_fails_the_whole_patch_and_names_it() {
    let e = group_patch(json!([
        {"op": "add", "path": "members", "value": [{"value": "u3"}]},
        {"op": "remove", "path": "members[value eq \"nobody\"]"}
    ]))
    .unwrap_err();
    assert!(e.detail().starts_with("operation 2: "), "{}", e.detail());
}

#[test]
fn operations_apply_in_order() {
    let g = group_patch(json!([
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": [{"value": "u5"}]},
        {"op": "replace", "path": "displayName", "value": "Five"}
    ]))
    .unwrap();
    assert_eq!(member_ids(&g), ["u5"]);
    assert_eq!(
        changed_attributes(&drivers(), &g, &group::resource_type()).iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["displayName", "members"]
    );
}

#[test]
fn schema_qualified_core_paths() {
    let g = group_patch(json!([
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "Q"},
        {"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq \"u1\"]"}
    ]))
    .unwrap();
    assert_eq!((g["displayName"].as_str(), member_ids(&g)), (Some("Q"), vec!["u2"]));
}

#[test]
fn adding_many_members_to_a_large_group_stays_fast() {
    let members: Vec<Value> = (0..50_000).map(|i| json!({"value": format!("u{i}"), "type": "User"})).collect();
    let big = json!({"schemas": [urn::GROUP], "displayName": "Big", "members": members});
    let added: Vec<Value> = (49_000..51_000).map(|i| json!({"value": format!("u{i}")})).collect();
    let started = std::time::Instant::now();
    let g =
        patch_with(&group::resource_type(), &big, json!([{"op": "add", "path": "members", "value": added}])).unwrap();
    assert_eq!(g["members"].as_array().unwrap().len(), 51_000);
    assert!(started.elapsed().as_secs() < 5, "took {:?}", started.elapsed());
}
