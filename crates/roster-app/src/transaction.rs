//! The one door for every write. A [`LiveTx`] is the only way a use case changes the
//! domain: each of its writing methods writes the rows *and* keeps the engine's image,
//! the automatic groups' memberships (rows, counts, events), the enrollments that
//! enrollment rules make (see [`enrolling`], settled before the commit), the change
//! log and the change feed in step, in the same transaction — so no caller can write a
//! user and forget its groups.
//!
//! Opening one ([`App::begin`]) takes the store's write gate (writers, in this process
//! and others, go one at a time) and brings the image up to date with the change log.
//! The transaction's connection is handed out only for reads ([`LiveTx::read`]): the
//! store's write functions take the write transaction itself, which never leaves this
//! module. If anything fails before the commit, the image may hold what never happened,
//! so it is thrown away and rebuilt from the database on next use.

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use roster_domain::{Enrollment, FieldDef, Group, MembershipChange, MembershipSource, User, UserStatus};
use roster_engine::{Engine, Evaluation, UserChange};
use roster_store::changes::Touched;
use roster_store::feed::Entry;
use roster_store::groups::ListKind;
use roster_store::memberships::{GroupMoves, Moves};
use roster_store::{AnyConnection, WriteTx};
use std::sync::Arc;

pub use roster_store::memberships::Cause;

use crate::live::{self, engine_error, Live};
use crate::{App, AppError, AppResult, Context};

mod enrolling;

/// Above this many users whose manual membership moved, dependents are re-evaluated
/// for everyone at once instead of user by user.
const PER_USER_LIMIT: usize = 200;

/// A write transaction of this process, counted from before it waits for the write
/// gate to its end: while one is, readers take the published image as it is.
#[derive(Debug)]
struct Writing(Arc<Live>);

impl Writing {
    fn new(live: &Arc<Live>) -> Self {
        live.writer_started();
        Self(live.clone())
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        self.0.writer_left();
    }
}

/// Ends a write transaction's hold on the image, the write gate still held: throws the
/// image away if it was changed in place ahead of a commit that never came (a copy goes
/// back to the published image instead), then publishes the image for readers.
#[derive(Debug)]
struct DirtyGuard {
    live: Arc<Live>,
    dirty: bool,
    /// Whether the transaction writes a copy of the image (see [`App::begin_copy`]).
    copy: bool,
    /// Dropped after the image is published.
    _writing: Writing,
}

impl Drop for DirtyGuard {
    fn drop(&mut self) {
        match (self.dirty, self.copy) {
            (true, true) => self.live.restore_published(),
            (true, false) => self.live.forget(),
            (false, _) => {}
        }
        self.live.publish();
    }
}

/// The write transaction that keeps automatic groups, the image and the change log
/// true with every row it writes.
#[derive(Debug)]
pub(crate) struct LiveTx {
    /// Dropped before `tx`: a failed transaction's image is dealt with before the next
    /// writer of this process may begin.
    guard: DirtyGuard,
    tx: WriteTx,
    live: Arc<Live>,
    touched: Vec<Touched>,
    /// The entity changes the change feed will carry, and the first cause given.
    feed: Vec<Entry>,
    feed_cause: Option<(String, String)>,
    /// Whether the image holds what this transaction does not write (see
    /// [`LiveTx::hold_in_image`]): it is thrown away after the commit.
    diverged: bool,
    /// The platform's calendar day when the transaction began.
    pub today: NaiveDate,
    /// The time the transaction began, epoch ms.
    pub now: i64,
    /// Members of groups with enrollment rules who moved, for [`LiveTx::settle`].
    moved: Vec<enrolling::Moved>,
}

/// Users a transaction saved whose records the image has not taken yet (see
/// [`LiveTx::save_users`]): the batch the image is taking on a thread of its own, and
/// the batch after it. Nothing may read the image before it has taken them.
#[derive(Debug, Default)]
#[must_use = "the image must take the users saved: pass them on to LiveTx::save_users or LiveTx::load_users"]
pub(crate) struct Unloaded {
    taking: Option<Taking>,
    next: Vec<roster_engine::UserRecord>,
}

impl Unloaded {
    /// Waits for the batch the image is taking; returns the batch after it, which the
    /// image has yet to take.
    async fn wait_for_taking(self) -> AppResult<Vec<roster_engine::UserRecord>> {
        let Unloaded { taking, next } = self;
        if let Some(taking) = taking {
            taking.finish().await?;
        }
        Ok(next)
    }
}

/// The image taking a batch of users on a blocking thread, while the caller goes on
/// with the database. Dropped unfinished (the caller returned an error), it waits for
/// the thread: the transaction's end must not find the image half-written by it.
#[derive(Debug)]
struct Taking {
    thread: Option<tokio::task::JoinHandle<AppResult<()>>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Taking {
    fn start(live: Arc<Live>, users: Vec<roster_engine::UserRecord>) -> Self {
        let (finished, done) = std::sync::mpsc::channel();
        let thread = tokio::task::spawn_blocking(move || {
            let taken =
                live.with_engine_mut(|e| e.upsert_users(&users).map(drop)).and_then(|t| t.map_err(engine_error));
            // The image's lock is released by now.
            let _ = finished.send(());
            taken
        });
        Self { thread: Some(thread), done }
    }

    async fn finish(mut self) -> AppResult<()> {
        let Some(thread) = self.thread.take() else { return Ok(()) };
        thread.await.map_err(|e| AppError::invariant(format!("the image stopped taking users: {e}")))?
    }
}

impl Drop for Taking {
    fn drop(&mut self) {
        if self.thread.is_some() {
            // Ends when the thread sends, or drops its sender (a panic, or a runtime
            // shutting down before it ran).
            let _ = self.done.recv();
        }
    }
}

impl App {
    /// Opens a write transaction with the engine caught up with the database, writing
    /// the image in place: readers of the image wait for it (see [`App::begin_copy`]).
    /// For writes of users, which are quick one at a time, and would copy whole columns
    /// if they wrote a copy.
    pub(crate) async fn begin(&self) -> AppResult<LiveTx> {
        self.open(false).await
    }

    /// Opens a write transaction that writes a copy of the image, published when it
    /// ends: readers keep reading the last committed image meanwhile, however long the
    /// write takes. For writes of groups (a rule edit moves up to every user), whose
    /// copy shares every column and every group it does not write.
    pub(crate) async fn begin_copy(&self) -> AppResult<LiveTx> {
        self.open(true).await
    }

    async fn open(&self, copy: bool) -> AppResult<LiveTx> {
        let writing = Writing::new(&self.live);
        #[expect(clippy::disallowed_methods, reason = "the one door: every domain write goes through a LiveTx")]
        let mut tx = self.store.write().await?;
        // Only now, the gate held: a guard publishes the image when dropped, which must
        // not happen while another writer of this process is changing it.
        let guard = DirtyGuard { live: self.live.clone(), dirty: false, copy, _writing: writing };
        let now = self.now();
        let today = self.live.day(now);
        live::catch_up(&self.live, &mut tx, today, self.settings.image_file.as_deref()).await?;
        if copy {
            // What readers read meanwhile, and what a failure goes back to: the image
            // as caught up (the first write after a start-up has nothing published yet).
            self.live.publish();
        } else {
            self.live.unpublish().await;
        }
        Ok(LiveTx {
            tx,
            live: self.live.clone(),
            touched: Vec::new(),
            feed: Vec::new(),
            feed_cause: None,
            guard,
            diverged: false,
            today,
            now,
            moved: Vec::new(),
        })
    }
}

impl LiveTx {
    /// The transaction's connection, for reads: what it returns sees this
    /// transaction's writes. Writing goes through the methods of the `LiveTx` itself.
    pub(crate) fn read(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Runs `f` on the engine (which [`App::begin`] made sure exists).
    pub(crate) fn engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> AppResult<T> {
        self.live.with_engine(f)
    }

    /// Changes the engine ahead of the commit.
    fn engine_mut<T>(&mut self, f: impl FnOnce(&mut Engine) -> T) -> AppResult<T> {
        self.guard.dirty = true;
        self.live.with_engine_mut(f)
    }

    /// The fields and branches, as this transaction sees them.
    pub(crate) async fn context(&mut self) -> AppResult<Arc<Context>> {
        if let Some(context) = self.live.context() {
            return Ok(context);
        }
        let context = Arc::new(Context::load(&mut self.tx).await?);
        self.live.set_context(context.clone());
        Ok(context)
    }

    /// Records that `t` changed, for the change log.
    fn touch(&mut self, t: Touched) {
        self.touched.push(t);
    }

    /// Records an entity change for the change feed; `cause`, when the change has one,
    /// names the feed row's actor and reason if no earlier change did.
    fn record(&mut self, kind: &str, entry: Entry, cause: Option<&Cause>) {
        if let Some(cause) = cause {
            self.note_cause(cause);
        }
        self.feed.push(Entry { kind: kind.to_owned(), ..entry });
    }

    /// The feed row's actor and reason: the first cause the transaction was given.
    fn note_cause(&mut self, cause: &Cause) {
        if self.feed_cause.is_none() {
            self.feed_cause = Some((cause.actor.clone(), cause.why.clone()));
        }
    }

    /// Commits the change, its memberships, the enrollments their rules make and
    /// remove, the change log and the change feed together; the enrollment rules settle
    /// first, so the feed row carries what they did.
    pub(crate) async fn commit(mut self) -> AppResult<()> {
        self.settle().await?;
        let moved_anything = self.touched.iter().any(|t| !matches!(t, Touched::Catalog));
        if moved_anything || !self.feed.is_empty() {
            let entries = feed_entries(std::mem::take(&mut self.feed));
            let (actor, why) = self.feed_cause.take().unwrap_or_else(|| ("system".into(), String::new()));
            roster_store::feed::append(&mut self.tx, self.now, &actor, &why, &entries).await?;
        }
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_by_key(|t| match t {
            Touched::Catalog => (0, 0),
            Touched::Group(id) => (1, *id),
            Touched::User(id) => (2, *id),
        });
        touched.dedup();
        let seq = roster_store::changes::append(&mut self.tx, &touched, self.now).await?;
        let LiveTx { tx, live, mut guard, diverged, .. } = self;
        // The image is published before the next writer of this process begins, so
        // that none can be changing it as it is published.
        tx.commit_then(|| {
            guard.dirty = diverged;
            // The image holds what the database does not: built again, not restored.
            guard.copy &= !diverged;
            if let Some(seq) = seq {
                live.advance(seq);
            }
            drop(guard);
        })
        .await?;
        Ok(())
    }

    // ------------------------------------------------------------------ users

    /// Creates `user` (its id is set here), with its password hash when it has one;
    /// its automatic memberships follow (`fields`: the definitions it was checked against).
    pub(crate) async fn insert_user(
        &mut self,
        user: &mut User,
        password_hash: Option<&str>,
        fields: &[FieldDef],
        cause: &Cause,
    ) -> AppResult<()> {
        user.id = roster_store::users::insert(&mut self.tx, user).await?;
        if let Some(hash) = password_hash {
            roster_store::users::set_password_hash(&mut self.tx, user.id, Some(hash)).await?;
        }
        self.record("user.created", Entry::users(vec![user.id]), Some(cause));
        self.user_changed(user, fields, cause).await.map(drop)
    }

    /// Saves a changed user (and a new password hash, when given); its automatic
    /// memberships follow.
    pub(crate) async fn update_user(
        &mut self,
        user: &User,
        password_hash: Option<&str>,
        fields: &[FieldDef],
        cause: &Cause,
    ) -> AppResult<()> {
        if let Some(hash) = password_hash {
            roster_store::users::set_password_hash(&mut self.tx, user.id, Some(hash)).await?;
        }
        roster_store::users::update(&mut self.tx, user).await?;
        let change = self.user_changed(user, fields, cause).await?;
        let kind = if user.status == UserStatus::Suspended && change.status_changed() {
            "user.suspended"
        } else {
            "user.updated"
        };
        self.record(kind, Entry::users(vec![user.id]), Some(cause));
        Ok(())
    }

    /// Deletes a user: their memberships end first, with events, then the row goes.
    pub(crate) async fn delete_user(&mut self, user: i64, cause: &Cause) -> AppResult<()> {
        let groups = roster_store::memberships::group_ids_of_user(&mut self.tx, user).await?;
        let moves = Moves::User { user_id: user, by_rule: &[], by_list: &[], left: &groups };
        roster_store::memberships::apply(&mut self.tx, moves, cause).await?;
        self.touch(Touched::User(user));
        let branch = roster_store::users::get(&mut self.tx, user).await?.and_then(|u| u.branch_id);
        self.record("user.deleted", Entry { branch, ..Entry::users(vec![user]) }, Some(cause));
        let _ = self.engine_mut(|e| e.remove_user(user))?;
        roster_store::users::delete(&mut self.tx, user).await?;
        Ok(())
    }

    /// Saves many users at once (the new ones get their ids here) without evaluating
    /// anyone: the caller evaluates everyone once, with [`LiveTx::reevaluate_all`],
    /// before it commits. The image takes the batch saved before (`earlier`) on a
    /// thread of its own, from here until the next call: while the database writes
    /// this batch, and while the caller reads and checks the next one. It takes this
    /// batch with the next call, or through [`LiveTx::load_users`]. An import saves
    /// batch after batch, the engine's work and the database's overlapping, one core
    /// each; when the engine worked on this thread, the statements made here waited
    /// for it.
    pub(crate) async fn save_users(
        &mut self,
        created: &mut [User],
        updated: &[User],
        earlier: Option<Unloaded>,
    ) -> AppResult<Unloaded> {
        let fields = roster_store::fields::all(&mut self.tx).await?;
        // In order: the batch before `next` is taken first.
        let next = earlier.unwrap_or_default().wait_for_taking().await?;
        let taking = (!next.is_empty()).then(|| {
            self.guard.dirty = true;
            Taking::start(self.live.clone(), next)
        });
        let ids = roster_store::users::insert_many(&mut self.tx, created).await?;
        for user in updated {
            roster_store::users::update(&mut self.tx, user).await?;
        }
        for (user, id) in created.iter_mut().zip(ids) {
            user.id = id;
        }
        if !created.is_empty() {
            self.record("user.created", Entry::users(created.iter().map(|u| u.id).collect()), None);
        }
        if !updated.is_empty() {
            self.record("user.updated", Entry::users(updated.iter().map(|u| u.id).collect()), None);
        }
        let users = created.iter().chain(updated);
        self.touched.extend(users.clone().map(|u| Touched::User(u.id)));
        let next = users.map(|u| live::user_record(u, &fields, &self.live)).collect();
        Ok(Unloaded { taking, next })
    }

    /// Puts the users saved by [`LiveTx::save_users`] into the image: the batch it is
    /// taking, then the last one.
    pub(crate) async fn load_users(&mut self, unloaded: Unloaded) -> AppResult<()> {
        let next = unloaded.wait_for_taking().await?;
        if next.is_empty() {
            return Ok(());
        }
        self.engine_mut(|e| e.upsert_users(&next))?.map_err(engine_error)?;
        Ok(())
    }

    /// Sets users' password hashes (no membership reads a password).
    pub(crate) async fn set_password_hashes(&mut self, hashes: &[(i64, String)]) -> AppResult<()> {
        for (user, hash) in hashes {
            roster_store::users::set_password_hash(&mut self.tx, *user, Some(hash)).await?;
        }
        Ok(())
    }

    /// A user was written: the image takes the row, and the user's automatic
    /// memberships move — only in the groups whose rules read what changed.
    /// Returns what changed for the rules.
    async fn user_changed(&mut self, user: &User, fields: &[FieldDef], cause: &Cause) -> AppResult<UserChange> {
        let record = live::user_record(user, fields, &self.live);
        self.touch(Touched::User(user.id));
        let change = self.engine_mut(|e| e.upsert_user(&record))?.map_err(engine_error)?;
        self.reevaluate_change(&change, cause).await?;
        Ok(change)
    }

    // ------------------------------------------------------------------ enrollments

    /// Sets an enrollment (new or changed); the user's automatic memberships follow.
    pub(crate) async fn set_enrollment(&mut self, enrollment: &Enrollment, cause: &Cause) -> AppResult<()> {
        roster_store::enrollments::upsert(&mut self.tx, enrollment).await?;
        let entry = Entry::enrollment(enrollment.course_id, vec![enrollment.user_id]);
        self.record("enrollment.set", entry, Some(cause));
        self.enrollment_changed(enrollment.user_id, enrollment.course_id, Some(enrollment), cause).await
    }

    /// Removes an enrollment; whether there was one. The user's memberships follow.
    pub(crate) async fn remove_enrollment(&mut self, user: i64, course: i64, cause: &Cause) -> AppResult<bool> {
        if !roster_store::enrollments::delete(&mut self.tx, user, course).await? {
            return Ok(false);
        }
        self.record("enrollment.removed", Entry::enrollment(course, vec![user]), Some(cause));
        self.enrollment_changed(user, course, None, cause).await?;
        Ok(true)
    }

    /// Writes many enrollments at once and puts them in the image without evaluating
    /// anyone: the caller evaluates everyone once before it commits.
    pub(crate) async fn insert_enrollments(&mut self, enrollments: &[Enrollment]) -> AppResult<()> {
        roster_store::enrollments::insert_many(&mut self.tx, enrollments).await?;
        for e in enrollments {
            self.record("enrollment.set", Entry::enrollment(e.course_id, vec![e.user_id]), None);
        }
        let records: Vec<_> = enrollments.iter().map(|e| (e.user_id, live::enrollment_record(e, &self.live))).collect();
        self.engine_mut(|e| -> Result<(), roster_engine::EngineError> {
            for (user, (course, record)) in &records {
                drop(e.set_enrollment(*user, *course, record)?);
            }
            Ok(())
        })?
        .map_err(engine_error)?;
        self.touched.extend(enrollments.iter().map(|e| Touched::User(e.user_id)));
        Ok(())
    }

    async fn enrollment_changed(
        &mut self,
        user: i64,
        course: i64,
        enrollment: Option<&Enrollment>,
        cause: &Cause,
    ) -> AppResult<()> {
        let record = enrollment.map(|e| live::enrollment_record(e, &self.live).1);
        self.touch(Touched::User(user));
        let change = self
            .engine_mut(|e| match &record {
                Some(r) => e.set_enrollment(user, course, r),
                None => e.clear_enrollment(user, course),
            })?
            .map_err(engine_error)?;
        if enrollment.is_none() && self.enrolling()? {
            // An enrollment a group's rule stands for cannot go while the user is in the
            // group: the rule enrolls them again, as if they had just joined.
            let enrolling = self.engine(|e| {
                let member = |g: &i64| e.members(*g).is_some_and(|m| u32::try_from(user).is_ok_and(|u| m.contains(u)));
                e.groups_enrolling_in(course).into_iter().filter(member).collect::<Vec<i64>>()
            })?;
            for group in enrolling {
                self.members_moved(group, user_bits(&[user]), [], cause)?;
            }
        }
        self.reevaluate_change(&change, cause).await
    }

    // ------------------------------------------------------------------ groups

    /// Creates a group (its id is set here); the image knows it.
    pub(crate) async fn insert_group(&mut self, group: &mut Group) -> AppResult<()> {
        group.id = roster_store::groups::insert(&mut self.tx, group).await?;
        self.record("group.created", Entry::group(group.id), None);
        self.group_reloaded(group.id).await
    }

    /// Saves a group's name, description or rule text, none of which moves a member.
    pub(crate) async fn save_group(&mut self, group: &Group) -> AppResult<()> {
        roster_store::groups::update(&mut self.tx, group).await?;
        self.record("group.changed", Entry::group(group.id), None);
        self.group_reloaded(group.id).await
    }

    /// Saves an automatic group's definition (rule, switch): the image takes it, and
    /// its members (and its dependents') move as a diff.
    pub(crate) async fn save_definition(&mut self, group: &Group, cause: &Cause) -> AppResult<Evaluation> {
        roster_store::groups::update(&mut self.tx, group).await?;
        self.record("group.changed", Entry::group(group.id), Some(cause));
        self.automatic_group_changed(group.id, cause).await
    }

    /// Edits an automatic group's `kind` list: `put` go on it (and off the other list),
    /// `take` come off it; the group's `updated_at` says when. Its members move as a diff.
    pub(crate) async fn edit_list(
        &mut self,
        group: i64,
        kind: ListKind,
        put: &[i64],
        take: &[i64],
        cause: &Cause,
    ) -> AppResult<Evaluation> {
        let other = match kind {
            ListKind::Include => ListKind::Exclude,
            ListKind::Exclude => ListKind::Include,
        };
        roster_store::groups::remove_from_list(&mut self.tx, group, kind, take).await?;
        roster_store::groups::remove_from_list(&mut self.tx, group, other, put).await?;
        roster_store::groups::add_to_list(&mut self.tx, group, kind, put, cause.at, &cause.actor).await?;
        roster_store::groups::touch(&mut self.tx, group, cause.at).await?;
        self.record("group.changed", Entry::group(group), Some(cause));
        self.automatic_group_changed(group, cause).await
    }

    /// Deletes a group (the caller checked that no rule names it).
    pub(crate) async fn delete_group(&mut self, group: i64, cause: &Cause) -> AppResult<()> {
        // The memberships go with the group; their history says so.
        let members = roster_store::memberships::member_ids(&mut self.tx, group).await?;
        let moves = Moves::Group { group_id: group, joined: &[], source: MembershipSource::Manual, left: &members };
        roster_store::memberships::apply(&mut self.tx, moves, cause).await?;
        // Its enrollment rules act on the members leaving, as they were before it went.
        self.members_moved(group, [], user_bits(&members), cause)?;
        roster_store::groups::delete(&mut self.tx, group).await?;
        self.record("group.deleted", Entry::group(group), Some(cause));
        self.group_reloaded(group).await
    }

    /// Makes `users` members of the manual group `group` (those already members stay
    /// as they are); returns who joined. Automatic groups that name it follow.
    pub(crate) async fn join(
        &mut self,
        group: &Group,
        users: &[i64],
        source: MembershipSource,
        cause: &Cause,
    ) -> AppResult<Vec<i64>> {
        let existing = roster_store::memberships::which_are_members(&mut self.tx, group.id, users).await?;
        let mut joined: Vec<i64> = users.iter().copied().filter(|u| existing.binary_search(u).is_err()).collect();
        joined.sort_unstable();
        joined.dedup();
        let moves = Moves::Group { group_id: group.id, joined: &joined, source, left: &[] };
        roster_store::memberships::apply(&mut self.tx, moves, cause).await?;
        self.manual_members_changed(group.id, &joined, &[], cause).await?;
        self.members_moved(group.id, user_bits(&joined), [], cause)?;
        Ok(joined)
    }

    /// Ends the membership of `users` in the manual group `group` (non-members are
    /// ignored); returns who left. Automatic groups that name it follow.
    pub(crate) async fn leave(&mut self, group: &Group, users: &[i64], cause: &Cause) -> AppResult<Vec<i64>> {
        let left = roster_store::memberships::which_are_members(&mut self.tx, group.id, users).await?;
        let moves = Moves::Group { group_id: group.id, joined: &[], source: MembershipSource::Manual, left: &left };
        roster_store::memberships::apply(&mut self.tx, moves, cause).await?;
        self.manual_members_changed(group.id, &[], &left, cause).await?;
        self.members_moved(group.id, [], user_bits(&left), cause)?;
        Ok(left)
    }

    /// Records a CSV upload to a group and its report; returns the upload's number.
    pub(crate) async fn record_upload(
        &mut self,
        group: i64,
        actor: &str,
        dry_run: bool,
        applied: bool,
        report: &str,
    ) -> AppResult<i64> {
        let now = self.now;
        Ok(roster_store::groups::insert_upload(&mut self.tx, group, actor, now, dry_run, applied, report).await?)
    }

    /// Replaces an upload's report.
    pub(crate) async fn set_upload_report(&mut self, upload: i64, report: &str) -> AppResult<()> {
        Ok(roster_store::groups::set_upload_result(&mut self.tx, upload, report).await?)
    }

    // ------------------------------------------------------------------ the catalog

    /// Creates an additional field.
    pub(crate) async fn insert_field(&mut self, field: &FieldDef, cause: &Cause) -> AppResult<()> {
        roster_store::fields::insert(&mut self.tx, field, self.now).await?;
        self.catalog_changed(false, cause).await
    }

    /// Saves a changed additional field.
    pub(crate) async fn update_field(&mut self, field: &FieldDef, cause: &Cause) -> AppResult<()> {
        roster_store::fields::update(&mut self.tx, field).await?;
        self.catalog_changed(false, cause).await
    }

    /// Puts the additional fields in the order of `codes` (each field once).
    pub(crate) async fn order_fields(&mut self, codes: &[&str], cause: &Cause) -> AppResult<()> {
        roster_store::fields::set_order(&mut self.tx, codes).await?;
        self.catalog_changed(false, cause).await
    }

    /// Deletes an additional field and every user's value of it (the caller checked
    /// that no rule reads it).
    pub(crate) async fn delete_field(&mut self, code: &str, cause: &Cause) -> AppResult<()> {
        roster_store::users::drop_field(&mut self.tx, code).await?;
        roster_store::fields::delete(&mut self.tx, code).await?;
        self.catalog_changed(false, cause).await
    }

    /// Creates a branch; returns its id.
    pub(crate) async fn insert_branch(
        &mut self,
        code: &str,
        name: &str,
        parent: Option<i64>,
        cause: &Cause,
    ) -> AppResult<i64> {
        let id = roster_store::branches::insert(&mut self.tx, code, name, parent, self.now).await?;
        self.catalog_changed(false, cause).await?;
        Ok(id)
    }

    /// Saves a changed branch; `moved` when its parent changed, which re-evaluates
    /// everyone (`branch under` may now answer otherwise).
    pub(crate) async fn update_branch(
        &mut self,
        branch: &roster_domain::Branch,
        moved: bool,
        cause: &Cause,
    ) -> AppResult<()> {
        roster_store::branches::update(&mut self.tx, branch).await?;
        self.catalog_changed(moved, cause).await
    }

    /// Deletes a branch (the caller checked that nothing uses it).
    pub(crate) async fn delete_branch(&mut self, branch: i64, cause: &Cause) -> AppResult<()> {
        roster_store::branches::delete(&mut self.tx, branch).await?;
        self.catalog_changed(false, cause).await
    }

    /// Creates a course; returns its id.
    pub(crate) async fn insert_course(&mut self, code: &str, name: &str, cause: &Cause) -> AppResult<i64> {
        let id = roster_store::courses::insert(&mut self.tx, code, name, self.now).await?;
        self.catalog_changed(false, cause).await?;
        Ok(id)
    }

    /// Renames a course.
    pub(crate) async fn rename_course(&mut self, course: i64, name: &str, cause: &Cause) -> AppResult<()> {
        roster_store::courses::rename(&mut self.tx, course, name).await?;
        self.catalog_changed(false, cause).await
    }

    /// Deletes a course and its enrollments (the caller checked that no rule reads it).
    pub(crate) async fn delete_course(&mut self, course: i64, cause: &Cause) -> AppResult<()> {
        roster_store::courses::delete(&mut self.tx, course).await?;
        self.catalog_changed(false, cause).await
    }

    /// Records a fact about the platform (such as the day relative dates were last
    /// evaluated), in the same commit.
    /// Sets the id a provisioning client (SCIM) knows a user by; nothing else reads it.
    pub(crate) async fn set_user_external_id(&mut self, user: i64, external_id: Option<&str>) -> AppResult<()> {
        Ok(roster_store::directory::set_user_external_id(&mut self.tx, user, external_id).await?)
    }

    /// Sets the display name a provisioning client gave a user (`Some("")`: removed).
    pub(crate) async fn set_user_display_name(&mut self, user: i64, name: Option<&str>) -> AppResult<()> {
        roster_store::directory::set_user_display_name(&mut self.tx, user, name).await?;
        self.record("user.updated", Entry::users(vec![user]), None);
        Ok(())
    }

    /// Sets the id a provisioning client knows a group by.
    pub(crate) async fn set_group_external_id(&mut self, group: i64, external_id: Option<&str>) -> AppResult<()> {
        Ok(roster_store::directory::set_group_external_id(&mut self.tx, group, external_id).await?)
    }

    pub(crate) async fn set_fact(&mut self, name: &str, value: &str) -> AppResult<()> {
        Ok(roster_store::changes::set_fact(&mut self.tx, name, value).await?)
    }

    // ------------------------------------------------------------------ keeping groups true

    /// Evaluates, for the user a write changed, the automatic groups whose rules read
    /// what changed, and writes what moves.
    async fn reevaluate_change(&mut self, change: &UserChange, why: &Cause) -> AppResult<()> {
        let today = self.today;
        let evaluation = self.engine(|e| e.evaluate_change(change, today))?.map_err(engine_error)?;
        if evaluation.changes.is_empty() {
            return Ok(());
        }
        let user = evaluation.user;
        let (by_rule, by_list, left) = self.engine(|e| {
            let (mut by_rule, mut by_list, mut left) = (Vec::new(), Vec::new(), Vec::new());
            for delta in &evaluation.changes {
                match delta.change {
                    MembershipChange::Joined if is_listed(e.included(delta.group), user) => by_list.push(delta.group),
                    MembershipChange::Joined => by_rule.push(delta.group),
                    MembershipChange::Left => left.push(delta.group),
                }
            }
            (by_rule, by_list, left)
        })?;
        let moves = Moves::User { user_id: user, by_rule: &by_rule, by_list: &by_list, left: &left };
        roster_store::memberships::apply(&mut self.tx, moves, why).await?;
        self.engine_mut(|e| e.commit_user(&evaluation))?;
        if self.enrolling()? {
            for group in by_rule.iter().chain(&by_list) {
                self.members_moved(*group, user_bits(&[user]), [], why)?;
            }
            for group in &left {
                self.members_moved(*group, [], user_bits(&[user]), why)?;
            }
        }
        Ok(())
    }

    /// A manual group's members moved: the automatic groups whose rules name it follow.
    async fn manual_members_changed(&mut self, group: i64, joined: &[i64], left: &[i64], why: &Cause) -> AppResult<()> {
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

    /// An automatic group's definition was saved: the image takes it, and its members
    /// (and its dependents') move as a diff.
    async fn automatic_group_changed(&mut self, group: i64, why: &Cause) -> AppResult<Evaluation> {
        let loaded = live::load_group(&mut self.tx, group, false).await?;
        self.touch(Touched::Group(group));
        let Some(loaded) = loaded else { return Ok(Evaluation::default()) };
        self.engine_mut(|e| live::apply_group(e, &loaded))?.map_err(engine_error)?;
        self.reevaluate_groups(&[group], why).await
    }

    /// Evaluates these groups and their dependents for everyone; writes what moves.
    pub(crate) async fn reevaluate_groups(&mut self, groups: &[i64], why: &Cause) -> AppResult<Evaluation> {
        let today = self.today;
        let evaluation = self.engine(|e| e.evaluate_groups(groups, today))?.map_err(engine_error)?;
        self.write_evaluation(&evaluation, why).await?;
        Ok(evaluation)
    }

    /// Evaluates every automatic group; writes what moves (the date roll-over, an
    /// import, reconcile).
    pub(crate) async fn reevaluate_all(&mut self, why: &Cause) -> AppResult<Evaluation> {
        let today = self.today;
        let evaluation = self.engine(|e| e.evaluate_all(today))?;
        self.write_evaluation(&evaluation, why).await?;
        Ok(evaluation)
    }

    /// Writes the joins and leaves of an evaluation, with events, and records it in the
    /// image as committed. The evaluation is a diff against the memberships the engine
    /// holds as committed, which are the database's: nothing is asked of the database
    /// before writing.
    ///
    /// The memberships are written in the order of their key, group then user, so a
    /// group's moves land on neighbouring pages; each group's joins and leaves are one
    /// set event each ([`Moves::Sets`]).
    pub(crate) async fn write_evaluation(&mut self, evaluation: &Evaluation, why: &Cause) -> AppResult<()> {
        // An import records its users without a cause, and gives one here.
        self.note_cause(why);
        let mut sets = Vec::new();
        for g in &evaluation.groups {
            if g.joined.is_empty() && g.left.is_empty() {
                continue;
            }
            self.touch(Touched::Group(g.group));
            let (by_rule, by_list) = self.engine(|e| match e.included(g.group) {
                Some(include) if !include.is_empty() => (&g.joined - include, &g.joined & include),
                _ => (g.joined.clone(), RoaringBitmap::new()),
            })?;
            sets.push((g, by_rule, by_list));
        }
        let moves: Vec<GroupMoves<'_>> = sets
            .iter()
            .map(|(g, by_rule, by_list)| GroupMoves { group_id: g.group, by_rule, by_list, left: &g.left })
            .collect();
        if !moves.is_empty() {
            roster_store::memberships::apply(&mut self.tx, Moves::Sets(&moves), why).await?;
        }
        self.engine_mut(|e| e.commit(evaluation))?;
        if self.enrolling()? {
            for g in &evaluation.groups {
                self.members_moved(g.group, &g.joined, &g.left, why)?;
            }
        }
        Ok(())
    }

    /// Records an evaluation in the image only, not in the database: the benchmark
    /// sizes later rules against groups whose members it has not written yet. The
    /// image is thrown away when the transaction ends, committed or not.
    #[cfg(feature = "bench")]
    pub(crate) fn hold_in_image(&mut self, evaluation: &Evaluation) -> AppResult<()> {
        self.diverged = true;
        self.engine_mut(|e| e.commit(evaluation))
    }

    /// The catalog (fields, branches, courses) changed: the image takes it; a branch
    /// move re-evaluates everyone, since `branch under` may now answer otherwise.
    async fn catalog_changed(&mut self, moved_branch: bool, why: &Cause) -> AppResult<()> {
        self.touch(Touched::Catalog);
        self.live.clear_context();
        let catalog = live::load_catalog(&mut self.tx).await?;
        let applied = self.engine_mut(|e| e.set_catalog(&catalog))?;
        if applied.is_err() {
            // A removal the image cannot follow in place: rebuild it from the database.
            let engine = live::build(&mut self.tx, &self.live, self.today).await?;
            self.guard.dirty = true;
            self.live.replace_engine(engine);
        }
        if moved_branch {
            self.reevaluate_all(why).await?;
        }
        Ok(())
    }

    /// A group was created, renamed or deleted: the image follows.
    async fn group_reloaded(&mut self, group: i64) -> AppResult<()> {
        let loaded = live::load_group(&mut self.tx, group, true).await?;
        self.touch(Touched::Group(group));
        match loaded {
            Some(loaded) => self.engine_mut(|e| live::apply_group(e, &loaded))?.map_err(engine_error),
            None => {
                let _ = self.engine_mut(|e| e.remove_group(group))?;
                Ok(())
            }
        }
    }
}

/// Users' ids as the engine's bitmaps hold them (ids beyond them are not in the image).
fn user_bits(users: &[i64]) -> impl Iterator<Item = u32> + '_ {
    users.iter().filter_map(|&u| u32::try_from(u).ok())
}

/// Whether `user` is on a list.
fn is_listed(list: Option<&RoaringBitmap>, user: i64) -> bool {
    list.is_some_and(|l| u32::try_from(user).is_ok_and(|u| l.contains(u)))
}

/// The entries of one feed row: for each kind (and course), the users it touched merged
/// into one entry, ascending; a user created in the transaction is not also updated; a
/// group created or deleted is not also changed. Order of first appearance is kept.
fn feed_entries(entries: Vec<Entry>) -> Vec<Entry> {
    let created: std::collections::HashSet<i64> =
        entries.iter().filter(|e| e.kind == "user.created").flat_map(|e| e.users.iter().copied()).collect();
    let group_ends: std::collections::HashSet<i64> = entries
        .iter()
        .filter(|e| e.kind == "group.created" || e.kind == "group.deleted")
        .filter_map(|e| e.group)
        .collect();
    let mut merged: Vec<Entry> = Vec::new();
    for mut entry in entries {
        if entry.kind == "user.updated" {
            entry.users.retain(|u| !created.contains(u));
            if entry.users.is_empty() {
                continue;
            }
        }
        if entry.kind == "group.changed" && entry.group.is_some_and(|g| group_ends.contains(&g)) {
            continue;
        }
        let same = merged.iter_mut().find(|m| {
            (&m.kind, m.course, m.group) == (&entry.kind, entry.course, entry.group)
                && m.branch.is_none()
                && entry.branch.is_none()
        });
        match same {
            Some(m) => m.users.extend(entry.users),
            None => merged.push(entry),
        }
    }
    for m in &mut merged {
        m.users.sort_unstable();
        m.users.dedup();
    }
    merged
}
