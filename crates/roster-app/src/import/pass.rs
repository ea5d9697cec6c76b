//! The phases of a job: a pass over the file that checks every row, then — for a real
//! import with no row refused — a pass in one write transaction that checks each row
//! again and writes the users in bulk, then one evaluation of every automatic group.

use roaring::RoaringBitmap;
use roster_csv::{CsvError, CsvReader, Header};
use roster_domain::{BranchTree, User};
use roster_engine::Evaluation;
use roster_store::imports::ImportState;
use roster_store::AnyConnection;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

use super::check::{Action, Checker, RowChange};
use super::job::{io_error, Ended, Job, Phase, Progress, Source};
use super::{
    mapping, GroupEffect, GroupsNotComputed, ImportCounts, ImportFailure, Issue, Outcome, MAX_REPORTED_ISSUES,
};
use crate::labels::thousands;
use crate::reach::Reach;
use crate::transaction::{LiveTx, Unloaded};
use crate::{auth, App, AppError, AppResult, Context, Scope};

/// The largest population whose import check rehearses the import to count what each
/// automatic group would gain or lose, unless the settings say otherwise
/// ([`crate::Settings::rehearse_imports_up_to`]): the image, rebuilt after the
/// rehearsal, took 35-48 s at 1,000,000 users in the benchmark, and every write waits
/// for it.
pub const REHEARSE_UP_TO: u64 = 200_000;

/// Rows read, checked and written together: as many as one statement inserts.
const BATCH: usize = roster_store::users::INSERT_ROWS;
/// Batches read ahead of the checking.
const READ_AHEAD: usize = 2;
/// Users written from which an import refreshes the database's planner statistics.
const REFRESH_STATISTICS_AFTER: usize = 10_000;

/// What a pass found.
#[derive(Debug, Default)]
struct Checked {
    counts: ImportCounts,
    issues: Vec<Issue>,
    issues_total: usize,
    /// The users a writing pass created or changed.
    written: RoaringBitmap,
}

impl Checked {
    fn refuse(&mut self, issues: Vec<Issue>) {
        self.counts.errors += 1;
        self.issues_total += issues.len();
        let room = MAX_REPORTED_ISSUES.saturating_sub(self.issues.len());
        self.issues.extend(issues.into_iter().take(room));
    }

    /// The outcome of a pass that applies nothing: why, if it refuses the file.
    fn outcome(self) -> (Option<ImportFailure>, Outcome) {
        let failure = if self.counts.rows == 0 {
            Some(ImportFailure { code: "empty".into(), message: "the file has a header but no rows of users".into() })
        } else if self.counts.errors > 0 {
            Some(ImportFailure {
                code: "rows_rejected".into(),
                message: format!(
                    "{} of {} rows have errors; nothing was imported (see the report)",
                    self.counts.errors, self.counts.rows
                ),
            })
        } else {
            None
        };
        let outcome = Outcome {
            applied: false,
            counts: self.counts,
            issues: self.issues,
            issues_total: self.issues_total,
            failure: failure.clone(),
            groups: Vec::new(),
            groups_not_computed: None,
        };
        (failure, outcome)
    }
}

/// Where a pass looks users up, and whether it writes.
enum Sink<'c> {
    /// Checking: reads only.
    Check(&'c mut AnyConnection),
    /// Applying: the write transaction.
    Apply(&'c mut LiveTx),
    /// Rehearsing a dry run: a write transaction that will not commit.
    Rehearse(&'c mut LiveTx),
}

impl Sink<'_> {
    fn conn(&mut self) -> &mut AnyConnection {
        match self {
            Self::Check(conn) => conn,
            Self::Apply(tx) | Self::Rehearse(tx) => tx.read(),
        }
    }
}

impl App {
    /// Runs a job's phases; returns how it ended.
    pub(super) async fn run_import(&self, mut job: Job) -> AppResult<Ended> {
        let started = std::time::Instant::now();
        job.progress.enter(Phase::Checking);
        let reader = match job.first.take() {
            Some(reader) => reader,
            None => self.reader(&job).await?,
        };
        let mut conn = self.store.read().await?;
        let ctx = Context::load(&mut conn).await?;
        let checked = self.pass(&job, reader, &ctx, Sink::Check(&mut conn)).await?;
        drop(conn);
        let checking = started.elapsed();
        let (failure, outcome) = checked.outcome();
        if failure.is_some() {
            return Ok(Ended::Unrecorded(ImportState::Failed, outcome));
        }
        if job.options.dry_run {
            let mut outcome = outcome;
            match self.rehearse(&job).await? {
                Ok(groups) => outcome.groups = groups,
                Err(not_computed) => outcome.groups_not_computed = Some(Box::new(not_computed)),
            }
            outcome.counts.joined = outcome.groups.iter().map(|g| g.joins).sum();
            outcome.counts.left = outcome.groups.iter().map(|g| g.leaves).sum();
            return Ok(Ended::Unrecorded(ImportState::Succeeded, outcome));
        }

        job.progress.enter(Phase::Waiting);
        let mut tx = self.begin().await?;
        let waiting = started.elapsed();
        job.progress.enter(Phase::Applying);
        let ctx = Context::load(tx.read()).await?;
        let reader = self.reader(&job).await?;
        let mut applied = self.pass(&job, reader, &ctx, Sink::Apply(&mut tx)).await?;
        let applied_users = std::mem::take(&mut applied.written);
        let (failure, mut outcome) = applied.outcome();
        if failure.is_some() {
            // The database moved between the phases; nothing of it is kept.
            return Ok(Ended::Unrecorded(ImportState::Failed, outcome));
        }

        job.progress.enter(Phase::Evaluating);
        let applying = started.elapsed();
        let cause = self.cause(&job.actor, format!("user import {}", job.id));
        let evaluation = tx.reevaluate_all(&cause).await?;
        outcome.groups = group_effects(&mut tx, &job, &evaluation, &applied_users).await?;
        outcome.applied = true;
        outcome.counts.joined = evaluation.groups.iter().map(|g| g.joined.len() as usize).sum();
        outcome.counts.left = evaluation.groups.iter().map(|g| g.left.len() as usize).sum();
        let json = serde_json::to_string(&outcome).map_err(super::corrupt)?;
        roster_store::imports::finish(tx.read(), job.id, ImportState::Succeeded, &json, self.now()).await?;
        tx.commit().await?;
        let committed = started.elapsed();
        let c = &outcome.counts;
        if c.created + c.updated >= REFRESH_STATISTICS_AFTER {
            // In the background: the import is done, and vacuuming 27M memberships
            // takes seconds.
            let app = self.clone();
            tokio::spawn(async move { app.refresh_statistics(job.id).await });
        }
        tracing::info!(
            import = job.id,
            rows = c.rows,
            created = c.created,
            updated = c.updated,
            joined = c.joined,
            left = c.left,
            checking_s = checking.as_secs_f64(),
            waiting_s = (waiting - checking).as_secs_f64(),
            applying_s = (applying - waiting).as_secs_f64(),
            evaluating_s = (committed - applying).as_secs_f64(),
            "user import applied"
        );
        Ok(Ended::Recorded)
    }

    /// A dry run's last step: what the import would do to the automatic groups, found
    /// by doing it — the users written in a write transaction, every automatic group
    /// evaluated by the engine — and rolling it back. No password is hashed, no
    /// membership written; the image, changed ahead of a commit that never comes, is
    /// rebuilt from the database on next use. Not computed, and the check says why, if
    /// the database moved since the check so that a row is refused now (the real import
    /// would say so), or above [`crate::Settings::rehearse_imports_up_to`] users:
    /// rebuilding the image after the rehearsal would hold every write for tens of
    /// seconds.
    async fn rehearse(&self, job: &Job) -> AppResult<Result<Vec<GroupEffect>, GroupsNotComputed>> {
        job.progress.enter(Phase::Waiting);
        let mut tx = self.begin().await?;
        let users = tx.engine(|e| e.users().len())?;
        let limit = self.settings.rehearse_imports_up_to;
        // A training admin is not told how many users the platform has.
        let told = job.actor.superadmin().is_ok().then_some(users);
        if users > limit {
            let size = told.map(|n| format!(" (this one has {})", thousands(n))).unwrap_or_default();
            return Ok(Err(GroupsNotComputed {
                code: "too_many_users".into(),
                message: format!(
                    "Group effects are not worked out on platforms of more than {} users{size}: working them out \
                     would hold every other change for tens of seconds. The import itself reports how many users \
                     each automatic group gains and loses.",
                    thousands(limit)
                ),
                users: told,
                limit,
            }));
        }
        job.progress.enter(Phase::Applying);
        let ctx = Context::load(tx.read()).await?;
        let reader = self.reader(job).await?;
        let rehearsed = self.pass(job, reader, &ctx, Sink::Rehearse(&mut tx)).await?;
        if rehearsed.counts.errors > 0 {
            return Ok(Err(GroupsNotComputed {
                code: "database_moved".into(),
                message: "Group effects could not be worked out: users changed while the file was checked, and \
                          some of its rows would now be refused. Check the file again."
                    .into(),
                users: told,
                limit,
            }));
        }
        job.progress.enter(Phase::Evaluating);
        let today = tx.today;
        let evaluation = tx.engine(|e| e.evaluate_all(today))?;
        Ok(Ok(group_effects(&mut tx, job, &evaluation, &rehearsed.written).await?))
    }

    /// Best effort: the import is committed whatever happens here.
    async fn refresh_statistics(&self, id: i64) {
        let refreshed = async {
            let mut conn = self.store.read().await?;
            roster_store::imports::refresh_statistics(&mut conn).await
        };
        if let Err(e) = refreshed.await {
            tracing::warn!(import = id, error = %e, "planner statistics not refreshed after a user import");
        }
    }

    /// A reader of the job's file from its first byte, its header read.
    async fn reader(&self, job: &Job) -> AppResult<CsvReader<Source>> {
        let source = Source::rewind(&job.file, &job.progress).map_err(io_error)?;
        tokio::task::spawn_blocking(move || CsvReader::new(source))
            .await
            .map_err(|e| io_error(std::io::Error::other(e)))?
            .map_err(|e| AppError::invalid("file", e.to_string()))
    }

    /// One pass over the file: every row checked and decided against the user it
    /// names; when applying, and while no row is refused, written batch by batch.
    async fn pass(
        &self,
        job: &Job,
        reader: CsvReader<Source>,
        ctx: &Context,
        mut sink: Sink<'_>,
    ) -> AppResult<Checked> {
        let header = reader.header().clone();
        let plan = mapping::plan(&header, &job.options.mapping, &ctx.fields, job.options.mode)?;
        let reach = Reach::within(Arc::new(ctx.clone()), &job.actor);
        let rules = RowRules {
            plan: plan.clone(),
            tree: ctx.tree.clone(),
            scope: reach.scope().clone(),
            options: job.options.clone(),
            now: self.now(),
        };
        let checker = Checker::new(&plan, &header, &ctx.tree, reach.scope(), &job.options, self.now());
        let mut checked = Checked::default();
        let mut batches = read_batches(reader, rules, job.progress.clone());
        // The batches written that the image is taking or has yet to take.
        let mut unloaded = None;
        while let Some(batch) = batches.recv().await {
            let batch = batch.map_err(io_error)?;
            let mut changes = Vec::with_capacity(batch.len());
            let mut refused: Vec<Vec<Issue>> = Vec::new();
            for row in batch {
                checked.counts.rows += 1;
                match row {
                    Ok(change) => changes.push(change),
                    Err(issues) => refused.push(issues),
                }
            }
            let keys: Vec<String> = changes.iter().map(|c| c.username.key()).collect();
            let existing: HashMap<String, User> = roster_store::imports::users_by_username(sink.conn(), &keys)
                .await?
                .into_iter()
                .map(|u| (u.username.key(), u))
                .collect();
            let mut writes = Writes::default();
            for change in changes {
                let key = change.username.key();
                match checker.decide(change, existing.get(&key)) {
                    Ok(Action::Create(user, password)) => {
                        checked.counts.created += 1;
                        writes.create.push((user, password));
                    }
                    Ok(Action::Update(user, password)) => {
                        checked.counts.updated += 1;
                        writes.update.push((user, password));
                    }
                    Ok(Action::Unchanged) => checked.counts.unchanged += 1,
                    Err(issues) => refused.push(issues),
                }
            }
            refused.sort_by_key(|issues| issues.first().map_or(0, |i| i.row));
            for issues in refused {
                checked.refuse(issues);
            }
            if checked.counts.errors == 0 {
                let hash = matches!(sink, Sink::Apply(_));
                let written = match &mut sink {
                    Sink::Check(_) => Vec::new(),
                    Sink::Apply(tx) | Sink::Rehearse(tx) => {
                        let (written, batch) = writes.apply(tx, hash, unloaded.take()).await?;
                        unloaded = Some(batch);
                        written
                    }
                };
                checked.written.extend(written.into_iter().filter_map(|id| u32::try_from(id).ok()));
            }
        }
        if let (Sink::Apply(tx) | Sink::Rehearse(tx), Some(batch)) = (&mut sink, unloaded) {
            tx.load_users(batch).await?;
        }
        Ok(checked)
    }
}

/// The users one batch creates and changes, with the passwords to set.
#[derive(Debug, Default)]
struct Writes {
    create: Vec<(User, Option<String>)>,
    update: Vec<(User, Option<String>)>,
}

impl Writes {
    /// Writes the batch, with its users' passwords if `hash`, while the membership
    /// image takes the batch written before (`earlier`); returns the ids of the users
    /// written, and the batch for the image to take next.
    async fn apply(self, tx: &mut LiveTx, hash: bool, earlier: Option<Unloaded>) -> AppResult<(Vec<i64>, Unloaded)> {
        let (mut created, mut secrets): (Vec<User>, Vec<Option<String>>) = self.create.into_iter().unzip();
        let (updated, updated_passwords): (Vec<User>, Vec<Option<String>>) = self.update.into_iter().unzip();
        let unloaded = tx.save_users(&mut created, &updated, earlier).await?;
        let written = created.iter().chain(&updated).map(|u| u.id).collect();
        if hash {
            secrets.extend(updated_passwords);
            let to_hash: Vec<(i64, String)> =
                created.iter().chain(&updated).zip(secrets).filter_map(|(u, p)| Some((u.id, p?))).collect();
            tx.set_password_hashes(&hash_passwords(to_hash).await?).await?;
        }
        Ok((written, unloaded))
    }
}

/// What the import moves in each automatic group, among the users it wrote (no one
/// else moves because of it) and of those the caller reaches; groups nothing moves in
/// are left out, the others sorted by name.
async fn group_effects(
    tx: &mut LiveTx,
    job: &Job,
    evaluation: &Evaluation,
    written: &RoaringBitmap,
) -> AppResult<Vec<GroupEffect>> {
    let ctx = Arc::new(Context::load(tx.read()).await?);
    let reached = match Reach::within(ctx, &job.actor).population(tx.read()).await? {
        Some(population) => written & population,
        None => written.clone(),
    };
    let mut effects = Vec::new();
    for g in &evaluation.groups {
        let (joins, leaves) = ((&g.joined & &reached).len(), (&g.left & &reached).len());
        if joins + leaves == 0 {
            continue;
        }
        let Some(group) = roster_store::groups::get(tx.read(), g.group).await? else { continue };
        effects.push(GroupEffect {
            id: g.group.to_string(),
            name: group.name.to_string(),
            joins: usize::try_from(joins).unwrap_or(usize::MAX),
            leaves: usize::try_from(leaves).unwrap_or(usize::MAX),
        });
    }
    effects.sort_by_key(|e| e.name.to_lowercase());
    Ok(effects)
}

/// Hashes passwords on every core, off the async threads: argon2 is slow on purpose.
async fn hash_passwords(passwords: Vec<(i64, String)>) -> AppResult<Vec<(i64, String)>> {
    if passwords.is_empty() {
        return Ok(Vec::new());
    }
    let hashed = tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let per_thread = passwords.len().div_ceil(threads);
        std::thread::scope(|s| {
            let workers: Vec<_> = passwords
                .chunks(per_thread)
                .map(|part| {
                    s.spawn(move || {
                        part.iter().map(|(id, p)| Ok((*id, auth::hash_password_now(p)?))).collect::<AppResult<Vec<_>>>()
                    })
                })
                .collect();
            let mut out = Vec::new();
            for worker in workers {
                let part = worker.join().map_err(|_| io_error(std::io::Error::other("password hashing panicked")))?;
                out.extend(part?);
            }
            Ok::<_, AppError>(out)
        })
    })
    .await
    .map_err(|e| io_error(std::io::Error::other(e)))?;
    hashed
}

/// A CSV error as a report line, naming the column when there is one: the first
/// missing cell of a short row, the first extra cell of a long one.
fn csv_issue(e: &CsvError, header: &Header) -> Issue {
    let column = match e {
        CsvError::CellCountMismatch { expected, found, .. } if found < expected => header.names().get(*found).cloned(),
        CsvError::CellCountMismatch { expected, .. } => Some(format!("column {}", expected + 1)),
        CsvError::CellTooLong { column, .. } | CsvError::UnclosedQuote { column, .. } => {
            Some(column.name.clone().unwrap_or_else(|| format!("column {}", column.number)))
        }
        _ => None,
    };
    Issue { row: e.row().unwrap_or_default(), column, value: None, message: e.to_string() }
}

/// What checks a row on its own, owned by the thread that reads the file.
struct RowRules {
    plan: mapping::Plan,
    tree: BranchTree,
    scope: Scope,
    options: super::ImportOptions,
    now: i64,
}

/// One row read and checked on its own: what it asks for, or why it is refused.
type CheckedRow = Result<RowChange, Vec<Issue>>;

/// Records read and checked a batch at a time by a blocking thread, a few batches ahead
/// of the pass, which looks their users up and writes them meanwhile: reading a row and
/// checking its cells (dates, numbers, names, duplicates earlier in the file) took
/// about a tenth of the applying phase's samples, on the thread that also writes. At
/// 1.4M users, 100,000 new users: checking phase 0.89 → 0.81 s, applying 4.72 → 4.61
/// s (means of 3-4 runs each, within the runs' spread).
fn read_batches(
    reader: CsvReader<Source>,
    rules: RowRules,
    progress: Arc<Progress>,
) -> mpsc::Receiver<std::io::Result<Vec<CheckedRow>>> {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        let header = reader.header().clone();
        let RowRules { plan, tree, scope, options, now } = rules;
        let mut checker = Checker::new(&plan, &header, &tree, &scope, &options, now);
        let mut batch = Vec::with_capacity(BATCH);
        for record in reader {
            progress.add_row();
            let row = match record {
                Ok(r) => checker.row(&r),
                Err(CsvError::Io(e)) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
                Err(e) => Err(vec![csv_issue(&e, &header)]),
            };
            batch.push(row);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if tx.blocking_send(Ok(full)).is_err() {
                    return;
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Ok(batch));
        }
    });
    rx
}
