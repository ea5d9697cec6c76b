//! The whole population against automatic groups, as bitmaps: every group in dependency
//! order, each shared predicate computed once per evaluation; and the diffs against the
//! members last committed. What rule edits, imports, date roll-over and reconcile need.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

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

/// One automatic group's evaluation: how its members move from those last committed.
/// It carries the moves, not the members: a whole evaluation at a million users would
/// otherwise hold every group's members a second time (120 MB), in pages the kernel
/// must clear before the evaluation can use them (see [`Engine::evaluate_all`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupEvaluation {
    /// The group.
    pub group: i64,
    /// How many members it has now.
    pub member_count: u64,
    /// Members now who were not members as last committed.
    pub joined: RoaringBitmap,
    /// Members as last committed who are members no more.
    pub left: RoaringBitmap,
}

impl GroupEvaluation {
    /// Its members now, from its members as last committed (`before`).
    pub fn members_from(&self, before: &RoaringBitmap) -> RoaringBitmap {
        let mut members = before - &self.left;
        members |= &self.joined;
        members
    }
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
    ///
    /// A group's new members are kept only while a group evaluated after it names it;
    /// otherwise they are dropped as soon as its moves are known, and the next group
    /// reuses their memory. Keeping all of them made each of a process's first whole
    /// evaluations at a million users take 120 MB of fresh pages, and the kernel clearing
    /// them was more than half of those evaluations' time (213-285 ms against 80-135 ms
    /// for the later ones, docs/benchmarks.md).
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

    /// The members a group would have once `evaluation` is committed: its members as
    /// committed, moved as the evaluation says (as committed if it does not name it).
    pub fn members_after(&self, evaluation: &Evaluation, group: i64) -> Option<RoaringBitmap> {
        let before = self.members(group)?;
        Some(evaluation.get(group).map_or_else(|| before.clone(), |g| g.members_from(before)))
    }

    /// Records an evaluation's moves as committed. The evaluation must be of the members
    /// committed now (nothing committed in between), as every caller's is: it is taken
    /// under the same write.
    pub fn commit(&mut self, evaluation: &Evaluation) {
        for g in &evaluation.groups {
            if g.joined.is_empty() && g.left.is_empty() {
                continue;
            }
            let Some(group) = self.groups.get_mut(&g.group) else {
                continue;
            };
            match Arc::get_mut(group) {
                Some(group) => {
                    group.members -= &g.left;
                    group.members |= &g.joined;
                }
                // Shared with the image readers hold: a new group, the readers' left as
                // it is.
                None => {
                    *group = Arc::new(Group {
                        name: group.name.clone(),
                        policy: group.policy.clone(),
                        members: g.members_from(&group.members),
                    });
                }
            }
        }
    }

    /// Evaluates groups given in dependency order: level by level (a level's groups
    /// name only groups of earlier levels). The predicates several rules share are
    /// computed once for the whole evaluation, a level's among threads, before its
    /// groups are shared among threads.
    fn evaluate_in_order(&self, order: &[i64], today: NaiveDate) -> Evaluation {
        let levels: Vec<Vec<(i64, &Group, &Automatic)>> = self
            .levels(order)
            .into_iter()
            .map(|level| {
                level
                    .into_iter()
                    .filter_map(|id| {
                        let group: &Group = self.groups.get(&id)?;
                        Some((id, group, group.automatic()?))
                    })
                    .collect()
            })
            .collect();
        let mut memo = Memo::default();
        for (_, _, auto) in levels.iter().flatten() {
            memo.expect(&auto.compiled);
        }
        // The groups a later group names: their new members are kept until the end.
        let named: HashSet<i64> =
            levels.iter().skip(1).flatten().flat_map(|(_, _, auto)| auto.references.iter().copied()).collect();
        let mut results: HashMap<i64, RoaringBitmap> = HashMap::with_capacity(named.len());
        let mut groups = Vec::with_capacity(order.len());
        for level in levels {
            memo.fill(level.iter().map(|(_, _, auto)| &auto.compiled), self, today);
            let threads = self.threads.min(level.len() / GROUPS_PER_THREAD).max(1);
            let mut evaluated = if threads == 1 {
                self.evaluate_level(&mut level.iter(), &memo, &results, &named, today)
            } else {
                let (memo, results, named) = (&memo, &results, &named);
                in_threads(threads, &level, |share| self.evaluate_level(share, memo, results, named, today))
            };
            for (_, _, auto) in &level {
                memo.done(&auto.compiled);
            }
            evaluated.sort_by_key(|(g, _)| self.positions.get(&g.group).copied().unwrap_or(usize::MAX));
            for (g, kept) in evaluated {
                if let Some(members) = kept {
                    results.insert(g.group, members);
                }
                groups.push(g);
            }
        }
        Evaluation { groups }
    }

    /// `order` cut into levels: each group after every group of `order` it names.
    fn levels(&self, order: &[i64]) -> Vec<Vec<i64>> {
        let mut level_of: HashMap<i64, usize> = HashMap::with_capacity(order.len());
        let mut levels: Vec<Vec<i64>> = Vec::new();
        for &id in order {
            let Some(auto) = self.groups.get(&id).and_then(|g| g.automatic()) else {
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
    /// of the groups evaluated before that a later group names. Each group's new
    /// members come back only if it is one of those (`named`).
    fn evaluate_level(
        &self,
        level: &mut dyn Iterator<Item = &(i64, &Group, &Automatic)>,
        memo: &Memo<'_>,
        results: &HashMap<i64, RoaringBitmap>,
        named: &HashSet<i64>,
        today: NaiveDate,
    ) -> Vec<(GroupEvaluation, Option<RoaringBitmap>)> {
        let members_of =
            |g: i64| results.get(&g).or_else(|| self.groups.get(&g).map(|x| &x.members)).unwrap_or(empty());
        let population =
            Population { image: &self.image, predicates: &self.predicates, memo, members_of: &members_of, today };
        level
            .map(|&(id, group, auto)| {
                let members = auto.members(population.eligible_matching(&auto.compiled, auto.allow_suspended));
                let member_count = members.len();
                let (joined, left, kept) = diff(members, &group.members, named.contains(&id));
                (GroupEvaluation { group: id, member_count, joined, left }, kept)
            })
            .collect()
    }
}

/// `work` on the items among `threads` threads, this one included, their results
/// together in no particular order. Each thread takes the next item left rather than a
/// fixed share: groups and predicates differ in cost a hundredfold, and a fixed share
/// left one thread idle while the other finished its large ones. This thread works
/// too: its allocator reuses the memory of the evaluations before, where a new
/// thread's takes fresh pages the kernel must clear (a fifth of a whole evaluation at
/// a million users, when every share ran on new threads).
fn in_threads<I: Sync, T: Send>(
    threads: usize,
    items: &[I],
    work: impl Fn(&mut dyn Iterator<Item = &I>) -> Vec<T> + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (work, next) = (&work, &next);
        let share = move || work(&mut std::iter::from_fn(|| items.get(next.fetch_add(1, Relaxed))));
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(share)).collect();
        let mut all = share();
        for handle in handles {
            match handle.join() {
                Ok(part) => all.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    })
}

/// Who joins and who leaves when `now` replaces `before`, and `now` itself if `keep`;
/// quickly when either is empty or they are equal (most groups, in a reconcile).
fn diff(
    now: RoaringBitmap,
    before: &RoaringBitmap,
    keep: bool,
) -> (RoaringBitmap, RoaringBitmap, Option<RoaringBitmap>) {
    let (joined, left) = if before.is_empty() {
        // Everyone joins: `now` itself, unless it is kept too.
        if !keep {
            return (now, RoaringBitmap::new(), None);
        }
        (now.clone(), RoaringBitmap::new())
    } else if now.is_empty() {
        (RoaringBitmap::new(), before.clone())
    } else if now == *before {
        (RoaringBitmap::new(), RoaringBitmap::new())
    } else {
        (&now - before, before - &now)
    };
    (joined, left, keep.then_some(now))
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
    /// The users matching a rule who may be members: active ones unless suspended
    /// users may be members too. The status is applied with the rule's last
    /// operation, not as one more pass over its result.
    pub(crate) fn eligible_matching(&self, rule: &CompiledRule, allow_suspended: bool) -> RoaringBitmap {
        let set = self.set(rule, &rule.root);
        if allow_suspended {
            set.into_bitmap(&self.image.universe)
        } else {
            set.within(&self.image.active)
        }
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

/// The users of each predicate that several rules use, during one evaluation, dropped
/// after their last use.
#[derive(Debug, Default)]
pub(crate) struct Memo<'a> {
    sets: HashMap<PredicateId, Set<'a>>,
    uses: HashMap<PredicateId, u32>,
}

/// Below this many predicates per thread, a thread would cost more than it saves.
const PREDICATES_PER_THREAD: usize = 8;

impl<'a> Memo<'a> {
    /// Counts the uses a rule will make.
    pub(crate) fn expect(&mut self, rule: &CompiledRule) {
        for id in rule.predicates() {
            *self.uses.entry(id).or_default() += 1;
        }
    }

    /// Computes, among the engine's threads, the predicates of these rules that
    /// several rules use and that are not computed yet (the others are computed, or
    /// avoided, where they are used).
    fn fill<'r>(&mut self, rules: impl Iterator<Item = &'r CompiledRule>, engine: &'a Engine, today: NaiveDate) {
        let mut missing: Vec<PredicateId> = rules
            .flat_map(CompiledRule::predicates)
            .filter(|id| self.uses.get(id).is_some_and(|&n| n >= 2) && !self.sets.contains_key(id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let compute = |ids: &mut dyn Iterator<Item = &PredicateId>| -> Vec<(PredicateId, Set<'a>)> {
            ids.filter_map(|&id| Some((id, engine.predicates.get(id)?.users(&engine.image, today)))).collect()
        };
        let threads = engine.threads.min(missing.len() / PREDICATES_PER_THREAD).max(1);
        let computed = if threads == 1 { compute(&mut missing.iter()) } else { in_threads(threads, &missing, compute) };
        self.sets.extend(computed);
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
