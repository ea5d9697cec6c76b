//! Checks a parsed filter against a resource type: every path names a known attribute and
//! every comparison fits its attribute's type. Failures are 400 `invalidFilter`.

use super::ast::{CompValue, CompareOp, Filter};
use super::eval::{comparable, parse_date_time, Scope};
use crate::error::ScimError;
use crate::schema::{Attribute, AttributeType};

pub(crate) fn check(filter: &Filter, scope: Scope<'_>) -> Result<(), ScimError> {
    match filter {
        Filter::And(l, r) | Filter::Or(l, r) => {
            check(l, scope)?;
            check(r, scope)
        }
        Filter::Not(inner) => check(inner, scope),
        Filter::Present(path) => scope.resolve(path).map(|_| ()).ok_or_else(|| unknown(path)),
        Filter::Compare { path, op, value } => {
            let resolved = scope.resolve(path).ok_or_else(|| unknown(path))?;
            let leaf = resolved.leaf();
            let attribute = comparable(leaf).ok_or_else(|| {
                ScimError::invalid_filter(format!(
                    "{path} is complex: compare one of its sub-attributes, e.g. {path}.x"
                ))
            })?;
            check_comparison(&path.to_string(), attribute, *op, value)
        }
        Filter::ValuePath { path, filter } => {
            let resolved = scope.resolve(path).ok_or_else(|| unknown(path))?;
            if !resolved.attribute.is_complex() || resolved.sub_attribute.is_some() {
                return Err(ScimError::invalid_filter(format!("{path}[...] needs a complex attribute")));
            }
            check(filter, Scope::Element(resolved.attribute))
        }
    }
}

fn unknown(path: &impl std::fmt::Display) -> ScimError {
    ScimError::invalid_filter(format!("unknown attribute \"{path}\""))
}

fn check_comparison(path: &str, attribute: &Attribute, op: CompareOp, value: &CompValue) -> Result<(), ScimError> {
    let refuse = |why: &str| Err(ScimError::invalid_filter(format!("{path} {} {value}: {why}", op.as_str())));
    if *value == CompValue::Null {
        return Ok(());
    }
    match attribute.kind {
        AttributeType::Boolean => match value {
            CompValue::Bool(_) if matches!(op, CompareOp::Eq | CompareOp::Ne) => Ok(()),
            CompValue::Bool(_) => refuse("a boolean is compared with eq or ne only"),
            _ => refuse("a boolean is compared with true or false"),
        },
        AttributeType::Decimal | AttributeType::Integer => match value {
            CompValue::Number(_) if !op.is_substring() => Ok(()),
            CompValue::Number(_) => refuse("co, sw and ew compare strings"),
            _ => refuse("a number is compared with a number"),
        },
        AttributeType::DateTime => match value {
            CompValue::String(s) if op.is_substring() || parse_date_time(s).is_some() => Ok(()),
            CompValue::String(_) => refuse("not a date and time like \"2024-01-31T09:00:00Z\""),
            _ => refuse("a date and time is compared with a string"),
        },
        AttributeType::Binary if op.is_ordering() => refuse("binary values have no order"),
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => match value {
            CompValue::String(_) => Ok(()),
            _ => refuse("a string is compared with a string (quote it)"),
        },
        AttributeType::Complex => refuse("a complex attribute is not compared"),
    }
}

#[cfg(test)]
mod tests {
    use crate::filter::Filter;
    use crate::schema::roster::{AdditionalField, FieldKind};
    use crate::schema::user;
    use crate::ScimType;

    fn refused(text: &str) -> String {
        let rt = user::resource_type(&[AdditionalField::new("score", "Score", FieldKind::Number)]);
        let e = Filter::parse_for(text, &rt).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{text}");
        e.detail().to_owned()
    }

    #[test]
    fn unknown_attributes_are_refused() {
        assert_eq!(refused("nickName pr"), "unknown attribute \"nickName\"");
        assert!(refused("name.middleName eq \"x\"").contains("unknown attribute"));
        assert!(refused("department eq \"x\"").contains("unknown attribute"), "extension attributes need their URN");
        assert!(refused("emails[kind eq \"x\"]").contains("unknown attribute \"kind\""));
        assert!(refused("userName[value eq \"x\"]").contains("needs a complex attribute"));
    }

    #[test]
    fn comparisons_must_fit_the_type() {
        assert!(refused("active gt \"x\"").contains("compared with true or false"));
        assert!(refused("active eq \"true\"").contains("compared with true or false"));
        assert!(refused("emails[primary lt true]").contains("not true"));
        assert!(refused("userName eq 5").contains("quote it"));
        assert!(refused("meta.created gt \"yesterday\"").contains("not a date"));
        assert!(refused("urn:roster:params:scim:schemas:extension:roster:2.0:User:score eq \"5\"")
            .contains("with a number"));
        assert!(
            refused("urn:roster:params:scim:schemas:extension:roster:2.0:User:score co 5").contains("compare strings")
        );
        assert!(refused("name eq \"x\"").contains("is complex"));
    }
}
