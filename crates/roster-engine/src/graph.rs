//! Dependencies between groups through `member_of`: the order in which automatic
//! groups are evaluated, the groups a change reaches, and the cycles a rule would make.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use crate::groups::GroupMap;

/// The automatic groups, each after every automatic group its rule names; ties by id.
pub(crate) fn dependency_order(groups: &GroupMap) -> Vec<i64> {
    let mut waiting: HashMap<i64, usize> = HashMap::new();
    let mut dependents: HashMap<i64, Vec<i64>> = HashMap::new();
    for (&id, group) in groups {
        let Some(auto) = group.automatic() else {
            continue;
        };
        let upstream: Vec<i64> = auto
            .references
            .iter()
            .copied()
            .filter(|r| groups.get(r).is_some_and(|g| g.automatic().is_some()))
            .collect();
        waiting.insert(id, upstream.len());
        for r in upstream {
            dependents.entry(r).or_default().push(id);
        }
    }
    let mut ready: BinaryHeap<Reverse<i64>> =
        waiting.iter().filter(|(_, &n)| n == 0).map(|(&id, _)| Reverse(id)).collect();
    let mut order = Vec::with_capacity(waiting.len());
    while let Some(Reverse(id)) = ready.pop() {
        order.push(id);
        for d in dependents.get(&id).into_iter().flatten() {
            if let Some(n) = waiting.get_mut(d) {
                *n -= 1;
                if *n == 0 {
                    ready.push(Reverse(*d));
                }
            }
        }
    }
    order
}

/// The groups whose rules name `group`.
pub(crate) fn referencing(groups: &GroupMap, group: i64) -> Vec<i64> {
    let mut by: Vec<i64> = groups
        .iter()
        .filter(|(_, g)| g.automatic().is_some_and(|a| a.references.contains(&group)))
        .map(|(&id, _)| id)
        .collect();
    by.sort_unstable();
    by
}

/// `roots` and every group whose rule names one of them, directly or not.
pub(crate) fn with_dependents(groups: &GroupMap, roots: &[i64]) -> HashSet<i64> {
    let mut dependents: HashMap<i64, Vec<i64>> = HashMap::new();
    for (&id, group) in groups {
        for &r in group.automatic().map(|a| a.references.as_slice()).unwrap_or(&[]) {
            dependents.entry(r).or_default().push(id);
        }
    }
    let mut reached: HashSet<i64> = roots.iter().copied().collect();
    let mut queue: VecDeque<i64> = roots.iter().copied().collect();
    while let Some(id) = queue.pop_front() {
        for &d in dependents.get(&id).into_iter().flatten() {
            if reached.insert(d) {
                queue.push_back(d);
            }
        }
    }
    reached
}

/// The shortest cycle that giving `group` a rule naming `references` would make: the
/// groups from `group` back to it, `group` at both ends.
pub(crate) fn find_cycle(groups: &GroupMap, group: i64, references: &[i64]) -> Option<Vec<i64>> {
    let mut parent: HashMap<i64, i64> = HashMap::new();
    let mut queue: VecDeque<i64> = VecDeque::new();
    for &r in references {
        if r == group {
            return Some(vec![group, group]);
        }
        if parent.insert(r, group).is_none() {
            queue.push_back(r);
        }
    }
    while let Some(id) = queue.pop_front() {
        let next = groups.get(&id).and_then(|g| g.automatic()).map(|a| a.references.as_slice()).unwrap_or(&[]);
        for &r in next {
            if r == group {
                let mut back = vec![id];
                let mut at = id;
                while let Some(&p) = parent.get(&at) {
                    if p == group {
                        break;
                    }
                    back.push(p);
                    at = p;
                }
                let mut path = vec![group];
                path.extend(back.into_iter().rev());
                path.push(group);
                return Some(path);
            }
            if let Entry::Vacant(slot) = parent.entry(r) {
                slot.insert(id);
                queue.push_back(r);
            }
        }
    }
    None
}
