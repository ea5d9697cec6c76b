//! What a caller reaches: the one place the scope of DESIGN §7 is applied to users.
//!
//! A use case over users resolves the caller's [`Reach`] once, against the org chart it
//! read in its transaction, and asks it for every user, list of users, branch and query
//! filter. Nothing else in the app reads an actor's branches, so a use case cannot
//! forget the scope: without a `Reach` it has no way to name a user by id.

use roaring::RoaringBitmap;
use roster_domain::{Branch, Group, User};
use roster_store::AnyConnection;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::views::GroupView;
use crate::{Actor, AppError, AppResult, Context, Scope};

/// A caller's scope resolved against the current org chart, with that chart and the
/// field definitions (what validating a user needs besides).
#[derive(Debug, Clone)]
pub(crate) struct Reach {
    pub ctx: Arc<Context>,
    scope: Scope,
    /// The branch codes it was given (a training admin's), canonical; empty for everything.
    codes: Vec<String>,
    /// Whether this reach was narrowed to a group's branches (its refusals say so).
    narrowed: bool,
}

impl Reach {
    /// Reads the org chart and resolves `actor`'s scope in it.
    pub(crate) async fn of(conn: &mut AnyConnection, actor: &Actor) -> AppResult<Self> {
        Ok(Self::within(Arc::new(Context::load(conn).await?), actor))
    }

    /// Resolves `actor`'s scope in an org chart already read.
    pub(crate) fn within(ctx: Arc<Context>, actor: &Actor) -> Self {
        let scope = actor.scope(&ctx.tree);
        let codes = match scope {
            Scope::All => Vec::new(),
            Scope::Branches(_) => {
                actor.branch_codes.iter().filter_map(|c| ctx.tree.by_code(c)).map(|b| b.code.clone()).collect()
            }
        };
        Self { ctx, scope, codes, narrowed: false }
    }

    /// Everything, for the system's own work (SCIM provisioning, maintenance).
    pub(crate) fn everything(ctx: Arc<Context>) -> Self {
        Self { ctx, scope: Scope::All, codes: Vec::new(), narrowed: false }
    }

    /// The branch ids a group's scope covers (each code with its sub-branches); `None`
    /// for a platform-wide group.
    fn group_branches(&self, group: &Group) -> Option<HashSet<i64>> {
        let codes = group.scope.as_ref()?;
        Some(codes.iter().filter_map(|c| self.ctx.tree.by_code(c)).flat_map(|b| self.ctx.tree.subtree(b.id)).collect())
    }

    /// Whether the caller manages `group`: a superadmin every group; a training admin
    /// the groups whose scope lies within its branches. Others are read-only to it (403).
    pub(crate) fn manage(&self, group: &Group) -> AppResult<()> {
        if self.is_everything() {
            return Ok(());
        }
        match self.group_branches(group) {
            None => Err(AppError::Forbidden(format!(
                "\"{}\" is a platform-wide group: only a superadmin may change it",
                group.name
            ))),
            Some(ids) if ids.iter().all(|b| self.reaches(Some(*b))) => Ok(()),
            Some(_) => Err(AppError::Forbidden(format!(
                "\"{}\" reaches branches outside yours: only a superadmin may change it",
                group.name
            ))),
        }
    }

    /// This reach narrowed to the users `group` may hold: who may be added to it.
    pub(crate) fn for_group(&self, group: &Group) -> Reach {
        let Some(ids) = self.group_branches(group) else { return self.clone() };
        let scope = match &self.scope {
            Scope::All => Scope::Branches(ids),
            Scope::Branches(mine) => Scope::Branches(mine.intersection(&ids).copied().collect()),
        };
        Reach { ctx: self.ctx.clone(), scope, codes: self.codes.clone(), narrowed: true }
    }

    /// The scope a group gets, as `field` asked for it: a superadmin's group is
    /// platform-wide unless it names branches; a training admin's is its branches, or a
    /// part of them it names. Codes are checked (422) and must be the caller's (403).
    pub(crate) fn group_scope(&self, field: &str, asked: Option<&[String]>) -> AppResult<Option<Vec<String>>> {
        let Some(asked) = asked else {
            return Ok((!self.is_everything()).then(|| self.codes.clone()));
        };
        if asked.is_empty() {
            return Err(AppError::invalid(
                field,
                "name one or more branches; a superadmin leaves it out (null) for a platform-wide group",
            ));
        }
        let mut codes: Vec<String> = Vec::with_capacity(asked.len());
        for code in asked.iter().map(|c| c.trim()) {
            let branch = self.branch(field, code)?;
            if !codes.contains(&branch.code) {
                codes.push(branch.code.clone());
            }
        }
        Ok(Some(codes))
    }

    /// The scope itself, for checks that run away from the connection (an import's
    /// parallel pass).
    pub(crate) fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Whether the caller reaches every user.
    pub(crate) fn is_everything(&self) -> bool {
        self.scope == Scope::All
    }

    /// Whether a user placed in `branch_id` is reachable.
    pub(crate) fn reaches(&self, branch_id: Option<i64>) -> bool {
        self.scope.contains(branch_id)
    }

    /// The branch ids a query over users must keep to; `None` when unrestricted.
    pub(crate) fn branch_filter(&self) -> Option<Vec<i64>> {
        self.scope.branch_filter()
    }

    /// A user the caller may see, or 404 — an outside user answers as if it did not exist.
    pub(crate) async fn user(&self, conn: &mut AnyConnection, id: i64) -> AppResult<User> {
        match roster_store::users::get(conn, id).await? {
            Some(u) if self.reaches(u.branch_id) => Ok(u),
            _ => Err(AppError::NotFound("user".into())),
        }
    }

    /// The users among `users` the caller may reach, sorted and without repeats.
    pub(crate) async fn keep(&self, conn: &mut AnyConnection, mut users: Vec<i64>) -> AppResult<Vec<i64>> {
        users.sort_unstable();
        users.dedup();
        if self.is_everything() {
            return Ok(users);
        }
        let found = roster_store::users::branches_of(conn, &users).await?;
        let mut kept: Vec<i64> = found.into_iter().filter(|f| self.reaches(f.branch_id)).map(|f| f.id).collect();
        kept.sort_unstable();
        Ok(kept)
    }

    /// User ids as a client sent them (`users[i]`), each one a user the caller reaches
    /// — 422 naming the first that is not a number or not reachable, worded as for an
    /// id nobody has — sorted and without repeats.
    pub(crate) async fn users_named(&self, conn: &mut AnyConnection, raw: &[String]) -> AppResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(raw.len());
        for (i, r) in raw.iter().enumerate() {
            let id = r
                .parse::<i64>()
                .map_err(|_| AppError::invalid(format!("users[{i}]"), format!("\"{r}\" is not a user id")))?;
            ids.push(id);
        }
        let found: HashMap<i64, Option<i64>> =
            roster_store::users::branches_of(conn, &ids).await?.into_iter().map(|f| (f.id, f.branch_id)).collect();
        for (i, id) in ids.iter().enumerate() {
            if !found.get(id).is_some_and(|b| self.reaches(*b)) {
                let message = if self.narrowed {
                    format!("no user of the group's branches has the id \"{id}\"")
                } else {
                    format!("no user has the id \"{id}\"")
                };
                return Err(AppError::invalid(format!("users[{i}]"), message));
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Every user the caller reaches, as a set; `None` when it reaches everyone.
    pub(crate) async fn population(&self, conn: &mut AnyConnection) -> AppResult<Option<RoaringBitmap>> {
        let Some(branches) = self.branch_filter() else { return Ok(None) };
        let ids = roster_store::users::ids_in_branches(conn, &branches).await?;
        Ok(Some(ids.into_iter().filter_map(|id| u32::try_from(id).ok()).collect()))
    }

    /// A group as the caller may see it: its member count is of the members it reaches.
    pub(crate) async fn view(&self, conn: &mut AnyConnection, group: Group) -> AppResult<GroupView> {
        let mut views = [GroupView::from(group)];
        self.count_members(conn, &mut views).await?;
        let [view] = views;
        Ok(view)
    }

    /// The member counts a caller may read: of the members it reaches.
    pub(crate) async fn count_members(&self, conn: &mut AnyConnection, groups: &mut [GroupView]) -> AppResult<()> {
        let Some(branches) = self.branch_filter() else { return Ok(()) };
        let ids: Vec<i64> = groups.iter().filter_map(|g| g.id.parse().ok()).collect();
        let counts = roster_store::memberships::counts_in_branches(conn, &ids, &branches).await?;
        for g in groups {
            g.member_count = g.id.parse().ok().and_then(|id| counts.get(&id).copied()).unwrap_or(0);
        }
        Ok(())
    }

    /// A branch by code, named in `field`: 422 when no branch has it, 403 when it lies
    /// outside the caller's branches.
    pub(crate) fn branch(&self, field: &str, code: &str) -> AppResult<&Branch> {
        let branch = self
            .ctx
            .tree
            .by_code(code)
            .ok_or_else(|| AppError::invalid(field, format!("no branch has the code \"{code}\"")))?;
        if !self.reaches(Some(branch.id)) {
            return Err(AppError::Forbidden(format!("branch \"{code}\" is outside your branches")));
        }
        Ok(branch)
    }

    /// Where a user is placed: a branch the caller reaches, or none — which only a
    /// caller that reaches everyone may choose, since nobody else could see the user after.
    pub(crate) fn place(&self, code: Option<&str>) -> AppResult<Option<i64>> {
        match code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => Ok(Some(self.branch("branch", code)?.id)),
            None if self.is_everything() => Ok(None),
            None => Err(AppError::Forbidden("a training admin must place users in one of its branches".into())),
        }
    }
}
