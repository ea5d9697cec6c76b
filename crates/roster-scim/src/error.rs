//! [`ScimError`]: the one error of this crate, shaped as the SCIM error message of
//! RFC 7644 §3.12 so the web layer can answer it as is (`status` and JSON body).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

use crate::urn::ERROR as ERROR_SCHEMA;

/// The `scimType` detail codes of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    /// The filter syntax is invalid, or the attribute and comparison do not fit together.
    InvalidFilter,
    /// The filter yields more results than the service provider is willing to compute.
    TooMany,
    /// A value that must be unique is already taken.
    Uniqueness,
    /// The operation does not fit the attribute's mutability (readOnly, immutable).
    Mutability,
    /// The request body is not the structure its schema requires.
    InvalidSyntax,
    /// A PATCH `path` is invalid or malformed.
    InvalidPath,
    /// A PATCH `path` selects nothing that can be operated on.
    NoTarget,
    /// A required value is missing, or a value does not fit its attribute's type.
    InvalidValue,
    /// The `version` given does not fit the resource's (a bulk or ETag conflict).
    InvalidVers,
    /// The request cannot be completed because it would expose sensitive information.
    Sensitive,
}

impl ScimType {
    /// The code as it appears in `scimType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::Sensitive => "sensitive",
        }
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error: an HTTP status, an optional `scimType` and a human-readable detail.
///
/// The detail never carries anything from a database or the OS: this crate knows neither.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.map_or("error", ScimType::as_str))]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
}

impl ScimError {
    /// An error with any status, `scimType` and detail.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self { status, scim_type, detail: detail.into() }
    }

    /// A 400 Bad Request with the given `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// 400 `mutability`: e.g. writing a readOnly attribute, or the members of an automatic group.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    /// 400 `tooMany`: a filter matches more resources than the service provider returns.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }

    /// 409 `uniqueness`: a unique value (userName, displayName) is already taken.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    /// 409 Conflict without a `scimType` (e.g. an unresolvable `bulkId` reference).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, None, detail)
    }

    /// 412 Precondition Failed: `If-Match` does not hold.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }

    /// 413 Payload Too Large: a bulk request over `maxOperations` or `maxPayloadSize`.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `scimType`, when the status is one that has them.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }

    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The error message body: `{"schemas": [Error], "status": "400", "scimType": ..., "detail": ...}`.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), Value::String(t.as_str().into()));
        }
        body
    }
}

impl Serialize for ScimError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", &[ERROR_SCHEMA])?;
        map.serialize_entry("status", &self.status.to_string())?;
        if let Some(t) = self.scim_type {
            map.serialize_entry("scimType", t.as_str())?;
        }
        map.serialize_entry("detail", &self.detail)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_json_has_the_rfc_shape_with_status_as_a_string() {
        let e = ScimError::invalid_filter("bad filter at character 3");
        assert_eq!(
            e.to_json(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "bad filter at character 3"
            })
        );
        assert_eq!(serde_json::to_value(&e).unwrap(), e.to_json());
    }

    #[test]
    fn errors_without_scim_type_omit_it() {
        let e = ScimError::not_found("no such user");
        assert_eq!(e.to_json().get("scimType"), None);
        assert_eq!(e.to_json()["status"], "404");
        assert_eq!(e.status(), 404);
        assert_eq!(ScimError::payload_too_large("x").status(), 413);
        assert_eq!(ScimError::uniqueness("x").scim_type(), Some(ScimType::Uniqueness));
    }

    #[test]
    fn display_names_status_type_and_detail() {
        assert_eq!(ScimError::no_target("nothing").to_string(), "400 noTarget: nothing");
        assert_eq!(ScimError::precondition_failed("stale").to_string(), "412 error: stale");
    }
}
