//! Groups: create, list, rename, delete; their members, added individually, copied from
//! other groups or a branch, removed; their history.

use roster_domain::values::optional_text;
use roster_domain::{Group, GroupPolicy, Membership, MembershipSource, Name};
use roster_store::events::{Move, Subject};
use roster_store::groups::{GroupOrder, ListKind};
use roster_store::memberships::{MemberOrder, MemberQuery};
use roster_store::AnyConnection;
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::reach::Reach;
use crate::transaction::{Cause, LiveTx};
use crate::views::{EventView, GroupView, List, MemberView, UserGroupView, UserView};
use crate::{parse_id, Actor, App, AppError, AppResult, ListParams};

/// The most users one request may add or remove by id.
pub const MAX_USERS_PER_REQUEST: usize = 10_000;

/// A new group.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// Unique name (regardless of case).
    pub name: String,
    /// What the group is for.
    #[serde(default)]
    pub description: Option<String>,
    /// `manual` (default) or `automatic`.
    #[serde(default)]
    pub policy: Option<String>,
    /// The branch codes whose users it may hold (each with its sub-branches). Absent:
    /// platform-wide for a superadmin, the caller's own branches for a training admin.
    #[serde(default)]
    pub scope: Option<Vec<String>>,
}

/// A change to a group's name or description.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    /// New name.
    pub name: Option<String>,
    /// New description; `null` or empty clears it.
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// An automatic group: whether suspended users who match the rule are members.
    pub allow_suspended: Option<bool>,
    /// New branch codes whose users it may hold; `null` makes it platform-wide
    /// (superadmin only). An automatic group's members follow at once.
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub scope: Option<Option<Vec<String>>>,
}

/// Filters of the groups list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct GroupFilter {
    /// Text searched in names.
    pub q: Option<String>,
    /// `manual` or `automatic`.
    pub policy: Option<String>,
}

impl GroupFilter {
    /// The search text and the policy, checked.
    fn parts(&self) -> AppResult<(Option<String>, Option<GroupPolicy>)> {
        let policy = self
            .policy
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| GroupPolicy::parse("policy", p))
            .transpose()
            .map_err(|e| AppError::bad_request("policy", e.message))?;
        Ok((crate::ids::search_text("q", self.q.as_deref())?, policy))
    }
}

/// Filters of a members list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct MemberFilter {
    /// Text searched in members' usernames, emails and names.
    pub q: Option<String>,
    /// A past moment (RFC 3339): the members at that moment, replayed from the
    /// membership history, instead of the members now.
    pub as_of: Option<String>,
}

/// A member at a past moment.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct PastMemberView {
    /// The user's id (the user may have been deleted since).
    pub user_id: String,
}

/// A page of a group's members at a past moment.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct PastMembers {
    /// The members, ascending by id.
    pub items: Vec<PastMemberView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How many members it had then, of the users the caller may see.
    pub total: u64,
    /// Whether the group existed at that moment (it had no members before it did).
    pub existed: bool,
}

/// How the admin UI sorts the groups list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GroupSort {
    /// By name, A to Z.
    #[default]
    Name,
    /// By name, Z to A.
    NameDesc,
    /// Most members first.
    MostMembers,
    /// Fewest members first.
    FewestMembers,
    /// Newest first.
    Newest,
    /// Oldest first.
    Oldest,
}

impl GroupSort {
    /// The sort a URL names (`name`, `-name`, `members`, `-members`, `created`,
    /// `-created`; `-` is descending), or the default.
    pub fn parse(s: &str) -> Self {
        match s {
            "-name" => Self::NameDesc,
            "-members" => Self::MostMembers,
            "members" => Self::FewestMembers,
            "-created" => Self::Newest,
            "created" => Self::Oldest,
            _ => Self::Name,
        }
    }

    /// Its name in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::NameDesc => "-name",
            Self::MostMembers => "-members",
            Self::FewestMembers => "members",
            Self::Newest => "-created",
            Self::Oldest => "created",
        }
    }

    fn order(self) -> (GroupOrder, bool) {
        match self {
            Self::Name => (GroupOrder::Name, false),
            Self::NameDesc => (GroupOrder::Name, true),
            Self::MostMembers => (GroupOrder::Members, true),
            Self::FewestMembers => (GroupOrder::Members, false),
            Self::Newest => (GroupOrder::Created, true),
            Self::Oldest => (GroupOrder::Created, false),
        }
    }
}

/// How the admin UI sorts a group's members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MemberSort {
    /// By username, A to Z.
    #[default]
    Username,
    /// By username, Z to A.
    UsernameDesc,
    /// Latest to join first.
    Newest,
    /// Earliest to join first.
    Oldest,
}

impl MemberSort {
    /// The sort a URL names (`name`, `-name`, `added`, `-added`), or the default.
    pub fn parse(s: &str) -> Self {
        match s {
            "-name" => Self::UsernameDesc,
            "-added" => Self::Newest,
            "added" => Self::Oldest,
            _ => Self::Username,
        }
    }

    /// Its name in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Username => "name",
            Self::UsernameDesc => "-name",
            Self::Newest => "-added",
            Self::Oldest => "added",
        }
    }
}

/// Ids (decimal text) in numeric order.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The most members [`App::remove_members`] takes at once.
pub const MAX_REMOVED_TOGETHER: usize = 1000;

/// Users to add to a group: exactly one of the three ways.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMembers {
    /// User ids to add individually.
    #[serde(default)]
    pub users: Option<Vec<String>>,
    /// Group ids whose members are copied (a one-time snapshot).
    #[serde(default)]
    pub from_groups: Option<Vec<String>>,
    /// A branch code whose users are copied (a one-time snapshot).
    #[serde(default)]
    pub from_branch: Option<String>,
    /// With `from_branch`: also the users of every branch below it (default true).
    #[serde(default)]
    pub include_descendants: Option<bool>,
}

/// What adding did.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct AddOutcome {
    /// How many users became members.
    pub added: usize,
    /// How many were members already.
    pub already_members: usize,
    /// The group after the change.
    pub group: GroupView,
}

impl App {
    pub(crate) async fn group(&self, conn: &mut AnyConnection, id: &str) -> AppResult<Group> {
        let id = parse_id("group", id)?;
        roster_store::groups::get(conn, id).await?.ok_or_else(|| AppError::NotFound("group".into()))
    }

    /// Creates a group.
    pub async fn create_group(&self, actor: &Actor, input: NewGroup) -> AppResult<GroupView> {
        let mut tx = self.begin_copy().await?;
        let reach = Reach::within(tx.context().await?, actor);
        let group = self.insert_group(&mut tx, &reach, input).await?;
        tx.commit().await?;
        Ok(group.into())
    }

    /// Creates a group inside the caller's transaction. Every way of creating a group
    /// goes through here.
    pub(crate) async fn insert_group(&self, tx: &mut LiveTx, reach: &Reach, input: NewGroup) -> AppResult<Group> {
        let name = Name::parse("name", &input.name)?;
        let scope = reach.group_scope("scope", input.scope.as_deref())?;
        let description = optional_text("description", input.description.as_deref(), 2000)?;
        let policy = match input.policy.as_deref() {
            None => GroupPolicy::Manual,
            Some(p) => GroupPolicy::parse("policy", p)?,
        };
        let now = self.now();
        let mut group = Group {
            id: 0,
            name: name.into_string(),
            description,
            policy,
            rule_text: None,
            rule_tree: None,
            allow_suspended: false,
            member_count: 0,
            created_at: now,
            updated_at: now,
            scope,
        };
        if roster_store::groups::by_name(tx.read(), &group.name).await?.is_some() {
            return Err(AppError::conflict("name", format!("a group named \"{}\" exists", group.name)));
        }
        tx.insert_group(&mut group).await?;
        Ok(group)
    }

    /// A page of groups.
    pub async fn list_groups(
        &self,
        actor: &Actor,
        filter: &GroupFilter,
        page: &ListParams,
    ) -> AppResult<List<GroupView>> {
        let (after, limit) = page.resolve()?;
        let (q, policy) = filter.parts()?;
        let q = q.as_deref();
        let mut conn = self.store.read().await?;
        let page = roster_store::groups::list(&mut conn, q, policy, after, limit).await?;
        let mut list = List::from_page(page, GroupView::from);
        Reach::of(&mut conn, actor).await?.count_members(&mut conn, &mut list.items).await?;
        Ok(list)
    }

    /// A page (1-based) of the groups matching `filter`, sorted, and how many match:
    /// for the admin UI's sortable list. Member counts, and the order by them, are of
    /// the members the caller reaches, so a training admin's order tells nothing of
    /// users outside its branches.
    pub async fn list_groups_sorted(
        &self,
        actor: &Actor,
        filter: &GroupFilter,
        sort: GroupSort,
        page: u64,
        per_page: usize,
    ) -> AppResult<(Vec<GroupView>, u64)> {
        let (q, policy) = filter.parts()?;
        let q = q.as_deref();
        let mut conn = self.store.read().await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let total = u64::try_from(roster_store::groups::count_matching(&mut conn, q, policy).await?).unwrap_or(0);
        let offset = page.saturating_sub(1).saturating_mul(per_page as u64);
        let scoped = reach.branch_filter().is_some();
        let (order, descending) = sort.order();
        if order == GroupOrder::Members && scoped {
            // Counts within the caller's branches exist only once counted: count every
            // matching group, then sort and cut the page.
            let all =
                roster_store::groups::list_ordered(&mut conn, q, policy, (GroupOrder::Created, false), 0, usize::MAX)
                    .await?;
            let mut views: Vec<GroupView> = all.into_iter().map(GroupView::from).collect();
            reach.count_members(&mut conn, &mut views).await?;
            views.sort_by(|a, b| {
                let by_count = a.member_count.cmp(&b.member_count).then_with(|| id_order(&a.id, &b.id));
                if descending {
                    by_count.reverse()
                } else {
                    by_count
                }
            });
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(views.len());
            let items = views.drain(start..).take(per_page).collect();
            return Ok((items, total));
        }
        let found =
            roster_store::groups::list_ordered(&mut conn, q, policy, (order, descending), offset, per_page).await?;
        let mut items: Vec<GroupView> = found.into_iter().map(GroupView::from).collect();
        reach.count_members(&mut conn, &mut items).await?;
        Ok((items, total))
    }

    /// A group by id or, failing that, by name (any case): for the command line.
    pub async fn find_group(&self, _actor: &Actor, id_or_name: &str) -> AppResult<GroupView> {
        let mut conn = self.store.read().await?;
        if let Ok(id) = id_or_name.parse::<i64>() {
            if let Some(g) = roster_store::groups::get(&mut conn, id).await? {
                return Ok(g.into());
            }
        }
        roster_store::groups::by_name(&mut conn, id_or_name)
            .await?
            .map(GroupView::from)
            .ok_or_else(|| AppError::NotFound(format!("group \"{id_or_name}\"")))
    }

    /// Whether the caller may change group `id`: 403 when it may only read it (a
    /// training admin and a group reaching outside its branches), 404 when there is none.
    /// Every change checks this itself; screens ask first, so a refusal comes before
    /// anything about the form.
    pub async fn check_manages(&self, actor: &Actor, id: &str) -> AppResult<()> {
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        Reach::of(&mut conn, actor).await?.manage(&group)
    }

    /// One group.
    pub async fn get_group(&self, actor: &Actor, id: &str) -> AppResult<GroupView> {
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        Reach::of(&mut conn, actor).await?.view(&mut conn, group).await
    }

    /// Renames or re-describes a group.
    pub async fn update_group(&self, actor: &Actor, id: &str, patch: GroupPatch) -> AppResult<GroupView> {
        let mut tx = self.begin_copy().await?;
        let changed = self.change_group(&mut tx, actor, id, patch).await?;
        // Read back: a switch or a new scope moved members, and the count with them.
        let group = self.group(tx.read(), &changed.id.to_string()).await?;
        let view = Reach::within(tx.context().await?, actor).view(tx.read(), group).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Renames or re-describes a group inside the caller's transaction. Every way of
    /// changing a group goes through here.
    pub(crate) async fn change_group(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        id: &str,
        patch: GroupPatch,
    ) -> AppResult<Group> {
        let mut group = self.group(tx.read(), id).await?;
        let reach = Reach::within(tx.context().await?, actor);
        reach.manage(&group)?;
        if let Some(n) = &patch.name {
            let name = Name::parse("name", n)?.into_string();
            if let Some(other) = roster_store::groups::by_name(tx.read(), &name).await? {
                if other.id != group.id {
                    return Err(AppError::conflict("name", format!("a group named \"{name}\" exists")));
                }
            }
            group.name = name;
        }
        if let Some(d) = &patch.description {
            group.description = optional_text("description", d.as_deref(), 2000)?;
        }
        let rescoped = match &patch.scope {
            None => false,
            Some(None) if reach.is_everything() => group.scope.take().is_some(),
            Some(None) => {
                return Err(AppError::Forbidden("only a superadmin may make a group platform-wide".into()));
            }
            Some(Some(codes)) => {
                let scope = reach.group_scope("scope", Some(codes))?;
                let changed = scope != group.scope;
                group.scope = scope;
                changed
            }
        };
        let switched = match patch.allow_suspended {
            Some(allow) if allow != group.allow_suspended => {
                crate::automatic::automatic_only(&group)?;
                group.allow_suspended = allow;
                true
            }
            Some(_) => {
                crate::automatic::automatic_only(&group)?;
                false
            }
            None => false,
        };
        group.updated_at = self.now();
        let automatic = group.policy == GroupPolicy::Automatic;
        if switched || (rescoped && automatic) {
            let why = if rescoped {
                "branches changed"
            } else if group.allow_suspended {
                "suspended users allowed"
            } else {
                "suspended users no longer allowed"
            };
            tx.save_definition(&group, &self.cause(actor, format!("{why} by {}", actor.name))).await?;
        } else {
            tx.save_group(&group).await?;
        }
        // Rules refer to groups by id; their text names them, so it follows a rename.
        let (id, name) = (group.id, group.name.clone());
        for mut other in roster_store::groups::all(tx.read()).await? {
            let Some(mut rule) = crate::rules::stored_rule(&other) else { continue };
            if !rule.referenced_groups().contains(&id) {
                continue;
            }
            rule.refresh_group_names(|g| (g == id).then(|| name.clone()));
            other.rule_text = Some(rule.to_string());
            other.rule_tree = Some(serde_json::to_string(&rule).map_err(crate::rules::internal)?);
            tx.save_group(&other).await?;
        }
        Ok(group)
    }

    /// Deletes a group, unless another group's rule refers to it.
    pub async fn delete_group(&self, actor: &Actor, id: &str) -> AppResult<()> {
        let mut tx = self.begin_copy().await?;
        let group = self.group(tx.read(), id).await?;
        Reach::within(tx.context().await?, actor).manage(&group)?;
        self.remove_group(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a group inside the caller's transaction, unless a rule refers to it.
    pub(crate) async fn remove_group(&self, tx: &mut LiveTx, actor: &Actor, id: &str) -> AppResult<()> {
        let group = self.group(tx.read(), id).await?;
        let referrers = self.groups_referring_to(tx.read(), group.id).await?;
        if !referrers.is_empty() {
            return Err(AppError::conflict(
                "id",
                format!(
                    "\"{}\" is used by the rules of: {}; change those rules first",
                    group.name,
                    referrers.join(", ")
                ),
            ));
        }
        tx.delete_group(group.id, &self.cause(actor, "group deleted")).await?;
        Ok(())
    }

    /// A page of a group's members that the caller may see.
    pub async fn list_members(
        &self,
        actor: &Actor,
        id: &str,
        filter: &MemberFilter,
        page: &ListParams,
    ) -> AppResult<List<MemberView>> {
        let (after, limit) = page.resolve()?;
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let ctx = &reach.ctx;
        let query = MemberQuery {
            q: crate::ids::search_text("q", filter.q.as_deref())?,
            branch_ids: reach.branch_filter(),
            after,
            limit,
        };
        let page = roster_store::memberships::page(&mut conn, group.id, &query).await?;
        let copies = copy_sources(&mut conn, group.id, page.items.iter().map(|m| &m.membership)).await?;
        Ok(List::from_page(page, |m| MemberView {
            user: UserView::new(m.user, &ctx.tree),
            source: m.membership.source,
            added_at: crate::clock::rfc3339(m.membership.added_at),
            copied_from: copied_from(&copies, &m.membership),
            added_by: m.membership.added_by,
        }))
    }

    /// A group's members at a past moment (`as_of`, RFC 3339), ascending by id, answered
    /// from its membership events: of the users the caller may see now.
    pub async fn members_as_of(
        &self,
        actor: &Actor,
        id: &str,
        as_of: &str,
        page: &ListParams,
    ) -> AppResult<PastMembers> {
        let (after, limit) = page.resolve()?;
        let at = chrono::DateTime::parse_from_rfc3339(as_of.trim())
            .map_err(|_| {
                AppError::bad_request("as_of", "as_of must be a moment in RFC 3339, such as 2026-03-01T00:00:00Z")
            })?
            .timestamp_millis();
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let mut members = roster_store::events::members_at(&mut conn, group.id, at).await?;
        if let Some(population) = reach.population(&mut conn).await? {
            members &= population;
        }
        let total = members.len();
        let after = after.and_then(|a| u32::try_from(a).ok());
        let mut items: Vec<PastMemberView> = members
            .iter()
            .filter(|u| after.is_none_or(|a| *u > a))
            .take(limit + 1)
            .map(|u| PastMemberView { user_id: u.to_string() })
            .collect();
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|m| m.user_id.clone())
        } else {
            None
        };
        Ok(PastMembers { items, next_cursor, total, existed: at >= group.created_at })
    }

    /// Adds users to a group individually, or copies the members of other groups or the
    /// users of a branch. Only users in the caller's scope are added.
    pub async fn add_members(&self, actor: &Actor, id: &str, input: AddMembers) -> AppResult<AddOutcome> {
        let mut tx = self.begin_copy().await?;
        let group = self.group(tx.read(), id).await?;
        let caller = Reach::of(tx.read(), actor).await?;
        caller.manage(&group)?;
        let ways = [input.users.is_some(), input.from_groups.is_some(), input.from_branch.is_some()];
        if ways.iter().filter(|w| **w).count() != 1 {
            return Err(AppError::bad_request("users", "give exactly one of users, from_groups or from_branch"));
        }
        // Only users the group's scope holds can join it, whoever adds them.
        let reach = caller.for_group(&group);
        let (candidates, source, why) = if let Some(users) = &input.users {
            if users.is_empty() || users.len() > MAX_USERS_PER_REQUEST {
                return Err(AppError::bad_request("users", format!("give 1 to {MAX_USERS_PER_REQUEST} user ids")));
            }
            (reach.users_named(tx.read(), users).await?, MembershipSource::Manual, "added individually".to_owned())
        } else if let Some(groups) = &input.from_groups {
            self.copy_from_groups(tx.read(), &reach, &group, groups).await?
        } else {
            let code = input.from_branch.as_deref().unwrap_or_default();
            self.copy_from_branch(tx.read(), &caller, &reach, code, input.include_descendants.unwrap_or(true)).await?
        };
        let cause = Cause { actor: actor.name.clone(), why, at: self.now() };
        let Applied { joined, .. } = add_users(&mut tx, &group, &candidates, source, &cause).await?;
        let group = self.group(tx.read(), id).await?;
        let group = caller.view(tx.read(), group).await?;
        tx.commit().await?;
        Ok(AddOutcome { added: joined.len(), already_members: candidates.len() - joined.len(), group })
    }

    async fn copy_from_groups(
        &self,
        conn: &mut AnyConnection,
        reach: &Reach,
        target: &Group,
        ids: &[String],
    ) -> AppResult<(Vec<i64>, MembershipSource, String)> {
        if ids.is_empty() || ids.len() > 100 {
            return Err(AppError::bad_request("from_groups", "give 1 to 100 group ids"));
        }
        let mut users = Vec::new();
        let mut names = Vec::new();
        for (i, raw) in ids.iter().enumerate() {
            let not_found = || AppError::invalid(format!("from_groups[{i}]"), format!("no group has the id \"{raw}\""));
            let id = raw.parse::<i64>().map_err(|_| not_found())?;
            let source = roster_store::groups::get(conn, id).await?.ok_or_else(not_found)?;
            if source.id == target.id {
                return Err(AppError::invalid(format!("from_groups[{i}]"), "a group cannot be copied into itself"));
            }
            users.extend(roster_store::memberships::member_ids(conn, source.id).await?);
            names.push(format!("\"{}\"", source.name));
        }
        let users = reach.keep(conn, users).await?;
        Ok((users, MembershipSource::Copy, format!("copied from group {}", names.join(", "))))
    }

    async fn copy_from_branch(
        &self,
        conn: &mut AnyConnection,
        caller: &Reach,
        reach: &Reach,
        code: &str,
        descendants: bool,
    ) -> AppResult<(Vec<i64>, MembershipSource, String)> {
        let branch = caller.branch("from_branch", code)?;
        let branches: Vec<i64> =
            if descendants { caller.ctx.tree.subtree(branch.id).into_iter().collect() } else { vec![branch.id] };
        let users = roster_store::users::ids_in_branches(conn, &branches).await?;
        let users = reach.keep(conn, users).await?;
        let why =
            format!("copied from branch \"{}\"{}", branch.code, if descendants { " and its sub-branches" } else { "" });
        Ok((users, MembershipSource::Copy, why))
    }

    /// Removes a user from a group (for an automatic group: puts them on its exclude list).
    pub async fn remove_member(&self, actor: &Actor, id: &str, user_id: &str) -> AppResult<GroupView> {
        let user_id = parse_id("user", user_id)?;
        let mut tx = self.begin_copy().await?;
        let group = self.group(tx.read(), id).await?;
        let reach = Reach::of(tx.read(), actor).await?;
        reach.user(tx.read(), user_id).await?;
        reach.manage(&group)?;
        let is_member =
            !roster_store::memberships::which_are_members(tx.read(), group.id, &[user_id]).await?.is_empty();
        if !is_member && group.policy == GroupPolicy::Manual {
            return Err(AppError::NotFound("membership".into()));
        }
        let cause = Cause { actor: actor.name.clone(), why: "removed individually".into(), at: self.now() };
        remove_users(&mut tx, &group, &[user_id], &cause).await?;
        let group = self.group(tx.read(), id).await?;
        let view = reach.view(tx.read(), group).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A page (1-based) of a group's members that the caller may see, sorted, and how
    /// many of them match `filter`.
    pub async fn list_members_sorted(
        &self,
        actor: &Actor,
        id: &str,
        filter: &MemberFilter,
        sort: MemberSort,
        page: u64,
        per_page: usize,
    ) -> AppResult<(Vec<MemberView>, u64)> {
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let query = MemberQuery {
            q: crate::ids::search_text("q", filter.q.as_deref())?,
            branch_ids: reach.branch_filter(),
            after: None,
            limit: per_page,
        };
        let total = roster_store::memberships::count_matching(&mut conn, group.id, &query).await?;
        let offset = page.saturating_sub(1).saturating_mul(per_page as u64);
        let order = match sort {
            MemberSort::Username => (MemberOrder::Username, false),
            MemberSort::UsernameDesc => (MemberOrder::Username, true),
            MemberSort::Newest => (MemberOrder::Added, true),
            MemberSort::Oldest => (MemberOrder::Added, false),
        };
        let found = roster_store::memberships::page_ordered(&mut conn, group.id, &query, order, offset).await?;
        let copies = copy_sources(&mut conn, group.id, found.iter().map(|m| &m.membership)).await?;
        let items = found
            .into_iter()
            .map(|m| MemberView {
                user: UserView::new(m.user, &reach.ctx.tree),
                source: m.membership.source,
                added_at: crate::clock::rfc3339(m.membership.added_at),
                copied_from: copied_from(&copies, &m.membership),
                added_by: m.membership.added_by,
            })
            .collect();
        Ok((items, u64::try_from(total).unwrap_or(0)))
    }

    /// Removes several users from a manual group in one change (at most
    /// [`MAX_REMOVED_TOGETHER`]): every one must be a
    /// member the caller may see, or nothing is removed. Answers the group and how many
    /// left it.
    pub async fn remove_members(&self, actor: &Actor, id: &str, user_ids: &[String]) -> AppResult<(GroupView, usize)> {
        if user_ids.len() > MAX_REMOVED_TOGETHER {
            return Err(AppError::invalid(
                "users",
                format!("at most {MAX_REMOVED_TOGETHER} members are removed at once; use a CSV file for more"),
            ));
        }
        let mut ids = user_ids.iter().map(|u| parse_id("user", u)).collect::<AppResult<Vec<i64>>>()?;
        ids.sort_unstable();
        ids.dedup();
        let mut tx = self.begin_copy().await?;
        let group = self.group(tx.read(), id).await?;
        let reach = Reach::of(tx.read(), actor).await?;
        reach.manage(&group)?;
        if ids.is_empty() {
            return Err(AppError::invalid("users", "tick at least one member to remove"));
        }
        if group.policy != GroupPolicy::Manual {
            return Err(AppError::bad_request(
                "users",
                "members of an automatic group are removed one by one, each onto its exclude list",
            ));
        }
        for user in &ids {
            reach.user(tx.read(), *user).await?;
        }
        let members = roster_store::memberships::which_are_members(tx.read(), group.id, &ids).await?;
        if members.len() != ids.len() {
            return Err(AppError::NotFound("membership".into()));
        }
        let cause = Cause { actor: actor.name.clone(), why: "removed together".into(), at: self.now() };
        remove_users(&mut tx, &group, &members, &cause).await?;
        let group = self.group(tx.read(), id).await?;
        let view = reach.view(tx.read(), group).await?;
        tx.commit().await?;
        Ok((view, members.len()))
    }

    /// A page of a group's membership history, newest first: of the users the caller
    /// may see.
    pub async fn group_events(&self, actor: &Actor, id: &str, page: &ListParams) -> AppResult<List<EventView>> {
        let (from, limit) = page.resolve_events()?;
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        let within = Reach::of(&mut conn, actor).await?.branch_filter();
        let page =
            roster_store::events::page(&mut conn, Subject::Group(group.id), within.as_deref(), from, limit).await?;
        Ok(List::from_events(page))
    }

    /// A page of a user's membership history, newest first.
    pub async fn user_events(&self, actor: &Actor, user_id: &str, page: &ListParams) -> AppResult<List<EventView>> {
        let (from, limit) = page.resolve_events()?;
        let id = parse_id("user", user_id)?;
        let mut conn = self.store.read().await?;
        Reach::of(&mut conn, actor).await?.user(&mut conn, id).await?;
        let page = roster_store::events::page(&mut conn, Subject::User(id), None, from, limit).await?;
        Ok(List::from_events(page))
    }

    /// The groups a user belongs to.
    pub async fn user_groups(&self, actor: &Actor, user_id: &str) -> AppResult<Vec<UserGroupView>> {
        let id = parse_id("user", user_id)?;
        let mut conn = self.store.read().await?;
        Reach::of(&mut conn, actor).await?.user(&mut conn, id).await?;
        let groups: HashMap<i64, Group> =
            roster_store::groups::all(&mut conn).await?.into_iter().map(|g| (g.id, g)).collect();
        let memberships = roster_store::memberships::of_user(&mut conn, id).await?;
        Ok(memberships
            .into_iter()
            .filter_map(|m| {
                let g = groups.get(&m.group_id)?;
                Some(UserGroupView {
                    id: g.id.to_string(),
                    name: g.name.clone(),
                    policy: g.policy,
                    source: m.source,
                    added_at: crate::clock::rfc3339(m.added_at),
                })
            })
            .collect())
    }

    /// The names of the groups whose rules refer to group `id` through `member_of`.
    pub(crate) async fn groups_referring_to(&self, conn: &mut AnyConnection, id: i64) -> AppResult<Vec<String>> {
        let groups = roster_store::groups::all(conn).await?;
        Ok(groups
            .into_iter()
            .filter(|g| {
                g.rule_tree
                    .as_deref()
                    .and_then(|t| roster_domain::rule::Rule::from_json(t).ok())
                    .is_some_and(|r| r.referenced_groups().contains(&id))
            })
            .map(|g| format!("\"{}\"", g.name))
            .collect())
    }
}

/// What an administrator's add or remove did: the users who joined and who left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Users who became members.
    pub joined: Vec<i64>,
    /// Users who stopped being members.
    pub left: Vec<i64>,
}

/// Adds users to a group as an administrator asks: a manual group gains them as
/// members; an automatic group puts them on its include list (and off its exclude list),
/// which makes them members. Automatic groups that depend on it follow.
pub(crate) async fn add_users(
    tx: &mut LiveTx,
    group: &Group,
    users: &[i64],
    source: MembershipSource,
    cause: &Cause,
) -> AppResult<Applied> {
    match group.policy {
        GroupPolicy::Manual => Ok(Applied { joined: tx.join(group, users, source, cause).await?, left: vec![] }),
        GroupPolicy::Automatic => {
            let before = roster_store::memberships::which_are_members(tx.read(), group.id, users).await?;
            tx.edit_list(group.id, ListKind::Include, users, &[], cause).await?;
            let after = roster_store::memberships::which_are_members(tx.read(), group.id, users).await?;
            Ok(Applied { joined: minus(&after, &before), left: vec![] })
        }
    }
}

/// Removes users from a group as an administrator asks: a manual group loses them; an
/// automatic group puts them on its exclude list (and off its include list).
pub(crate) async fn remove_users(tx: &mut LiveTx, group: &Group, users: &[i64], cause: &Cause) -> AppResult<Applied> {
    match group.policy {
        GroupPolicy::Manual => Ok(Applied { joined: vec![], left: tx.leave(group, users, cause).await? }),
        GroupPolicy::Automatic => {
            let before = roster_store::memberships::which_are_members(tx.read(), group.id, users).await?;
            tx.edit_list(group.id, ListKind::Exclude, users, &[], cause).await?;
            let after = roster_store::memberships::which_are_members(tx.read(), group.id, users).await?;
            Ok(Applied { joined: vec![], left: minus(&before, &after) })
        }
    }
}

/// The sorted `a` without the sorted `b`.
fn minus(a: &[i64], b: &[i64]) -> Vec<i64> {
    a.iter().copied().filter(|x| b.binary_search(x).is_err()).collect()
}

/// The joins that made the copied memberships among `memberships`: those recorded at
/// the moments of the copies, with their causes ("copied from group \"Sales team\"").
async fn copy_sources(
    conn: &mut AnyConnection,
    group: i64,
    memberships: impl Iterator<Item = &Membership>,
) -> AppResult<Vec<Move>> {
    let mut moments: Vec<i64> =
        memberships.filter(|m| m.source == MembershipSource::Copy).map(|m| m.added_at).collect();
    moments.sort_unstable();
    moments.dedup();
    Ok(roster_store::events::joins_at(conn, group, &moments).await?)
}

/// "Sales team", or "branch FR and its sub-branches", for a copied membership: the
/// cause of the last join that brought the user in at the moment of the copy.
fn copied_from(copies: &[Move], membership: &Membership) -> Option<String> {
    if membership.source != MembershipSource::Copy {
        return None;
    }
    let user = u32::try_from(membership.user_id).ok()?;
    let join = copies.iter().rev().find(|j| j.at == membership.added_at && j.users.contains(user))?;
    let from = join.cause.strip_prefix("copied from ")?;
    Some(from.strip_prefix("group ").unwrap_or(from).replace('"', ""))
}
