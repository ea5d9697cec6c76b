//! Groups as the engine holds them: manual ones with their members, automatic ones with
//! their compiled rule and lists; and every group's members as last committed.

use roaring::RoaringBitmap;
use roster_domain::rule::Rule;

use crate::change::Input;
use crate::compile::CompiledRule;
use crate::error::GroupName;
use crate::predicate::Predicates;

/// An automatic group's definition, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Automatic {
    /// The rule, as checked against the catalog.
    pub(crate) rule: Rule,
    pub(crate) compiled: CompiledRule,
    /// The groups the rule names.
    pub(crate) references: Vec<i64>,
    /// What of a user decides membership: what the rule reads, and the status unless
    /// suspended users may be members. Sorted.
    pub(crate) inputs: Vec<Input>,
    pub(crate) include: RoaringBitmap,
    pub(crate) exclude: RoaringBitmap,
    pub(crate) allow_suspended: bool,
}

impl Automatic {
    /// What of a user decides membership of a group with this rule.
    pub(crate) fn inputs_of(compiled: &CompiledRule, predicates: &Predicates, allow_suspended: bool) -> Vec<Input> {
        let mut inputs = compiled.inputs(predicates);
        if !allow_suspended {
            if let Err(at) = inputs.binary_search(&Input::Status) {
                inputs.insert(at, Input::Status);
            }
        }
        inputs
    }

    /// The members, given the users matching the rule who may be members (active
    /// ones unless `allow_suspended`).
    pub(crate) fn members(&self, mut matched: RoaringBitmap) -> RoaringBitmap {
        if !self.include.is_empty() {
            matched |= &self.include;
        }
        if !self.exclude.is_empty() {
            matched -= &self.exclude;
        }
        matched
    }

    /// Whether a user is a member, given whether the rule holds for them.
    pub(crate) fn is_member(&self, user: u32, matches: bool, suspended: bool) -> bool {
        let listed = |list: &RoaringBitmap| !list.is_empty() && list.contains(user);
        !listed(&self.exclude) && (listed(&self.include) || (matches && (self.allow_suspended || !suspended)))
    }
}

/// How a group is filled.
#[derive(Debug, Clone)]
pub(crate) enum Policy {
    /// By hand.
    Manual,
    /// By its rule.
    Automatic(Box<Automatic>),
}

/// A group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) policy: Policy,
    /// Manual: its members. Automatic: its members as last committed.
    pub(crate) members: RoaringBitmap,
}

impl Group {
    /// The definition of an automatic group.
    pub(crate) fn automatic(&self) -> Option<&Automatic> {
        match &self.policy {
            Policy::Automatic(auto) => Some(auto),
            Policy::Manual => None,
        }
    }

    /// The group's id and name.
    pub(crate) fn name(&self, id: i64) -> GroupName {
        GroupName { id, name: self.name.clone() }
    }
}

/// Every group by id, each shared between the image readers hold and a writer's copy
/// until the writer changes it.
pub(crate) type GroupMap = std::collections::HashMap<i64, std::sync::Arc<Group>>;
