//! One user against every automatic group, in dependency order so that `member_of`
//! sees the memberships just computed: what an ordinary write needs, in microseconds.

use chrono::NaiveDate;
use roster_domain::MembershipChange;
use serde::Serialize;
use std::sync::Arc;

use crate::change::{Input, UserChange};
use crate::compile::{Compiled, CompiledRule, Node};
use crate::engine::Engine;
use crate::error::{user_key, EngineError};
use crate::groups::Automatic;

/// One membership that changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MembershipDelta {
    /// The automatic group.
    pub group: i64,
    /// Whether the user joins or leaves it.
    pub change: MembershipChange,
}

/// How one user's automatic memberships change, against those last committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserEvaluation {
    /// The user.
    pub user: i64,
    /// The changes, in dependency order.
    pub changes: Vec<MembershipDelta>,
}

impl Engine {
    /// Evaluates every automatic group for one user, on `today`: the memberships that
    /// change against those last committed. Nothing changes until
    /// [`Engine::commit_user`].
    pub fn evaluate_user(&self, user: i64, today: NaiveDate) -> Result<UserEvaluation, EngineError> {
        let id = user_key(user)?;
        let mut evaluator = UserEvaluator::new(self, id, today).ok_or(EngineError::UnknownUser(user))?;
        evaluator.run();
        let changes = self
            .order
            .iter()
            .zip(&evaluator.decided)
            .filter_map(|(&group, &member)| {
                let was = self.groups.get(&group)?.members.contains(id);
                let change = match (was, member?) {
                    (false, true) => MembershipChange::Joined,
                    (true, false) => MembershipChange::Left,
                    _ => return None,
                };
                Some(MembershipDelta { group, change })
            })
            .collect();
        Ok(UserEvaluation { user, changes })
    }

    /// Evaluates, for the user a write changed, only the automatic groups whose rules
    /// read what changed, and in cascade those naming a group the user joins or
    /// leaves: the same answer as [`Engine::evaluate_user`] when the memberships last
    /// committed were current before the write (as committing every evaluation keeps
    /// them), at a fraction of the cost. `change` covers the writes since the user's
    /// memberships were last committed ([`UserChange::merge`] gathers several).
    pub fn evaluate_change(&self, change: &UserChange, today: NaiveDate) -> Result<UserEvaluation, EngineError> {
        let id = user_key(change.user())?;
        let mut evaluator = UserEvaluator::new(self, id, today).ok_or(EngineError::UnknownUser(change.user()))?;
        let mut reach = change.clone();
        let mut changes = Vec::new();
        for (position, &group) in self.order.iter().enumerate() {
            let Some(g) = self.groups.get(&group) else {
                continue;
            };
            let Some(auto) = g.automatic() else {
                continue;
            };
            if !reach.is_created() && !reach.touches(&auto.inputs) {
                continue;
            }
            let member = evaluator.decide(position, auto);
            let was = !change.is_created() && g.members.contains(id);
            if member != was {
                let change = if member { MembershipChange::Joined } else { MembershipChange::Left };
                changes.push(MembershipDelta { group, change });
                reach.add(Input::Group(group));
            }
        }
        Ok(UserEvaluation { user: change.user(), changes })
    }

    /// Records a user's evaluated changes as committed.
    pub fn commit_user(&mut self, evaluation: &UserEvaluation) {
        let Ok(id) = user_key(evaluation.user) else {
            return;
        };
        for delta in &evaluation.changes {
            if let Some(group) = self.groups.get_mut(&delta.group).map(Arc::make_mut) {
                match delta.change {
                    MembershipChange::Joined => group.members.insert(id),
                    MembershipChange::Left => group.members.remove(id),
                };
            }
        }
    }
}

/// Evaluates rules for one user, each predicate at most once.
#[derive(Debug)]
pub(crate) struct UserEvaluator<'a> {
    engine: &'a Engine,
    slot: u32,
    pub(crate) user: u32,
    today: NaiveDate,
    /// Per predicate: 0 not yet asked, 1 false, 2 true.
    memo: Vec<u8>,
    /// Per automatic group in dependency order: the new membership, once computed.
    pub(crate) decided: Vec<Option<bool>>,
}

impl<'a> UserEvaluator<'a> {
    /// An evaluator for a user in the image.
    pub(crate) fn new(engine: &'a Engine, user: u32, today: NaiveDate) -> Option<Self> {
        Some(Self {
            engine,
            slot: engine.image.slot(user)?,
            user,
            today,
            memo: vec![0; engine.predicates.capacity()],
            decided: vec![None; engine.order.len()],
        })
    }

    /// Decides every automatic group, in dependency order.
    pub(crate) fn run(&mut self) {
        let engine = self.engine;
        for (position, group) in engine.order.iter().enumerate() {
            if let Some(auto) = engine.groups.get(group).and_then(|g| g.automatic()) {
                self.decide(position, auto);
            }
        }
    }

    /// Decides the automatic group at `position` of the dependency order.
    fn decide(&mut self, position: usize, auto: &Automatic) -> bool {
        let matches = self.holds(&auto.compiled);
        let suspended = self.engine.image.suspended.contains(self.user);
        let member = auto.is_member(self.user, matches, suspended);
        if let Some(decided) = self.decided.get_mut(position) {
            *decided = Some(member);
        }
        member
    }

    /// Whether a rule holds.
    pub(crate) fn holds(&mut self, rule: &CompiledRule) -> bool {
        self.node(rule, &rule.root)
    }

    fn node(&mut self, rule: &CompiledRule, node: &Node) -> bool {
        match node {
            Node::All(members) => members.iter().all(|m| self.node(rule, m)),
            Node::Any(members) => members.iter().any(|m| self.node(rule, m)),
            Node::Not(inner) => !self.node(rule, inner),
            Node::Condition(i) => rule.conditions.get(*i).is_some_and(|&c| self.condition(c)),
        }
    }

    /// Whether a condition holds.
    pub(crate) fn condition(&mut self, condition: Compiled) -> bool {
        match condition {
            Compiled::MemberOf(group) => self.member_of(group),
            Compiled::Predicate { id, negated } => {
                let known = self.memo.get(id as usize).copied().unwrap_or(0);
                let holds = if known == 0 {
                    let holds = self
                        .engine
                        .predicates
                        .get(id)
                        .is_some_and(|p| p.holds(&self.engine.image, self.slot, self.user, self.today));
                    if let Some(m) = self.memo.get_mut(id as usize) {
                        *m = 1 + u8::from(holds);
                    }
                    holds
                } else {
                    known == 2
                };
                holds != negated
            }
        }
    }

    /// Whether the user is a member of a group: an automatic group's new membership
    /// when decided, else its committed one; a manual group's.
    pub(crate) fn member_of(&self, group: i64) -> bool {
        let decided = self.engine.positions.get(&group).and_then(|&p| self.decided.get(p).copied().flatten());
        decided.unwrap_or_else(|| self.engine.groups.get(&group).is_some_and(|g| g.members.contains(self.user)))
    }
}
