//! The org chart as a tree: who is under whom.

use std::collections::{HashMap, HashSet};

use crate::Branch;

/// Every branch, indexed for lookups by id and by code and for walks down the tree.
#[derive(Debug, Clone, Default)]
pub struct BranchTree {
    branches: HashMap<i64, Branch>,
    children: HashMap<i64, Vec<i64>>,
    by_code: HashMap<String, i64>,
}

impl BranchTree {
    /// Indexes these branches.
    pub fn new(branches: Vec<Branch>) -> Self {
        let mut tree = Self::default();
        for b in branches {
            if let Some(p) = b.parent_id {
                tree.children.entry(p).or_default().push(b.id);
            }
            tree.by_code.insert(b.code.to_lowercase(), b.id);
            tree.branches.insert(b.id, b);
        }
        tree
    }

    /// A branch by id.
    pub fn get(&self, id: i64) -> Option<&Branch> {
        self.branches.get(&id)
    }

    /// A branch by code, in any case.
    pub fn by_code(&self, code: &str) -> Option<&Branch> {
        self.by_code.get(&code.to_lowercase()).and_then(|id| self.branches.get(id))
    }

    /// Every branch, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Branch> {
        self.branches.values()
    }

    /// The direct children of a branch.
    pub fn children(&self, id: i64) -> &[i64] {
        self.children.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The branch and every branch below it.
    pub fn subtree(&self, id: i64) -> HashSet<i64> {
        let mut out = HashSet::new();
        let mut stack = vec![id];
        while let Some(b) = stack.pop() {
            if out.insert(b) {
                stack.extend_from_slice(self.children(b));
            }
        }
        out
    }

    /// Whether `id` is `ancestor` or lies below it.
    pub fn is_under(&self, id: i64, ancestor: i64) -> bool {
        let mut cur = Some(id);
        let mut steps = 0;
        while let Some(b) = cur {
            if b == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.branches.len() {
                return false;
            }
            cur = self.branches.get(&b).and_then(|x| x.parent_id);
        }
        false
    }

    /// The path of codes from the root down to this branch (`EMEA/FR/PAR`).
    pub fn path(&self, id: i64) -> Vec<&str> {
        let mut path = Vec::new();
        let mut cur = self.branches.get(&id);
        while let Some(b) = cur {
            if path.len() > self.branches.len() {
                break;
            }
            path.push(b.code.as_str());
            cur = b.parent_id.and_then(|p| self.branches.get(&p));
        }
        path.reverse();
        path
    }

    /// How many branches there are.
    pub fn len(&self) -> usize {
        self.branches.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.branches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(id: i64, code: &str, parent: Option<i64>) -> Branch {
        Branch { id, code: code.into(), name: code.into(), parent_id: parent }
    }

    #[test]
    fn subtree_and_ancestry() {
        let t =
            BranchTree::new(vec![b(1, "EMEA", None), b(2, "FR", Some(1)), b(3, "PAR", Some(2)), b(4, "AMER", None)]);
        assert_eq!(t.subtree(1), HashSet::from([1, 2, 3]));
        assert!(t.is_under(3, 1));
        assert!(!t.is_under(4, 1));
        assert_eq!(t.path(3), vec!["EMEA", "FR", "PAR"]);
        assert_eq!(t.by_code("fr").map(|b| b.id), Some(2));
    }
}
