//! The Group resource type: the core Group schema (RFC 7643 §4.2) and Roster's extension.

use super::roster;
use super::{common, Attribute, Mutability, ResourceKind, ResourceType, Schema, SchemaExtension, Uniqueness};
use crate::urn;

/// The core Group schema. Roster groups hold users only, so members are of type `User`.
///
/// `members` is readWrite here; the application refuses changes to the members of
/// automatic groups (their membership follows their rule).
pub fn core_schema() -> Schema {
    Schema {
        id: urn::GROUP.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            Attribute::string("displayName", "The group's name. Unique case-insensitively.")
                .required()
                .uniqueness(Uniqueness::Server),
            Attribute::complex(
                "members",
                "The group's members. Read-only for automatic groups.",
                vec![
                    Attribute::string("value", "The member's id.").case_exact().mutability(Mutability::Immutable),
                    Attribute::reference("$ref", &["User"], "The URI of the member.").mutability(Mutability::Immutable),
                    Attribute::string("display", "The member's display name.").read_only(),
                    Attribute::string("type", "The member's resource type.")
                        .canonical_values(&["User"])
                        .mutability(Mutability::Immutable),
                ],
            )
            .multi_valued(),
        ],
    }
}

/// The Group resource type with Roster's extension.
pub fn resource_type() -> ResourceType {
    ResourceType {
        kind: ResourceKind::Group,
        description: "Group".into(),
        schema: core_schema(),
        extensions: vec![SchemaExtension { schema: roster::group_schema(), required: false }],
        common: common::attributes(),
    }
}
