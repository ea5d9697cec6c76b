//! Import jobs: the file a job reads, the jobs this process runs and how far each is,
//! the heartbeat that says they are alive, and the start and end of a job.

use roster_csv::{CsvError, CsvReader};
use roster_store::imports::{Heartbeat, ImportRecord, ImportState, NewImport};
use roster_store::{AnyConnection, Backend, WriteTx};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;

use super::{mapping, Accepted, ImportFailure, ImportOptions, Outcome};
use crate::{Actor, App, AppError, AppResult, Context};

/// How often a running job says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// How much of an upload is looked at before the rest is taken: roster-csv decides
/// text or binary from its first 64 KiB.
const SNIFF_BYTES: usize = 64 * 1024;

/// What a job is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Phase {
    Queued,
    Checking,
    Waiting,
    Applying,
    Evaluating,
    Done,
}

impl Phase {
    const ALL: [Phase; 6] =
        [Phase::Queued, Phase::Checking, Phase::Waiting, Phase::Applying, Phase::Evaluating, Phase::Done];

    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Checking => "checking",
            Self::Waiting => "waiting",
            Self::Applying => "applying",
            Self::Evaluating => "evaluating",
            Self::Done => "done",
        }
    }

    fn parse(raw: &str) -> Self {
        Self::ALL.into_iter().find(|p| p.as_str() == raw).unwrap_or(Self::Done)
    }

    /// Whether the job holds the write transaction (and so, on SQLite, the database's
    /// one write lock).
    fn writes(self) -> bool {
        matches!(self, Self::Applying | Self::Evaluating)
    }
}

/// How far a running job is, shared between the job and whoever watches it.
#[derive(Debug, Default)]
pub(super) struct Progress {
    phase: AtomicU8,
    rows: AtomicU64,
    bytes: AtomicU64,
    file_bytes: u64,
}

impl Progress {
    fn new(file_bytes: u64) -> Self {
        Self { file_bytes, ..Self::default() }
    }

    pub(super) fn phase(&self) -> Phase {
        let n = self.phase.load(Ordering::Relaxed);
        Phase::ALL.into_iter().find(|p| *p as u8 == n).unwrap_or(Phase::Done)
    }

    pub(super) fn enter(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// The file is read again from its start: rows and bytes count from zero.
    fn rewound(&self) {
        self.rows.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
    }

    pub(super) fn add_row(&self) {
        self.rows.fetch_add(1, Ordering::Relaxed);
    }

    fn add_bytes(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn snapshot(&self) -> ImportProgress {
        let (phase, rows, bytes) =
            (self.phase(), self.rows.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed));
        ImportProgress {
            phase: phase.as_str(),
            rows_read: rows,
            bytes_read: bytes,
            percent: percent(phase, bytes, self.file_bytes),
        }
    }
}

/// How far through the job, 0 to 100: reading the file twice (checking, then applying,
/// or for a dry run rehearsing); evaluating the groups is the last stretch.
fn percent(phase: Phase, bytes: u64, file_bytes: u64) -> u8 {
    let read = bytes.saturating_mul(100).checked_div(file_bytes).map_or(100, |r| r.min(100));
    let p = match phase {
        Phase::Queued => 0,
        Phase::Checking => read * 45 / 100,
        Phase::Waiting => 45,
        Phase::Applying => 45 + read * 45 / 100,
        Phase::Evaluating => 95,
        Phase::Done => 100,
    };
    u8::try_from(p).unwrap_or(100)
}

/// A snapshot of a job's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    /// `queued`, `checking`, `waiting`, `applying`, `evaluating` or `done`.
    pub phase: &'static str,
    /// Rows read in this phase.
    pub rows_read: u64,
    /// Bytes of the file read in this phase.
    pub bytes_read: u64,
    /// How far the job is, 0 to 100.
    pub percent: u8,
}

impl ImportProgress {
    /// The progress a job's row last recorded (the job runs in another process).
    pub(super) fn stored(record: &ImportRecord) -> Self {
        let phase = Phase::parse(&record.phase);
        let (rows, bytes) =
            (u64::try_from(record.rows_read).unwrap_or(0), u64::try_from(record.bytes_read).unwrap_or(0));
        let file_bytes = u64::try_from(record.file_bytes).unwrap_or(0);
        Self { phase: phase.as_str(), rows_read: rows, bytes_read: bytes, percent: percent(phase, bytes, file_bytes) }
    }
}

/// The jobs this process runs, and the name it records as their owner.
#[derive(Debug)]
pub(crate) struct Jobs {
    owner: String,
    running: Mutex<HashMap<i64, Arc<Progress>>>,
}

impl Jobs {
    /// The registry of a new [`App`]; the owner is random, one per process start.
    pub(crate) fn new() -> Arc<Self> {
        let owner = crate::auth::new_token()[4..20].to_owned();
        Arc::new(Self { owner, running: Mutex::new(HashMap::new()) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Progress>>> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn is_running(&self, id: i64) -> bool {
        self.lock().contains_key(&id)
    }

    pub(super) fn running_ids(&self) -> Vec<i64> {
        self.lock().keys().copied().collect()
    }

    pub(super) fn progress(&self, id: i64) -> Option<ImportProgress> {
        self.lock().get(&id).map(|p| p.snapshot())
    }
}

/// The file an import reads, opened. Reading from the start, once per phase.
#[derive(Debug)]
pub struct ImportFile {
    file: File,
    size: u64,
}

impl ImportFile {
    /// Opens a file on disk (the command line).
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        Ok(Self { file, size })
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// The file being read by a phase: counts the bytes it hands out.
#[derive(Debug)]
pub(super) struct Source {
    file: Arc<File>,
    progress: Arc<Progress>,
}

impl Source {
    /// Reads the file again from its first byte.
    pub(super) fn rewind(file: &Arc<File>, progress: &Arc<Progress>) -> std::io::Result<Self> {
        (&**file).seek(SeekFrom::Start(0))?;
        progress.rewound();
        Ok(Self { file: file.clone(), progress: progress.clone() })
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (&*self.file).read(buf)?;
        self.progress.add_bytes(n);
        Ok(n)
    }
}

/// An upload being received: its bytes go to an unnamed temporary file (gone with the
/// process, whatever happens), the size limit is kept as they come, and a binary file
/// is refused from its first 64 KiB, before the rest is read.
#[derive(Debug)]
pub struct ImportUpload {
    file: tokio::fs::File,
    size: u64,
    limit: u64,
    head: Option<Vec<u8>>,
}

impl App {
    /// Starts receiving an import file.
    pub fn receive_import(&self) -> AppResult<ImportUpload> {
        let file = tempfile::tempfile().map_err(io_error)?;
        Ok(ImportUpload {
            file: tokio::fs::File::from_std(file),
            size: 0,
            limit: self.settings.max_import_bytes as u64,
            head: Some(Vec::with_capacity(SNIFF_BYTES)),
        })
    }
}

impl ImportUpload {
    /// Takes the next piece of the file.
    pub async fn push(&mut self, chunk: &[u8]) -> AppResult<()> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(too_large(self.limit));
        }
        if let Some(head) = &mut self.head {
            head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES - head.len())]);
            if head.len() == SNIFF_BYTES {
                sniff(head)?;
                self.head = None;
            }
        }
        self.file.write_all(chunk).await.map_err(io_error)
    }

    /// The whole file, ready to import.
    pub async fn finish(mut self) -> AppResult<ImportFile> {
        if let Some(head) = &self.head {
            sniff(head)?;
        }
        self.file.flush().await.map_err(io_error)?;
        Ok(ImportFile { file: self.file.into_std().await, size: self.size })
    }
}

/// Refuses a file that is not text, from its start.
fn sniff(head: &[u8]) -> AppResult<()> {
    match CsvReader::new(head) {
        Err(e @ CsvError::NotText) => Err(AppError::invalid("file", e.to_string())),
        _ => Ok(()),
    }
}

fn too_large(limit: u64) -> AppError {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    AppError::TooLarge(format!(
        "the file is larger than the import limit of {}. Split it into smaller files.",
        crate::group_csv::limit_text(limit)
    ))
}

pub(super) fn io_error(e: std::io::Error) -> AppError {
    AppError::io(e)
}

/// A job started by this process: its id, its progress, and its end.
#[derive(Debug)]
pub struct ImportHandle {
    /// The job's id.
    pub id: String,
    progress: Arc<Progress>,
    done: Option<oneshot::Receiver<()>>,
}

impl ImportHandle {
    /// How far the job is.
    pub fn progress(&self) -> ImportProgress {
        self.progress.snapshot()
    }

    /// Waits until the job is over (its outcome is then in [`App::import_status`]).
    /// Safe to call again, or to cancel and call again.
    pub async fn finished(&mut self) {
        if let Some(done) = &mut self.done {
            let _ = done.await;
            self.done = None;
        }
    }
}

/// Everything a running job needs.
#[derive(Debug)]
pub(super) struct Job {
    pub id: i64,
    pub actor: Actor,
    pub options: ImportOptions,
    pub file: Arc<File>,
    pub progress: Arc<Progress>,
    /// The reader of the first phase, its header already read.
    pub first: Option<CsvReader<Source>>,
}

/// A connection for the `imports` table. It is not part of the membership image, so
/// on PostgreSQL its rows are written outside the write gate — which the job itself may
/// hold; on SQLite, whose one write lock the gate stands for, through it.
pub(super) enum JobConn {
    Gated(WriteTx),
    Pooled(Box<dyn std::ops::DerefMut<Target = AnyConnection> + Send>),
}

impl JobConn {
    pub(super) async fn done(self) -> AppResult<()> {
        if let Self::Gated(tx) = self {
            tx.commit().await?;
        }
        Ok(())
    }
}

impl std::ops::Deref for JobConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Gated(tx) => tx,
            Self::Pooled(c) => c,
        }
    }
}

impl std::ops::DerefMut for JobConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Gated(tx) => tx,
            Self::Pooled(c) => c,
        }
    }
}

impl App {
    pub(super) async fn job_conn(&self) -> AppResult<JobConn> {
        Ok(match self.store.backend() {
            Backend::Sqlite => JobConn::Gated(self.bookkeeping().await?),
            Backend::Postgres => JobConn::Pooled(Box::new(self.store.read().await?)),
        })
    }

    /// Accepts an import: reads the header, maps the columns (a file that cannot be
    /// mapped is refused here, naming the column), records the job and starts it in
    /// the background. Poll [`App::import_status`] with the returned id.
    pub async fn start_import(
        &self,
        actor: &Actor,
        file: ImportFile,
        options: ImportOptions,
    ) -> AppResult<ImportHandle> {
        if file.size > self.settings.max_import_bytes as u64 {
            return Err(too_large(self.settings.max_import_bytes as u64));
        }
        if file.size == 0 {
            return Err(AppError::invalid("file", "the file is empty"));
        }
        let file = Arc::new(file.file);
        let progress = Arc::new(Progress::new(file.metadata().map_err(io_error)?.len()));
        let source = Source::rewind(&file, &progress).map_err(io_error)?;
        let reader = tokio::task::spawn_blocking(move || CsvReader::new(source))
            .await
            .map_err(|e| io_error(std::io::Error::other(e)))?
            .map_err(|e| AppError::invalid("file", e.to_string()))?;
        let mut conn = self.store.read().await?;
        let ctx = Context::load(&mut conn).await?;
        drop(conn);
        let plan = mapping::plan(reader.header(), &options.mapping, &ctx.fields, options.mode)?;
        let accepted = Accepted { options: options.clone(), mapping: plan.mapped, unmapped: plan.unmapped };
        let accepted = serde_json::to_string(&accepted).map_err(super::corrupt)?;
        let mut conn = self.job_conn().await?;
        let id = roster_store::imports::insert(
            &mut conn,
            &NewImport {
                actor: &actor.name,
                options: &accepted,
                file_bytes: i64::try_from(progress.file_bytes).unwrap_or(i64::MAX),
                owner: &self.imports.owner,
                at: self.now(),
            },
        )
        .await?;
        conn.done().await?;
        self.imports.lock().insert(id, progress.clone());
        let (tx, done) = oneshot::channel();
        let job = Job { id, actor: actor.clone(), options, file, progress: progress.clone(), first: Some(reader) };
        tokio::spawn(self.clone().run_job(job, tx));
        Ok(ImportHandle { id: id.to_string(), progress, done: Some(done) })
    }

    /// Runs a job to its end and records it; a panic in the job is a failure, not a job
    /// left running.
    async fn run_job(self, job: Job, done: oneshot::Sender<()>) {
        let (id, progress) = (job.id, job.progress.clone());
        let beat = tokio::spawn(self.clone().heartbeat(id, progress.clone()));
        let work = tokio::spawn({
            let app = self.clone();
            async move { app.run_import(job).await }
        });
        let outcome = work.await.unwrap_or_else(|panic| {
            tracing::error!(import = id, error = %panic, "user import panicked");
            Err(AppError::invariant("the import stopped unexpectedly"))
        });
        beat.abort();
        let recorded = match outcome {
            Ok(Ended::Recorded) => Ok(()),
            Ok(Ended::Unrecorded(state, outcome)) => self.finish_job(id, state, &outcome).await,
            Err(e) => {
                let failure = match &e {
                    AppError::Internal(source) => {
                        tracing::error!(import = id, error = %source, "user import failed");
                        ImportFailure {
                            code: "internal".into(),
                            message: "something went wrong on our side; it has been logged. Nothing was imported."
                                .into(),
                        }
                    }
                    other => ImportFailure { code: "invalid".into(), message: other.to_string() },
                };
                let outcome = Outcome { failure: Some(failure), ..Outcome::default() };
                self.finish_job(id, ImportState::Failed, &outcome).await
            }
        };
        if let Err(e) = recorded {
            tracing::error!(import = id, error = %e, "the end of a user import could not be recorded");
        }
        progress.enter(Phase::Done);
        self.imports.lock().remove(&id);
        let _ = done.send(());
    }

    /// Records a job's end outside its transaction (a failure, or a dry run).
    pub(super) async fn finish_job(&self, id: i64, state: ImportState, outcome: &Outcome) -> AppResult<()> {
        let json = serde_json::to_string(outcome).map_err(super::corrupt)?;
        let mut conn = self.job_conn().await?;
        roster_store::imports::finish(&mut conn, id, state, &json, self.now()).await?;
        conn.done().await
    }

    /// Says the job is alive, and how far it is, every [`HEARTBEAT`] until aborted.
    async fn heartbeat(self, id: i64, progress: Arc<Progress>) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tick.tick().await;
            let phase = progress.phase();
            if phase.writes() && self.store.backend() == Backend::Sqlite {
                // The job's own transaction holds SQLite's write lock; another process
                // that wants to mark the job interrupted has to wait for it too.
                continue;
            }
            let snapshot = progress.snapshot();
            let beat = Heartbeat {
                state: if phase == Phase::Queued { ImportState::Queued } else { ImportState::Running },
                phase: phase.as_str(),
                rows_read: i64::try_from(snapshot.rows_read).unwrap_or(i64::MAX),
                bytes_read: i64::try_from(snapshot.bytes_read).unwrap_or(i64::MAX),
                at: self.now(),
            };
            let written = async {
                let mut conn = self.job_conn().await?;
                roster_store::imports::heartbeat(&mut conn, id, &beat).await?;
                conn.done().await
            };
            if let Err(e) = written.await {
                tracing::warn!(import = id, error = %e, "import heartbeat not recorded");
            }
        }
    }
}

/// How a job ended.
#[derive(Debug)]
pub(super) enum Ended {
    /// Its end is recorded (in the transaction that applied it).
    Recorded,
    /// Its end is to be recorded.
    Unrecorded(ImportState, Outcome),
}
