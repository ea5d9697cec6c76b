//! User ids to row slots: the columns keep one value per slot in plain vectors, and a
//! removed user's slot is reused by the next new one.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use crate::codec::{invalid, Reader, Writer};

/// Where each user's row lives.
#[derive(Debug, Default, Clone)]
pub(crate) struct Slots {
    by_id: HashMap<u32, u32>,
    free: Vec<u32>,
    len: u32,
}

impl Slots {
    /// Writes every user's slot and the free ones.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        let mut pairs: Vec<(u32, u32)> = self.by_id.iter().map(|(&user, &slot)| (user, slot)).collect();
        pairs.sort_unstable();
        let (users, slots): (Vec<u32>, Vec<u32>) = pairs.into_iter().unzip();
        w.u32(self.len)?;
        w.u32s(&self.free)?;
        w.u32s(&users)?;
        w.u32s(&slots)
    }

    /// Reads back what [`Slots::write`] wrote.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        let (len, free, users, slots) = (r.u32()?, r.u32s()?, r.u32s()?, r.u32s()?);
        if users.len() != slots.len() || free.iter().chain(&slots).any(|&s| s >= len) {
            return Err(invalid("user slots that do not fit"));
        }
        let mut by_id = HashMap::with_capacity(users.len());
        by_id.extend(users.into_iter().zip(slots));
        Ok(Self { by_id, free, len })
    }

    /// Every user in a slot.
    pub(crate) fn users(&self) -> impl Iterator<Item = u32> + '_ {
        self.by_id.keys().copied()
    }

    /// The slot of a user in the image.
    pub(crate) fn get(&self, user: u32) -> Option<u32> {
        self.by_id.get(&user).copied()
    }

    /// The slot of a user, given one if new.
    pub(crate) fn insert(&mut self, user: u32) -> u32 {
        if let Some(slot) = self.get(user) {
            return slot;
        }
        let slot = self.free.pop().unwrap_or_else(|| {
            self.len += 1;
            self.len - 1
        });
        self.by_id.insert(user, slot);
        slot
    }

    /// Frees a user's slot; its values must already be cleared.
    pub(crate) fn remove(&mut self, user: u32) -> Option<u32> {
        let slot = self.by_id.remove(&user)?;
        self.free.push(slot);
        Some(slot)
    }
}

/// The value in `slot`, or `missing` past the end.
pub(crate) fn get<T: Copy>(values: &[T], slot: u32, missing: T) -> T {
    values.get(slot as usize).copied().unwrap_or(missing)
}

/// Stores the value of `slot`, growing the vector with `missing` as needed.
pub(crate) fn put<T: Copy>(values: &mut Vec<T>, slot: u32, value: T, missing: T) {
    let index = slot as usize;
    if index >= values.len() {
        values.resize(index + 1, missing);
    }
    values[index] = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_after_removal() {
        let mut slots = Slots::default();
        assert_eq!(slots.insert(10), 0);
        assert_eq!(slots.insert(20), 1);
        assert_eq!(slots.insert(10), 0);
        assert_eq!(slots.remove(10), Some(0));
        assert_eq!(slots.get(10), None);
        assert_eq!(slots.insert(30), 0);
        let mut values = Vec::new();
        put(&mut values, 3, 7u8, 0);
        assert_eq!(values, vec![0, 0, 0, 7]);
        assert_eq!(get(&values, 9, 0), 0);
    }
}
