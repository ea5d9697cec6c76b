//! Sets of users during a whole-population evaluation: a bitmap, or the complement of
//! one, so that `not` and the negated operators cost nothing until the very end, and
//! `a and not b` is one subtraction.

use std::borrow::Cow;

use roaring::RoaringBitmap;

use crate::posting::fold;

/// A set of users: `bits`, or everyone in the image but `bits`.
#[derive(Debug)]
pub(crate) struct Set<'a> {
    bits: Cow<'a, RoaringBitmap>,
    complement: bool,
}

impl<'a> Set<'a> {
    /// These users.
    pub(crate) fn of(bits: Cow<'a, RoaringBitmap>) -> Self {
        Self { bits, complement: false }
    }

    /// Everyone but these users.
    pub(crate) fn all_but(bits: Cow<'a, RoaringBitmap>) -> Self {
        Self { bits, complement: true }
    }

    /// The same set, borrowed.
    pub(crate) fn view(&self) -> Set<'_> {
        Set { bits: Cow::Borrowed(&self.bits), complement: self.complement }
    }

    /// Everyone not in this set.
    pub(crate) fn not(self) -> Self {
        Self { bits: self.bits, complement: !self.complement }
    }

    /// The set negated when `negated`.
    pub(crate) fn negated_if(self, negated: bool) -> Self {
        if negated {
            self.not()
        } else {
            self
        }
    }

    /// The users in every member.
    pub(crate) fn all(members: Vec<Set<'a>>) -> Self {
        let (kept, removed) = split(members);
        if kept.is_empty() {
            return Self::all_but(unite(removed));
        }
        Self::of(minus(intersect(kept), removed))
    }

    /// The users in at least one member.
    pub(crate) fn any(members: Vec<Set<'a>>) -> Self {
        let (added, complements) = split(members);
        if complements.is_empty() {
            return Self::of(unite(added));
        }
        Self::all_but(minus(intersect(complements), added))
    }

    /// The set as a bitmap, `universe` being everyone in the image.
    pub(crate) fn into_bitmap(self, universe: &RoaringBitmap) -> RoaringBitmap {
        if self.complement {
            universe - &*self.bits
        } else {
            self.bits.into_owned()
        }
    }

    /// `into_bitmap(universe) & within`, for `within` a part of the universe (the
    /// active users), in one operation: a complement is taken within `within` alone,
    /// a borrowed set is intersected into a new bitmap rather than copied first.
    pub(crate) fn within(self, within: &RoaringBitmap) -> RoaringBitmap {
        match self.bits {
            _ if self.complement => within - &*self.bits,
            Cow::Owned(mut bits) => {
                bits &= within;
                bits
            }
            Cow::Borrowed(bits) => bits & within,
        }
    }
}

/// The plain bitmaps and the complemented ones.
fn split(members: Vec<Set<'_>>) -> (Vec<Cow<'_, RoaringBitmap>>, Vec<Cow<'_, RoaringBitmap>>) {
    let mut plain = Vec::new();
    let mut complemented = Vec::new();
    for member in members {
        if member.complement {
            complemented.push(member.bits);
        } else {
            plain.push(member.bits);
        }
    }
    (plain, complemented)
}

/// The intersection, smallest first so that it shrinks fast; `sets` is not empty.
fn intersect(mut sets: Vec<Cow<'_, RoaringBitmap>>) -> Cow<'_, RoaringBitmap> {
    sets.sort_by_key(|s| s.len());
    let mut sets = sets.into_iter();
    let Some(first) = sets.next() else {
        return Cow::Owned(RoaringBitmap::new());
    };
    let Some(second) = sets.next() else {
        return first;
    };
    let mut acc = &*first & &*second;
    for set in sets {
        if acc.is_empty() {
            break;
        }
        acc &= &*set;
    }
    Cow::Owned(acc)
}

/// The union.
fn unite(sets: Vec<Cow<'_, RoaringBitmap>>) -> Cow<'_, RoaringBitmap> {
    if sets.len() <= 1 {
        return sets.into_iter().next().unwrap_or(Cow::Owned(RoaringBitmap::new()));
    }
    Cow::Owned(fold(sets.iter().map(|s| &**s).collect()))
}

/// `from` without the users of any of `removed`.
fn minus<'a>(from: Cow<'a, RoaringBitmap>, removed: Vec<Cow<'a, RoaringBitmap>>) -> Cow<'a, RoaringBitmap> {
    let mut acc = from;
    for set in removed {
        if acc.is_empty() {
            break;
        }
        acc = Cow::Owned(match acc {
            Cow::Owned(mut bits) => {
                bits -= &*set;
                bits
            }
            Cow::Borrowed(bits) => bits - &*set,
        });
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(ids: &[u32]) -> RoaringBitmap {
        ids.iter().copied().collect()
    }

    #[test]
    fn and_or_not_follow_de_morgan() {
        let universe = bits(&[1, 2, 3, 4, 5, 6]);
        let a = bits(&[1, 2, 3]);
        let b = bits(&[2, 3, 4]);
        let c = bits(&[3, 5]);
        let set = |x: &RoaringBitmap| Set::of(Cow::Owned(x.clone()));
        let eval = |s: Set<'_>| s.into_bitmap(&universe);

        assert_eq!(eval(Set::all(vec![set(&a), set(&b)])), bits(&[2, 3]));
        assert_eq!(eval(Set::all(vec![set(&a), set(&b).not()])), bits(&[1]));
        assert_eq!(eval(Set::all(vec![set(&a).not(), set(&c).not()])), bits(&[4, 6]));
        assert_eq!(eval(Set::any(vec![set(&a), set(&c)])), bits(&[1, 2, 3, 5]));
        assert_eq!(eval(Set::any(vec![set(&a), set(&b).not()])), bits(&[1, 2, 3, 5, 6]));
        assert_eq!(eval(Set::any(vec![set(&a).not(), set(&b).not(), set(&c)])), bits(&[1, 3, 4, 5, 6]));
        assert_eq!(eval(set(&a).not().not()), a);
        assert_eq!(eval(Set::all(vec![set(&a), set(&b), set(&c)])), bits(&[3]));
    }

    #[test]
    fn within_a_part_of_the_universe_is_the_bitmap_intersected_with_it() {
        let universe = bits(&[1, 2, 3, 4, 5, 6]);
        let active = bits(&[1, 2, 4, 6]);
        let a = bits(&[1, 2, 3]);
        let sets: [fn(&RoaringBitmap) -> Set<'_>; 4] = [
            |x| Set::of(Cow::Borrowed(x)),
            |x| Set::of(Cow::Owned(x.clone())),
            |x| Set::all_but(Cow::Borrowed(x)),
            |x| Set::all_but(Cow::Owned(x.clone())),
        ];
        for set in sets {
            assert_eq!(set(&a).within(&active), set(&a).into_bitmap(&universe) & &active);
        }
    }
}
