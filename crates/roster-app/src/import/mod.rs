//! User import from CSV (DESIGN §4): the administrator's own file or the template,
//! headers mapped to standard and additional fields, users created and/or updated by
//! username, all or nothing.
//!
//! An import is a job. [`App::start_import`] reads the header, maps the columns (and
//! refuses a file it cannot map) and returns at once; the job then runs in the
//! background of the process that accepted it:
//!
//! 1. **checking**: the file is read as a stream and every row checked — cells against
//!    the fields' types, usernames and emails against the rest of the file, the user a
//!    row names against the mode. Nothing is written. A dry run that refuses a row ends
//!    here, `failed` with the same report as the import.
//! 2. **applying**: if no row was refused, one write transaction reads the file again,
//!    checks each row again (the database may have moved), and creates and updates the
//!    users in bulk, loading them into the membership image without evaluating anyone.
//! 3. **evaluating**: every automatic group is evaluated once for the whole population
//!    ([`crate::transaction::LiveTx::reevaluate_all`]); the joins and leaves are written with
//!    membership events whose cause is the import. The job's success is written in the
//!    same transaction, which then commits: the database holds all of the import, and
//!    says so, or none of it. Each group's joins and leaves among the file's users are
//!    in the job's `groups`.
//!
//! A dry run with no row refused rehearses steps 2 and 3 in a write transaction it
//! rolls back (no password hashed, no membership written): the engine says how many of
//! the file's users each automatic group would gain or lose, before anything is applied.
//!
//! Memory stays flat whatever the file's size: the upload goes to an unnamed temporary
//! file, rows are read a batch at a time by a blocking thread, and what the job keeps
//! per row is two 128-bit hashes (for duplicates within the file).
//!
//! A job's row in the `imports` table carries a heartbeat while it runs. A process
//! that dies (killed, crashed) leaves its job queued or running with a heartbeat that
//! stops; once it is [`STALE_MS`] old, the job shows as `interrupted`
//! ([`App::recover_imports`], and lazily when the job is read).

mod cells;
mod check;
mod job;
mod mapping;
mod pass;

pub use cells::DateOrder;
pub(crate) use job::Jobs;
pub use job::{ImportFile, ImportHandle, ImportProgress, ImportUpload};
pub use mapping::{header_names, MappedBy, MappedColumn};
pub use pass::REHEARSE_UP_TO;
pub use roster_store::imports::ImportState;

use roster_store::imports::ImportRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::{Actor, App, AppError, AppResult};

/// A job whose heartbeat is older than this is taken for dead.
pub const STALE_MS: i64 = 15_000;

/// The most issues a job keeps for its report; the count goes on beyond.
pub const MAX_REPORTED_ISSUES: usize = 10_000;

/// The most `map` entries one import may give.
const MAX_MAPPINGS: usize = 1024;

/// How an import treats the users its rows name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Only new usernames; a username that exists is an error.
    Create,
    /// Only existing usernames; an unknown username is an error.
    Update,
    /// New usernames are created, existing ones updated (the default).
    #[default]
    CreateAndUpdate,
}

impl ImportMode {
    /// Parses `create`, `update` or `create_and_update`.
    pub fn parse(raw: &str) -> AppResult<Self> {
        match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "create" => Ok(Self::Create),
            "update" => Ok(Self::Update),
            "create_and_update" => Ok(Self::CreateAndUpdate),
            other => Err(AppError::bad_request(
                "mode",
                format!("unknown mode \"{other}\"; use create, update or create_and_update"),
            )),
        }
    }
}

/// What an empty cell means for a user that exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmptyCells {
    /// The value stays as it is (the default): a file need not repeat what it does
    /// not change.
    #[default]
    Keep,
    /// The value is cleared (not usernames, emails, statuses or passwords).
    Clear,
}

/// One explicit mapping: a column's header and the field it fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ColumnMapping {
    /// The header, as in the file (compared without case, spaces or punctuation).
    pub header: String,
    /// `username`, `email`, `first_name`, `last_name`, `status`, `language`,
    /// `timezone`, `branch`, `password`, an additional field's code, or `ignore`.
    pub target: String,
}

impl ColumnMapping {
    /// Parses `HEADER=TARGET` (the header may itself hold `=`).
    pub fn parse(raw: &str) -> AppResult<Self> {
        let bad =
            || AppError::bad_request("map", format!("\"{raw}\": write a mapping as HEADER=FIELD, e.g. E-mail=email"));
        let (header, target) = raw.rsplit_once('=').ok_or_else(bad)?;
        if header.trim().is_empty() || target.trim().is_empty() || raw.chars().count() > 300 {
            return Err(bad());
        }
        Ok(Self { header: header.trim().to_owned(), target: target.trim().to_owned() })
    }
}

/// The options of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Create, update, or both.
    pub mode: ImportMode,
    /// Explicit mappings; other columns map by their headers.
    pub mapping: Vec<ColumnMapping>,
    /// Check and report, apply nothing.
    pub dry_run: bool,
    /// How to read dates such as `02/03/2024`; without it they are refused.
    pub date_order: Option<DateOrder>,
    /// What an empty cell does to a user that exists.
    pub empty: EmptyCells,
}

impl ImportOptions {
    /// Reads the options from query parameters: `mode`, `map` (repeatable),
    /// `dry_run`, `date_order`, `empty`. Unknown parameters are refused.
    pub fn from_query<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> AppResult<Self> {
        let mut options = Self::default();
        for (key, value) in pairs {
            let value = value.as_ref();
            match key.as_ref() {
                "mode" => options.mode = ImportMode::parse(value)?,
                "map" if options.mapping.len() < MAX_MAPPINGS => options.mapping.push(ColumnMapping::parse(value)?),
                "map" => return Err(AppError::bad_request("map", format!("at most {MAX_MAPPINGS} mappings"))),
                "dry_run" => {
                    options.dry_run = match value {
                        "true" | "1" => true,
                        "false" | "0" | "" => false,
                        _ => return Err(AppError::bad_request("dry_run", "dry_run is true or false")),
                    }
                }
                "date_order" => {
                    options.date_order = Some(
                        DateOrder::parse(value)
                            .ok_or_else(|| AppError::bad_request("date_order", "date_order is dmy or mdy"))?,
                    )
                }
                "empty" => {
                    options.empty = match value {
                        "keep" => EmptyCells::Keep,
                        "clear" => EmptyCells::Clear,
                        _ => return Err(AppError::bad_request("empty", "empty is keep or clear")),
                    }
                }
                other => {
                    return Err(AppError::bad_request(
                        other,
                        format!("unknown parameter \"{other}\"; use mode, map, dry_run, date_order or empty"),
                    ))
                }
            }
        }
        Ok(options)
    }
}

/// A problem with one cell or row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Issue {
    /// The row as a spreadsheet numbers it (the header is row 1).
    pub row: usize,
    /// The header of the column at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The cell as written (its first 200 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong, and what to write instead.
    pub message: String,
}

/// What an import did, or (dry run, refused) would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportCounts {
    /// Data rows read (blank rows aside).
    pub rows: usize,
    /// Users created.
    pub created: usize,
    /// Users changed.
    pub updated: usize,
    /// Users that already held what their row says.
    pub unchanged: usize,
    /// Rows refused.
    pub errors: usize,
    /// Memberships of automatic groups that began.
    pub joined: usize,
    /// Memberships of automatic groups that ended.
    pub left: usize,
}

/// What an import moved, or (dry run) would move, in one automatic group: of the
/// users in the file, and for a training admin of those in its branches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GroupEffect {
    /// The group's id.
    pub id: String,
    /// The group's name.
    pub name: String,
    /// Users of the file who join it.
    pub joins: usize,
    /// Users of the file who leave it.
    pub leaves: usize,
}

/// Why a dry run that accepted every row lists no automatic group: the groups were
/// not worked out, which is not the same as "no group moves".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GroupsNotComputed {
    /// `too_many_users`: the platform is over the size up to which a check rehearses
    /// the import (`limit`); `database_moved`: a row the check accepted is refused
    /// now, so the import would be refused too.
    pub code: String,
    /// For an administrator.
    pub message: String,
    /// The users on the platform when the check ran; told to a superadmin only (a
    /// training admin learns nothing of users outside its branches).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<u64>,
    /// The most users a check works the groups out for.
    pub limit: u64,
}

/// Why a job applied nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportFailure {
    /// `rows_rejected`, `empty`, `invalid`, `interrupted` or `internal`.
    pub code: String,
    /// For a person.
    pub message: String,
}

/// A job's outcome, as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Outcome {
    applied: bool,
    counts: ImportCounts,
    issues: Vec<Issue>,
    issues_total: usize,
    failure: Option<ImportFailure>,
    /// Jobs stored before groups were reported have none.
    #[serde(default)]
    groups: Vec<GroupEffect>,
    /// Why a dry run lists no group although it accepted the file (boxed: rarely
    /// there, and an outcome travels by value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups_not_computed: Option<Box<GroupsNotComputed>>,
}

/// A job's options and mapping, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Accepted {
    options: ImportOptions,
    mapping: Vec<MappedColumn>,
    unmapped: Vec<String>,
}

/// An import job, as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportView {
    /// The job's id: poll `GET /api/v1/imports/{id}`.
    pub id: String,
    /// `queued`, `running`, `succeeded`, `failed` or `interrupted`.
    #[schema(value_type = String)]
    pub state: ImportState,
    /// What it is doing: `queued`, `checking`, `waiting` (for other writes),
    /// `applying`, `evaluating` (automatic groups) or `done`.
    pub phase: String,
    /// Create, update, or both.
    pub mode: ImportMode,
    /// Whether it only checks.
    pub dry_run: bool,
    /// Whether the users were written (all of them).
    pub applied: bool,
    /// The file's size in bytes.
    pub file_bytes: u64,
    /// Rows read in the current phase.
    pub rows_read: u64,
    /// How far the job is, 0 to 100.
    pub percent: u8,
    /// Each used or ignored column and what it fills.
    pub mapping: Vec<MappedColumn>,
    /// Headers of the columns nothing fills.
    pub unmapped: Vec<String>,
    /// What it did, or would do; once it is over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<ImportCounts>,
    /// The automatic groups the import moves users into or out of, or (dry run) would:
    /// how many of its users join and leave each; once it is over. Empty when rows
    /// were refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupEffect>>,
    /// Present when a dry run accepted the file but did not work out `groups` (they
    /// are then empty), saying why: on a platform of more users than a check
    /// rehearses an import for, only the import itself says what each group gains
    /// and loses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups_not_computed: Option<GroupsNotComputed>,
    /// The problems found, row by row; once it is over. Also at
    /// `GET /api/v1/imports/{id}/report.csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Vec<Issue>>,
    /// How many problems were found; the report keeps the first 10,000.
    pub issues_total: usize,
    /// Why nothing was applied, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ImportFailure>,
    /// When it was accepted.
    pub created_at: String,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

fn corrupt(e: serde_json::Error) -> AppError {
    AppError::encoding(e)
}

impl ImportView {
    fn new(record: &ImportRecord, live: Option<ImportProgress>) -> AppResult<Self> {
        let accepted: Accepted = serde_json::from_str(&record.options).map_err(corrupt)?;
        let outcome: Option<Outcome> =
            record.result.as_deref().map(serde_json::from_str).transpose().map_err(corrupt)?;
        let failure = match (&outcome, record.state) {
            (Some(o), _) => o.failure.clone(),
            (None, ImportState::Interrupted) => Some(ImportFailure {
                code: "interrupted".into(),
                message:
                    "the process running this import stopped before it finished; nothing was imported. Run it again."
                        .into(),
            }),
            (None, _) => None,
        };
        let file_bytes = u64::try_from(record.file_bytes).unwrap_or(0);
        let progress = live.unwrap_or_else(|| ImportProgress::stored(record));
        Ok(Self {
            id: record.id.to_string(),
            // A job this process runs says where it is now; its row says only where it was
            // at the last heartbeat.
            state: match (record.state.is_final(), live) {
                (false, Some(now)) if now.phase == "queued" => ImportState::Queued,
                (false, Some(_)) => ImportState::Running,
                _ => record.state,
            },
            phase: if record.state.is_final() { "done".into() } else { progress.phase.to_owned() },
            mode: accepted.options.mode,
            dry_run: accepted.options.dry_run,
            applied: outcome.as_ref().is_some_and(|o| o.applied),
            file_bytes,
            rows_read: progress.rows_read,
            percent: if record.state.is_final() { 100 } else { progress.percent },
            mapping: accepted.mapping,
            unmapped: accepted.unmapped,
            counts: outcome.as_ref().map(|o| o.counts.clone()),
            groups: outcome.as_ref().map(|o| o.groups.clone()),
            groups_not_computed: outcome.as_ref().and_then(|o| o.groups_not_computed.as_deref().cloned()),
            report: outcome.as_ref().map(|o| o.issues.clone()),
            issues_total: outcome.as_ref().map_or(0, |o| o.issues_total),
            error: failure,
            created_at: rfc3339(record.created_at),
            finished_at: record.finished_at.map(rfc3339),
        })
    }
}

impl App {
    /// A job the caller may see: a superadmin sees every import, a training admin its own.
    async fn visible_import(&self, actor: &Actor, id: &str) -> AppResult<ImportRecord> {
        let id = crate::parse_id("import", id)?;
        let mut conn = self.store.read().await?;
        let record = roster_store::imports::get(&mut conn, id).await?;
        drop(conn);
        match record {
            Some(r) if actor.superadmin().is_ok() || r.actor == actor.name => self.settled(r).await,
            _ => Err(AppError::NotFound("import".into())),
        }
    }

    /// The job, marked interrupted first if its process is gone.
    async fn settled(&self, record: ImportRecord) -> AppResult<ImportRecord> {
        let stale = record.heartbeat_at < self.now() - STALE_MS;
        if record.state.is_final() || !stale || self.imports.is_running(record.id) {
            return Ok(record);
        }
        // On SQLite a live job in its write transaction holds the database's write lock:
        // marking waits for it, and gives up rather than keep the reader waiting.
        let marked = tokio::time::timeout(std::time::Duration::from_secs(2), self.recover_imports()).await;
        if !matches!(marked, Ok(Ok(_))) {
            return Ok(record);
        }
        let mut conn = self.store.read().await?;
        Ok(roster_store::imports::get(&mut conn, record.id).await?.unwrap_or(record))
    }

    /// An import job: its state and progress, and once it is over its counts and report.
    pub async fn import_status(&self, actor: &Actor, id: &str) -> AppResult<ImportView> {
        let record = self.visible_import(actor, id).await?;
        ImportView::new(&record, self.imports.progress(record.id))
    }

    /// An import's report as CSV: row, column, value, message.
    pub async fn import_report_csv(&self, actor: &Actor, id: &str) -> AppResult<Vec<u8>> {
        let record = self.visible_import(actor, id).await?;
        if !record.state.is_final() {
            return Err(AppError::Conflict {
                field: None,
                message: "the import is still running; its report is ready when it ends".into(),
            });
        }
        let outcome: Outcome = match record.result.as_deref() {
            Some(json) => serde_json::from_str(json).map_err(corrupt)?,
            None => Outcome::default(),
        };
        let mut out = String::from(roster_csv::UTF8_BOM);
        roster_csv::encode_row(&mut out, ["row", "column", "value", "message"]);
        for i in &outcome.issues {
            let (column, value) = (i.column.as_deref().unwrap_or_default(), i.value.as_deref().unwrap_or_default());
            roster_csv::encode_row(&mut out, [i.row.to_string().as_str(), column, value, i.message.as_str()]);
        }
        Ok(out.into_bytes())
    }

    /// The import template: a header row with every field a file may hold, standard
    /// fields by name and additional fields by their names.
    pub async fn import_template_csv(&self, _actor: &Actor) -> AppResult<Vec<u8>> {
        let mut conn = self.store.read().await?;
        let fields = roster_store::fields::all(&mut conn).await?;
        let mut header: Vec<String> = mapping::STANDARD.iter().map(|s| (*s).to_owned()).collect();
        header.extend(fields.iter().map(|f| f.name.to_string()));
        let mut out = String::from(roster_csv::UTF8_BOM);
        roster_csv::encode_row(&mut out, &header);
        Ok(out.into_bytes())
    }

    /// Marks `interrupted` the jobs whose process stopped (their heartbeat is older than
    /// [`STALE_MS`]); returns how many. The server calls it at start and every minute.
    pub async fn recover_imports(&self) -> AppResult<u64> {
        let running = self.imports.running_ids();
        let now = self.now();
        let mut conn = self.job_conn().await?;
        let n = roster_store::imports::interrupt_stale(&mut conn, now - STALE_MS, &running, now).await?;
        conn.done().await?;
        if n > 0 {
            tracing::warn!(jobs = n, "user imports interrupted: their process stopped");
        }
        Ok(n)
    }
}
