//! What the use cases return, shaped as clients see it: opaque string ids, codes instead
//! of internal references, RFC 3339 times.

use roster_domain::{
    BranchTree, Course, Enrollment, EnrollmentStatus, FieldDef, GroupPolicy, MembershipChange, MembershipSource, User,
    UserStatus,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

use crate::clock::rfc3339;

/// A page of items and the cursor of the next one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct List<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    /// Maps a store page.
    pub fn from_page<S>(page: roster_store::Page<S>, f: impl FnMut(S) -> T) -> Self {
        Self { items: page.items.into_iter().map(f).collect(), next_cursor: page.next.map(|n| n.to_string()) }
    }
}

impl List<EventView> {
    /// Maps a page of history.
    pub fn from_events(page: roster_store::events::EventPage) -> Self {
        Self {
            items: page.items.into_iter().map(EventView::from).collect(),
            next_cursor: page.next.map(|n| n.to_string()),
        }
    }
}

/// A user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// Opaque id.
    pub id: String,
    /// Login name, unique regardless of case.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// `active` or `suspended`.
    #[schema(value_type = String, example = "active")]
    pub status: UserStatus,
    /// Language tag.
    pub language: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// The code of the user's branch.
    pub branch: Option<String>,
    /// Additional field values keyed by field code.
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Last login.
    pub last_login_at: Option<String>,
}

impl UserView {
    /// Shapes a user, naming its branch by code.
    pub fn new(u: User, tree: &BranchTree) -> Self {
        Self {
            id: u.id.to_string(),
            branch: u.branch_id.and_then(|b| tree.get(b)).map(|b| b.code.clone()),
            username: u.username.into_string(),
            email: u.email.into_string(),
            first_name: u.first_name,
            last_name: u.last_name,
            status: u.status,
            language: u.language,
            timezone: u.timezone,
            fields: u.fields,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
            last_login_at: u.last_login_at.map(rfc3339),
        }
    }
}

/// An additional field's definition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldView {
    /// Stable slug; keys values in `fields`.
    pub code: String,
    /// Label.
    pub name: String,
    /// `text`, `number`, `date`, `dropdown` or `yes_no`.
    #[serde(rename = "type")]
    pub field_type: String,
    /// A dropdown's options.
    pub options: Vec<String>,
    /// Where the field stands in the order forms, pages and exports list fields: 1 is
    /// first.
    pub position: usize,
}

impl FieldView {
    /// The fields in their order, each with its position.
    pub fn in_order(fields: impl IntoIterator<Item = FieldDef>) -> Vec<Self> {
        fields.into_iter().enumerate().map(|(i, f)| Self::new(f, i + 1)).collect()
    }

    /// Shapes `f`, which stands at `position` (1 is first).
    pub fn new(f: FieldDef, position: usize) -> Self {
        Self {
            code: f.code.into_string(),
            name: f.name.into_string(),
            field_type: f.field_type.as_str().to_owned(),
            options: f.options,
            position,
        }
    }
}

/// A branch of the org chart.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BranchView {
    /// Stable code.
    pub code: String,
    /// Label.
    pub name: String,
    /// The parent's code; absent for a root.
    pub parent: Option<String>,
    /// Codes from the root down to this branch.
    pub path: Vec<String>,
}

impl BranchView {
    /// Shapes the branch `id` of `tree`.
    pub fn new(tree: &BranchTree, id: i64) -> Option<Self> {
        let b = tree.get(id)?;
        Some(Self {
            code: b.code.clone(),
            name: b.name.clone(),
            parent: b.parent_id.and_then(|p| tree.get(p)).map(|p| p.code.clone()),
            path: tree.path(id).into_iter().map(str::to_owned).collect(),
        })
    }
}

/// A course.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourseView {
    /// Stable code.
    pub code: String,
    /// Label.
    pub name: String,
}

impl From<Course> for CourseView {
    fn from(c: Course) -> Self {
        Self { code: c.code, name: c.name }
    }
}

/// A user's enrollment in a course.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnrollmentView {
    /// The user's id.
    pub user_id: String,
    /// The course's code.
    pub course: String,
    /// `enrolled`, `in_progress`, `completed` or `failed`.
    #[schema(value_type = String, example = "completed")]
    pub status: EnrollmentStatus,
    /// When the user was enrolled.
    pub enrolled_at: String,
    /// When the user completed the course.
    pub completed_at: Option<String>,
    /// When the course is due (set by an enrollment rule with a due date).
    pub due_at: Option<String>,
    /// The group whose enrollment rule made this enrollment; absent for one set from
    /// outside (the API, a CSV, the LMS), which no rule removes.
    pub made_by_rule_of: Option<GroupRef>,
}

/// A group named by id and name.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct GroupRef {
    /// The group's id.
    pub id: String,
    /// Its name (`#id` for a group since deleted).
    pub name: String,
}

impl EnrollmentView {
    /// Shapes an enrollment, naming its course by code and the group whose rule made
    /// it by name.
    pub fn new(e: Enrollment, courses: &HashMap<i64, String>, groups: &HashMap<i64, String>) -> Self {
        Self {
            user_id: e.user_id.to_string(),
            course: courses.get(&e.course_id).cloned().unwrap_or_default(),
            status: e.status,
            enrolled_at: rfc3339(e.enrolled_at),
            completed_at: e.completed_at.map(rfc3339),
            due_at: e.due_at.map(rfc3339),
            made_by_rule_of: e.made_by_group.map(|g| GroupRef {
                id: g.to_string(),
                name: groups.get(&g).cloned().unwrap_or_else(|| format!("#{g}")),
            }),
        }
    }
}

/// An enrollment an enrollment rule made or removed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnrollmentEventView {
    /// The course's code.
    pub course: String,
    /// `enrolled` or `removed`.
    pub change: String,
    /// The group whose enrollment rule acted.
    pub group: Option<GroupRef>,
    /// When.
    pub at: String,
    /// Who made the change that set the rule off.
    pub actor: String,
    /// Why: `enrollment rule of "Approved Drivers"`.
    pub cause: String,
}

/// An enrollment rule: the group's members are enrolled in the course when they join.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct EnrollmentRuleView {
    /// The course's code.
    pub course: String,
    /// The course's name.
    pub course_name: String,
    /// The due date is this many days after the enrollment; absent: no due date.
    pub due_days: Option<u32>,
    /// Whether leaving the group removes an enrollment the rule made that has not
    /// started (and that no other group the user is in enrolls them in).
    pub unenroll_on_leave: bool,
}

/// A group's enrollment rules, and what saving them did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnrollmentRulesView {
    /// The rules, in the group's order.
    pub rules: Vec<EnrollmentRuleView>,
    /// Saving: how many enrollments the rules made for the group's current members
    /// (of the users the caller may see); previewing: how many they would make.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrolled: Option<u64>,
    /// Saving and previewing: how many users those enrollments are for (a user may be
    /// enrolled in several of the courses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<u64>,
    /// Previewing: up to ten of the users who would be enrolled (of those the caller
    /// may see), by username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<String>>,
}

/// A group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupView {
    /// Opaque id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// What the group is for.
    pub description: Option<String>,
    /// `manual` or `automatic`.
    #[schema(value_type = String, example = "automatic")]
    pub policy: GroupPolicy,
    /// How many members it has — of the members the caller can see.
    pub member_count: i64,
    /// The branch codes whose users it may hold (each with its sub-branches); absent
    /// for a platform-wide group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    /// An automatic group's rule, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Whether suspended users may be members of this automatic group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_suspended: Option<bool>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl From<roster_domain::Group> for GroupView {
    fn from(g: roster_domain::Group) -> Self {
        let automatic = g.policy == roster_domain::GroupPolicy::Automatic;
        Self {
            id: g.id.to_string(),
            name: g.name,
            description: g.description,
            policy: g.policy,
            member_count: g.member_count,
            scope: g.scope,
            rule: g.rule_text,
            allow_suspended: automatic.then_some(g.allow_suspended),
            created_at: rfc3339(g.created_at),
            updated_at: rfc3339(g.updated_at),
        }
    }
}

/// A member of a group: the user, and how and when they joined.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    /// The user.
    pub user: UserView,
    /// `manual`, `copy`, `csv`, `rule` or `include`.
    #[schema(value_type = String, example = "manual")]
    pub source: MembershipSource,
    /// Member since.
    pub added_at: String,
    /// Who added the user.
    pub added_by: Option<String>,
    /// For a member copied from other groups or a branch: from where ("Sales team",
    /// "branch FR and its sub-branches").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
}

/// A join or leave.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// Event id: newer events have larger ids; the users one bulk change moved in one
    /// group (at least 16) share one event and its id.
    pub id: String,
    /// The group's id.
    pub group_id: String,
    /// The user's id.
    pub user_id: String,
    /// `joined` or `left`.
    #[schema(value_type = String, example = "joined")]
    pub change: MembershipChange,
    /// When.
    pub at: String,
    /// Who caused it.
    pub actor: String,
    /// Why.
    pub cause: String,
}

impl From<roster_domain::MembershipEvent> for EventView {
    fn from(e: roster_domain::MembershipEvent) -> Self {
        Self {
            id: e.id.to_string(),
            group_id: e.group_id.to_string(),
            user_id: e.user_id.to_string(),
            change: e.change,
            at: rfc3339(e.at),
            actor: e.actor,
            cause: e.cause,
        }
    }
}

/// One of a user's groups.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserGroupView {
    /// The group's id.
    pub id: String,
    /// The group's name.
    pub name: String,
    /// `manual` or `automatic`.
    #[schema(value_type = String, example = "automatic")]
    pub policy: GroupPolicy,
    /// How the user came to be a member.
    #[schema(value_type = String, example = "rule")]
    pub source: MembershipSource,
    /// Member since.
    pub added_at: String,
}
