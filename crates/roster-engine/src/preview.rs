//! Preview: what a rule not yet saved would do to a group, before the administrator
//! saves it — who would join, who would leave, with samples.

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use roster_domain::rule::compile_tree;
use serde::Serialize;

use crate::compile::compile_once;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::eval_all::{Memo, Population};
use crate::groups::Automatic;
use crate::input::AutomaticGroup;
use crate::posting::empty;
use crate::predicate::Predicates;

/// What a candidate definition would do to a group's members.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    /// The members the definition gives.
    #[serde(skip)]
    pub members: RoaringBitmap,
    /// Who would join.
    #[serde(skip)]
    pub joined: RoaringBitmap,
    /// Who would leave.
    #[serde(skip)]
    pub left: RoaringBitmap,
    /// How many members.
    pub member_count: u64,
    /// How many would join.
    pub join_count: u64,
    /// How many would leave.
    pub leave_count: u64,
    /// The first user ids that would join.
    pub join_samples: Vec<i64>,
    /// The first user ids that would leave.
    pub leave_samples: Vec<i64>,
}

impl Preview {
    /// The same preview seen by a caller that reaches only `users`: members, joins and
    /// leaves of anyone else are left out of the sets, the counts and the samples.
    pub fn within(self, users: &RoaringBitmap, samples: usize) -> Self {
        Self::of(self.members & users, self.joined & users, self.left & users, samples)
    }

    /// The preview of these sets, with their counts and up to `samples` ids each way.
    fn of(members: RoaringBitmap, joined: RoaringBitmap, left: RoaringBitmap, samples: usize) -> Self {
        let sample = |set: &RoaringBitmap| set.iter().take(samples).map(i64::from).collect();
        Self {
            member_count: members.len(),
            join_count: joined.len(),
            leave_count: left.len(),
            join_samples: sample(&joined),
            leave_samples: sample(&left),
            members,
            joined,
            left,
        }
    }
}

impl Engine {
    /// Evaluates a candidate definition on `today` against the population, for an
    /// existing group (against its current members) or a new one (against nobody),
    /// with up to `samples` user ids each way. Groups named by `member_of` count with
    /// their committed members. Nothing is saved.
    pub fn preview(
        &self,
        candidate: &AutomaticGroup,
        group: Option<i64>,
        today: NaiveDate,
        samples: usize,
    ) -> Result<Preview, EngineError> {
        let current = match group {
            Some(g) => self.members(g).ok_or(EngineError::UnknownGroup(g))?,
            None => empty(),
        };
        let rule = compile_tree(&candidate.rule, self.rule_catalog())?;
        if let Some(g) = group {
            if let Some(cycle) = self.find_cycle(g, &rule) {
                return Err(EngineError::Cycle(cycle));
            }
        }
        let mut predicates = Predicates::default();
        let compiled = compile_once(&rule, &self.image, &mut predicates)?;
        let memo = Memo::default();
        let members_of = |g: i64| self.members(g).unwrap_or(empty());
        let population =
            Population { image: &self.image, predicates: &predicates, memo: &memo, members_of: &members_of, today };
        let matched = population.eligible_matching(&compiled, candidate.allow_suspended);
        let definition = Automatic {
            references: rule.referenced_groups(),
            inputs: Vec::new(),
            rule,
            compiled,
            include: self.known_users(&candidate.include)?,
            exclude: self.known_users(&candidate.exclude)?,
            allow_suspended: candidate.allow_suspended,
        };
        let members = definition.members(matched);
        let (joined, left) = (&members - current, current - &members);
        Ok(Preview::of(members, joined, left, samples))
    }
}
