//! Live membership: the engine's image of the database, kept current, and the write
//! transaction that keeps automatic groups true in the same commit as the change that
//! moves them.
//!
//! Every write that can move a membership goes through a [`LiveTx`]. Opening one takes
//! the store's write gate (so writers, in this process and others, go one at a time),
//! then brings the engine up to date with the change log — the writes other processes
//! made since it last looked. The use case writes its change, tells the `LiveTx` what
//! it touched, and the engine says which memberships move; those rows and their events
//! are written in the same transaction. Committing appends the change log. If anything
//! fails before the commit, the image may hold what never happened, so it is thrown
//! away and rebuilt from the database on next use.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use roaring::RoaringBitmap;
use roster_domain::{Enrollment, FieldDef, GroupPolicy, MembershipChange, User};
use roster_engine::{
    AutomaticGroup, Catalog, Engine, EnrollmentRecord, Evaluation, UserChange, UserEvaluation, UserRecord,
};
use roster_store::changes::Touched;
use roster_store::groups::ListKind;
use roster_store::{AnyConnection, WriteTx};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::membership::{Cause, UserMoves};
use crate::rules::stored_rule;
use crate::{App, AppError, AppResult, Context};

/// Users loaded per query when the image is built.
const LOAD_BATCH: i64 = 20_000;
/// Beyond this many changes to catch up, rebuilding is cheaper than replaying.
const MAX_REPLAY: i64 = 50_000;
/// Above this many users whose manual membership moved, dependents are re-evaluated
/// for everyone at once instead of user by user.
const PER_USER_LIMIT: usize = 200;

/// The engine and how far into the change log it has read.
#[derive(Debug, Default)]
pub(crate) struct Image {
    engine: Option<Engine>,
    seq: i64,
    /// The fields and branches as the image knows them, loaded on first use: what
    /// validating a user needs, without two queries per write.
    context: Option<Arc<Context>>,
}

impl Image {
    /// Throws everything away: the next transaction rebuilds it from the database.
    fn forget(&mut self) {
        self.engine = None;
        self.context = None;
    }
}

/// The live state an [`App`] shares between its clones.
#[derive(Debug)]
pub(crate) struct Live {
    image: Mutex<Image>,
    tz: Tz,
}

impl Live {
    pub(crate) fn new(tz: Tz) -> Arc<Self> {
        Arc::new(Self { image: Mutex::new(Image::default()), tz })
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
    }

    /// The calendar day of `ms` in the platform time zone.
    pub(crate) fn day(&self, ms: i64) -> NaiveDate {
        DateTime::<Utc>::from_timestamp_millis(ms).map(|d| d.with_timezone(&self.tz).date_naive()).unwrap_or_default()
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
        other => AppError::Internal(roster_store::StoreError::Corrupt(format!("membership engine: {other:?}"))),
    }
}

/// Throws the image away if it was changed ahead of a commit that never came.
#[derive(Debug)]
struct DirtyGuard {
    live: Arc<Live>,
    dirty: bool,
}

impl Drop for DirtyGuard {
    fn drop(&mut self) {
        if self.dirty {
            self.live.lock().forget();
        }
    }
}

/// A write transaction that keeps automatic groups true. Dereferences to the connection.
#[derive(Debug)]
pub(crate) struct LiveTx {
    tx: WriteTx,
    live: Arc<Live>,
    touched: Vec<Touched>,
    guard: DirtyGuard,
    /// The platform's calendar day when the transaction began.
    pub today: NaiveDate,
    /// The time the transaction began, epoch ms.
    pub now: i64,
}

impl std::ops::Deref for LiveTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for LiveTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl App {
    /// Opens a write transaction with the engine caught up with the database.
    pub(crate) async fn begin(&self) -> AppResult<LiveTx> {
        let mut tx = self.store.write().await?;
        let now = self.now();
        let today = self.live.day(now);
        catch_up(&self.live, &mut tx, today).await?;
        let guard = DirtyGuard { live: self.live.clone(), dirty: false };
        Ok(LiveTx { tx, live: self.live.clone(), touched: Vec::new(), guard, today, now })
    }
}

impl LiveTx {
    /// Runs `f` on the engine (which [`App::begin`] made sure exists).
    pub(crate) fn engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> AppResult<T> {
        let image = self.live.lock();
        let engine = image.engine.as_ref().ok_or_else(stale)?;
        Ok(f(engine))
    }

    /// Changes the engine ahead of the commit.
    fn engine_mut<T>(&mut self, f: impl FnOnce(&mut Engine) -> T) -> AppResult<T> {
        self.guard.dirty = true;
        let mut image = self.live.lock();
        let engine = image.engine.as_mut().ok_or_else(stale)?;
        Ok(f(engine))
    }

    /// The fields and branches, as this transaction sees them.
    pub(crate) async fn context(&mut self) -> AppResult<Arc<Context>> {
        if let Some(context) = self.live.lock().context.clone() {
            return Ok(context);
        }
        let context = Arc::new(Context::load(&mut self.tx).await?);
        self.live.lock().context = Some(context.clone());
        Ok(context)
    }

    /// Records that `t` changed, for the change log.
    pub(crate) fn touch(&mut self, t: Touched) {
        self.touched.push(t);
    }

    /// Commits the change, its memberships and the change log together.
    pub(crate) async fn commit(mut self) -> AppResult<()> {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_by_key(|t| match t {
            Touched::Catalog => (0, 0),
            Touched::Group(id) => (1, *id),
            Touched::User(id) => (2, *id),
        });
        touched.dedup();
        let seq = roster_store::changes::append(&mut self.tx, &touched, self.now).await?;
        let LiveTx { tx, live, mut guard, .. } = self;
        tx.commit().await?;
        guard.dirty = false;
        if let Some(seq) = seq {
            let mut image = live.lock();
            if image.seq < seq {
                image.seq = seq;
            }
        }
        Ok(())
    }

    /// A user was created or changed (fields, status, branch): the image takes the row
    /// as just written (`fields`: the definitions it was checked against), and the
    /// user's automatic memberships move — only in the groups whose rules read what
    /// changed.
    pub(crate) async fn user_changed(&mut self, user: &User, fields: &[FieldDef], why: &Cause) -> AppResult<()> {
        let record = user_record(user, fields, &self.live);
        self.touch(Touched::User(user.id));
        let change = self.engine_mut(|e| e.upsert_user(&record))?.map_err(engine_error)?;
        self.reevaluate_change(&change, why).await
    }

    /// A user's enrollment in a course was set (`Some`) or removed (`None`): the image
    /// takes it and the user's automatic memberships move.
    pub(crate) async fn enrollment_changed(
        &mut self,
        user: i64,
        course: i64,
        enrollment: Option<&Enrollment>,
        why: &Cause,
    ) -> AppResult<()> {
        let record = enrollment.map(|e| enrollment_record(e, &self.live).1);
        self.touch(Touched::User(user));
        let change = self
            .engine_mut(|e| match &record {
                Some(r) => e.set_enrollment(user, course, r),
                None => e.clear_enrollment(user, course),
            })?
            .map_err(engine_error)?;
        self.reevaluate_change(&change, why).await
    }

    /// Many users were just written in bulk (an import): the image takes them all at
    /// once, without evaluating anyone — the caller evaluates everyone once with
    /// [`LiveTx::reevaluate_all`]. Their enrollments are as the image has them.
    pub(crate) async fn users_loaded(&mut self, users: &[User]) -> AppResult<()> {
        let fields = roster_store::fields::all(&mut self.tx).await?;
        let records: Vec<UserRecord> = users.iter().map(|u| user_record(u, &fields, &self.live)).collect();
        self.engine_mut(|e| e.upsert_users(&records))?.map_err(engine_error)?;
        self.touched.extend(users.iter().map(|u| Touched::User(u.id)));
        Ok(())
    }

    /// A user is about to be deleted: ends their memberships (with events) and drops
    /// them from the image.
    pub(crate) async fn user_deleted(&mut self, user: i64, why: &Cause) -> AppResult<()> {
        let groups = roster_store::memberships::group_ids_of_user(&mut self.tx, user).await?;
        let moves = UserMoves { left: groups, ..UserMoves::default() };
        crate::membership::move_user(&mut self.tx, user, &moves, why).await?;
        self.touch(Touched::User(user));
        let _ = self.engine_mut(|e| e.remove_user(user))?;
        Ok(())
    }

    /// Evaluates, for the user a write changed, the automatic groups whose rules read
    /// what changed, and writes what moves.
    async fn reevaluate_change(&mut self, change: &UserChange, why: &Cause) -> AppResult<()> {
        let today = self.today;
        let evaluation = self.engine(|e| e.evaluate_change(change, today))?.map_err(engine_error)?;
        if evaluation.changes.is_empty() {
            return Ok(());
        }
        let user = evaluation.user;
        let moves = self.engine(|e| {
            let mut moves = UserMoves::default();
            for delta in &evaluation.changes {
                match delta.change {
                    MembershipChange::Joined if is_listed(e.included(delta.group), user) => {
                        moves.by_list.push(delta.group);
                    }
                    MembershipChange::Joined => moves.by_rule.push(delta.group),
                    MembershipChange::Left => moves.left.push(delta.group),
                }
            }
            moves
        })?;
        crate::membership::move_user(&mut self.tx, user, &moves, why).await?;
        self.engine_mut(|e| e.commit_user(&evaluation))?;
        Ok(())
    }

    /// A manual group's members moved: the automatic groups whose rules name it follow.
    pub(crate) async fn manual_members_changed(
        &mut self,
        group: i64,
        joined: &[i64],
        left: &[i64],
        why: &Cause,
    ) -> AppResult<()> {
        self.touch(Touched::Group(group));
        if joined.is_empty() && left.is_empty() {
            return Ok(());
        }
        let moved = self.engine_mut(|e| -> Result<(Vec<UserChange>, Vec<i64>), roster_engine::EngineError> {
            let mut changes = e.add_members(group, joined)?;
            changes.extend(e.remove_members(group, left)?);
            Ok((changes, e.dependents(group)))
        })?;
        let (changes, dependents) = moved.map_err(engine_error)?;
        if dependents.is_empty() {
            return Ok(());
        }
        if changes.len() <= PER_USER_LIMIT {
            for change in &changes {
                self.touch(Touched::User(change.user()));
                self.reevaluate_change(change, why).await?;
            }
            Ok(())
        } else {
            self.reevaluate_groups(&[group], why).await.map(drop)
        }
    }

    /// An automatic group's definition (rule, lists, switch) was saved: the image takes
    /// it, and its members (and its dependents') move as a diff.
    pub(crate) async fn automatic_group_changed(&mut self, group: i64, why: &Cause) -> AppResult<Evaluation> {
        let loaded = load_group(&mut self.tx, group).await?;
        self.touch(Touched::Group(group));
        let Some(loaded) = loaded else { return Ok(Evaluation::default()) };
        self.engine_mut(|e| apply_group(e, &loaded, false))?.map_err(engine_error)?;
        self.reevaluate_groups(&[group], why).await
    }

    /// Evaluates these groups and their dependents for everyone; writes what moves.
    pub(crate) async fn reevaluate_groups(&mut self, groups: &[i64], why: &Cause) -> AppResult<Evaluation> {
        let today = self.today;
        let evaluation = self.engine(|e| e.evaluate_groups(groups, today))?.map_err(engine_error)?;
        self.write_evaluation(&evaluation, why).await?;
        self.engine_mut(|e| e.commit(&evaluation))?;
        Ok(evaluation)
    }

    /// Evaluates every automatic group; writes what moves (the date roll-over, reconcile).
    pub(crate) async fn reevaluate_all(&mut self, why: &Cause) -> AppResult<Evaluation> {
        let today = self.today;
        let evaluation = self.engine(|e| e.evaluate_all(today))?;
        self.write_evaluation(&evaluation, why).await?;
        self.engine_mut(|e| e.commit(&evaluation))?;
        Ok(evaluation)
    }

    /// Records an evaluation written with [`LiveTx::write_evaluation`] as committed.
    pub(crate) fn commit_evaluation(&mut self, evaluation: &Evaluation) -> AppResult<()> {
        self.engine_mut(|e| e.commit(evaluation))
    }

    /// Writes the joins and leaves of an evaluation, with events. The evaluation is a
    /// diff against the memberships the engine holds as committed, which are the
    /// database's: nothing is asked of the database before writing.
    ///
    /// The moves are written by user, not by group: window by window of user ids,
    /// each statement's pairs sorted by user then group. Both membership indexes, and
    /// both event indexes, then take their rows in order, a few pages at a time, where
    /// group after group would scatter writes over the whole user index (twice as slow
    /// at ten thousand rows, and worse once the index outgrows the page cache).
    pub(crate) async fn write_evaluation(&mut self, evaluation: &Evaluation, why: &Cause) -> AppResult<()> {
        /// Users per window; pairs per statement, at least.
        const WINDOW: u32 = 1 << 12;
        const STATEMENT: usize = 1 << 17;
        let mut sets = Vec::new();
        for g in &evaluation.groups {
            if g.joined.is_empty() && g.left.is_empty() {
                continue;
            }
            self.touch(Touched::Group(g.group));
            let delta = i64::try_from(g.joined.len()).unwrap_or(i64::MAX) - i64::try_from(g.left.len()).unwrap_or(0);
            roster_store::groups::add_to_counts(&mut self.tx, &[g.group], delta).await?;
            let (by_rule, by_list) = self.engine(|e| match e.included(g.group) {
                Some(include) if !include.is_empty() => (&g.joined - include, &g.joined & include),
                _ => (g.joined.clone(), RoaringBitmap::new()),
            })?;
            sets.push((g.group, [by_rule, by_list, g.left.clone()]));
        }
        let Some(last) = sets.iter().flat_map(|(_, s)| s.iter().filter_map(RoaringBitmap::max)).max() else {
            return Ok(());
        };
        let mut cursors: Vec<(i64, [std::iter::Peekable<roaring::bitmap::Iter<'_>>; 3])> = sets
            .iter()
            .map(|(g, [a, b, c])| (*g, [a.iter().peekable(), b.iter().peekable(), c.iter().peekable()]))
            .collect();
        let mut moves = crate::membership::PairMoves::default();
        let mut end = 0u32;
        loop {
            end = end.saturating_add(WINDOW);
            for (group, sets) in &mut cursors {
                for (set, into) in sets.iter_mut().zip([&mut moves.by_rule, &mut moves.by_list, &mut moves.left]) {
                    while let Some(user) = set.next_if(|u| *u < end) {
                        into.push((i64::from(user), *group));
                    }
                }
            }
            let done = end > last || end == u32::MAX;
            if done || moves.len() >= STATEMENT {
                moves.sort();
                crate::membership::move_pairs(&mut self.tx, &moves, why).await?;
                moves.clear();
            }
            if done {
                return Ok(());
            }
        }
    }

    /// The catalog (fields, branches, courses) changed: the image takes it; a branch
    /// move re-evaluates everyone, since `branch under` may now answer otherwise.
    pub(crate) async fn catalog_changed(&mut self, moved_branch: bool, why: &Cause) -> AppResult<()> {
        self.touch(Touched::Catalog);
        self.live.lock().context = None;
        let catalog = load_catalog(&mut self.tx).await?;
        let applied = self.engine_mut(|e| e.set_catalog(&catalog))?;
        if applied.is_err() {
            // A removal the image cannot follow in place: rebuild it from the database.
            let engine = build(&mut self.tx, &self.live, self.today).await?;
            self.guard.dirty = true;
            self.live.lock().engine = Some(engine);
        }
        if moved_branch {
            self.reevaluate_all(why).await?;
        }
        Ok(())
    }

    /// A group was created (manual or automatic, empty): the image knows it.
    pub(crate) async fn group_created(&mut self, group: i64) -> AppResult<()> {
        self.group_reloaded(group).await
    }

    /// A group was renamed or deleted: the image follows.
    pub(crate) async fn group_reloaded(&mut self, group: i64) -> AppResult<()> {
        let loaded = load_group(&mut self.tx, group).await?;
        self.touch(Touched::Group(group));
        match loaded {
            Some(loaded) => self.engine_mut(|e| apply_group(e, &loaded, true))?.map_err(engine_error),
            None => {
                let _ = self.engine_mut(|e| e.remove_group(group))?;
                Ok(())
            }
        }
    }
}

/// Whether `user` is on a list.
fn is_listed(list: Option<&RoaringBitmap>, user: i64) -> bool {
    list.is_some_and(|l| u32::try_from(user).is_ok_and(|u| l.contains(u)))
}

fn stale() -> AppError {
    AppError::Internal(roster_store::StoreError::Corrupt("the membership image is not built".into()))
}

/// A user as the engine sees it, with its enrollments by course id, and every course's
/// id (to clear the enrollments that are gone).
type LoadedUser = (UserRecord, Vec<(i64, EnrollmentRecord)>, Vec<i64>);

pub(crate) fn user_record(u: &User, fields: &[FieldDef], live: &Live) -> UserRecord {
    let defs: HashMap<&str, &FieldDef> = fields.iter().map(|f| (f.code.as_str(), f)).collect();
    UserRecord {
        id: u.id,
        username: u.username.clone(),
        email: u.email.clone(),
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

fn enrollment_record(e: &Enrollment, live: &Live) -> (i64, EnrollmentRecord) {
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
    members: Vec<i64>,
}

async fn load_group(conn: &mut AnyConnection, id: i64) -> AppResult<Option<LoadedGroup>> {
    let Some(group) = roster_store::groups::get(conn, id).await? else { return Ok(None) };
    let members = roster_store::memberships::member_ids(conn, id).await?;
    let automatic = match (group.policy, stored_rule(&group)) {
        (GroupPolicy::Automatic, rule) => Some(AutomaticGroup {
            rule: match rule {
                Some(rule) => rule,
                None => nobody()?,
            },
            include: roster_store::groups::list_users(conn, id, ListKind::Include).await?,
            exclude: roster_store::groups::list_users(conn, id, ListKind::Exclude).await?,
            allow_suspended: group.allow_suspended,
        }),
        (GroupPolicy::Manual, _) => None,
    };
    Ok(Some(LoadedGroup { id, name: group.name, automatic, members }))
}

/// The rule of an automatic group that has none yet: it matches nobody (every user has
/// a username), so only its include list makes members.
pub(crate) fn nobody() -> AppResult<roster_domain::rule::Rule> {
    roster_domain::rule::parse("username is empty").map_err(|error| AppError::Rule { field: "text".into(), error })
}

/// Puts a group in the image; `with_members` also loads its stored members (at build,
/// or when another process changed them).
fn apply_group(engine: &mut Engine, g: &LoadedGroup, with_members: bool) -> Result<(), roster_engine::EngineError> {
    match &g.automatic {
        Some(def) => engine.set_automatic_group(g.id, &g.name, def)?,
        None => engine.set_manual_group(g.id, &g.name, &g.members)?,
    }
    if with_members {
        engine.load_members(g.id, &g.members)?;
    }
    Ok(())
}

async fn load_catalog(conn: &mut AnyConnection) -> AppResult<Catalog> {
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
        let enrollments = roster_store::enrollments::of_users_between(conn, after, last).await?;
        let records: Vec<UserRecord> = users.iter().map(|u| user_record(u, &catalog.fields, live)).collect();
        load.upsert_users(&records).map_err(engine_error)?;
        // Course by course builds the enrollment bitmaps fastest.
        let mut enrollments = enrollments;
        enrollments.sort_by_key(|e| (e.course_id, e.user_id));
        for e in &enrollments {
            let (course, record) = enrollment_record(e, live);
            load.set_enrollment(e.user_id, course, &record).map_err(engine_error)?;
        }
        after = last;
    }
    drop(load);
    let groups = roster_store::groups::all(conn).await?;
    // Manual groups first, then automatic ones in an order where `member_of` targets
    // exist: the engine refuses references to unknown groups.
    let mut pending: Vec<LoadedGroup> = Vec::with_capacity(groups.len());
    for g in &groups {
        if let Some(loaded) = load_group(conn, g.id).await? {
            pending.push(loaded);
        }
    }
    let mut placed: HashSet<i64> = HashSet::new();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for g in pending {
            let ready = g
                .automatic
                .as_ref()
                .is_none_or(|a| a.rule.referenced_groups().iter().all(|r| placed.contains(r) || *r == g.id));
            if ready {
                apply_group(&mut engine, &g, true).map_err(engine_error)?;
                placed.insert(g.id);
            } else {
                rest.push(g);
            }
        }
        if rest.len() == before {
            return Err(AppError::Internal(roster_store::StoreError::Corrupt(
                "stored rules reference groups in a cycle or groups that do not exist".into(),
            )));
        }
        pending = rest;
    }
    Ok(engine)
}

/// Brings the image up to date: builds it if needed, otherwise replays the change log.
async fn catch_up(live: &Arc<Live>, conn: &mut AnyConnection, today: NaiveDate) -> AppResult<()> {
    let (built, seq) = {
        let image = live.lock();
        (image.engine.is_some(), image.seq)
    };
    if built {
        let changes = roster_store::changes::since(conn, seq, MAX_REPLAY + 1).await?;
        if changes.is_empty() {
            return Ok(());
        }
        if (changes.len() as i64) <= MAX_REPLAY && replay(live, conn, &changes).await.is_ok() {
            return Ok(());
        }
    }
    let last = roster_store::changes::last(conn).await?;
    let engine = build(conn, live, today).await?;
    let mut image = live.lock();
    image.engine = Some(engine);
    image.context = None;
    image.seq = last;
    Ok(())
}

/// Applies other processes' changes to the image.
async fn replay(live: &Arc<Live>, conn: &mut AnyConnection, changes: &[(i64, Touched)]) -> AppResult<()> {
    let last = changes.last().map_or(0, |(seq, _)| *seq);
    let touched: Vec<Touched> = {
        let mut seen = HashSet::new();
        changes.iter().map(|(_, t)| *t).filter(|t| seen.insert(*t)).collect()
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
                let loaded = load_group(conn, id).await?;
                let mut image = live.lock();
                let engine = image.engine.as_mut().ok_or_else(stale)?;
                match loaded {
                    Some(g) => apply_group(engine, &g, true).map_err(engine_error)?,
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
