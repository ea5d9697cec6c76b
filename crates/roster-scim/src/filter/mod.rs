//! SCIM filters (RFC 7644 §3.4.2.2): text → [`Filter`] tree → checked against a resource
//! type → evaluated against a resource's JSON.
//!
//! - [`ast`]: the public tree (the application may translate it into its own queries)
//!   and its printer.
//! - `lexer`, `parser`: a hand-written, bounded recursive-descent parser.
//! - `check`: refuses unknown attributes and comparisons that do not fit a type.
//! - `eval`: RFC semantics over `serde_json::Value`.

pub mod ast;
pub(crate) mod check;
pub(crate) mod eval;
pub(crate) mod lexer;
pub(crate) mod parser;

use serde_json::Value;

pub use ast::{AttrPath, CompValue, CompareOp, Filter};
pub use parser::{MAX_FILTER_DEPTH, MAX_FILTER_LENGTH};

use crate::error::ScimError;
use crate::schema::ResourceType;

impl Filter {
    /// Parses filter text. Keywords and attribute names are case-insensitive; errors are
    /// 400 `invalidFilter` with the character position.
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        parser::parse_filter(text)
            .map_err(|e| ScimError::invalid_filter(format!("invalid filter {}", e.describe(text))))
    }

    /// Parses filter text and checks it against a resource type ([`Filter::check`]).
    pub fn parse_for(text: &str, resource_type: &ResourceType) -> Result<Filter, ScimError> {
        let filter = Self::parse(text)?;
        filter.check(resource_type)?;
        Ok(filter)
    }

    /// Checks that every path names an attribute of the resource type and every comparison
    /// fits the attribute's type (no `gt` on booleans, numbers compared with numbers...).
    /// Errors are 400 `invalidFilter`.
    pub fn check(&self, resource_type: &ResourceType) -> Result<(), ScimError> {
        check::check(self, eval::Scope::Resource(resource_type))
    }

    /// Whether a resource (its JSON, as this crate writes it) matches the filter.
    ///
    /// Strings compare case-insensitively unless the attribute is `caseExact`; dateTimes
    /// chronologically; numbers numerically. A multi-valued attribute matches when any of
    /// its values does; so `ne` holds when some value differs, and a missing attribute
    /// matches no comparison (use `not (a eq "x")` to include it). `eq null` holds when the
    /// attribute is absent, `ne null` when present. Check the filter first: an unchecked
    /// comparison that does not fit its attribute simply does not match.
    pub fn matches(&self, resource: &Value, resource_type: &ResourceType) -> bool {
        eval::matches(self, eval::Scope::Resource(resource_type), resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_are_invalid_filter_with_a_position() {
        let e = Filter::parse("userName eq \"x\" and").unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidFilter));
        assert_eq!(e.detail(), "invalid filter at character 20: expected an attribute name, found the end of the text");
    }
}
