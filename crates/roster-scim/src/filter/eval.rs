//! Evaluates a [`Filter`] against a resource's JSON with RFC 7644 semantics, and the
//! value ordering that filters and sorting share.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::Value;

use super::ast::{AttrPath, CompValue, CompareOp, Filter};
use crate::json::{elements, get_ci, is_empty};
use crate::schema::{Attribute, AttributeType, ResolvedPath, ResourceType};

/// What the paths of a filter are relative to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// A whole resource of this type.
    Resource(&'a ResourceType),
    /// One value of this complex attribute (inside `[...]`): paths are its sub-attributes.
    Element(&'a Attribute),
}

impl<'a> Scope<'a> {
    /// The attribute a path names in this scope.
    pub(crate) fn resolve(self, path: &AttrPath) -> Option<ResolvedPath<'a>> {
        match self {
            Self::Resource(rt) => rt.resolve(path),
            Self::Element(parent) => {
                if path.schema.is_some() || path.sub_attr.is_some() {
                    return None;
                }
                let attribute = parent.sub_attribute(&path.name)?;
                Some(ResolvedPath { extension: None, attribute, sub_attribute: None })
            }
        }
    }
}

/// The values a resolved path selects in `object`, arrays flattened.
pub(crate) fn values_at<'v>(resolved: &ResolvedPath<'_>, object: &'v Value) -> Vec<&'v Value> {
    let container = match resolved.extension {
        None => Some(object),
        Some(ext) => get_ci(object, &ext.id),
    };
    let Some(value) = container.and_then(|c| get_ci(c, &resolved.attribute.name)) else {
        return Vec::new();
    };
    let values = elements(value);
    match resolved.sub_attribute {
        None => values,
        Some(sub) => values.into_iter().filter_map(|v| get_ci(v, &sub.name)).flat_map(elements).collect(),
    }
}

/// The attribute compared when a path names a complex attribute: its `value` sub-attribute.
pub(crate) fn comparable(leaf: &Attribute) -> Option<&Attribute> {
    if leaf.is_complex() {
        leaf.sub_attribute("value")
    } else {
        Some(leaf)
    }
}

/// Evaluates `filter` with its paths relative to `scope`, against `object`.
pub(crate) fn matches(filter: &Filter, scope: Scope<'_>, object: &Value) -> bool {
    match filter {
        Filter::And(l, r) => matches(l, scope, object) && matches(r, scope, object),
        Filter::Or(l, r) => matches(l, scope, object) || matches(r, scope, object),
        Filter::Not(inner) => !matches(inner, scope, object),
        Filter::Present(path) => {
            scope.resolve(path).is_some_and(|r| values_at(&r, object).into_iter().any(|v| !is_empty(v)))
        }
        Filter::Compare { path, op, value } => {
            let Some(resolved) = scope.resolve(path) else { return false };
            let leaf = resolved.leaf();
            let Some(attribute) = comparable(leaf) else { return false };
            let mut values = values_at(&resolved, object);
            if leaf.is_complex() {
                values = values.into_iter().filter_map(|v| get_ci(v, &attribute.name)).collect();
            }
            compare_all(attribute, *op, &values, value)
        }
        Filter::ValuePath { path, filter } => {
            let Some(resolved) = scope.resolve(path) else { return false };
            if resolved.sub_attribute.is_some() || !resolved.attribute.is_complex() {
                return false;
            }
            values_at(&resolved, object)
                .into_iter()
                .any(|element| matches(filter, Scope::Element(resolved.attribute), element))
        }
    }
}

fn compare_all(attribute: &Attribute, op: CompareOp, values: &[&Value], expected: &CompValue) -> bool {
    let present = values.iter().any(|v| !is_empty(v));
    match expected {
        CompValue::Null => match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        },
        _ => {
            let expected = expected.to_json();
            values.iter().any(|v| compare(attribute, op, v, &expected))
        }
    }
}

/// Whether one attribute value satisfies `value op expected`.
pub(crate) fn compare(attribute: &Attribute, op: CompareOp, value: &Value, expected: &Value) -> bool {
    match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            let (Some(v), Some(e)) = (value.as_str(), expected.as_str()) else { return false };
            let (v, e) = (fold(attribute, v), fold(attribute, e));
            match op {
                CompareOp::Co => v.contains(e.as_str()),
                CompareOp::Sw => v.starts_with(e.as_str()),
                _ => v.ends_with(e.as_str()),
            }
        }
        _ => {
            let Some(ordering) = order(attribute, value, expected) else { return false };
            match op {
                CompareOp::Eq => ordering == Ordering::Equal,
                CompareOp::Ne => ordering != Ordering::Equal,
                // Booleans have no order (RFC 7644: refused when checked).
                _ if attribute.kind == AttributeType::Boolean => false,
                CompareOp::Gt => ordering == Ordering::Greater,
                CompareOp::Ge => ordering != Ordering::Less,
                CompareOp::Lt => ordering == Ordering::Less,
                _ => ordering != Ordering::Greater,
            }
        }
    }
}

/// How two values of an attribute order, by its type; `None` when they do not compare.
pub(crate) fn order(attribute: &Attribute, a: &Value, b: &Value) -> Option<Ordering> {
    match attribute.kind {
        AttributeType::Boolean => Some(a.as_bool()?.cmp(&b.as_bool()?)),
        AttributeType::Decimal | AttributeType::Integer => a.as_f64()?.partial_cmp(&b.as_f64()?),
        AttributeType::DateTime => match (parse_date_time(a.as_str()?), parse_date_time(b.as_str()?)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => None,
        },
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => {
            Some(fold(attribute, a.as_str()?).cmp(&fold(attribute, b.as_str()?)))
        }
        AttributeType::Complex => None,
    }
}

/// An RFC 3339 date-time, or a plain `YYYY-MM-DD` date taken as midnight UTC.
pub(crate) fn parse_date_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        Some(date.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
    })
}

fn fold(attribute: &Attribute, s: &str) -> String {
    if attribute.case_exact {
        s.to_owned()
    } else {
        s.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::filter::Filter;
    use crate::schema::roster::{AdditionalField, FieldKind};
    use crate::schema::{group, user, ResourceType};

    fn users() -> ResourceType {
        user::resource_type(&[
            AdditionalField::new("hire_date", "Hire Date", FieldKind::Date),
            AdditionalField::new("score", "Score", FieldKind::Number),
            AdditionalField::new("driver", "Driver", FieldKind::YesNo),
        ])
    }

    fn bjensen() -> serde_json::Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "Bjensen-Ext",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "active": true,
            "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Tour Operations",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
            },
            "urn:roster:params:scim:schemas:extension:roster:2.0:User": {"hire_date": "2020-03-01", "score": 7.5, "driver": false}
        })
    }

    fn is(filter: &str) -> bool {
        let rt = users();
        let f = Filter::parse_for(filter, &rt).unwrap_or_else(|e| panic!("{filter}: {e}"));
        f.matches(&bjensen(), &rt)
    }

    #[test]
    fn eq_and_ne_on_strings_are_case_insensitive_unless_case_exact() {
        assert!(is(r#"userName eq "BJENSEN""#));
        assert!(is(r#"USERNAME Eq "bjensen""#));
        assert!(!is(r#"userName ne "bjensen""#));
        assert!(is(r#"userName ne "alice""#));
        assert!(is(r#"externalId eq "Bjensen-Ext""#));
        assert!(!is(r#"externalId eq "bjensen-ext""#), "externalId is caseExact");
        assert!(is(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
    }

    #[test]
    fn substring_operators() {
        assert!(is(r#"name.familyName co "ENS""#));
        assert!(is(r#"name.familyName sw "jen""#));
        assert!(is(r#"name.familyName ew "SEN""#));
        assert!(!is(r#"name.familyName sw "sen""#));
        assert!(!is(r#"name.familyName ew "jen""#));
        assert!(!is(r#"name.familyName co "x""#));
    }

    #[test]
    fn presence_means_a_non_empty_value() {
        assert!(is("name.givenName pr"));
        assert!(is("emails pr"));
        assert!(!is("displayName pr"));
        assert!(!is("timezone pr"));
    }

    #[test]
    fn ordering_on_strings_numbers_and_date_times() {
        assert!(is(r#"userName gt "a""#));
        assert!(is(r#"userName ge "BJENSEN""#));
        assert!(is(r#"userName lt "c""#));
        assert!(is(r#"userName le "bjensen""#));
        assert!(!is(r#"userName lt "b""#));
        assert!(is(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
        assert!(is(r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#), "same instant in another offset");
        assert!(is(r#"meta.lastModified eq "2011-05-13T04:42:34.000Z""#));
        assert!(!is(r#"meta.lastModified lt "2011-05-13""#));
        assert!(is(r#"meta.created lt "2011-01-01""#));
        assert!(is(r#"urn:roster:params:scim:schemas:extension:roster:2.0:User:score gt 7"#));
        assert!(is(r#"urn:roster:params:scim:schemas:extension:roster:2.0:User:score le 7.5"#));
        assert!(!is(r#"urn:roster:params:scim:schemas:extension:roster:2.0:User:score lt 7.5"#));
        assert!(is(r#"urn:roster:params:scim:schemas:extension:roster:2.0:User:hire_date ge "2020-01-01""#));
    }

    #[test]
    fn booleans_and_null() {
        assert!(is("active eq true"));
        assert!(!is("active ne true"));
        assert!(is("urn:roster:params:scim:schemas:extension:roster:2.0:User:driver eq false"));
        assert!(is("displayName eq null"));
        assert!(!is("userName eq null"));
        assert!(is("userName ne null"));
    }

    #[test]
    fn multi_valued_attributes_match_when_any_value_does() {
        assert!(is(r#"emails.value eq "babs@jensen.org""#));
        assert!(is(r#"emails co "jensen.org""#), "a complex attribute compares its value sub-attribute");
        assert!(is(r#"emails.type ne "work""#), "some value differs");
        assert!(!is(r#"emails.value ew ".net""#));
        assert!(!is(r#"displayName ne "x""#), "a missing attribute matches no comparison");
        assert!(is(r#"not (displayName eq "x")"#));
    }

    #[test]
    fn complex_attribute_filters_match_within_one_value() {
        assert!(is(r#"emails[type eq "work" and value co "@example.com"]"#));
        assert!(!is(r#"emails[type eq "work" and value co "jensen.org"]"#), "both conditions on the same email");
        assert!(is(r#"emails[type eq "home"] and userName sw "b""#));
        assert!(is(r#"emails[not (type eq "work")]"#));
        assert!(is("emails[primary eq true]"));
        assert!(!is(r#"emails[type eq "other"]"#));
    }

    #[test]
    fn logic_and_precedence() {
        assert!(is(r#"userName eq "x" or userName eq "bjensen" and active eq true"#));
        assert!(!is(r#"(userName eq "x" or userName eq "bjensen") and active eq false"#));
        assert!(is(r#"not (userName eq "x")"#));
        assert!(!is(r#"not (userName eq "bjensen") or not (active eq true)"#));
    }

    #[test]
    fn extension_and_schema_qualified_paths() {
        assert!(is(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#));
        assert!(is(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value sw "2611""#));
        assert!(is(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#));
        assert!(is(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#));
    }

    #[test]
    fn group_members_filter() {
        let rt = group::resource_type();
        let g = json!({"displayName": "Drivers", "members": [{"value": "u1"}, {"value": "u2"}]});
        let f = Filter::parse_for(r#"members[value eq "u2"]"#, &rt).unwrap();
        assert!(f.matches(&g, &rt));
        let f = Filter::parse_for(r#"members.value eq "U2""#, &rt).unwrap();
        assert!(!f.matches(&g, &rt), "member ids are caseExact");
        let f = Filter::parse_for(r#"displayName eq "drivers""#, &rt).unwrap();
        assert!(f.matches(&g, &rt));
    }
}
