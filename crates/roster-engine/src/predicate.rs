//! Predicates: the positive conditions of every rule (`!=` is `not =`, `is empty` is
//! `not present`), each resolved against the image once and shared by every rule that
//! states it; answered for one user or for everyone.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::ops::Bound;

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use roster_domain::rule::{regex_for, CourseStatus, RelativeDate};
use roster_domain::UserStatus;

use crate::change::Input;
use crate::columns::day_of;
use crate::error::EngineError;
use crate::image::{column, Image};
use crate::ordered::{number_key, DateIndex};
use crate::posting::{empty, Union};
use crate::set::Set;
use crate::text::{TextColumn, TextMatcher};

/// A predicate's index in [`Predicates`].
pub(crate) type PredicateId = u32;

/// Where a date comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DateSource {
    /// A date column of the user (`created_at`, `last_login_at`, a date field).
    User(u32),
    /// The enrollment day in a course (an index).
    Enrolled(u32),
    /// The completion day in a course.
    Completed(u32),
}

/// A date in a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateValue {
    /// A calendar date.
    On(NaiveDate),
    /// A date relative to today.
    Relative(RelativeDate),
}

impl Hash for DateValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Self::On(date) => date.hash(state),
            Self::Relative(r) => {
                r.offset.hash(state);
                r.unit.letter().hash(state);
            }
        }
    }
}

impl DateValue {
    /// The day this stands for; `None` for a relative date outside the calendar.
    fn day(self, today: NaiveDate) -> Option<i64> {
        let date = match self {
            Self::On(date) => date,
            Self::Relative(r) => r.on(today)?,
        };
        Some(i64::from(day_of(date)))
    }
}

/// One end of a date range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct DateBound {
    pub(crate) value: DateValue,
    pub(crate) inclusive: bool,
}

/// What a subject's `is empty` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Presence {
    Text(u32),
    Number(u32),
    Date(DateSource),
    YesNo(u32),
    Branch,
}

/// A text matcher, as a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum MatcherKey {
    /// Folded, sorted, without repeats.
    Equals(Vec<String>),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    /// The pattern as written.
    Matches(String),
}

/// A positive condition, resolved: what identifies it among all rules' conditions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PredicateKey {
    /// A text column's value matches.
    Text { column: u32, matcher: MatcherKey },
    /// The subject has a value.
    Present(Presence),
    /// A number field's value is one of these (keys, sorted).
    NumberIn { column: u32, keys: Vec<u64> },
    /// A number field's value lies between (key, inclusive) bounds.
    NumberRange { column: u32, lo: Option<(u64, bool)>, hi: Option<(u64, bool)> },
    /// A date lies between bounds.
    DateRange { source: DateSource, lo: Option<DateBound>, hi: Option<DateBound> },
    /// A yes/no field's value.
    YesNo { column: u32, value: bool },
    /// The user's status is one of these.
    Status { active: bool, suspended: bool },
    /// The user's branch is one of these (indexes, sorted).
    BranchIn(Vec<u32>),
    /// The user's branch is this one or below it.
    BranchUnder(u32),
    /// The user's status in a course is one of these (sorted).
    Course { course: u32, statuses: Vec<CourseStatus> },
}

impl PredicateKey {
    /// What of a user the predicate reads.
    pub(crate) fn input(&self) -> Input {
        let date = |source: DateSource| match source {
            DateSource::User(c) => Input::Date(c),
            DateSource::Enrolled(course) | DateSource::Completed(course) => Input::Course(course),
        };
        match self {
            Self::Text { column, .. } | Self::Present(Presence::Text(column)) => Input::Text(*column),
            Self::NumberIn { column, .. }
            | Self::NumberRange { column, .. }
            | Self::Present(Presence::Number(column)) => Input::Number(*column),
            Self::DateRange { source, .. } | Self::Present(Presence::Date(source)) => date(*source),
            Self::YesNo { column, .. } | Self::Present(Presence::YesNo(column)) => Input::YesNo(*column),
            Self::Status { .. } => Input::Status,
            Self::BranchIn(_) | Self::BranchUnder(_) | Self::Present(Presence::Branch) => Input::Branch,
            Self::Course { course, .. } => Input::Course(*course),
        }
    }
}

/// The values a text predicate matches.
#[derive(Debug, Clone)]
enum TextValues {
    /// Kept current by the column.
    Watched(u32),
    /// Computed once, for a rule that is only previewed.
    Own(RoaringBitmap),
}

/// A predicate and how many compiled rules use it.
#[derive(Debug, Clone)]
pub(crate) struct Predicate {
    pub(crate) key: PredicateKey,
    refs: u32,
    text: Option<TextValues>,
}

/// Every predicate in use, each once.
#[derive(Debug, Default, Clone)]
pub(crate) struct Predicates {
    entries: Vec<Option<Predicate>>,
    by_key: HashMap<PredicateKey, PredicateId>,
    free: Vec<PredicateId>,
}

/// The matcher of a text key.
fn matcher(key: &MatcherKey) -> Result<TextMatcher, EngineError> {
    Ok(match key {
        MatcherKey::Equals(values) => TextMatcher::Equals(values.clone()),
        MatcherKey::Contains(s) => TextMatcher::Contains(s.clone()),
        MatcherKey::StartsWith(s) => TextMatcher::StartsWith(s.clone()),
        MatcherKey::EndsWith(s) => TextMatcher::EndsWith(s.clone()),
        MatcherKey::Matches(pattern) => TextMatcher::Matches(regex_for(pattern)?),
    })
}

impl Predicates {
    /// How many ids have been handed out (the size of a per-id memo).
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// A predicate.
    pub(crate) fn get(&self, id: PredicateId) -> Option<&Predicate> {
        self.entries.get(id as usize)?.as_ref()
    }

    /// The id of a predicate, made if new: a text predicate's matches are then kept
    /// current by its column (`text`) when `watch`, else computed once.
    fn acquire(
        &mut self,
        key: PredicateKey,
        text: Option<&mut [Option<TextColumn>]>,
        scratch: &[Option<TextColumn>],
    ) -> Result<PredicateId, EngineError> {
        if let Some(&id) = self.by_key.get(&key) {
            if let Some(p) = self.entries.get_mut(id as usize).and_then(Option::as_mut) {
                p.refs += 1;
            }
            return Ok(id);
        }
        let values = match &key {
            PredicateKey::Text { column: c, matcher: m } => {
                let m = matcher(m)?;
                Some(match text {
                    Some(columns) => match columns.get_mut(*c as usize).and_then(Option::as_mut) {
                        Some(col) => TextValues::Watched(col.watch(m)),
                        None => TextValues::Own(RoaringBitmap::new()),
                    },
                    None => TextValues::Own(column(scratch, *c).map(|col| col.matching(&m)).unwrap_or_default()),
                })
            }
            _ => None,
        };
        let predicate = Some(Predicate { key: key.clone(), refs: 1, text: values });
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = predicate;
                id
            }
            None => {
                self.entries.push(predicate);
                u32::try_from(self.entries.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.by_key.insert(key, id);
        Ok(id)
    }

    /// Acquires a predicate whose text matches its column keeps current.
    pub(crate) fn acquire_watched(
        &mut self,
        key: PredicateKey,
        text: &mut [Option<TextColumn>],
    ) -> Result<PredicateId, EngineError> {
        self.acquire(key, Some(text), &[])
    }

    /// Acquires a predicate computed once against `text`.
    pub(crate) fn acquire_once(
        &mut self,
        key: PredicateKey,
        text: &[Option<TextColumn>],
    ) -> Result<PredicateId, EngineError> {
        self.acquire(key, None, text)
    }

    /// Drops one use of a predicate; the last use frees it (and its column watcher).
    pub(crate) fn release(&mut self, id: PredicateId, text: &mut [Option<TextColumn>]) {
        let Some(slot) = self.entries.get_mut(id as usize) else {
            return;
        };
        let Some(p) = slot.as_mut() else {
            return;
        };
        p.refs -= 1;
        if p.refs > 0 {
            return;
        }
        if let Some(p) = slot.take() {
            if let (PredicateKey::Text { column: c, .. }, Some(TextValues::Watched(w))) = (&p.key, &p.text) {
                if let Some(col) = text.get_mut(*c as usize).and_then(Option::as_mut) {
                    col.unwatch(*w);
                }
            }
            self.by_key.remove(&p.key);
            self.free.push(id);
        }
    }
}

impl Predicate {
    /// The text values this predicate matches.
    fn text_values<'a>(&'a self, col: &'a TextColumn) -> &'a RoaringBitmap {
        match &self.text {
            Some(TextValues::Watched(w)) => col.watched(*w).unwrap_or(empty()),
            Some(TextValues::Own(values)) => values,
            None => empty(),
        }
    }

    /// Whether the predicate holds for the user in `slot`.
    pub(crate) fn holds(&self, image: &Image, slot: u32, user: u32, today: NaiveDate) -> bool {
        match &self.key {
            PredicateKey::Text { column: c, .. } => column(&image.text, *c)
                .is_some_and(|col| col.value_at(slot).is_some_and(|v| self.text_values(col).contains(v))),
            PredicateKey::Present(presence) => present(image, *presence, slot, user),
            PredicateKey::NumberIn { column: c, keys } => {
                number(image, *c, slot).is_some_and(|n| keys.binary_search(&number_key(n)).is_ok())
            }
            PredicateKey::NumberRange { column: c, lo, hi } => number(image, *c, slot).is_some_and(|n| {
                let key = number_key(n);
                lo.is_none_or(|(b, inclusive)| key > b || (inclusive && key == b))
                    && hi.is_none_or(|(b, inclusive)| key < b || (inclusive && key == b))
            }),
            PredicateKey::DateRange { source, lo, hi } => {
                match (day(image, *source, slot), day_range(*lo, *hi, today)) {
                    (Some(d), Some((lo, hi))) => lo <= d && d <= hi,
                    _ => false,
                }
            }
            PredicateKey::YesNo { column: c, value } => {
                column(&image.yes_no, *c).and_then(|col| col.value(user)) == Some(*value)
            }
            PredicateKey::Status { active, suspended } => {
                if image.suspended.contains(user) {
                    *suspended
                } else {
                    *active
                }
            }
            PredicateKey::BranchIn(branches) => {
                image.branches.at(slot).is_some_and(|b| branches.binary_search(&b).is_ok())
            }
            PredicateKey::BranchUnder(root) => {
                image.branches.at(slot).is_some_and(|b| image.branches.is_under(b, *root))
            }
            PredicateKey::Course { course, statuses } => {
                let enrolled = image.courses.enrollment(slot, *course);
                statuses.contains(&CourseStatus::of(enrolled.map(|e| e.status)))
            }
        }
    }

    /// The users for whom the predicate holds.
    pub(crate) fn users<'a>(&'a self, image: &'a Image, today: NaiveDate) -> Set<'a> {
        let none = || Set::of(Cow::Owned(RoaringBitmap::new()));
        match &self.key {
            PredicateKey::Text { column: c, .. } => match (column(&image.text, *c), &self.text) {
                (Some(col), Some(TextValues::Watched(w))) => Set::of(col.watched_users(*w)),
                (Some(col), Some(TextValues::Own(values))) => Set::of(col.users(values)),
                _ => none(),
            },
            PredicateKey::Present(presence) => Set::of(Cow::Borrowed(present_users(image, *presence))),
            PredicateKey::NumberIn { column: c, keys } => match column(&image.numbers, *c) {
                Some(col) => Set::of(col.index.equal(keys)),
                None => none(),
            },
            PredicateKey::NumberRange { column: c, lo, hi } => match column(&image.numbers, *c) {
                Some(col) => {
                    let bound = |b: Option<(u64, bool)>| match b {
                        None => Bound::Unbounded,
                        Some((key, true)) => Bound::Included(key),
                        Some((key, false)) => Bound::Excluded(key),
                    };
                    Set::of(col.index.range(bound(*lo), bound(*hi)))
                }
                None => none(),
            },
            PredicateKey::DateRange { source, lo, hi } => {
                match (date_index(image, *source), day_range(*lo, *hi, today)) {
                    (Some(index), Some((lo, hi))) => Set::of(index.range(lo, hi)),
                    _ => none(),
                }
            }
            PredicateKey::YesNo { column: c, value } => match column(&image.yes_no, *c) {
                Some(col) => Set::of(Cow::Borrowed(if *value { &col.yes } else { &col.no })),
                None => none(),
            },
            PredicateKey::Status { active, suspended } => {
                let mut union = Union::default();
                if *active {
                    union.add_bitmap(&image.active);
                }
                if *suspended {
                    union.add_bitmap(&image.suspended);
                }
                Set::of(union.finish())
            }
            PredicateKey::BranchIn(branches) => {
                let mut union = Union::default();
                for &b in branches {
                    union.add_bitmap(image.branches.direct(b));
                }
                Set::of(union.finish())
            }
            PredicateKey::BranchUnder(root) => Set::of(Cow::Borrowed(image.branches.subtree(*root))),
            PredicateKey::Course { course, statuses } => {
                // `not_enrolled` and some statuses: everyone but the other statuses.
                let not_enrolled = statuses.contains(&CourseStatus::NotEnrolled);
                let enrolled: Vec<CourseStatus> = CourseStatus::ALL
                    .into_iter()
                    .filter(|s| *s != CourseStatus::NotEnrolled && statuses.contains(s) != not_enrolled)
                    .collect();
                let users = match image.courses.get(*course) {
                    Some(columns) => columns.in_statuses(&enrolled),
                    None => Cow::Owned(RoaringBitmap::new()),
                };
                Set::of(users).negated_if(not_enrolled)
            }
        }
    }
}

/// The inclusive day range of two bounds; `None` when a relative date falls outside
/// the calendar, which no date satisfies.
fn day_range(lo: Option<DateBound>, hi: Option<DateBound>, today: NaiveDate) -> Option<(i64, i64)> {
    let lo = match lo {
        None => i64::MIN,
        Some(b) => b.value.day(today)? + i64::from(!b.inclusive),
    };
    let hi = match hi {
        None => i64::MAX,
        Some(b) => b.value.day(today)? - i64::from(!b.inclusive),
    };
    Some((lo, hi))
}

fn number(image: &Image, c: u32, slot: u32) -> Option<f64> {
    column(&image.numbers, c)?.number(slot)
}

/// A user's day from a date source.
pub(crate) fn day(image: &Image, source: DateSource, slot: u32) -> Option<i64> {
    match source {
        DateSource::User(c) => column(&image.dates, c)?.day(slot),
        DateSource::Enrolled(course) => image.courses.enrollment(slot, course).map(|e| e.enrolled_day()),
        DateSource::Completed(course) => image.courses.enrollment(slot, course).and_then(|e| e.completed_day()),
    }
}

fn date_index(image: &Image, source: DateSource) -> Option<&DateIndex> {
    match source {
        DateSource::User(c) => column(&image.dates, c).map(|col| &col.index),
        DateSource::Enrolled(course) => image.courses.get(course).map(|c| &c.enrolled_at),
        DateSource::Completed(course) => image.courses.get(course).map(|c| &c.completed_at),
    }
}

fn present(image: &Image, presence: Presence, slot: u32, user: u32) -> bool {
    match presence {
        Presence::Text(c) => column(&image.text, c).is_some_and(|col| col.value_at(slot).is_some()),
        Presence::Number(c) => number(image, c, slot).is_some(),
        Presence::Date(source) => day(image, source, slot).is_some(),
        Presence::YesNo(c) => column(&image.yes_no, c).is_some_and(|col| col.value(user).is_some()),
        Presence::Branch => image.branches.at(slot).is_some(),
    }
}

fn present_users(image: &Image, presence: Presence) -> &RoaringBitmap {
    match presence {
        Presence::Text(c) => column(&image.text, c).map_or(empty(), TextColumn::present),
        Presence::Number(c) => column(&image.numbers, c).map_or(empty(), |col| col.index.present()),
        Presence::Date(source) => date_index(image, source).map_or(empty(), DateIndex::present),
        Presence::YesNo(c) => column(&image.yes_no, c).map_or(empty(), |col| &col.present),
        Presence::Branch => image.branches.present(),
    }
}

/// The user status a value names, for keys.
pub(crate) fn status_key(statuses: &[UserStatus]) -> PredicateKey {
    PredicateKey::Status {
        active: statuses.contains(&UserStatus::Active),
        suspended: statuses.contains(&UserStatus::Suspended),
    }
}
