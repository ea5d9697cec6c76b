//! The entities of DESIGN §1 and their enumerations.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::DomainError;

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in the API, the database and the rule language.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the API name (any case), naming input `field` when it is unknown.
            pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
                let lower = raw.trim().to_lowercase();
                $(if lower == $text { return Ok($name::$variant); })+
                let all: Vec<&str> = vec![$($text),+];
                Err(DomainError::new(field, format!("\"{}\" is not one of: {}", raw.trim(), all.join(", "))))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Whether a user may use the platform.
    UserStatus {
        /// May log in and take courses.
        Active = "active",
        /// Kept, but blocked; left out of automatic groups unless a group allows it.
        Suspended = "suspended",
    }
);

string_enum!(
    /// Where a user stands in a course.
    EnrollmentStatus {
        /// Enrolled, not started.
        Enrolled = "enrolled",
        /// Started.
        InProgress = "in_progress",
        /// Finished successfully.
        Completed = "completed",
        /// Finished unsuccessfully.
        Failed = "failed",
    }
);

string_enum!(
    /// How a group is populated.
    GroupPolicy {
        /// Filled by hand, by copy or by CSV.
        Manual = "manual",
        /// Filled from a rule, plus an include list, minus an exclude list.
        Automatic = "automatic",
    }
);

string_enum!(
    /// How a user came to be a member of a group.
    MembershipSource {
        /// Added individually.
        Manual = "manual",
        /// Copied from another group's members or a branch's users.
        Copy = "copy",
        /// Added by a CSV association file.
        Csv = "csv",
        /// Matches an automatic group's rule.
        Rule = "rule",
        /// On an automatic group's include list.
        Include = "include",
    }
);

string_enum!(
    /// What happened to a membership.
    MembershipChange {
        /// The user became a member.
        Joined = "joined",
        /// The user stopped being a member.
        Left = "left",
    }
);

/// A user with its standard and additional fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// Internal id; shown to clients as an opaque string.
    pub id: i64,
    /// Login name.
    pub username: crate::Username,
    /// Email address.
    pub email: crate::Email,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Active or suspended.
    pub status: UserStatus,
    /// Preferred language (`en`, `fr-CA`...).
    pub language: Option<String>,
    /// IANA time zone (`Europe/Paris`).
    pub timezone: Option<String>,
    /// The branch's id, if any.
    pub branch_id: Option<i64>,
    /// When the user was created, epoch milliseconds.
    pub created_at: i64,
    /// When the user was last changed, epoch milliseconds.
    pub updated_at: i64,
    /// When the user last logged in, epoch milliseconds.
    pub last_login_at: Option<i64>,
    /// Additional field values in their stored JSON form (see
    /// [`crate::FieldValue::to_json`]), keyed by field code; checked on every write.
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// A node of the org chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Branch {
    /// Internal id.
    pub id: i64,
    /// Stable code.
    pub code: String,
    /// Label.
    pub name: String,
    /// The parent's id; `None` for a root.
    pub parent_id: Option<i64>,
}

/// A group of users.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Internal id; shown to clients as an opaque string.
    pub id: i64,
    /// Unique regardless of case.
    pub name: String,
    /// What the group is for.
    pub description: Option<String>,
    /// Manual or automatic.
    pub policy: GroupPolicy,
    /// An automatic group's rule, as canonical text.
    pub rule_text: Option<String>,
    /// An automatic group's rule, as the stored JSON tree.
    pub rule_tree: Option<String>,
    /// Whether suspended users may be members of an automatic group.
    pub allow_suspended: bool,
    /// How many members it has.
    pub member_count: i64,
    /// When it was created, epoch milliseconds.
    pub created_at: i64,
    /// When it was last changed, epoch milliseconds.
    pub updated_at: i64,
    /// The branch codes (each with its sub-branches) whose users it may hold; `None` is
    /// platform-wide. An automatic group's members are its rule's matches within it.
    pub scope: Option<Vec<String>>,
}

/// A user's membership of a group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Membership {
    /// The group.
    pub group_id: i64,
    /// The user.
    pub user_id: i64,
    /// How the user came to be a member.
    pub source: MembershipSource,
    /// When, epoch milliseconds.
    pub added_at: i64,
    /// Who added the user (an actor name), if anyone.
    pub added_by: Option<String>,
}

/// One join or leave, kept as history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MembershipEvent {
    /// Internal id, increasing with time.
    pub id: i64,
    /// The group.
    pub group_id: i64,
    /// The user.
    pub user_id: i64,
    /// Joined or left.
    pub change: MembershipChange,
    /// When, epoch milliseconds.
    pub at: i64,
    /// Who caused it (`token:hr-sync`, `admin:alice`, `system`).
    pub actor: String,
    /// Why, in words (`manual`, `copied from group "Drivers"`, `CSV upload 12`).
    pub cause: String,
}

/// A course users enroll in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Course {
    /// Internal id.
    pub id: i64,
    /// Stable code (`DRV-101`).
    pub code: String,
    /// Label (`Driver Safety Fundamentals`).
    pub name: String,
}

/// A user's enrollment in a course.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enrollment {
    /// The user's id.
    pub user_id: i64,
    /// The course's id.
    pub course_id: i64,
    /// Where the user stands.
    pub status: EnrollmentStatus,
    /// When the user was enrolled, epoch milliseconds.
    pub enrolled_at: i64,
    /// When the user completed the course, epoch milliseconds.
    pub completed_at: Option<i64>,
    /// When the course is due, epoch milliseconds (set by an enrollment rule).
    pub due_at: Option<i64>,
    /// The group whose enrollment rule made this enrollment; `None` for one set from
    /// outside (the API, a CSV, the LMS), which no rule ever removes.
    pub made_by_group: Option<i64>,
}

/// A group's enrollment rule: its members are enrolled in the course when they join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollmentRule {
    /// The course's id.
    pub course_id: i64,
    /// The due date is this many days after the enrollment; `None`: no due date.
    pub due_days: Option<u32>,
    /// Whether leaving the group removes an enrollment the rule made that has not
    /// started (and that no other group the user is in enrolls them in).
    pub unenroll_on_leave: bool,
}

/// The most days a due date can be after the enrollment (ten years).
pub const MAX_DUE_DAYS: u32 = 3650;

/// Language tags: `en`, `pt-BR`, `zh-Hant-TW`: letters, digits and `-`, at most 35.
pub fn parse_language(field: &str, raw: Option<&str>) -> Result<Option<String>, DomainError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s)
            if s.len() <= 35
                && s.split('-')
                    .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric())) =>
        {
            Ok(Some(s.to_owned()))
        }
        Some(s) => Err(DomainError::new(field, format!("\"{s}\" is not a language tag such as en or pt-BR"))),
    }
}

/// Time zones: a name of the IANA time zone database the server carries (`Europe/Paris`,
/// `UTC`), matched in any case and stored as the database spells it.
pub fn parse_timezone(field: &str, raw: Option<&str>) -> Result<Option<String>, DomainError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        // Spelled as stored (the usual case), a lookup; otherwise a walk of every name.
        Some(s) => match s
            .parse::<chrono_tz::Tz>()
            .ok()
            .map(|tz| tz.name())
            .or_else(|| timezone_names().find(|name| name.eq_ignore_ascii_case(s)))
        {
            Some(name) => Ok(Some(name.to_owned())),
            None => Err(DomainError::new(
                field,
                format!("\"{s}\" is not a time zone of the IANA database, such as Europe/Paris or UTC"),
            )),
        },
    }
}

/// Every time zone name [`parse_timezone`] accepts, as it stores them.
pub fn timezone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_zone_reads_the_same_by_lookup_as_by_walk() {
        let names: Vec<&str> = timezone_names().collect();
        for name in &names {
            let walked = names.iter().find(|n| n.eq_ignore_ascii_case(name)).copied();
            assert_eq!(walked, Some(*name), "two names differ only in case");
            assert_eq!(parse_timezone("timezone", Some(name)).unwrap().as_deref(), Some(*name));
            let shouted = name.to_ascii_uppercase();
            assert_eq!(parse_timezone("timezone", Some(&shouted)).unwrap().as_deref(), Some(*name));
        }
        assert!(parse_timezone("timezone", Some("Europe/Atlantis")).is_err());
    }

    #[test]
    fn enums_parse_any_case_and_list_choices() {
        assert_eq!(UserStatus::parse("status", "Active").unwrap(), UserStatus::Active);
        let err = EnrollmentStatus::parse("status", "done").unwrap_err();
        assert!(err.message.contains("in_progress"));
    }

    #[test]
    fn language_and_timezone_shapes() {
        assert_eq!(parse_language("language", Some("pt-BR")).unwrap().as_deref(), Some("pt-BR"));
        assert!(parse_language("language", Some("english please")).is_err());
        assert!(parse_timezone("timezone", Some("Europe/Paris")).is_ok());
        assert!(parse_timezone("timezone", Some("Paris; drop")).is_err());
        assert!(parse_timezone("timezone", Some("Mars/Olympus")).is_err());
        assert_eq!(parse_timezone("timezone", Some(" europe/paris ")).unwrap().as_deref(), Some("Europe/Paris"));
        assert!(timezone_names().any(|n| n == "America/Santiago"));
    }
}
