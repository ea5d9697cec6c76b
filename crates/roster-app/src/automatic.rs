//! Automatic groups: their rule, include and exclude lists and suspended switch; the
//! preview of a rule before it is saved, and why a user is or is not a member.

use roster_domain::rule::Rule;
use roster_domain::{Group, GroupPolicy};
use roster_engine::{AutomaticGroup, Evaluation, Explanation};
use roster_store::groups::ListKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::live::engine_error;
use crate::reach::Reach;
use crate::rules::{catalog, check_cycles, compile, internal, stored_rule, RuleInput};
use crate::transaction::LiveTx;
use crate::views::GroupView;
use crate::{parse_id, Actor, App, AppError, AppResult};

/// How many sample users a preview shows each way.
const SAMPLES: usize = 10;

/// A rule in its three forms.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleView {
    /// The canonical text.
    pub text: Option<String>,
    /// The JSON tree.
    #[schema(value_type = Option<Object>)]
    pub tree: Option<Rule>,
    /// The builder's condition sets, when the rule has their shape.
    #[schema(value_type = Option<Object>)]
    pub sets: Option<roster_domain::rule::ConditionSets>,
}

impl RuleView {
    fn of(rule: Option<Rule>) -> Self {
        Self { text: rule.as_ref().map(ToString::to_string), sets: rule.as_ref().and_then(Rule::to_sets), tree: rule }
    }
}

/// What saving a rule or a list did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleOutcome {
    /// The group after the change.
    pub group: GroupView,
    /// The rule saved.
    pub rule: RuleView,
    /// How many users joined.
    pub joined: u64,
    /// How many users left.
    pub left: u64,
}

/// A user id and name, as lists and samples show them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserRef {
    /// The user's id.
    pub id: String,
    /// The user's login name.
    pub username: String,
}

/// A replacement for an include or exclude list.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// The user ids on the list (replaces it whole).
    pub users: Vec<String>,
}

/// A rule to preview, for a group or for none.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    /// The rule as text.
    #[serde(default)]
    pub text: Option<String>,
    /// The rule as a JSON tree.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub tree: Option<serde_json::Value>,
    /// The rule as condition sets.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sets: Option<serde_json::Value>,
    /// The group the rule is for: joins and leaves are counted against its members.
    #[serde(default)]
    pub group: Option<String>,
    /// For a new group: whether suspended users would be members (a group's own
    /// setting applies otherwise).
    #[serde(default)]
    pub allow_suspended: Option<bool>,
}

/// What a rule would do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewView {
    /// The rule as it would be saved.
    pub text: String,
    /// How many members the group would have.
    pub member_count: u64,
    /// How many users would join.
    pub join_count: u64,
    /// How many would leave.
    pub leave_count: u64,
    /// Some who would join.
    pub join_samples: Vec<UserRef>,
    /// Some who would leave.
    pub leave_samples: Vec<UserRef>,
    /// The enrollments the group's enrollment rules would make for those who would
    /// join: per course, how many of them have no enrollment in it yet.
    pub enrollments: Vec<PreviewEnrollment>,
}

/// How many of those who would join an enrollment rule would enroll in its course.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewEnrollment {
    /// The course's code.
    pub course: String,
    /// How many users it would enroll.
    pub users: u64,
}

/// The users of `ids` found in `names`, in the order of `ids`.
fn refs(ids: &[i64], names: &std::collections::HashMap<i64, String>) -> Vec<UserRef> {
    ids.iter()
        .filter_map(|id| names.get(id).map(|name| UserRef { id: id.to_string(), username: name.clone() }))
        .collect()
}

pub(crate) fn automatic_only(group: &Group) -> AppResult<()> {
    if group.policy == GroupPolicy::Automatic {
        Ok(())
    } else {
        Err(AppError::conflict(
            "policy",
            format!("\"{}\" is a manual group; only automatic groups have rules and lists", group.name),
        ))
    }
}

impl App {
    /// An automatic group's rule in its three forms.
    pub async fn get_rule(&self, _actor: &Actor, id: &str) -> AppResult<RuleView> {
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        automatic_only(&group)?;
        Ok(RuleView::of(stored_rule(&group)))
    }

    /// Sets or replaces an automatic group's rule; its members move as a diff in the
    /// same transaction (users who still match never leave).
    pub async fn set_rule(&self, actor: &Actor, id: &str, input: RuleInput) -> AppResult<RuleOutcome> {
        let mut tx = self.begin_copy().await?;
        let mut group = self.group(tx.read(), id).await?;
        automatic_only(&group)?;
        Reach::of(tx.read(), actor).await?.manage(&group)?;
        let rule = compile(&input, &catalog(tx.read()).await?)?;
        let groups = roster_store::groups::all(tx.read()).await?;
        check_cycles(&groups, &group, &rule)?;
        if let Some(steps) = tx.engine(|e| e.enrollment_loop(group.id, Some(&rule), None))? {
            return Err(crate::enrollment_rules::loop_error("text", &steps));
        }
        group.rule_text = Some(rule.to_string());
        group.rule_tree = Some(serde_json::to_string(&rule).map_err(internal)?);
        group.updated_at = tx.now;
        let cause = self.cause(actor, format!("rule edited by {}", actor.name));
        let evaluation = tx.save_definition(&group, &cause).await?;
        self.finish_definition(tx, actor, group.id, &evaluation).await
    }

    /// Commits what a definition change did and shapes the answer, counting only the
    /// users the caller reaches.
    async fn finish_definition(
        &self,
        mut tx: LiveTx,
        actor: &Actor,
        group: i64,
        evaluation: &Evaluation,
    ) -> AppResult<RuleOutcome> {
        let reach = Reach::of(tx.read(), actor).await?;
        let population = reach.population(tx.read()).await?;
        let count = |users: &roaring::RoaringBitmap| match &population {
            Some(reached) => users.intersection_len(reached),
            None => users.len(),
        };
        let (joined, left) = evaluation.get(group).map_or((0, 0), |g| (count(&g.joined), count(&g.left)));
        let saved =
            roster_store::groups::get(tx.read(), group).await?.ok_or_else(|| AppError::NotFound("group".into()))?;
        let rule = RuleView::of(stored_rule(&saved));
        let group = reach.view(tx.read(), saved).await?;
        tx.commit().await?;
        Ok(RuleOutcome { rule, group, joined, left })
    }

    /// The users on an automatic group's include or exclude list (those the caller may see).
    pub async fn get_list(&self, actor: &Actor, id: &str, kind: ListKind) -> AppResult<Vec<UserRef>> {
        let mut conn = self.store.read().await?;
        let group = self.group(&mut conn, id).await?;
        automatic_only(&group)?;
        let reach = Reach::of(&mut conn, actor).await?;
        let ids = roster_store::groups::list_users(&mut conn, group.id, kind).await?;
        let ids = reach.keep(&mut conn, ids).await?;
        self.user_refs(&mut conn, &ids).await
    }

    /// The users of `ids` that exist, in the order given, in one read.
    async fn user_refs(&self, conn: &mut roster_store::AnyConnection, ids: &[i64]) -> AppResult<Vec<UserRef>> {
        Ok(refs(ids, &roster_store::users::usernames(conn, ids).await?))
    }

    /// Replaces an automatic group's include or exclude list. A user put on one list
    /// leaves the other. A training admin's list edits keep the users it cannot see.
    pub async fn set_list(&self, actor: &Actor, id: &str, kind: ListKind, input: ListInput) -> AppResult<RuleOutcome> {
        let mut tx = self.begin_copy().await?;
        let group = self.group(tx.read(), id).await?;
        automatic_only(&group)?;
        let caller = Reach::of(tx.read(), actor).await?;
        caller.manage(&group)?;
        let reach = caller.for_group(&group);
        if input.users.len() > 100_000 {
            return Err(AppError::bad_request("users", "a list holds at most 100,000 users"));
        }
        let wanted = reach.users_named(tx.read(), &input.users).await?;
        let current = roster_store::groups::list_users(tx.read(), group.id, kind).await?;
        let reachable = reach.keep(tx.read(), current).await?;
        let gone: Vec<i64> = reachable.iter().copied().filter(|u| wanted.binary_search(u).is_err()).collect();
        let what = match kind {
            ListKind::Include => "include list",
            ListKind::Exclude => "exclude list",
        };
        let cause = self.cause(actor, format!("{what} edited by {}", actor.name));
        let evaluation = tx.edit_list(group.id, kind, &wanted, &gone, &cause).await?;
        self.finish_definition(tx, actor, group.id, &evaluation).await
    }

    /// What a rule would do, saving nothing.
    pub async fn preview_rule(&self, actor: &Actor, input: PreviewInput) -> AppResult<PreviewView> {
        let mut tx = self.snapshot().await?;
        let group = match input.group.as_deref() {
            Some(id) => {
                let g = self.group(tx.read(), id).await?;
                automatic_only(&g)?;
                Some(g)
            }
            None => None,
        };
        let rule_input = RuleInput { text: input.text.clone(), tree: input.tree.clone(), sets: input.sets.clone() };
        // The image's catalog is the committed one: no read of four tables, which a
        // write beside the preview would slow down.
        let rule = tx.engine(|e| compile(&rule_input, e.rule_catalog()))??;
        if let Some(g) = &group {
            check_cycles(&roster_store::groups::all(tx.read()).await?, g, &rule)?;
        }
        let (include, exclude) = match &group {
            Some(g) => (
                roster_store::groups::list_users(tx.read(), g.id, ListKind::Include).await?,
                roster_store::groups::list_users(tx.read(), g.id, ListKind::Exclude).await?,
            ),
            None => (vec![], vec![]),
        };
        // The group's scope is one more branch condition of its rule.
        let scoped = match group.as_ref().and_then(|g| g.scope.as_deref()) {
            Some(codes) => rule.clone().within_branches(codes),
            None => rule.clone(),
        };
        let candidate = AutomaticGroup {
            rule: scoped,
            include,
            exclude,
            allow_suspended: input.allow_suspended.or(group.as_ref().map(|g| g.allow_suspended)).unwrap_or(false),
        };
        let today = tx.today;
        let preview = tx
            .engine(|e| e.preview(&candidate, group.as_ref().map(|g| g.id), today, SAMPLES))?
            .map_err(engine_error)?;
        // A training admin learns nothing of the users outside its branches: not one
        // count, not one sample.
        let preview = match Reach::of(tx.read(), actor).await?.population(tx.read()).await? {
            Some(reached) => preview.within(&reached, SAMPLES),
            None => preview,
        };
        let names = roster_store::users::usernames(
            tx.read(),
            &[&preview.join_samples[..], &preview.leave_samples[..]].concat(),
        )
        .await?;
        let join_samples = refs(&preview.join_samples, &names);
        let leave_samples = refs(&preview.leave_samples, &names);
        let enrolling = match &group {
            Some(g) => tx.engine(|e| {
                e.enrollment_rules(g.id)
                    .iter()
                    .map(|r| (r.course_id, (&preview.joined - &e.enrolled_in(r.course_id)).len()))
                    .collect::<Vec<_>>()
            })?,
            None => Vec::new(),
        };
        let codes: std::collections::HashMap<i64, String> = if enrolling.is_empty() {
            std::collections::HashMap::new()
        } else {
            roster_store::courses::all(tx.read()).await?.into_iter().map(|c| (c.id, c.code)).collect()
        };
        let enrollments = enrolling
            .into_iter()
            .map(|(course, users)| PreviewEnrollment { course: codes.get(&course).cloned().unwrap_or_default(), users })
            .collect();
        Ok(PreviewView {
            text: rule.to_string(),
            member_count: preview.member_count,
            join_count: preview.join_count,
            leave_count: preview.leave_count,
            join_samples,
            leave_samples,
            enrollments,
        })
    }

    /// Why a user is, or is not, a member of an automatic group.
    pub async fn explain(&self, actor: &Actor, id: &str, user_id: &str) -> AppResult<Explanation> {
        let user = parse_id("user", user_id)?;
        let mut tx = self.snapshot().await?;
        let group = self.group(tx.read(), id).await?;
        automatic_only(&group)?;
        Reach::of(tx.read(), actor).await?.user(tx.read(), user).await?;
        if group.rule_tree.is_none() {
            return Err(AppError::conflict("rule", format!("\"{}\" has no rule yet", group.name)));
        }
        let today = tx.today;
        tx.engine(|e| e.explain(group.id, user, today))?.map_err(engine_error)
    }
}
