//! Group association by CSV: a file of users (by username or email, found from the
//! header) to add to — or, with an `action` column, remove from — one group. By default
//! the file applies whole or not at all; `on_error=skip` applies the good rows; a dry run
//! applies nothing. Every upload is kept with its per-row report.

use roster_csv::{CsvError, CsvReader, Synonyms};
use roster_domain::{Group, MembershipSource};
use roster_store::users::{Found, KeyColumn};
use roster_store::AnyConnection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::groups::{add_users, remove_users};
use crate::reach::Reach;
use crate::transaction::Cause;
use crate::{Actor, App, AppError, AppResult};

/// How an upload treats rows in error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Any row in error: nothing applies (the default).
    #[default]
    Fail,
    /// The good rows apply; the report lists the others.
    Skip,
}

/// Options of an upload.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// Report what would happen, apply nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// `fail` (default) or `skip`.
    #[serde(default)]
    pub on_error: OnError,
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    /// The user joined the group (or would, in a dry run).
    Added,
    /// The user was a member already.
    AlreadyMember,
    /// The user left the group.
    Removed,
    /// The user to remove was not a member.
    NotMember,
    /// No such user (or not one the caller may reach).
    NotFound,
    /// The row names a user an earlier row named.
    Duplicate,
    /// The row's user cell or action is wrong.
    Invalid,
    /// A blank row, skipped.
    Empty,
}

impl RowOutcome {
    fn is_error(self) -> bool {
        matches!(self, RowOutcome::NotFound | RowOutcome::Duplicate | RowOutcome::Invalid)
    }
}

/// One row of the report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowReport {
    /// The row as a spreadsheet numbers it (the header is row 1).
    pub row: usize,
    /// The user as written in the file.
    pub user: String,
    /// `add` or `remove`.
    pub action: String,
    /// What happened.
    pub outcome: RowOutcome,
    /// Why, for rows that did not apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Counts of an upload.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CsvCounts {
    /// Data rows read.
    pub rows: usize,
    /// Users who joined.
    pub added: usize,
    /// Users already members.
    pub already_members: usize,
    /// Users who left.
    pub removed: usize,
    /// Users to remove who were not members.
    pub not_members: usize,
    /// Users not found.
    pub not_found: usize,
    /// Rows in error (not found, duplicates, invalid).
    pub errors: usize,
}

/// The outcome of an upload.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CsvOutcome {
    /// The upload's number; its report is at `.../uploads/{upload}/report.csv`.
    pub upload: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether anything was applied.
    pub applied: bool,
    /// The header of the column users were read from.
    pub user_column: String,
    /// Whether users were matched by `username` or `email`.
    pub matched_by: String,
    /// The counts.
    pub counts: CsvCounts,
    /// Every row that did not simply apply (errors, duplicates, already members...).
    pub rows: Vec<RowReport>,
    /// Every row, for the downloadable report (not sent in the JSON answer).
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub all_rows: Vec<RowReport>,
}

/// A file that cannot be read at all: its message names the row and column.
fn unreadable(e: CsvError) -> AppError {
    AppError::invalid("file", e.to_string())
}

/// The rows of an upload, read and checked for shape.
struct Parsed {
    user_column: String,
    by: KeyColumn,
    rows: Vec<(usize, String, String)>,
    blank_rows: Vec<usize>,
}

fn parse(bytes: &[u8]) -> AppResult<Parsed> {
    let reader = CsvReader::from_bytes(bytes).map_err(unreadable)?;
    let map = Synonyms::standard_user_fields().map(reader.header());
    let names = reader.header().names().to_vec();
    let (index, by) = match (map.index("username"), map.index("email")) {
        (Some(i), _) => (i, KeyColumn::Username),
        (None, Some(i)) => (i, KeyColumn::Email),
        (None, None) => {
            return Err(AppError::invalid(
                "file",
                format!(
                    "no column names the users: the header ({}) needs a username column (username, user, login, userid) or an email column (email, e-mail, email address)",
                    names.join(", ")
                ),
            ))
        }
    };
    let action = map.index("action");
    let mut rows = Vec::new();
    let mut blank_rows = Vec::new();
    let mut last_row = reader.header().row();
    for record in reader {
        let record = record.map_err(unreadable)?;
        blank_rows.extend(last_row + 1..record.row());
        last_row = record.row() + record.cells().iter().map(|c| c.matches('\n').count()).sum::<usize>();
        let user = roster_csv::restore(record.trimmed(index).unwrap_or_default()).to_owned();
        let act = action.and_then(|a| record.trimmed(a)).unwrap_or_default().to_lowercase();
        rows.push((record.row(), user, act));
    }
    if rows.is_empty() {
        return Err(AppError::invalid("file", "the file has a header but no rows of users"));
    }
    Ok(Parsed { user_column: names[index].clone(), by, rows, blank_rows })
}

impl App {
    /// Applies (or, dry, reports) a group association file to group `id`.
    pub async fn associate_csv(
        &self,
        actor: &Actor,
        id: &str,
        bytes: &[u8],
        options: &CsvOptions,
    ) -> AppResult<CsvOutcome> {
        self.check_manages(actor, id).await?;
        let limit = self.settings.max_csv_bytes;
        if bytes.len() > limit {
            return Err(too_large(bytes.len(), limit));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AppError::invalid("file", "the file is empty"));
        }
        let parsed = parse(bytes)?;
        let mut tx = self.begin_copy().await?;
        let group = self.group(tx.read(), id).await?;
        let caller = Reach::of(tx.read(), actor).await?;
        caller.manage(&group)?;
        let users = resolve(tx.read(), &parsed, &caller.for_group(&group)).await?;
        let members: Vec<i64> = users.values().flat_map(|f| f.iter().map(|u| u.id)).collect();
        let mut current = roster_store::memberships::which_are_members(tx.read(), group.id, &members).await?;
        current.sort_unstable();
        let (report, adds, removes) = plan(&parsed, &users, &current);
        let mut counts = CsvCounts { rows: parsed.rows.len(), ..CsvCounts::default() };
        for r in &report {
            match r.outcome {
                RowOutcome::Added => counts.added += 1,
                RowOutcome::AlreadyMember => counts.already_members += 1,
                RowOutcome::Removed => counts.removed += 1,
                RowOutcome::NotMember => counts.not_members += 1,
                RowOutcome::NotFound => counts.not_found += 1,
                _ => {}
            }
            if r.outcome.is_error() {
                counts.errors += 1;
            }
        }
        let apply = !options.dry_run && (counts.errors == 0 || options.on_error == OnError::Skip);
        let mut outcome = CsvOutcome {
            upload: String::new(),
            dry_run: options.dry_run,
            applied: apply,
            user_column: parsed.user_column.clone(),
            matched_by: match parsed.by {
                KeyColumn::Username => "username".into(),
                KeyColumn::Email => "email".into(),
            },
            counts,
            rows: report
                .iter()
                .filter(|r| !matches!(r.outcome, RowOutcome::Added | RowOutcome::Removed))
                .cloned()
                .collect(),
            all_rows: report,
        };
        let now = self.now();
        let stored = serde_json::to_string(&StoredOutcome::from(&outcome)).map_err(internal)?;
        let upload = tx.record_upload(group.id, &actor.name, options.dry_run, apply, &stored).await?;
        outcome.upload = upload.to_string();
        if apply {
            let cause = Cause { actor: actor.name.clone(), why: format!("CSV upload {upload}"), at: now };
            add_users(&mut tx, &group, &adds, MembershipSource::Csv, &cause).await?;
            remove_users(&mut tx, &group, &removes, &cause).await?;
        }
        let stored = serde_json::to_string(&StoredOutcome::from(&outcome)).map_err(internal)?;
        tx.set_upload_report(upload, &stored).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The per-row report of an upload, as CSV.
    pub async fn upload_report_csv(&self, actor: &Actor, id: &str, upload: &str) -> AppResult<Vec<u8>> {
        let upload = crate::parse_id("upload", upload)?;
        let mut conn = self.store.read().await?;
        let group: Group = self.group(&mut conn, id).await?;
        // An upload's report names the users its file named: only whoever uploaded it,
        // or a superadmin, may read it; to anyone else it does not exist.
        let stored = match roster_store::groups::upload_result(&mut conn, group.id, upload).await? {
            Some((by, result)) if by == actor.name() || actor.superadmin().is_ok() => result,
            _ => return Err(AppError::NotFound("upload".into())),
        };
        let stored: StoredOutcome = serde_json::from_str(&stored).map_err(internal)?;
        let mut out = String::from(roster_csv::UTF8_BOM);
        roster_csv::encode_row(&mut out, ["row", "user", "action", "outcome", "message"]);
        for r in &stored.rows {
            let outcome =
                serde_json::to_value(r.outcome).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            roster_csv::encode_row(
                &mut out,
                [r.row.to_string(), r.user.clone(), r.action.clone(), outcome, r.message.clone().unwrap_or_default()],
            );
        }
        Ok(out.into_bytes())
    }
}

/// What is kept of an upload: its counts and every row.
#[derive(Debug, Serialize, Deserialize)]
struct StoredOutcome {
    dry_run: bool,
    applied: bool,
    counts: CsvCounts,
    rows: Vec<RowReport>,
}

impl From<&CsvOutcome> for StoredOutcome {
    fn from(o: &CsvOutcome) -> Self {
        Self { dry_run: o.dry_run, applied: o.applied, counts: o.counts.clone(), rows: o.all_rows.clone() }
    }
}

fn internal(e: serde_json::Error) -> AppError {
    AppError::encoding(e)
}

/// The refusal of a file over the limit, stating the limit.
pub fn too_large(size: usize, limit: usize) -> AppError {
    AppError::TooLarge(format!(
        "the file is {size} bytes; the limit is {}. Split it into smaller files.",
        limit_text(limit)
    ))
}

/// A size limit as stated in a refusal: `3 MB (3145728 bytes)`, or `200000 bytes` when
/// that is all there is to say.
pub fn limit_text(limit: usize) -> String {
    let human = human_size(limit);
    if human.ends_with(" bytes") {
        human
    } else {
        format!("{human} ({limit} bytes)")
    }
}

/// `3 MB`, `512 KB`, `100 bytes`.
pub fn human_size(bytes: usize) -> String {
    const MB: usize = 1024 * 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The form under which a user cell is matched: a username's or an address's key.
fn key_of(by: KeyColumn, cell: &str) -> String {
    match by {
        KeyColumn::Username => roster_domain::Username::fold(cell),
        KeyColumn::Email => roster_domain::Email::fold(cell),
    }
}

/// Looks up every user the file names, keeping those the caller may reach.
async fn resolve(conn: &mut AnyConnection, parsed: &Parsed, reach: &Reach) -> AppResult<HashMap<String, Vec<Found>>> {
    let mut keys: Vec<String> =
        parsed.rows.iter().map(|(_, u, _)| key_of(parsed.by, u)).filter(|k| !k.is_empty()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut found: HashMap<String, Vec<Found>> = HashMap::new();
    for (key, user) in roster_store::users::find_by_keys(conn, parsed.by, &keys).await? {
        if reach.reaches(user.branch_id) {
            found.entry(key).or_default().push(user);
        }
    }
    Ok(found)
}

/// Decides each row's outcome against the current members; returns the report and the
/// users to add and to remove.
fn plan(parsed: &Parsed, users: &HashMap<String, Vec<Found>>, current: &[i64]) -> (Vec<RowReport>, Vec<i64>, Vec<i64>) {
    let mut report = Vec::with_capacity(parsed.rows.len() + parsed.blank_rows.len());
    let mut first_row: HashMap<i64, usize> = HashMap::new();
    let (mut adds, mut removes) = (Vec::new(), Vec::new());
    for (row, user, action) in &parsed.rows {
        let line = |outcome: RowOutcome, message: Option<String>| RowReport {
            row: *row,
            user: user.clone(),
            action: if action.is_empty() { "add".into() } else { action.clone() },
            outcome,
            message,
        };
        let remove = match action.as_str() {
            "" | "add" | "+" | "assign" => false,
            "remove" | "delete" | "-" | "unassign" => true,
            other => {
                report
                    .push(line(RowOutcome::Invalid, Some(format!("the action \"{other}\" is neither add nor remove"))));
                continue;
            }
        };
        if user.is_empty() {
            report.push(line(RowOutcome::Invalid, Some("the user cell is empty".into())));
            continue;
        }
        let id = match users.get(&key_of(parsed.by, user)).map(Vec::as_slice) {
            Some([one]) => one.id,
            Some([_, _, ..]) => {
                report.push(line(
                    RowOutcome::Invalid,
                    Some(format!("several users have the email \"{user}\"; use usernames")),
                ));
                continue;
            }
            _ => {
                report.push(line(RowOutcome::NotFound, Some(format!("no user \"{user}\""))));
                continue;
            }
        };
        if let Some(first) = first_row.get(&id) {
            report.push(line(RowOutcome::Duplicate, Some(format!("the same user as row {first}"))));
            continue;
        }
        first_row.insert(id, *row);
        let member = current.binary_search(&id).is_ok();
        let outcome = match (remove, member) {
            (false, false) => {
                adds.push(id);
                RowOutcome::Added
            }
            (false, true) => {
                // An automatic group still puts the user on its include list.
                adds.push(id);
                RowOutcome::AlreadyMember
            }
            (true, true) => {
                removes.push(id);
                RowOutcome::Removed
            }
            (true, false) => {
                removes.push(id);
                RowOutcome::NotMember
            }
        };
        report.push(line(outcome, None));
    }
    for row in &parsed.blank_rows {
        report.push(RowReport {
            row: *row,
            user: String::new(),
            action: String::new(),
            outcome: RowOutcome::Empty,
            message: Some("blank row, skipped".into()),
        });
    }
    report.sort_by_key(|r| r.row);
    (report, adds, removes)
}

/// A sample association file.
pub fn sample_csv() -> Vec<u8> {
    let mut out = String::from(roster_csv::UTF8_BOM);
    for row in [["username", "action"], ["ann.lee", "add"], ["bob.martin", "add"], ["carla.diaz", "remove"]] {
        roster_csv::encode_row(&mut out, row);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_stated_once_in_bytes() {
        assert_eq!(limit_text(200_000), "200000 bytes");
        assert_eq!(limit_text(3 * 1024 * 1024), "3 MB (3145728 bytes)");
        assert_eq!(limit_text(512 * 1024), "512 KB (524288 bytes)");
    }
}
