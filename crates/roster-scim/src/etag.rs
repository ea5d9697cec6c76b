//! Entity tags (RFC 7644 §3.14, RFC 7232): the weak ETag of a resource version, and the
//! `If-Match` / `If-None-Match` conditions.
//!
//! SCIM versions are weak tags, so tags compare weakly (the `W/` prefix is ignored): a
//! client echoing `W/"3"` in `If-Match` matches version `W/"3"`.

use crate::error::ScimError;

/// The weak ETag of a version value: `W/"value"`. Characters an entity tag cannot hold
/// (quotes, backslashes, spaces, controls) are dropped.
pub fn weak(version: &str) -> String {
    let opaque: String = version.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\').collect();
    format!("W/\"{opaque}\"")
}

/// The tags of an `If-Match` / `If-None-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityTags {
    /// `*`: any current version.
    Any,
    /// A list of tags, as opaque values without `W/` and quotes.
    List(Vec<String>),
}

impl EntityTags {
    /// Parses a header value: `*`, or a comma-separated list of `"x"` / `W/"x"` tags
    /// (unquoted tokens are taken as they are).
    pub fn parse(header: &str) -> Self {
        if header.trim() == "*" {
            return Self::Any;
        }
        let mut tags = Vec::new();
        let mut rest = header;
        loop {
            rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            if rest.is_empty() {
                break;
            }
            let unprefixed = rest.strip_prefix("W/").or_else(|| rest.strip_prefix("w/")).unwrap_or(rest);
            if let Some(quoted) = unprefixed.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                tags.push(quoted[..end].to_owned());
                rest = quoted.get(end + 1..).unwrap_or("");
            } else {
                let end = unprefixed.find(',').unwrap_or(unprefixed.len());
                tags.push(unprefixed[..end].trim().to_owned());
                rest = &unprefixed[end..];
            }
        }
        Self::List(tags)
    }

    /// Whether some tag weakly matches `current` (an ETag as [`weak`] builds it).
    pub fn contains(&self, current: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(tags) => {
                let current = opaque(current);
                tags.iter().any(|t| t == current)
            }
        }
    }
}

/// The opaque part of a tag: without `W/` and the quotes.
fn opaque(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").or_else(|| tag.strip_prefix("w/")).unwrap_or(tag);
    tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(tag)
}

/// Whether an `If-Match` header holds for the resource's current ETag (`None`: no resource).
pub fn if_match(header: &str, current: Option<&str>) -> bool {
    current.is_some_and(|c| EntityTags::parse(header).contains(c))
}

/// Whether an `If-None-Match` header holds: no tag matches (`*`: no resource exists).
/// When it does not hold, a GET answers 304 Not Modified and a write 412.
pub fn if_none_match(header: &str, current: Option<&str>) -> bool {
    current.is_none_or(|c| !EntityTags::parse(header).contains(c))
}

/// 412 Precondition Failed unless an optional `If-Match` header holds.
pub fn check_if_match(header: Option<&str>, current: Option<&str>) -> Result<(), ScimError> {
    match header {
        Some(h) if !if_match(h, current) => {
            Err(ScimError::precondition_failed("the resource has changed: its version does not match If-Match"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_tags_wrap_the_version() {
        assert_eq!(weak("3"), "W/\"3\"");
        assert_eq!(weak("2024-01-31T09:00:00Z"), "W/\"2024-01-31T09:00:00Z\"");
        assert_eq!(weak("a \"b\"\\"), "W/\"ab\"");
    }

    #[test]
    fn header_lists_parse() {
        assert_eq!(EntityTags::parse(" * "), EntityTags::Any);
        assert_eq!(
            EntityTags::parse(r#"W/"1", "2",W/"a,b" , bare"#),
            EntityTags::List(vec!["1".into(), "2".into(), "a,b".into(), "bare".into()])
        );
        assert_eq!(EntityTags::parse(""), EntityTags::List(vec![]));
        assert_eq!(EntityTags::parse("\"open"), EntityTags::List(vec!["open".into()]));
    }

    #[test]
    fn if_match_compares_weakly_and_star_needs_a_resource() {
        let current = weak("3");
        assert!(if_match("W/\"3\"", Some(&current)));
        assert!(if_match("\"3\"", Some(&current)));
        assert!(if_match("W/\"1\", W/\"3\"", Some(&current)));
        assert!(!if_match("W/\"2\"", Some(&current)));
        assert!(if_match("*", Some(&current)));
        assert!(!if_match("*", None));
        assert!(!if_match("W/\"3\"", None));
    }

    #[test]
    fn if_none_match_holds_when_nothing_matches() {
        let current = weak("3");
        assert!(!if_none_match("W/\"3\"", Some(&current)));
        assert!(if_none_match("W/\"4\"", Some(&current)));
        assert!(!if_none_match("*", Some(&current)));
        assert!(if_none_match("*", None));
    }

    #[test]
    fn a_failed_if_match_is_412() {
        let current = weak("3");
        assert_eq!(check_if_match(Some("W/\"2\""), Some(&current)).unwrap_err().status(), 412);
        assert!(check_if_match(None, Some(&current)).is_ok());
        assert!(check_if_match(Some("W/\"3\""), Some(&current)).is_ok());
    }
}
