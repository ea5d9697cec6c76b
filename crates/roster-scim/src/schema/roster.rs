//! Roster's extension schemas: the platform's additional fields on Users, and a group's
//! policy and rule on Groups.
//!
//! Additional fields are defined at run time by administrators, so the User extension is
//! built from the list the caller passes. A field's SCIM attribute name is its code when
//! the code is a valid SCIM name; otherwise characters SCIM names cannot hold become `_`
//! and a leading non-letter gets an `f` prefix (`hire.date` → `hire_date`, `2fa` → `f2fa`).

use super::{Attribute, Schema};
use crate::urn;

/// The type of an additional field, with a dropdown's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text: SCIM `string`.
    Text,
    /// A number: SCIM `decimal`.
    Number,
    /// A calendar date: SCIM `string` holding `YYYY-MM-DD` (a date has no time or offset).
    Date,
    /// One of the options: SCIM `string` with the options as `canonicalValues`.
    Dropdown(Vec<String>),
    /// Yes or no: SCIM `boolean`.
    YesNo,
}

/// An additional field as the platform defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdditionalField {
    /// The field's stable code; values are keyed by it.
    pub code: String,
    /// The label people see, used as the attribute's description.
    pub label: String,
    /// Its type.
    pub kind: FieldKind,
}

impl AdditionalField {
    /// A field definition.
    pub fn new(code: impl Into<String>, label: impl Into<String>, kind: FieldKind) -> Self {
        Self { code: code.into(), label: label.into(), kind }
    }

    /// The SCIM attribute name of this field in the Roster User extension.
    pub fn attribute_name(&self) -> String {
        let mut name: String = self
            .code
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            name.insert(0, 'f');
        }
        name
    }

    /// The attribute definition published for this field.
    pub fn attribute(&self) -> Attribute {
        let name = self.attribute_name();
        match &self.kind {
            FieldKind::Text => Attribute::string(&name, &self.label),
            FieldKind::Number => Attribute::decimal(&name, &self.label),
            FieldKind::Date => Attribute::string(&name, &format!("{} (a date, YYYY-MM-DD)", self.label)),
            FieldKind::Dropdown(options) => Attribute::string(&name, &self.label).canonical_values(options),
            FieldKind::YesNo => Attribute::boolean(&name, &self.label),
        }
    }
}

/// The fields that get an attribute: the first of any whose names collide, case-insensitively.
pub fn published(fields: &[AdditionalField]) -> Vec<AdditionalField> {
    let mut seen = std::collections::HashSet::new();
    fields.iter().filter(|f| seen.insert(f.attribute_name().to_ascii_lowercase())).cloned().collect()
}

/// Roster's User extension: one attribute per additional field.
pub fn user_schema(fields: &[AdditionalField]) -> Schema {
    Schema {
        id: urn::ROSTER_USER.into(),
        name: "RosterUser".into(),
        description: "The platform's additional user fields".into(),
        attributes: published(fields).iter().map(AdditionalField::attribute).collect(),
    }
}

/// Roster's Group extension: how the group's membership is decided.
pub fn group_schema() -> Schema {
    Schema {
        id: urn::ROSTER_GROUP.into(),
        name: "RosterGroup".into(),
        description: "How a Roster group's membership is decided".into(),
        attributes: vec![
            Attribute::string(
                "policy",
                "manual: members are managed by hand; automatic: members follow the rule and are read-only.",
            )
            .canonical_values(&["manual", "automatic"])
            .case_exact()
            .read_only(),
            Attribute::string("rule", "The rule of an automatic group, in Roster's rule language.")
                .case_exact()
                .read_only(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::AttributeType;

    #[test]
    fn field_types_map_to_scim_types() {
        let cases = [
            (FieldKind::Text, AttributeType::String),
            (FieldKind::Number, AttributeType::Decimal),
            (FieldKind::Date, AttributeType::String),
            (FieldKind::Dropdown(vec!["A".into()]), AttributeType::String),
            (FieldKind::YesNo, AttributeType::Boolean),
        ];
        for (kind, scim) in cases {
            assert_eq!(AdditionalField::new("f", "F", kind).attribute().kind, scim);
        }
        let dropdown = AdditionalField::new("role", "Role", FieldKind::Dropdown(vec!["Driver".into(), "Clerk".into()]));
        assert_eq!(dropdown.attribute().canonical_values, vec!["Driver", "Clerk"]);
    }

    #[test]
    fn codes_become_valid_attribute_names() {
        let name = |code: &str| AdditionalField::new(code, "x", FieldKind::Text).attribute_name();
        assert_eq!(name("hire_date"), "hire_date");
        assert_eq!(name("hire.date"), "hire_date");
        assert_eq!(name("2fa"), "f2fa");
        assert_eq!(name("_x"), "f_x");
        assert!(crate::filter::AttrPath::parse(&name("a.b-c")).is_ok());
    }

    #[test]
    fn colliding_names_keep_the_first_field() {
        let fields = [
            AdditionalField::new("hire.date", "A", FieldKind::Date),
            AdditionalField::new("HIRE_date", "B", FieldKind::Text),
        ];
        let schema = user_schema(&fields);
        assert_eq!(schema.attributes.len(), 1);
        assert_eq!(schema.attributes[0].description, "A (a date, YYYY-MM-DD)");
    }
}
