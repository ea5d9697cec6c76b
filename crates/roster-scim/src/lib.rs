//! SCIM 2.0 for Roster (RFC 7643 schema, RFC 7644 protocol): resources, discovery,
//! filters, PATCH, lists, bulk and ETags, over plain `serde_json` values. No HTTP, no
//! database: the web layer parses requests and shapes responses with it, the app layer
//! maps its domain to and from the typed resources.
//!
//! The layout, one idea per module:
//!
//! - [`provider`]: [`ServiceProvider`], the deployment's configuration (base URL, limits,
//!   additional fields) and the resource types built from it. Everything starts here.
//! - [`schema`]: the attribute model (types, mutability, returned...), the User and Group
//!   schemas, the enterprise and Roster extensions, and path resolution.
//! - [`discovery`]: `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`.
//! - [`resource`]: the typed [`User`] and [`Group`], to and from JSON.
//! - [`filter`]: the filter AST, its parser (lexer, parser), checks and evaluator.
//! - [`patch`]: PatchOp requests, paths with value filters, and applying them to JSON.
//! - [`projection`]: `attributes` / `excludedAttributes`.
//! - [`list`]: pagination, sorting, list queries and the ListResponse.
//! - [`bulk`]: BulkRequest parsing and bounds, `bulkId` resolution, the BulkResponse.
//! - [`etag`]: weak ETags and `If-Match` / `If-None-Match`.
//! - [`error`]: [`ScimError`], shaped as the SCIM error message.
//! - [`urn`]: the schema and message URNs.
//!
//! How a request flows, e.g. `PATCH /Groups/{id}`: the web layer decodes the body and
//! calls the app; the app parses it ([`PatchRequest::parse`]), refuses it for an automatic
//! group when [`PatchRequest::touches`] `members`, writes the stored group as JSON
//! ([`Group::to_json`]), applies the patch, reads the result back ([`Group::from_json`]),
//! stores the difference, and returns the new JSON projected ([`Projection::apply`]).
//!
//! ```
//! use roster_scim::{Filter, Limits, ServiceProvider, User};
//!
//! let sp = ServiceProvider::new(
//!     "https://roster.example/scim/v2",
//!     Limits { max_results: 200, bulk_max_operations: 1000, bulk_max_payload_size: 1 << 20 },
//!     &[],
//! );
//! let filter = Filter::parse_for(r#"userName eq "BJensen" and not (active eq false)"#, sp.users())?;
//! let user = User { active: Some(true), ..User::new("bjensen") };
//! assert!(filter.matches(&user.to_json(&sp), sp.users()));
//! # Ok::<(), roster_scim::ScimError>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod bulk;
pub mod discovery;
pub mod error;
pub mod etag;
pub mod filter;
mod json;
pub mod list;
pub mod patch;
pub mod projection;
pub mod provider;
pub mod resource;
pub mod schema;
pub mod urn;

pub use bulk::{BulkMethod, BulkOperation, BulkOperationResult, BulkRequest, BulkResponse, ResolvedOperation};
pub use error::{ScimError, ScimType};
pub use filter::{AttrPath, CompValue, CompareOp, Filter};
pub use json::decode_body;
pub use list::{ListParams, ListQuery, ListResponse, Page, Sort, SortOrder};
pub use patch::{PatchOp, PatchOperation, PatchPath, PatchRequest};
pub use projection::Projection;
pub use provider::{Limits, ServiceProvider};
pub use resource::{
    EnterpriseUser, FieldValue, Group, GroupPolicy, GroupRef, Manager, Member, Meta, PersonName, User, UserEmail,
};
pub use schema::roster::{AdditionalField, FieldKind};
pub use schema::{ResourceKind, ResourceType};
