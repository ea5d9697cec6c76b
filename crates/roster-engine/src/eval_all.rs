//! The whole population against automatic groups, as bitmaps: every group in dependency
//! order, each shared predicate computed once per evaluation; and the diffs against the
//! members last committed. What rule edits, imports, date roll-over and reconcile need.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use roaring::RoaringBitmap;

use crate::compile::{Compiled, CompiledRule, Node};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::graph;
use crate::groups::{Automatic, Group};
use crate::image::Image;
use crate::posting::empty;
use crate::predicate::{PredicateId, Predicates};
use crate::set::Set;

/// Below this many groups per thread in a level, a thread would cost more than it
/// saves.
const GROUPS_PER_THREAD: usize = 32;

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

    /// Evaluates groups given in dependency order: level by level (a level's groups
    /// name only groups of earlier levels), each level's groups shared among threads.
    fn evaluate_in_order(&self, order: &[i64], today: NaiveDate) -> Evaluation {
        let mut results: HashMap<i64, RoaringBitmap> = HashMap::with_capacity(order.len());
        let mut groups = Vec::with_capacity(order.len());
        for level in self.levels(order) {
            let threads = self.threads.min(level.len() / GROUPS_PER_THREAD).max(1);
            let mut evaluated = if threads == 1 {
                self.evaluate_level(&level, &results, today)
            } else {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = (0..threads)
                        .map(|t| {
                            let share: Vec<i64> = level.iter().skip(t).step_by(threads).copied().collect();
                            let results = &results;
                            scope.spawn(move || self.evaluate_level(&share, results, today))
                        })
                        .collect();
                    let mut all = Vec::with_capacity(level.len());
                    for handle in handles {
                        match handle.join() {
                            Ok(part) => all.extend(part),
                            Err(panic) => std::panic::resume_unwind(panic),
                        }
                    }
                    all
                })
            };
            evaluated.sort_by_key(|g| self.positions.get(&g.group).copied().unwrap_or(usize::MAX));
            for g in evaluated {
                results.insert(g.group, g.members);
                groups.push((g.group, g.joined, g.left));
            }
        }
        let groups = groups
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

    /// `order` cut into levels: each group after every group of `order` it names.
    fn levels(&self, order: &[i64]) -> Vec<Vec<i64>> {
        let mut level_of: HashMap<i64, usize> = HashMap::with_capacity(order.len());
        let mut levels: Vec<Vec<i64>> = Vec::new();
        for &id in order {
            let Some(auto) = self.groups.get(&id).and_then(Group::automatic) else {
                continue;
            };
            let level = auto.references.iter().filter_map(|r| level_of.get(r)).map(|l| l + 1).max().unwrap_or(0);
            level_of.insert(id, level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            levels[level].push(id);
        }
        levels
    }

    /// Evaluates groups that do not name one another; `results` holds the new members
    /// of the groups evaluated before.
    fn evaluate_level(
        &self,
        level: &[i64],
        results: &HashMap<i64, RoaringBitmap>,
        today: NaiveDate,
    ) -> Vec<GroupEvaluation> {
        let autos: Vec<(i64, &Group, &Automatic)> = level
            .iter()
            .filter_map(|&id| {
                let group = self.groups.get(&id)?;
                Some((id, group, group.automatic()?))
            })
            .collect();
        let mut memo = Memo::default();
        for (_, _, auto) in &autos {
            memo.expect(&auto.compiled);
        }
        let mut evaluated = Vec::with_capacity(autos.len());
        for (id, group, auto) in autos {
            memo.fill(&auto.compiled, &self.predicates, &self.image, today);
            // Defined here so that its borrow, tied to the memo's, ends with the rule.
            let members_of =
                |g: i64| results.get(&g).or_else(|| self.groups.get(&g).map(|x| &x.members)).unwrap_or(empty());
            let population = Population {
                image: &self.image,
                predicates: &self.predicates,
                memo: &memo,
                members_of: &members_of,
                today,
            };
            let matched = population.matching(&auto.compiled);
            memo.done(&auto.compiled);
            let members = auto.members(matched, &self.image.active);
            let (joined, left) = diff(&members, &group.members);
            evaluated.push(GroupEvaluation { group: id, members, joined, left });
        }
        evaluated
    }
}

/// Who joins and who leaves when `now` replaces `before`; quickly when either is empty
/// or they are equal (most groups, in a reconcile).
fn diff(now: &RoaringBitmap, before: &RoaringBitmap) -> (RoaringBitmap, RoaringBitmap) {
    if before.is_empty() {
        (now.clone(), RoaringBitmap::new())
    } else if now.is_empty() {
        (RoaringBitmap::new(), before.clone())
    } else if now == before {
        (RoaringBitmap::new(), RoaringBitmap::new())
    } else {
        (now - before, before - now)
    }
}

/// Evaluates compiled rules over everyone.
pub(crate) struct Population<'m> {
    pub(crate) image: &'m Image,
    pub(crate) predicates: &'m Predicates,
    /// Predicates several rules share, computed once.
    pub(crate) memo: &'m Memo<'m>,
    /// The members of a group `member_of` names.
    pub(crate) members_of: &'m dyn Fn(i64) -> &'m RoaringBitmap,
    pub(crate) today: NaiveDate,
}

impl<'m> Population<'m> {
    /// The users matching a rule.
    pub(crate) fn matching(&self, rule: &CompiledRule) -> RoaringBitmap {
        self.set(rule, &rule.root).into_bitmap(&self.image.universe)
    }

    fn set(&self, rule: &CompiledRule, node: &Node) -> Set<'m> {
        match node {
            Node::All(members) => Set::all(members.iter().map(|m| self.set(rule, m)).collect()),
            Node::Any(members) => Set::any(members.iter().map(|m| self.set(rule, m)).collect()),
            Node::Not(inner) => self.set(rule, inner).not(),
            Node::Condition(i) => match rule.conditions.get(*i) {
                Some(Compiled::MemberOf(group)) => Set::of(Cow::Borrowed((self.members_of)(*group))),
                Some(Compiled::Predicate { id, negated }) => {
                    let set = match (self.memo.sets.get(id), self.predicates.get(*id)) {
                        (Some(set), _) => set.view(),
                        (None, Some(p)) => p.users(self.image, self.today),
                        (None, None) => Set::of(Cow::Owned(RoaringBitmap::new())),
                    };
                    set.negated_if(*negated)
                }
                None => Set::of(Cow::Owned(RoaringBitmap::new())),
            },
        }
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

    /// Computes the rule's predicates that later rules use too (the others are
    /// computed, or avoided, where they are used).
    pub(crate) fn fill(&mut self, rule: &CompiledRule, predicates: &'a Predicates, image: &'a Image, today: NaiveDate) {
        for id in rule.predicates() {
            if self.uses.get(&id).is_none_or(|&n| n < 2) {
                continue;
            }
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
