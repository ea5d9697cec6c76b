//! Courses and enrollments: each user's enrollments for one user's evaluation, and for
//! each course the users by status and by enrollment and completion day.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::sync::Arc;

use roaring::RoaringBitmap;
use roster_domain::rule::CourseStatus;
use roster_domain::{Course, EnrollmentStatus};

use crate::codec::{invalid, Reader, Writer};
use crate::columns::day_of;
use crate::error::EngineError;
use crate::input::EnrollmentRecord;
use crate::ordered::DateIndex;
use crate::posting::{add, Union};
use crate::text::fold;

/// No completion day.
const NO_DAY: i32 = i32::MIN;

/// One course's users.
#[derive(Debug, Clone)]
pub(crate) struct CourseColumns {
    pub(crate) code: String,
    /// By [`status_index`].
    status: [RoaringBitmap; 4],
    pub(crate) enrolled_at: DateIndex,
    pub(crate) completed_at: DateIndex,
}

impl CourseColumns {
    fn new(code: String) -> Self {
        Self { code, status: Default::default(), enrolled_at: DateIndex::default(), completed_at: DateIndex::default() }
    }

    /// The users in a status; `None` for `not_enrolled`, which is everyone else.
    pub(crate) fn in_status(&self, status: CourseStatus) -> Option<&RoaringBitmap> {
        let index = match status {
            CourseStatus::NotEnrolled => return None,
            CourseStatus::Enrolled => 0,
            CourseStatus::InProgress => 1,
            CourseStatus::Completed => 2,
            CourseStatus::Failed => 3,
        };
        Some(&self.status[index])
    }

    /// The users enrolled in one of these statuses (`not_enrolled` aside): at most two
    /// statuses united, or everyone enrolled but the other statuses.
    pub(crate) fn in_statuses(&self, statuses: &[CourseStatus]) -> Cow<'_, RoaringBitmap> {
        let united = |chosen: bool| {
            let mut union = Union::default();
            CourseStatus::ALL
                .into_iter()
                .filter(|s| statuses.contains(s) == chosen)
                .filter_map(|s| self.in_status(s))
                .for_each(|users| union.add_bitmap(users));
            union.finish()
        };
        if statuses.iter().filter(|s| self.in_status(**s).is_some()).count() <= 2 {
            return united(true);
        }
        let everyone = self.enrolled_at.present();
        match united(false) {
            others if others.is_empty() => Cow::Borrowed(everyone),
            others => Cow::Owned(everyone - &*others),
        }
    }
}

/// The statuses by [`status_index`].
const ENROLLMENT_STATUSES: [EnrollmentStatus; 4] =
    [EnrollmentStatus::Enrolled, EnrollmentStatus::InProgress, EnrollmentStatus::Completed, EnrollmentStatus::Failed];

fn status_index(status: EnrollmentStatus) -> usize {
    match status {
        EnrollmentStatus::Enrolled => 0,
        EnrollmentStatus::InProgress => 1,
        EnrollmentStatus::Completed => 2,
        EnrollmentStatus::Failed => 3,
    }
}

/// One enrollment of a user.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Enrolled {
    course: u32,
    /// Where the user stands.
    pub(crate) status: EnrollmentStatus,
    enrolled_on: i32,
    completed_on: i32,
}

impl Enrolled {
    /// The course's index.
    pub(crate) fn course(&self) -> u32 {
        self.course
    }

    /// The enrollment day.
    pub(crate) fn enrolled_day(&self) -> i64 {
        i64::from(self.enrolled_on)
    }

    /// The completion day.
    pub(crate) fn completed_day(&self) -> Option<i64> {
        Some(self.completed_on).filter(|&d| d != NO_DAY).map(i64::from)
    }
}

/// Slots per chunk of [`Courses`]'s enrollments by slot.
const CHUNK: usize = 4096;

/// Every course, with its users; courses keep their index while they exist. Cloning
/// it is cheap: each course and each chunk of slots is shared until written.
#[derive(Debug, Default, Clone)]
pub(crate) struct Courses {
    slab: Vec<Option<Arc<CourseColumns>>>,
    by_id: HashMap<i64, u32>,
    by_code: HashMap<String, u32>,
    /// Each slot's enrollments, sorted by course, in chunks of [`CHUNK`] slots; boxed
    /// to their exact size, since there are millions.
    by_slot: Vec<Arc<Vec<Box<[Enrolled]>>>>,
}

/// A checked new course list: (id, code, index).
#[derive(Debug)]
pub(crate) struct CoursePlan(Vec<(i64, String, u32)>);

impl Courses {
    /// Writes every course's users and every user's enrollments.
    pub(crate) fn write<W: Write>(&self, w: &mut Writer<W>) -> io::Result<()> {
        w.count(self.slab.len())?;
        for columns in &self.slab {
            w.bool(columns.is_some())?;
            if let Some(c) = columns {
                w.str(&c.code)?;
                c.status.iter().try_for_each(|users| w.bitmap(users))?;
                c.enrolled_at.write(w)?;
                c.completed_at.write(w)?;
            }
        }
        let (ids, indexes): (Vec<i64>, Vec<u32>) = self.by_id.iter().map(|(&id, &index)| (id, index)).unzip();
        w.ids(&ids)?;
        w.u32s(&indexes)?;
        let lists = || self.by_slot.iter().flat_map(|chunk| chunk.iter());
        let all = || lists().flat_map(|e| e.iter());
        w.u32s(&lists().map(|e| u32::try_from(e.len()).unwrap_or(u32::MAX)).collect::<Vec<_>>())?;
        w.u32s(&all().map(|e| e.course).collect::<Vec<_>>())?;
        w.u32s(&all().map(|e| status_index(e.status) as u32).collect::<Vec<_>>())?;
        w.i32s(&all().map(|e| e.enrolled_on).collect::<Vec<_>>())?;
        w.i32s(&all().map(|e| e.completed_on).collect::<Vec<_>>())
    }

    /// Each course's id and code, by id.
    pub(crate) fn outline(&self) -> Vec<(i64, String)> {
        let mut outline: Vec<_> =
            self.by_id.iter().filter_map(|(&id, &index)| Some((id, self.get(index)?.code.clone()))).collect();
        outline.sort_unstable();
        outline
    }

    /// Reads back what [`Courses::write`] wrote.
    pub(crate) fn read<R: Read>(r: &mut Reader<R>) -> io::Result<Self> {
        let mut courses = Self::default();
        for _ in 0..r.count()? {
            let columns = if r.bool()? {
                Some(Arc::new(CourseColumns {
                    code: r.str()?,
                    status: [r.bitmap()?, r.bitmap()?, r.bitmap()?, r.bitmap()?],
                    enrolled_at: DateIndex::read(r)?,
                    completed_at: DateIndex::read(r)?,
                }))
            } else {
                None
            };
            courses.slab.push(columns);
        }
        let (ids, indexes) = (r.ids()?, r.u32s()?);
        if ids.len() != indexes.len() || indexes.iter().any(|&i| courses.get(i).is_none()) {
            return Err(invalid("courses whose ids do not fit"));
        }
        for (id, index) in ids.into_iter().zip(indexes) {
            courses.by_id.insert(id, index);
            if let Some(c) = courses.get(index) {
                courses.by_code.insert(fold(&c.code).into_owned(), index);
            }
        }
        let lens = r.u32s()?;
        let (course, status, enrolled_on, completed_on) = (r.u32s()?, r.u32s()?, r.i32s()?, r.i32s()?);
        let total = lens.iter().map(|&n| n as usize).sum::<usize>();
        if [status.len(), enrolled_on.len(), completed_on.len()].iter().any(|&n| n != course.len())
            || total != course.len()
        {
            return Err(invalid("enrollments that do not fit together"));
        }
        let mut at = 0;
        for (slot, n) in lens.into_iter().enumerate() {
            let mut enrollments = Vec::with_capacity(n as usize);
            for i in at..at + n as usize {
                let status =
                    *ENROLLMENT_STATUSES.get(status[i] as usize).ok_or_else(|| invalid("an enrollment status"))?;
                if courses.get(course[i]).is_none() {
                    return Err(invalid("an enrollment in an unknown course"));
                }
                enrollments.push(Enrolled {
                    course: course[i],
                    status,
                    enrolled_on: enrolled_on[i],
                    completed_on: completed_on[i],
                });
            }
            at += n as usize;
            *courses.list_mut(slot) = enrollments.into_boxed_slice();
        }
        Ok(courses)
    }

    /// Every course's date indexes.
    pub(crate) fn date_indexes_mut(&mut self) -> impl Iterator<Item = &mut DateIndex> {
        self.slab.iter_mut().flatten().map(Arc::make_mut).flat_map(|c| [&mut c.enrolled_at, &mut c.completed_at])
    }

    /// A slot's enrollments, if the slot was ever given any.
    fn list(&self, slot: u32) -> Option<&[Enrolled]> {
        let slot = slot as usize;
        Some(&self.by_slot.get(slot / CHUNK)?.get(slot % CHUNK)?[..])
    }

    /// A slot's enrollments to change (see [`list_mut`]).
    fn list_mut(&mut self, slot: usize) -> &mut Box<[Enrolled]> {
        list_mut(&mut self.by_slot, slot)
    }

    /// The index of a course id.
    pub(crate) fn index_of_id(&self, id: i64) -> Option<u32> {
        self.by_id.get(&id).copied()
    }

    /// The index of a course code (any case).
    pub(crate) fn index_of_code(&self, code: &str) -> Option<u32> {
        self.by_code.get(&*fold(code)).copied()
    }

    /// A course's users.
    pub(crate) fn get(&self, index: u32) -> Option<&CourseColumns> {
        self.slab.get(index as usize)?.as_deref()
    }

    /// Each course's id by its index.
    pub(crate) fn ids_by_index(&self) -> HashMap<u32, i64> {
        self.by_id.iter().map(|(&id, &index)| (index, id)).collect()
    }

    /// A slot's enrollments, by course index.
    pub(crate) fn of_slot(&self, slot: u32) -> &[Enrolled] {
        self.list(slot).unwrap_or_default()
    }

    /// A user's enrollment in a course.
    pub(crate) fn enrollment(&self, slot: u32, course: u32) -> Option<Enrolled> {
        let list = self.list(slot)?;
        list.binary_search_by_key(&course, |e| e.course).ok().map(|i| list[i])
    }

    /// Sets or clears a user's enrollment in a course (an index).
    pub(crate) fn set(&mut self, slot: u32, user: u32, course: u32, record: Option<&EnrollmentRecord>) {
        let Some(Some(columns)) = self.slab.get_mut(course as usize) else {
            return;
        };
        let columns = Arc::make_mut(columns);
        let slot_list = list_mut(&mut self.by_slot, slot as usize);
        let at = slot_list.binary_search_by_key(&course, |e| e.course);
        if let Ok(i) = at {
            unindex(columns, &slot_list[i], user);
        }
        if let (Some(record), Ok(i)) = (record, at) {
            let enrolled = enrolled(course, record);
            index(columns, &enrolled, user);
            slot_list[i] = enrolled;
            return;
        }
        let mut list = std::mem::take(slot_list).into_vec();
        match (record, at) {
            (Some(record), Err(i)) => {
                let enrolled = enrolled(course, record);
                index(columns, &enrolled, user);
                list.insert(i, enrolled);
            }
            (None, Ok(i)) => {
                list.remove(i);
            }
            _ => {}
        }
        *slot_list = list.into_boxed_slice();
    }

    /// Clears every enrollment of a user.
    pub(crate) fn clear_user(&mut self, slot: u32, user: u32) {
        if self.list(slot).is_none_or(<[Enrolled]>::is_empty) {
            return;
        }
        for enrolled in std::mem::take(self.list_mut(slot as usize)).into_vec() {
            if let Some(Some(columns)) = self.slab.get_mut(enrolled.course as usize) {
                unindex(Arc::make_mut(columns), &enrolled, user);
            }
        }
    }

    /// Checks a new course list: unique ids and codes, and no course with enrollments
    /// left out.
    pub(crate) fn plan(&self, courses: &[Course]) -> Result<CoursePlan, EngineError> {
        let invalid = |m: String| Err(EngineError::InvalidCatalog(m));
        let mut next = self.slab.len();
        let mut ids = HashSet::new();
        let mut codes = HashSet::new();
        let mut plan = Vec::with_capacity(courses.len());
        for c in courses {
            if !ids.insert(c.id) {
                return invalid(format!("course #{} appears twice", c.id));
            }
            if !codes.insert(fold(&c.code).into_owned()) {
                return invalid(format!("course code \"{}\" appears twice", c.code));
            }
            let index = match self.by_id.get(&c.id) {
                Some(&i) => i,
                None => {
                    next += 1;
                    u32::try_from(next - 1).map_err(|_| EngineError::InvalidCatalog("too many courses".into()))?
                }
            };
            plan.push((c.id, c.code.clone(), index));
        }
        for (id, &index) in &self.by_id {
            let used = self.get(index).is_some_and(|c| !c.enrolled_at.present().is_empty());
            if used && !ids.contains(id) {
                return invalid(format!("course #{id} still has enrollments"));
            }
        }
        Ok(CoursePlan(plan))
    }

    /// Replaces the course list with a checked one.
    pub(crate) fn apply(&mut self, plan: CoursePlan) {
        let mut old = std::mem::take(&mut self.slab);
        self.by_id.clear();
        self.by_code.clear();
        for (id, code, index) in plan.0 {
            let i = index as usize;
            if i >= self.slab.len() {
                self.slab.resize_with(i + 1, || None);
            }
            let mut columns =
                old.get_mut(i).and_then(Option::take).unwrap_or_else(|| Arc::new(CourseColumns::new(code.clone())));
            if columns.code != code {
                Arc::make_mut(&mut columns).code.clone_from(&code);
            }
            self.slab[i] = Some(columns);
            self.by_id.insert(id, index);
            self.by_code.insert(fold(&code).into_owned(), index);
        }
    }
}

/// A slot's enrollments to change, its chunk made first if new (every chunk is whole,
/// so that the slots of all chunks, one after the other, are every slot), and copied
/// first if shared.
fn list_mut(by_slot: &mut Vec<Arc<Vec<Box<[Enrolled]>>>>, slot: usize) -> &mut Box<[Enrolled]> {
    let (chunk, at) = (slot / CHUNK, slot % CHUNK);
    if chunk >= by_slot.len() {
        by_slot.resize_with(chunk + 1, || Arc::new(vec![Box::default(); CHUNK]));
    }
    &mut Arc::make_mut(&mut by_slot[chunk])[at]
}

fn enrolled(course: u32, record: &EnrollmentRecord) -> Enrolled {
    Enrolled {
        course,
        status: record.status,
        enrolled_on: day_of(record.enrolled_on),
        completed_on: record.completed_on.map_or(NO_DAY, day_of),
    }
}

fn index(columns: &mut CourseColumns, enrolled: &Enrolled, user: u32) {
    add(&mut columns.status[status_index(enrolled.status)], user);
    columns.enrolled_at.insert(enrolled.enrolled_day(), user);
    if let Some(day) = enrolled.completed_day() {
        columns.completed_at.insert(day, user);
    }
}

fn unindex(columns: &mut CourseColumns, enrolled: &Enrolled, user: u32) {
    columns.status[status_index(enrolled.status)].remove(user);
    columns.enrolled_at.remove(enrolled.enrolled_day(), user);
    if let Some(day) = enrolled.completed_day() {
        columns.completed_at.remove(day, user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Reader, Writer};
    use chrono::NaiveDate;

    fn record(status: EnrollmentStatus, day: u32) -> EnrollmentRecord {
        let on = NaiveDate::from_ymd_opt(2026, 1, day).unwrap_or_default();
        EnrollmentRecord { status, enrolled_on: on, completed_on: None }
    }

    fn courses() -> Courses {
        let mut courses = Courses::default();
        let list: Vec<Course> =
            (0..2).map(|i| Course { id: i + 10, code: format!("C{i}"), name: format!("C{i}") }).collect();
        let plan = courses.plan(&list).unwrap_or_else(|e| panic!("{e:?}"));
        courses.apply(plan);
        courses
    }

    /// Every slot's enrollments (course, status) and every course's users in each
    /// status.
    type Seen = (Vec<Vec<(u32, usize)>>, Vec<Vec<u64>>);

    /// What [`Seen`] says of `courses`, up to `slots`.
    fn seen(courses: &Courses, slots: u32) -> Seen {
        let by_slot = (0..slots)
            .map(|s| courses.of_slot(s).iter().map(|e| (e.course, status_index(e.status))).collect())
            .collect();
        let by_course = (0..2)
            .map(|c| courses.get(c).map(|c| c.status.iter().map(RoaringBitmap::len).collect()).unwrap_or_default())
            .collect();
        (by_slot, by_course)
    }

    /// Slots on both sides of a chunk's end: a clone written leaves the original as it
    /// was, and both read back as written.
    #[test]
    fn chunks_of_slots_are_shared_until_written() {
        let slots = u32::try_from(CHUNK * 2 + 5).unwrap_or(u32::MAX);
        let mut original = courses();
        for slot in (0..slots).step_by(97).chain([4095, 4096, 4097, slots - 1]) {
            original.set(slot, slot + 1, slot % 2, Some(&record(EnrollmentStatus::Enrolled, 1 + slot % 27)));
        }
        let before = seen(&original, slots);
        let mut copy = original.clone();
        copy.set(4096, 4097, 0, Some(&record(EnrollmentStatus::Completed, 3)));
        copy.set(4095, 4096, 1, None);
        copy.set(slots + 10, slots + 11, 1, Some(&record(EnrollmentStatus::Failed, 4)));
        copy.clear_user(slots - 1, slots);
        let unwritten = (slots..slots + 11).map(|_| vec![]);
        let kept = (before.0.iter().cloned().chain(unwritten).collect(), before.1.clone());
        assert!(seen(&original, slots + 11) == kept, "the original moved with its copy");
        let changed = seen(&copy, slots + 11);
        assert_eq!(changed.0[4096], vec![(0, 2)]);
        assert!(changed.0[4095].is_empty() && changed.0[slots as usize - 1].is_empty());
        assert_eq!(changed.0[slots as usize + 10], vec![(1, 3)]);
        for courses in [&original, &copy] {
            let mut bytes = Vec::new();
            courses.write(&mut Writer(&mut bytes)).unwrap_or_else(|e| panic!("{e}"));
            let read = Courses::read(&mut Reader(&bytes[..])).unwrap_or_else(|e| panic!("{e}"));
            assert!(seen(&read, slots + 11) == seen(courses, slots + 11), "read back otherwise than written");
        }
    }
}
