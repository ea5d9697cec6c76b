//! The image read back: every user as a record, the population as the engine holds it
//! (columns, dictionaries, indexes), and every group as its definition and members. The
//! app saves the population and the groups to a file so that the next start-up copies
//! the engine back instead of rebuilding it from the database.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::sync::Arc;

use roaring::RoaringBitmap;
use roster_domain::{EnrollmentRule, FieldValue, UserStatus};

use crate::codec::{invalid, Reader, Writer};
use crate::columns::date_of;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::groups::Policy;
use crate::image::{
    column, FieldColumn, Image, CREATED, EMAIL, FIRST_NAME, LANGUAGE, LAST_LOGIN, LAST_NAME, TIMEZONE, USERNAME,
};
use crate::input::{AutomaticGroup, EnrollmentRecord, UserRecord};
use crate::text::TextColumn;

/// A group as the image holds it.
#[derive(Debug)]
pub struct GroupImage<'a> {
    /// The group's id.
    pub id: i64,
    /// Its name.
    pub name: &'a str,
    /// An automatic group's definition (its rule as checked); `None` for a manual group.
    pub automatic: Option<AutomaticGroup>,
    /// Its members as last committed.
    pub members: &'a RoaringBitmap,
    /// Its enrollment rules.
    pub enrollment_rules: &'a [EnrollmentRule],
}

/// A user's enrollments, by course id.
pub type Enrollments = Vec<(i64, EnrollmentRecord)>;

impl Engine {
    /// Every user as the image holds them, in id order, with their enrollments: given
    /// back to a new engine ([`Engine::bulk_load`]) they make the same image.
    pub fn records(&self) -> impl Iterator<Item = (UserRecord, Enrollments)> + '_ {
        let courses = self.image.courses.ids_by_index();
        let branches = self.image.branches.ids_by_index();
        self.image.universe.iter().filter_map(move |user| record(&self.image, user, &courses, &branches))
    }

    /// Every group, manual ones first and automatic ones in dependency order (a group's
    /// rule names only groups before it).
    pub fn group_images(&self) -> impl Iterator<Item = GroupImage<'_>> + '_ {
        let manual = self.groups.iter().filter(|(id, _)| !self.positions.contains_key(id)).map(|(id, _)| *id);
        let mut manual: Vec<i64> = manual.collect();
        manual.sort_unstable();
        manual.into_iter().chain(self.order.iter().copied()).filter_map(move |id| {
            let group = self.groups.get(&id)?;
            let automatic = match &group.policy {
                Policy::Manual => None,
                Policy::Automatic(auto) => Some(AutomaticGroup {
                    rule: auto.rule.clone(),
                    include: auto.include.iter().map(i64::from).collect(),
                    exclude: auto.exclude.iter().map(i64::from).collect(),
                    allow_suspended: auto.allow_suspended,
                }),
            };
            Some(GroupImage {
                id,
                name: &group.name,
                automatic,
                members: &group.members,
                enrollment_rules: self.enrollment_rules(id),
            })
        })
    }

    /// Writes the population as the engine holds it: every user's values in their
    /// columns, the dictionaries of text values, the date and number indexes, the org
    /// chart's and the courses' bitmaps. Groups are not in it (see
    /// [`Engine::group_images`]).
    pub fn write_population<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        self.image.write(w)
    }

    /// Puts back a population written by [`Engine::write_population`], into an engine
    /// that has its catalog ([`Engine::set_catalog`]) and neither users nor groups yet:
    /// the catalog must be the one the population was written with. Then come the
    /// groups, as at any start-up: their rules' text conditions find the values they
    /// match read back rather than search every value again, until
    /// [`Engine::forget_read_matches`] or a new value.
    pub fn read_population<R: Read>(&mut self, r: &mut Reader<R>) -> io::Result<()> {
        if !self.image.universe.is_empty() || !self.groups.is_empty() {
            return Err(invalid("a population read into an engine that has users or groups"));
        }
        let image = Image::read(r)?;
        if image.catalog_outline() != self.image.catalog_outline() {
            return Err(invalid("a population written with another catalog"));
        }
        self.image = image;
        Ok(())
    }

    /// Forgets what the population read back knew of its rules' text matches, once
    /// its groups are set (see [`Engine::read_population`]); the memory is the users'.
    pub fn forget_read_matches(&mut self) {
        self.image.text.iter_mut().flatten().for_each(TextColumn::forget_found);
    }

    /// Sets a group's members as saved (see [`Engine::load_members`]); every member must
    /// be a user of the image.
    pub fn load_member_set(&mut self, group: i64, members: RoaringBitmap) -> Result<(), EngineError> {
        if let Some(stranger) = (&members - &*self.image.universe).min() {
            return Err(EngineError::UnknownUser(i64::from(stranger)));
        }
        Arc::make_mut(self.groups.get_mut(&group).ok_or(EngineError::UnknownGroup(group))?).members = members;
        Ok(())
    }
}

fn record(
    image: &Image,
    user: u32,
    courses: &HashMap<u32, i64>,
    branches: &HashMap<u32, i64>,
) -> Option<(UserRecord, Enrollments)> {
    let slot = image.slot(user)?;
    let text = |c: u32| -> Option<String> {
        let col = column(&image.text, c)?;
        col.value_at(slot).map(|v| col.exact(v).to_owned())
    };
    let date = |c: u32| column(&image.dates, c).and_then(|col| col.day(slot)).and_then(date_of);
    let mut fields = BTreeMap::new();
    for f in &image.fields {
        let value = match f.column {
            FieldColumn::Text(c) => text(c).map(FieldValue::Text),
            FieldColumn::Number(c) => {
                column(&image.numbers, c).and_then(|col| col.number(slot)).map(FieldValue::Number)
            }
            FieldColumn::Date(c) => date(c).map(FieldValue::Date),
            FieldColumn::YesNo(c) => column(&image.yes_no, c).and_then(|col| col.value(user)).map(FieldValue::YesNo),
        };
        if let Some(value) = value {
            fields.insert(f.def.code.as_str().to_owned(), value);
        }
    }
    let record = UserRecord {
        id: i64::from(user),
        username: text(USERNAME).unwrap_or_default(),
        email: text(EMAIL).unwrap_or_default(),
        first_name: text(FIRST_NAME),
        last_name: text(LAST_NAME),
        status: if image.suspended.contains(user) { UserStatus::Suspended } else { UserStatus::Active },
        language: text(LANGUAGE),
        timezone: text(TIMEZONE),
        branch_id: image.branches.at(slot).and_then(|b| branches.get(&b).copied()),
        created_on: date(CREATED)?,
        last_login_on: date(LAST_LOGIN),
        fields,
    };
    let enrollments = image
        .courses
        .of_slot(slot)
        .iter()
        .filter_map(|e| {
            let course = *courses.get(&e.course())?;
            let record = EnrollmentRecord {
                status: e.status,
                enrolled_on: date_of(e.enrolled_day())?,
                completed_on: e.completed_day().and_then(date_of),
            };
            Some((course, record))
        })
        .collect();
    Some((record, enrollments))
}
