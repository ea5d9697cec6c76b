//! The attribute model of RFC 7643 §2 and §7 (types and characteristics), schemas,
//! resource types, and how an [`AttrPath`] resolves to an attribute definition.
//!
//! The same definitions drive the discovery documents, filter checks and evaluation,
//! PATCH, projections and the typed resources, so what is published is what is supported.
//!
//! - [`common`]: `id`, `externalId`, `meta`, `schemas` (on every resource, in no schema).
//! - [`user`], [`group`]: the core schemas and the enterprise extension.
//! - [`roster`]: Roster's extensions, built from the platform's additional fields.

pub mod common;
pub mod group;
pub mod roster;
pub mod user;

use serde_json::{json, Map, Value};

use crate::error::ScimError;
use crate::filter::AttrPath;
use crate::urn;

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeType {
    /// A Unicode string.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An xsd:dateTime (RFC 3339) string.
    DateTime,
    /// Base64 data.
    Binary,
    /// A URI to a resource or an external document.
    Reference,
    /// A set of sub-attributes.
    Complex,
}

impl AttributeType {
    /// The name used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Decimal => "decimal",
            Self::Integer => "integer",
            Self::DateTime => "dateTime",
            Self::Binary => "binary",
            Self::Reference => "reference",
            Self::Complex => "complex",
        }
    }
}

/// Whether and when an attribute may be written (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Set by the service provider only.
    ReadOnly,
    /// Written freely.
    ReadWrite,
    /// Written once (at creation, or when it has no value), then never changed.
    Immutable,
    /// Written but never returned.
    WriteOnly,
}

impl Mutability {
    /// The name used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "readOnly",
            Self::ReadWrite => "readWrite",
            Self::Immutable => "immutable",
            Self::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute appears in a response (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Returned {
    /// In every response, whatever `attributes` / `excludedAttributes` say.
    Always,
    /// Never.
    Never,
    /// Unless excluded, or unless `attributes` lists others.
    Default,
    /// Only when listed in `attributes`.
    Request,
}

impl Returned {
    /// The name used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Never => "never",
            Self::Default => "default",
            Self::Request => "request",
        }
    }
}

/// How unique a value must be (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    /// No constraint.
    None,
    /// Unique within this service provider.
    Server,
    /// Globally unique.
    Global,
}

impl Uniqueness {
    /// The name used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Server => "server",
            Self::Global => "global",
        }
    }
}

/// An attribute definition with all the characteristics of RFC 7643 §7.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The attribute's name, in its canonical spelling (`userName`).
    pub name: String,
    /// Its data type.
    pub kind: AttributeType,
    /// Whether it holds a list of values.
    pub multi_valued: bool,
    /// What it is for, in a sentence.
    pub description: String,
    /// Whether a resource must have it.
    pub required: bool,
    /// Suggested (for Roster's dropdowns: allowed) values.
    pub canonical_values: Vec<String>,
    /// Whether string comparison is case-sensitive.
    pub case_exact: bool,
    /// When it may be written.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// How unique its values are.
    pub uniqueness: Uniqueness,
    /// For references: the resource types or `external` / `uri` it may point to.
    pub reference_types: Vec<String>,
    /// For complex attributes: the sub-attributes.
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// A single-valued, optional, case-insensitive, readWrite, returned-by-default attribute.
    pub fn new(name: impl Into<String>, kind: AttributeType, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            multi_valued: false,
            description: description.into(),
            required: false,
            canonical_values: Vec::new(),
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// A `string` attribute.
    pub fn string(name: &str, description: &str) -> Self {
        Self::new(name, AttributeType::String, description)
    }

    /// A `boolean` attribute.
    pub fn boolean(name: &str, description: &str) -> Self {
        Self::new(name, AttributeType::Boolean, description)
    }

    /// A `decimal` attribute.
    pub fn decimal(name: &str, description: &str) -> Self {
        Self::new(name, AttributeType::Decimal, description)
    }

    /// A `dateTime` attribute.
    pub fn date_time(name: &str, description: &str) -> Self {
        Self::new(name, AttributeType::DateTime, description)
    }

    /// A case-exact `reference` attribute to the given resource types.
    pub fn reference(name: &str, types: &[&str], description: &str) -> Self {
        let mut a = Self::new(name, AttributeType::Reference, description).case_exact();
        a.reference_types = types.iter().map(|t| (*t).to_owned()).collect();
        a
    }

    /// A `complex` attribute with sub-attributes.
    pub fn complex(name: &str, description: &str, sub_attributes: Vec<Attribute>) -> Self {
        let mut a = Self::new(name, AttributeType::Complex, description);
        a.sub_attributes = sub_attributes;
        a
    }

    /// Makes it multi-valued.
    pub fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Makes it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Makes string comparison case-sensitive.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Sets its mutability.
    pub fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    /// Makes it readOnly.
    pub fn read_only(self) -> Self {
        self.mutability(Mutability::ReadOnly)
    }

    /// Sets when it is returned.
    pub fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    /// Sets its uniqueness.
    pub fn uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    /// Sets its canonical values.
    pub fn canonical_values<S: AsRef<str>>(mut self, values: &[S]) -> Self {
        self.canonical_values = values.iter().map(|v| v.as_ref().to_owned()).collect();
        self
    }

    /// A sub-attribute by name, case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether this is a complex attribute.
    pub fn is_complex(&self) -> bool {
        self.kind == AttributeType::Complex
    }

    /// The attribute definition as a schema document writes it (RFC 7643 §7).
    pub fn to_json(&self) -> Value {
        let mut a = Map::new();
        a.insert("name".into(), json!(self.name));
        a.insert("type".into(), json!(self.kind.as_str()));
        a.insert("multiValued".into(), json!(self.multi_valued));
        a.insert("description".into(), json!(self.description));
        a.insert("required".into(), json!(self.required));
        if !self.canonical_values.is_empty() {
            a.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        a.insert("caseExact".into(), json!(self.case_exact));
        a.insert("mutability".into(), json!(self.mutability.as_str()));
        a.insert("returned".into(), json!(self.returned.as_str()));
        a.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        if self.kind == AttributeType::Reference {
            a.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if self.is_complex() {
            a.insert(
                "subAttributes".into(),
                Value::Array(self.sub_attributes.iter().map(Attribute::to_json).collect()),
            );
        }
        Value::Object(a)
    }

    /// Checks a JSON value against this attribute and brings it to canonical form:
    /// sub-attribute names in their canonical spelling, unknown and readOnly sub-attributes
    /// dropped (RFC 7643 §2.2: clients' readOnly values are ignored), `"True"`/`"False"`
    /// read as booleans and numeric strings as numbers (identity providers send both).
    /// An empty value (`null`, `[]`, `{}`, all sub-attributes null) becomes `null`.
    pub fn normalize(&self, value: &Value) -> Result<Value, ScimError> {
        if self.multi_valued {
            let items: Vec<&Value> = match value {
                Value::Null => return Ok(Value::Null),
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match self.normalize_single(item)? {
                    Value::Null => {}
                    v => out.push(v),
                }
            }
            return Ok(if out.is_empty() { Value::Null } else { Value::Array(out) });
        }
        self.normalize_single(value)
    }

    /// [`Attribute::normalize`] for one value of this attribute (an element when multi-valued).
    pub fn normalize_single(&self, value: &Value) -> Result<Value, ScimError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let wrong = || ScimError::invalid_value(format!("\"{}\" expects {}", self.name, self.expected()));
        match self.kind {
            AttributeType::String | AttributeType::Reference | AttributeType::Binary => {
                value.as_str().map(|s| Value::String(s.to_owned())).ok_or_else(wrong)
            }
            AttributeType::DateTime => match value.as_str() {
                Some(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => Ok(Value::String(s.to_owned())),
                _ => Err(wrong()),
            },
            AttributeType::Boolean => match value {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
                _ => Err(wrong()),
            },
            AttributeType::Decimal | AttributeType::Integer => {
                let number = match value {
                    Value::Number(n) => Some(n.clone()),
                    Value::String(s) => serde_json::from_str::<serde_json::Number>(s.trim()).ok(),
                    _ => None,
                }
                .ok_or_else(wrong)?;
                if self.kind == AttributeType::Integer && !(number.is_i64() || number.is_u64()) {
                    return Err(wrong());
                }
                Ok(Value::Number(number))
            }
            AttributeType::Complex => {
                // A bare value stands for `{"value": ...}` (Entra ID sends a manager this way).
                if !value.is_object() && self.sub_attribute("value").is_some() {
                    return self.normalize_single(&json!({ "value": value }));
                }
                let object = value.as_object().ok_or_else(wrong)?;
                let mut out = Map::new();
                for (key, v) in object {
                    let Some(sub) = self.sub_attribute(key) else { continue };
                    if sub.mutability == Mutability::ReadOnly {
                        continue;
                    }
                    match sub.normalize(v)? {
                        Value::Null => {}
                        v => {
                            out.insert(sub.name.clone(), v);
                        }
                    }
                }
                Ok(if out.is_empty() { Value::Null } else { Value::Object(out) })
            }
        }
    }

    fn expected(&self) -> &'static str {
        match self.kind {
            AttributeType::String | AttributeType::Binary => "a string",
            AttributeType::Reference => "a reference (a string)",
            AttributeType::DateTime => "a date and time like \"2024-01-31T09:00:00Z\"",
            AttributeType::Boolean => "true or false",
            AttributeType::Decimal => "a number",
            AttributeType::Integer => "a whole number",
            AttributeType::Complex => "an object of sub-attributes",
        }
    }
}

/// A schema: a URN and its attributes (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The schema URN.
    pub id: String,
    /// A human-readable name.
    pub name: String,
    /// What it describes.
    pub description: String,
    /// Its top-level attributes.
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// A top-level attribute by name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The schema document served at `/Schemas/{id}`.
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [urn::SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(Attribute::to_json).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            },
        })
    }
}

/// A schema extension of a resource type; its attributes live in an object keyed by its URN.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaExtension {
    /// The extension's schema.
    pub schema: Schema,
    /// Whether every resource of the type must carry it.
    pub required: bool,
}

/// The kinds of resource Roster serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// A user, at `/Users`.
    User,
    /// A group, at `/Groups`.
    Group,
}

impl ResourceKind {
    /// The resource type name (`meta.resourceType`).
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// The endpoint, relative to the base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "/Users",
            Self::Group => "/Groups",
        }
    }

    /// The kind whose endpoint is `segment` (`Users`, `Groups`), case-sensitively as URLs are.
    pub fn from_endpoint(segment: &str) -> Option<Self> {
        [Self::User, Self::Group].into_iter().find(|k| &k.endpoint()[1..] == segment)
    }
}

/// A resource type: its core schema, extensions and the common attributes (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// Which resource this is.
    pub kind: ResourceKind,
    /// What it is, in a sentence.
    pub description: String,
    /// The core schema.
    pub schema: Schema,
    /// The schema extensions.
    pub extensions: Vec<SchemaExtension>,
    /// `id`, `externalId`, `meta` and `schemas`: on every resource, published in no schema.
    pub common: Vec<Attribute>,
}

/// Where an attribute path leads: the attribute and, for `a.b`, the sub-attribute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedPath<'a> {
    /// The extension whose object holds the attribute; `None` for top-level attributes.
    pub extension: Option<&'a Schema>,
    /// The attribute.
    pub attribute: &'a Attribute,
    /// The sub-attribute, when the path names one.
    pub sub_attribute: Option<&'a Attribute>,
}

impl<'a> ResolvedPath<'a> {
    /// The attribute the path ends at: the sub-attribute if any, else the attribute.
    pub fn leaf(&self) -> &'a Attribute {
        self.sub_attribute.unwrap_or(self.attribute)
    }

    /// The path in canonical spelling; extension attributes keep their schema URN.
    pub fn canonical(&self) -> AttrPath {
        AttrPath {
            schema: self.extension.map(|s| s.id.clone()),
            name: self.attribute.name.clone(),
            sub_attr: self.sub_attribute.map(|s| s.name.clone()),
        }
    }
}

impl ResourceType {
    /// The resource type name, e.g. `User`.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// An extension by URN, case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&SchemaExtension> {
        self.extensions.iter().find(|e| e.schema.id.eq_ignore_ascii_case(urn))
    }

    /// The extension a path names as a whole (`urn:...:enterprise:2.0:User`), if it does.
    pub fn extension_named_by(&self, path: &AttrPath) -> Option<&SchemaExtension> {
        path.joined_schema_and_name().and_then(|urn| self.extension(&urn))
    }

    /// A common or core attribute by name, case-insensitively.
    pub fn top_level(&self, name: &str) -> Option<&Attribute> {
        self.common.iter().find(|a| a.name.eq_ignore_ascii_case(name)).or_else(|| self.schema.attribute(name))
    }

    /// Every schema URN a resource of this type may list in `schemas`.
    pub fn schema_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.schema.id.as_str()).chain(self.extensions.iter().map(|e| e.schema.id.as_str()))
    }

    /// Resolves a path to its attribute definition. Unqualified names are core or common
    /// attributes; extension attributes need their schema URN (RFC 7644 §3.10).
    pub fn resolve(&self, path: &AttrPath) -> Option<ResolvedPath<'_>> {
        let (extension, attribute) = match &path.schema {
            None => (None, self.top_level(&path.name)?),
            Some(urn) if urn.eq_ignore_ascii_case(&self.schema.id) => (None, self.top_level(&path.name)?),
            Some(urn) => {
                let ext = &self.extension(urn)?.schema;
                (Some(ext), ext.attribute(&path.name)?)
            }
        };
        let sub_attribute = match &path.sub_attr {
            None => None,
            Some(sub) => Some(attribute.sub_attribute(sub)?),
        };
        Some(ResolvedPath { extension, attribute, sub_attribute })
    }

    /// The resource type document served at `/ResourceTypes/{name}`.
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [urn::RESOURCE_TYPE],
            "id": self.name(),
            "name": self.name(),
            "endpoint": self.kind.endpoint(),
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter()
                .map(|e| json!({"schema": e.schema.id, "required": e.required}))
                .collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.name()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> ResourceType {
        user::resource_type(&[])
    }

    #[test]
    fn unqualified_names_resolve_to_core_and_common_attributes_case_insensitively() {
        let rt = users();
        let r = rt.resolve(&AttrPath::parse("USERNAME").unwrap()).unwrap();
        assert_eq!((r.extension, r.attribute.name.as_str()), (None, "userName"));
        let r = rt.resolve(&AttrPath::parse("name.GIVENNAME").unwrap()).unwrap();
        assert_eq!(r.leaf().name, "givenName");
        assert_eq!(r.canonical().to_string(), "name.givenName");
        assert_eq!(
            rt.resolve(&AttrPath::parse("meta.lastModified").unwrap()).unwrap().leaf().kind,
            AttributeType::DateTime
        );
        assert!(rt.resolve(&AttrPath::parse("id").unwrap()).is_some());
        assert!(rt.resolve(&AttrPath::parse("nickName").unwrap()).is_none());
        assert!(rt.resolve(&AttrPath::parse("name.nope").unwrap()).is_none());
    }

    #[test]
    fn extension_attributes_need_their_urn() {
        let rt = users();
        let p = AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value").unwrap();
        let r = rt.resolve(&p).unwrap();
        assert_eq!(r.extension.map(|s| s.id.as_str()), Some(urn::ENTERPRISE_USER));
        assert_eq!(r.canonical(), p);
        assert!(rt.resolve(&AttrPath::parse("department").unwrap()).is_none());
        let core = AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:userName").unwrap();
        assert_eq!(rt.resolve(&core).unwrap().attribute.name, "userName");
        let whole = AttrPath::parse(urn::ENTERPRISE_USER).unwrap();
        assert!(rt.extension_named_by(&whole).is_some());
    }

    #[test]
    fn normalize_canonicalizes_and_type_checks() {
        let rt = users();
        let emails = rt.top_level("emails").unwrap();
        assert_eq!(
            emails.normalize(&json!({"VALUE": "a@x", "Primary": "True", "unknown": 1})).unwrap(),
            json!([{"value": "a@x", "primary": true}])
        );
        assert_eq!(emails.normalize(&json!([])).unwrap(), Value::Null);
        assert!(emails.normalize(&json!([{"value": 5}])).is_err());
        let active = rt.top_level("active").unwrap();
        assert_eq!(active.normalize(&json!("FALSE")).unwrap(), json!(false));
        assert_eq!(active.normalize(&json!("no")).unwrap_err().scim_type(), Some(crate::ScimType::InvalidValue));
        let created = rt.resolve(&AttrPath::sub("meta", "created")).unwrap().leaf();
        assert!(created.normalize(&json!("2024-01-31")).is_err());
        assert!(created.normalize(&json!("2024-01-31T10:00:00+02:00")).is_ok());
        let manager = rt.extension(urn::ENTERPRISE_USER).unwrap().schema.attribute("manager").unwrap();
        assert_eq!(
            manager.normalize(&json!({"value": "9", "displayName": "read only"})).unwrap(),
            json!({"value": "9"})
        );
        assert_eq!(manager.normalize(&json!("9")).unwrap(), json!({"value": "9"}));
        assert!(rt.top_level("name").unwrap().normalize(&json!("Barbara")).is_err());
    }
}
