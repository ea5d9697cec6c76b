//! The image of the population: every user's values in columns, with the indexes that
//! answer a condition for everyone at once. Every change is incremental: a user's
//! upsert touches that user's entries only.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::sync::Arc;

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use roster_domain::{FieldDef, FieldType, FieldValue, UserStatus};

use crate::branch::{Branches, TreePlan};
use crate::change::{Input, UserChange};
use crate::codec::{invalid, Reader, Writer};
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
/// From this many users, a batch's moves reach the date and number indexes' prefixes
/// together, not user by user (for two, both ways cost about the same).
const HOLD_FROM: usize = 2;

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
#[derive(Debug, Clone)]
pub(crate) struct FieldSlot {
    pub(crate) def: FieldDef,
    pub(crate) column: FieldColumn,
}

/// The population. Cloning it is cheap: its columns are shared until written.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) fields: Vec<FieldSlot>,
    field_by_code: HashMap<String, usize>,
    pub(crate) text: Vec<Option<TextColumn>>,
    pub(crate) dates: Vec<Option<Arc<DateColumn>>>,
    pub(crate) numbers: Vec<Option<Arc<NumberColumn>>>,
    pub(crate) yes_no: Vec<Option<Arc<YesNoColumn>>>,
    pub(crate) branches: Arc<Branches>,
    pub(crate) courses: Arc<Courses>,
    pub(crate) active: Arc<RoaringBitmap>,
    pub(crate) suspended: Arc<RoaringBitmap>,
    /// Every user in the image.
    pub(crate) universe: Arc<RoaringBitmap>,
    slots: Arc<Slots>,
}

impl Default for Image {
    fn default() -> Self {
        Self {
            fields: Vec::new(),
            field_by_code: HashMap::new(),
            text: (0..STANDARD_TEXT).map(|_| Some(TextColumn::default())).collect(),
            dates: (0..STANDARD_DATES).map(|_| Some(Arc::default())).collect(),
            numbers: Vec::new(),
            yes_no: Vec::new(),
            branches: Arc::default(),
            courses: Arc::default(),
            active: Arc::default(),
            suspended: Arc::default(),
            universe: Arc::default(),
            slots: Arc::default(),
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

/// What an image knows of the catalog (see [`Image::catalog_outline`]).
pub(crate) type Outline<'a> = (Vec<&'a FieldDef>, Vec<(i64, String, Option<i64>)>, Vec<(i64, String)>);

/// Writes a slab of columns, holes included.
fn write_slab<T, W: Write>(
    w: &mut Writer<W>,
    slab: &[Option<T>],
    write: impl Fn(&T, &mut Writer<W>) -> io::Result<()>,
) -> io::Result<()> {
    w.count(slab.len())?;
    for column in slab {
        w.bool(column.is_some())?;
        if let Some(c) = column {
            write(c, w)?;
        }
    }
    Ok(())
}

/// Reads back a slab written by [`write_slab`].
fn read_slab<T, R: Read>(
    r: &mut Reader<R>,
    read: impl Fn(&mut Reader<R>) -> io::Result<T>,
) -> io::Result<Vec<Option<T>>> {
    let mut slab = Vec::new();
    for _ in 0..r.count()? {
        slab.push(if r.bool()? { Some(read(r)?) } else { None });
    }
    Ok(slab)
}

/// The column at `index` of a slab.
pub(crate) fn column<T>(slab: &[Option<T>], index: u32) -> Option<&T> {
    slab.get(index as usize)?.as_ref()
}

impl Image {
    /// Starts or ends a bulk load in every date and number index.
    pub(crate) fn set_bulk(&mut self, bulk: bool) {
        let courses = Arc::make_mut(&mut self.courses).date_indexes_mut();
        let dates = self.dates.iter_mut().flatten().map(|c| &mut Arc::make_mut(c).index).chain(courses);
        dates.for_each(|index| index.set_bulk(bulk));
        self.numbers.iter_mut().flatten().for_each(|column| Arc::make_mut(column).index.set_bulk(bulk));
    }

    /// Holds back the prefixes of every date and number index while a batch is
    /// applied (`true`); the batch's moves reach them together (`false`).
    fn hold_prefixes(&mut self, hold: bool) {
        let courses = Arc::make_mut(&mut self.courses).date_indexes_mut();
        let dates = self.dates.iter_mut().flatten().map(|c| &mut Arc::make_mut(c).index).chain(courses);
        dates.for_each(|index| index.hold(hold));
        self.numbers.iter_mut().flatten().for_each(|column| Arc::make_mut(column).index.hold(hold));
    }

    /// Writes the whole population as it is held: columns, dictionaries, indexes and
    /// bitmaps, so that reading it back is copying, not inserting user by user.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        w.count(self.fields.len())?;
        for f in &self.fields {
            w.str(&serde_json::to_string(&f.def).map_err(io::Error::other)?)?;
            let (kind, index) = match f.column {
                FieldColumn::Text(c) => (0, c),
                FieldColumn::Number(c) => (1, c),
                FieldColumn::Date(c) => (2, c),
                FieldColumn::YesNo(c) => (3, c),
            };
            w.u8(kind)?;
            w.u32(index)?;
        }
        write_slab(w, &self.text, TextColumn::write)?;
        write_slab(w, &self.dates, |c, w| c.write(w))?;
        write_slab(w, &self.numbers, |c, w| c.write(w))?;
        write_slab(w, &self.yes_no, |c, w| c.write(w))?;
        self.branches.write(w)?;
        self.courses.write(w)?;
        w.bitmap(&self.active)?;
        w.bitmap(&self.suspended)?;
        w.bitmap(&self.universe)?;
        self.slots.write(w)
    }

    /// Reads back what [`Image::write`] wrote, checking that its parts fit together.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        let mut fields = Vec::new();
        let mut field_by_code = HashMap::new();
        for _ in 0..r.count()? {
            let def: FieldDef = serde_json::from_str(&r.str()?).map_err(|e| invalid(e.to_string()))?;
            let column = match (r.u8()?, r.u32()?) {
                (0, c) => FieldColumn::Text(c),
                (1, c) => FieldColumn::Number(c),
                (2, c) => FieldColumn::Date(c),
                (3, c) => FieldColumn::YesNo(c),
                _ => return Err(invalid("a field's column")),
            };
            field_by_code.insert(fold(def.code.as_str()).into_owned(), fields.len());
            fields.push(FieldSlot { def, column });
        }
        let image = Self {
            fields,
            field_by_code,
            text: read_slab(r, TextColumn::read)?,
            dates: read_slab(r, |r| DateColumn::read(r).map(Arc::new))?,
            numbers: read_slab(r, |r| NumberColumn::read(r).map(Arc::new))?,
            yes_no: read_slab(r, |r| YesNoColumn::read(r).map(Arc::new))?,
            branches: Arc::new(Branches::read(r)?),
            courses: Arc::new(Courses::read(r)?),
            active: Arc::new(r.bitmap()?),
            suspended: Arc::new(r.bitmap()?),
            universe: Arc::new(r.bitmap()?),
            slots: Arc::new(Slots::read(r)?),
        };
        let columns_exist = image.fields.iter().all(|f| match f.column {
            FieldColumn::Text(c) => column(&image.text, c).is_some(),
            FieldColumn::Number(c) => column(&image.numbers, c).is_some(),
            FieldColumn::Date(c) => column(&image.dates, c).is_some(),
            FieldColumn::YesNo(c) => column(&image.yes_no, c).is_some(),
        });
        let standard = (0..STANDARD_TEXT).all(|c| image.text.get(c).is_some_and(Option::is_some))
            && (0..STANDARD_DATES).all(|c| image.dates.get(c).is_some_and(Option::is_some));
        let users = image.universe.len() == image.slots.users().count() as u64
            && image.slots.users().all(|u| image.universe.contains(u))
            && image.active.len() + image.suspended.len() == image.universe.len()
            && image.active.is_subset(&image.universe)
            && image.suspended.is_subset(&image.universe);
        if !(columns_exist && standard && users) {
            return Err(invalid("an image whose columns and users do not fit together"));
        }
        Ok(image)
    }

    /// What the image knows of the catalog: each field's definition, each branch's id,
    /// code and parent's id, each course's id and code; in a stable order.
    pub(crate) fn catalog_outline(&self) -> Outline<'_> {
        let fields = self.fields.iter().map(|f| &f.def).collect();
        (fields, self.branches.outline(), self.courses.outline())
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
        let batch = users.len() >= HOLD_FROM;
        if batch {
            self.hold_prefixes(true);
        }
        let changes = self.upsert_each(users);
        if batch {
            self.hold_prefixes(false);
        }
        changes
    }

    /// [`Image::upsert`], the prefixes held back or not.
    fn upsert_each(&mut self, users: &[UserRecord]) -> Result<Vec<UserChange>, EngineError> {
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
            row.slot = Arc::make_mut(&mut self.slots).insert(row.id);
            add(Arc::make_mut(&mut self.universe), row.id);
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
            let (to, from) = (Arc::make_mut(to), Arc::make_mut(from));
            add(to, row.id);
            if from.remove(row.id) {
                change.add(Input::Status);
            }
        }
        let branches = Arc::make_mut(&mut self.branches);
        for (row, change) in rows.iter().zip(&mut changes) {
            if branches.set(row.slot, row.id, row.branch) {
                change.add(Input::Branch);
            }
        }
        let dates: [(u32, DateOf); 2] = [(CREATED, |u| Some(u.created_on)), (LAST_LOGIN, |u| u.last_login_on)];
        for (c, value) in dates {
            if let Some(column) = self.dates[c as usize].as_mut().map(Arc::make_mut) {
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
                self.numbers.get_mut(c as usize).and_then(Option::as_mut).map(Arc::make_mut).is_some_and(|col| {
                    let n = match value {
                        Some(FieldValue::Number(n)) => Some(*n),
                        _ => None,
                    };
                    col.set(slot, user, n)
                })
            }
            (FieldColumn::Date(c), value) => {
                self.dates.get_mut(c as usize).and_then(Option::as_mut).map(Arc::make_mut).is_some_and(|col| {
                    let d = match value {
                        Some(FieldValue::Date(d)) => Some(*d),
                        _ => None,
                    };
                    col.set(slot, user, d)
                })
            }
            (FieldColumn::YesNo(c), value) => {
                self.yes_no.get_mut(c as usize).and_then(Option::as_mut).map(Arc::make_mut).is_some_and(|col| {
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
            Arc::make_mut(c).set(slot, user, None);
        }
        for c in self.numbers.iter_mut().flatten() {
            Arc::make_mut(c).set(slot, user, None);
        }
        for c in self.yes_no.iter_mut().flatten() {
            Arc::make_mut(c).set(user, None);
        }
        Arc::make_mut(&mut self.branches).set(slot, user, None);
        Arc::make_mut(&mut self.courses).clear_user(slot, user);
        Arc::make_mut(&mut self.active).remove(user);
        Arc::make_mut(&mut self.suspended).remove(user);
        Arc::make_mut(&mut self.universe).remove(user);
        Arc::make_mut(&mut self.slots).remove(user);
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
        Arc::make_mut(&mut self.courses).set(slot, id, index, record);
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
        Arc::make_mut(&mut self.branches).apply(plan.tree);
        Arc::make_mut(&mut self.courses).apply(plan.courses);
    }
}
