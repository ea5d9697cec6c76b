//! The filter AST of RFC 7644 §3.4.2.2 and its printer.
//!
//! The tree is plain public data so that the application can translate it into its own
//! queries. Printing a tree with `Display` and parsing the text again gives the same tree.

use std::fmt;

use serde_json::{Number, Value};

use crate::error::ScimError;

/// An attribute path: `[schemaURN ":"] name ["." subAttribute]`, e.g. `name.givenName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
///
/// Names keep the spelling of the request; SCIM attribute names are case-insensitive, so
/// compare them with [`AttrPath::is`] or resolve them with
/// [`ResourceType::resolve`](crate::schema::ResourceType::resolve).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix, when the path is fully qualified.
    pub schema: Option<String>,
    /// The attribute name.
    pub name: String,
    /// The sub-attribute name of a complex attribute.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path to a top-level attribute without a schema prefix.
    pub fn new(name: impl Into<String>) -> Self {
        Self { schema: None, name: name.into(), sub_attr: None }
    }

    /// A path to a sub-attribute without a schema prefix.
    pub fn sub(name: impl Into<String>, sub_attr: impl Into<String>) -> Self {
        Self { schema: None, name: name.into(), sub_attr: Some(sub_attr.into()) }
    }

    /// Parses a standalone attribute path (an `attributes` entry, `sortBy`).
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        Self::parse_word(text).map_err(|m| ScimError::invalid_value(format!("invalid attribute path \"{text}\": {m}")))
    }

    /// Splits a lexer word into schema, name and sub-attribute; the message says what is wrong.
    pub(crate) fn parse_word(word: &str) -> Result<Self, String> {
        let (schema, rest) = match word.rfind(':') {
            Some(i) => (Some(&word[..i]), &word[i + 1..]),
            None => (None, word),
        };
        if let Some(s) = schema {
            if s.is_empty() || !s.chars().all(is_uri_char) {
                return Err("the schema URN before the attribute name is malformed".into());
            }
        }
        let (name, sub_attr) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        if !is_attr_name(name) {
            return Err(format!("\"{name}\" is not an attribute name"));
        }
        if let Some(s) = sub_attr {
            if !is_attr_name(s) {
                return Err(format!("\"{s}\" is not a sub-attribute name"));
            }
        }
        Ok(Self { schema: schema.map(str::to_owned), name: name.to_owned(), sub_attr: sub_attr.map(str::to_owned) })
    }

    /// Whether this path names `name` (case-insensitively) with no schema and no sub-attribute.
    pub fn is(&self, name: &str) -> bool {
        self.schema.is_none() && self.sub_attr.is_none() && self.name.eq_ignore_ascii_case(name)
    }

    /// The schema prefix and the name joined back, e.g. a whole extension URN given as a path.
    pub(crate) fn joined_schema_and_name(&self) -> Option<String> {
        match (&self.schema, &self.sub_attr) {
            (Some(s), None) => Some(format!("{s}:{}", self.name)),
            _ => None,
        }
    }
}

/// `ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_")`, plus `$ref`, which RFC 7643 uses.
pub(crate) fn is_attr_name(s: &str) -> bool {
    if s.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The characters a schema URN prefix may hold.
pub(crate) fn is_uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_')
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.schema {
            write!(f, "{s}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(s) = &self.sub_attr {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

/// A comparison operator of RFC 7644 Table 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
}

impl CompareOp {
    /// Every operator, in the RFC's order.
    pub const ALL: [CompareOp; 9] =
        [Self::Eq, Self::Ne, Self::Co, Self::Sw, Self::Ew, Self::Gt, Self::Ge, Self::Lt, Self::Le];

    /// The operator's keyword, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// Parses a keyword, case-insensitively.
    pub fn parse(keyword: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(keyword))
    }

    /// Whether this is an ordering operator (`gt`, `ge`, `lt`, `le`).
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }

    /// Whether this is a substring operator (`co`, `sw`, `ew`).
    pub fn is_substring(self) -> bool {
        matches!(self, Self::Co | Self::Sw | Self::Ew)
    }
}

/// A comparison value: a JSON `false`, `null`, `true`, number or string.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number.
    Number(Number),
    /// A JSON string, escapes decoded.
    String(String),
}

impl CompValue {
    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(n) => Value::Number(n.clone()),
            Self::String(s) => Value::String(s.clone()),
        }
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            // A JSON string literal, so that printing then parsing gives the same text back.
            Self::String(s) => write!(f, "{}", Value::String(s.clone())),
        }
    }
}

/// A SCIM filter (RFC 7644 §3.4.2.2).
///
/// `and` and `or` are binary and left-associative, as parsed: `a and b and c` is
/// `And(And(a, b), c)`. Inside a [`Filter::ValuePath`] the paths name sub-attributes of
/// the outer attribute (`emails[type eq "work"]`: `type` is `emails.type`).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// `attrPath op compValue`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The value compared with.
        value: CompValue,
    },
    /// `attrPath[valFilter]`: some value of a complex attribute matches the inner filter.
    ValuePath {
        /// The complex attribute (no sub-attribute).
        path: AttrPath,
        /// The filter over its sub-attributes.
        filter: Box<Filter>,
    },
    /// `not (filter)`.
    Not(Box<Filter>),
    /// `filter and filter`.
    And(Box<Filter>, Box<Filter>),
    /// `filter or filter`.
    Or(Box<Filter>, Box<Filter>),
}

impl Filter {
    /// `path op value`.
    pub fn compare(path: AttrPath, op: CompareOp, value: CompValue) -> Self {
        Self::Compare { path, op, value }
    }

    /// `left and right`.
    pub fn and(left: Filter, right: Filter) -> Self {
        Self::And(Box::new(left), Box::new(right))
    }

    /// `left or right`.
    pub fn or(left: Filter, right: Filter) -> Self {
        Self::Or(Box::new(left), Box::new(right))
    }

    /// `not (inner)`.
    pub fn negate(inner: Filter) -> Self {
        Self::Not(Box::new(inner))
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Present(p) => write!(f, "{p} pr"),
            Self::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Self::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::And(l, r) => {
                // Parentheses keep the tree's shape: `or` binds looser, and `and` is left-associative.
                write_grouped(f, l, matches!(**l, Self::Or(..)))?;
                f.write_str(" and ")?;
                write_grouped(f, r, matches!(**r, Self::Or(..) | Self::And(..)))
            }
            Self::Or(l, r) => {
                write!(f, "{l} or ")?;
                write_grouped(f, r, matches!(**r, Self::Or(..)))
            }
        }
    }
}

fn write_grouped(f: &mut fmt::Formatter<'_>, filter: &Filter, parenthesize: bool) -> fmt::Result {
    if parenthesize {
        write!(f, "({filter})")
    } else {
        write!(f, "{filter}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_paths_split_schema_name_and_sub_attribute() {
        let p = AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();
        assert_eq!(p.schema.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
        assert_eq!(p.name, "name");
        assert_eq!(p.sub_attr.as_deref(), Some("givenName"));
        assert_eq!(p.to_string(), "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName");
        assert_eq!(AttrPath::parse("members.$ref").unwrap(), AttrPath::sub("members", "$ref"));
    }

    #[test]
    fn malformed_attr_paths_are_refused() {
        for bad in ["", "1abc", "a.b.c", "a.", ":a", "urn:x:", "a b", "emails[type"] {
            assert!(AttrPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_parenthesizes_only_where_the_tree_needs_it() {
        let a = Filter::Present(AttrPath::new("a"));
        let b = Filter::Present(AttrPath::new("b"));
        let c = Filter::Present(AttrPath::new("c"));
        let or = Filter::or(a.clone(), Filter::and(b.clone(), c.clone()));
        assert_eq!(or.to_string(), "a pr or b pr and c pr");
        let and = Filter::and(Filter::or(a.clone(), b.clone()), c.clone());
        assert_eq!(and.to_string(), "(a pr or b pr) and c pr");
        let right = Filter::and(a, Filter::and(b, c));
        assert_eq!(right.to_string(), "a pr and (b pr and c pr)");
    }

    #[test]
    fn string_values_print_as_json_literals() {
        let f = Filter::compare(AttrPath::new("title"), CompareOp::Eq, CompValue::String("a \"q\" \\ \n".into()));
        assert_eq!(f.to_string(), r#"title eq "a \"q\" \\ \n""#);
    }
}
