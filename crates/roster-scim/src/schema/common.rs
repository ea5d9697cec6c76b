//! The common attributes of RFC 7643 §3.1, on every resource and in no schema document.

use super::{Attribute, Mutability, Returned, Uniqueness};

/// `id`, `externalId`, `meta` and `schemas`, as defined by RFC 7643 §3 and §3.1.
pub fn attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("id", "The service provider's unique, stable identifier of the resource.")
            .case_exact()
            .read_only()
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server),
        Attribute::string("externalId", "The provisioning client's identifier of the resource.").case_exact(),
        Attribute::complex(
            "meta",
            "Resource metadata.",
            vec![
                Attribute::string("resourceType", "The name of the resource type.").case_exact().read_only(),
                Attribute::date_time("created", "When the resource was added to the service provider.").read_only(),
                Attribute::date_time("lastModified", "When the resource was last changed.").read_only(),
                Attribute::reference("location", &["uri"], "The URI of the resource.").read_only(),
                Attribute::string("version", "The resource's version, its weak entity tag.").case_exact().read_only(),
            ],
        )
        .read_only(),
        Attribute::reference("schemas", &["uri"], "The URNs of the schemas the resource carries.")
            .multi_valued()
            .required()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always),
    ]
}
