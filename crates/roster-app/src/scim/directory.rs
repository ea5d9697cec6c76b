//! The service provider as this deployment publishes it, and the mapping between SCIM's
//! attributes and Roster's fields.
//!
//! `roster_scim` defines the standard schemas; Roster stores less than they hold, so the
//! published User narrows them (RFC 7643 lets a service provider support a subset):
//!
//! | SCIM | Roster |
//! |---|---|
//! | `userName` | username (unique regardless of case) |
//! | `name.givenName`, `name.familyName` | first name, last name |
//! | `displayName` | the display name the client set; when it set none, "first last", or the username; none once a PATCH removes it |
//! | `emails` (required, one kept) | the email, shown as `[{"value": ..., "type": "work"}]` |
//! | `active` (required) | status: `true` active, `false` suspended |
//! | `preferredLanguage`, `timezone` | language, time zone |
//! | `groups` (readOnly) | the groups the user belongs to |
//! | `externalId` | the provisioning client's id (users and groups) |
//! | enterprise `employeeNumber`, `costCenter`, `organization`, `division`, `department`, `manager.value` | the additional field with one of the codes of [`ENTERPRISE_FIELDS`] (text or dropdown), when one exists |
//! | `urn:roster:...:User` extension | every additional field, by code |
//! | Group `displayName`, `members` | the group's name, its members (users) |
//! | `urn:roster:...:Group` extension | `description`; `policy` and `rule`, returned on request |
//!
//! Not published, because Roster has nowhere to keep them: `name.formatted`, `locale`,
//! other emails, `emails.primary`, `members.display`. An extension with no attribute is
//! not published either.

use roster_domain::{FieldDef, FieldType};
use roster_scim::schema::{Attribute, Returned};
use roster_scim::{AdditionalField, FieldKind, Limits, ResourceKind, ServiceProvider};
use roster_store::AnyConnection;

use crate::reach::Reach;
use crate::{AppResult, Context};
use std::sync::Arc;

/// The most resources one list response holds (`count` is clamped to it).
pub const MAX_RESULTS: usize = 1000;
/// The largest request body, bulk or not, in bytes (`bulk.maxPayloadSize`).
pub const MAX_PAYLOAD: usize = 1024 * 1024;
/// The most operations one bulk request holds (`bulk.maxOperations`).
pub const MAX_BULK_OPERATIONS: usize = 1000;

/// The enterprise User attributes and, in order of preference, the codes of the
/// additional field that holds each.
pub const ENTERPRISE_FIELDS: &[(&str, &[&str])] = &[
    ("employeeNumber", &["employee_number", "employeenumber", "employee_id", "institutional_id"]),
    ("costCenter", &["cost_center", "costcenter"]),
    ("organization", &["organization", "organisation"]),
    ("division", &["division"]),
    ("department", &["department"]),
    ("manager", &["manager"]),
];

/// Suggested language tags (any tag such as `pt-BR` is accepted).
const LANGUAGES: &[&str] = &[
    "en", "en-US", "en-GB", "fr", "fr-CA", "de", "es", "es-MX", "it", "nl", "pt", "pt-BR", "pl", "sv", "da", "fi",
    "nb", "cs", "ru", "tr", "ar", "he", "ja", "ko", "zh-CN", "zh-TW",
];

/// The service provider with what validating and mapping a resource needs.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The published service provider.
    pub sp: ServiceProvider,
    /// The field definitions and the org chart; provisioning reaches every user.
    pub(crate) reach: Reach,
    /// Enterprise attribute name → the code of the field that holds it.
    pub enterprise: Vec<(&'static str, String)>,
}

impl Directory {
    /// Builds the service provider at `base_url` from the current field definitions.
    pub(crate) async fn load(conn: &mut AnyConnection, base_url: &str) -> AppResult<Self> {
        let ctx = Context::load(conn).await?;
        Ok(Self::new(ctx, base_url))
    }

    pub(crate) fn new(ctx: Context, base_url: &str) -> Self {
        let enterprise = enterprise_mapping(&ctx.fields);
        let fields: Vec<AdditionalField> = ctx.fields.iter().map(additional_field).collect();
        let limits = Limits {
            max_results: MAX_RESULTS,
            bulk_max_operations: MAX_BULK_OPERATIONS,
            bulk_max_payload_size: MAX_PAYLOAD,
        };
        let kept: Vec<(&str, Vec<String>)> = enterprise
            .iter()
            .map(|(attr, code)| (*attr, ctx.field(code).map(|f| f.options.clone()).unwrap_or_default()))
            .collect();
        let sp = ServiceProvider::new(base_url, limits, &fields)
            .adjust(ResourceKind::User, |rt| {
                narrow_user_core(&mut rt.schema.attributes);
                for ext in &mut rt.extensions {
                    if ext.schema.id == roster_scim::urn::ENTERPRISE_USER {
                        narrow_enterprise(&mut ext.schema.attributes, &kept);
                    }
                }
                rt.extensions.retain(|e| !e.schema.attributes.is_empty());
            })
            .adjust(ResourceKind::Group, |rt| {
                for a in &mut rt.schema.attributes {
                    if a.name == "members" {
                        a.sub_attributes.retain(|s| s.name != "display");
                    }
                }
                for ext in &mut rt.extensions {
                    if ext.schema.id == roster_scim::urn::ROSTER_GROUP {
                        narrow_roster_group(&mut ext.schema.attributes);
                    }
                }
            });
        Self { sp, reach: Reach::everything(Arc::new(ctx)), enterprise }
    }

    /// The field holding an enterprise attribute, if one does.
    pub fn enterprise_code(&self, attribute: &str) -> Option<&str> {
        self.enterprise.iter().find(|(a, _)| *a == attribute).map(|(_, code)| code.as_str())
    }
}

/// The published core User attributes: what Roster stores, as it stores it.
fn narrow_user_core(attributes: &mut Vec<Attribute>) {
    attributes.retain(|a| a.name != "locale");
    for a in attributes.iter_mut() {
        match a.name.as_str() {
            "name" => a.sub_attributes.retain(|s| s.name != "formatted"),
            "displayName" => {
                a.description =
                    "The name to display; when none is set, the given and family names, or the userName.".into();
            }
            "emails" => {
                a.required = true;
                a.description = "The user's email address (Roster keeps one: the primary one sent, else the \
                                 first), shown as the work address."
                    .into();
                a.sub_attributes.retain(|s| s.name != "primary");
                for s in &mut a.sub_attributes {
                    match s.name.as_str() {
                        "value" => s.required = true,
                        "type" => s.canonical_values = vec!["work".into()],
                        _ => {}
                    }
                }
            }
            "active" => {
                a.required = true;
                a.description =
                    "Whether the user is active; false suspends the user (absent in a request: true).".into();
            }
            "preferredLanguage" => a.canonical_values = LANGUAGES.iter().map(|l| (*l).to_owned()).collect(),
            "timezone" => {
                a.description =
                    "The user's time zone: a name of the IANA time zone database, e.g. \"Europe/Paris\".".into();
                a.canonical_values = roster_domain::timezone_names().map(str::to_owned).collect();
            }
            _ => {}
        }
    }
}

/// Roster's Group extension: the description, which clients write, and the policy and
/// rule, which they read on request (`attributes=urn:roster:...:Group`), since no client
/// can write them.
fn narrow_roster_group(attributes: &mut Vec<Attribute>) {
    for a in attributes.iter_mut() {
        a.returned = Returned::Request;
    }
    attributes.insert(0, Attribute::string("description", "What the group is for."));
}

/// Keeps the enterprise attributes that a field holds, with a dropdown's options as
/// canonical values; `manager` keeps `value` and `$ref`.
fn narrow_enterprise(attributes: &mut Vec<Attribute>, kept: &[(&str, Vec<String>)]) {
    attributes.retain(|a| kept.iter().any(|(k, _)| *k == a.name));
    for a in attributes.iter_mut() {
        if let Some((_, options)) = kept.iter().find(|(k, _)| *k == a.name) {
            a.canonical_values.clone_from(options);
        }
        if a.name == "manager" {
            a.sub_attributes.retain(|s| s.name != "displayName");
            a.description =
                "The user's manager: its value is the Manager field's text (a user id gives a $ref).".into();
        }
    }
}

fn enterprise_mapping(fields: &[FieldDef]) -> Vec<(&'static str, String)> {
    ENTERPRISE_FIELDS
        .iter()
        .filter_map(|(attribute, codes)| {
            let field = codes.iter().find_map(|code| {
                fields.iter().find(|f| {
                    f.code.as_str().eq_ignore_ascii_case(code)
                        && matches!(f.field_type, FieldType::Text | FieldType::Dropdown)
                })
            })?;
            Some((*attribute, field.code.to_string()))
        })
        .collect()
}

fn additional_field(f: &FieldDef) -> AdditionalField {
    let kind = match f.field_type {
        FieldType::Text => FieldKind::Text,
        FieldType::Number => FieldKind::Number,
        FieldType::Date => FieldKind::Date,
        FieldType::Dropdown => FieldKind::Dropdown(f.options.clone()),
        FieldType::YesNo => FieldKind::YesNo,
    };
    AdditionalField::new(f.code.as_str(), f.name.as_str(), kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_domain::{BranchTree, Code, Name};
    use roster_scim::schema::Mutability;
    use roster_scim::urn;

    fn def(code: &str, t: FieldType, options: &[&str]) -> FieldDef {
        FieldDef {
            code: Code::parse("code", code).unwrap(),
            name: Name::parse("name", code).unwrap(),
            field_type: t,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        }
    }

    fn directory(fields: Vec<FieldDef>) -> Directory {
        Directory::new(Context { fields, tree: BranchTree::new(vec![]) }, "http://r.test/scim/v2")
    }

    #[test]
    fn without_fields_only_what_roster_stores_is_published() {
        let d = directory(vec![]);
        let doc = d.sp.schemas_document();
        let ids: Vec<&str> = doc["Resources"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [urn::USER, urn::GROUP, urn::ROSTER_GROUP]);
        let user = d.sp.schema_document(urn::USER).unwrap().to_string();
        for gone in ["\"locale\"", "\"formatted\"", "\"primary\""] {
            assert!(!user.contains(gone), "{gone}");
        }
        let rt = d.sp.users();
        assert_eq!(rt.top_level("displayName").unwrap().mutability, Mutability::ReadWrite, "RFC 7643 §4.1.1");
        assert!(rt.top_level("emails").unwrap().required);
        assert!(d.sp.groups().top_level("members").unwrap().sub_attribute("display").is_none());
    }

    #[test]
    fn enterprise_attributes_follow_the_fields_that_exist() {
        let d = directory(vec![
            def("Department", FieldType::Dropdown, &["Sales", "Ops"]),
            def("institutional_id", FieldType::Text, &[]),
            def("manager", FieldType::YesNo, &[]),
        ]);
        assert_eq!(d.enterprise_code("department"), Some("Department"));
        assert_eq!(d.enterprise_code("employeeNumber"), Some("institutional_id"));
        assert_eq!(d.enterprise_code("manager"), None, "a yes/no field cannot hold a manager");
        let ext = &d.sp.users().extension(urn::ENTERPRISE_USER).unwrap().schema;
        let names: Vec<&str> = ext.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["employeeNumber", "department"]);
        assert_eq!(ext.attribute("department").unwrap().canonical_values, ["Sales", "Ops"]);
        assert!(d.sp.users().extension(urn::ROSTER_USER).is_some());
    }
}
