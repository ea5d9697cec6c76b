//! The image saved to a file, so that a start-up reads it back in seconds instead of
//! rebuilding it from every row of the database (a minute at a million users).
//!
//! The file holds what the engine holds: the catalog, every user's values and
//! enrollments, every group's definition, members and enrollment rules, and where in the
//! change log the image stood. It is trusted only for the database that wrote it (a
//! random id kept in the database's facts), for the same platform time zone (users'
//! days are taken in it), and only while the change log still holds the change it stood
//! at, with the same time; the changes after it are then replayed as for any image
//! behind the log. Anything else — another format, another database or time zone, a
//! pruned or rewound log, a file that does not read to its end, values the engine
//! refuses — and the image is rebuilt from the database, as without a file.
//!
//! The format is this module's own: little-endian integers, length-prefixed UTF-8,
//! bitmaps in roaring's portable form.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use roaring::RoaringBitmap;
use roster_domain::rule::Rule;
use roster_domain::{Branch, Course, EnrollmentRule, EnrollmentStatus, FieldDef, FieldValue, UserStatus};
use roster_engine::{AutomaticGroup, Catalog, Engine, EnrollmentRecord, UserRecord};

/// The first bytes of a saved image.
const MAGIC: &[u8; 14] = b"roster-image\n\0";
/// The layout of what follows; a file of any other is ignored.
const FORMAT: u32 = 2;
/// The last bytes, after the groups: a file cut short never reads as complete.
const END: &[u8; 4] = b"end\n";
/// Users handed to the engine at a time while reading.
const BATCH: usize = 20_000;
/// The fact naming the database, which a saved image must carry.
pub(crate) const DATABASE_ID: &str = "database_id";

/// Where a saved image stood: the database and the change it reflects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub database: String,
    /// The platform time zone the users' days were taken in.
    pub timezone: String,
    pub seq: i64,
    /// The time of change `seq`, epoch ms.
    pub at: i64,
}

/// What saving wrote.
#[derive(Debug, Clone, Copy)]
pub struct Saved {
    /// Users in the image.
    pub users: u64,
    /// Groups in the image.
    pub groups: u64,
    /// The file's size in bytes.
    pub bytes: u64,
}

/// An image read back, not yet checked against the database.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub engine: Engine,
    pub stamp: Stamp,
}

/// Why a file was not used.
#[derive(Debug)]
pub(crate) enum Unusable {
    /// Not there.
    Missing,
    /// Another program's file, or another version's.
    Format(String),
    /// Cut short or unreadable.
    Io(io::Error),
    /// The engine refused what it holds.
    Engine(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("no saved image"),
            Self::Format(why) => write!(f, "not a saved image of this version: {why}"),
            Self::Io(e) => write!(f, "cannot read it: {e}"),
            Self::Engine(why) => write!(f, "its content is refused: {why}"),
        }
    }
}

impl From<io::Error> for Unusable {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

fn refused(e: roster_engine::EngineError) -> Unusable {
    Unusable::Engine(format!("{e:?}"))
}

/// Writes `engine` (which reflects `stamp`) to `path`: to a file beside it first,
/// renamed over it once complete and synced, so a reader never sees half a file.
pub(crate) fn save(path: &Path, engine: &Engine, catalog: &Catalog, stamp: &Stamp) -> io::Result<Saved> {
    let temporary = temporary_path(path);
    let result = (|| {
        let file = File::create(&temporary)?;
        let mut out = Out(BufWriter::with_capacity(1 << 20, file));
        let saved = write_image(&mut out, engine, catalog, stamp)?;
        let file = out.0.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        std::fs::rename(&temporary, path)?;
        Ok(Saved { bytes, ..saved })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// A name beside `path` no other process writes to.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

fn write_image<W: Write>(out: &mut Out<W>, engine: &Engine, catalog: &Catalog, stamp: &Stamp) -> io::Result<Saved> {
    out.bytes(MAGIC)?;
    out.u32(FORMAT)?;
    out.str(&stamp.database)?;
    out.str(&stamp.timezone)?;
    out.i64(stamp.seq)?;
    out.i64(stamp.at)?;

    out.len(catalog.fields.len())?;
    for f in &catalog.fields {
        out.str(&serde_json::to_string(f).map_err(io::Error::other)?)?;
    }
    out.len(catalog.branches.len())?;
    for b in &catalog.branches {
        out.i64(b.id)?;
        out.str(&b.code)?;
        out.str(&b.name)?;
        out.opt_i64(b.parent_id)?;
    }
    out.len(catalog.courses.len())?;
    for c in &catalog.courses {
        out.i64(c.id)?;
        out.str(&c.code)?;
        out.str(&c.name)?;
    }

    let field_index = |code: &str| catalog.fields.iter().position(|f| f.code.as_str() == code);
    let users = engine.users().len();
    out.u64(users)?;
    let mut written = 0u64;
    for (user, enrollments) in engine.records() {
        out.i64(user.id)?;
        out.str(&user.username)?;
        out.str(&user.email)?;
        out.opt_str(user.first_name.as_deref())?;
        out.opt_str(user.last_name.as_deref())?;
        out.u8(index_of(UserStatus::ALL, user.status))?;
        out.opt_str(user.language.as_deref())?;
        out.opt_str(user.timezone.as_deref())?;
        out.opt_i64(user.branch_id)?;
        out.day(user.created_on)?;
        out.opt_day(user.last_login_on)?;
        out.len(user.fields.len())?;
        for (code, value) in &user.fields {
            let index =
                field_index(code).ok_or_else(|| io::Error::other(format!("field {code} is not in the catalog")))?;
            out.len(index)?;
            match value {
                FieldValue::Text(s) => {
                    out.u8(0)?;
                    out.str(s)?;
                }
                FieldValue::Number(n) => {
                    out.u8(1)?;
                    out.u64(n.to_bits())?;
                }
                FieldValue::Date(d) => {
                    out.u8(2)?;
                    out.day(*d)?;
                }
                FieldValue::YesNo(b) => {
                    out.u8(3)?;
                    out.u8(u8::from(*b))?;
                }
            }
        }
        out.len(enrollments.len())?;
        for (course, e) in &enrollments {
            out.i64(*course)?;
            out.u8(index_of(EnrollmentStatus::ALL, e.status))?;
            out.day(e.enrolled_on)?;
            out.opt_day(e.completed_on)?;
        }
        written += 1;
    }
    if written != users {
        return Err(io::Error::other(format!("the image gave {written} of its {users} users back")));
    }

    let groups: Vec<_> = engine.group_images().collect();
    out.len(groups.len())?;
    for g in &groups {
        out.i64(g.id)?;
        out.str(g.name)?;
        match &g.automatic {
            None => out.u8(0)?,
            Some(a) => {
                out.u8(1)?;
                out.str(&serde_json::to_string(&a.rule).map_err(io::Error::other)?)?;
                out.ids(&a.include)?;
                out.ids(&a.exclude)?;
                out.u8(u8::from(a.allow_suspended))?;
            }
        }
        out.bitmap(g.members)?;
        out.len(g.enrollment_rules.len())?;
        for r in g.enrollment_rules {
            out.i64(r.course_id)?;
            out.opt_i64(r.due_days.map(i64::from))?;
            out.u8(u8::from(r.unenroll_on_leave))?;
        }
    }
    out.bytes(END)?;
    Ok(Saved { users, groups: groups.len() as u64, bytes: 0 })
}

/// Opens a saved image and reads where it stands.
fn open(path: &Path) -> Result<(In<BufReader<File>>, Stamp), Unusable> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Unusable::Missing),
        Err(e) => return Err(Unusable::Io(e)),
    };
    let mut input = In(BufReader::with_capacity(1 << 20, file));
    let mut magic = [0u8; MAGIC.len()];
    input.0.read_exact(&mut magic).map_err(|_| Unusable::Format("too short".into()))?;
    if &magic != MAGIC {
        return Err(Unusable::Format("not a saved image".into()));
    }
    let format = input.u32()?;
    if format != FORMAT {
        return Err(Unusable::Format(format!("format {format}, this version reads {FORMAT}")));
    }
    let stamp = Stamp { database: input.str()?, timezone: input.str()?, seq: input.i64()?, at: input.i64()? };
    Ok((input, stamp))
}

/// Where the image saved at `path` stands, read from its first bytes.
pub(crate) fn stamp(path: &Path) -> Result<Stamp, Unusable> {
    open(path).map(|(_, stamp)| stamp)
}

/// Reads the image saved at `path`.
pub(crate) fn load(path: &Path) -> Result<Loaded, Unusable> {
    let (mut input, stamp) = open(path)?;

    let mut catalog = Catalog::default();
    for _ in 0..input.len()? {
        let f: FieldDef = serde_json::from_str(&input.str()?).map_err(|e| Unusable::Format(e.to_string()))?;
        catalog.fields.push(f);
    }
    for _ in 0..input.len()? {
        catalog.branches.push(Branch {
            id: input.i64()?,
            code: input.str()?,
            name: input.str()?,
            parent_id: input.opt_i64()?,
        });
    }
    for _ in 0..input.len()? {
        catalog.courses.push(Course { id: input.i64()?, code: input.str()?, name: input.str()? });
    }
    let mut engine = Engine::new();
    engine.set_catalog(&catalog).map_err(refused)?;

    let users = input.u64()?;
    {
        let mut load = engine.bulk_load();
        let mut batch = Vec::with_capacity(BATCH);
        let mut enrollments: Vec<(i64, i64, EnrollmentRecord)> = Vec::new();
        for n in 0..users {
            let id = input.i64()?;
            let username = input.str()?;
            let email = input.str()?;
            let first_name = input.opt_str()?;
            let last_name = input.opt_str()?;
            let status = *UserStatus::ALL.get(usize::from(input.u8()?)).ok_or_else(|| bad("a user status"))?;
            let language = input.opt_str()?;
            let timezone = input.opt_str()?;
            let branch_id = input.opt_i64()?;
            let created_on = input.day()?;
            let last_login_on = input.opt_day()?;
            let mut fields = std::collections::BTreeMap::new();
            for _ in 0..input.len()? {
                let def = catalog.fields.get(input.len()?).ok_or_else(|| bad("a field"))?;
                let value = match input.u8()? {
                    0 => FieldValue::Text(input.str()?),
                    1 => FieldValue::Number(f64::from_bits(input.u64()?)),
                    2 => FieldValue::Date(input.day()?),
                    3 => FieldValue::YesNo(input.u8()? != 0),
                    _ => return Err(bad("a field value")),
                };
                fields.insert(def.code.as_str().to_owned(), value);
            }
            for _ in 0..input.len()? {
                let course = input.i64()?;
                let status =
                    *EnrollmentStatus::ALL.get(usize::from(input.u8()?)).ok_or_else(|| bad("an enrollment status"))?;
                let record = EnrollmentRecord { status, enrolled_on: input.day()?, completed_on: input.opt_day()? };
                enrollments.push((id, course, record));
            }
            batch.push(UserRecord {
                id,
                username,
                email,
                first_name,
                last_name,
                status,
                language,
                timezone,
                branch_id,
                created_on,
                last_login_on,
                fields,
            });
            if batch.len() == BATCH || n + 1 == users {
                load.upsert_users(&batch).map_err(refused)?;
                for (user, course, record) in enrollments.drain(..) {
                    load.set_enrollment(user, course, &record).map_err(refused)?;
                }
                batch.clear();
            }
        }
    }

    for _ in 0..input.len()? {
        let id = input.i64()?;
        let name = input.str()?;
        match input.u8()? {
            0 => engine.set_manual_group(id, &name, &[]).map_err(refused)?,
            1 => {
                let rule = Rule::from_json(&input.str()?).map_err(|e| Unusable::Format(e.to_string()))?;
                let definition = AutomaticGroup {
                    rule,
                    include: input.ids()?,
                    exclude: input.ids()?,
                    allow_suspended: input.u8()? != 0,
                };
                engine.set_automatic_group(id, &name, &definition).map_err(refused)?;
            }
            _ => return Err(bad("a group")),
        }
        engine.load_member_set(id, input.bitmap()?).map_err(refused)?;
        let mut rules = Vec::new();
        for _ in 0..input.len()? {
            let course_id = input.i64()?;
            let due_days = input.opt_i64()?.map(u32::try_from).transpose().map_err(|_| bad("a due date"))?;
            rules.push(EnrollmentRule { course_id, due_days, unenroll_on_leave: input.u8()? != 0 });
        }
        engine.set_enrollment_rules(id, rules);
    }
    let mut end = [0u8; END.len()];
    input.0.read_exact(&mut end)?;
    if &end != END {
        return Err(bad("its end"));
    }
    Ok(Loaded { engine, stamp })
}

fn bad(what: &str) -> Unusable {
    Unusable::Format(format!("{what} does not read"))
}

fn index_of<T: PartialEq>(all: &[T], value: T) -> u8 {
    all.iter().position(|v| *v == value).and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX)
}

/// A day as its number from the common era.
fn day_number(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

struct Out<W: Write>(W);

impl<W: Write> Out<W> {
    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.0.write_all(b)
    }
    fn u8(&mut self, v: u8) -> io::Result<()> {
        self.bytes(&[v])
    }
    fn u32(&mut self, v: u32) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn i64(&mut self, v: i64) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn len(&mut self, n: usize) -> io::Result<()> {
        self.u32(u32::try_from(n).map_err(|_| io::Error::other("a list too long to save"))?)
    }
    fn str(&mut self, s: &str) -> io::Result<()> {
        self.len(s.len())?;
        self.bytes(s.as_bytes())
    }
    fn opt_str(&mut self, s: Option<&str>) -> io::Result<()> {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1)?;
                self.str(s)
            }
        }
    }
    fn opt_i64(&mut self, v: Option<i64>) -> io::Result<()> {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1)?;
                self.i64(v)
            }
        }
    }
    fn day(&mut self, d: NaiveDate) -> io::Result<()> {
        self.bytes(&day_number(d).to_le_bytes())
    }
    fn opt_day(&mut self, d: Option<NaiveDate>) -> io::Result<()> {
        match d {
            None => self.u8(0),
            Some(d) => {
                self.u8(1)?;
                self.day(d)
            }
        }
    }
    fn ids(&mut self, ids: &[i64]) -> io::Result<()> {
        self.len(ids.len())?;
        ids.iter().try_for_each(|&id| self.i64(id))
    }
    fn bitmap(&mut self, b: &RoaringBitmap) -> io::Result<()> {
        self.u64(b.serialized_size() as u64)?;
        b.serialize_into(&mut self.0)
    }
}

struct In<R: Read>(R);

impl<R: Read> In<R> {
    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.0.read_exact(&mut b)?;
        Ok(b)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> io::Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn len(&mut self) -> io::Result<usize> {
        Ok(self.u32()? as usize)
    }
    fn str(&mut self) -> io::Result<String> {
        let len = self.len()?;
        let mut b = Vec::with_capacity(len.min(1 << 20));
        (&mut self.0).take(len as u64).read_to_end(&mut b)?;
        if b.len() != len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        String::from_utf8(b).map_err(io::Error::other)
    }
    fn opt_str(&mut self) -> io::Result<Option<String>> {
        Ok(match self.u8()? {
            0 => None,
            _ => Some(self.str()?),
        })
    }
    fn opt_i64(&mut self) -> io::Result<Option<i64>> {
        Ok(match self.u8()? {
            0 => None,
            _ => Some(self.i64()?),
        })
    }
    fn day(&mut self) -> io::Result<NaiveDate> {
        let n = i32::from_le_bytes(self.array()?);
        NaiveDate::from_num_days_from_ce_opt(n).ok_or_else(|| io::Error::other("a day out of range"))
    }
    fn opt_day(&mut self) -> io::Result<Option<NaiveDate>> {
        Ok(match self.u8()? {
            0 => None,
            _ => Some(self.day()?),
        })
    }
    fn ids(&mut self) -> io::Result<Vec<i64>> {
        let len = self.len()?;
        let mut ids = Vec::with_capacity(len.min(1 << 20));
        for _ in 0..len {
            ids.push(self.i64()?);
        }
        Ok(ids)
    }
    fn bitmap(&mut self) -> io::Result<RoaringBitmap> {
        let len = self.u64()?;
        let mut part = (&mut self.0).take(len);
        let bitmap = RoaringBitmap::deserialize_from(&mut part)?;
        if part.limit() != 0 {
            return Err(io::Error::other("a bitmap longer than it says"));
        }
        Ok(bitmap)
    }
}
