//! The population as plain data, and the engine built from it from scratch.

use std::collections::{BTreeMap, BTreeSet};

use roster_engine::{AutomaticGroup, Catalog, Engine, EnrollmentRecord, UserRecord};

/// A group as stored.
#[derive(Debug, Clone)]
pub enum Group {
    Manual { name: String, members: BTreeSet<i64> },
    Automatic { name: String, definition: AutomaticGroup },
}

/// Everything the engine is told, as the database would hold it.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub catalog: Catalog,
    pub users: BTreeMap<i64, UserRecord>,
    /// By (user, course id).
    pub enrollments: BTreeMap<(i64, i64), EnrollmentRecord>,
    pub groups: BTreeMap<i64, Group>,
}

impl Model {
    /// A fresh engine holding this model, nothing committed.
    pub fn engine(&self) -> Engine {
        let mut engine = Engine::new();
        engine.set_catalog(&self.catalog).unwrap();
        for user in self.users.values() {
            engine.upsert_user(user).unwrap();
        }
        for (&(user, course), record) in &self.enrollments {
            engine.set_enrollment(user, course, record).unwrap();
        }
        for (&id, group) in &self.groups {
            if let Group::Manual { name, members } = group {
                let members: Vec<i64> = members.iter().copied().collect();
                engine.set_manual_group(id, name, &members).unwrap();
            }
        }
        let mut pending: Vec<(i64, &String, &AutomaticGroup)> = self
            .groups
            .iter()
            .filter_map(|(&id, g)| match g {
                Group::Automatic { name, definition } => Some((id, name, definition)),
                Group::Manual { .. } => None,
            })
            .collect();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|&(id, name, definition)| {
                let ready = definition.rule.referenced_groups().iter().all(|r| engine.members(*r).is_some());
                if ready {
                    engine.set_automatic_group(id, name, definition).unwrap();
                }
                !ready
            });
            assert!(pending.len() < before, "groups reference missing groups");
        }
        engine
    }

    /// The automatic groups' ids.
    pub fn automatic(&self) -> Vec<i64> {
        self.groups.iter().filter(|(_, g)| matches!(g, Group::Automatic { .. })).map(|(&id, _)| id).collect()
    }
}
