//! The other kinds of column: dates, numbers and yes/no, each a per-slot value for one
//! user's evaluation beside an index for the population's.

use std::io::{self, Read, Write};

use chrono::NaiveDate;
use roaring::RoaringBitmap;

use crate::codec::{Reader, Writer};
use crate::ordered::{number_key, DateIndex, NumberIndex};
use crate::posting::add;
use crate::slots;

/// No date in a slot.
const NO_DAY: i32 = i32::MIN;

/// A date as a day number, the common era's first day being 1.
pub(crate) fn day_of(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date)
}

/// The date of a day number.
pub(crate) fn date_of(day: i64) -> Option<NaiveDate> {
    i32::try_from(day).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// A date column: `created_at`, `last_login_at` or a date field.
#[derive(Debug, Default, Clone)]
pub(crate) struct DateColumn {
    pub(crate) index: DateIndex,
    by_slot: Vec<i32>,
}

impl DateColumn {
    /// Writes the column.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        self.index.write(w)?;
        w.i32s(&self.by_slot)
    }

    /// Reads back what [`DateColumn::write`] wrote.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        Ok(Self { index: DateIndex::read(r)?, by_slot: r.i32s()? })
    }

    /// The day of a slot.
    pub(crate) fn day(&self, slot: u32) -> Option<i64> {
        Some(slots::get(&self.by_slot, slot, NO_DAY)).filter(|&d| d != NO_DAY).map(i64::from)
    }

    /// Sets the date of a user; whether it changed.
    pub(crate) fn set(&mut self, slot: u32, user: u32, date: Option<NaiveDate>) -> bool {
        let new = date.map_or(NO_DAY, day_of);
        let old = slots::get(&self.by_slot, slot, NO_DAY);
        if old == new {
            return false;
        }
        if old != NO_DAY {
            self.index.remove(i64::from(old), user);
        }
        if new != NO_DAY {
            self.index.insert(i64::from(new), user);
        }
        slots::put(&mut self.by_slot, slot, new, NO_DAY);
        true
    }
}

/// A number field.
#[derive(Debug, Default, Clone)]
pub(crate) struct NumberColumn {
    pub(crate) index: NumberIndex,
    by_slot: Vec<f64>,
}

impl NumberColumn {
    /// Writes the column.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        self.index.write(w)?;
        w.f64s(&self.by_slot)
    }

    /// Reads back what [`NumberColumn::write`] wrote.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        Ok(Self { index: NumberIndex::read(r)?, by_slot: r.f64s()? })
    }

    /// The number of a slot.
    pub(crate) fn number(&self, slot: u32) -> Option<f64> {
        Some(slots::get(&self.by_slot, slot, f64::NAN)).filter(|n| !n.is_nan())
    }

    /// Sets the number of a user (finite); whether it changed.
    pub(crate) fn set(&mut self, slot: u32, user: u32, value: Option<f64>) -> bool {
        let old = self.number(slot);
        if old.map(number_key) == value.map(number_key) {
            return false;
        }
        if let Some(old) = old {
            self.index.remove(number_key(old), user);
        }
        if let Some(new) = value {
            self.index.insert(number_key(new), user);
        }
        slots::put(&mut self.by_slot, slot, value.unwrap_or(f64::NAN), f64::NAN);
        true
    }
}

/// A yes/no field.
#[derive(Debug, Default, Clone)]
pub(crate) struct YesNoColumn {
    pub(crate) yes: RoaringBitmap,
    pub(crate) no: RoaringBitmap,
    pub(crate) present: RoaringBitmap,
}

impl YesNoColumn {
    /// Writes the column.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        w.bitmap(&self.yes)?;
        w.bitmap(&self.no)?;
        w.bitmap(&self.present)
    }

    /// Reads back what [`YesNoColumn::write`] wrote.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        Ok(Self { yes: r.bitmap()?, no: r.bitmap()?, present: r.bitmap()? })
    }

    /// The value of a user.
    pub(crate) fn value(&self, user: u32) -> Option<bool> {
        if self.yes.contains(user) {
            Some(true)
        } else if self.no.contains(user) {
            Some(false)
        } else {
            None
        }
    }

    /// Sets the value of a user; whether it changed.
    pub(crate) fn set(&mut self, user: u32, value: Option<bool>) -> bool {
        if self.value(user) == value {
            return false;
        }
        self.yes.remove(user);
        self.no.remove(user);
        self.present.remove(user);
        if let Some(yes) = value {
            if yes {
                add(&mut self.yes, user);
            } else {
                add(&mut self.no, user);
            }
            add(&mut self.present, user);
        }
        true
    }
}
