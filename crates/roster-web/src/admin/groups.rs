//! Groups: the list with its New Group panel, and a group's Users tab (members, the
//! three ways of assigning users, association by CSV, export), History and Settings.

use crate::files::{csv_file, csv_stream};
use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roster_app::group_csv::{human_size, too_large, CsvOptions, CsvOutcome, OnError, RowOutcome};
use roster_app::groups::{AddMembers, GroupFilter, GroupPatch, MemberFilter, NewGroup};
use roster_app::views::{GroupView, MemberView};
use roster_app::{App, AppError, ListParams};
use serde::Deserialize;

use super::page::{self, url, when, AdminResult, Chrome, FieldErrors, OrPage, Pager, Section};
use super::session::{Admin, Posted};
use super::AdminState;

/// Rows per page of the admin lists.
pub(crate) const PAGE_SIZE: usize = 25;

/// The head of every tab of a group's page.
#[derive(Debug, Clone)]
pub(crate) struct GroupHead {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub automatic: bool,
    pub members: i64,
}

impl From<GroupView> for GroupHead {
    fn from(g: GroupView) -> Self {
        Self {
            automatic: g.policy == "automatic",
            id: g.id,
            name: g.name,
            description: g.description,
            members: g.member_count,
        }
    }
}

/// A branch in a picker: indented under its parent.
#[derive(Debug, Clone)]
pub(crate) struct BranchOption {
    pub code: String,
    pub label: String,
}

/// The branches a picker offers the caller: a training admin's own subtrees only.
pub(crate) async fn branch_options(app: &App, admin: &Admin) -> Result<Vec<BranchOption>, AppError> {
    let branches = app.list_branches(&admin.actor).await?;
    let superadmin = admin.actor.superadmin().is_ok();
    Ok(branches
        .into_iter()
        .filter(|b| {
            superadmin || b.path.iter().any(|c| admin.actor.branch_codes.iter().any(|own| own.eq_ignore_ascii_case(c)))
        })
        .map(|b| BranchOption {
            label: format!("{}{} ({})", "\u{2003}".repeat(b.path.len().saturating_sub(1)), b.name, b.code),
            code: b.code,
        })
        .collect())
}

/// How a membership came about, in words.
pub(crate) fn source_label(source: &str) -> &'static str {
    match source {
        "manual" => "Added manually",
        "copy" => "Copied",
        "csv" => "CSV",
        "rule" => "Rule",
        "include" => "Included",
        _ => "Other",
    }
}

// ---------------------------------------------------------------- the list

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GroupsQuery {
    q: Option<String>,
    policy: Option<String>,
    cursor: Option<String>,
    trail: Option<String>,
    new: Option<String>,
}

#[derive(Debug)]
struct GroupRow {
    id: String,
    name: String,
    description: String,
    automatic: bool,
    members: i64,
}

/// What the New Group panel holds.
#[derive(Debug, Default)]
struct NewGroupForm {
    name: String,
    description: String,
    automatic: bool,
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage {
    chrome: Chrome,
    q: String,
    policy: String,
    groups: Vec<GroupRow>,
    pager: Pager,
    new_open: bool,
    form: NewGroupForm,
    errors: FieldErrors,
}

/// `GET /admin/groups`.
pub(crate) async fn list(admin: Admin, State(app): State<App>, Query(query): Query<GroupsQuery>) -> AdminResult {
    let open = query.new.is_some();
    groups_page(&admin, &app, &query, open, NewGroupForm::default(), FieldErrors::default(), StatusCode::OK).await
}

async fn groups_page(
    admin: &Admin,
    app: &App,
    query: &GroupsQuery,
    new_open: bool,
    form: NewGroupForm,
    errors: FieldErrors,
    status: StatusCode,
) -> AdminResult {
    let q = query.q.clone().unwrap_or_default();
    let policy = query.policy.clone().unwrap_or_default();
    let filter = GroupFilter { q: Some(q.clone()), policy: Some(policy.clone()) };
    let paging = ListParams { cursor: query.cursor.clone(), limit: Some(PAGE_SIZE) };
    let list = app.list_groups(&admin.actor, &filter, &paging).await.or_page(admin, Section::Groups)?;
    let pager = Pager::new(
        "/admin/groups",
        &[("q", &q), ("policy", &policy)],
        query.cursor.as_deref(),
        query.trail.as_deref(),
        list.next_cursor.as_deref(),
    );
    let groups = list
        .items
        .into_iter()
        .map(|g| GroupRow {
            automatic: g.policy == "automatic",
            description: g.description.unwrap_or_default(),
            id: g.id,
            name: g.name,
            members: g.member_count,
        })
        .collect();
    let page = GroupsPage { chrome: admin.chrome(Section::Groups), q, policy, groups, pager, new_open, form, errors };
    Ok(admin.page_with(status, &page))
}

/// `POST /admin/groups`: the New Group panel's "Create and edit".
pub(crate) async fn create(State(app): State<App>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let input = NewGroup {
        name: form.one("name").unwrap_or_default().to_owned(),
        description: form.text("description"),
        policy: form.text("policy"),
    };
    match app.create_group(&admin.actor, input).await {
        Ok(group) => {
            let to = if group.policy == "automatic" {
                format!("/admin/groups/{}/rules", group.id)
            } else {
                format!("/admin/groups/{}", group.id)
            };
            Ok(admin.redirect_with(&to, &format!("Group \"{}\" created.", group.name)))
        }
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["name", "description", "policy"]);
            let status = page::status(e);
            let again = NewGroupForm {
                name: form.one("name").unwrap_or_default().to_owned(),
                description: form.one("description").unwrap_or_default().to_owned(),
                automatic: form.one("policy") == Some("automatic"),
            };
            groups_page(&admin, &app, &GroupsQuery::default(), true, again, errors, status).await
        }
    }
}

// ---------------------------------------------------------------- the Users tab

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MembersQuery {
    q: Option<String>,
    cursor: Option<String>,
    trail: Option<String>,
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
    source_label: &'static str,
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
            source_label: source_label(&m.source),
            suspended: m.user.status == "suspended",
            id: m.user.id,
            username: m.user.username,
            full_name,
            email: m.user.email,
            branch: m.user.branch.unwrap_or_default(),
            source: m.source,
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
                let message = page::general_message(&e).replace("file: ", "");
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
    pager: Pager,
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
    let paging = ListParams { cursor: query.cursor.clone(), limit: Some(PAGE_SIZE) };
    let list = app
        .list_members(&admin.actor, id, &MemberFilter { q: Some(q.clone()) }, &paging)
        .await
        .or_page(admin, Section::Groups)?;
    let branches = branch_options(app, admin).await.or_page(admin, Section::Groups)?;
    let path = format!("/admin/groups/{}", group.id);
    let pager =
        Pager::new(&path, &[("q", &q)], query.cursor.as_deref(), query.trail.as_deref(), list.next_cursor.as_deref());
    let here = url(
        &path,
        &[
            ("q", &q),
            ("cursor", query.cursor.as_deref().unwrap_or_default()),
            ("trail", query.trail.as_deref().unwrap_or_default()),
        ],
    );
    let limit = app.settings().max_csv_bytes;
    let page = MembersPage {
        chrome: admin.chrome(Section::Groups),
        group,
        q,
        members: list.items.into_iter().map(MemberRow::from).collect(),
        pager,
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
            let automatic = outcome.group.policy == "automatic";
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
    let done = if group.policy == "automatic" { " and put on the exclude list" } else { "" };
    Ok(admin.redirect_with(&back, &format!("{who} removed{done}.")))
}

/// `POST /admin/groups/{id}/csv`: a multipart upload from the CSV panel. Answers the
/// panel's result as an HTML fragment to a script (`X-Fragment: 1`), else the whole page.
pub(crate) async fn upload_csv(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    admin: Admin,
    req: Request,
) -> AdminResult {
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
    let bytes =
        file.filter(|f| !f.is_empty()).ok_or_else(|| AppError::invalid("file", "choose a CSV file to upload"))?;
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

// ---------------------------------------------------------------- History

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    pub cursor: Option<String>,
    pub trail: Option<String>,
}

/// One join or leave as a history table shows it.
#[derive(Debug)]
pub(crate) struct EventRow {
    pub at: String,
    pub joined: bool,
    /// The other side of the event: the user on a group's page, the group on a user's.
    pub subject: String,
    pub subject_link: Option<String>,
    pub actor: String,
    pub cause: String,
}

#[derive(Template)]
#[template(path = "admin/group_history.html")]
struct GroupHistoryPage {
    chrome: Chrome,
    group: GroupHead,
    tab: &'static str,
    events: Vec<EventRow>,
    pager: Pager,
}

/// `GET /admin/groups/{id}/history`: the group's joins and leaves, newest first.
pub(crate) async fn history(
    admin: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> AdminResult {
    let result = async {
        let group = GroupHead::from(app.get_group(&admin.actor, &id).await?);
        let paging = ListParams { cursor: query.cursor.clone(), limit: Some(50) };
        let list = app.group_events(&admin.actor, &id, &paging).await?;
        let ids: Vec<String> = list.items.iter().map(|e| e.user_id.clone()).collect();
        let users = app.user_labels(&admin.actor, &ids).await?;
        let events = list
            .items
            .iter()
            .map(|e| {
                let label = users.get(&e.user_id);
                EventRow {
                    at: when(&e.at),
                    joined: e.change == "joined",
                    subject: label
                        .map_or_else(|| format!("user #{} (not visible to you)", e.user_id), |u| u.username.clone()),
                    subject_link: label.map(|u| format!("/admin/users/{}", u.id)),
                    actor: e.actor.clone(),
                    cause: e.cause.clone(),
                }
            })
            .collect();
        let path = format!("/admin/groups/{}/history", group.id);
        let pager =
            Pager::new(&path, &[], query.cursor.as_deref(), query.trail.as_deref(), list.next_cursor.as_deref());
        Ok::<_, AppError>(GroupHistoryPage {
            chrome: admin.chrome(Section::Groups),
            group,
            tab: "history",
            events,
            pager,
        })
    }
    .await;
    Ok(admin.page(&result.or_page(&admin, Section::Groups)?))
}

// ---------------------------------------------------------------- Settings

#[derive(Template)]
#[template(path = "admin/group_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    group: GroupHead,
    tab: &'static str,
    name: String,
    description: String,
    errors: FieldErrors,
    delete_error: Option<String>,
}

impl SettingsPage {
    /// The page with the group's name and description in the form.
    fn of(admin: &Admin, group: GroupHead, delete_error: Option<String>) -> Self {
        SettingsPage {
            chrome: admin.chrome(Section::Groups),
            name: group.name.clone(),
            description: group.description.clone().unwrap_or_default(),
            group,
            tab: "settings",
            errors: FieldErrors::default(),
            delete_error,
        }
    }
}

/// `GET /admin/groups/{id}/settings`: rename, describe, delete.
pub(crate) async fn settings(admin: Admin, State(app): State<App>, Path(id): Path<String>) -> AdminResult {
    let group = GroupHead::from(app.get_group(&admin.actor, &id).await.or_page(&admin, Section::Groups)?);
    Ok(admin.page(&SettingsPage::of(&admin, group, None)))
}

/// `POST /admin/groups/{id}/settings`.
pub(crate) async fn save_settings(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let patch = GroupPatch {
        name: Some(form.one("name").unwrap_or_default().to_owned()),
        description: Some(form.text("description")),
        allow_suspended: None,
    };
    let Err(e) = app.update_group(&admin.actor, &id, patch).await else {
        return Ok(admin.redirect_with(&format!("/admin/groups/{id}/settings"), "Group saved."));
    };
    let group = GroupHead::from(app.get_group(&admin.actor, &id).await.or_page(&admin, Section::Groups)?);
    let page = SettingsPage {
        chrome: admin.chrome(Section::Groups),
        group,
        tab: "settings",
        name: form.one("name").unwrap_or_default().to_owned(),
        description: form.one("description").unwrap_or_default().to_owned(),
        errors: FieldErrors::from_error(&e, &["name", "description"]),
        delete_error: None,
    };
    Ok(admin.page_with(page::status(e), &page))
}

/// `POST /admin/groups/{id}/delete`.
pub(crate) async fn delete(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let admin = posted.admin;
    let name = app.get_group(&admin.actor, &id).await.map(|g| g.name).unwrap_or_default();
    let Err(e) = app.delete_group(&admin.actor, &id).await else {
        return Ok(admin.redirect_with("/admin/groups", &format!("Group \"{name}\" deleted.")));
    };
    let group = GroupHead::from(app.get_group(&admin.actor, &id).await.or_page(&admin, Section::Groups)?);
    let page = SettingsPage::of(&admin, group, Some(page::general_message(&e)));
    Ok(admin.page_with(page::status(e), &page))
}
