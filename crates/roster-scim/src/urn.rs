//! The URNs of the schemas and messages this crate reads and writes.

/// The core User schema (RFC 7643 §4.1).
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Roster's User extension: the platform's additional fields.
pub const ROSTER_USER: &str = "urn:roster:params:scim:schemas:extension:roster:2.0:User";
/// The core Group schema (RFC 7643 §4.2).
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Roster's Group extension: the group's policy and rule.
pub const ROSTER_GROUP: &str = "urn:roster:params:scim:schemas:extension:roster:2.0:Group";

/// The ServiceProviderConfig schema (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// The ResourceType schema (RFC 7643 §6).
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// The Schema schema (RFC 7643 §7).
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// A list response message (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A search request message (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// A PATCH request message (RFC 7644 §3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// A bulk request message (RFC 7644 §3.7).
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// A bulk response message (RFC 7644 §3.7).
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// An error message (RFC 7644 §3.12).
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
