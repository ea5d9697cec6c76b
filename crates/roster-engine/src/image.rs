//! The image of the population: every user's values in columns, with the indexes that
//! answer a condition for everyone at once. Every change is incremental: a user's
//! upsert touches that user's entries only.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use roster_domain::{FieldDef, FieldType, FieldValue, UserStatus};

use crate::branch::{Branches, TreePlan};
use crate::change::{Input, UserChange};
use crate::columns::{DateColumn, NumberColumn, YesNoColumn};
use crate::course::{CoursePlan, Courses};
use crate::error::{user_key, EngineError};
use crate::input::{Catalog, EnrollmentRecord, UserRecord};
use crate::posting::add;
use crate::slots::Slots;
use crate::text::{fold, TextColumn};

/// The text columns of the standard subjects, in `Image::text`.
pub(crate) const USERNAME: u32 = 0;
/// `email`
pub(crate) const EMAIL: u32 = 1;
/// `first_name`
pub(crate) const FIRST_NAME: u32 = 2;
/// `last_name`
pub(crate) const LAST_NAME: u32 = 3;
/// `language`
pub(crate) const LANGUAGE: u32 = 4;
/// `timezone`
pub(crate) const TIMEZONE: u32 = 5;
const STANDARD_TEXT: usize = 6;
/// The date columns of the standard subjects, in `Image::dates`.
pub(crate) const CREATED: u32 = 0;
/// `last_login_at`
pub(crate) const LAST_LOGIN: u32 = 1;
const STANDARD_DATES: usize = 2;

/// Where an additional field's values are: an index in the slab of its kind. A column
/// keeps its index while its field keeps its code and kind, so conditions compiled
/// against it stay valid across catalog changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FieldColumn {
    /// A text or dropdown field.
    Text(u32),
    /// A number field.
    Number(u32),
    /// A date field.
    Date(u32),
    /// A yes/no field.
    YesNo(u32),
}

impl FieldColumn {
    /// What rules reading this column depend on.
    pub(crate) fn input(self) -> Input {
        match self {
            Self::Text(c) => Input::Text(c),
            Self::Number(c) => Input::Number(c),
            Self::Date(c) => Input::Date(c),
            Self::YesNo(c) => Input::YesNo(c),
        }
    }
}

/// An additional field and its column.
#[derive(Debug)]
pub(crate) struct FieldSlot {
    pub(crate) def: FieldDef,
    pub(crate) column: FieldColumn,
}

/// The population.
#[derive(Debug)]
pub(crate) struct Image {
    pub(crate) fields: Vec<FieldSlot>,
    field_by_code: HashMap<String, usize>,
    pub(crate) text: Vec<Option<TextColumn>>,
    pub(crate) dates: Vec<Option<DateColumn>>,
    pub(crate) numbers: Vec<Option<NumberColumn>>,
    pub(crate) yes_no: Vec<Option<YesNoColumn>>,
    pub(crate) branches: Branches,
    pub(crate) courses: Courses,
    pub(crate) active: RoaringBitmap,
    pub(crate) suspended: RoaringBitmap,
    /// Every user in the image.
    pub(crate) universe: RoaringBitmap,
    slots: Slots,
}

impl Default for Image {
    fn default() -> Self {
        Self {
            fields: Vec::new(),
            field_by_code: HashMap::new(),
            text: (0..STANDARD_TEXT).map(|_| Some(TextColumn::default())).collect(),
            dates: (0..STANDARD_DATES).map(|_| Some(DateColumn::default())).collect(),
            numbers: Vec::new(),
            yes_no: Vec::new(),
            branches: Branches::default(),
            courses: Courses::default(),
            active: RoaringBitmap::new(),
            suspended: RoaringBitmap::new(),
            universe: RoaringBitmap::new(),
            slots: Slots::default(),
        }
    }
}

/// Reads a standard text subject of a record.
type TextOf = fn(&UserRecord) -> Option<&str>;
/// Reads a standard date subject of a record.
type DateOf = fn(&UserRecord) -> Option<NaiveDate>;

/// A user being written: the record, its id and slot, and its checked values.
struct Row<'u> {
    user: &'u UserRecord,
    id: u32,
    slot: u32,
    branch: Option<u32>,
    values: Vec<Option<&'u FieldValue>>,
}

/// A checked new catalog, ready to replace the old one.
#[derive(Debug)]
pub(crate) struct CatalogPlan {
    /// Each new field, with the column it keeps when its code and kind are unchanged.
    fields: Vec<(FieldDef, Option<FieldColumn>)>,
    tree: TreePlan,
    courses: CoursePlan,
}

/// Whether two field types store their values alike.
fn same_kind(a: FieldType, b: FieldType) -> bool {
    let kind = |t| match t {
        FieldType::Text | FieldType::Dropdown => 0,
        FieldType::Number => 1,
        FieldType::Date => 2,
        FieldType::YesNo => 3,
    };
    kind(a) == kind(b)
}

/// Puts a new column in a slab; returns its index.
fn push<T: Default>(slab: &mut Vec<Option<T>>) -> u32 {
    slab.push(Some(T::default()));
    u32::try_from(slab.len() - 1).unwrap_or(u32::MAX)
}

/// The column at `index` of a slab.
pub(crate) fn column<T>(slab: &[Option<T>], index: u32) -> Option<&T> {
    slab.get(index as usize)?.as_ref()
}

impl Image {
    /// Starts or ends a bulk load in every date and number index.
    pub(crate) fn set_bulk(&mut self, bulk: bool) {
        let dates = self.dates.iter_mut().flatten().map(|c| &mut c.index).chain(self.courses.date_indexes_mut());
        dates.for_each(|index| index.set_bulk(bulk));
        self.numbers.iter_mut().flatten().for_each(|column| column.index.set_bulk(bulk));
    }

    /// The slot of a user.
    pub(crate) fn slot(&self, user: u32) -> Option<u32> {
        self.slots.get(user)
    }

    /// An additional field by code (any case).
    pub(crate) fn field(&self, code: &str) -> Option<&FieldSlot> {
        self.fields.get(*self.field_by_code.get(&*fold(code))?)
    }

    /// Checks users against the catalog, then writes them, column after column: a
    /// batch touches each column's indexes together, which keeps them in cache.
    pub(crate) fn upsert(&mut self, users: &[UserRecord]) -> Result<Vec<UserChange>, EngineError> {
        let mut rows = Vec::with_capacity(users.len());
        for user in users {
            let id = user_key(user.id)?;
            let branch = match user.branch_id {
                Some(b) => Some(self.branches.index_of_id(b).ok_or(EngineError::UnknownBranch(b))?),
                None => None,
            };
            let values = self.field_values(user)?;
            rows.push(Row { user, id, slot: 0, branch, values });
        }
        let mut changes = Vec::with_capacity(rows.len());
        for row in &mut rows {
            let created = self.slots.get(row.id).is_none();
            row.slot = self.slots.insert(row.id);
            add(&mut self.universe, row.id);
            changes.push(if created { UserChange::created(row.user.id) } else { UserChange::new(row.user.id) });
        }
        let texts: [(u32, TextOf); 6] = [
            (USERNAME, |u| Some(u.username.as_str())),
            (EMAIL, |u| Some(u.email.as_str())),
            (FIRST_NAME, |u| u.first_name.as_deref()),
            (LAST_NAME, |u| u.last_name.as_deref()),
            (LANGUAGE, |u| u.language.as_deref()),
            (TIMEZONE, |u| u.timezone.as_deref()),
        ];
        for (c, value) in texts {
            for (row, change) in rows.iter().zip(&mut changes) {
                if self.set_text(c, row.slot, row.id, value(row.user))? {
                    change.add(Input::Text(c));
                }
            }
        }
        for (row, change) in rows.iter().zip(&mut changes) {
            let (to, from) = match row.user.status {
                UserStatus::Active => (&mut self.active, &mut self.suspended),
                UserStatus::Suspended => (&mut self.suspended, &mut self.active),
            };
            add(to, row.id);
            if from.remove(row.id) {
                change.add(Input::Status);
            }
        }
        for (row, change) in rows.iter().zip(&mut changes) {
            if self.branches.set(row.slot, row.id, row.branch) {
                change.add(Input::Branch);
            }
        }
        let dates: [(u32, DateOf); 2] = [(CREATED, |u| Some(u.created_on)), (LAST_LOGIN, |u| u.last_login_on)];
        for (c, value) in dates {
            if let Some(column) = self.dates[c as usize].as_mut() {
                for (row, change) in rows.iter().zip(&mut changes) {
                    if column.set(row.slot, row.id, value(row.user)) {
                        change.add(Input::Date(c));
                    }
                }
            }
        }
        for i in 0..self.fields.len() {
            let column = self.fields[i].column;
            for (row, change) in rows.iter().zip(&mut changes) {
                if self.set_field(column, row.slot, row.id, row.values[i])? {
                    change.add(column.input());
                }
            }
        }
        Ok(changes)
    }

    /// The user's value of every field, in catalog order, each checked.
    fn field_values<'u>(&self, user: &'u UserRecord) -> Result<Vec<Option<&'u FieldValue>>, EngineError> {
        let mut values = vec![None; self.fields.len()];
        for (code, value) in &user.fields {
            let index = *self.field_by_code.get(&*fold(code)).ok_or_else(|| EngineError::UnknownField(code.clone()))?;
            let def = &self.fields[index].def;
            let fits = matches!(
                (def.field_type, value),
                (FieldType::Text | FieldType::Dropdown, FieldValue::Text(_))
                    | (FieldType::Date, FieldValue::Date(_))
                    | (FieldType::YesNo, FieldValue::YesNo(_))
            ) || matches!((def.field_type, value), (FieldType::Number, FieldValue::Number(n)) if n.is_finite());
            if !fits {
                return Err(EngineError::InvalidFieldValue {
                    field: code.clone(),
                    message: format!("expects a finite {} value", def.field_type.as_str()),
                });
            }
            values[index] = Some(value);
        }
        Ok(values)
    }

    /// Sets a text value; whether it changed.
    fn set_text(&mut self, column: u32, slot: u32, user: u32, value: Option<&str>) -> Result<bool, EngineError> {
        match self.text.get_mut(column as usize).and_then(Option::as_mut) {
            Some(c) => c.set(slot, user, value).ok_or_else(|| EngineError::ColumnFull(format!("#{column}"))),
            None => Ok(false),
        }
    }

    /// Sets a field's value; whether it changed.
    fn set_field(
        &mut self,
        column: FieldColumn,
        slot: u32,
        user: u32,
        value: Option<&FieldValue>,
    ) -> Result<bool, EngineError> {
        Ok(match (column, value) {
            (FieldColumn::Text(c), value) => {
                let text = match value {
                    Some(FieldValue::Text(s)) => Some(s.as_str()),
                    _ => None,
                };
                return self.set_text(c, slot, user, text);
            }
            (FieldColumn::Number(c), value) => {
                self.numbers.get_mut(c as usize).and_then(Option::as_mut).is_some_and(|col| {
                    let n = match value {
                        Some(FieldValue::Number(n)) => Some(*n),
                        _ => None,
                    };
                    col.set(slot, user, n)
                })
            }
            (FieldColumn::Date(c), value) => {
                self.dates.get_mut(c as usize).and_then(Option::as_mut).is_some_and(|col| {
                    let d = match value {
                        Some(FieldValue::Date(d)) => Some(*d),
                        _ => None,
                    };
                    col.set(slot, user, d)
                })
            }
            (FieldColumn::YesNo(c), value) => {
                self.yes_no.get_mut(c as usize).and_then(Option::as_mut).is_some_and(|col| {
                    let b = match value {
                        Some(FieldValue::YesNo(b)) => Some(*b),
                        _ => None,
                    };
                    col.set(user, b)
                })
            }
        })
    }

    /// Removes a user and every value of theirs; `false` when unknown.
    pub(crate) fn remove(&mut self, user: u32) -> bool {
        let Some(slot) = self.slots.get(user) else {
            return false;
        };
        for c in self.text.iter_mut().flatten() {
            c.set(slot, user, None);
        }
        for c in self.dates.iter_mut().flatten() {
            c.set(slot, user, None);
        }
        for c in self.numbers.iter_mut().flatten() {
            c.set(slot, user, None);
        }
        for c in self.yes_no.iter_mut().flatten() {
            c.set(user, None);
        }
        self.branches.set(slot, user, None);
        self.courses.clear_user(slot, user);
        self.active.remove(user);
        self.suspended.remove(user);
        self.universe.remove(user);
        self.slots.remove(user);
        true
    }

    /// Sets or clears one enrollment.
    pub(crate) fn set_enrollment(
        &mut self,
        user: i64,
        course: i64,
        record: Option<&EnrollmentRecord>,
    ) -> Result<UserChange, EngineError> {
        let id = user_key(user)?;
        let slot = self.slots.get(id).ok_or(EngineError::UnknownUser(user))?;
        let index = self.courses.index_of_id(course).ok_or(EngineError::UnknownCourse(course))?;
        self.courses.set(slot, id, index, record);
        let mut change = UserChange::new(user);
        change.add(Input::Course(index));
        Ok(change)
    }

    /// Checks a new catalog against the image.
    pub(crate) fn plan_catalog(&self, catalog: &Catalog) -> Result<CatalogPlan, EngineError> {
        let mut codes = HashSet::new();
        let mut fields = Vec::with_capacity(catalog.fields.len());
        for def in &catalog.fields {
            if !codes.insert(fold(def.code.as_str()).into_owned()) {
                return Err(EngineError::InvalidCatalog(format!("field code \"{}\" appears twice", def.code)));
            }
            let kept = self
                .field(def.code.as_str())
                .filter(|old| same_kind(old.def.field_type, def.field_type))
                .map(|old| old.column);
            fields.push((def.clone(), kept));
        }
        Ok(CatalogPlan {
            fields,
            tree: self.branches.plan(&catalog.branches)?,
            courses: self.courses.plan(&catalog.courses)?,
        })
    }

    /// Replaces the catalog with a checked one. A field whose code and kind are
    /// unchanged keeps its values; a new field, or one whose kind changed, starts empty.
    pub(crate) fn apply_catalog(&mut self, plan: CatalogPlan) {
        let kept: HashSet<FieldColumn> = plan.fields.iter().filter_map(|(_, c)| *c).collect();
        for old in &self.fields {
            if !kept.contains(&old.column) {
                match old.column {
                    FieldColumn::Text(c) => self.text[c as usize] = None,
                    FieldColumn::Number(c) => self.numbers[c as usize] = None,
                    FieldColumn::Date(c) => self.dates[c as usize] = None,
                    FieldColumn::YesNo(c) => self.yes_no[c as usize] = None,
                }
            }
        }
        self.fields.clear();
        self.field_by_code.clear();
        for (def, kept) in plan.fields {
            let column = kept.unwrap_or_else(|| match def.field_type {
                FieldType::Text | FieldType::Dropdown => FieldColumn::Text(push(&mut self.text)),
                FieldType::Number => FieldColumn::Number(push(&mut self.numbers)),
                FieldType::Date => FieldColumn::Date(push(&mut self.dates)),
                FieldType::YesNo => FieldColumn::YesNo(push(&mut self.yes_no)),
            });
            self.field_by_code.insert(fold(def.code.as_str()).into_owned(), self.fields.len());
            self.fields.push(FieldSlot { def, column });
        }
        self.branches.apply(plan.tree);
        self.courses.apply(plan.courses);
    }
}
