//! [`ServiceProvider`]: this deployment's SCIM configuration — base URL, limits, the
//! additional fields — and the resource types built from it. Build one at start-up (and
//! again when additional fields change) and pass it to everything else.

use chrono::{DateTime, Utc};

use crate::etag;
use crate::resource::Meta;
use crate::schema::roster::{self, AdditionalField};
use crate::schema::{group, user, ResourceKind, ResourceType};

/// The limits the service provider publishes and enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most resources one list response returns (`filter.maxResults`, `count` clamp).
    pub max_results: usize,
    /// The most operations one bulk request may hold (`bulk.maxOperations`).
    pub bulk_max_operations: usize,
    /// The largest bulk request body, in bytes (`bulk.maxPayloadSize`).
    pub bulk_max_payload_size: usize,
}

/// The SCIM service provider: configuration plus the User and Group resource types.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceProvider {
    base_url: String,
    limits: Limits,
    fields: Vec<AdditionalField>,
    users: ResourceType,
    groups: ResourceType,
}

impl ServiceProvider {
    /// A service provider at `base_url` (e.g. `https://roster.example.com/scim/v2`, a
    /// trailing `/` is dropped) with the given limits and the platform's additional fields.
    pub fn new(base_url: &str, limits: Limits, fields: &[AdditionalField]) -> Self {
        let fields = roster::published(fields);
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            limits,
            users: user::resource_type(&fields),
            groups: group::resource_type(),
            fields,
        }
    }

    /// Narrows or adjusts a published resource type to what the application really
    /// stores (drop an attribute, make one readOnly or required, suggest values). The
    /// same definitions then drive discovery, filters, PATCH and projections, so what is
    /// published stays what is supported.
    pub fn adjust(mut self, kind: ResourceKind, f: impl FnOnce(&mut ResourceType)) -> Self {
        match kind {
            ResourceKind::User => f(&mut self.users),
            ResourceKind::Group => f(&mut self.groups),
        }
        self
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The published limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The additional fields that have an attribute (name collisions removed).
    pub fn fields(&self) -> &[AdditionalField] {
        &self.fields
    }

    /// The User resource type.
    pub fn users(&self) -> &ResourceType {
        &self.users
    }

    /// The Group resource type.
    pub fn groups(&self) -> &ResourceType {
        &self.groups
    }

    /// The resource type of a kind.
    pub fn resource_type(&self, kind: ResourceKind) -> &ResourceType {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }

    /// The URL of a resource: `{base}/Users/{id}`. Also its `Location` header and `$ref`.
    pub fn location(&self, kind: ResourceKind, id: &str) -> String {
        format!("{}{}/{id}", self.base_url, kind.endpoint())
    }

    /// A resource's `meta`, with `version` the weak ETag of the caller's `version` value
    /// (a revision counter or an update timestamp: anything that changes with the resource).
    pub fn meta(
        &self,
        kind: ResourceKind,
        id: &str,
        created: DateTime<Utc>,
        last_modified: DateTime<Utc>,
        version: &str,
    ) -> Meta {
        Meta {
            resource_type: kind,
            created,
            last_modified,
            location: self.location(kind, id),
            version: Some(etag::weak(version)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::roster::FieldKind;

    #[test]
    fn locations_and_meta_come_from_the_base_url() {
        let limits = Limits { max_results: 100, bulk_max_operations: 10, bulk_max_payload_size: 1000 };
        let sp = ServiceProvider::new("https://r.example/scim/v2/", limits, &[]);
        assert_eq!(sp.base_url(), "https://r.example/scim/v2");
        assert_eq!(sp.location(ResourceKind::Group, "g1"), "https://r.example/scim/v2/Groups/g1");
        let t = DateTime::parse_from_rfc3339("2024-01-31T09:00:00Z").unwrap().with_timezone(&Utc);
        let meta = sp.meta(ResourceKind::User, "u1", t, t, "7");
        assert_eq!(meta.location, "https://r.example/scim/v2/Users/u1");
        assert_eq!(meta.version.as_deref(), Some("W/\"7\""));
    }

    #[test]
    fn adjusting_a_type_changes_what_is_published_and_resolved() {
        let limits = Limits { max_results: 100, bulk_max_operations: 10, bulk_max_payload_size: 1000 };
        let sp = ServiceProvider::new("x", limits, &[])
            .adjust(ResourceKind::User, |rt| rt.schema.attributes.retain(|a| a.name != "locale"));
        assert!(sp.users().top_level("locale").is_none());
        assert!(sp.users().top_level("timezone").is_some());
        assert!(sp.schema_document(crate::urn::USER).is_some_and(|d| !d.to_string().contains("\"locale\"")));
    }

    #[test]
    fn the_user_type_carries_the_additional_fields() {
        let limits = Limits { max_results: 100, bulk_max_operations: 10, bulk_max_payload_size: 1000 };
        let sp = ServiceProvider::new("x", limits, &[AdditionalField::new("dept", "Department", FieldKind::Text)]);
        let ext = sp.users().extension(crate::urn::ROSTER_USER).unwrap();
        assert_eq!(ext.schema.attributes[0].name, "dept");
        assert_eq!(sp.fields().len(), 1);
    }
}
