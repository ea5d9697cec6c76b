//! Text columns: each distinct value once, in arenas, case-folded for comparison, with
//! the users who hold it; and the standing match sets of the text conditions that read
//! the column, kept current as new values arrive, so that neither a user's evaluation
//! nor the population's compares strings.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use regex::Regex;
use roaring::RoaringBitmap;

use crate::posting::{add, Posting, Union};
use crate::slots;

/// No value.
const NONE: u32 = u32::MAX;

/// Folds case as the rule language compares text: each character lower-cased on its own
/// (as the checker compares names), so `"Straße"` and `"STRASSE"` differ but `"É"` and
/// `"é"` do not.
pub(crate) fn fold(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(s)
    } else if s.is_ascii() {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Owned(s.chars().flat_map(char::to_lowercase).collect())
    }
}

/// What a text condition asks of a value; the needles are folded.
#[derive(Debug, Clone)]
pub(crate) enum TextMatcher {
    /// One of these (sorted) values: `=`, `in`.
    Equals(Vec<String>),
    /// `contains`
    Contains(String),
    /// `starts with`
    StartsWith(String),
    /// `ends with`
    EndsWith(String),
    /// `matches`, run on the value as written.
    Matches(Regex),
}

impl TextMatcher {
    /// Whether a present value, folded and as written, matches.
    pub(crate) fn test(&self, folded: &str, exact: &str) -> bool {
        match self {
            Self::Equals(needles) => needles.binary_search_by(|n| n.as_str().cmp(folded)).is_ok(),
            Self::Contains(needle) => folded.contains(needle.as_str()),
            Self::StartsWith(needle) => folded.starts_with(needle.as_str()),
            Self::EndsWith(needle) => folded.ends_with(needle.as_str()),
            Self::Matches(regex) => regex.is_match(exact),
        }
    }
}

/// Hashes that are already hashes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A matcher and the values it matches.
#[derive(Debug)]
struct Watcher {
    matcher: TextMatcher,
    values: RoaringBitmap,
}

/// One text column (a standard text subject or a text or dropdown field).
#[derive(Debug, Default)]
pub(crate) struct TextColumn {
    /// Every value folded, one after the other.
    folded: String,
    /// Where each folded value ends in `folded`.
    folded_ends: Vec<usize>,
    /// The values as written that differ from their folded form.
    exact: String,
    exact_ends: Vec<usize>,
    /// For each value, its index in `exact_ends`, or `NONE` when it is its folded form.
    exact_of: Vec<u32>,
    /// Folded hash to the last value with it; `next` chains the others.
    heads: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    next: Vec<u32>,
    hasher: RandomState,
    /// The users of each value.
    postings: Vec<Posting>,
    /// Each slot's value, or `NONE`.
    by_slot: Vec<u32>,
    present: RoaringBitmap,
    watchers: Vec<Option<Watcher>>,
}

impl TextColumn {
    /// How many distinct values the column has seen.
    fn value_count(&self) -> u32 {
        u32::try_from(self.postings.len()).unwrap_or(NONE)
    }

    fn folded_span(&self, value: u32) -> (usize, usize) {
        let i = value as usize;
        let start = if i == 0 { 0 } else { self.folded_ends[i - 1] };
        (start, self.folded_ends[i])
    }

    /// A value, folded.
    pub(crate) fn folded(&self, value: u32) -> &str {
        let (start, end) = self.folded_span(value);
        &self.folded[start..end]
    }

    /// A value as written.
    pub(crate) fn exact(&self, value: u32) -> &str {
        match self.exact_of[value as usize] {
            NONE => self.folded(value),
            k => {
                let k = k as usize;
                let start = if k == 0 { 0 } else { self.exact_ends[k - 1] };
                &self.exact[start..self.exact_ends[k]]
            }
        }
    }

    /// The values whose folded form is `folded`.
    fn equal_to<'a>(&'a self, folded: &'a str) -> impl Iterator<Item = u32> + 'a {
        let mut at = self.heads.get(&self.hasher.hash_one(folded)).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            while at != NONE {
                let value = at;
                at = self.next[value as usize];
                if self.folded(value) == folded {
                    return Some(value);
                }
            }
            None
        })
    }

    /// The id of a value, added if new; `None` when the column is full.
    fn intern(&mut self, exact: &str) -> Option<u32> {
        let folded = fold(exact);
        if let Some(found) = self.equal_to(&folded).find(|&v| self.exact(v) == exact) {
            return Some(found);
        }
        let value = self.value_count();
        if value == NONE {
            return None;
        }
        self.folded.push_str(&folded);
        self.folded_ends.push(self.folded.len());
        if folded == exact {
            self.exact_of.push(NONE);
        } else {
            self.exact_of.push(u32::try_from(self.exact_ends.len()).unwrap_or(NONE));
            self.exact.push_str(exact);
            self.exact_ends.push(self.exact.len());
        }
        let hash = self.hasher.hash_one(&*folded);
        self.next.push(self.heads.insert(hash, value).unwrap_or(NONE));
        self.postings.push(Posting::Empty);
        for watcher in self.watchers.iter_mut().flatten() {
            if watcher.matcher.test(&folded, exact) {
                watcher.values.insert(value);
            }
        }
        Some(value)
    }

    /// Sets the value of a user (`None` or `""`: missing); `false` when the column is
    /// full (four billion distinct values).
    pub(crate) fn set(&mut self, slot: u32, user: u32, value: Option<&str>) -> bool {
        let new = match value.filter(|v| !v.is_empty()) {
            Some(v) => match self.intern(v) {
                Some(id) => id,
                None => return false,
            },
            None => NONE,
        };
        let old = slots::get(&self.by_slot, slot, NONE);
        if old == new {
            return true;
        }
        if old != NONE {
            self.postings[old as usize].remove(user);
            self.present.remove(user);
        }
        if new != NONE {
            self.postings[new as usize].insert(user);
            add(&mut self.present, user);
        }
        slots::put(&mut self.by_slot, slot, new, NONE);
        true
    }

    /// The value of a slot.
    pub(crate) fn value_at(&self, slot: u32) -> Option<u32> {
        Some(slots::get(&self.by_slot, slot, NONE)).filter(|&v| v != NONE)
    }

    /// The users holding a value.
    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.present
    }

    /// The values a matcher matches, found without testing each value where it can:
    /// equality by hash, substrings by one search through the folded arena.
    pub(crate) fn matching(&self, matcher: &TextMatcher) -> RoaringBitmap {
        match matcher {
            TextMatcher::Equals(needles) => needles.iter().flat_map(|needle| self.equal_to(needle)).collect(),
            TextMatcher::Contains(needle) => self.search(needle, Anchor::Anywhere),
            TextMatcher::StartsWith(needle) => self.search(needle, Anchor::Start),
            TextMatcher::EndsWith(needle) => self.search(needle, Anchor::End),
            TextMatcher::Matches(regex) => (0..self.value_count()).filter(|&v| regex.is_match(self.exact(v))).collect(),
        }
    }

    /// The values holding `needle` at `anchor`, by searching the whole folded arena.
    fn search(&self, needle: &str, anchor: Anchor) -> RoaringBitmap {
        if needle.is_empty() {
            return (0..self.value_count()).collect();
        }
        let Ok(finder) = regex::bytes::Regex::new(&regex::escape(needle)) else {
            let matcher = match anchor {
                Anchor::Anywhere => TextMatcher::Contains(needle.to_owned()),
                Anchor::Start => TextMatcher::StartsWith(needle.to_owned()),
                Anchor::End => TextMatcher::EndsWith(needle.to_owned()),
            };
            return (0..self.value_count()).filter(|&v| matcher.test(self.folded(v), "")).collect();
        };
        let haystack = self.folded.as_bytes();
        let mut found = Vec::new();
        let mut at = 0;
        while let Some(m) = finder.find_at(haystack, at) {
            let index = self.folded_ends.partition_point(|&end| end <= m.start());
            let Ok(value) = u32::try_from(index) else {
                break;
            };
            let (start, end) = self.folded_span(value);
            let fits = m.end() <= end;
            let anchored = match anchor {
                Anchor::Anywhere => true,
                Anchor::Start => m.start() == start,
                Anchor::End => m.end() == end,
            };
            if fits && anchored {
                found.push(value);
                at = end;
            } else if anchor == Anchor::Start && fits {
                at = end;
            } else {
                at = m.start() + 1;
            }
        }
        found.into_iter().collect()
    }

    /// Starts keeping the values `matcher` matches; returns the watcher's id.
    pub(crate) fn watch(&mut self, matcher: TextMatcher) -> u32 {
        let values = self.matching(&matcher);
        let watcher = Some(Watcher { matcher, values });
        match self.watchers.iter().position(Option::is_none) {
            Some(free) => {
                self.watchers[free] = watcher;
                u32::try_from(free).unwrap_or(NONE)
            }
            None => {
                self.watchers.push(watcher);
                u32::try_from(self.watchers.len() - 1).unwrap_or(NONE)
            }
        }
    }

    /// Stops a watcher.
    pub(crate) fn unwatch(&mut self, watcher: u32) {
        if let Some(w) = self.watchers.get_mut(watcher as usize) {
            *w = None;
        }
    }

    /// The values a watcher matches.
    pub(crate) fn watched(&self, watcher: u32) -> Option<&RoaringBitmap> {
        self.watchers.get(watcher as usize)?.as_ref().map(|w| &w.values)
    }

    /// The users holding one of `values`.
    pub(crate) fn users(&self, values: &RoaringBitmap) -> Cow<'_, RoaringBitmap> {
        let mut union = Union::default();
        for value in values {
            if let Some(posting) = self.postings.get(value as usize) {
                union.add(posting);
            }
        }
        union.finish()
    }
}

/// Where a needle must sit in a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Anywhere,
    Start,
    End,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[&str]) -> TextColumn {
        let mut column = TextColumn::default();
        for (i, v) in values.iter().enumerate() {
            let i = u32::try_from(i).unwrap();
            assert!(column.set(i, i + 100, Some(v)));
        }
        column
    }

    fn users(column: &TextColumn, matcher: TextMatcher) -> Vec<u32> {
        column.users(&column.matching(&matcher)).iter().collect()
    }

    #[test]
    fn values_fold_for_comparison_and_keep_their_spelling() {
        let c = column(&["Sales", "SALES", "sales", "Ventes", "Émile"]);
        assert_eq!(c.value_at(0).map(|v| c.exact(v)), Some("Sales"));
        assert_eq!(c.value_at(4).map(|v| c.folded(v)), Some("émile"));
        assert_eq!(users(&c, TextMatcher::Equals(vec!["sales".into()])), vec![100, 101, 102]);
        assert_eq!(fold("ÉCOLE Straße"), "école straße");
    }

    #[test]
    fn arena_search_respects_value_boundaries_and_anchors() {
        let c = column(&["abc", "cab", "bcx", "xab", "ab", "aab"]);
        let m = |matcher| users(&c, matcher);
        assert_eq!(m(TextMatcher::Contains("ab".into())), vec![100, 101, 103, 104, 105]);
        assert_eq!(m(TextMatcher::Contains("cx".into())), vec![102]);
        assert_eq!(m(TextMatcher::Contains("bcc".into())), Vec::<u32>::new());
        assert_eq!(m(TextMatcher::StartsWith("ab".into())), vec![100, 104]);
        assert_eq!(m(TextMatcher::EndsWith("ab".into())), vec![101, 103, 104, 105]);
        assert_eq!(m(TextMatcher::EndsWith("b".into())), vec![101, 103, 104, 105]);
        assert_eq!(m(TextMatcher::Contains(String::new())).len(), 6);
    }

    #[test]
    fn watchers_follow_new_values_and_users_follow_changes() {
        let mut c = column(&["Driver", "Clerk"]);
        let w = c.watch(TextMatcher::Contains("driv".into()));
        assert!(c.set(2, 102, Some("Truck DRIVER")));
        assert!(c.set(0, 100, Some("Clerk")));
        let watched = c.watched(w).unwrap().clone();
        assert_eq!(c.users(&watched).iter().collect::<Vec<_>>(), vec![102]);
        assert!(c.set(1, 101, None));
        assert!(c.set(3, 103, Some("")));
        assert_eq!(c.present().iter().collect::<Vec<_>>(), vec![100, 102]);
        c.unwatch(w);
        assert!(c.watched(w).is_none());
    }
}
