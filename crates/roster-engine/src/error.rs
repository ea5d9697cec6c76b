//! [`EngineError`]: what the engine refuses, and why.

use std::fmt;

use roster_domain::rule::RuleError;
use serde::Serialize;

/// A group as errors and explanations name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupName {
    /// The group's id.
    pub id: i64,
    /// The group's name.
    pub name: String,
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.name)
    }
}

/// Why the engine refused a change or a question. Nothing is changed when a call
/// returns an error.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    /// A user id that does not fit the bitmaps (0 to 4,294,967,295).
    UserIdOutOfRange(i64),
    /// No such user in the image.
    UnknownUser(i64),
    /// No such group.
    UnknownGroup(i64),
    /// No such course in the catalog.
    UnknownCourse(i64),
    /// No such branch in the catalog.
    UnknownBranch(i64),
    /// A value for a field the catalog does not have.
    UnknownField(String),
    /// A field value of the wrong type, or a number that is not finite.
    InvalidFieldValue {
        /// The field's code.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The group is manual where an automatic one is needed.
    NotAutomatic(i64),
    /// The group is automatic where a manual one is needed.
    NotManual(i64),
    /// The rule does not check against the engine's catalog.
    Rule(RuleError),
    /// The new catalog would break a saved rule.
    RuleBroken {
        /// The group whose rule breaks.
        group: GroupName,
        /// How.
        error: RuleError,
    },
    /// The rule would make groups depend on themselves: the groups in the cycle, the
    /// first one repeated at the end.
    Cycle(Vec<GroupName>),
    /// The group cannot be removed: these automatic groups' rules reference it.
    GroupReferenced {
        /// The group to remove.
        group: GroupName,
        /// The groups whose rules name it.
        by: Vec<GroupName>,
    },
    /// The catalog is inconsistent (duplicate ids or codes, an unknown parent, a cycle
    /// in the branch tree), or would remove a branch or course still in use.
    InvalidCatalog(String),
    /// A column holds as many distinct values as ids allow (about four billion).
    ColumnFull(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UserIdOutOfRange(id) => write!(f, "user id {id} is outside 0..=4294967295"),
            Self::UnknownUser(id) => write!(f, "no user #{id}"),
            Self::UnknownGroup(id) => write!(f, "no group #{id}"),
            Self::UnknownCourse(id) => write!(f, "no course #{id}"),
            Self::UnknownBranch(id) => write!(f, "no branch #{id}"),
            Self::UnknownField(code) => write!(f, "no field \"{code}\""),
            Self::InvalidFieldValue { field, message } => {
                write!(f, "field \"{field}\": {message}")
            }
            Self::NotAutomatic(id) => write!(f, "group #{id} is not automatic"),
            Self::NotManual(id) => write!(f, "group #{id} is not manual"),
            Self::Rule(error) => error.fmt(f),
            Self::RuleBroken { group, error } => {
                write!(f, "the rule of group {group} would break: {error}")
            }
            Self::Cycle(groups) => {
                let names: Vec<String> = groups.iter().map(ToString::to_string).collect();
                write!(f, "the rule would make groups depend on themselves: {}", names.join(" → "))
            }
            Self::GroupReferenced { group, by } => {
                let names: Vec<String> = by.iter().map(ToString::to_string).collect();
                write!(f, "group {group} is used by the rules of {}", names.join(", "))
            }
            Self::InvalidCatalog(message) => write!(f, "invalid catalog: {message}"),
            Self::ColumnFull(column) => write!(f, "column {column} holds too many values"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<RuleError> for EngineError {
    fn from(error: RuleError) -> Self {
        Self::Rule(error)
    }
}

/// A user id as a bitmap key.
pub(crate) fn user_key(id: i64) -> Result<u32, EngineError> {
    u32::try_from(id).map_err(|_| EngineError::UserIdOutOfRange(id))
}
