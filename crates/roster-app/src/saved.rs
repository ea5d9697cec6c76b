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
//! pruned or rewound log, a file whose sum does not match or that does not read to its
//! end, values the engine refuses — and the image is rebuilt from the database, as
//! without a file.
//!
//! The format is this module's own: the engine's population as it holds it (see
//! [`roster_engine::codec`]: columns, dictionaries and bitmaps copied, not users
//! inserted one by one), the catalog and groups around it, and a CRC-32 of all of it at
//! the end, checked before anything is read.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use roster_domain::rule::Rule;
use roster_domain::{Branch, Course, EnrollmentRule, FieldDef};
use roster_engine::codec::{Reader, Writer};
use roster_engine::{AutomaticGroup, Catalog, Engine};

/// The first bytes of a saved image.
const MAGIC: &[u8; 14] = b"roster-image\n\0";
/// The layout of what follows; a file of any other is ignored.
const FORMAT: u32 = 3;
/// The last bytes, after the groups: a file cut short never reads as complete.
const END: &[u8; 4] = b"end\n";
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
        let file = create_private(&temporary)?;
        let mut out = Writer(Summed { inner: BufWriter::with_capacity(1 << 20, file), sum: crc32fast::Hasher::new() });
        let saved = write_image(&mut out, engine, catalog, stamp)?;
        let Summed { mut inner, sum } = out.0;
        inner.write_all(&sum.finalize().to_le_bytes())?;
        let file = inner.into_inner().map_err(io::IntoInnerError::into_error)?;
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

/// Creates (or empties) a file only its owner may read: it holds every user's data.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// A name beside `path` no other process writes to.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

fn write_image<W: Write>(out: &mut Writer<W>, engine: &Engine, catalog: &Catalog, stamp: &Stamp) -> io::Result<Saved> {
    out.bytes(MAGIC)?;
    out.u32(FORMAT)?;
    out.str(&stamp.database)?;
    out.str(&stamp.timezone)?;
    out.i64(stamp.seq)?;
    out.i64(stamp.at)?;

    out.count(catalog.fields.len())?;
    for f in &catalog.fields {
        out.str(&serde_json::to_string(f).map_err(io::Error::other)?)?;
    }
    out.count(catalog.branches.len())?;
    for b in &catalog.branches {
        out.i64(b.id)?;
        out.str(&b.code)?;
        out.str(&b.name)?;
        out.opt_i64(b.parent_id)?;
    }
    out.count(catalog.courses.len())?;
    for c in &catalog.courses {
        out.i64(c.id)?;
        out.str(&c.code)?;
        out.str(&c.name)?;
    }

    let users = engine.users().len();
    engine.write_population(out)?;

    let groups: Vec<_> = engine.group_images().collect();
    out.count(groups.len())?;
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
        out.count(g.enrollment_rules.len())?;
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
fn open(path: &Path) -> Result<(Reader<BufReader<File>>, Stamp), Unusable> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Unusable::Missing),
        Err(e) => return Err(Unusable::Io(e)),
    };
    let mut input = Reader(BufReader::with_capacity(1 << 20, file));
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
    check_sum(path)?;

    let mut catalog = Catalog::default();
    for _ in 0..input.count()? {
        let f: FieldDef = serde_json::from_str(&input.str()?).map_err(|e| Unusable::Format(e.to_string()))?;
        catalog.fields.push(f);
    }
    for _ in 0..input.count()? {
        catalog.branches.push(Branch {
            id: input.i64()?,
            code: input.str()?,
            name: input.str()?,
            parent_id: input.opt_i64()?,
        });
    }
    for _ in 0..input.count()? {
        catalog.courses.push(Course { id: input.i64()?, code: input.str()?, name: input.str()? });
    }
    let mut engine = Engine::new();
    engine.set_catalog(&catalog).map_err(refused)?;

    engine.read_population(&mut input)?;

    for _ in 0..input.count()? {
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
        for _ in 0..input.count()? {
            let course_id = input.i64()?;
            let due_days = input.opt_i64()?.map(u32::try_from).transpose().map_err(|_| bad("a due date"))?;
            rules.push(EnrollmentRule { course_id, due_days, unenroll_on_leave: input.u8()? != 0 });
        }
        engine.set_enrollment_rules(id, rules);
    }
    engine.forget_read_matches();
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

/// A writer that sums what passes through it.
struct Summed<W: Write> {
    inner: W,
    sum: crc32fast::Hasher,
}

impl<W: Write> Write for Summed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sum.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Checks the sum at the end of the file against what comes before it, so that a
/// damaged file is left aside before anything of it is used.
fn check_sum(path: &Path) -> Result<(), Unusable> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let body = len.checked_sub(4).ok_or_else(|| bad("its sum"))?;
    let mut sum = crc32fast::Hasher::new();
    let mut rest = (&mut file).take(body);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = rest.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        sum.update(&buffer[..n]);
    }
    let mut stored = [0u8; 4];
    file.read_exact(&mut stored)?;
    if sum.finalize() != u32::from_le_bytes(stored) {
        return Err(Unusable::Format("its sum does not match its content".into()));
    }
    Ok(())
}
