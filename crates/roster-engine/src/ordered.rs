//! Ordered indexes for dates and numbers: the users holding each value, kept so that a
//! range is a few bitmap operations rather than a scan.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Bound;

use roaring::RoaringBitmap;

use crate::posting::{add, Posting, Union};

/// Hashes integer keys by one multiplication (Fibonacci hashing): day blocks are not
/// chosen by an adversary.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_i64(&mut self, n: i64) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Days per small block (as a shift): 16.
const SMALL: u32 = 4;
/// Days per large block (as a shift): 256.
const LARGE: u32 = 8;

/// A large block's users, and every user whose day comes before the block.
#[derive(Debug, Default)]
struct Large {
    users: RoaringBitmap,
    before: RoaringBitmap,
}

/// Users by day (days counted from the common era), by blocks of 16 and 256 days, and
/// for each 256-day block that holds a user, the users before it: a range of years is
/// then one subtraction of two such prefixes, corrected by a few small blocks and days.
/// A date change updates the prefixes of the blocks between its old and new day.
#[derive(Debug, Default)]
pub(crate) struct DateIndex {
    days: BTreeMap<i64, RoaringBitmap>,
    small: HashMap<i64, RoaringBitmap, BuildHasherDefault<IntHasher>>,
    large: BTreeMap<i64, Large>,
    present: RoaringBitmap,
}

impl DateIndex {
    /// Records that `user` holds `day`.
    pub(crate) fn insert(&mut self, day: i64, user: u32) {
        add(self.days.entry(day).or_default(), user);
        add(self.small.entry(day >> SMALL).or_default(), user);
        let b = day >> LARGE;
        if !self.large.contains_key(&b) {
            let before = match self.large.range(..b).next_back() {
                Some((_, prev)) => &prev.before | &prev.users,
                None => RoaringBitmap::new(),
            };
            self.large.insert(b, Large { users: RoaringBitmap::new(), before });
        }
        for (&k, block) in self.large.range_mut(b..) {
            if k == b {
                add(&mut block.users, user);
            } else {
                add(&mut block.before, user);
            }
        }
        add(&mut self.present, user);
    }

    /// Forgets that `user` holds `day`.
    pub(crate) fn remove(&mut self, day: i64, user: u32) {
        if let Some(users) = self.days.get_mut(&day) {
            users.remove(user);
            if users.is_empty() {
                self.days.remove(&day);
            }
        }
        if let Some(users) = self.small.get_mut(&(day >> SMALL)) {
            users.remove(user);
            if users.is_empty() {
                self.small.remove(&(day >> SMALL));
            }
        }
        let b = day >> LARGE;
        let mut emptied = false;
        for (&k, block) in self.large.range_mut(b..) {
            if k == b {
                block.users.remove(user);
                emptied = block.users.is_empty();
            } else {
                block.before.remove(user);
            }
        }
        if emptied {
            self.large.remove(&b);
        }
        self.present.remove(user);
    }

    /// The users holding a date.
    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.present
    }

    /// The users whose day lies in `lo..=hi`.
    pub(crate) fn range(&self, lo: i64, hi: i64) -> Cow<'_, RoaringBitmap> {
        let (Some(min), Some(max), Some((lo, hi))) = (self.min(), self.max(), self.clamp(lo, hi)) else {
            return Cow::Owned(RoaringBitmap::new());
        };
        if lo == min && hi == max {
            return Cow::Borrowed(&self.present);
        }
        if hi - lo < 2 << LARGE {
            let mut parts = Vec::new();
            self.parts(lo, hi, &mut parts);
            return union(parts);
        }
        // before(x) is the prefix of a large block plus edge pieces after it, so the
        // range is one subtraction of prefixes, corrected by the edges:
        // (B_hi ∪ E_hi) − (B_lo ∪ E_lo) = ((B_hi − B_lo) ∪ E_hi) − E_lo, since B_lo ⊆ B_hi
        // and E_hi lies after B_lo.
        let mut upper = Vec::new();
        if hi == max {
            upper.push(&self.present);
        } else {
            self.before(hi + 1, &mut upper);
        }
        let mut lower = Vec::new();
        if lo > min {
            self.before(lo, &mut lower);
        }
        let (Some(&prefix), edges) = upper.split_first().map_or((None, &[][..]), |(p, e)| (Some(p), e)) else {
            return Cow::Owned(RoaringBitmap::new());
        };
        let mut users = match lower.first() {
            Some(&below) if std::ptr::eq(below, prefix) => RoaringBitmap::new(),
            Some(&below) => prefix - below,
            None if edges.is_empty() => return Cow::Borrowed(prefix),
            None => prefix.clone(),
        };
        for edge in edges {
            users |= *edge;
        }
        for edge in lower.iter().skip(1) {
            users -= *edge;
        }
        Cow::Owned(users)
    }

    fn min(&self) -> Option<i64> {
        self.days.first_key_value().map(|(&d, _)| d)
    }

    fn max(&self) -> Option<i64> {
        self.days.last_key_value().map(|(&d, _)| d)
    }

    /// `lo..=hi` within the days held, unless empty.
    fn clamp(&self, lo: i64, hi: i64) -> Option<(i64, i64)> {
        let (lo, hi) = (lo.max(self.min()?), hi.min(self.max()?));
        (lo <= hi).then_some((lo, hi))
    }

    /// The bitmaps that exactly cover the users before `day`: the prefix of the last
    /// large block at or before it, then the pieces of that block up to `day`.
    fn before<'a>(&'a self, day: i64, out: &mut Vec<&'a RoaringBitmap>) {
        let b = day >> LARGE;
        let Some((&k, block)) = self.large.range(..=b).next_back() else {
            return;
        };
        out.push(&block.before);
        if k < b {
            out.push(&block.users);
        } else if day > b << LARGE {
            self.parts(b << LARGE, day - 1, out);
        }
    }

    /// The day and block bitmaps that exactly cover `lo..=hi`: from each day, the
    /// largest aligned block that fits.
    fn parts<'a>(&'a self, lo: i64, hi: i64, out: &mut Vec<&'a RoaringBitmap>) {
        let mut day = lo;
        while day <= hi {
            let fits = |shift: u32| day.rem_euclid(1 << shift) == 0 && day + (1 << shift) - 1 <= hi;
            let (users, shift) = if fits(LARGE) {
                (self.large.get(&(day >> LARGE)).map(|b| &b.users), LARGE)
            } else if fits(SMALL) {
                (self.small.get(&(day >> SMALL)), SMALL)
            } else {
                (self.days.get(&day), 0)
            };
            out.extend(users);
            day += 1 << shift;
        }
    }
}

fn union(bitmaps: Vec<&RoaringBitmap>) -> Cow<'_, RoaringBitmap> {
    let mut union = Union::default();
    bitmaps.into_iter().for_each(|b| union.add_bitmap(b));
    union.finish()
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
#[derive(Debug, Default)]
pub(crate) struct NumberIndex {
    values: BTreeMap<u64, Posting>,
    present: RoaringBitmap,
}

impl NumberIndex {
    /// Records that `user` holds the number whose key is `key`.
    pub(crate) fn insert(&mut self, key: u64, user: u32) {
        self.values.entry(key).or_default().insert(user);
        add(&mut self.present, user);
    }

    /// Forgets that `user` holds the number whose key is `key`.
    pub(crate) fn remove(&mut self, key: u64, user: u32) {
        if let Some(posting) = self.values.get_mut(&key) {
            posting.remove(user);
            if posting.len() == 0 {
                self.values.remove(&key);
            }
        }
        self.present.remove(user);
    }

    /// The users holding a number.
    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.present
    }

    /// The users holding one of these numbers (keys).
    pub(crate) fn equal(&self, keys: &[u64]) -> Cow<'_, RoaringBitmap> {
        let mut union = Union::default();
        keys.iter().filter_map(|key| self.values.get(key)).for_each(|p| union.add(p));
        union.finish()
    }

    /// The users whose number lies between the bounds (keys).
    pub(crate) fn range(&self, lo: Bound<u64>, hi: Bound<u64>) -> Cow<'_, RoaringBitmap> {
        if is_empty_range(lo, hi) {
            return Cow::Owned(RoaringBitmap::new());
        }
        let count: u64 = self.values.range((lo, hi)).map(|(_, p)| p.len()).sum();
        if count.saturating_mul(2) <= self.present.len() {
            return self.union((lo, hi));
        }
        let mut outside = Union::default();
        let below = match lo {
            Bound::Included(key) => Some(Bound::Excluded(key)),
            Bound::Excluded(key) => Some(Bound::Included(key)),
            Bound::Unbounded => None,
        };
        let above = match hi {
            Bound::Included(key) => Some(Bound::Excluded(key)),
            Bound::Excluded(key) => Some(Bound::Included(key)),
            Bound::Unbounded => None,
        };
        for (_, posting) in below
            .into_iter()
            .flat_map(|end| self.values.range((Bound::Unbounded, end)))
            .chain(above.into_iter().flat_map(|start| self.values.range((start, Bound::Unbounded))))
        {
            outside.add(posting);
        }
        Cow::Owned(&self.present - &*outside.finish())
    }

    fn union(&self, range: (Bound<u64>, Bound<u64>)) -> Cow<'_, RoaringBitmap> {
        let mut union = Union::default();
        self.values.range(range).for_each(|(_, p)| union.add(p));
        union.finish()
    }
}

/// Whether no key lies between the bounds (which `BTreeMap::range` refuses).
fn is_empty_range(lo: Bound<u64>, hi: Bound<u64>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b)) | (Bound::Excluded(a), Bound::Included(b)) => {
            a >= b
        }
        _ => false,
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
