//! The engine's image of the database, kept current: built from the database on first
//! use, caught up with the change log (the writes other processes made) before each
//! write transaction, thrown away and rebuilt whenever it may hold what never
//! happened. The database is the truth; the image is a cache. Writing happens in
//! [`crate::transaction`].

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use roster_domain::{Enrollment, FieldDef, GroupPolicy, MembershipChange, User};
use roster_engine::{AutomaticGroup, Catalog, Engine, EnrollmentRecord, UserEvaluation, UserRecord};
use roster_store::changes::Touched;
use roster_store::groups::ListKind;
use roster_store::AnyConnection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::rules::stored_rule;
use crate::{AppError, AppResult, Context};

/// Users loaded per query when the image is built.
const LOAD_BATCH: i64 = 20_000;
/// Beyond this many changes to catch up, rebuilding is cheaper than replaying.
const MAX_REPLAY: i64 = 50_000;
/// How many milliseconds a write in place waits for readers to finish with the
/// published engine before it writes anyway (and copies what it writes).
const UNPUBLISH_WAITS: usize = 200;

/// The engine and how far into the change log it has read.
#[derive(Debug, Default)]
pub(crate) struct Image {
    engine: Option<Engine>,
    seq: i64,
    /// The fields and branches as the image knows them, loaded on first use: what
    /// validating a user needs, without two queries per write.
    context: Option<Arc<Context>>,
    /// The change the saved image file stands at, when this process read or wrote it.
    saved: Option<i64>,
    /// The next build reads the database, not the saved image (a reconcile's).
    from_database: bool,
    /// Whether the image was last built from the saved file.
    read_from_file: bool,
}

impl Image {
    /// Throws everything away: the next transaction rebuilds it from the database.
    fn forget(&mut self) {
        self.engine = None;
        self.context = None;
    }
}

/// The image as last committed, for the reads the image answers (previews, "why"):
/// they never wait for a write that takes long, and never see one half-done.
///
/// A write transaction changes the image ahead of its commit. One that writes a copy
/// ([`crate::App::begin_copy`]: a rule edit, a group's members) leaves this engine to
/// the readers and changes a clone of it, which shares every column and group until
/// written (see [`Engine`]'s `Clone`), so that a rule edit copies the groups it moves
/// and nothing else; the clone is published at the end. One that writes in place (a
/// user, an import: what writes columns, which would be copied whole) takes this engine
/// away from the readers first, so that its writes copy nothing: readers then wait for
/// it, as long as one user's write takes.
#[derive(Debug, Default)]
struct Published {
    engine: Option<Arc<Engine>>,
    /// The change the published engine reflects.
    seq: i64,
    /// Write transactions of this process under way (or waiting for the write gate):
    /// while there is one, the published engine is the last committed one this process
    /// knows, and it will publish the next.
    writers: usize,
}

/// The live state an [`App`] shares between its clones.
#[derive(Debug)]
pub(crate) struct Live {
    image: Mutex<Image>,
    published: Mutex<Published>,
    tz: Tz,
}

impl Live {
    pub(crate) fn new(tz: Tz) -> Arc<Self> {
        Arc::new(Self { image: Mutex::new(Image::default()), published: Mutex::default(), tz })
    }

    fn published(&self) -> MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            guard.engine = None;
            guard
        })
    }

    /// A write transaction starts.
    pub(crate) fn writer_started(&self) {
        self.published().writers += 1;
    }

    /// A write transaction ended (or never got the write gate).
    pub(crate) fn writer_left(&self) {
        let mut published = self.published();
        published.writers = published.writers.saturating_sub(1);
    }

    /// Publishes the image as it is, if any: only while holding the write gate, so that
    /// no writer of this process is changing it.
    pub(crate) fn publish(&self) {
        let (engine, seq) = {
            let image = self.lock();
            (image.engine.as_ref().map(|e| Arc::new(e.clone())), image.seq)
        };
        let old = {
            let mut published = self.published();
            published.seq = seq;
            std::mem::replace(&mut published.engine, engine)
        };
        // What only the old engine held (a copy's moved groups) is freed outside the
        // lock, which readers take.
        drop(old);
    }

    /// A write transaction that wrote a copy failed: the image goes back to the one
    /// published, which its writes never touched.
    pub(crate) fn restore_published(&self) {
        let published = self.published().engine.clone();
        let mut image = self.lock();
        match published {
            Some(engine) => image.engine = Some((*engine).clone()),
            None => image.forget(),
        }
    }

    /// Takes the published engine away from the readers before writing in place, and
    /// waits (a little) for the readers holding it to finish, so that the writes find
    /// every column unshared and copy nothing.
    pub(crate) async fn unpublish(&self) {
        let Some(mut engine) = self.published().engine.take() else {
            return;
        };
        for _ in 0..UNPUBLISH_WAITS {
            match Arc::try_unwrap(engine) {
                Ok(_) => return,
                Err(shared) => engine = shared,
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // A reader still holds it: the writes copy what they touch, which is right,
        // only slower.
    }

    /// The published engine, when it reflects the database: a write of this process is
    /// under way (the engine is the last committed one; the writer will publish the
    /// next), or the change log has nothing newer, else `None`.
    pub(crate) async fn fresh(&self, conn: &mut AnyConnection) -> AppResult<Option<Arc<Engine>>> {
        let (engine, seq, writing) = {
            let published = self.published();
            (published.engine.clone(), published.seq, published.writers > 0)
        };
        let Some(engine) = engine else { return Ok(None) };
        if writing || roster_store::changes::last(conn).await? <= seq {
            return Ok(Some(engine));
        }
        Ok(None)
    }

    /// The engine as it is, shared: for a reader holding the write gate, which no
    /// writer of this process can then be changing.
    pub(crate) fn current(&self) -> AppResult<Arc<Engine>> {
        let image = self.lock();
        image.engine.as_ref().map(|e| Arc::new(e.clone())).ok_or_else(stale)
    }

    /// Throws the image away; the next transaction rebuilds it from the database
    /// itself, not from the saved image.
    pub(crate) fn forget_for_database_build(&self) {
        {
            let mut image = self.lock();
            image.forget();
            image.from_database = true;
        }
        self.published().engine = None;
    }

    /// Lends the engine out of the image, for work that must not hold the lock (saving
    /// it); only while the write gate is held, so that no transaction looks for it.
    pub(crate) fn lend_engine(&self) -> AppResult<Engine> {
        self.lock().engine.take().ok_or_else(stale)
    }

    /// Takes the engine back after [`Live::lend_engine`].
    pub(crate) fn return_engine(&self, engine: Engine) {
        self.lock().engine = Some(engine);
    }

    /// The change the image reflects, and the one the saved file stands at.
    pub(crate) fn positions(&self) -> (i64, Option<i64>) {
        let image = self.lock();
        (image.seq, image.saved)
    }

    /// Records that the saved file stands at `seq`.
    pub(crate) fn set_saved(&self, seq: i64) {
        self.lock().saved = Some(seq);
    }

    /// Whether the image was last built from the saved file (not the database).
    pub(crate) fn read_from_file(&self) -> bool {
        self.lock().read_from_file
    }

    fn lock(&self) -> MutexGuard<'_, Image> {
        // A panic while holding the lock leaves an image we cannot trust: start over.
        self.image.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            guard.forget();
            guard
        })
    }

    /// Throws the image away: the next transaction rebuilds it from the database.
    pub(crate) fn forget(&self) {
        self.lock().forget();
        self.published().engine = None;
    }

    /// Runs `f` on the engine, which must have been built.
    pub(crate) fn with_engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> AppResult<T> {
        let image = self.lock();
        let engine = image.engine.as_ref().ok_or_else(stale)?;
        Ok(f(engine))
    }

    /// Changes the engine, which must have been built.
    pub(crate) fn with_engine_mut<T>(&self, f: impl FnOnce(&mut Engine) -> T) -> AppResult<T> {
        let mut image = self.lock();
        let engine = image.engine.as_mut().ok_or_else(stale)?;
        Ok(f(engine))
    }

    /// Puts a freshly built engine in place of the current one.
    pub(crate) fn replace_engine(&self, engine: Engine) {
        self.lock().engine = Some(engine);
    }

    /// The fields and branches as the image knows them, when loaded.
    pub(crate) fn context(&self) -> Option<Arc<Context>> {
        self.lock().context.clone()
    }

    /// Keeps the fields and branches loaded for the next writes.
    pub(crate) fn set_context(&self, context: Arc<Context>) {
        self.lock().context = Some(context);
    }

    /// Forgets the loaded fields and branches (the catalog changed).
    pub(crate) fn clear_context(&self) {
        self.lock().context = None;
    }

    /// Records that the image reflects the change log up to `seq`.
    pub(crate) fn advance(&self, seq: i64) {
        let mut image = self.lock();
        if image.seq < seq {
            image.seq = seq;
        }
    }

    /// The calendar day of `ms` in the platform time zone.
    pub(crate) fn day(&self, ms: i64) -> NaiveDate {
        DateTime::<Utc>::from_timestamp_millis(ms).map(|d| d.with_timezone(&self.tz).date_naive()).unwrap_or_default()
    }
}

/// The image as last committed, with a connection for reads: what previews and "why"
/// read, without waiting for a write that takes long (see [`Published`]).
#[derive(Debug)]
pub(crate) struct Snapshot {
    conn: roster_store::ReadConnection,
    engine: Arc<Engine>,
    /// The platform's calendar day when the snapshot was taken.
    pub today: NaiveDate,
}

impl Snapshot {
    /// The connection, for reads: what it returns is committed.
    pub(crate) fn read(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// Runs `f` on the engine.
    pub(crate) fn engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> AppResult<T> {
        Ok(f(&self.engine))
    }
}

/// What checks and counts read, the same in a write transaction (which may then save
/// what they checked) and in a [`Snapshot`] (a preview).
pub(crate) trait ImageRead {
    /// A connection for reads.
    fn read(&mut self) -> &mut AnyConnection;
    /// Runs `f` on the engine.
    fn engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> AppResult<T>;
}

impl ImageRead for Snapshot {
    fn read(&mut self) -> &mut AnyConnection {
        Snapshot::read(self)
    }

    fn engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> AppResult<T> {
        Snapshot::engine(self, f)
    }
}

impl ImageRead for crate::transaction::LiveTx {
    fn read(&mut self) -> &mut AnyConnection {
        crate::transaction::LiveTx::read(self)
    }

    fn engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> AppResult<T> {
        crate::transaction::LiveTx::engine(self, f)
    }
}

impl crate::App {
    /// The image as last committed, for reads: the published one when it reflects the
    /// database, else one caught up with the change log first (by a transaction that
    /// writes nothing, which waits for the writers of other processes).
    pub(crate) async fn snapshot(&self) -> AppResult<Snapshot> {
        let today = self.live.day(self.now());
        let mut conn = self.store.read().await?;
        if let Some(engine) = self.live.fresh(&mut conn).await? {
            return Ok(Snapshot { conn, engine, today });
        }
        drop(conn);
        let engine = {
            let _caught_up = self.begin_copy().await?;
            self.live.current()?
        };
        Ok(Snapshot { conn: self.store.read().await?, engine, today })
    }
}

pub(crate) fn engine_error(e: roster_engine::EngineError) -> AppError {
    match e {
        roster_engine::EngineError::Rule(error) => AppError::Rule { field: "text".into(), error },
        roster_engine::EngineError::Cycle(groups) => AppError::Rule {
            field: "text".into(),
            error: roster_domain::rule::RuleError::new(format!(
                "member_of would make a cycle: {}",
                groups.iter().map(ToString::to_string).collect::<Vec<_>>().join(" → ")
            )),
        },
        other => AppError::Internal(crate::Internal::Engine(format!("{other:?}"))),
    }
}

fn stale() -> AppError {
    AppError::invariant("the membership image is not built")
}

/// A user as the engine sees it, with its enrollments by course id, and every course's
/// id (to clear the enrollments that are gone).
type LoadedUser = (UserRecord, Vec<(i64, EnrollmentRecord)>, Vec<i64>);

pub(crate) fn user_record(u: &User, fields: &[FieldDef], live: &Live) -> UserRecord {
    let defs: HashMap<&str, &FieldDef> = fields.iter().map(|f| (f.code.as_str(), f)).collect();
    UserRecord {
        id: u.id,
        username: u.username.as_str().to_owned(),
        email: u.email.as_str().to_owned(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        status: u.status,
        language: u.language.clone(),
        timezone: u.timezone.clone(),
        branch_id: u.branch_id,
        created_on: live.day(u.created_at),
        last_login_on: u.last_login_at.map(|t| live.day(t)),
        fields: u
            .fields
            .iter()
            .filter_map(|(code, raw)| Some((code.clone(), defs.get(code.as_str())?.from_stored(raw)?)))
            .collect::<BTreeMap<_, _>>(),
    }
}

pub(crate) fn enrollment_record(e: &Enrollment, live: &Live) -> (i64, EnrollmentRecord) {
    (
        e.course_id,
        EnrollmentRecord {
            status: e.status,
            enrolled_on: live.day(e.enrolled_at),
            completed_on: e.completed_at.map(|t| live.day(t)),
        },
    )
}

async fn load_user(conn: &mut AnyConnection, live: &Live, id: i64) -> AppResult<Option<LoadedUser>> {
    let Some(user) = roster_store::users::get(conn, id).await? else { return Ok(None) };
    let fields = roster_store::fields::all(conn).await?;
    let enrollments = roster_store::enrollments::of_user(conn, id).await?;
    let courses = roster_store::courses::all(conn).await?.into_iter().map(|c| c.id).collect();
    Ok(Some((
        user_record(&user, &fields, live),
        enrollments.iter().map(|e| enrollment_record(e, live)).collect(),
        courses,
    )))
}

fn apply_user(engine: &mut Engine, loaded: &LoadedUser) -> Result<(), roster_engine::EngineError> {
    let (record, enrollments, courses) = loaded;
    drop(engine.upsert_user(record)?);
    for course in courses {
        match enrollments.iter().find(|(c, _)| c == course) {
            Some((_, e)) => drop(engine.set_enrollment(record.id, *course, e)?),
            None => drop(engine.clear_enrollment(record.id, *course)?),
        }
    }
    Ok(())
}

/// A group as stored: its definition and members.
#[derive(Debug)]
pub(crate) struct LoadedGroup {
    id: i64,
    name: String,
    automatic: Option<AutomaticGroup>,
    /// Its members as stored, when they were read (see [`load_group`]).
    members: Option<Vec<i64>>,
    enrollment_rules: Vec<roster_domain::EnrollmentRule>,
}

/// Reads a group as stored; its members too when `with_members`, or when it is manual
/// (they are what defines it). A rule edit needs no member list: the image holds the
/// members as committed, and reading 100,000 of them costs a tenth of a second.
pub(crate) async fn load_group(
    conn: &mut AnyConnection,
    id: i64,
    with_members: bool,
) -> AppResult<Option<LoadedGroup>> {
    let Some(group) = roster_store::groups::get(conn, id).await? else { return Ok(None) };
    let members = if with_members || group.policy == GroupPolicy::Manual {
        Some(roster_store::memberships::member_ids(conn, id).await?)
    } else {
        None
    };
    let automatic = match (group.policy, stored_rule(&group)) {
        (GroupPolicy::Automatic, rule) => Some(AutomaticGroup {
            // A scoped group's members are its rule's matches within its branches.
            rule: match (rule, &group.scope) {
                (Some(rule), Some(codes)) => rule.within_branches(codes),
                (Some(rule), None) => rule,
                (None, _) => nobody()?,
            },
            include: roster_store::groups::list_users(conn, id, ListKind::Include).await?,
            exclude: roster_store::groups::list_users(conn, id, ListKind::Exclude).await?,
            allow_suspended: group.allow_suspended,
        }),
        (GroupPolicy::Manual, _) => None,
    };
    let enrollment_rules = roster_store::enrollment_rules::of_group(conn, id).await?;
    Ok(Some(LoadedGroup { id, name: group.name, automatic, members, enrollment_rules }))
}

/// The rule of an automatic group that has none yet: it matches nobody (every user has
/// a username), so only its include list makes members.
pub(crate) fn nobody() -> AppResult<roster_domain::rule::Rule> {
    roster_domain::rule::parse("username is empty").map_err(|error| AppError::Rule { field: "text".into(), error })
}

/// Puts a group in the image, with its stored members when they were read (at build,
/// or when another process changed them).
pub(crate) fn apply_group(engine: &mut Engine, g: &LoadedGroup) -> Result<(), roster_engine::EngineError> {
    let members = g.members.as_deref();
    match &g.automatic {
        Some(def) => engine.set_automatic_group(g.id, &g.name, def)?,
        None => engine.set_manual_group(g.id, &g.name, members.unwrap_or_default())?,
    }
    if let Some(members) = members {
        engine.load_members(g.id, members)?;
    }
    engine.set_enrollment_rules(g.id, g.enrollment_rules.clone());
    Ok(())
}

pub(crate) async fn load_catalog(conn: &mut AnyConnection) -> AppResult<Catalog> {
    Ok(Catalog {
        fields: roster_store::fields::all(&mut *conn).await?,
        branches: roster_store::branches::all(&mut *conn).await?,
        courses: roster_store::courses::all(&mut *conn).await?,
    })
}

/// Builds the image from the database: the catalog, every user and enrollment, every
/// group with its members as stored.
pub(crate) async fn build(conn: &mut AnyConnection, live: &Live, _today: NaiveDate) -> AppResult<Engine> {
    let mut engine = Engine::new();
    let catalog = load_catalog(conn).await?;
    engine.set_catalog(&catalog).map_err(engine_error)?;
    let mut after = 0;
    let mut load = engine.bulk_load();
    loop {
        let users = roster_store::users::batch(conn, after, LOAD_BATCH).await?;
        let Some(last) = users.last().map(|u| u.id) else { break };
        let records: Vec<UserRecord> = users.iter().map(|u| user_record(u, &catalog.fields, live)).collect();
        load.upsert_users(&records).map_err(engine_error)?;
        after = last;
    }
    // Enrollments are stored by course: read course by course, which also builds the
    // enrollment bitmaps fastest.
    for course in &catalog.courses {
        let mut after = 0;
        loop {
            let enrollments = roster_store::enrollments::of_course_after(conn, course.id, after, LOAD_BATCH).await?;
            for e in &enrollments {
                let (course, record) = enrollment_record(e, live);
                load.set_enrollment(e.user_id, course, &record).map_err(engine_error)?;
            }
            match enrollments.last() {
                Some(e) if enrollments.len() as i64 == LOAD_BATCH => after = e.user_id,
                _ => break,
            }
        }
    }
    drop(load);
    let groups = roster_store::groups::all(conn).await?;
    // Groups in an order where `member_of` targets exist: the engine refuses references
    // to unknown groups. Each is read, members and all, just before it is placed: every
    // member list at once was eight bytes per membership on top of the image (223 MB
    // at 27.9M memberships).
    let mut pending: Vec<(i64, Vec<i64>)> = groups
        .iter()
        .map(|g| {
            let rule = (g.policy == GroupPolicy::Automatic).then(|| stored_rule(g)).flatten();
            (g.id, rule.map(|r| r.referenced_groups()).unwrap_or_default())
        })
        .collect();
    drop(groups);
    let mut placed: HashSet<i64> = HashSet::new();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for (id, references) in pending {
            if references.iter().all(|r| placed.contains(r) || *r == id) {
                if let Some(group) = load_group(conn, id, true).await? {
                    apply_group(&mut engine, &group).map_err(engine_error)?;
                }
                placed.insert(id);
            } else {
                rest.push((id, references));
            }
        }
        if rest.len() == before {
            return Err(AppError::invariant("stored rules reference groups in a cycle or groups that do not exist"));
        }
        pending = rest;
    }
    Ok(engine)
}

/// Brings the image up to date: builds it if needed (from the image saved at `file`
/// when this database can trust it, else from the database), otherwise replays the
/// change log.
pub(crate) async fn catch_up(
    live: &Arc<Live>,
    conn: &mut AnyConnection,
    today: NaiveDate,
    file: Option<&Path>,
) -> AppResult<()> {
    let (mut built, mut seq, from_database) = {
        let mut image = live.lock();
        (image.engine.is_some(), image.seq, std::mem::take(&mut image.from_database))
    };
    if !built && !from_database {
        if let Some(saved) = match file {
            Some(file) => read_saved(live, conn, file).await?,
            None => None,
        } {
            (built, seq) = (true, saved);
        }
    }
    if built {
        let changes = roster_store::changes::since(conn, seq, MAX_REPLAY + 1).await?;
        if changes.is_empty() {
            return Ok(());
        }
        if (changes.len() as i64) <= MAX_REPLAY {
            match replay(live, conn, &changes).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::info!(error = ?e, "the change log could not be replayed on the image: rebuilding it")
                }
            }
        }
    }
    let started = std::time::Instant::now();
    let last = roster_store::changes::last(conn).await?;
    let engine = build(conn, live, today).await?;
    tracing::info!(
        users = engine.users().len(),
        seconds = started.elapsed().as_secs_f64(),
        "image built from the database"
    );
    let mut image = live.lock();
    image.engine = Some(engine);
    image.context = None;
    image.seq = last;
    image.read_from_file = false;
    Ok(())
}

/// Reads the image saved at `path`, if there is one and this database can trust it
/// (see [`crate::saved`]); the change it stands at.
async fn read_saved(live: &Live, conn: &mut AnyConnection, path: &Path) -> AppResult<Option<i64>> {
    let path = path.to_path_buf();
    let started = std::time::Instant::now();
    let unusable = |why: &dyn std::fmt::Display| {
        tracing::info!(file = %path.display(), %why, "the saved image is not used: building the image from the database");
        Ok(None)
    };
    let stamp = match crate::saved::stamp(&path) {
        Ok(stamp) => stamp,
        Err(crate::saved::Unusable::Missing) => return Ok(None),
        Err(why) => return unusable(&why),
    };
    let database = roster_store::changes::fact(conn, crate::saved::DATABASE_ID).await?;
    if database.as_deref() != Some(stamp.database.as_str()) {
        return unusable(&"it was saved from another database");
    }
    // Days (created, last login, enrollments) are kept in the platform's time zone.
    if stamp.timezone != live.tz.name() {
        return unusable(&format!("it was saved with the time zone {}", stamp.timezone));
    }
    if roster_store::changes::at(conn, stamp.seq).await? != Some(stamp.at) {
        return unusable(&"the change log no longer holds the change it was saved at");
    }
    let file = path.clone();
    let loaded = tokio::task::spawn_blocking(move || crate::saved::load(&file))
        .await
        .map_err(|e| AppError::invariant(format!("reading the saved image stopped: {e}")))?;
    let loaded = match loaded {
        Ok(loaded) if loaded.stamp == stamp => loaded,
        Ok(_) => return unusable(&"it changed while being read"),
        Err(why) => return unusable(&why),
    };
    tracing::info!(
        users = loaded.engine.users().len(),
        seconds = started.elapsed().as_secs_f64(),
        file = %path.display(),
        "image read from the saved file"
    );
    let mut image = live.lock();
    image.engine = Some(loaded.engine);
    image.context = None;
    image.seq = stamp.seq;
    image.saved = Some(stamp.seq);
    image.read_from_file = true;
    Ok(Some(stamp.seq))
}

/// Applies other processes' changes to the image.
async fn replay(live: &Arc<Live>, conn: &mut AnyConnection, changes: &[(i64, Touched)]) -> AppResult<()> {
    let last = changes.last().map_or(0, |(seq, _)| *seq);
    // Users before groups: a group read back holds its members as committed, and the
    // image refuses members it does not know yet (a user another process created).
    let touched: Vec<Touched> = {
        let mut seen = HashSet::new();
        let mut touched: Vec<Touched> = changes.iter().map(|(_, t)| *t).filter(|t| seen.insert(*t)).collect();
        touched.sort_by_key(|t| match t {
            Touched::Catalog => 0,
            Touched::User(_) => 1,
            Touched::Group(_) => 2,
        });
        touched
    };
    if touched.contains(&Touched::Catalog) {
        let catalog = load_catalog(conn).await?;
        let mut image = live.lock();
        image.context = None;
        let engine = image.engine.as_mut().ok_or_else(stale)?;
        engine.set_catalog(&catalog).map_err(engine_error)?;
    }
    for t in touched {
        match t {
            Touched::Catalog => {}
            Touched::User(id) => {
                let loaded = load_user(conn, live, id).await?;
                let memberships: HashSet<i64> =
                    roster_store::memberships::group_ids_of_user(conn, id).await?.into_iter().collect();
                let mut image = live.lock();
                let engine = image.engine.as_mut().ok_or_else(stale)?;
                match loaded {
                    Some(loaded) => {
                        apply_user(engine, &loaded).map_err(engine_error)?;
                        // Adopt the memberships the other process committed.
                        let committed: HashSet<i64> = engine.groups_of(id).into_iter().collect();
                        let changes = engine
                            .automatic_groups()
                            .iter()
                            .filter_map(|g| match (committed.contains(g), memberships.contains(g)) {
                                (false, true) => {
                                    Some(roster_engine::MembershipDelta { group: *g, change: MembershipChange::Joined })
                                }
                                (true, false) => {
                                    Some(roster_engine::MembershipDelta { group: *g, change: MembershipChange::Left })
                                }
                                _ => None,
                            })
                            .collect();
                        engine.commit_user(&UserEvaluation { user: id, changes });
                    }
                    None => {
                        let _ = engine.remove_user(id);
                    }
                }
            }
            Touched::Group(id) => {
                let loaded = load_group(conn, id, true).await?;
                let mut image = live.lock();
                let engine = image.engine.as_mut().ok_or_else(stale)?;
                match loaded {
                    Some(g) => apply_group(engine, &g).map_err(engine_error)?,
                    None => {
                        let _ = engine.remove_group(id);
                    }
                }
            }
        }
    }
    live.lock().seq = last;
    Ok(())
}
