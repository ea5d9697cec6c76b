//! [`Engine`]: the image, the shared predicates and the groups, and the calls that keep
//! them current. Every call is incremental: a user's upsert touches that user, a rule's
//! save compiles that rule.

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;
use roster_domain::rule::{self, compile_tree, Rule};

use crate::change::{Input, UserChange};
use crate::compile::compile_watched;
use crate::error::{user_key, EngineError, GroupName};
use crate::graph;
use crate::groups::{Automatic, Group, GroupMap, Policy};
use crate::image::Image;
use crate::input::{AutomaticGroup, Catalog, EnrollmentRecord, UserRecord};
use crate::predicate::Predicates;

/// The in-memory image of the population and of every group, which answers who matches
/// each automatic group's rule, for one user or for everyone, and why. It is a cache of
/// the database: the app builds it at start-up and applies each committed change.
///
/// Cloning an engine is cheap: the clone shares every column, text column's values
/// and group with the original, and whichever of the two is written copies the part
/// it writes first. A writer can therefore change a clone while readers keep reading
/// the original, which is what the app does for the writes that take long.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) image: Image,
    pub(crate) predicates: Arc<Predicates>,
    pub(crate) groups: GroupMap,
    /// The automatic groups in dependency order.
    pub(crate) order: Vec<i64>,
    /// Each automatic group's index in `order`.
    pub(crate) positions: HashMap<i64, usize>,
    rule_catalog: Arc<rule::Catalog>,
    /// How many threads a whole-population evaluation may use.
    pub(crate) threads: usize,
    /// Each group's enrollment rules (only groups that have some).
    pub(crate) enrollment_rules: HashMap<i64, Vec<roster_domain::EnrollmentRule>>,
}

impl Engine {
    /// An empty engine: no catalog, no users, no groups; whole-population evaluations
    /// use up to as many threads as there are cores, at most four.
    pub fn new() -> Self {
        Self {
            image: Image::default(),
            predicates: Arc::default(),
            groups: HashMap::new(),
            order: Vec::new(),
            positions: HashMap::new(),
            rule_catalog: Arc::default(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            enrollment_rules: HashMap::new(),
        }
    }

    /// Sets how many threads a whole-population evaluation may use (at least one):
    /// groups that do not name one another are shared among them.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Replaces the catalog. Fields keep their values while their code and kind (text
    /// and dropdown alike) are unchanged; a new field, or one whose type changed, starts
    /// empty. Refused when a branch with users or a course with enrollments would go,
    /// or when a saved rule would no longer check.
    pub fn set_catalog(&mut self, catalog: &Catalog) -> Result<(), EngineError> {
        let plan = self.image.plan_catalog(catalog)?;
        let rule_catalog = rule::Catalog {
            fields: catalog.fields.clone(),
            courses: catalog.courses.iter().map(|c| c.code.clone()).collect(),
            branches: catalog.branches.iter().map(|b| b.code.clone()).collect(),
            groups: self.rule_catalog.groups.clone(),
        };
        let mut rechecked = Vec::new();
        for id in self.automatic_ids() {
            let Some(group) = self.groups.get(&id) else {
                continue;
            };
            let Some(auto) = group.automatic() else {
                continue;
            };
            match compile_tree(&auto.rule, &rule_catalog) {
                Ok(rule) => rechecked.push((id, rule)),
                Err(error) => return Err(EngineError::RuleBroken { group: group.name(id), error }),
            }
        }
        self.image.apply_catalog(plan);
        self.rule_catalog = Arc::new(rule_catalog);
        for (id, rule) in rechecked {
            let compiled = compile_watched(&rule, &mut self.image, Arc::make_mut(&mut self.predicates))?;
            if let Some(Policy::Automatic(auto)) = self.groups.get_mut(&id).map(|g| &mut Arc::make_mut(g).policy) {
                let old = std::mem::replace(&mut auto.compiled, compiled);
                old.release(Arc::make_mut(&mut self.predicates), &mut self.image.text);
                auto.rule = rule;
                auto.inputs = Automatic::inputs_of(&auto.compiled, &self.predicates, auto.allow_suspended);
            }
        }
        Ok(())
    }

    /// What rules are checked against: the catalog and the groups, as the engine knows
    /// them.
    pub fn rule_catalog(&self) -> &rule::Catalog {
        &self.rule_catalog
    }

    /// Adds or replaces a user; returns what changed for [`Engine::evaluate_change`].
    /// Their memberships are unchanged until evaluated and committed.
    pub fn upsert_user(&mut self, user: &UserRecord) -> Result<UserChange, EngineError> {
        let mut changes = self.image.upsert(std::slice::from_ref(user))?;
        Ok(changes.pop().unwrap_or_else(|| UserChange::new(user.id)))
    }

    /// Adds or replaces users, all or none (every record is checked first). Far faster
    /// per user than one at a time, so the app builds the image and applies imports in
    /// batches (of thousands, in increasing id order where it can).
    pub fn upsert_users(&mut self, users: &[UserRecord]) -> Result<Vec<UserChange>, EngineError> {
        self.image.upsert(users)
    }

    /// Removes a user, their enrollments, and their place in every group and list;
    /// returns the groups they were a member of, sorted.
    pub fn remove_user(&mut self, user: i64) -> Result<Vec<i64>, EngineError> {
        let id = user_key(user)?;
        if self.image.slot(id).is_none() {
            return Err(EngineError::UnknownUser(user));
        }
        let mut left = Vec::new();
        for (&group_id, group) in &mut self.groups {
            let listed = group.automatic().is_some_and(|auto| auto.include.contains(id) || auto.exclude.contains(id));
            if !listed && !group.members.contains(id) {
                continue;
            }
            let group = Arc::make_mut(group);
            if group.members.remove(id) {
                left.push(group_id);
            }
            if let Policy::Automatic(auto) = &mut group.policy {
                auto.include.remove(id);
                auto.exclude.remove(id);
            }
        }
        self.image.remove(id);
        left.sort_unstable();
        Ok(left)
    }

    /// A bulk load of users and enrollments (a start-up): the date and number indexes
    /// place their prefixes once, when the load is dropped, instead of at every value.
    /// The engine cannot evaluate until then.
    pub fn bulk_load(&mut self) -> BulkLoad<'_> {
        self.image.set_bulk(true);
        BulkLoad { engine: self }
    }

    /// Sets a user's enrollment in a course. At start-up, enrollments given course by
    /// course (as the database's `(course_id, user_id)` index reads them) build fastest.
    pub fn set_enrollment(
        &mut self,
        user: i64,
        course: i64,
        enrollment: &EnrollmentRecord,
    ) -> Result<UserChange, EngineError> {
        self.image.set_enrollment(user, course, Some(enrollment))
    }

    /// Removes a user's enrollment in a course (they are then `not_enrolled`).
    pub fn clear_enrollment(&mut self, user: i64, course: i64) -> Result<UserChange, EngineError> {
        self.image.set_enrollment(user, course, None)
    }

    /// Adds or replaces a manual group with these members (an automatic group becomes
    /// manual).
    pub fn set_manual_group(&mut self, group: i64, name: &str, members: &[i64]) -> Result<(), EngineError> {
        let members = self.known_users(members)?;
        let old = self.groups.insert(group, Arc::new(Group { name: name.to_owned(), policy: Policy::Manual, members }));
        let renamed = old.as_ref().is_some_and(|o| o.name != name);
        if let Some(auto) = old.as_deref().and_then(|g| g.automatic()) {
            auto.compiled.release(Arc::make_mut(&mut self.predicates), &mut self.image.text);
        }
        self.name_group(group, name, renamed);
        self.reorder();
        Ok(())
    }

    /// Adds users to a manual group; returns a change for each user who joined.
    pub fn add_members(&mut self, group: i64, users: &[i64]) -> Result<Vec<UserChange>, EngineError> {
        let users = self.known_users(users)?;
        let members = self.manual_members(group)?;
        let joined = &users - &*members;
        *members |= users;
        Ok(membership_changes(&joined, group))
    }

    /// Removes users from a manual group; returns a change for each user who left.
    pub fn remove_members(&mut self, group: i64, users: &[i64]) -> Result<Vec<UserChange>, EngineError> {
        let users = self.known_users(users)?;
        let members = self.manual_members(group)?;
        let left = &users & &*members;
        *members -= users;
        Ok(membership_changes(&left, group))
    }

    /// Adds or replaces an automatic group's definition (a manual group becomes
    /// automatic). The rule is checked against the catalog, refused if it would make a
    /// cycle through `member_of`, and compiled once. The group's members stay as they
    /// were until an evaluation is committed.
    pub fn set_automatic_group(
        &mut self,
        group: i64,
        name: &str,
        definition: &AutomaticGroup,
    ) -> Result<(), EngineError> {
        let include = self.known_users(&definition.include)?;
        let exclude = self.known_users(&definition.exclude)?;
        let mut catalog = (*self.rule_catalog).clone();
        named(&mut catalog, group, name);
        let rule = compile_tree(&definition.rule, &catalog)?;
        let references = rule.referenced_groups();
        if let Some(cycle) = graph::find_cycle(&self.groups, group, &references) {
            return Err(EngineError::Cycle(cycle.into_iter().map(|id| self.group_name(id, (group, name))).collect()));
        }
        let compiled = compile_watched(&rule, &mut self.image, Arc::make_mut(&mut self.predicates))?;
        let inputs = Automatic::inputs_of(&compiled, &self.predicates, definition.allow_suspended);
        let automatic = Box::new(Automatic {
            rule,
            compiled,
            references,
            inputs,
            include,
            exclude,
            allow_suspended: definition.allow_suspended,
        });
        let renamed = self.groups.get(&group).is_some_and(|g| g.name != name);
        match self.groups.get_mut(&group).map(Arc::make_mut) {
            Some(existing) => {
                existing.name = name.to_owned();
                let old = std::mem::replace(&mut existing.policy, Policy::Automatic(automatic));
                if let Policy::Automatic(old) = old {
                    old.compiled.release(Arc::make_mut(&mut self.predicates), &mut self.image.text);
                }
            }
            None => {
                self.groups.insert(
                    group,
                    Arc::new(Group {
                        name: name.to_owned(),
                        policy: Policy::Automatic(automatic),
                        members: RoaringBitmap::new(),
                    }),
                );
            }
        }
        self.name_group(group, name, renamed);
        self.reorder();
        Ok(())
    }

    /// Sets a group's members as stored (at start-up, an automatic group's members as
    /// last committed; a manual group's members).
    pub fn load_members(&mut self, group: i64, users: &[i64]) -> Result<(), EngineError> {
        let users = self.known_users(users)?;
        Arc::make_mut(self.groups.get_mut(&group).ok_or(EngineError::UnknownGroup(group))?).members = users;
        Ok(())
    }

    /// Renames a group, in the rules that name it too.
    pub fn rename_group(&mut self, group: i64, name: &str) -> Result<(), EngineError> {
        Arc::make_mut(self.groups.get_mut(&group).ok_or(EngineError::UnknownGroup(group))?).name = name.to_owned();
        self.name_group(group, name, true);
        Ok(())
    }

    /// Records a group's name for the rule catalog and, when it is a new name for a
    /// group already known, prints it in the rules that name the group: however the name
    /// reaches the engine (a rename here, or another process's rename read back as the
    /// whole group), explain and every other reader of those rules show it.
    fn name_group(&mut self, group: i64, name: &str, renamed: bool) {
        if renamed {
            for g in self.groups.values_mut() {
                if !g.automatic().is_some_and(|auto| auto.references.contains(&group)) {
                    continue;
                }
                if let Policy::Automatic(auto) = &mut Arc::make_mut(g).policy {
                    auto.rule.refresh_group_names(|id| (id == group).then(|| name.to_owned()));
                }
            }
        }
        self.named(group, name);
    }

    /// Removes a group; refused while a rule names it.
    pub fn remove_group(&mut self, group: i64) -> Result<(), EngineError> {
        let Some(existing) = self.groups.get(&group) else {
            return Err(EngineError::UnknownGroup(group));
        };
        let by = graph::referencing(&self.groups, group);
        if !by.is_empty() {
            return Err(EngineError::GroupReferenced {
                group: existing.name(group),
                by: by.into_iter().map(|id| self.group_name(id, (group, ""))).collect(),
            });
        }
        if let Some(auto) = self.groups.remove(&group).as_deref().and_then(|g| g.automatic()) {
            auto.compiled.release(Arc::make_mut(&mut self.predicates), &mut self.image.text);
        }
        Arc::make_mut(&mut self.rule_catalog).groups.retain(|(id, _)| *id != group);
        self.enrollment_rules.remove(&group);
        self.reorder();
        Ok(())
    }

    /// Every user in the image.
    pub fn users(&self) -> &RoaringBitmap {
        &self.image.universe
    }

    /// A group's members: a manual group's, an automatic group's as last committed.
    pub fn members(&self, group: i64) -> Option<&RoaringBitmap> {
        self.groups.get(&group).map(|g| &g.members)
    }

    /// An automatic group's include list (`None` for a manual or unknown group): what
    /// tells a join by the list from a join by the rule.
    pub fn included(&self, group: i64) -> Option<&RoaringBitmap> {
        self.groups.get(&group).and_then(|g| g.automatic()).map(|a| &a.include)
    }

    /// The groups a user is a member of (as committed), sorted.
    pub fn groups_of(&self, user: i64) -> Vec<i64> {
        let Ok(id) = user_key(user) else {
            return Vec::new();
        };
        let mut groups: Vec<i64> =
            self.groups.iter().filter(|(_, g)| g.members.contains(id)).map(|(&g, _)| g).collect();
        groups.sort_unstable();
        groups
    }

    /// The automatic groups, each after the groups its rule names.
    pub fn automatic_groups(&self) -> &[i64] {
        &self.order
    }

    /// The automatic groups whose rules name `group`, directly or through others,
    /// sorted: what a change of `group`'s members can change.
    pub fn dependents(&self, group: i64) -> Vec<i64> {
        let mut reached: Vec<i64> =
            graph::with_dependents(&self.groups, &[group]).into_iter().filter(|&g| g != group).collect();
        reached.sort_unstable();
        reached
    }

    /// The automatic groups whose rules use relative dates: those to evaluate when the
    /// date rolls over (with their dependents, as [`Engine::evaluate_groups`] does).
    pub fn groups_using_today(&self) -> Vec<i64> {
        self.order
            .iter()
            .copied()
            .filter(|g| self.groups.get(g).and_then(|g| g.automatic()).is_some_and(|a| a.rule.uses_relative_dates()))
            .collect()
    }

    /// The cycle that giving `group` this (checked) rule would make, as the groups
    /// from `group` back to it.
    pub fn find_cycle(&self, group: i64, rule: &Rule) -> Option<Vec<GroupName>> {
        let cycle = graph::find_cycle(&self.groups, group, &rule.referenced_groups())?;
        let name = self.groups.get(&group).map_or("", |g| g.name.as_str());
        Some(cycle.into_iter().map(|id| self.group_name(id, (group, name))).collect())
    }

    /// A group's id and name; `proposed` (id, name) names a group not saved yet.
    fn group_name(&self, id: i64, proposed: (i64, &str)) -> GroupName {
        let name = match self.groups.get(&id) {
            _ if id == proposed.0 && !proposed.1.is_empty() => proposed.1.to_owned(),
            Some(g) => g.name.clone(),
            None => format!("#{id}"),
        };
        GroupName { id, name }
    }

    /// These users, each in the image, as a bitmap.
    pub(crate) fn known_users(&self, users: &[i64]) -> Result<RoaringBitmap, EngineError> {
        let mut bits = RoaringBitmap::new();
        for &user in users {
            let id = user_key(user)?;
            if !self.image.universe.contains(id) {
                return Err(EngineError::UnknownUser(user));
            }
            bits.insert(id);
        }
        Ok(bits)
    }

    fn manual_members(&mut self, group: i64) -> Result<&mut RoaringBitmap, EngineError> {
        let g = Arc::make_mut(self.groups.get_mut(&group).ok_or(EngineError::UnknownGroup(group))?);
        match g.policy {
            Policy::Manual => Ok(&mut g.members),
            Policy::Automatic(_) => Err(EngineError::NotManual(group)),
        }
    }

    fn automatic_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> =
            self.groups.iter().filter(|(_, g)| g.automatic().is_some()).map(|(&id, _)| id).collect();
        ids.sort_unstable();
        ids
    }

    fn named(&mut self, group: i64, name: &str) {
        named(Arc::make_mut(&mut self.rule_catalog), group, name);
    }

    fn reorder(&mut self) {
        self.order = graph::dependency_order(&self.groups);
        self.positions = self.order.iter().enumerate().map(|(i, &g)| (g, i)).collect();
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

/// A change of one group's membership for each of `users`.
fn membership_changes(users: &RoaringBitmap, group: i64) -> Vec<UserChange> {
    users
        .iter()
        .map(|user| {
            let mut change = UserChange::new(i64::from(user));
            change.add(Input::Group(group));
            change
        })
        .collect()
}

/// Records a group's name in a rule catalog.
fn named(catalog: &mut rule::Catalog, group: i64, name: &str) {
    match catalog.groups.iter_mut().find(|(id, _)| *id == group) {
        Some(entry) => entry.1 = name.to_owned(),
        None => catalog.groups.push((group, name.to_owned())),
    }
}

/// Users and enrollments loaded in bulk; see [`Engine::bulk_load`].
#[derive(Debug)]
pub struct BulkLoad<'a> {
    engine: &'a mut Engine,
}

impl BulkLoad<'_> {
    /// As [`Engine::upsert_users`].
    pub fn upsert_users(&mut self, users: &[UserRecord]) -> Result<Vec<UserChange>, EngineError> {
        self.engine.upsert_users(users)
    }

    /// As [`Engine::set_enrollment`].
    pub fn set_enrollment(
        &mut self,
        user: i64,
        course: i64,
        enrollment: &EnrollmentRecord,
    ) -> Result<UserChange, EngineError> {
        self.engine.set_enrollment(user, course, enrollment)
    }
}

impl Drop for BulkLoad<'_> {
    fn drop(&mut self) {
        self.engine.image.set_bulk(false);
    }
}
