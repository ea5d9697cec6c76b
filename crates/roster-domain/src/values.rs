//! Validated strings. Each type is built only through `parse`, which trims, checks the
//! bounds and the character set, and names the input in its error.

use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::DomainError;

/// Whether `c` is invisible or changes the direction of the text around it: the
/// Unicode format characters (category Cf: zero-width spaces and joiners, the bidi
/// marks, embeddings and isolates, the byte-order mark...). Such a character lets
/// `anna\u{200f}` sit beside `anna` looking identical (DESIGN §7).
pub fn is_hidden(c: char) -> bool {
    // The first format character is U+00AD (soft hyphen): every cell of an import
    // passes here, character by character, and most are below it.
    c >= FIRST_HIDDEN && c.general_category() == GeneralCategory::Format
}

/// U+00AD SOFT HYPHEN, the first character of category Cf.
const FIRST_HIDDEN: char = '\u{AD}';

/// Refuses the characters a reader cannot see: control characters other than `allowed`
/// and the format characters of [`is_hidden`]. The message names the first one found.
pub fn refuse_hidden(field: &str, s: &str, allowed: &[char]) -> Result<(), DomainError> {
    match s.chars().find(|&c| (c.is_control() && !allowed.contains(&c)) || is_hidden(c)) {
        None => Ok(()),
        Some(c) if c.is_control() => {
            Err(DomainError::new(field, format!("must not contain control characters (found U+{:04X})", u32::from(c))))
        }
        Some(c) => Err(DomainError::new(
            field,
            format!("must not contain invisible or direction-changing characters (found U+{:04X})", u32::from(c)),
        )),
    }
}

fn bounded<'a>(field: &str, raw: &'a str, max: usize) -> Result<&'a str, DomainError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(DomainError::new(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(DomainError::new(field, format!("must be at most {max} characters")));
    }
    refuse_hidden(field, s, &[])?;
    Ok(s)
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A value read back from the database, where it was checked when written.
            /// Not for input: use `parse`.
            pub fn stored(text: String) -> Self {
                Self(text)
            }

            /// The text, as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(stringify!($name), &raw).map_err(|e| serde::de::Error::custom(e.message))
            }
        }
    };
}

string_newtype!(
    /// A login name: unique among users regardless of case, at most 100 characters,
    /// no spaces, control or invisible characters; kept in Unicode NFC.
    Username
);
string_newtype!(
    /// An email address: one `@`, a non-empty local part, a dotted domain, at most 254
    /// characters.
    Email
);
string_newtype!(
    /// A stable identifier chosen by an administrator (a branch, course or field code):
    /// letters, digits, `-`, `_` and `.`, at most 64 characters.
    Code
);
string_newtype!(
    /// A human label (a course, branch, field or group name): at most 200 characters.
    Name
);

impl Username {
    /// Validates a username given as input `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let s = bounded(field, raw, 100)?;
        if s.chars().any(char::is_whitespace) {
            return Err(DomainError::new(field, "must not contain spaces"));
        }
        Ok(Self(s.nfc().collect()))
    }

    /// The form under which usernames are unique: NFC, then lower case.
    pub fn key(&self) -> String {
        Self::fold(&self.0)
    }

    /// The unique form of a username as someone typed it (a login, a filter, a CSV
    /// cell): trimmed, NFC, lower case. The only case folding of usernames.
    pub fn fold(raw: &str) -> String {
        raw.trim().nfc().collect::<String>().to_lowercase()
    }
}

impl Email {
    /// Validates an email address given as input `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let s = bounded(field, raw, 254)?;
        let invalid = || DomainError::new(field, format!("\"{s}\" is not a valid email address"));
        let (local, domain) = s.split_once('@').ok_or_else(invalid)?;
        let valid_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let valid_local = !local.is_empty()
            && local.len() <= 64
            && !local.chars().any(|c| c.is_whitespace() || "@<>()[],;:\"\\".contains(c));
        if !valid_local || !valid_domain {
            return Err(invalid());
        }
        Ok(Self(s.to_owned()))
    }

    /// The form under which an address is matched: lower case.
    pub fn key(&self) -> String {
        Self::fold(&self.0)
    }

    /// The matching form of an address as someone typed it: trimmed, lower case.
    pub fn fold(raw: &str) -> String {
        raw.trim().to_lowercase()
    }
}

impl Code {
    /// Validates a code given as input `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let s = bounded(field, raw, 64)?;
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(DomainError::new(field, format!("\"{s}\" may hold only letters, digits, '-', '_' and '.'")));
        }
        Ok(Self(s.to_owned()))
    }
}

impl Name {
    /// Validates a label given as input `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        Ok(Self(bounded(field, raw, 200)?.to_owned()))
    }
}

/// Validates an optional free text (a description, a person's name) of at most `max`
/// characters; an empty or blank text is `None`.
pub fn optional_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, DomainError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > max => Err(DomainError::new(field, format!("must be at most {max} characters"))),
        Some(s) => {
            refuse_hidden(field, s, &['\n', '\r', '\t'])?;
            Ok(Some(s.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_character_below_the_soft_hyphen_is_hidden() {
        for c in '\0'..FIRST_HIDDEN {
            assert_ne!(c.general_category(), GeneralCategory::Format, "U+{:04X}", u32::from(c));
        }
        assert!(is_hidden(FIRST_HIDDEN));
        assert!(is_hidden('\u{200F}'));
        assert!(!is_hidden('é'));
    }

    #[test]
    fn username_is_trimmed_and_keyed_without_case() {
        let u = Username::parse("username", "  Alice.Smith ").unwrap();
        assert_eq!(u.as_str(), "Alice.Smith");
        assert_eq!(u.key(), "alice.smith");
        assert!(Username::parse("username", "a b").is_err());
        assert!(Username::parse("username", "").is_err());
        assert!(Username::parse("username", &"x".repeat(101)).is_err());
    }

    #[test]
    fn invisible_and_direction_changing_characters_are_refused() {
        for bad in ["anna\u{200f}", "an\u{200b}na", "\u{202e}anna", "anna\u{feff}", "an\u{0}na", "a\u{2066}b"] {
            let err = Username::parse("username", bad).unwrap_err();
            assert_eq!(err.field, "username", "{bad:?}");
            assert!(err.message.contains("U+"), "{}", err.message);
            assert!(Name::parse("name", bad).is_err(), "{bad:?}");
            assert!(optional_text("first_name", Some(bad), 100).is_err(), "{bad:?}");
        }
        assert_eq!(
            optional_text("d", Some("two\nlines\tand a tab"), 100).unwrap().as_deref(),
            Some("two\nlines\tand a tab")
        );
        assert!(Name::parse("name", "Zoë Ñandú 東京").is_ok());
    }

    #[test]
    fn usernames_are_kept_and_keyed_in_nfc() {
        let composed = Username::parse("username", "Zo\u{eb}").unwrap();
        let decomposed = Username::parse("username", "Zoe\u{308}").unwrap();
        assert_eq!(decomposed.as_str(), "Zo\u{eb}");
        assert_eq!(composed.key(), decomposed.key());
        assert_eq!(Username::fold(" ZOE\u{308} "), "zo\u{eb}");
    }

    #[test]
    fn email_needs_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("email", "ann@acme.com").is_ok());
        for bad in ["ann", "ann@", "@acme.com", "ann@acme", "ann@acme..com", "a b@acme.com", "ann@.acme.com"] {
            let err = Email::parse("email", bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad}");
        }
    }

    #[test]
    fn code_refuses_spaces_and_symbols() {
        assert!(Code::parse("code", "DRV-101").is_ok());
        assert!(Code::parse("code", "DRV 101").is_err());
        assert!(Code::parse("code", "é").is_err());
    }

    #[test]
    fn optional_text_bounds() {
        assert_eq!(optional_text("d", Some("  "), 5).unwrap(), None);
        assert!(optional_text("d", Some("123456"), 5).is_err());
    }
}
