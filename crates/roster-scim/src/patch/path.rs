//! PATCH paths (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`.

use std::fmt;

use crate::error::ScimError;
use crate::filter::ast::is_attr_name;
use crate::filter::lexer::{SyntaxError, TokenKind};
use crate::filter::parser::Parser;
use crate::filter::{AttrPath, Filter};

/// A PATCH operation's target: `name.givenName`, `members[value eq "2819c223"]`,
/// `emails[type eq "work"].value`, `urn:...:enterprise:2.0:User:department`, or a whole
/// extension URN.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute. With a filter, its `sub_attr` is the sub-attribute after `]`.
    pub attr: AttrPath,
    /// The value filter of `attr[...]`, over the attribute's sub-attributes.
    pub filter: Option<Filter>,
}

impl PatchPath {
    /// Parses a path; errors are 400 `invalidPath` with the character position.
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        parse(text).map_err(|e| ScimError::invalid_path(format!("invalid path \"{text}\" {}", e.describe(text))))
    }
}

fn parse(text: &str) -> Result<PatchPath, SyntaxError> {
    let mut parser = Parser::new(text)?;
    let (mut attr, at) = parser.attr_path()?;
    let mut filter = None;
    if parser.peek().kind == TokenKind::LBracket {
        filter = Some(parser.value_filter(&attr, at)?);
        if parser.peek().kind == TokenKind::Dot {
            parser.advance();
            let token = parser.advance();
            match token.kind {
                TokenKind::Word(w) if is_attr_name(&w) => attr.sub_attr = Some(w),
                other => {
                    return Err(SyntaxError::new(
                        token.at,
                        format!("expected a sub-attribute after \".\", found {}", other.describe()),
                    ))
                }
            }
        }
    }
    match parser.peek().kind {
        TokenKind::End => Ok(PatchPath { attr, filter }),
        ref other => Err(SyntaxError::new(parser.peek().at, format!("unexpected {} in a path", other.describe()))),
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(filter) = &self.filter else { return write!(f, "{}", self.attr) };
        if let Some(s) = &self.attr.schema {
            write!(f, "{s}:")?;
        }
        write!(f, "{}[{filter}]", self.attr.name)?;
        if let Some(sub) = &self.attr.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{CompValue, CompareOp};
    use crate::ScimType;

    #[test]
    fn plain_and_sub_attribute_paths() {
        let p = PatchPath::parse("name.givenName").unwrap();
        assert_eq!((p.attr, p.filter), (AttrPath::sub("name", "givenName"), None));
        let p = PatchPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department").unwrap();
        assert_eq!(p.attr.schema.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
        assert_eq!(p.attr.name, "department");
    }

    #[test]
    fn value_filters_with_and_without_a_trailing_sub_attribute() {
        let p = PatchPath::parse(r#"members[value eq "2819c223"]"#).unwrap();
        assert_eq!(p.attr, AttrPath::new("members"));
        assert_eq!(
            p.filter,
            Some(Filter::compare(AttrPath::new("value"), CompareOp::Eq, CompValue::String("2819c223".into())))
        );
        let p = PatchPath::parse(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.attr, AttrPath::sub("emails", "value"));
        assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);
        let p =
            PatchPath::parse(r#"urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq "x" or value eq "y"]"#)
                .unwrap();
        assert_eq!(p.attr.schema.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:Group"));
        assert_eq!(PatchPath::parse(&p.to_string()).unwrap(), p);
    }

    #[test]
    fn malformed_paths_are_invalid_path() {
        for bad in [
            "",
            "emails[",
            "emails[type eq \"w\"]x",
            "emails[type eq \"w\"].",
            "emails[type eq \"w\"].1",
            "a b",
            "a.b.c",
            "emails.value[type pr]",
            "(a)",
        ] {
            let e = PatchPath::parse(bad).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{bad}");
            assert!(e.detail().contains("at character"), "{bad}: {}", e.detail());
        }
    }
}
