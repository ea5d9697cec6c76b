//! The org chart and who is in each branch: the users directly in a branch, and the
//! users in a branch or below it, kept for every branch so that `under` is a lookup.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};

use roaring::RoaringBitmap;
use roster_domain::Branch;

use crate::codec::{invalid, Reader, Writer};
use crate::error::EngineError;
use crate::posting::{add, empty};
use crate::slots;
use crate::text::fold;

/// No branch in a slot.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    id: i64,
    code: String,
    parent: Option<u32>,
}

/// The branch tree with its users. Branches keep their index while they exist.
#[derive(Debug, Default, Clone)]
pub(crate) struct Branches {
    nodes: Vec<Option<Node>>,
    by_id: HashMap<i64, u32>,
    by_code: HashMap<String, u32>,
    direct: Vec<RoaringBitmap>,
    subtree: Vec<RoaringBitmap>,
    by_slot: Vec<u32>,
    present: RoaringBitmap,
}

/// A checked new tree, ready to replace the old one.
#[derive(Debug)]
pub(crate) struct TreePlan {
    /// (index, node) for every branch of the new tree.
    nodes: Vec<(u32, Node)>,
    len: usize,
}

impl Branches {
    /// Writes the tree and who is where.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        w.count(self.nodes.len())?;
        for node in &self.nodes {
            w.bool(node.is_some())?;
            if let Some(node) = node {
                w.i64(node.id)?;
                w.str(&node.code)?;
                w.opt_u32(node.parent)?;
            }
        }
        for bitmaps in [&self.direct, &self.subtree] {
            w.count(bitmaps.len())?;
            bitmaps.iter().try_for_each(|b| w.bitmap(b))?;
        }
        w.u32s(&self.by_slot)?;
        w.bitmap(&self.present)
    }

    /// Each branch's id, code and parent's id, by id.
    pub(crate) fn outline(&self) -> Vec<(i64, String, Option<i64>)> {
        let mut outline: Vec<_> = self
            .nodes
            .iter()
            .flatten()
            .map(|n| (n.id, n.code.clone(), n.parent.and_then(|p| self.node(p)).map(|p| p.id)))
            .collect();
        outline.sort_unstable();
        outline
    }

    /// Reads back what [`Branches::write`] wrote.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        let mut branches = Self::default();
        for index in 0..r.count()? {
            let node = if r.bool()? { Some(Node { id: r.i64()?, code: r.str()?, parent: r.opt_u32()? }) } else { None };
            if let (Some(node), Ok(index)) = (&node, u32::try_from(index)) {
                branches.by_id.insert(node.id, index);
                branches.by_code.insert(fold(&node.code).into_owned(), index);
            }
            branches.nodes.push(node);
        }
        for _ in 0..r.count()? {
            branches.direct.push(r.bitmap()?);
        }
        for _ in 0..r.count()? {
            branches.subtree.push(r.bitmap()?);
        }
        branches.by_slot = r.u32s()?;
        branches.present = r.bitmap()?;
        let len = branches.nodes.len();
        let known = |i: u32| branches.node(i).is_some();
        let fits = branches.direct.len() == len
            && branches.subtree.len() == len
            && branches.nodes.iter().flatten().all(|n| n.parent.is_none_or(known))
            && branches.by_slot.iter().all(|&b| b == NONE || known(b));
        if !fits {
            return Err(invalid("a branch tree whose parts do not fit together"));
        }
        Ok(branches)
    }

    /// The index of a branch id.
    pub(crate) fn index_of_id(&self, id: i64) -> Option<u32> {
        self.by_id.get(&id).copied()
    }

    /// The index of a branch code (any case).
    pub(crate) fn index_of_code(&self, code: &str) -> Option<u32> {
        self.by_code.get(&*fold(code)).copied()
    }

    /// Each branch's id by its index.
    pub(crate) fn ids_by_index(&self) -> HashMap<u32, i64> {
        self.by_id.iter().map(|(&id, &index)| (index, id)).collect()
    }

    /// A branch's code.
    pub(crate) fn code(&self, index: u32) -> Option<&str> {
        self.node(index).map(|n| n.code.as_str())
    }

    fn node(&self, index: u32) -> Option<&Node> {
        self.nodes.get(index as usize)?.as_ref()
    }

    /// The branch of a slot.
    pub(crate) fn at(&self, slot: u32) -> Option<u32> {
        Some(slots::get(&self.by_slot, slot, NONE)).filter(|&b| b != NONE)
    }

    /// The branch and its ancestors, nearest first.
    fn ancestors(&self, index: u32) -> impl Iterator<Item = u32> + '_ {
        let mut at = Some(index).filter(|&i| self.node(i).is_some());
        let mut steps = 0;
        std::iter::from_fn(move || {
            let here = at?;
            steps += 1;
            at = self.node(here).and_then(|n| n.parent).filter(|_| steps < self.nodes.len());
            Some(here)
        })
    }

    /// Whether `branch` is `root` or below it.
    pub(crate) fn is_under(&self, branch: u32, root: u32) -> bool {
        self.ancestors(branch).any(|a| a == root)
    }

    /// The users directly in a branch.
    pub(crate) fn direct(&self, index: u32) -> &RoaringBitmap {
        self.direct.get(index as usize).unwrap_or(empty())
    }

    /// The users in a branch or below it.
    pub(crate) fn subtree(&self, index: u32) -> &RoaringBitmap {
        self.subtree.get(index as usize).unwrap_or(empty())
    }

    /// The users with a branch.
    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.present
    }

    /// Moves a user to a branch (an index), or to none; whether it changed.
    pub(crate) fn set(&mut self, slot: u32, user: u32, branch: Option<u32>) -> bool {
        let new = branch.unwrap_or(NONE);
        let old = slots::get(&self.by_slot, slot, NONE);
        if old == new {
            return false;
        }
        if old != NONE {
            self.direct[old as usize].remove(user);
            let ancestors: Vec<u32> = self.ancestors(old).collect();
            for a in ancestors {
                self.subtree[a as usize].remove(user);
            }
            self.present.remove(user);
        }
        if new != NONE {
            add(&mut self.direct[new as usize], user);
            let ancestors: Vec<u32> = self.ancestors(new).collect();
            for a in ancestors {
                add(&mut self.subtree[a as usize], user);
            }
            add(&mut self.present, user);
        }
        slots::put(&mut self.by_slot, slot, new, NONE);
        true
    }

    /// Checks a new tree: unique ids and codes, known parents, no cycle, and no branch
    /// with users left out.
    pub(crate) fn plan(&self, branches: &[Branch]) -> Result<TreePlan, EngineError> {
        let invalid = |m: String| Err(EngineError::InvalidCatalog(m));
        let mut next = self.nodes.len();
        let mut index_of = HashMap::new();
        let mut codes = HashSet::new();
        for b in branches {
            let index = match self.by_id.get(&b.id) {
                Some(&i) => i as usize,
                None => {
                    next += 1;
                    next - 1
                }
            };
            let Ok(index) = u32::try_from(index) else {
                return invalid("too many branches".into());
            };
            if index_of.insert(b.id, index).is_some() {
                return invalid(format!("branch #{} appears twice", b.id));
            }
            if !codes.insert(fold(&b.code).into_owned()) {
                return invalid(format!("branch code \"{}\" appears twice", b.code));
            }
        }
        let mut nodes = Vec::with_capacity(branches.len());
        for b in branches {
            let parent = match b.parent_id {
                None => None,
                Some(p) => match index_of.get(&p) {
                    Some(&i) => Some(i),
                    None => return invalid(format!("branch \"{}\" has an unknown parent #{p}", b.code)),
                },
            };
            let index = index_of.get(&b.id).copied().unwrap_or(NONE);
            nodes.push((index, Node { id: b.id, code: b.code.clone(), parent }));
        }
        let parents: HashMap<u32, Option<u32>> = nodes.iter().map(|(i, n)| (*i, n.parent)).collect();
        for (index, node) in &nodes {
            let mut at = node.parent;
            let mut steps = 0;
            while let Some(p) = at {
                steps += 1;
                if p == *index || steps > nodes.len() {
                    return invalid(format!("branch \"{}\" is its own ancestor", node.code));
                }
                at = parents.get(&p).copied().flatten();
            }
        }
        for (id, &index) in &self.by_id {
            if !index_of.contains_key(id) && !self.direct(index).is_empty() {
                return invalid(format!("branch #{id} still has users"));
            }
        }
        Ok(TreePlan { nodes, len: next })
    }

    /// Replaces the tree with a checked one and recomputes who is under what.
    pub(crate) fn apply(&mut self, plan: TreePlan) {
        self.nodes.clear();
        self.nodes.resize_with(plan.len, || None);
        self.direct.resize_with(plan.len, RoaringBitmap::new);
        self.by_id.clear();
        self.by_code.clear();
        for (index, node) in plan.nodes {
            self.by_id.insert(node.id, index);
            self.by_code.insert(fold(&node.code).into_owned(), index);
            self.nodes[index as usize] = Some(node);
        }
        self.subtree = vec![RoaringBitmap::new(); plan.len];
        for index in 0..self.nodes.len() {
            let Ok(index) = u32::try_from(index) else {
                break;
            };
            if self.direct(index).is_empty() {
                continue;
            }
            let ancestors: Vec<u32> = self.ancestors(index).collect();
            for a in ancestors {
                self.subtree[a as usize] |= &self.direct[index as usize];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branch(id: i64, code: &str, parent: Option<i64>) -> Branch {
        Branch { id, code: code.into(), name: code.into(), parent_id: parent }
    }

    #[test]
    fn subtrees_follow_users_and_tree_changes() {
        let mut b = Branches::default();
        let tree = vec![branch(1, "EMEA", None), branch(2, "FR", Some(1)), branch(3, "PAR", Some(2))];
        b.apply(b.plan(&tree).unwrap());
        let (emea, fr, par) = (b.index_of_id(1).unwrap(), b.index_of_id(2).unwrap(), b.index_of_code("par").unwrap());
        b.set(0, 10, Some(par));
        b.set(1, 11, Some(fr));
        assert_eq!(b.subtree(emea).iter().collect::<Vec<_>>(), vec![10, 11]);
        assert_eq!(b.subtree(par).iter().collect::<Vec<_>>(), vec![10]);
        assert!(b.is_under(par, emea));
        b.set(0, 10, Some(emea));
        assert_eq!(b.subtree(fr).iter().collect::<Vec<_>>(), vec![11]);

        let moved = vec![branch(1, "EMEA", None), branch(2, "FR", None), branch(3, "PAR", Some(2))];
        b.apply(b.plan(&moved).unwrap());
        assert_eq!(b.subtree(emea).iter().collect::<Vec<_>>(), vec![10]);
        assert!(!b.is_under(fr, emea));

        let err = b.plan(&[branch(1, "EMEA", None)]).unwrap_err();
        assert_eq!(err, EngineError::InvalidCatalog("branch #2 still has users".into()));
        let cycle = vec![branch(1, "A", Some(2)), branch(2, "B", Some(1))];
        assert!(matches!(b.plan(&cycle), Err(EngineError::InvalidCatalog(_))));
    }
}
