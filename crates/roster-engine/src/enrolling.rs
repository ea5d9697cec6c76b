//! Enrollment rules as the engine holds them: which groups enroll their members in
//! which courses, what the image says of a user's enrollment, and the loops that
//! enrollment rules and rules reading course status would make together.

use std::collections::{HashMap, VecDeque};

use roaring::RoaringBitmap;
use roster_domain::rule::Rule;
use roster_domain::{EnrollmentRule, EnrollmentStatus};

use crate::change::Input;
use crate::engine::Engine;
use crate::error::user_key;

/// How one group's membership reaches another's: through `member_of`, or through an
/// enrollment rule enrolling in a course the other's rule reads (`Some(course id)`,
/// `true` when the rule removes the enrollment again on leave).
#[derive(Debug, Clone, Copy)]
struct Edge {
    to: i64,
    course: Option<(i64, bool)>,
}

/// A search's state: a group, and whether a removing enrollment rule was crossed to
/// reach it.
type State = (i64, bool);

/// Each state reached, with the state and edge it was reached from.
type Parents = HashMap<State, (State, Edge)>;

impl Engine {
    /// Sets a group's enrollment rules (none: the group enrolls nobody).
    pub fn set_enrollment_rules(&mut self, group: i64, rules: Vec<EnrollmentRule>) {
        if rules.is_empty() {
            self.enrollment_rules.remove(&group);
        } else {
            self.enrollment_rules.insert(group, rules);
        }
    }

    /// A group's name.
    pub fn group_name_of(&self, group: i64) -> Option<&str> {
        self.groups.get(&group).map(|g| g.name.as_str())
    }

    /// A group's enrollment rules, in its order.
    pub fn enrollment_rules(&self, group: i64) -> &[EnrollmentRule] {
        self.enrollment_rules.get(&group).map_or(&[], Vec::as_slice)
    }

    /// Whether any group has an enrollment rule: when none has, joins and leaves
    /// enroll nobody and cost nothing more.
    pub fn has_enrollment_rules(&self) -> bool {
        !self.enrollment_rules.is_empty()
    }

    /// The groups with an enrollment rule for `course`, sorted.
    pub fn groups_enrolling_in(&self, course: i64) -> Vec<i64> {
        let mut groups: Vec<i64> = self
            .enrollment_rules
            .iter()
            .filter(|(_, rules)| rules.iter().any(|r| r.course_id == course))
            .map(|(&g, _)| g)
            .collect();
        groups.sort_unstable();
        groups
    }

    /// A user's enrollment status in a course, as the image holds it.
    pub fn enrollment_status(&self, user: i64, course: i64) -> Option<EnrollmentStatus> {
        let id = user_key(user).ok()?;
        let slot = self.image.slot(id)?;
        let index = self.image.courses.index_of_id(course)?;
        self.image.courses.enrollment(slot, index).map(|e| e.status)
    }

    /// The users with an enrollment (in any status) in a course.
    pub fn enrolled_in(&self, course: i64) -> RoaringBitmap {
        let Some(columns) = self.image.courses.index_of_id(course).and_then(|i| self.image.courses.get(i)) else {
            return RoaringBitmap::new();
        };
        let mut users = RoaringBitmap::new();
        for status in roster_domain::rule::CourseStatus::ALL {
            if let Some(bits) = columns.in_status(status) {
                users |= bits;
            }
        }
        users
    }

    /// The automatic groups whose rules read one of these courses, sorted.
    pub fn readers_of_courses(&self, courses: &[i64]) -> Vec<i64> {
        let inputs: Vec<Input> =
            courses.iter().filter_map(|&c| self.image.courses.index_of_id(c)).map(Input::Course).collect();
        let mut groups: Vec<i64> = self
            .groups
            .iter()
            .filter(|(_, g)| g.automatic().is_some_and(|a| a.inputs.iter().any(|i| inputs.contains(i))))
            .map(|(&id, _)| id)
            .collect();
        groups.sort_unstable();
        groups
    }

    /// The loop that giving `group` this rule (when `Some`) and these enrollment rules
    /// (when `Some`) would close: a path from `group` back to itself through an
    /// enrollment rule that removes its enrollments on leave, as the names of the
    /// groups and courses on it (`"A"`, `DRV-201`, `"B"`, `"A"`).
    ///
    /// Conservative: every such loop is refused, whatever the rules on it read. A loop
    /// whose enrollment rules all keep their enrollments settles, since rules then
    /// only ever add enrollments, and is allowed.
    pub fn enrollment_loop(
        &self,
        group: i64,
        rule: Option<&Rule>,
        enrollment_rules: Option<&[EnrollmentRule]>,
    ) -> Option<Vec<String>> {
        let edges = self.influence(group, rule, enrollment_rules);
        // Breadth first over (group, whether a removing enrollment rule was crossed).
        let mut parent: Parents = HashMap::new();
        let mut queue = VecDeque::from([(group, false)]);
        while let Some(state) = queue.pop_front() {
            for edge in edges.get(&state.0).into_iter().flatten() {
                let next = (edge.to, state.1 || edge.course.is_some_and(|(_, removes)| removes));
                if parent.contains_key(&next) || next == (group, false) {
                    continue;
                }
                parent.insert(next, (state, *edge));
                if next == (group, true) {
                    return Some(self.loop_names(group, &parent));
                }
                queue.push_back(next);
            }
        }
        None
    }

    /// Who influences whom, with `group`'s proposed rule and enrollment rules.
    fn influence(
        &self,
        group: i64,
        rule: Option<&Rule>,
        enrollment_rules: Option<&[EnrollmentRule]>,
    ) -> HashMap<i64, Vec<Edge>> {
        let course_code = |id: i64| {
            self.image.courses.index_of_id(id).and_then(|i| self.image.courses.get(i)).map(|c| c.code.to_lowercase())
        };
        let mut readers: Vec<(i64, Vec<i64>, Vec<String>)> = Vec::new();
        for (&id, g) in &self.groups {
            let read = match (id == group, rule, g.automatic()) {
                (true, Some(rule), _) => Some(rule),
                (_, _, Some(auto)) => Some(&auto.rule),
                _ => None,
            };
            if let Some(read) = read {
                let courses = read.referenced_courses().iter().map(|c| c.to_lowercase()).collect();
                readers.push((id, read.referenced_groups(), courses));
            }
        }
        if let (Some(rule), false) = (rule, self.groups.contains_key(&group)) {
            let courses = rule.referenced_courses().iter().map(|c| c.to_lowercase()).collect();
            readers.push((group, rule.referenced_groups(), courses));
        }
        let mut enrolling: Vec<(i64, &[EnrollmentRule])> =
            self.enrollment_rules.iter().map(|(&g, r)| (g, r.as_slice())).filter(|(g, _)| *g != group).collect();
        if let Some(proposed) = enrollment_rules.or_else(|| self.enrollment_rules.get(&group).map(Vec::as_slice)) {
            enrolling.push((group, proposed));
        }
        let mut edges: HashMap<i64, Vec<Edge>> = HashMap::new();
        for (reader, groups, courses) in &readers {
            for &from in groups {
                edges.entry(from).or_default().push(Edge { to: *reader, course: None });
            }
            for &(from, rules) in &enrolling {
                for r in rules {
                    if course_code(r.course_id).is_some_and(|code| courses.contains(&code)) {
                        let course = Some((r.course_id, r.unenroll_on_leave));
                        edges.entry(from).or_default().push(Edge { to: *reader, course });
                    }
                }
            }
        }
        for list in edges.values_mut() {
            list.sort_by_key(|e| (e.to, e.course.map(|c| c.0)));
        }
        edges
    }

    /// The names along the loop found back to `(group, true)`.
    fn loop_names(&self, group: i64, parent: &Parents) -> Vec<String> {
        let group_name =
            |id: i64| format!("\"{}\"", self.groups.get(&id).map_or_else(|| format!("#{id}"), |g| g.name.clone()));
        let course_code = |id: i64| {
            self.image
                .courses
                .index_of_id(id)
                .and_then(|i| self.image.courses.get(i))
                .map_or_else(|| format!("#{id}"), |c| c.code.clone())
        };
        let mut steps = Vec::new();
        let mut at = (group, true);
        while let Some((from, edge)) = parent.get(&at) {
            steps.push(group_name(at.0));
            if let Some((course, _)) = edge.course {
                steps.push(course_code(course));
            }
            at = *from;
            if at == (group, false) {
                break;
            }
        }
        steps.push(group_name(group));
        steps.reverse();
        steps
    }
}
