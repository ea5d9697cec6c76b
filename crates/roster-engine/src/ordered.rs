//! Ordered indexes for dates and numbers: the users holding each value, and prefixes
//! (every user below a cut) placed so that a few thousand users lie between two cuts.
//! Any range is then one subtraction of two prefixes, corrected by the few values
//! between each end and its nearest cut: a constant number of bitmap operations,
//! however long the range, with memory bounded by the population rather than by the
//! calendar.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::ops::Bound;

use roaring::RoaringBitmap;

use crate::codec::{invalid, Reader, Writer};
use crate::posting::{self, add, empty, Posting, Union};

/// Users between two cuts: a segment is split above twice this, and merged with a
/// neighbour below half of it. A range's correction pieces hold at most about this
/// many users at each end.
const SEGMENT: u64 = 4096;

/// A cut: every user whose key is below `key`.
#[derive(Debug, Clone)]
struct Cut {
    key: u64,
    before: RoaringBitmap,
}

/// A place in the order of keys, and the users below it.
#[derive(Debug, Clone, Copy)]
struct Edge<'a> {
    at: u128,
    below: &'a RoaringBitmap,
}

/// Users by key, with cuts. Keys are `u64`; places between keys are `u128`, place `k`
/// being just before key `k`, so that `u64::MAX + 1` is past every key.
#[derive(Debug, Clone)]
struct Ordered {
    /// [`SEGMENT`], but in tests.
    segment: u64,
    values: BTreeMap<u64, Posting>,
    cuts: Vec<Cut>,
    /// Users per segment: segment `i` holds the keys from cut `i - 1` to cut `i`.
    segments: Vec<u64>,
    present: RoaringBitmap,
    /// The cuts are not kept (a bulk load): [`Ordered::set_bulk`] places them afresh.
    bulk: bool,
    /// While a batch is applied ([`Ordered::hold`]), the moves the cuts have not taken
    /// yet, in order: (user, key, whether the user took the key or left it).
    held: Option<Vec<(u32, u64, bool)>>,
}

impl Default for Ordered {
    fn default() -> Self {
        Self::with_segment(SEGMENT)
    }
}

impl Ordered {
    fn with_segment(segment: u64) -> Self {
        Self {
            segment,
            values: BTreeMap::new(),
            cuts: Vec::new(),
            segments: vec![0],
            present: RoaringBitmap::new(),
            bulk: false,
            held: None,
        }
    }

    /// Starts a bulk load (`true`): the cuts are no longer kept. Kept, every insert adds
    /// its user to each prefix above its key: at a million users, a hundred bitmap
    /// inserts per value, the most of a start-up's time. Ends it (`false`): the cuts are
    /// placed afresh, a segment of users apart.
    fn set_bulk(&mut self, bulk: bool) {
        if bulk || !self.bulk {
            self.bulk = bulk;
            return;
        }
        self.bulk = false;
        self.cuts.clear();
        self.segments.clear();
        // Each segment's postings are united once and added to the users below: adding
        // them one by one merges a growing bitmap with each small posting.
        let mut below = RoaringBitmap::new();
        let mut segment = Union::default();
        let mut count = 0;
        for (&key, posting) in &self.values {
            if count >= self.segment {
                below |= &*std::mem::take(&mut segment).finish();
                self.cuts.push(Cut { key, before: below.clone() });
                self.segments.push(count);
                count = 0;
            }
            segment.add(posting);
            count += posting.len();
        }
        self.segments.push(count);
    }

    /// Holds the cuts back while a batch is applied (`true`): each insert or removal
    /// is noted instead of reaching every cut above its key, a hundred bitmap changes
    /// per value at a million users (the most of an import's engine time). Releases
    /// them (`false`): each cut takes the batch's moves below it in two bitmap
    /// operations, then oversized segments split and small ones merge. A bulk load
    /// holds nothing: it places every cut afresh at its end.
    fn hold(&mut self, hold: bool) {
        if hold {
            if !self.bulk && self.held.is_none() {
                self.held = Some(Vec::new());
            }
            return;
        }
        let Some(mut held) = self.held.take() else {
            return;
        };
        if held.is_empty() {
            return;
        }
        // Each user's key before the batch (their first move, if a removal) and after
        // it (their last, if an insert): a user holds one key at most.
        held.sort_by_key(|&(user, _, _)| user);
        let (mut gone, mut came) = (Vec::new(), Vec::new());
        for moves in held.chunk_by(|a, b| a.0 == b.0) {
            let (first, last) = (moves[0], moves[moves.len() - 1]);
            let before = (!first.2).then_some(first.1);
            let after = last.2.then_some(last.1);
            if before != after {
                gone.extend(before.map(|key| (key, first.0)));
                came.extend(after.map(|key| (key, last.0)));
            }
        }
        gone.sort_unstable();
        came.sort_unstable();
        let (mut gone, mut came) = (gone.into_iter().peekable(), came.into_iter().peekable());
        let (mut gone_below, mut came_below) = (RoaringBitmap::new(), RoaringBitmap::new());
        for cut in &mut self.cuts {
            while let Some((_, user)) = gone.next_if(|&(key, _)| key < cut.key) {
                gone_below.insert(user);
            }
            while let Some((_, user)) = came.next_if(|&(key, _)| key < cut.key) {
                came_below.insert(user);
            }
            if !gone_below.is_empty() {
                cut.before -= &gone_below;
            }
            if !came_below.is_empty() {
                cut.before |= &came_below;
            }
        }
        let mut i = 0;
        while i < self.segments.len() {
            let count = self.segments.len();
            if self.segments[i] > 2 * self.segment {
                self.split(i);
            }
            if self.segments.len() == count {
                i += 1;
            }
        }
        let mut i = 0;
        while i < self.segments.len() {
            let count = self.segments.len();
            self.merge(i);
            if self.segments.len() == count {
                i += 1;
            }
        }
    }

    /// Writes the keys and their users; the cuts are placed afresh when read.
    fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        debug_assert!(!self.bulk, "an index saved in the middle of a bulk load");
        debug_assert!(self.held.is_none(), "an index saved in the middle of a batch");
        w.u64(self.segment)?;
        w.u64(self.values.len() as u64)?;
        self.values.keys().try_for_each(|&k| w.u64(k))?;
        posting::write_all(w, self.values.values())?;
        w.bitmap(&self.present)
    }

    /// Reads back what [`Ordered::write`] wrote.
    fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        let segment = r.u64()?.max(1);
        let len = r.u64()?;
        let mut keys = Vec::with_capacity(usize::try_from(len.min(1 << 24)).unwrap_or(0));
        for _ in 0..len {
            keys.push(r.u64()?);
        }
        if keys.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid("index keys out of order"));
        }
        let postings = posting::read_all(r)?;
        if postings.len() != keys.len() {
            return Err(invalid("an index with more keys than postings"));
        }
        let mut index = Self::with_segment(segment);
        index.values = keys.into_iter().zip(postings).collect();
        index.present = r.bitmap()?;
        index.bulk = true;
        index.set_bulk(false);
        Ok(index)
    }

    /// Records that `user` (who holds no other key) holds `key`.
    fn insert(&mut self, key: u64, user: u32) {
        let posting = self.values.entry(key).or_default();
        if posting.contains(user) {
            return;
        }
        posting.insert(user);
        add(&mut self.present, user);
        if self.bulk {
            return;
        }
        let i = self.cuts.partition_point(|c| c.key <= key);
        if let Some(held) = &mut self.held {
            held.push((user, key, true));
            self.segments[i] += 1;
            return;
        }
        for cut in &mut self.cuts[i..] {
            add(&mut cut.before, user);
        }
        self.segments[i] += 1;
        if self.segments[i] > 2 * self.segment {
            self.split(i);
        }
    }

    /// Forgets that `user` holds `key`.
    fn remove(&mut self, key: u64, user: u32) {
        let Some(posting) = self.values.get_mut(&key) else {
            return;
        };
        if !posting.remove(user) {
            return;
        }
        if posting.len() == 0 {
            self.values.remove(&key);
        }
        self.present.remove(user);
        if self.bulk {
            return;
        }
        let i = self.cuts.partition_point(|c| c.key <= key);
        if let Some(held) = &mut self.held {
            held.push((user, key, false));
            self.segments[i] -= 1;
            return;
        }
        for cut in &mut self.cuts[i..] {
            cut.before.remove(user);
        }
        self.segments[i] -= 1;
        self.merge(i);
    }

    /// Splits segment `i` at the first key past half of its users (before its last key
    /// when that one holds more than half), unless it holds a single key.
    fn split(&mut self, i: usize) {
        let from = if i == 0 { Bound::Unbounded } else { Bound::Included(self.cuts[i - 1].key) };
        let to = self.cuts.get(i).map_or(Bound::Unbounded, |c| Bound::Excluded(c.key));
        let half = self.segments[i] / 2;
        let keys: Vec<(u64, &Posting)> = self.values.range((from, to)).map(|(&k, p)| (k, p)).collect();
        if keys.len() < 2 {
            return;
        }
        let mut seen = 0;
        let mut at = keys.len() - 1;
        for (n, (_, posting)) in keys.iter().enumerate() {
            if n > 0 && seen >= half {
                at = n;
                break;
            }
            seen += posting.len();
        }
        let mut pieces = Union::default();
        keys[..at].iter().for_each(|(_, posting)| pieces.add(posting));
        let seen: u64 = keys[..at].iter().map(|(_, posting)| posting.len()).sum();
        let key = keys[at].0;
        let mut before = pieces.finish().into_owned();
        if let Some(previous) = i.checked_sub(1).and_then(|p| self.cuts.get(p)) {
            before |= &previous.before;
        }
        self.cuts.insert(i, Cut { key, before });
        let rest = self.segments[i] - seen;
        self.segments[i] = seen;
        self.segments.insert(i + 1, rest);
    }

    /// Merges segment `i` with a neighbour when both together hold few users.
    fn merge(&mut self, i: usize) {
        let small = |a: u64, b: u64| a + b < self.segment / 2;
        if i + 1 < self.segments.len() && small(self.segments[i], self.segments[i + 1]) {
            self.cuts.remove(i);
            self.segments[i] += self.segments.remove(i + 1);
        } else if i > 0 && small(self.segments[i - 1], self.segments[i]) {
            self.cuts.remove(i - 1);
            self.segments[i - 1] += self.segments.remove(i);
        }
    }

    /// The users whose key lies in `from..to` (places).
    fn range(&self, from: u128, to: u128) -> Cow<'_, RoaringBitmap> {
        debug_assert!(!self.bulk, "a range asked of an index in the middle of a bulk load");
        debug_assert!(self.held.is_none(), "a range asked of an index in the middle of a batch");
        let (Some((&min, _)), Some((&max, _))) = (self.values.first_key_value(), self.values.last_key_value()) else {
            return Cow::Owned(RoaringBitmap::new());
        };
        let (min, end) = (u128::from(min), u128::from(max) + 1);
        let (from, to) = (from.max(min), to.min(end));
        if from >= to {
            return Cow::Owned(RoaringBitmap::new());
        }
        if from == min && to == end {
            return Cow::Borrowed(&self.present);
        }
        let (lower, upper) = (self.nearest(from, min, end), self.nearest(to, min, end));
        if lower.at >= upper.at {
            let mut union = Union::default();
            self.between(from, to).for_each(|p| union.add(p));
            return union.finish();
        }
        // upper − lower covers lower.at..upper.at; each end is then moved to its place.
        let mut users =
            if lower.below.is_empty() { Cow::Borrowed(upper.below) } else { Cow::Owned(upper.below - lower.below) };
        let lower_end = if from < lower.at { (from, lower.at, true) } else { (lower.at, from, false) };
        let upper_end = if to > upper.at { (upper.at, to, true) } else { (to, upper.at, false) };
        // Where every container of the result is a bitmap, each posting is added or
        // removed in place, a few thousand bits in all; elsewhere in-place changes would
        // merge sorted arrays once per posting, so the postings are united first.
        let dense = users.statistics().n_array_containers == 0;
        for (a, b, added) in [lower_end, upper_end] {
            if dense {
                for posting in self.between(a, b) {
                    if added {
                        posting.add_to(users.to_mut());
                    } else {
                        posting.remove_from(users.to_mut());
                    }
                }
                continue;
            }
            let mut union = Union::default();
            self.between(a, b).for_each(|p| union.add(p));
            let union = union.finish();
            if union.is_empty() {
                continue;
            }
            if added {
                *users.to_mut() |= &*union;
            } else if !users.is_empty() {
                *users.to_mut() -= &*union;
            }
        }
        users
    }

    /// The cut nearest `place`, `min` (nobody below) and `end` (everyone below) being
    /// cuts too.
    fn nearest(&self, place: u128, min: u128, end: u128) -> Edge<'_> {
        let i = self.cuts.partition_point(|c| u128::from(c.key) <= place);
        fn cut(c: &Cut) -> Edge<'_> {
            Edge { at: u128::from(c.key), below: &c.before }
        }
        let floor = i
            .checked_sub(1)
            .and_then(|p| self.cuts.get(p))
            .map(cut)
            .filter(|e| e.at >= min)
            .unwrap_or(Edge { at: min, below: empty() });
        let ceil = self.cuts.get(i).map(cut).filter(|e| e.at <= end).unwrap_or(Edge { at: end, below: &self.present });
        if place - floor.at <= ceil.at - place {
            floor
        } else {
            ceil
        }
    }

    /// The postings of the keys in `from..to` (places).
    fn between(&self, from: u128, to: u128) -> impl Iterator<Item = &Posting> {
        let start = u64::try_from(from).ok().filter(|_| from < to);
        let end = u64::try_from(to).map_or(Bound::Unbounded, Bound::Excluded);
        start.into_iter().flat_map(move |s| self.values.range((Bound::Included(s), end))).map(|(_, p)| p)
    }
}

/// A day's place in the order of `u64` keys.
fn day_key(day: i64) -> u64 {
    (day as u64) ^ (1 << 63)
}

/// Users by day (days counted from the common era).
#[derive(Debug, Default, Clone)]
pub(crate) struct DateIndex(Ordered);

impl DateIndex {
    /// Writes the index.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        self.0.write(w)
    }

    /// Reads back what [`DateIndex::write`] wrote.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        Ordered::read(r).map(Self)
    }

    /// Starts or ends a bulk load: prefixes placed once, at its end.
    pub(crate) fn set_bulk(&mut self, bulk: bool) {
        self.0.set_bulk(bulk);
    }

    /// Holds the prefixes back while a batch is applied, or releases them.
    pub(crate) fn hold(&mut self, hold: bool) {
        self.0.hold(hold);
    }

    /// Records that `user` holds `day`.
    pub(crate) fn insert(&mut self, day: i64, user: u32) {
        self.0.insert(day_key(day), user);
    }

    /// Forgets that `user` holds `day`.
    pub(crate) fn remove(&mut self, day: i64, user: u32) {
        self.0.remove(day_key(day), user);
    }

    /// The users holding a date.
    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.0.present
    }

    /// The users whose day lies in `lo..=hi`.
    pub(crate) fn range(&self, lo: i64, hi: i64) -> Cow<'_, RoaringBitmap> {
        self.0.range(u128::from(day_key(lo)), u128::from(day_key(hi)) + 1)
    }
}

/// A number's place in the total order of finite numbers, `-0` and `0` being one.
pub(crate) fn number_key(n: f64) -> u64 {
    let n = if n == 0.0 { 0.0 } else { n };
    let bits = n.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Users by number (as [`number_key`]).
#[derive(Debug, Default, Clone)]
pub(crate) struct NumberIndex(Ordered);

impl NumberIndex {
    /// Writes the index.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        self.0.write(w)
    }

    /// Reads back what [`NumberIndex::write`] wrote.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        Ordered::read(r).map(Self)
    }

    /// Starts or ends a bulk load: prefixes placed once, at its end.
    pub(crate) fn set_bulk(&mut self, bulk: bool) {
        self.0.set_bulk(bulk);
    }

    /// Holds the prefixes back while a batch is applied, or releases them.
    pub(crate) fn hold(&mut self, hold: bool) {
        self.0.hold(hold);
    }

    /// Records that `user` holds the number whose key is `key`.
    pub(crate) fn insert(&mut self, key: u64, user: u32) {
        self.0.insert(key, user);
    }

    /// Forgets that `user` holds the number whose key is `key`.
    pub(crate) fn remove(&mut self, key: u64, user: u32) {
        self.0.remove(key, user);
    }

    /// The users holding a number.
    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.0.present
    }

    /// The users holding one of these numbers (keys).
    pub(crate) fn equal(&self, keys: &[u64]) -> Cow<'_, RoaringBitmap> {
        let mut union = Union::default();
        keys.iter().filter_map(|key| self.0.values.get(key)).for_each(|p| union.add(p));
        union.finish()
    }

    /// The users whose number lies between the bounds (keys).
    pub(crate) fn range(&self, lo: Bound<u64>, hi: Bound<u64>) -> Cow<'_, RoaringBitmap> {
        let from = match lo {
            Bound::Included(key) => u128::from(key),
            Bound::Excluded(key) => u128::from(key) + 1,
            Bound::Unbounded => 0,
        };
        let to = match hi {
            Bound::Included(key) => u128::from(key) + 1,
            Bound::Excluded(key) => u128::from(key),
            Bound::Unbounded => u128::from(u64::MAX) + 1,
        };
        self.0.range(from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(days: &[(i64, u32)], lo: i64, hi: i64) -> RoaringBitmap {
        days.iter().filter(|(d, _)| (lo..=hi).contains(d)).map(|&(_, u)| u).collect()
    }

    #[test]
    fn day_ranges_match_a_scan_through_inserts_and_removals() {
        let mut index = DateIndex::default();
        let mut days: Vec<(i64, u32)> = (0u32..3000).map(|u| (i64::from(u * 7919 % 5000) - 1000, u)).collect();
        for &(d, u) in &days {
            index.insert(d, u);
        }
        let check = |index: &DateIndex, days: &[(i64, u32)]| {
            for lo in (-1300..4300).step_by(97) {
                for hi in (lo - 50..4300).step_by(211) {
                    let expected = naive(days, lo, hi);
                    assert_eq!(*index.range(lo, hi), expected, "{lo}..={hi}");
                }
            }
            for (lo, hi) in [(-1000, -1000), (0, 511), (256, 767), (-7, 4090), (3000, 2000)] {
                assert_eq!(*index.range(lo, hi), naive(days, lo, hi), "{lo}..={hi}");
            }
        };
        check(&index, &days);
        for &(d, u) in days.iter().filter(|(d, u)| u % 2 == 0 || (0..600).contains(d)) {
            index.remove(d, u);
        }
        days.retain(|(d, u)| u % 2 == 1 && !(0..600).contains(d));
        check(&index, &days);
        for u in 5000..5100 {
            let d = i64::from(u % 7) * 100;
            index.insert(d, u);
            days.push((d, u));
        }
        check(&index, &days);
        assert_eq!(index.present().len(), days.len() as u64);
    }

    /// Every range of the many-cuts tests against a scan; the segments add up.
    fn check_many(index: &DateIndex, days: &[(i64, u32)]) {
        for lo in (-320..720).step_by(13) {
            for hi in (lo - 3..720).step_by(29) {
                assert_eq!(*index.range(lo, hi), naive(days, lo, hi), "{lo}..={hi}");
            }
        }
        assert_eq!(index.0.segments.len(), index.0.cuts.len() + 1);
        assert_eq!(index.0.segments.iter().sum::<u64>(), days.len() as u64);
    }

    /// Removes most users (merging segments), then adds many on few days (splitting
    /// them), checking after each.
    fn merge_then_split(index: &mut DateIndex, days: &mut Vec<(i64, u32)>) {
        for &(d, u) in days.iter().filter(|(d, u)| u % 5 != 0 || (100..400).contains(d)) {
            index.remove(d, u);
        }
        days.retain(|(d, u)| u % 5 == 0 && !(100..400).contains(d));
        check_many(index, days);
        for u in 5000..6000 {
            let d = i64::from(u % 11) * 50;
            index.insert(d, u);
            days.push((d, u));
        }
        check_many(index, days);
    }

    fn many_days() -> Vec<(i64, u32)> {
        let mut days: Vec<(i64, u32)> = (0u32..4000).map(|u| (i64::from(u * u % 997) - 300, u)).collect();
        days.extend((4000..4100).map(|u| (42, u)));
        days
    }

    #[test]
    fn day_ranges_match_a_scan_with_many_cuts_split_and_merged() {
        let mut index = DateIndex(Ordered::with_segment(8));
        let mut days = many_days();
        for &(d, u) in &days {
            index.insert(d, u);
        }
        assert!(index.0.cuts.len() > 100);
        check_many(&index, &days);
        merge_then_split(&mut index, &mut days);
    }

    #[test]
    fn a_bulk_load_settles_into_cuts_that_answer_like_kept_ones() {
        let mut index = DateIndex(Ordered::with_segment(8));
        index.set_bulk(true);
        let mut days = many_days();
        for &(d, u) in &days {
            index.insert(d, u);
        }
        // Removals during the load too.
        for &(d, u) in days.iter().filter(|(_, u)| u % 7 == 3) {
            index.remove(d, u);
        }
        days.retain(|(_, u)| u % 7 != 3);
        assert!(index.0.cuts.is_empty(), "no cuts kept during the load");
        index.set_bulk(false);
        assert!(index.0.cuts.len() > 100);
        assert!(index.0.cuts.windows(2).all(|w| w[0].key < w[1].key));
        check_many(&index, &days);
        // Kept as usual afterwards: splits and merges still work from settled cuts.
        merge_then_split(&mut index, &mut days);
    }

    #[test]
    fn a_held_batch_reaches_the_cuts_as_moves_one_by_one_would() {
        let mut index = DateIndex(Ordered::with_segment(8));
        let days = many_days();
        for &(d, u) in &days {
            index.insert(d, u);
        }
        assert!(index.0.cuts.len() > 100);
        // One batch: users leave, come, and move (some twice, some back where they
        // were); a few days gain enough users to split and others lose enough to merge.
        index.hold(true);
        let mut at: std::collections::BTreeMap<u32, i64> = days.iter().map(|&(d, u)| (u, d)).collect();
        let mut step = |index: &mut DateIndex, user: u32, day: Option<i64>| {
            if let Some(old) = at.remove(&user) {
                index.remove(old, user);
            }
            if let Some(new) = day {
                index.insert(new, user);
                at.insert(user, new);
            }
        };
        for u in (0..4000).step_by(3) {
            step(&mut index, u, None);
        }
        for u in (1..4000).step_by(5) {
            step(&mut index, u, Some(i64::from(u % 13) * 40 - 200));
        }
        for u in (1..4000).step_by(10) {
            step(&mut index, u, Some(i64::from(u % 997) - 300));
        }
        for u in 6000..6500 {
            step(&mut index, u, Some(i64::from(u % 3) * 300));
        }
        for u in (6000..6500).step_by(4) {
            step(&mut index, u, None);
        }
        index.hold(false);
        let days: Vec<(i64, u32)> = at.iter().map(|(&u, &d)| (d, u)).collect();
        check_many(&index, &days);
        assert!(index.0.cuts.windows(2).all(|w| w[0].key < w[1].key));
        for (i, &n) in index.0.segments.iter().enumerate().filter(|&(_, &n)| n > 16) {
            let from = if i == 0 { Bound::Unbounded } else { Bound::Included(index.0.cuts[i - 1].key) };
            let to = index.0.cuts.get(i).map_or(Bound::Unbounded, |c| Bound::Excluded(c.key));
            assert_eq!(index.0.values.range((from, to)).count(), 1, "segment {i} of {n} users holds one day");
        }
        // Kept as usual afterwards.
        let mut days = days;
        merge_then_split(&mut index, &mut days);
    }

    #[test]
    fn held_batches_of_every_size_match_a_scan() {
        let mut index = DateIndex(Ordered::with_segment(8));
        let mut at: std::collections::BTreeMap<u32, i64> = std::collections::BTreeMap::new();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..60 {
            let held = round % 3 != 0;
            index.hold(held);
            for _ in 0..next(400) {
                let user = next(1500) as u32;
                let day = (next(4) > 0).then(|| next(600) as i64 - 100);
                if let Some(old) = at.remove(&user) {
                    index.remove(old, user);
                }
                if let Some(new) = day {
                    index.insert(new, user);
                    at.insert(user, new);
                }
            }
            index.hold(false);
            let days: Vec<(i64, u32)> = at.iter().map(|(&u, &d)| (d, u)).collect();
            check_many(&index, &days);
        }
        assert!(index.0.cuts.len() > 50);
    }

    #[test]
    fn number_keys_keep_the_order_of_numbers() {
        let numbers = [f64::MIN, -1e300, -2.5, -1.0, -0.0, 0.0, 1e-300, 1.0, 2.5, f64::MAX];
        for pair in numbers.windows(2) {
            assert!(number_key(pair[0]) <= number_key(pair[1]), "{pair:?}");
        }
        assert_eq!(number_key(-0.0), number_key(0.0));
    }

    #[test]
    fn number_ranges_use_either_side() {
        let mut index = NumberIndex::default();
        for u in 0..100u32 {
            index.insert(number_key(f64::from(u)), u);
        }
        let k = |n: f64| number_key(n);
        let range = |lo, hi| index.range(lo, hi).iter().collect::<Vec<_>>();
        assert_eq!(range(Bound::Excluded(k(97.0)), Bound::Unbounded), vec![98, 99]);
        assert_eq!(range(Bound::Included(k(2.0)), Bound::Unbounded).len(), 98);
        assert_eq!(range(Bound::Excluded(k(2.0)), Bound::Excluded(k(2.0))), Vec::<u32>::new());
        assert_eq!(range(Bound::Unbounded, Bound::Included(k(1.0))), vec![0, 1]);
        assert_eq!(range(Bound::Excluded(k(0.5)), Bound::Excluded(k(98.0))).len(), 97);
        assert_eq!(index.equal(&[k(3.0), k(3.5)]).iter().collect::<Vec<_>>(), vec![3]);
    }
}
