//! PATCH (RFC 7644 §3.5.2): parse a PatchOp request, apply it to a resource's JSON, and
//! tell what it touches.
//!
//! The application loads the resource, writes its JSON ([`crate::User::to_json`]),
//! calls [`PatchRequest::apply`], and reads the result back ([`crate::User::from_json`])
//! to validate and store it. Applying is all-or-nothing: any failing operation fails the
//! request, and the input is never modified.

mod apply;
mod path;

use serde_json::Value;

pub use path::PatchPath;

use crate::error::ScimError;
use crate::filter::AttrPath;
use crate::json::{get_ci, is_empty};
use crate::schema::ResourceType;
use crate::urn;

/// A PATCH operation's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOp {
    /// Add values (append to multi-valued attributes, merge into complex ones).
    Add,
    /// Remove the targeted values.
    Remove,
    /// Replace the targeted values.
    Replace,
}

impl PatchOp {
    /// Parses `add`, `remove` or `replace` in any case.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Add, Self::Remove, Self::Replace].into_iter().find(|op| op.as_str().eq_ignore_ascii_case(text))
    }

    /// The verb, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Replace => "replace",
        }
    }
}

/// One operation of a PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// The verb.
    pub op: PatchOp,
    /// The target; `None` means the resource itself (add, replace).
    pub path: Option<PatchPath>,
    /// The value; required for add and replace.
    pub value: Option<Value>,
}

/// A parsed PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, applied in order.
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// Parses a request body: `schemas` must list the PatchOp URN; `Operations` holds one
    /// or more `{op, path?, value?}`. An empty `path` counts as none.
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        if !body.is_object() {
            return Err(ScimError::invalid_syntax("the body must be a JSON object"));
        }
        let schemas = get_ci(body, "schemas").and_then(Value::as_array);
        if !schemas.is_some_and(|s| s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(urn::PATCH_OP))))
        {
            return Err(ScimError::invalid_syntax(format!("\"schemas\" must list \"{}\"", urn::PATCH_OP)));
        }
        let operations = get_ci(body, "Operations")
            .and_then(Value::as_array)
            .filter(|ops| !ops.is_empty())
            .ok_or_else(|| ScimError::invalid_syntax("\"Operations\" must be an array of one or more operations"))?;
        let operations = operations
            .iter()
            .enumerate()
            .map(|(i, op)| parse_operation(op).map_err(|e| in_operation(i, e)))
            .collect::<Result<_, _>>()?;
        Ok(Self { operations })
    }

    /// Applies the operations to a resource's JSON and returns the new JSON; `schemas`
    /// follows the extensions present. Errors carry RFC 7644's scimType (`invalidPath`,
    /// `noTarget`, `invalidValue`, `mutability`) and name the failing operation.
    pub fn apply(&self, resource: &Value, resource_type: &ResourceType) -> Result<Value, ScimError> {
        apply::apply(&self.operations, resource, resource_type)
    }

    /// Whether some operation targets the top-level attribute `name` (e.g. `members`),
    /// by its path or, without a path, by a key of its value (a path too).
    pub fn touches(&self, resource_type: &ResourceType, name: &str) -> bool {
        let names = |path: &AttrPath| {
            resource_type
                .resolve(path)
                .is_some_and(|r| r.extension.is_none() && r.attribute.name.eq_ignore_ascii_case(name))
        };
        self.operations.iter().any(|op| match &op.path {
            Some(p) => names(&p.attr),
            None => op
                .value
                .as_ref()
                .and_then(Value::as_object)
                .is_some_and(|v| v.keys().any(|k| PatchPath::parse(k).is_ok_and(|p| names(&p.attr)))),
        })
    }
}

fn parse_operation(op: &Value) -> Result<PatchOperation, ScimError> {
    if !op.is_object() {
        return Err(ScimError::invalid_syntax("an operation must be an object"));
    }
    let verb = get_ci(op, "op")
        .and_then(Value::as_str)
        .and_then(PatchOp::parse)
        .ok_or_else(|| ScimError::invalid_syntax("\"op\" must be \"add\", \"remove\" or \"replace\""))?;
    let path = match get_ci(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(PatchPath::parse(s.trim())?),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = get_ci(op, "value").cloned();
    match (verb, &path, &value) {
        (PatchOp::Remove, None, _) => Err(ScimError::no_target("\"remove\" needs a \"path\"")),
        (PatchOp::Add | PatchOp::Replace, _, None) => {
            Err(ScimError::invalid_value(format!("\"{}\" needs a \"value\"", verb.as_str())))
        }
        (PatchOp::Add | PatchOp::Replace, None, Some(v)) if !v.is_object() => Err(ScimError::invalid_value(format!(
            "\"{}\" without a \"path\" needs an object of attributes as its \"value\"",
            verb.as_str()
        ))),
        _ => Ok(PatchOperation { op: verb, path, value }),
    }
}

/// Prefixes an error's detail with the (1-based) operation it comes from.
pub(crate) fn in_operation(index: usize, e: ScimError) -> ScimError {
    ScimError::new(e.status(), e.scim_type(), format!("operation {}: {}", index + 1, e.detail()))
}

/// The attributes whose values differ between two representations of a resource, as
/// canonical paths (extension attributes with their schema URN). `meta` is left out.
pub fn changed_attributes(before: &Value, after: &Value, resource_type: &ResourceType) -> Vec<AttrPath> {
    let differs = |container: Option<&str>, name: &str| {
        let get = |v: &Value| {
            let c = match container {
                None => Some(v),
                Some(urn) => get_ci(v, urn),
            };
            c.and_then(|c| get_ci(c, name)).filter(|v| !is_empty(v)).cloned()
        };
        get(before) != get(after)
    };
    let mut changed = Vec::new();
    for a in resource_type.common.iter().chain(&resource_type.schema.attributes) {
        if !a.name.eq_ignore_ascii_case("meta") && !a.name.eq_ignore_ascii_case("schemas") && differs(None, &a.name) {
            changed.push(AttrPath::new(a.name.clone()));
        }
    }
    for ext in &resource_type.extensions {
        for a in &ext.schema.attributes {
            if differs(Some(&ext.schema.id), &a.name) {
                changed.push(AttrPath { schema: Some(ext.schema.id.clone()), name: a.name.clone(), sub_attr: None });
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{group, user};
    use crate::ScimType;
    use serde_json::json;

    fn body(ops: Value) -> Value {
        json!({"schemas": [urn::PATCH_OP], "Operations": ops})
    }

    #[test]
    fn parses_operations_in_any_case() {
        let r = PatchRequest::parse(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": "u1"}]},
                {"OP": "REPLACE", "value": {"displayName": "x"}},
                {"op": "remove", "path": "members[value eq \"u2\"]"},
                {"op": "replace", "path": "", "value": {"displayName": "y"}}
            ]
        }))
        .unwrap();
        let ops: Vec<_> = r.operations.iter().map(|o| (o.op, o.path.is_some())).collect();
        assert_eq!(
            ops,
            [(PatchOp::Add, true), (PatchOp::Replace, false), (PatchOp::Remove, true), (PatchOp::Replace, false)]
        );
    }

    #[test]
    fn malformed_requests_have_the_rfc_scim_types() {
        let e = |b: Value| PatchRequest::parse(&b).unwrap_err();
        assert_eq!(e(json!({"Operations": []})).scim_type(), Some(ScimType::InvalidSyntax));
        assert_eq!(e(body(json!([]))).scim_type(), Some(ScimType::InvalidSyntax));
        assert_eq!(e(body(json!([{"op": "move", "path": "a"}]))).scim_type(), Some(ScimType::InvalidSyntax));
        let no_target = e(body(json!([{"op": "add", "path": "a", "value": 1}, {"op": "remove"}])));
        assert_eq!(no_target.scim_type(), Some(ScimType::NoTarget));
        assert_eq!(no_target.detail(), "operation 2: \"remove\" needs a \"path\"");
        assert_eq!(e(body(json!([{"op": "add", "path": "a"}]))).scim_type(), Some(ScimType::InvalidValue));
        assert_eq!(e(body(json!([{"op": "replace", "value": "x"}]))).scim_type(), Some(ScimType::InvalidValue));
        assert_eq!(
            e(body(json!([{"op": "add", "path": "emails[", "value": 1}]))).scim_type(),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(e(body(json!([{"op": "add", "path": 5, "value": 1}]))).scim_type(), Some(ScimType::InvalidPath));
    }

    #[test]
    fn touches_sees_members_by_path_or_by_value_key() {
        let rt = group::resource_type();
        let t = |ops: Value| PatchRequest::parse(&body(ops)).unwrap().touches(&rt, "members");
        assert!(t(json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]}])));
        assert!(t(json!([{"op": "remove", "path": "MEMBERS[value eq \"u1\"]"}])));
        assert!(t(json!([{"op": "replace", "value": {"Members": []}}])));
        assert!(t(json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:Group:members": []}}])));
        assert!(t(
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": []}])
        ));
        assert!(!t(json!([{"op": "replace", "path": "displayName", "value": "x"}])));
        assert!(!t(json!([{"op": "replace", "value": {"displayName": "x"}}])));
    }

    #[test]
    fn changed_attributes_lists_canonical_paths() {
        let rt = user::resource_type(&[]);
        let before = json!({"userName": "a", "active": true, "meta": {"version": "1"}});
        let after = json!({"userName": "b", "active": true, "meta": {"version": "2"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}});
        let changed: Vec<String> = changed_attributes(&before, &after, &rt).iter().map(ToString::to_string).collect();
        assert_eq!(changed, ["userName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"]);
        assert!(changed_attributes(&before, &before, &rt).is_empty());
    }
}

#[cfg(test)]
mod tests_apply;
