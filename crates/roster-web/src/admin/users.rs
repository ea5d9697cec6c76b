//! Users: the list with search and filters, the new-user form, and a user's page
//! (fields, branch, enrollments, groups) with its edit form, suspend or reactivate,
//! delete, the enrollment form and membership history. A training admin reaches only
//! the users of its branches (others are "not found") and creates users only in them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use roster_app::enrollments::EnrollmentInput;
use roster_app::users::{NewUser, UserFilter, UserPatch};
use roster_app::views::{FieldView, GroupRef, UserGroupView, UserView};
use roster_app::{App, AppError, ListParams};
use roster_domain::{EnrollmentStatus, GroupPolicy, MembershipChange, UserStatus};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

use super::groups::{branch_options, source_label, BranchOption, EventRow, PageQuery};
use super::page::{self, actor_label, when, AdminResult, Chrome, FieldErrors, NumberedPager, OrPage, Pager, Section};
use super::session::{Admin, FormData, Posted};

/// A status as a page says it.
pub(crate) fn enrollment_label(status: EnrollmentStatus) -> &'static str {
    match status {
        EnrollmentStatus::Enrolled => "Enrolled",
        EnrollmentStatus::InProgress => "In progress",
        EnrollmentStatus::Completed => "Completed",
        EnrollmentStatus::Failed => "Failed",
    }
}

/// The course statuses an enrollment may take, with their labels, for a picker.
pub(crate) fn enrollment_options() -> Vec<(&'static str, &'static str)> {
    EnrollmentStatus::ALL.iter().map(|s| (s.as_str(), enrollment_label(*s))).collect()
}

fn full_name(u: &UserView) -> String {
    [u.first_name.as_deref(), u.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------- the list

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UsersQuery {
    q: Option<String>,
    branch: Option<String>,
    status: Option<String>,
    /// 1-based; absent for the first page.
    page: Option<u64>,
}

/// Users on one page of the list.
const USERS_PER_PAGE: usize = 50;

#[derive(Debug)]
struct UserRow {
    id: String,
    username: String,
    full_name: String,
    email: String,
    branch: String,
    suspended: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    q: String,
    branch: String,
    status: String,
    branches: Vec<BranchOption>,
    users: Vec<UserRow>,
    pager: NumberedPager,
    error: Option<String>,
}

/// `GET /admin/users`: a page of users with the total that match and page numbers.
pub(crate) async fn list(admin: Admin, State(app): State<App>, Query(query): Query<UsersQuery>) -> AdminResult {
    let (q, branch, status) =
        (query.q.unwrap_or_default(), query.branch.unwrap_or_default(), query.status.unwrap_or_default());
    let branches = branch_options(&app, &admin).await.or_page(&admin, Section::Users)?;
    let filter =
        UserFilter { q: Some(q.clone()), branch: Some(branch.clone()), status: Some(status.clone()), username: None };
    let number = query.page.unwrap_or(1).max(1);
    let found = async {
        let (total, cursor) = app.count_users(&admin.actor, &filter, number, USERS_PER_PAGE).await?;
        let paging = ListParams { cursor, limit: Some(USERS_PER_PAGE) };
        // Past the last page there is nothing to list.
        let past_end = number > 1 && paging.cursor.is_none();
        let items = if past_end { vec![] } else { app.list_users(&admin.actor, &filter, &paging).await?.items };
        Ok::<_, AppError>((total, items))
    }
    .await;
    let (total, users, error) = match found {
        Ok((total, items)) => (total, items, None),
        Err(e) => (0, vec![], Some(page::general_message(&e))),
    };
    let pager = NumberedPager::new(
        "/admin/users",
        &[("q", &q), ("branch", &branch), ("status", &status)],
        number,
        USERS_PER_PAGE as u64,
        users.len(),
        total,
    );
    let users = users
        .into_iter()
        .map(|u| UserRow {
            full_name: full_name(&u),
            suspended: u.status == UserStatus::Suspended,
            id: u.id,
            username: u.username,
            email: u.email,
            branch: u.branch.unwrap_or_default(),
        })
        .collect();
    Ok(admin.page(&UsersPage {
        chrome: admin.chrome(Section::Users),
        q,
        branch,
        status,
        branches,
        users,
        pager,
        error,
    }))
}

// ---------------------------------------------------------------- a user's page

/// An additional field in the edit form.
#[derive(Debug)]
struct FieldInput {
    /// The form's name for it: `fields.CODE`.
    key: String,
    name: String,
    kind: String,
    value: String,
    options: Vec<String>,
}

#[derive(Debug)]
struct EnrollmentRow {
    course: String,
    course_name: String,
    status: String,
    enrolled: String,
    completed: String,
    due: String,
    made_by: Option<MadeBy>,
}

/// The group whose enrollment rule made an enrollment (or acted in an event), linked
/// when the group still exists.
#[derive(Debug, Clone)]
pub(crate) struct MadeBy {
    pub(crate) name: String,
    pub(crate) link: Option<String>,
}

/// The groups named by these references, as [`MadeBy`] by id: linked when they exist.
pub(crate) async fn made_by<'a>(
    app: &App,
    admin: &Admin,
    refs: impl Iterator<Item = &'a GroupRef>,
) -> Result<HashMap<String, MadeBy>, AppError> {
    let mut ids: Vec<String> = refs.map(|g| g.id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let labels = app.group_labels(&admin.actor, &ids).await?;
    Ok(ids
        .into_iter()
        .map(|id| {
            let made = match labels.get(&id) {
                Some(name) => MadeBy { name: name.clone(), link: Some(format!("/admin/groups/{id}")) },
                None => MadeBy { name: format!("group #{id} (deleted)"), link: None },
            };
            (id, made)
        })
        .collect())
}

#[derive(Debug)]
struct GroupRow {
    id: String,
    name: String,
    automatic: bool,
    source: String,
    source_label: &'static str,
    since: String,
}

/// The values of the edit form.
#[derive(Debug, Default)]
struct UserForm {
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    status: String,
    language: String,
    timezone: String,
    branch: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    chrome: Chrome,
    id: String,
    title: String,
    suspended: bool,
    branch_path: String,
    created: String,
    last_login: String,
    form: UserForm,
    fields: Vec<FieldInput>,
    branches: Vec<BranchOption>,
    errors: FieldErrors,
    enrollments: Vec<EnrollmentRow>,
    statuses: Vec<(&'static str, &'static str)>,
    groups: Vec<GroupRow>,
    enroll_error: Option<String>,
}

/// The additional fields of a form, with the values typed (or stored) by code.
fn field_inputs(fields: &[FieldView], typed: &BTreeMap<String, String>) -> Vec<FieldInput> {
    fields
        .iter()
        .map(|f| FieldInput {
            key: format!("fields.{}", f.code),
            name: f.name.clone(),
            kind: f.field_type.clone(),
            value: typed.get(&f.code).cloned().unwrap_or_default(),
            options: f.options.clone(),
        })
        .collect()
}

/// The inputs of the user forms, for placing an error beside its field.
const USER_INPUTS: [&str; 9] =
    ["username", "email", "first_name", "last_name", "status", "language", "timezone", "branch", "fields.*"];

/// The standard fields and the additional fields (by code) of a posted user form.
fn read_form(form: &FormData, fields: &[FieldView]) -> (UserForm, BTreeMap<String, String>) {
    let text = |name: &str| form.one(name).unwrap_or_default().to_owned();
    let values = UserForm {
        username: text("username"),
        email: text("email"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        status: text("status"),
        language: text("language"),
        timezone: text("timezone"),
        branch: text("branch"),
    };
    let typed = fields.iter().map(|f| (f.code.clone(), text(&format!("fields.{}", f.code)))).collect();
    (values, typed)
}

/// An additional field's value as the app takes it: empty clears.
fn field_value(typed: &str) -> Value {
    if typed.trim().is_empty() {
        Value::Null
    } else {
        Value::String(typed.to_owned())
    }
}

/// What a change did to the user's groups, for the flash: " Joined: A. Left: B."
fn group_moves(before: &[UserGroupView], after: &[UserGroupView]) -> String {
    let joined: Vec<&str> =
        after.iter().filter(|g| !before.iter().any(|b| b.id == g.id)).map(|g| g.name.as_str()).collect();
    let left: Vec<&str> =
        before.iter().filter(|g| !after.iter().any(|a| a.id == g.id)).map(|g| g.name.as_str()).collect();
    let mut moves = String::new();
    if !joined.is_empty() {
        moves.push_str(&format!(" Joined: {}.", joined.join(", ")));
    }
    if !left.is_empty() {
        moves.push_str(&format!(" Left: {}.", left.join(", ")));
    }
    moves
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(true)) => "yes".to_owned(),
        Some(Value::Bool(false)) => "no".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// What the page needs besides the user.
struct Around {
    fields: Vec<FieldView>,
    branches: Vec<BranchOption>,
    branch_paths: HashMap<String, String>,
}

async fn around(app: &App, admin: &Admin) -> Result<Around, AppError> {
    let fields = app.list_fields(&admin.actor).await?;
    let branches = branch_options(app, admin).await?;
    let all = app.list_branches(&admin.actor).await?;
    let names: HashMap<&str, &str> = all.iter().map(|b| (b.code.as_str(), b.name.as_str())).collect();
    let branch_paths = all
        .iter()
        .map(|b| {
            (
                b.code.clone(),
                b.path.iter().map(|c| names.get(c.as_str()).copied().unwrap_or(c)).collect::<Vec<_>>().join(" › "),
            )
        })
        .collect();
    Ok(Around { fields, branches, branch_paths })
}

/// `GET /admin/users/{id}`.
pub(crate) async fn page(admin: Admin, State(app): State<App>, Path(id): Path<String>) -> AdminResult {
    user_page(&admin, &app, &id, None, FieldErrors::default(), None, StatusCode::OK).await
}

async fn user_page(
    admin: &Admin,
    app: &App,
    id: &str,
    posted: Option<(UserForm, BTreeMap<String, String>)>,
    errors: FieldErrors,
    enroll_error: Option<String>,
    status: StatusCode,
) -> AdminResult {
    let built = async {
        let user = app.get_user(&admin.actor, id).await?;
        let around = around(app, admin).await?;
        let enrollments = app.user_enrollments(&admin.actor, id).await?;
        let codes: Vec<String> = enrollments.iter().map(|e| e.course.clone()).collect();
        let courses = app.courses_by_codes(&admin.actor, &codes).await?;
        let groups = app.user_groups(&admin.actor, id).await?;
        let makers = made_by(app, admin, enrollments.iter().filter_map(|e| e.made_by_rule_of.as_ref())).await?;
        Ok::<_, AppError>((user, around, enrollments, courses, groups, makers))
    }
    .await;
    let (user, around, enrollments, courses, groups, makers) = built.or_page(admin, Section::Users)?;
    let course_names: HashMap<&str, &str> = courses.iter().map(|c| (c.code.as_str(), c.name.as_str())).collect();
    let (form, typed) = posted.unwrap_or_else(|| {
        let form = UserForm {
            username: user.username.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone().unwrap_or_default(),
            last_name: user.last_name.clone().unwrap_or_default(),
            status: user.status.as_str().to_owned(),
            language: user.language.clone().unwrap_or_default(),
            timezone: user.timezone.clone().unwrap_or_default(),
            branch: user.branch.clone().unwrap_or_default(),
        };
        let typed = around.fields.iter().map(|f| (f.code.clone(), shown(user.fields.get(&f.code)))).collect();
        (form, typed)
    });
    let fields = field_inputs(&around.fields, &typed);
    let page = UserPage {
        chrome: admin.chrome(Section::Users),
        id: user.id.clone(),
        title: if full_name(&user).is_empty() {
            user.username.clone()
        } else {
            format!("{} ({})", full_name(&user), user.username)
        },
        suspended: user.status == UserStatus::Suspended,
        branch_path: user.branch.as_ref().and_then(|b| around.branch_paths.get(b)).cloned().unwrap_or_default(),
        created: when(&user.created_at),
        last_login: user.last_login_at.as_deref().map(when).unwrap_or_else(|| "never".to_owned()),
        form,
        fields,
        branches: around.branches.clone(),
        errors,
        enrollments: enrollments
            .into_iter()
            .map(|e| EnrollmentRow {
                course_name: course_names.get(e.course.as_str()).copied().unwrap_or_default().to_owned(),
                enrolled: when(&e.enrolled_at),
                completed: e.completed_at.as_deref().map(when).unwrap_or_default(),
                due: e.due_at.as_deref().map(when).unwrap_or_default(),
                made_by: e.made_by_rule_of.as_ref().and_then(|g| makers.get(&g.id)).cloned(),
                course: e.course,
                status: e.status.as_str().to_owned(),
            })
            .collect(),
        statuses: enrollment_options(),
        groups: groups
            .into_iter()
            .map(|g| GroupRow {
                automatic: g.policy == GroupPolicy::Automatic,
                source_label: source_label(g.source),
                since: when(&g.added_at),
                id: g.id,
                name: g.name,
                source: g.source.as_str().to_owned(),
            })
            .collect(),
        enroll_error,
    };
    Ok(admin.page_with(status, &page))
}

/// `POST /admin/users/{id}`: the edit form. Every field is sent; empty clears. The
/// flash says which groups the user joined or left because of the change.
pub(crate) async fn save(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let opt = |name: &str| Some(form.text(name));
    let fields = app.list_fields(&admin.actor).await.or_page(&admin, Section::Users)?;
    let (values, typed) = read_form(&form, &fields);
    let patch = UserPatch {
        username: Some(Some(values.username.clone())),
        email: Some(Some(values.email.clone())),
        first_name: opt("first_name"),
        last_name: opt("last_name"),
        status: Some(Some(values.status.clone())),
        language: opt("language"),
        timezone: opt("timezone"),
        branch: opt("branch"),
        password: None,
        fields: Some(typed.iter().map(|(code, v)| (code.clone(), field_value(v))).collect()),
    };
    let before = app.user_groups(&admin.actor, &id).await.unwrap_or_default();
    match app.update_user(&admin.actor, &id, patch).await {
        Ok(u) => {
            let after = app.user_groups(&admin.actor, &id).await.unwrap_or_default();
            let message = format!("{} saved.{}", u.username, group_moves(&before, &after));
            Ok(admin.redirect_with(&format!("/admin/users/{id}"), &message))
        }
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &USER_INPUTS);
            let status = page::status(e);
            user_page(&admin, &app, &id, Some((values, typed)), errors, None, status).await
        }
    }
}

/// `POST /admin/users/{id}/status`: suspend (`status=suspended`) or reactivate
/// (`status=active`); the flash says which groups the user left or joined.
pub(crate) async fn set_status(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let status = form.one("status").unwrap_or_default().to_owned();
    let before = app.user_groups(&admin.actor, &id).await.or_page(&admin, Section::Users)?;
    let patch = UserPatch { status: Some(Some(status)), ..UserPatch::default() };
    match app.update_user(&admin.actor, &id, patch).await {
        Ok(u) => {
            let after = app.user_groups(&admin.actor, &id).await.unwrap_or_default();
            let done = if u.status == UserStatus::Suspended { "suspended" } else { "reactivated" };
            let message = format!("{} {done}.{}", u.username, group_moves(&before, &after));
            Ok(admin.redirect_with(&format!("/admin/users/{id}"), &message))
        }
        Err(e) => {
            let errors = FieldErrors::general(page::general_message(&e));
            let status = page::status(e);
            user_page(&admin, &app, &id, None, errors, None, status).await
        }
    }
}

/// `POST /admin/users/{id}/delete` (the page asks to confirm first).
pub(crate) async fn delete(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let admin = posted.admin;
    let user = app.get_user(&admin.actor, &id).await.or_page(&admin, Section::Users)?;
    app.delete_user(&admin.actor, &id).await.or_page(&admin, Section::Users)?;
    Ok(admin.redirect_with("/admin/users", &format!("{} deleted.", user.username)))
}

// ---------------------------------------------------------------- a new user

#[derive(Template)]
#[template(path = "admin/user_new.html")]
struct NewUserPage {
    chrome: Chrome,
    form: UserForm,
    fields: Vec<FieldInput>,
    branches: Vec<BranchOption>,
    errors: FieldErrors,
}

/// The new-user form, empty or as posted with its errors.
async fn new_user_page(
    admin: &Admin,
    app: &App,
    posted: Option<(UserForm, BTreeMap<String, String>)>,
    errors: FieldErrors,
    status: StatusCode,
) -> AdminResult {
    let fields = app.list_fields(&admin.actor).await.or_page(admin, Section::Users)?;
    let branches = branch_options(app, admin).await.or_page(admin, Section::Users)?;
    let (form, typed) = posted.unwrap_or_else(|| {
        // A training admin with a single branch has nothing to choose.
        let branch = match branches.as_slice() {
            [only] if admin.actor.superadmin().is_err() => only.code.clone(),
            _ => String::new(),
        };
        (UserForm { status: UserStatus::Active.as_str().to_owned(), branch, ..UserForm::default() }, BTreeMap::new())
    });
    let page = NewUserPage {
        chrome: admin.chrome(Section::Users),
        fields: field_inputs(&fields, &typed),
        form,
        branches,
        errors,
    };
    Ok(admin.page_with(status, &page))
}

/// `GET /admin/users/new`.
pub(crate) async fn new_user(admin: Admin, State(app): State<App>) -> AdminResult {
    new_user_page(&admin, &app, None, FieldErrors::default(), StatusCode::OK).await
}

/// `POST /admin/users`: creates the user and opens its page; the flash says which
/// automatic groups it joined.
pub(crate) async fn create(State(app): State<App>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let fields = app.list_fields(&admin.actor).await.or_page(&admin, Section::Users)?;
    let (values, typed) = read_form(&form, &fields);
    let input = NewUser {
        username: values.username.clone(),
        email: values.email.clone(),
        first_name: form.text("first_name"),
        last_name: form.text("last_name"),
        status: form.text("status"),
        language: form.text("language"),
        timezone: form.text("timezone"),
        branch: form.text("branch"),
        password: None,
        fields: typed.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(c, v)| (c.clone(), field_value(v))).collect(),
    };
    match app.create_user(&admin.actor, input).await {
        Ok(u) => {
            let groups = app.user_groups(&admin.actor, &u.id).await.unwrap_or_default();
            let message = format!("{} created.{}", u.username, group_moves(&[], &groups));
            Ok(admin.redirect_with(&format!("/admin/users/{}", u.id), &message))
        }
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &USER_INPUTS);
            let status = page::status(e);
            new_user_page(&admin, &app, Some((values, typed)), errors, status).await
        }
    }
}

/// `POST /admin/users/{id}/enrollments`: enroll in a course, change the status, or
/// remove the enrollment (`action=remove`). The flash says which groups the user
/// joined or left because of it.
pub(crate) async fn enroll(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let course = form.one("course").unwrap_or_default().to_owned();
    if course.is_empty() {
        let error = Some("Choose a course.".to_owned());
        return user_page(&admin, &app, &id, None, FieldErrors::default(), error, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    }
    let before = app.user_groups(&admin.actor, &id).await.unwrap_or_default();
    let result = if form.one("action") == Some("remove") {
        app.delete_enrollment(&admin.actor, &course, &id).await.map(|()| format!("Enrollment in {course} removed."))
    } else {
        let status = form.one("status").unwrap_or_default().to_owned();
        app.set_enrollment(&admin.actor, &course, &id, EnrollmentInput { status })
            .await
            .map(|e| format!("Enrollment in {course} set to {}.", enrollment_label(e.status).to_lowercase()))
    };
    match result {
        Ok(mut message) => {
            let after = app.user_groups(&admin.actor, &id).await.unwrap_or_default();
            message.push_str(&group_moves(&before, &after));
            Ok(admin.redirect_with(&format!("/admin/users/{id}#enrollments"), &message))
        }
        Err(e) => {
            let message = page::general_message(&e);
            let status = page::status(e);
            user_page(&admin, &app, &id, None, FieldErrors::default(), Some(message), status).await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/user_history.html")]
struct UserHistoryPage {
    chrome: Chrome,
    id: String,
    username: String,
    events: Vec<EventRow>,
    pager: Pager,
    enrollment_events: Vec<EnrollmentEventRow>,
}

/// An enrollment an enrollment rule made or removed, on the user's History page.
#[derive(Debug)]
struct EnrollmentEventRow {
    at: String,
    enrolled: bool,
    course: String,
    group: Option<MadeBy>,
    actor: String,
    cause: String,
}

/// `GET /admin/users/{id}/history`: the user's joins and leaves, newest first, and the
/// latest enrollments enrollment rules made or removed for them.
pub(crate) async fn history(
    admin: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> AdminResult {
    let result = async {
        let user = app.get_user(&admin.actor, &id).await?;
        let paging = ListParams { cursor: query.cursor.clone(), limit: Some(50) };
        let list = app.user_events(&admin.actor, &id, &paging).await?;
        let ids: Vec<String> = list.items.iter().map(|e| e.group_id.clone()).collect();
        let groups = app.group_labels(&admin.actor, &ids).await?;
        let events = list
            .items
            .iter()
            .map(|e| EventRow {
                at: when(&e.at),
                joined: e.change == MembershipChange::Joined,
                subject: groups.get(&e.group_id).cloned().unwrap_or_else(|| format!("group #{} (deleted)", e.group_id)),
                subject_link: groups.contains_key(&e.group_id).then(|| format!("/admin/groups/{}", e.group_id)),
                actor: actor_label(&e.actor),
                cause: e.cause.clone(),
            })
            .collect();
        let path = format!("/admin/users/{}/history", user.id);
        let pager =
            Pager::new(&path, &[], query.cursor.as_deref(), query.trail.as_deref(), list.next_cursor.as_deref());
        let enrolling = app.user_enrollment_events(&admin.actor, &id).await?;
        let makers = made_by(&app, &admin, enrolling.iter().filter_map(|e| e.group.as_ref())).await?;
        let enrollment_events = enrolling
            .into_iter()
            .map(|e| EnrollmentEventRow {
                at: when(&e.at),
                enrolled: e.change == "enrolled",
                group: e.group.as_ref().and_then(|g| makers.get(&g.id)).cloned(),
                course: e.course,
                actor: actor_label(&e.actor),
                cause: e.cause,
            })
            .collect();
        Ok::<_, AppError>(UserHistoryPage {
            chrome: admin.chrome(Section::Users),
            id: user.id,
            username: user.username,
            events,
            pager,
            enrollment_events,
        })
    }
    .await;
    Ok(admin.page(&result.or_page(&admin, Section::Users)?))
}
