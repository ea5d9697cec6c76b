//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes a
//! response carries, following each attribute's `returned` characteristic.
//!
//! `id` and `schemas` are always kept (`returned: always`), `returned: never` attributes
//! are always dropped, `returned: request` ones appear only when listed in `attributes`.
//! When both lists are given, `attributes` wins. Unknown names are ignored.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::filter::AttrPath;
use crate::schema::{Attribute, ResourceType, Returned, Schema};

/// The attribute selection of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Projection {
    /// `attributes`: return only these (plus those returned always).
    pub attributes: Vec<AttrPath>,
    /// `excludedAttributes`: return the default set minus these.
    pub excluded: Vec<AttrPath>,
}

/// Where a named attribute lives: its extension URN (`None` at the top level) and name.
type Place<'a> = (Option<&'a str>, &'a str);

impl Projection {
    /// Parses the comma-separated `attributes` and `excludedAttributes` parameters.
    /// A malformed name is 400 `invalidValue`.
    pub fn parse(attributes: Option<&str>, excluded_attributes: Option<&str>) -> Result<Self, ScimError> {
        Ok(Self { attributes: parse_list(attributes)?, excluded: parse_list(excluded_attributes)? })
    }

    /// Whether the top-level attribute `name` of the core schema would be returned; lets
    /// the application skip loading, e.g., the members of a group when they are excluded.
    pub fn includes(&self, resource_type: &ResourceType, name: &str) -> bool {
        resource_type.top_level(name).is_some_and(|a| self.selection(resource_type, (None, &a.name), a).is_some())
    }

    /// The resource with only the selected attributes.
    pub fn apply(&self, resource: &Value, resource_type: &ResourceType) -> Value {
        let Some(object) = resource.as_object() else { return resource.clone() };
        let mut out = Map::new();
        for (key, value) in object {
            if let Some(ext) = resource_type.extension(key) {
                let inner = self.apply_extension(resource_type, &ext.schema, value);
                if !inner.is_empty() {
                    out.insert(key.clone(), Value::Object(inner));
                }
            } else if let Some(a) = resource_type.top_level(key) {
                if let Some(v) = self.project(resource_type, (None, &a.name), a, value) {
                    out.insert(key.clone(), v);
                }
            } else if self.attributes.is_empty() {
                out.insert(key.clone(), value.clone());
            }
        }
        Value::Object(out)
    }

    fn apply_extension(&self, rt: &ResourceType, schema: &Schema, value: &Value) -> Map<String, Value> {
        let mut inner = Map::new();
        for (key, v) in value.as_object().into_iter().flatten() {
            if let Some(a) = schema.attribute(key) {
                if let Some(v) = self.project(rt, (Some(&schema.id), &a.name), a, v) {
                    inner.insert(key.clone(), v);
                }
            }
        }
        inner
    }

    fn project(&self, rt: &ResourceType, place: Place<'_>, attribute: &Attribute, value: &Value) -> Option<Value> {
        let selection = self.selection(rt, place, attribute)?;
        if !attribute.is_complex() {
            return Some(value.clone());
        }
        let keep = |sub: &Attribute| match sub.returned {
            Returned::Always => true,
            Returned::Never => false,
            Returned::Request => selection.subs.iter().any(|s| s.eq_ignore_ascii_case(&sub.name)),
            Returned::Default => match selection.mode {
                Mode::Whole => true,
                Mode::Only => selection.subs.iter().any(|s| s.eq_ignore_ascii_case(&sub.name)),
                Mode::Except => !selection.subs.iter().any(|s| s.eq_ignore_ascii_case(&sub.name)),
            },
        };
        let strip = |v: &Value| match v {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .filter(|(k, _)| attribute.sub_attribute(k).is_none_or(keep))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        };
        Some(match value {
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            single => strip(single),
        })
    }

    /// Whether an attribute is returned, and which of its sub-attributes.
    fn selection(&self, rt: &ResourceType, place: Place<'_>, attribute: &Attribute) -> Option<Selection> {
        match attribute.returned {
            Returned::Never => return None,
            Returned::Always => return Some(Selection { mode: Mode::Whole, subs: Vec::new() }),
            Returned::Default | Returned::Request => {}
        }
        if !self.attributes.is_empty() {
            let whole = self.attributes.iter().any(|p| names(rt, p, place, false));
            let subs = sub_names(rt, &self.attributes, place);
            return match (whole, subs.is_empty()) {
                (true, _) => Some(Selection { mode: Mode::Whole, subs }),
                (false, false) => Some(Selection { mode: Mode::Only, subs }),
                (false, true) => None,
            };
        }
        if attribute.returned == Returned::Request || self.excluded.iter().any(|p| names(rt, p, place, false)) {
            return None;
        }
        Some(Selection { mode: Mode::Except, subs: sub_names(rt, &self.excluded, place) })
    }
}

/// How the sub-attributes of a selected complex attribute are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// All (that are returned by default).
    Whole,
    /// Only those listed.
    Only,
    /// All but those listed.
    Except,
}

#[derive(Debug)]
struct Selection {
    mode: Mode,
    subs: Vec<String>,
}

/// Whether `path` names the attribute at `place` as a whole (or its whole extension).
fn names(rt: &ResourceType, path: &AttrPath, place: Place<'_>, sub: bool) -> bool {
    if !sub {
        if let (Some(ext), Some(urn)) = (rt.extension_named_by(path), place.0) {
            return ext.schema.id.eq_ignore_ascii_case(urn);
        }
    }
    rt.resolve(path).is_some_and(|r| {
        r.extension.map(|s| s.id.as_str()) == place.0 && r.attribute.name == place.1 && r.sub_attribute.is_some() == sub
    })
}

/// The sub-attributes of the attribute at `place` that `paths` name.
fn sub_names(rt: &ResourceType, paths: &[AttrPath], place: Place<'_>) -> Vec<String> {
    paths
        .iter()
        .filter(|p| names(rt, p, place, true))
        .filter_map(|p| rt.resolve(p).and_then(|r| r.sub_attribute).map(|s| s.name.clone()))
        .collect()
}

fn parse_list(list: Option<&str>) -> Result<Vec<AttrPath>, ScimError> {
    list.into_iter().flat_map(|l| l.split(',')).map(str::trim).filter(|s| !s.is_empty()).map(AttrPath::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{group, user, Mutability};
    use crate::urn;
    use serde_json::json;

    fn barbara() -> Value {
        json!({
            "schemas": [urn::USER, urn::ENTERPRISE_USER],
            "id": "u1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@x", "type": "work", "primary": true}],
            "active": true,
            "meta": {"resourceType": "User", "location": "https://x/Users/u1"},
            urn::ENTERPRISE_USER: {"department": "Sales", "division": "EMEA"}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        Projection::parse(attributes, excluded).unwrap().apply(&barbara(), &user::resource_type(&[]))
    }

    #[test]
    fn no_parameters_return_the_default_set() {
        assert_eq!(project(None, None), barbara());
    }

    #[test]
    fn attributes_keep_only_those_plus_always_returned() {
        assert_eq!(
            project(Some("userName"), None),
            json!({"schemas": [urn::USER, urn::ENTERPRISE_USER], "id": "u1", "userName": "bjensen"})
        );
        assert_eq!(project(Some("NAME.givenName, emails.value"), None)["name"], json!({"givenName": "Barbara"}));
        assert_eq!(project(Some("name.givenName,emails.value"), None)["emails"], json!([{"value": "b@x"}]));
        let ext = project(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None);
        assert_eq!(ext[urn::ENTERPRISE_USER], json!({"department": "Sales"}));
        let whole = project(Some(urn::ENTERPRISE_USER), None);
        assert_eq!(whole[urn::ENTERPRISE_USER], json!({"department": "Sales", "division": "EMEA"}));
        assert_eq!(whole.get("userName"), None);
    }

    #[test]
    fn excluded_attributes_drop_from_the_default_set_but_never_id_or_schemas() {
        let p = project(None, Some("emails,name.familyName,id,schemas,meta"));
        assert_eq!(p.get("emails"), None);
        assert_eq!(p.get("meta"), None);
        assert_eq!(p["name"], json!({"givenName": "Barbara"}));
        assert_eq!(p["id"], "u1");
        assert!(p.get("schemas").is_some());
        let p = project(None, Some(urn::ENTERPRISE_USER));
        assert_eq!(p.get(urn::ENTERPRISE_USER), None);
        assert_eq!(project(Some("userName"), Some("userName"))["userName"], "bjensen", "attributes wins");
    }

    #[test]
    fn returned_never_and_request_are_honoured() {
        let mut rt = user::resource_type(&[]);
        rt.schema
            .attributes
            .push(Attribute::string("password", "secret").mutability(Mutability::WriteOnly).returned(Returned::Never));
        rt.schema.attributes.push(Attribute::string("nickName", "on request").returned(Returned::Request));
        let mut resource = barbara();
        resource["password"] = json!("s3cret");
        resource["nickName"] = json!("Babs");
        let default = Projection::default().apply(&resource, &rt);
        assert_eq!((default.get("password"), default.get("nickName")), (None, None));
        let asked = Projection::parse(Some("password,nickName"), None).unwrap().apply(&resource, &rt);
        assert_eq!((asked.get("password"), asked["nickName"].as_str()), (None, Some("Babs")));
    }

    #[test]
    fn includes_tells_whether_members_are_needed() {
        let rt = group::resource_type();
        assert!(Projection::default().includes(&rt, "members"));
        assert!(!Projection::parse(None, Some("members")).unwrap().includes(&rt, "members"));
        assert!(!Projection::parse(Some("displayName"), None).unwrap().includes(&rt, "members"));
        assert!(Projection::parse(Some("members.value"), None).unwrap().includes(&rt, "members"));
    }

    #[test]
    fn malformed_names_are_invalid_value() {
        assert_eq!(
            Projection::parse(Some("userName,a..b"), None).unwrap_err().scim_type(),
            Some(crate::ScimType::InvalidValue)
        );
    }
}
