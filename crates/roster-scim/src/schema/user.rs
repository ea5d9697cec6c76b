//! The User resource type: the supported part of the core User schema (RFC 7643 §4.1),
//! the enterprise extension (§4.3) and Roster's additional fields.

use super::roster::{self, AdditionalField};
use super::{common, Attribute, Mutability, ResourceKind, ResourceType, Schema, SchemaExtension, Uniqueness};
use crate::urn;

/// The core User schema, limited to what Roster stores.
pub fn core_schema() -> Schema {
    Schema {
        id: urn::USER.into(),
        name: "User".into(),
        description: "User Account".into(),
        attributes: vec![
            Attribute::string(
                "userName",
                "Unique identifier for the user, used to sign in. Unique case-insensitively.",
            )
            .required()
            .uniqueness(Uniqueness::Server),
            Attribute::complex(
                "name",
                "The components of the user's name.",
                vec![
                    Attribute::string("formatted", "The full name, formatted for display."),
                    Attribute::string("familyName", "The family (last) name."),
                    Attribute::string("givenName", "The given (first) name."),
                ],
            ),
            Attribute::string("displayName", "The name of the user, suitable for display."),
            Attribute::complex(
                "emails",
                "Email addresses of the user; the primary one is the user's email.",
                vec![
                    Attribute::string("value", "The email address."),
                    Attribute::string("type", "What the address is for.").canonical_values(&["work", "home", "other"]),
                    Attribute::boolean("primary", "Whether this is the primary address."),
                ],
            )
            .multi_valued(),
            Attribute::boolean("active", "Whether the user is active (false: suspended)."),
            Attribute::string("preferredLanguage", "The user's preferred written language, e.g. \"en\" or \"fr-CA\"."),
            Attribute::string("locale", "The user's locale for formatting, e.g. \"en-US\"."),
            Attribute::string("timezone", "The user's time zone, in IANA form, e.g. \"Europe/Paris\"."),
            Attribute::complex(
                "groups",
                "The groups the user belongs to. Read-only: change membership through the Group.",
                vec![
                    Attribute::string("value", "The group's id.").case_exact().read_only(),
                    Attribute::reference("$ref", &["Group"], "The URI of the group.").read_only(),
                    Attribute::string("display", "The group's display name.").read_only(),
                    Attribute::string("type", "How the user belongs to the group.")
                        .canonical_values(&["direct"])
                        .read_only(),
                ],
            )
            .multi_valued()
            .mutability(Mutability::ReadOnly),
        ],
    }
}

/// The enterprise User extension (RFC 7643 §4.3).
pub fn enterprise_schema() -> Schema {
    Schema {
        id: urn::ENTERPRISE_USER.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            Attribute::string("employeeNumber", "A numeric or alphanumeric identifier assigned by the organization."),
            Attribute::string("costCenter", "The name of a cost center."),
            Attribute::string("organization", "The name of an organization."),
            Attribute::string("division", "The name of a division."),
            Attribute::string("department", "The name of a department."),
            Attribute::complex(
                "manager",
                "The user's manager.",
                vec![
                    Attribute::string("value", "The id of the manager's User.").case_exact(),
                    Attribute::reference("$ref", &["User"], "The URI of the manager's User."),
                    Attribute::string("displayName", "The manager's display name.").read_only(),
                ],
            ),
        ],
    }
}

/// The User resource type with the enterprise and Roster extensions.
pub fn resource_type(fields: &[AdditionalField]) -> ResourceType {
    ResourceType {
        kind: ResourceKind::User,
        description: "User Account".into(),
        schema: core_schema(),
        extensions: vec![
            SchemaExtension { schema: enterprise_schema(), required: false },
            SchemaExtension { schema: roster::user_schema(fields), required: false },
        ],
        common: common::attributes(),
    }
}
