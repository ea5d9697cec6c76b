//! Text columns: each distinct value once, in arenas, case-folded for comparison, with
//! the users who hold it; and the standing match sets of the text conditions that read
//! the column, kept current as new values arrive, so that neither a user's evaluation
//! nor the population's compares strings.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read, Write};
use std::sync::Arc;

use regex::Regex;
use roaring::RoaringBitmap;

use crate::codec::{invalid, Reader, Writer};
use crate::posting::{self, add, Posting, Union};
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
    /// What the matcher asks, as text: equal for matchers that match the same values,
    /// `None` for equality, which a hash lookup answers without searching.
    fn key(&self) -> Option<String> {
        Some(match self {
            Self::Equals(_) => return None,
            Self::Contains(n) => format!("contains\0{n}"),
            Self::StartsWith(n) => format!("starts\0{n}"),
            Self::EndsWith(n) => format!("ends\0{n}"),
            Self::Matches(regex) => format!("matches\0{}", regex.as_str()),
        })
    }

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

/// Up to this many distinct values, a column lists for each value the watchers that
/// keep users and match it (a department's two hundred rules); beyond (emails), it
/// asks every watcher.
const FEW_VALUES: usize = 4096;

/// Above this many matching values, a watcher also keeps its users, so that the
/// population's evaluation reads them instead of uniting postings (a watcher of one
/// value reads that value's posting).
const WIDE: u64 = 1;

/// A matcher, the values it matches and, once it matches many, their users.
#[derive(Debug, Clone)]
struct Watcher {
    matcher: TextMatcher,
    values: RoaringBitmap,
    users: Option<RoaringBitmap>,
}

/// The users holding one of `values`.
fn users_of<'a>(postings: &'a [Posting], values: &RoaringBitmap) -> Cow<'a, RoaringBitmap> {
    let mut union = Union::default();
    for value in values {
        if let Some(posting) = postings.get(value as usize) {
            union.add(posting);
        }
    }
    union.finish()
}

/// A text column's values and who holds each: the bulk of the column, shared between
/// the image readers hold and a writer's copy until the writer changes a value.
#[derive(Debug, Default, Clone)]
struct Values {
    /// Every value folded, one after the other.
    folded: String,
    /// Where each folded value ends in `folded`.
    folded_ends: Vec<u32>,
    /// The values as written that differ from their folded form.
    exact: String,
    exact_ends: Vec<u32>,
    /// For each value, its index in `exact_ends`, or `NONE` when it is its folded form.
    exact_of: Vec<u32>,
    /// The values by the hash of their folded form, open addressing with linear
    /// probing: `NONE` marks a free entry; never more than half full.
    table: Vec<u32>,
    hasher: RandomState,
    /// The users of each value.
    postings: Vec<Posting>,
    /// Each slot's value, or `NONE`.
    by_slot: Vec<u32>,
    present: RoaringBitmap,
}

/// One text column (a standard text subject or a text or dropdown field). Cloning one
/// is cheap: the values and each watcher are shared until written (see
/// [`crate::Engine`]'s `Clone`).
#[derive(Debug, Default, Clone)]
pub(crate) struct TextColumn {
    values: Arc<Values>,
    watchers: Vec<Option<Arc<Watcher>>>,
    /// While the column has few distinct values: for each value, the watchers keeping
    /// users whose matcher matches it, so that a user's change updates those alone.
    kept_by_value: Option<Arc<Vec<Vec<u32>>>>,
    /// The values each searching matcher matched when the column was written, by
    /// [`TextMatcher::key`]: read back with the column, they spare the rules compiled
    /// next a search through every value. Dropped when a value is added.
    found: Arc<HashMap<String, RoaringBitmap>>,
}

/// Whether `ends` are the ends of consecutive pieces of `arena`, each cut at a
/// character boundary.
fn arena_fits(arena: &str, ends: &[u32]) -> bool {
    let sorted = ends.windows(2).all(|w| w[0] <= w[1]);
    let bounded = ends.last().map_or(arena.is_empty(), |&end| end as usize == arena.len());
    sorted && bounded && ends.iter().all(|&end| arena.is_char_boundary(end as usize))
}

impl Values {
    /// How many distinct values the column has seen.
    fn value_count(&self) -> u32 {
        u32::try_from(self.postings.len()).unwrap_or(NONE)
    }

    fn folded_span(&self, value: u32) -> (usize, usize) {
        let i = value as usize;
        let start = if i == 0 { 0 } else { self.folded_ends[i - 1] as usize };
        (start, self.folded_ends[i] as usize)
    }

    /// A value, folded.
    fn folded(&self, value: u32) -> &str {
        let (start, end) = self.folded_span(value);
        &self.folded[start..end]
    }

    /// A value as written.
    fn exact(&self, value: u32) -> &str {
        match self.exact_of[value as usize] {
            NONE => self.folded(value),
            k => {
                let k = k as usize;
                let start = if k == 0 { 0 } else { self.exact_ends[k - 1] as usize };
                &self.exact[start..self.exact_ends[k] as usize]
            }
        }
    }

    /// Where the probe for `folded` starts in a table of `len` entries (a power of two).
    fn home(&self, folded: &str, len: usize) -> usize {
        (self.hasher.hash_one(folded) as usize) & (len - 1)
    }

    /// The values whose folded form is `folded`.
    fn equal_to<'a>(&'a self, folded: &'a str) -> impl Iterator<Item = u32> + 'a {
        let len = self.table.len();
        let mut at = if len == 0 { None } else { Some(self.home(folded, len)) };
        std::iter::from_fn(move || {
            while let Some(i) = at {
                let value = self.table[i];
                if value == NONE {
                    at = None;
                    return None;
                }
                at = Some((i + 1) & (len - 1));
                if self.folded(value) == folded {
                    return Some(value);
                }
            }
            None
        })
    }

    /// Puts a value in the table, doubling it first when half full.
    fn index(&mut self, value: u32) {
        if (self.postings.len() + 1) * 2 > self.table.len() {
            let len = (self.table.len() * 2).max(16);
            let mut table = vec![NONE; len];
            for v in self.table.iter().copied().filter(|&v| v != NONE).chain([value]) {
                let mut i = self.home(self.folded(v), len);
                while table[i] != NONE {
                    i = (i + 1) & (len - 1);
                }
                table[i] = v;
            }
            self.table = table;
            return;
        }
        let len = self.table.len();
        let mut i = self.home(self.folded(value), len);
        while self.table[i] != NONE {
            i = (i + 1) & (len - 1);
        }
        self.table[i] = value;
    }

    /// Adds a value known to be new; `None` when the column is full.
    fn push(&mut self, folded: &str, exact: &str) -> Option<u32> {
        let value = self.value_count();
        if value == NONE {
            return None;
        }
        let folded_end = u32::try_from(self.folded.len() + folded.len()).ok()?;
        let exact_end = u32::try_from(self.exact.len() + exact.len()).ok()?;
        let exact_index = if folded == exact { NONE } else { u32::try_from(self.exact_ends.len()).ok()? };
        self.folded.push_str(folded);
        self.folded_ends.push(folded_end);
        self.exact_of.push(exact_index);
        if exact_index != NONE {
            self.exact.push_str(exact);
            self.exact_ends.push(exact_end);
        }
        self.index(value);
        self.postings.push(Posting::Empty);
        Some(value)
    }

    /// The values a matcher matches, found without testing each value where it can:
    /// equality by hash, substrings by one search through the folded arena.
    fn matching(&self, matcher: &TextMatcher) -> RoaringBitmap {
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
            let index = self.folded_ends.partition_point(|&end| end as usize <= m.start());
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
}

impl TextColumn {
    /// Writes the values and who holds each; the watchers are the rules', which compile
    /// them again.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        let v = &*self.values;
        w.str(&v.folded)?;
        w.u32s(&v.folded_ends)?;
        w.str(&v.exact)?;
        w.u32s(&v.exact_ends)?;
        w.u32s(&v.exact_of)?;
        posting::write_all(w, v.postings.iter())?;
        w.u32s(&v.by_slot)?;
        w.bitmap(&v.present)?;
        let found: Vec<(String, &RoaringBitmap)> =
            self.watchers.iter().flatten().filter_map(|w| Some((w.matcher.key()?, &w.values))).collect();
        w.count(found.len())?;
        for (key, values) in found {
            w.str(&key)?;
            w.bitmap(values)?;
        }
        Ok(())
    }

    /// Reads back what [`TextColumn::write`] wrote, with no watchers, checking that
    /// every index points inside what was read.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        let mut v = Values {
            folded: r.str()?,
            folded_ends: r.u32s()?,
            exact: r.str()?,
            exact_ends: r.u32s()?,
            exact_of: r.u32s()?,
            postings: posting::read_all(r)?,
            by_slot: r.u32s()?,
            present: r.bitmap()?,
            ..Values::default()
        };
        let mut found = HashMap::new();
        for _ in 0..r.count()? {
            found.insert(r.str()?, r.bitmap()?);
        }
        let count = v.postings.len();
        let fits = arena_fits(&v.folded, &v.folded_ends)
            && arena_fits(&v.exact, &v.exact_ends)
            && v.folded_ends.len() == count
            && v.exact_of.len() == count
            && v.exact_of.iter().all(|&k| k == NONE || (k as usize) < v.exact_ends.len())
            && v.by_slot.iter().all(|&value| value == NONE || (value as usize) < count)
            && found.values().all(|values: &RoaringBitmap| values.max().is_none_or(|value| (value as usize) < count))
            && u32::try_from(count).is_ok_and(|c| c < NONE);
        if !fits {
            return Err(invalid("a text column whose values do not fit together"));
        }
        let len = ((count + 1) * 2).next_power_of_two().max(16);
        v.table = vec![NONE; len];
        for value in 0..v.value_count() {
            let mut i = v.home(v.folded(value), len);
            while v.table[i] != NONE {
                i = (i + 1) & (len - 1);
            }
            v.table[i] = value;
        }
        Ok(Self { values: Arc::new(v), found: Arc::new(found), ..Self::default() })
    }

    /// A value, folded.
    #[cfg(test)]
    fn folded(&self, value: u32) -> &str {
        self.values.folded(value)
    }

    /// A value as written.
    pub(crate) fn exact(&self, value: u32) -> &str {
        self.values.exact(value)
    }

    /// The values whose folded form is `folded`.
    #[cfg(test)]
    fn equal_to<'a>(&'a self, folded: &'a str) -> impl Iterator<Item = u32> + 'a {
        self.values.equal_to(folded)
    }

    /// The id of a value, added if new; `None` when the column is full.
    fn intern(&mut self, exact: &str) -> Option<u32> {
        let folded = fold(exact);
        if let Some(found) = self.values.equal_to(&folded).find(|&v| self.values.exact(v) == exact) {
            return Some(found);
        }
        let values = Arc::make_mut(&mut self.values);
        let value = values.push(&folded, exact)?;
        self.found = Arc::default();
        let mut kept = Vec::new();
        let mut widened = false;
        for (w, watcher) in self.watchers.iter_mut().enumerate() {
            let Some(watcher) = watcher else {
                continue;
            };
            if watcher.matcher.test(&folded, exact) {
                let watcher = Arc::make_mut(watcher);
                watcher.values.insert(value);
                if watcher.users.is_none() && watcher.values.len() > WIDE {
                    watcher.users = Some(users_of(&values.postings, &watcher.values).into_owned());
                    widened = true;
                }
                if watcher.users.is_some() {
                    kept.extend(u32::try_from(w));
                }
            }
        }
        match &mut self.kept_by_value {
            _ if widened => self.relist(),
            Some(by_value) => Arc::make_mut(by_value).push(kept),
            None => {}
        }
        if self.values.postings.len() > FEW_VALUES {
            self.kept_by_value = None;
        }
        Some(value)
    }

    /// Sets the value of a user (`None` or `""`: missing): whether it changed; `None`
    /// when the column is full (four billion distinct values).
    pub(crate) fn set(&mut self, slot: u32, user: u32, value: Option<&str>) -> Option<bool> {
        let new = match value.filter(|v| !v.is_empty()) {
            Some(v) => self.intern(v)?,
            None => NONE,
        };
        let old = slots::get(&self.values.by_slot, slot, NONE);
        if old == new {
            return Some(false);
        }
        let values = Arc::make_mut(&mut self.values);
        if old != NONE {
            values.postings[old as usize].remove(user);
            values.present.remove(user);
        }
        if new != NONE {
            values.postings[new as usize].insert(user);
            add(&mut values.present, user);
        }
        slots::put(&mut values.by_slot, slot, new, NONE);
        let keeping = |watcher: &Option<Arc<Watcher>>| watcher.as_ref().is_some_and(|w| w.users.is_some());
        match &self.kept_by_value {
            Some(by_value) => {
                let listed = |v: u32| by_value.get(v as usize).map_or(&[][..], Vec::as_slice);
                for &w in listed(old) {
                    if let Some(watcher) =
                        self.watchers.get_mut(w as usize).filter(|w| keeping(w)).and_then(Option::as_mut)
                    {
                        if let Some(users) = &mut Arc::make_mut(watcher).users {
                            users.remove(user);
                        }
                    }
                }
                for &w in listed(new) {
                    if let Some(watcher) =
                        self.watchers.get_mut(w as usize).filter(|w| keeping(w)).and_then(Option::as_mut)
                    {
                        if let Some(users) = &mut Arc::make_mut(watcher).users {
                            add(users, user);
                        }
                    }
                }
            }
            None => {
                for watcher in self.watchers.iter_mut().flatten() {
                    let leaves = watcher.users.is_some() && old != NONE && watcher.values.contains(old);
                    let joins = watcher.users.is_some() && new != NONE && watcher.values.contains(new);
                    if !leaves && !joins {
                        continue;
                    }
                    if let Some(users) = &mut Arc::make_mut(watcher).users {
                        if leaves {
                            users.remove(user);
                        }
                        if joins {
                            add(users, user);
                        }
                    }
                }
            }
        }
        Some(true)
    }

    /// The value of a slot.
    pub(crate) fn value_at(&self, slot: u32) -> Option<u32> {
        Some(slots::get(&self.values.by_slot, slot, NONE)).filter(|&v| v != NONE)
    }

    /// The users holding a value.
    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.values.present
    }

    /// The values a matcher matches, found without testing each value where it can:
    /// equality by hash, substrings by one search through the folded arena.
    pub(crate) fn matching(&self, matcher: &TextMatcher) -> RoaringBitmap {
        self.values.matching(matcher)
    }

    /// Starts keeping the values `matcher` matches; returns the watcher's id.
    pub(crate) fn watch(&mut self, matcher: TextMatcher) -> u32 {
        let found = matcher.key().and_then(|key| self.found.get(&key));
        let values = found.cloned().unwrap_or_else(|| self.values.matching(&matcher));
        let users = (values.len() > WIDE).then(|| users_of(&self.values.postings, &values).into_owned());
        let kept = users.is_some();
        let watcher = Some(Arc::new(Watcher { matcher, values, users }));
        let w = match self.watchers.iter().position(Option::is_none) {
            Some(free) => {
                self.watchers[free] = watcher;
                free
            }
            None => {
                self.watchers.push(watcher);
                self.watchers.len() - 1
            }
        };
        if kept {
            self.relist();
        }
        u32::try_from(w).unwrap_or(NONE)
    }

    /// Lists, under each value, the watchers keeping users that match it, while the
    /// column has few values.
    fn relist(&mut self) {
        if self.values.postings.len() > FEW_VALUES {
            self.kept_by_value = None;
            return;
        }
        let mut by_value = vec![Vec::new(); self.values.postings.len()];
        for (w, watcher) in self.watchers.iter().enumerate() {
            let (Some(watcher), Ok(id)) = (watcher, u32::try_from(w)) else {
                continue;
            };
            if watcher.users.is_none() {
                continue;
            }
            for v in &watcher.values {
                if let Some(list) = by_value.get_mut(v as usize) {
                    list.push(id);
                }
            }
        }
        self.kept_by_value = Some(Arc::new(by_value));
    }

    /// Forgets the matches read back with the column (see [`TextColumn::read`]).
    pub(crate) fn forget_found(&mut self) {
        self.found = Arc::default();
    }

    /// Stops a watcher.
    pub(crate) fn unwatch(&mut self, watcher: u32) {
        let Some(slot) = self.watchers.get_mut(watcher as usize) else {
            return;
        };
        if let (Some(w), Some(by_value)) = (slot.take(), &mut self.kept_by_value) {
            let by_value = Arc::make_mut(by_value);
            for v in &w.values {
                if let Some(list) = by_value.get_mut(v as usize) {
                    list.retain(|&x| x != watcher);
                }
            }
        }
    }

    /// The values a watcher matches.
    pub(crate) fn watched(&self, watcher: u32) -> Option<&RoaringBitmap> {
        self.watchers.get(watcher as usize)?.as_ref().map(|w| &w.values)
    }

    /// The users a watcher's matcher matches.
    pub(crate) fn watched_users(&self, watcher: u32) -> Cow<'_, RoaringBitmap> {
        match self.watchers.get(watcher as usize).and_then(Option::as_ref) {
            Some(w) => match &w.users {
                Some(users) => Cow::Borrowed(users),
                None => users_of(&self.values.postings, &w.values),
            },
            None => Cow::Owned(RoaringBitmap::new()),
        }
    }

    /// The users holding one of `values`.
    pub(crate) fn users(&self, values: &RoaringBitmap) -> Cow<'_, RoaringBitmap> {
        users_of(&self.values.postings, values)
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
            assert!(column.set(i, i + 100, Some(v)).is_some());
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
    fn thousands_of_values_are_found_again_in_any_case() {
        let mut c = TextColumn::default();
        let ones = c.watch(TextMatcher::EndsWith("1".into()));
        for i in 0..5000u32 {
            assert_eq!(c.set(i, i, Some(&format!("Value-{i}"))), Some(true));
        }
        let twos = c.watch(TextMatcher::Contains("2".into()));
        for i in (0..5000u32).step_by(3) {
            assert!(c.set(i, i, Some(&format!("Value-{}", i / 2))).is_some());
        }
        let expect = |needle: &str, at_end: bool| -> Vec<u32> {
            (0..5000u32)
                .filter(|&i| {
                    let value = c.value_at(i).map(|v| c.folded(v)).unwrap_or_default();
                    if at_end {
                        value.ends_with(needle)
                    } else {
                        value.contains(needle)
                    }
                })
                .collect()
        };
        assert_eq!(c.watched_users(ones).iter().collect::<Vec<_>>(), expect("1", true));
        assert_eq!(c.watched_users(twos).iter().collect::<Vec<_>>(), expect("2", false));
        for i in (0..5000u32).step_by(7) {
            let found: Vec<u32> = c.equal_to(&format!("value-{i}")).collect();
            assert_eq!(found.len(), 1);
            assert_eq!(c.exact(found[0]), format!("Value-{i}"));
            assert_eq!(c.set(i, i, Some(&format!("VALUE-{i}"))), Some(true));
            assert_eq!(c.equal_to(&format!("value-{i}")).count(), 2);
        }
        assert_eq!(c.equal_to("value-5000").count(), 0);
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
        assert!(c.set(2, 102, Some("Truck DRIVER")).is_some());
        assert!(c.set(0, 100, Some("Clerk")).is_some());
        let watched = c.watched(w).unwrap().clone();
        assert_eq!(c.users(&watched).iter().collect::<Vec<_>>(), vec![102]);
        assert!(c.set(1, 101, None).is_some());
        assert!(c.set(3, 103, Some("")).is_some());
        assert_eq!(c.present().iter().collect::<Vec<_>>(), vec![100, 102]);
        let wide = c.watch(TextMatcher::Contains(String::new()));
        for i in 10..40 {
            assert!(c.set(i, 100 + i, Some(&format!("value {i}"))).is_some());
        }
        assert!(c.set(12, 112, Some("Clerk")).is_some());
        let all: Vec<u32> = c.present().iter().collect();
        assert_eq!(c.watched_users(wide).iter().collect::<Vec<_>>(), all);
        assert!(matches!(c.watched_users(wide), Cow::Borrowed(_)));
        assert!(c.set(12, 112, None).is_some());
        assert_eq!(c.watched_users(wide).len(), all.len() as u64 - 1);
        c.unwatch(w);
        assert!(c.watched(w).is_none());
    }
}
