//! What the app hands the engine: plain records, filled from the database.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use roster_domain::rule::Rule;
use roster_domain::{Branch, Course, EnrollmentStatus, FieldDef, FieldValue, UserStatus};

/// What rules are written against: the additional fields, the org chart and the
/// courses. Groups are given one by one ([`crate::Engine::set_manual_group`],
/// [`crate::Engine::set_automatic_group`]), since they change far more often.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Every additional field.
    pub fields: Vec<FieldDef>,
    /// Every branch; parents must be in the list.
    pub branches: Vec<Branch>,
    /// Every course.
    pub courses: Vec<Course>,
}

/// A user as rules see it. Times are calendar days in the platform's time zone (the app
/// converts its timestamps), so `created_at < 2024-01-31` compares days. An empty text
/// is a missing value.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    /// The database id, which must fit a `u32`: it is the key of every bitmap.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Active or suspended.
    pub status: UserStatus,
    /// Language tag.
    pub language: Option<String>,
    /// Time zone.
    pub timezone: Option<String>,
    /// The branch's id, which must be in the catalog.
    pub branch_id: Option<i64>,
    /// The day the user was created.
    pub created_on: NaiveDate,
    /// The day the user last logged in.
    pub last_login_on: Option<NaiveDate>,
    /// Additional field values by field code, typed (the app reads stored JSON with
    /// [`FieldDef::from_stored`]); a field left out is missing. Every code must be in
    /// the catalog, and every value of its field's type.
    pub fields: BTreeMap<String, FieldValue>,
}

/// A user's enrollment in one course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnrollmentRecord {
    /// Where the user stands.
    pub status: EnrollmentStatus,
    /// The day the user was enrolled.
    pub enrolled_on: NaiveDate,
    /// The day the user completed the course.
    pub completed_on: Option<NaiveDate>,
}

/// An automatic group's definition: members = (users matching `rule`, minus suspended
/// users unless `allow_suspended`, plus `include`) minus `exclude`.
#[derive(Debug, Clone, PartialEq)]
pub struct AutomaticGroup {
    /// The checked rule (`member_of` names groups by id).
    pub rule: Rule,
    /// Users who are members whatever the rule says (unless excluded).
    pub include: Vec<i64>,
    /// Users who are never members.
    pub exclude: Vec<i64>,
    /// Whether suspended users who match the rule are members.
    pub allow_suspended: bool,
}
