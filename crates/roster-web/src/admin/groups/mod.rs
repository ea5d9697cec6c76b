//! Groups, screen by screen: the list with its New Group panel (list.rs), a group's
//! Users tab — members, the three ways of assigning users, association by CSV, export
//! (members.rs) — its History (history.rs) and Settings (settings.rs). What several
//! screens (and the users' screens) share is here.

use roster_app::views::GroupView;
use roster_app::{App, AppError};
use roster_domain::{GroupPolicy, MembershipSource};
use serde::Deserialize;

use super::session::Admin;

mod enrollment_rules;
mod history;
mod list;
mod members;
mod settings;

pub(crate) use enrollment_rules::{page as enrollment_rules, save as save_enrollment_rules};
pub(crate) use history::history;
pub(crate) use list::{create, list};
pub(crate) use members::{assign, export, members, remove, remove_many, sample, upload_csv, upload_report};
pub(crate) use settings::{delete, save_settings, settings};

/// Rows per page of the admin lists.
pub(crate) const PAGE_SIZE: usize = 25;

/// The head of every tab of a group's page.
#[derive(Debug, Clone)]
pub(crate) struct GroupHead {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub automatic: bool,
    pub members: i64,
    /// Its branches, or empty when platform-wide.
    pub scope: String,
}

impl From<GroupView> for GroupHead {
    fn from(g: GroupView) -> Self {
        Self {
            automatic: g.policy == GroupPolicy::Automatic,
            id: g.id,
            name: g.name,
            description: g.description,
            members: g.member_count,
            scope: g.scope.map(|s| s.join(", ")).unwrap_or_default(),
        }
    }
}

/// A branch in a picker: indented under its parent.
#[derive(Debug, Clone)]
pub(crate) struct BranchOption {
    pub code: String,
    pub label: String,
    /// Its name alone, for the tree picker.
    pub name: String,
    /// How deep it lies in the org chart (0 for a root), for the tree picker.
    pub depth: usize,
}

/// The branches a picker offers the caller: a training admin's own subtrees only.
pub(crate) async fn branch_options(app: &App, admin: &Admin) -> Result<Vec<BranchOption>, AppError> {
    let branches = app.list_branches(&admin.actor).await?;
    let superadmin = admin.actor.superadmin().is_ok();
    Ok(branches
        .into_iter()
        .filter(|b| {
            superadmin
                || b.path.iter().any(|c| admin.actor.branch_codes().iter().any(|own| own.eq_ignore_ascii_case(c)))
        })
        .map(|b| BranchOption {
            label: format!("{}{} ({})", "\u{2003}".repeat(b.path.len().saturating_sub(1)), b.name, b.code),
            depth: b.path.len().saturating_sub(1),
            name: b.name,
            code: b.code,
        })
        .collect())
}

/// How a membership came about, in words.
pub(crate) fn source_label(source: MembershipSource) -> &'static str {
    match source {
        MembershipSource::Manual => "Added manually",
        MembershipSource::Copy => "Copied",
        MembershipSource::Csv => "CSV",
        MembershipSource::Rule => "Rule",
        MembershipSource::Include => "Included",
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    pub cursor: Option<String>,
    pub trail: Option<String>,
}

/// One join or leave as a history table shows it.
#[derive(Debug)]
pub(crate) struct EventRow {
    pub at: String,
    pub joined: bool,
    /// The other side of the event: the user on a group's page, the group on a user's.
    pub subject: String,
    pub subject_link: Option<String>,
    /// Who made the change, readably ([`crate::admin::page::actor_label`]).
    pub actor: String,
    pub cause: String,
}
