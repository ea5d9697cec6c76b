//! Bulk (RFC 7644 §3.7): parse a BulkRequest within the published limits, resolve
//! `bulkId:` references, and write the BulkResponse.
//!
//! The application runs the operations in [`BulkRequest::execution_order`], resolving each
//! one with the ids created so far ([`BulkOperation::resolve`]); a reference to an
//! operation that failed or has not run is 409. It stops once `failOnErrors` errors occurred.

use std::collections::{BTreeSet, HashMap};

use regex::Regex;
use serde_json::{json, Map, Value};

use crate::error::ScimError;
use crate::json::get_ci;
use crate::provider::Limits;
use crate::schema::ResourceKind;
use crate::urn;

/// The HTTP method of a bulk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkMethod {
    /// Create.
    Post,
    /// Replace.
    Put,
    /// Modify.
    Patch,
    /// Delete.
    Delete,
}

impl BulkMethod {
    /// Parses a method name in any case.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Post, Self::Put, Self::Patch, Self::Delete].into_iter().find(|m| m.as_str().eq_ignore_ascii_case(text))
    }

    /// The method name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// One operation of a bulk request, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    /// The method.
    pub method: BulkMethod,
    /// The client's temporary id for a POST, referenced elsewhere as `bulkId:<id>`.
    pub bulk_id: Option<String>,
    /// The version (ETag) the resource must have, for PUT, PATCH and DELETE.
    pub version: Option<String>,
    /// The resource path: `/Users` for a POST, `/Groups/{id}` otherwise.
    pub path: String,
    /// The body: a resource for POST and PUT, a PatchOp request for PATCH.
    pub data: Option<Value>,
}

/// A parsed bulk request.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors; `None`: run everything.
    pub fail_on_errors: Option<u64>,
    /// The operations, in request order.
    pub operations: Vec<BulkOperation>,
}

/// A bulk operation with its references resolved: ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedOperation {
    /// The method.
    pub method: BulkMethod,
    /// The resource type addressed.
    pub kind: ResourceKind,
    /// The resource id; `None` for a POST.
    pub id: Option<String>,
    /// The body, with `bulkId:` references replaced by ids.
    pub data: Option<Value>,
}

/// 413 Payload Too Large unless `size` bytes fit `maxPayloadSize` (check before parsing).
pub fn check_payload_size(size: usize, limits: &Limits) -> Result<(), ScimError> {
    if size > limits.bulk_max_payload_size {
        return Err(ScimError::payload_too_large(format!(
            "the bulk request is {size} bytes; the maximum is {} (maxPayloadSize)",
            limits.bulk_max_payload_size
        )));
    }
    Ok(())
}

/// 413 Payload Too Large unless `count` operations fit `maxOperations`.
pub fn check_operation_count(count: usize, limits: &Limits) -> Result<(), ScimError> {
    if count > limits.bulk_max_operations {
        return Err(ScimError::payload_too_large(format!(
            "the bulk request has {count} operations; the maximum is {} (maxOperations)",
            limits.bulk_max_operations
        )));
    }
    Ok(())
}

fn bulk_id_reference() -> Option<&'static Regex> {
    static PATTERN: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| Regex::new(r#"bulkId:([^\s/?#"]+)"#).ok()).as_ref()
}

impl BulkRequest {
    /// Parses a raw body: size first (413), then JSON (400 `invalidSyntax`), `schemas`,
    /// the number of operations (413), and each operation (400 `invalidSyntax` naming it).
    pub fn parse(body: &[u8], limits: &Limits) -> Result<Self, ScimError> {
        check_payload_size(body.len(), limits)?;
        Self::from_json(&crate::json::decode_body(body)?, limits)
    }

    /// Parses an already decoded body (its size checked by the caller).
    pub fn from_json(body: &Value, limits: &Limits) -> Result<Self, ScimError> {
        let listed = get_ci(body, "schemas").and_then(Value::as_array);
        if !listed
            .is_some_and(|l| l.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn::BULK_REQUEST))))
        {
            return Err(ScimError::invalid_syntax(format!("\"schemas\" must list \"{}\"", urn::BULK_REQUEST)));
        }
        let fail_on_errors = match get_ci(body, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ScimError::invalid_syntax("\"failOnErrors\" must be a positive integer"))?,
            ),
        };
        let operations = get_ci(body, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimError::invalid_syntax("\"Operations\" must be an array"))?;
        check_operation_count(operations.len(), limits)?;
        let operations = operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                parse_operation(op).map_err(|e| {
                    ScimError::new(e.status(), e.scim_type(), format!("operation {}: {}", i + 1, e.detail()))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = BTreeSet::new();
        for op in &operations {
            if let Some(id) = &op.bulk_id {
                if !seen.insert(id.as_str()) {
                    return Err(ScimError::invalid_syntax(format!(
                        "bulkId \"{id}\" is used by more than one operation"
                    )));
                }
            }
        }
        Ok(Self { fail_on_errors, operations })
    }

    /// Whether to stop after `errors` failed operations.
    pub fn should_stop(&self, errors: u64) -> bool {
        self.fail_on_errors.is_some_and(|limit| errors >= limit)
    }

    /// The order to run the operations in: request order, except that an operation runs
    /// after the POSTs whose `bulkId` it references. Operations in a reference cycle keep
    /// their place; their unresolvable references then fail with 409.
    pub fn execution_order(&self) -> Vec<usize> {
        let defined: HashMap<&str, usize> =
            self.operations.iter().enumerate().filter_map(|(i, op)| op.bulk_id.as_deref().map(|id| (id, i))).collect();
        let deps: Vec<Vec<usize>> = self
            .operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                op.references().iter().filter_map(|r| defined.get(r.as_str()).copied()).filter(|&d| d != i).collect()
            })
            .collect();
        let mut order = Vec::with_capacity(self.operations.len());
        let mut done = vec![false; self.operations.len()];
        while order.len() < self.operations.len() {
            let ready = (0..self.operations.len()).find(|&i| !done[i] && deps[i].iter().all(|&d| done[d]));
            // In a cycle nothing is ready: take the first remaining operation.
            let Some(next) = ready.or_else(|| (0..self.operations.len()).find(|&i| !done[i])) else { break };
            done[next] = true;
            order.push(next);
        }
        order
    }
}

fn parse_operation(op: &Value) -> Result<BulkOperation, ScimError> {
    if !op.is_object() {
        return Err(ScimError::invalid_syntax("an operation must be an object"));
    }
    let text = |key: &str| get_ci(op, key).and_then(Value::as_str).map(str::to_owned);
    let method = text("method")
        .and_then(|m| BulkMethod::parse(&m))
        .ok_or_else(|| ScimError::invalid_syntax("\"method\" must be POST, PUT, PATCH or DELETE"))?;
    let path = text("path")
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| ScimError::invalid_syntax("\"path\" must be a resource path like \"/Users\""))?;
    let bulk_id = text("bulkId");
    if method == BulkMethod::Post && bulk_id.as_deref().is_none_or(str::is_empty) {
        return Err(ScimError::invalid_syntax("a POST needs a \"bulkId\""));
    }
    let data = get_ci(op, "data").filter(|d| !d.is_null()).cloned();
    if method != BulkMethod::Delete && data.is_none() {
        return Err(ScimError::invalid_syntax(format!("a {} needs \"data\"", method.as_str())));
    }
    Ok(BulkOperation { method, bulk_id, version: text("version"), path, data })
}

impl BulkOperation {
    /// The `bulkId`s this operation references, in its path and data.
    pub fn references(&self) -> BTreeSet<String> {
        let mut refs = BTreeSet::new();
        collect_references(&Value::String(self.path.clone()), &mut refs);
        if let Some(data) = &self.data {
            collect_references(data, &mut refs);
        }
        refs
    }

    /// Resolves the path (`/Users`, `/Groups/{id}`, `/Groups/bulkId:x`) and the `bulkId:`
    /// references of the data, given the ids created so far (bulkId → id).
    pub fn resolve(&self, created: &HashMap<String, String>) -> Result<ResolvedOperation, ScimError> {
        let path = resolve_text(&self.path, created)?;
        let mut segments = path.trim_start_matches('/').splitn(2, '/');
        let kind = segments
            .next()
            .and_then(ResourceKind::from_endpoint)
            .ok_or_else(|| ScimError::invalid_syntax(format!("\"{}\" is not /Users or /Groups", self.path)))?;
        let id = segments.next().map(str::to_owned).filter(|id| !id.is_empty() && !id.contains('/'));
        match (self.method, &id) {
            (BulkMethod::Post, Some(_)) => {
                return Err(ScimError::invalid_syntax(format!("a POST goes to {}, not to a resource", kind.endpoint())))
            }
            (BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete, None) => {
                return Err(ScimError::invalid_syntax(format!(
                    "a {} goes to {}/{{id}}",
                    self.method.as_str(),
                    kind.endpoint()
                )))
            }
            _ => {}
        }
        let data = self.data.as_ref().map(|d| resolve_bulk_ids(d, created)).transpose()?;
        Ok(ResolvedOperation { method: self.method, kind, id, data })
    }
}

fn collect_references(value: &Value, refs: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some(re) = bulk_id_reference() {
                refs.extend(re.captures_iter(s).filter_map(|c| c.get(1)).map(|m| m.as_str().to_owned()));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, refs)),
        Value::Object(map) => map.values().for_each(|v| collect_references(v, refs)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Replaces every `bulkId:<id>` in the strings of `data` (whole values like
/// `"bulkId:qwerty"` or inside them like `".../Users/bulkId:qwerty"`) with the created id.
/// An unknown or not yet created bulkId is 409 Conflict.
pub fn resolve_bulk_ids(data: &Value, created: &HashMap<String, String>) -> Result<Value, ScimError> {
    Ok(match data {
        Value::String(s) => Value::String(resolve_text(s, created)?),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| resolve_bulk_ids(v, created)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_bulk_ids(v, created)?)))
                .collect::<Result<Map<_, _>, ScimError>>()?,
        ),
        other => other.clone(),
    })
}

fn resolve_text(text: &str, created: &HashMap<String, String>) -> Result<String, ScimError> {
    let Some(re) = bulk_id_reference() else { return Ok(text.to_owned()) };
    if !text.contains("bulkId:") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for captures in re.captures_iter(text) {
        let (Some(whole), Some(id)) = (captures.get(0), captures.get(1)) else { continue };
        let resolved = created.get(id.as_str()).ok_or_else(|| {
            ScimError::conflict(format!("bulkId \"{}\" cannot be resolved: no operation created it (yet)", id.as_str()))
        })?;
        out.push_str(&text[last..whole.start()]);
        out.push_str(resolved);
        last = whole.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// The outcome of one bulk operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperationResult {
    /// The method.
    pub method: BulkMethod,
    /// The operation's bulkId.
    pub bulk_id: Option<String>,
    /// The resource's version after the operation.
    pub version: Option<String>,
    /// The resource's URL.
    pub location: Option<String>,
    /// The HTTP status.
    pub status: u16,
    /// The response body: the error message for failures.
    pub response: Option<Value>,
}

impl BulkOperationResult {
    /// A success: status (200, 201, 204), and the resource's location and version.
    pub fn success(operation: &BulkOperation, status: u16, location: Option<String>, version: Option<String>) -> Self {
        Self { method: operation.method, bulk_id: operation.bulk_id.clone(), version, location, status, response: None }
    }

    /// A failure, with the error message as the response.
    pub fn failure(operation: &BulkOperation, error: &ScimError) -> Self {
        Self {
            method: operation.method,
            bulk_id: operation.bulk_id.clone(),
            version: None,
            location: None,
            status: error.status(),
            response: Some(error.to_json()),
        }
    }

    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("method".into(), json!(self.method.as_str()));
        for (key, value) in [("bulkId", &self.bulk_id), ("version", &self.version), ("location", &self.location)] {
            if let Some(v) = value {
                o.insert(key.into(), json!(v));
            }
        }
        o.insert("status".into(), json!(self.status.to_string()));
        if let Some(r) = &self.response {
            o.insert("response".into(), r.clone());
        }
        Value::Object(o)
    }
}

/// A BulkResponse message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkResponse {
    /// The results, in the order the operations ran.
    pub operations: Vec<BulkOperationResult>,
}

impl BulkResponse {
    /// How many operations failed (status 400 and above).
    pub fn errors(&self) -> u64 {
        self.operations.iter().filter(|r| r.status >= 400).count() as u64
    }

    /// The message (answered with HTTP 200).
    pub fn to_json(&self) -> Value {
        json!({
            "schemas": [urn::BULK_RESPONSE],
            "Operations": self.operations.iter().map(BulkOperationResult::to_json).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { max_results: 100, bulk_max_operations: 3, bulk_max_payload_size: 2000 }
    }

    fn request(ops: Value) -> Value {
        json!({"schemas": [urn::BULK_REQUEST], "failOnErrors": 1, "Operations": ops})
    }

    fn parse(v: &Value) -> Result<BulkRequest, ScimError> {
        BulkRequest::parse(v.to_string().as_bytes(), &limits())
    }

    #[test]
    fn parses_operations() {
        let r = parse(&request(json!([
            {"method": "post", "path": "/Users", "bulkId": "qwerty", "data": {"userName": "alice"}},
            {"method": "PATCH", "path": "/Groups/g1", "version": "W/\"1\"", "data": {"Operations": []}},
            {"method": "DELETE", "path": "/Users/u9"}
        ])))
        .unwrap();
        assert_eq!(r.fail_on_errors, Some(1));
        assert_eq!(
            r.operations.iter().map(|o| o.method).collect::<Vec<_>>(),
            [BulkMethod::Post, BulkMethod::Patch, BulkMethod::Delete]
        );
        assert_eq!(r.operations[1].version.as_deref(), Some("W/\"1\""));
        assert!(r.should_stop(1) && !r.should_stop(0));
    }

    #[test]
    fn bounds_are_413() {
        let too_many = request(Value::Array(vec![json!({"method": "DELETE", "path": "/Users/1"}); 4]));
        let e = parse(&too_many).unwrap_err();
        assert_eq!((e.status(), e.scim_type()), (413, None));
        assert!(e.detail().contains("maxOperations"));
        let big = request(
            json!([{"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "x".repeat(3000)}}]),
        );
        let e = parse(&big).unwrap_err();
        assert_eq!(e.status(), 413);
        assert!(e.detail().contains("maxPayloadSize"));
        assert!(check_payload_size(2000, &limits()).is_ok());
        assert!(check_operation_count(3, &limits()).is_ok());
    }

    #[test]
    fn malformed_requests_are_invalid_syntax() {
        let e = |v: Value| parse(&v).unwrap_err();
        assert_eq!(BulkRequest::parse(b"{", &limits()).unwrap_err().scim_type(), Some(crate::ScimType::InvalidSyntax));
        assert!(e(json!({"Operations": []})).detail().contains("schemas"));
        assert!(e(request(json!([{"method": "GET", "path": "/Users"}])))
            .detail()
            .starts_with("operation 1: \"method\""));
        assert!(e(request(json!([{"method": "POST", "path": "/Users", "data": {}}]))).detail().contains("bulkId"));
        assert!(e(request(json!([{"method": "PUT", "path": "/Users/1"}]))).detail().contains("needs \"data\""));
        assert!(e(request(json!([{"method": "DELETE", "path": "Users/1"}]))).detail().contains("\"path\""));
        let dup = request(
            json!([{"method": "POST", "path": "/Users", "bulkId": "a", "data": {}}, {"method": "POST", "path": "/Users", "bulkId": "a", "data": {}}]),
        );
        assert!(e(dup).detail().contains("more than one"));
    }

    #[test]
    fn references_resolve_recursively_in_strings() {
        let created = HashMap::from([("qwerty".to_owned(), "u-1".to_owned()), ("ytrewq".to_owned(), "u-2".to_owned())]);
        let data = json!({
            "displayName": "Group with bulkId:qwerty in its name",
            "members": [{"type": "User", "value": "bulkId:qwerty"}, {"value": "bulkId:ytrewq", "$ref": "https://x/Users/bulkId:ytrewq"}],
            "n": 1
        });
        assert_eq!(
            resolve_bulk_ids(&data, &created).unwrap(),
            json!({
                "displayName": "Group with u-1 in its name",
                "members": [{"type": "User", "value": "u-1"}, {"value": "u-2", "$ref": "https://x/Users/u-2"}],
                "n": 1
            })
        );
        let e = resolve_bulk_ids(&json!(["bulkId:nope"]), &created).unwrap_err();
        assert_eq!((e.status(), e.scim_type()), (409, None));
    }

    #[test]
    fn operations_resolve_their_path() {
        let created = HashMap::from([("g".to_owned(), "g-1".to_owned())]);
        let op = |method, path: &str| BulkOperation {
            method,
            bulk_id: None,
            version: None,
            path: path.into(),
            data: Some(json!({})),
        };
        let r = op(BulkMethod::Patch, "/Groups/bulkId:g").resolve(&created).unwrap();
        assert_eq!((r.kind, r.id.as_deref()), (ResourceKind::Group, Some("g-1")));
        assert_eq!(op(BulkMethod::Post, "/Users").resolve(&created).unwrap().id, None);
        assert!(op(BulkMethod::Post, "/Users/1").resolve(&created).is_err());
        assert!(op(BulkMethod::Put, "/Users").resolve(&created).is_err());
        assert!(op(BulkMethod::Put, "/Widgets/1").resolve(&created).is_err());
        assert_eq!(op(BulkMethod::Delete, "/Users/bulkId:x").resolve(&created).unwrap_err().status(), 409);
    }

    #[test]
    fn execution_order_runs_referenced_posts_first() {
        let r = BulkRequest::from_json(
            &request(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"members": [{"value": "bulkId:u"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "a"}},
                {"method": "DELETE", "path": "/Users/x"}
            ])),
            &limits(),
        )
        .unwrap();
        assert_eq!(r.execution_order(), [1, 0, 2]);
        assert_eq!(r.operations[0].references(), BTreeSet::from(["u".to_owned()]));
        let cycle = BulkRequest::from_json(
            &request(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"x": "bulkId:b"}},
                {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"x": "bulkId:a"}}
            ])),
            &limits(),
        )
        .unwrap();
        assert_eq!(cycle.execution_order(), [0, 1]);
    }

    #[test]
    fn response_shape() {
        let post = BulkOperation {
            method: BulkMethod::Post,
            bulk_id: Some("q".into()),
            version: None,
            path: "/Users".into(),
            data: None,
        };
        let response = BulkResponse {
            operations: vec![
                BulkOperationResult::success(&post, 201, Some("https://x/Users/1".into()), Some("W/\"1\"".into())),
                BulkOperationResult::failure(&post, &ScimError::uniqueness("userName \"a\" is taken")),
            ],
        };
        assert_eq!(response.errors(), 1);
        assert_eq!(
            response.to_json(),
            json!({
                "schemas": [urn::BULK_RESPONSE],
                "Operations": [
                    {"method": "POST", "bulkId": "q", "version": "W/\"1\"", "location": "https://x/Users/1", "status": "201"},
                    {"method": "POST", "bulkId": "q", "status": "409", "response": {
                        "schemas": [urn::ERROR], "status": "409", "scimType": "uniqueness", "detail": "userName \"a\" is taken"}}
                ]
            })
        );
    }
}
