//! Ordered indexes for dates and numbers: the users holding each value, kept so that a
//! range is the union of a few bitmaps rather than a scan, and so that a range holding
//! most users is computed from its (smaller) complement.

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

/// Levels of day blocks above single days: blocks of 16 and 256 days. A range of ten
/// years is then at most 15 days, 15 blocks of 16 days and 14 of 256 days; more levels
/// would cost every date change more bitmaps to update.
const LEVELS: usize = 2;
/// Each level's blocks are 2^BLOCK_BITS times longer than the level below.
const BLOCK_BITS: u32 = 4;

/// Users by day (days counted from the common era), with coarser blocks of days.
#[derive(Debug, Default)]
pub(crate) struct DateIndex {
    days: BTreeMap<i64, RoaringBitmap>,
    blocks: [HashMap<i64, RoaringBitmap, BuildHasherDefault<IntHasher>>; LEVELS],
    present: RoaringBitmap,
}

/// The block of `level` (1 = 8 days) holding `day`.
fn block(day: i64, level: usize) -> i64 {
    day >> (BLOCK_BITS * level as u32)
}

impl DateIndex {
    /// Records that `user` holds `day`.
    pub(crate) fn insert(&mut self, day: i64, user: u32) {
        add(self.days.entry(day).or_default(), user);
        for (level, blocks) in self.blocks.iter_mut().enumerate() {
            add(blocks.entry(block(day, level + 1)).or_default(), user);
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
        for (level, blocks) in self.blocks.iter_mut().enumerate() {
            let key = block(day, level + 1);
            if let Some(users) = blocks.get_mut(&key) {
                users.remove(user);
                if users.is_empty() {
                    blocks.remove(&key);
                }
            }
        }
        self.present.remove(user);
    }

    /// The users holding a date.
    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.present
    }

    /// The users whose day lies in `lo..=hi`.
    pub(crate) fn range(&self, lo: i64, hi: i64) -> Cow<'_, RoaringBitmap> {
        let (Some((&min, _)), Some((&max, _))) = (self.days.first_key_value(), self.days.last_key_value()) else {
            return Cow::Owned(RoaringBitmap::new());
        };
        let (lo, hi) = (lo.max(min), hi.min(max));
        if lo > hi {
            return Cow::Owned(RoaringBitmap::new());
        }
        if lo == min && hi == max {
            return Cow::Borrowed(&self.present);
        }
        let mut inside = Vec::new();
        self.parts(lo, hi, &mut inside);
        let count: u64 = inside.iter().map(|users| users.len()).sum();
        if count.saturating_mul(2) <= self.present.len() {
            return union(inside);
        }
        let mut outside = Vec::new();
        self.parts(min, lo - 1, &mut outside);
        self.parts(hi + 1, max, &mut outside);
        Cow::Owned(&self.present - &*union(outside))
    }

    /// The day and block bitmaps that exactly cover `lo..=hi`: from each day, the
    /// largest aligned block that fits.
    fn parts<'a>(&'a self, lo: i64, hi: i64, out: &mut Vec<&'a RoaringBitmap>) {
        let mut day = lo;
        while day <= hi {
            let mut level = 0;
            while level < LEVELS {
                let size = 1i64 << (BLOCK_BITS * (level as u32 + 1));
                if day.rem_euclid(size) != 0 || day + size - 1 > hi {
                    break;
                }
                level += 1;
            }
            let users = match level {
                0 => self.days.get(&day),
                _ => self.blocks[level - 1].get(&block(day, level)),
            };
            out.extend(users);
            day += 1i64 << (BLOCK_BITS * level as u32);
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
    fn day_ranges_match_a_scan_whatever_their_alignment() {
        let mut index = DateIndex::default();
        let days: Vec<(i64, u32)> = (0u32..3000).map(|u| (i64::from(u * 7919 % 5000) - 1000, u)).collect();
        for &(d, u) in &days {
            index.insert(d, u);
        }
        for (lo, hi) in
            [(-5000, 10_000), (-1000, -1000), (-999, 3999), (0, 511), (1, 4095), (17, 18), (3000, 2000), (-7, 4090)]
        {
            assert_eq!(*index.range(lo, hi), naive(&days, lo, hi), "{lo}..={hi}");
        }
        for &(d, u) in days.iter().filter(|(_, u)| u % 2 == 0) {
            index.remove(d, u);
        }
        let odd: Vec<(i64, u32)> = days.into_iter().filter(|(_, u)| u % 2 == 1).collect();
        assert_eq!(*index.range(100, 2000), naive(&odd, 100, 2000));
        assert_eq!(index.present().len(), 1500);
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
