//! What a write changed for one user — which inputs of the rules — so that the user's
//! evaluation can skip the groups the write cannot affect.

/// Something a rule reads about a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Input {
    /// A text column.
    Text(u32),
    /// A number column.
    Number(u32),
    /// A date column of the user.
    Date(u32),
    /// A yes/no column.
    YesNo(u32),
    /// Active or suspended.
    Status,
    /// The branch.
    Branch,
    /// The enrollment in a course (an index): its status and days.
    Course(u32),
    /// The membership of a group.
    Group(i64),
}

/// What a write changed for one user: returned by [`crate::Engine::upsert_user`],
/// [`crate::Engine::set_enrollment`] and the member calls, and given to
/// [`crate::Engine::evaluate_change`], which then evaluates only the automatic groups
/// whose rules read what changed (and those naming a group the user joins or leaves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserChange {
    user: i64,
    /// The user is new: every group is evaluated, and none held them.
    created: bool,
    /// Sorted, without repeats.
    inputs: Vec<Input>,
}

impl UserChange {
    /// Nothing changed yet for `user`.
    pub(crate) fn new(user: i64) -> Self {
        Self { user, created: false, inputs: Vec::new() }
    }

    /// A user that did not exist before.
    pub(crate) fn created(user: i64) -> Self {
        Self { created: true, ..Self::new(user) }
    }

    /// Records a changed input (a new user's inputs all count already).
    pub(crate) fn add(&mut self, input: Input) {
        if self.created {
            return;
        }
        if let Err(at) = self.inputs.binary_search(&input) {
            self.inputs.insert(at, input);
        }
    }

    /// The user.
    pub fn user(&self) -> i64 {
        self.user
    }

    /// Whether the user's status (active or suspended) changed.
    pub fn status_changed(&self) -> bool {
        self.inputs.binary_search(&Input::Status).is_ok()
    }

    /// Whether nothing a rule reads changed.
    pub fn is_empty(&self) -> bool {
        !self.created && self.inputs.is_empty()
    }

    /// Adds another change of the same user (several writes in one transaction);
    /// `false`, and nothing merged, for another user's change.
    pub fn merge(&mut self, other: &UserChange) -> bool {
        if other.user != self.user {
            return false;
        }
        for &input in &other.inputs {
            self.add(input);
        }
        if other.created {
            self.created = true;
            self.inputs.clear();
        }
        true
    }

    /// Whether the user is new.
    pub(crate) fn is_created(&self) -> bool {
        self.created
    }

    /// Whether any of these (sorted) inputs changed.
    pub(crate) fn touches(&self, inputs: &[Input]) -> bool {
        let (mut a, mut b) = (self.inputs.iter().peekable(), inputs.iter().peekable());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            match x.cmp(y) {
                std::cmp::Ordering::Less => {
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                }
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_merge_and_meet_inputs() {
        let mut change = UserChange::new(7);
        change.add(Input::Branch);
        change.add(Input::Text(3));
        let mut other = UserChange::new(7);
        other.add(Input::Group(12));
        assert!(change.merge(&other));
        assert!(!change.merge(&UserChange::created(8)));
        assert!(change.touches(&[Input::Text(1), Input::Group(12)]));
        assert!(!change.touches(&[Input::Text(1), Input::Status, Input::Course(0)]));
        assert!(!change.is_empty() && UserChange::new(1).is_empty());
        assert!(!UserChange::created(1).is_empty());
    }
}
