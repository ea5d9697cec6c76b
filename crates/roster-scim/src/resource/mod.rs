//! Typed SCIM resources: [`User`] and [`Group`], built by the application from its own
//! data and written as JSON, or read from a request body (POST, PUT, the result of a PATCH).
//!
//! Reading follows RFC 7643 §2.2 and RFC 7644 §3.3: `schemas` must list the core schema;
//! attribute names are case-insensitive; readOnly attributes (`id`, `meta`, `groups`,
//! a group's `policy` and `rule`) and unknown attributes are ignored; a value of the wrong
//! type is 400 `invalidValue`.

mod group;
mod user;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

pub use group::{Group, GroupPolicy, Member};
pub use user::{EnterpriseUser, FieldValue, GroupRef, Manager, PersonName, User, UserEmail};

use crate::error::ScimError;
use crate::json::get_ci;
use crate::schema::{Mutability, ResourceKind, ResourceType};

/// A resource's `meta` (RFC 7643 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The resource type.
    pub resource_type: ResourceKind,
    /// When the resource was created.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub last_modified: DateTime<Utc>,
    /// Its URL.
    pub location: String,
    /// Its weak ETag, `W/"..."` (see [`crate::etag::weak`]).
    pub version: Option<String>,
}

impl Meta {
    /// The `meta` object.
    pub fn to_json(&self) -> Value {
        let mut meta = json!({
            "resourceType": self.resource_type.name(),
            "created": timestamp(self.created),
            "lastModified": timestamp(self.last_modified),
            "location": self.location,
        });
        if let (Some(v), Some(map)) = (&self.version, meta.as_object_mut()) {
            map.insert("version".into(), json!(v));
        }
        meta
    }
}

/// An RFC 3339 UTC timestamp, `Z`-suffixed, with fractions only when there are some.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A request body reduced to the writable attributes of a resource type, in canonical
/// spelling: core attributes at the top, extension attributes in objects keyed by URN.
pub(crate) fn writable_attributes(body: &Value, rt: &ResourceType) -> Result<Map<String, Value>, ScimError> {
    let object = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    check_schemas(body, rt)?;
    let mut out = Map::new();
    for (key, value) in object {
        if let Some(ext) = rt.extension(key) {
            let Some(fields) = value.as_object() else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!("\"{}\" must be an object", ext.schema.id)));
            };
            let mut inner = Map::new();
            for (k, v) in fields {
                let Some(attribute) = ext.schema.attribute(k) else { continue };
                if attribute.mutability == Mutability::ReadOnly {
                    continue;
                }
                match attribute.normalize(v)? {
                    Value::Null => {}
                    v => {
                        inner.insert(attribute.name.clone(), v);
                    }
                }
            }
            if !inner.is_empty() {
                out.insert(ext.schema.id.clone(), Value::Object(inner));
            }
        } else if let Some(attribute) = rt.top_level(key) {
            if attribute.mutability == Mutability::ReadOnly {
                continue;
            }
            match attribute.normalize(value)? {
                Value::Null => {}
                v => {
                    out.insert(attribute.name.clone(), v);
                }
            }
        }
    }
    Ok(out)
}

/// RFC 7643 §3: `schemas` is required and lists the resource's core schema.
fn check_schemas(body: &Value, rt: &ResourceType) -> Result<(), ScimError> {
    let listed = get_ci(body, "schemas").and_then(Value::as_array);
    let has_core =
        listed.is_some_and(|l| l.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&rt.schema.id))));
    if has_core {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!("\"schemas\" must list \"{}\"", rt.schema.id)))
    }
}

/// A string sub-value of a canonical object.
pub(crate) fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Inserts `key: value` when there is a value.
pub(crate) fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v.into());
    }
}
