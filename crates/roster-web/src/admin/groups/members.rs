//! A group's Users tab: its members, the three ways of assigning users, removal,
//! association by CSV (the slide-out), and the export.

use crate::files::{csv_file, csv_stream};
use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roster_app::group_csv::{human_size, too_large, CsvOptions, CsvOutcome, OnError, RowOutcome};
use roster_app::groups::{AddMembers, MemberFilter, MemberSort};
use roster_app::views::MemberView;
use roster_app::{App, AppError};
use roster_domain::{GroupPolicy, UserStatus};
use serde::Deserialize;

use super::{branch_options, source_label, BranchOption, GroupHead, PAGE_SIZE};
use crate::admin::page::{self, url, when, AdminResult, Chrome, NumberedPager, OrPage, Section};
use crate::admin::session::{Admin, Posted};
use crate::admin::AdminState;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MembersQuery {
    q: Option<String>,
    sort: Option<String>,
    /// 1-based; absent for the first page.
    page: Option<u64>,
    panel: Option<String>,
}

#[derive(Debug)]
struct MemberRow {
    id: String,
    username: String,
    full_name: String,
    email: String,
    branch: String,
    source: String,
    /// "Added manually", "Copied from Sales team"...
    source_label: String,
    added: String,
    suspended: bool,
}

impl From<MemberView> for MemberRow {
    fn from(m: MemberView) -> Self {
        let full_name = [m.user.first_name.as_deref(), m.user.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            source_label: match &m.copied_from {
                Some(from) => format!("Copied from {from}"),
                None => source_label(m.source).to_owned(),
            },
            suspended: m.user.status == UserStatus::Suspended,
            id: m.user.id,
            username: m.user.username,
            full_name,
            email: m.user.email,
            branch: m.user.branch.unwrap_or_default(),
            source: m.source.as_str().to_owned(),
            added: when(&m.added_at),
        }
    }
}

/// The outcome of a CSV upload, as the panel shows it.
#[derive(Template, Debug)]
#[template(path = "admin/csv_result.html")]
pub(crate) struct CsvResult {
    group_id: String,
    error: Option<String>,
    outcome: Option<CsvOutcome>,
    problems: Vec<CsvProblem>,
}

#[derive(Debug)]
struct CsvProblem {
    row: usize,
    user: String,
    action: String,
    outcome: &'static str,
    message: String,
    error: bool,
}

impl CsvResult {
    fn new(group_id: &str, result: Result<CsvOutcome, AppError>) -> (StatusCode, Self) {
        match result {
            Ok(outcome) => {
                let problems = outcome
                    .rows
                    .iter()
                    .filter(|r| r.outcome != RowOutcome::Empty)
                    .take(200)
                    .map(|r| CsvProblem {
                        row: r.row,
                        user: r.user.clone(),
                        action: r.action.clone(),
                        outcome: match r.outcome {
                            RowOutcome::Added if outcome.dry_run => "would be added",
                            RowOutcome::Removed if outcome.dry_run => "would be removed",
                            RowOutcome::Added if !outcome.applied => "would have been added",
                            RowOutcome::Removed if !outcome.applied => "would have been removed",
                            RowOutcome::Added => "added",
                            RowOutcome::AlreadyMember => "already a member",
                            RowOutcome::Removed => "removed",
                            RowOutcome::NotMember => "not a member",
                            RowOutcome::NotFound => "not found",
                            RowOutcome::Duplicate => "duplicate",
                            RowOutcome::Invalid => "invalid",
                            RowOutcome::Empty => "empty",
                        },
                        error: matches!(r.outcome, RowOutcome::NotFound | RowOutcome::Duplicate | RowOutcome::Invalid),
                        message: r.message.clone().unwrap_or_default(),
                    })
                    .collect();
                let status = if outcome.applied || outcome.dry_run || outcome.counts.errors == 0 {
                    StatusCode::OK
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                (status, Self { group_id: group_id.to_owned(), error: None, outcome: Some(outcome), problems })
            }
            Err(e) => {
                // The panel is about the file: its errors need no "File:" before them.
                let message =
                    if page::field(&e) == Some("file") { page::message(&e) } else { page::general_message(&e) };
                let status = page::status(e);
                (status, Self { group_id: group_id.to_owned(), error: Some(message), outcome: None, problems: vec![] })
            }
        }
    }
}

#[derive(Template)]
#[template(path = "admin/group_members.html")]
struct MembersPage {
    chrome: Chrome,
    group: GroupHead,
    q: String,
    members: Vec<MemberRow>,
    pager: NumberedPager,
    /// The sort shown (`name`, `-added`...), and the links that sort by each column.
    sort: &'static str,
    sort_name: String,
    sort_added: String,
    panel: String,
    panel_error: Option<String>,
    branches: Vec<BranchOption>,
    max_csv: String,
    max_csv_bytes: usize,
    csv_result: Option<CsvResult>,
    here: String,
}

/// `GET /admin/groups/{id}`: the Users tab.
pub(crate) async fn members(
    admin: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<MembersQuery>,
) -> AdminResult {
    let panel = query.panel.clone().unwrap_or_default();
    members_page(&admin, &app, &id, &query, panel, None, None, StatusCode::OK).await
}

#[expect(clippy::too_many_arguments, reason = "one page, several ways in")]
async fn members_page(
    admin: &Admin,
    app: &App,
    id: &str,
    query: &MembersQuery,
    panel: String,
    panel_error: Option<String>,
    csv_result: Option<CsvResult>,
    status: StatusCode,
) -> AdminResult {
    let group = GroupHead::from(app.get_group(&admin.actor, id).await.or_page(admin, Section::Groups)?);
    let q = query.q.clone().unwrap_or_default();
    let sort = MemberSort::parse(query.sort.as_deref().unwrap_or_default());
    let number = query.page.unwrap_or(1).max(1);
    let (items, total) = app
        .list_members_sorted(
            &admin.actor,
            id,
            &MemberFilter { q: Some(q.clone()), as_of: None },
            sort,
            number,
            PAGE_SIZE,
        )
        .await
        .or_page(admin, Section::Groups)?;
    let branches = branch_options(app, admin).await.or_page(admin, Section::Groups)?;
    let path = format!("/admin/groups/{}", group.id);
    let sort_param = if sort == MemberSort::default() { "" } else { sort.as_str() };
    let pager =
        NumberedPager::new(&path, &[("q", &q), ("sort", sort_param)], number, PAGE_SIZE as u64, items.len(), total);
    let page_param = if number > 1 { number.to_string() } else { String::new() };
    let here = url(&path, &[("q", &q), ("sort", sort_param), ("page", &page_param)]);
    let sort_by = |first: MemberSort, then: MemberSort| {
        let next = if sort == first { then } else { first };
        url(&path, &[("q", &q), ("sort", next.as_str())])
    };
    let (sort_name, sort_added) =
        (sort_by(MemberSort::Username, MemberSort::UsernameDesc), sort_by(MemberSort::Newest, MemberSort::Oldest));
    let limit = app.settings().max_csv_bytes;
    let page = MembersPage {
        chrome: admin.chrome(Section::Groups),
        group,
        q,
        members: items.into_iter().map(MemberRow::from).collect(),
        pager,
        sort: sort.as_str(),
        sort_name,
        sort_added,
        panel,
        panel_error,
        branches,
        max_csv: human_size(limit),
        max_csv_bytes: limit,
        csv_result,
        here,
    };
    Ok(admin.page_with(status, &page))
}

/// `POST /admin/groups/{id}/members`: assign users individually, by copying groups,
/// or by copying a branch.
pub(crate) async fn assign(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    app.check_manages(&admin.actor, &id).await.or_page(&admin, Section::Groups)?;
    let (input, panel) = match form.one("way") {
        Some("groups") => {
            (AddMembers { from_groups: Some(form.many("from_groups")), ..AddMembers::default() }, "assign-groups")
        }
        Some("branch") => (
            AddMembers {
                from_branch: Some(form.one("from_branch").unwrap_or_default().to_owned()),
                include_descendants: Some(form.checked("include_descendants")),
                ..AddMembers::default()
            },
            "assign-branch",
        ),
        _ => (AddMembers { users: Some(form.many("users")), ..AddMembers::default() }, "assign-users"),
    };
    let empty = match panel {
        "assign-groups" => {
            input.from_groups.as_ref().is_some_and(Vec::is_empty).then_some("Pick at least one group to copy from.")
        }
        "assign-branch" => {
            input.from_branch.as_ref().is_some_and(String::is_empty).then_some("Pick a branch to copy from.")
        }
        _ => input.users.as_ref().is_some_and(Vec::is_empty).then_some("Pick at least one user."),
    };
    let result = match empty {
        Some(message) => Err(message.to_owned()),
        None => app.add_members(&admin.actor, &id, input).await.map_err(|e| page::general_message(&e)),
    };
    match result {
        Ok(outcome) => {
            let automatic = outcome.group.policy == GroupPolicy::Automatic;
            let mut message = match outcome.added {
                1 => "1 user assigned".to_owned(),
                n => format!("{n} users assigned"),
            };
            if automatic {
                message.push_str(" (on the include list)");
            }
            match outcome.already_members {
                0 => {}
                1 => message.push_str("; 1 was already a member"),
                n => message.push_str(&format!("; {n} were already members")),
            }
            message.push('.');
            Ok(admin.redirect_with(&format!("/admin/groups/{id}"), &message))
        }
        Err(message) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            members_page(&admin, &app, &id, &MembersQuery::default(), panel.to_owned(), Some(message), None, status)
                .await
        }
    }
}

/// Where a form asks to go back to: a path of this group's page only.
fn back_to(form_back: Option<&str>, id: &str) -> String {
    let own = format!("/admin/groups/{id}");
    match form_back {
        Some(b) if b.starts_with(&own) && !b.contains("//") => b.to_owned(),
        _ => own,
    }
}

/// `POST /admin/groups/{id}/members/{user_id}/remove`.
pub(crate) async fn remove(
    State(app): State<App>,
    Path((id, user_id)): Path<(String, String)>,
    posted: Posted,
) -> AdminResult {
    let Posted { admin, form } = posted;
    let back = back_to(form.one("back"), &id);
    let who = form.text("username").unwrap_or_else(|| format!("user {user_id}"));
    let group = app.remove_member(&admin.actor, &id, &user_id).await.or_page(&admin, Section::Groups)?;
    let done = if group.policy == GroupPolicy::Automatic { " and put on the exclude list" } else { "" };
    Ok(admin.redirect_with(&back, &format!("{who} removed{done}.")))
}

/// `POST /admin/groups/{id}/members/remove`: the members ticked in the list (`users`,
/// one value each), removed from a manual group in one change.
pub(crate) async fn remove_many(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let back = back_to(form.one("back"), &id);
    let users = form.many("users");
    match app.remove_members(&admin.actor, &id, &users).await {
        Ok((_, 1)) => Ok(admin.redirect_with(&back, "1 member removed.")),
        Ok((_, n)) => Ok(admin.redirect_with(&back, &format!("{n} members removed."))),
        Err(e @ (AppError::Invalid(_) | AppError::BadRequest { .. })) => {
            Ok(admin.redirect_with_error(&back, &page::message(&e)))
        }
        Err(e) => Err(e).or_page(&admin, Section::Groups),
    }
}

/// `POST /admin/groups/{id}/csv`: a multipart upload from the CSV panel. Answers the
/// panel's result as an HTML fragment to a script (`X-Fragment: 1`), else the whole page.
pub(crate) async fn upload_csv(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    admin: Admin,
    req: Request,
) -> AdminResult {
    state.app.check_manages(&admin.actor, &id).await.or_page(&admin, Section::Groups)?;
    let fragment = req.headers().get("x-fragment").is_some();
    let header_csrf = admin.csrf_sent(req.headers());
    let (status, result) = CsvResult::new(&id, receive_csv(&state, &admin, &id, header_csrf, req).await);
    if fragment {
        return Ok((status, page::render(&result)).into_response());
    }
    members_page(&admin, &state.app, &id, &MembersQuery::default(), "csv".into(), None, Some(result), status).await
}

async fn receive_csv(
    state: &AdminState,
    admin: &Admin,
    id: &str,
    mut csrf_ok: bool,
    req: Request,
) -> Result<CsvOutcome, AppError> {
    let limit = state.app.settings().max_csv_bytes;
    // The file is refused before it is read when its request alone is far over the limit.
    crate::files::refuse_declared_over(req.headers(), limit, 64 * 1024)?;
    let declared = crate::files::declared_length(req.headers());
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|_| AppError::bad_request("file", "send the file as a multipart form"))?;
    let mut options = CsvOptions::default();
    let mut file: Option<Vec<u8>> = None;
    let mut file_name: Option<String> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|_| too_large(limit + 1, limit))? {
        match field.name().unwrap_or_default() {
            "csrf" => {
                let token = field.text().await.unwrap_or_default();
                csrf_ok |= admin.csrf_is(&token);
            }
            "on_error" => {
                options.on_error =
                    if field.text().await.unwrap_or_default() == "skip" { OnError::Skip } else { OnError::Fail }
            }
            "dry_run" => {
                options.dry_run = matches!(field.text().await.unwrap_or_default().as_str(), "on" | "true" | "1")
            }
            "file" => {
                if !csrf_ok {
                    return Err(AppError::Forbidden("this form has expired; reload the page and try again".into()));
                }
                file_name = field.file_name().map(str::to_owned);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|_| too_large(limit + 1, limit))? {
                    if bytes.len() + chunk.len() > limit {
                        return Err(too_large(declared.unwrap_or(bytes.len() + chunk.len()), limit));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(bytes);
            }
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(AppError::Forbidden("this form has expired; reload the page and try again".into()));
    }
    let bytes = match file {
        Some(bytes) if !bytes.is_empty() => bytes,
        Some(_) => {
            let name =
                file_name.filter(|n| !n.is_empty()).map(|n| format!("“{n}”")).unwrap_or_else(|| "The file".into());
            return Err(AppError::invalid("file", format!("{name} is empty: it has no header row and no users.")));
        }
        None => return Err(AppError::invalid("file", "Choose a CSV file to upload.")),
    };
    state.app.associate_csv(&admin.actor, id, &bytes, &options).await
}

/// `GET /admin/groups/sample.csv`.
pub(crate) async fn sample(_admin: Admin) -> Response {
    csv_file(roster_app::group_csv::sample_csv(), "group-association-sample.csv")
}

/// `GET /admin/groups/{id}/uploads/{upload}/report.csv`.
pub(crate) async fn upload_report(
    admin: Admin,
    State(app): State<App>,
    Path((id, upload)): Path<(String, String)>,
) -> AdminResult {
    let csv = app.upload_report_csv(&admin.actor, &id, &upload).await.or_page(&admin, Section::Groups)?;
    Ok(csv_file(csv, &format!("upload-{upload}-report.csv")))
}

/// `GET /admin/groups/{id}/members.csv`: "Export users' list as CSV", streamed.
pub(crate) async fn export(admin: Admin, State(app): State<App>, Path(id): Path<String>) -> AdminResult {
    let export = app.export_members(&admin.actor, &id).await.or_page(&admin, Section::Groups)?;
    Ok(csv_stream(export))
}
