//! The whole population against automatic groups, as bitmaps: every group in dependency
//! order, each shared predicate computed once per evaluation; and the diffs against the
//! members last committed. What rule edits, imports, date roll-over and reconcile need.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use roaring::RoaringBitmap;

use crate::compile::{Compiled, CompiledRule, Node};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::graph;
use crate::groups::Group;
use crate::image::Image;
use crate::posting::empty;
use crate::predicate::{PredicateId, Predicates};
use crate::set::Set;

/// One automatic group's evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupEvaluation {
    /// The group.
    pub group: i64,
    /// Its members now.
    pub members: RoaringBitmap,
    /// Members now who were not members as last committed.
    pub joined: RoaringBitmap,
    /// Members as last committed who are members no more.
    pub left: RoaringBitmap,
}

/// Automatic groups evaluated over the whole population, in dependency order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Each group evaluated.
    pub groups: Vec<GroupEvaluation>,
}

impl Evaluation {
    /// A group's evaluation.
    pub fn get(&self, group: i64) -> Option<&GroupEvaluation> {
        self.groups.iter().find(|g| g.group == group)
    }

    /// Whether no membership changes.
    pub fn is_unchanged(&self) -> bool {
        self.groups.iter().all(|g| g.joined.is_empty() && g.left.is_empty())
    }
}

impl Engine {
    /// Evaluates every automatic group over the population, on `today`. Nothing changes
    /// until [`Engine::commit`].
    pub fn evaluate_all(&self, today: NaiveDate) -> Evaluation {
        self.evaluate_in_order(&self.order, today)
    }

    /// Evaluates these groups and every automatic group that depends on them (a manual
    /// group's id evaluates its dependents): after a rule edit, a list edit, a bulk
    /// change of a manual group, or the date roll-over. Other groups named by `member_of`
    /// count with their committed members.
    pub fn evaluate_groups(&self, groups: &[i64], today: NaiveDate) -> Result<Evaluation, EngineError> {
        if let Some(&unknown) = groups.iter().find(|g| !self.groups.contains_key(g)) {
            return Err(EngineError::UnknownGroup(unknown));
        }
        let reached: HashSet<i64> = graph::with_dependents(&self.groups, groups);
        let order: Vec<i64> = self.order.iter().copied().filter(|g| reached.contains(g)).collect();
        Ok(self.evaluate_in_order(&order, today))
    }

    /// Records an evaluation's members as committed.
    pub fn commit(&mut self, evaluation: &Evaluation) {
        for g in &evaluation.groups {
            if let Some(group) = self.groups.get_mut(&g.group) {
                group.members.clone_from(&g.members);
            }
        }
    }

    fn evaluate_in_order(&self, order: &[i64], today: NaiveDate) -> Evaluation {
        let autos: Vec<(i64, &Group)> = order.iter().filter_map(|&id| Some((id, self.groups.get(&id)?))).collect();
        let mut memo = Memo::default();
        for (_, group) in &autos {
            if let Some(auto) = group.automatic() {
                memo.expect(&auto.compiled);
            }
        }
        let mut results: HashMap<i64, RoaringBitmap> = HashMap::with_capacity(autos.len());
        let mut diffs = Vec::with_capacity(autos.len());
        for (id, group) in autos {
            let Some(auto) = group.automatic() else {
                continue;
            };
            memo.fill(&auto.compiled, &self.predicates, &self.image, today);
            let matched = {
                let members_of =
                    |g: i64| results.get(&g).or_else(|| self.groups.get(&g).map(|x| &x.members)).unwrap_or(empty());
                matching(&auto.compiled, &memo, &members_of, &self.image.universe)
            };
            memo.done(&auto.compiled);
            let members = auto.members(matched, &self.image.active);
            diffs.push((id, diff(&members, &group.members), diff(&group.members, &members)));
            results.insert(id, members);
        }
        let groups = diffs
            .into_iter()
            .map(|(group, joined, left)| GroupEvaluation {
                group,
                members: results.remove(&group).unwrap_or_default(),
                joined,
                left,
            })
            .collect();
        Evaluation { groups }
    }
}

/// `a` without `b`, quickly when either is empty or they are equal (most groups, in
/// a reconcile).
fn diff(a: &RoaringBitmap, b: &RoaringBitmap) -> RoaringBitmap {
    if a.is_empty() || a == b {
        RoaringBitmap::new()
    } else if b.is_empty() {
        a.clone()
    } else {
        a - b
    }
}

/// The users matching a compiled rule; `memo` holds its predicates' users.
pub(crate) fn matching<'m>(
    rule: &CompiledRule,
    memo: &'m Memo<'_>,
    members_of: &dyn Fn(i64) -> &'m RoaringBitmap,
    universe: &RoaringBitmap,
) -> RoaringBitmap {
    node(rule, &rule.root, memo, members_of).into_bitmap(universe)
}

fn node<'m>(
    rule: &CompiledRule,
    node: &Node,
    memo: &'m Memo<'_>,
    members_of: &dyn Fn(i64) -> &'m RoaringBitmap,
) -> Set<'m> {
    match node {
        Node::All(members) => Set::all(members.iter().map(|m| self::node(rule, m, memo, members_of)).collect()),
        Node::Any(members) => Set::any(members.iter().map(|m| self::node(rule, m, memo, members_of)).collect()),
        Node::Not(inner) => self::node(rule, inner, memo, members_of).not(),
        Node::Condition(i) => match rule.conditions.get(*i) {
            Some(Compiled::MemberOf(group)) => Set::of(std::borrow::Cow::Borrowed(members_of(*group))),
            Some(Compiled::Predicate { id, negated }) => match memo.sets.get(id) {
                Some(set) => set.view().negated_if(*negated),
                None => Set::of(std::borrow::Cow::Owned(RoaringBitmap::new())).negated_if(*negated),
            },
            None => Set::of(std::borrow::Cow::Owned(RoaringBitmap::new())),
        },
    }
}

/// The users of each predicate during one evaluation, dropped after their last use.
#[derive(Debug, Default)]
pub(crate) struct Memo<'a> {
    sets: HashMap<PredicateId, Set<'a>>,
    uses: HashMap<PredicateId, u32>,
}

impl<'a> Memo<'a> {
    /// Counts the uses a rule will make.
    pub(crate) fn expect(&mut self, rule: &CompiledRule) {
        for id in rule.predicates() {
            *self.uses.entry(id).or_default() += 1;
        }
    }

    /// Computes the rule's predicates not yet known.
    pub(crate) fn fill(&mut self, rule: &CompiledRule, predicates: &'a Predicates, image: &'a Image, today: NaiveDate) {
        for id in rule.predicates() {
            if let (Entry::Vacant(slot), Some(p)) = (self.sets.entry(id), predicates.get(id)) {
                slot.insert(p.users(image, today));
            }
        }
    }

    /// Counts the rule's uses done, dropping what no later rule needs.
    pub(crate) fn done(&mut self, rule: &CompiledRule) {
        for id in rule.predicates() {
            if let Some(n) = self.uses.get_mut(&id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.uses.remove(&id);
                    self.sets.remove(&id);
                }
            }
        }
    }
}
