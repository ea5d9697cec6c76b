//! Branches (the org chart as a tree) and courses with their enrollments: list, create,
//! edit. Everyone sees them; only a superadmin changes branches and courses (the app
//! layer refuses the others), so their forms are shown to superadmins only.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use roster_app::catalog::{BranchPatch, CoursePatch, NewBranch, NewCourse};
use roster_app::enrollments::EnrollmentInput;
use roster_app::views::BranchView;
use roster_app::{App, AppError, ListParams};
use serde::Deserialize;

use super::groups::PAGE_SIZE;
use super::page::{self, when, AdminResult, Chrome, FieldErrors, OrPage, Pager, Section};
use super::session::{Admin, Posted};
use super::users::{enrollment_label, enrollment_options, made_by, MadeBy};

// ---------------------------------------------------------------- branches

#[derive(Debug)]
struct BranchRow {
    code: String,
    name: String,
    parent: String,
    depth: usize,
    /// Codes from the root down to this branch.
    path: Vec<String>,
}

impl BranchRow {
    /// Whether this branch is `code` or under it: it cannot become `code`'s parent.
    fn within(&self, code: &str) -> bool {
        self.path.iter().any(|c| c == code)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BranchesQuery {
    edit: Option<String>,
}

#[derive(Debug, Default)]
struct BranchForm {
    code: String,
    name: String,
    parent: String,
}

#[derive(Template)]
#[template(path = "admin/branches.html")]
struct BranchesPage {
    chrome: Chrome,
    branches: Vec<BranchRow>,
    /// The branch being edited (its code), if any.
    editing: String,
    form: BranchForm,
    errors: FieldErrors,
    new_open: bool,
}

fn rows(branches: Vec<BranchView>) -> Vec<BranchRow> {
    branches
        .into_iter()
        .map(|b| BranchRow {
            depth: b.path.len().saturating_sub(1),
            parent: b.parent.unwrap_or_default(),
            code: b.code,
            name: b.name,
            path: b.path,
        })
        .collect()
}

/// `GET /admin/branches` (`?edit=CODE` opens a branch's form).
pub(crate) async fn branches(admin: Admin, State(app): State<App>, Query(query): Query<BranchesQuery>) -> AdminResult {
    let editing = query.edit.unwrap_or_default();
    branches_page(&admin, &app, editing, BranchForm::default(), FieldErrors::default(), false, StatusCode::OK).await
}

async fn branches_page(
    admin: &Admin,
    app: &App,
    editing: String,
    mut form: BranchForm,
    errors: FieldErrors,
    new_open: bool,
    status: StatusCode,
) -> AdminResult {
    let branches = rows(app.list_branches(&admin.actor).await.or_page(admin, Section::Branches)?);
    if form.code.is_empty() && !editing.is_empty() {
        if let Some(b) = branches.iter().find(|b| b.code == editing) {
            form = BranchForm { code: b.code.clone(), name: b.name.clone(), parent: b.parent.clone() };
        }
    }
    let page = BranchesPage { chrome: admin.chrome(Section::Branches), branches, editing, form, errors, new_open };
    Ok(admin.page_with(status, &page))
}

/// `POST /admin/branches`: a new branch.
pub(crate) async fn create_branch(State(app): State<App>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let input = NewBranch {
        code: form.one("code").unwrap_or_default().to_owned(),
        name: form.one("name").unwrap_or_default().to_owned(),
        parent: form.text("parent"),
    };
    match app.create_branch(&admin.superadmin(Section::Branches)?, input).await {
        Ok(b) => Ok(admin.redirect_with("/admin/branches", &format!("Branch {} created.", b.code))),
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["code", "name", "parent"]);
            let again = BranchForm {
                code: form.one("code").unwrap_or_default().to_owned(),
                name: form.one("name").unwrap_or_default().to_owned(),
                parent: form.one("parent").unwrap_or_default().to_owned(),
            };
            branches_page(&admin, &app, String::new(), again, errors, true, page::status(e)).await
        }
    }
}

/// `POST /admin/branches/{code}`: rename or move a branch, or delete it (`action=delete`).
pub(crate) async fn save_branch(State(app): State<App>, Path(code): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    if form.one("action") == Some("delete") {
        return match app.delete_branch(&admin.superadmin(Section::Branches)?, &code).await {
            Ok(()) => Ok(admin.redirect_with("/admin/branches", &format!("Branch {code} deleted."))),
            Err(e) => {
                let errors = FieldErrors::from_error(&e, &[]);
                branches_page(&admin, &app, code, BranchForm::default(), errors, false, page::status(e)).await
            }
        };
    }
    let patch = BranchPatch { name: form.text("name"), parent: Some(form.text("parent")) };
    match app.update_branch(&admin.superadmin(Section::Branches)?, &code, patch).await {
        Ok(b) => Ok(admin.redirect_with("/admin/branches", &format!("Branch {} saved.", b.code))),
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["name", "parent"]);
            let again = BranchForm {
                code: code.clone(),
                name: form.one("name").unwrap_or_default().to_owned(),
                parent: form.one("parent").unwrap_or_default().to_owned(),
            };
            branches_page(&admin, &app, code, again, errors, false, page::status(e)).await
        }
    }
}

// ---------------------------------------------------------------- courses

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CoursesQuery {
    cursor: Option<String>,
    trail: Option<String>,
    new: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/courses.html")]
struct CoursesPage {
    chrome: Chrome,
    courses: Vec<(String, String)>,
    pager: Pager,
    new_open: bool,
    code: String,
    name: String,
    errors: FieldErrors,
}

/// `GET /admin/courses`.
pub(crate) async fn courses(admin: Admin, State(app): State<App>, Query(query): Query<CoursesQuery>) -> AdminResult {
    let open = query.new.is_some();
    courses_page(&admin, &app, &query, open, String::new(), String::new(), FieldErrors::default(), StatusCode::OK).await
}

#[expect(clippy::too_many_arguments, reason = "one page, several ways in")]
async fn courses_page(
    admin: &Admin,
    app: &App,
    query: &CoursesQuery,
    new_open: bool,
    code: String,
    name: String,
    errors: FieldErrors,
    status: StatusCode,
) -> AdminResult {
    let paging = ListParams { cursor: query.cursor.clone(), limit: Some(PAGE_SIZE) };
    let list = app.list_courses(&admin.actor, &paging).await.or_page(admin, Section::Courses)?;
    let pager =
        Pager::new("/admin/courses", &[], query.cursor.as_deref(), query.trail.as_deref(), list.next_cursor.as_deref());
    let page = CoursesPage {
        chrome: admin.chrome(Section::Courses),
        courses: list.items.into_iter().map(|c| (c.code, c.name)).collect(),
        pager,
        new_open,
        code,
        name,
        errors,
    };
    Ok(admin.page_with(status, &page))
}

/// `POST /admin/courses`: a new course.
pub(crate) async fn create_course(State(app): State<App>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let (code, name) =
        (form.one("code").unwrap_or_default().to_owned(), form.one("name").unwrap_or_default().to_owned());
    match app
        .create_course(&admin.superadmin(Section::Courses)?, NewCourse { code: code.clone(), name: name.clone() })
        .await
    {
        Ok(c) => Ok(admin.redirect_with(&format!("/admin/courses/{}", c.code), &format!("Course {} created.", c.code))),
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["code", "name"]);
            let status = page::status(e);
            courses_page(&admin, &app, &CoursesQuery::default(), true, code, name, errors, status).await
        }
    }
}

#[derive(Debug)]
struct EnrollmentRow {
    user_id: String,
    username: String,
    status: String,
    enrolled: String,
    completed: String,
    due: String,
    made_by: Option<MadeBy>,
}

#[derive(Template)]
#[template(path = "admin/course.html")]
struct CoursePage {
    chrome: Chrome,
    code: String,
    name: String,
    enrollments: Vec<EnrollmentRow>,
    pager: Pager,
    statuses: Vec<(&'static str, &'static str)>,
    errors: FieldErrors,
    enroll_error: Option<String>,
}

/// `GET /admin/courses/{code}`: the course, its enrollments, and the forms.
pub(crate) async fn course(
    admin: Admin,
    State(app): State<App>,
    Path(code): Path<String>,
    Query(query): Query<super::groups::PageQuery>,
) -> AdminResult {
    course_page(&admin, &app, &code, &query, None, FieldErrors::default(), None, StatusCode::OK).await
}

#[expect(clippy::too_many_arguments, reason = "one page, several ways in")]
async fn course_page(
    admin: &Admin,
    app: &App,
    code: &str,
    query: &super::groups::PageQuery,
    name: Option<String>,
    errors: FieldErrors,
    enroll_error: Option<String>,
    status: StatusCode,
) -> AdminResult {
    let built = async {
        let course = app.get_course(&admin.actor, code).await?;
        let paging = ListParams { cursor: query.cursor.clone(), limit: Some(PAGE_SIZE) };
        let list = app.course_enrollments(&admin.actor, code, &paging).await?;
        let ids: Vec<String> = list.items.iter().map(|e| e.user_id.clone()).collect();
        let users = app.user_labels(&admin.actor, &ids).await?;
        let makers = made_by(app, admin, list.items.iter().filter_map(|e| e.made_by_rule_of.as_ref())).await?;
        Ok::<_, AppError>((course, list, users, makers))
    }
    .await;
    let (course, list, users, makers) = built.or_page(admin, Section::Courses)?;
    let path = format!("/admin/courses/{}", course.code);
    let pager = Pager::new(&path, &[], query.cursor.as_deref(), query.trail.as_deref(), list.next_cursor.as_deref());
    let page = CoursePage {
        chrome: admin.chrome(Section::Courses),
        enrollments: list
            .items
            .into_iter()
            .map(|e| EnrollmentRow {
                username: users.get(&e.user_id).map_or_else(|| format!("user #{}", e.user_id), |u| u.username.clone()),
                enrolled: when(&e.enrolled_at),
                completed: e.completed_at.as_deref().map(when).unwrap_or_default(),
                due: e.due_at.as_deref().map(when).unwrap_or_default(),
                made_by: e.made_by_rule_of.as_ref().and_then(|g| makers.get(&g.id)).cloned(),
                user_id: e.user_id,
                status: e.status.as_str().to_owned(),
            })
            .collect(),
        pager,
        statuses: enrollment_options(),
        name: name.unwrap_or_else(|| course.name.clone()),
        code: course.code,
        errors,
        enroll_error,
    };
    Ok(admin.page_with(status, &page))
}

/// `POST /admin/courses/{code}`: rename a course.
pub(crate) async fn save_course(State(app): State<App>, Path(code): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let name = form.one("name").unwrap_or_default().to_owned();
    match app.update_course(&admin.superadmin(Section::Courses)?, &code, CoursePatch { name: Some(name.clone()) }).await
    {
        Ok(c) => Ok(admin.redirect_with(&format!("/admin/courses/{}", c.code), "Course saved.")),
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["name"]);
            let status = page::status(e);
            course_page(&admin, &app, &code, &Default::default(), Some(name), errors, None, status).await
        }
    }
}

/// `POST /admin/courses/{code}/enrollments`: enroll users picked in the form, or set
/// one user's status.
pub(crate) async fn enroll(State(app): State<App>, Path(code): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let status = form.one("status").unwrap_or_default().to_owned();
    let users = form.many("users");
    if users.is_empty() {
        let error = Some("Pick at least one user.".to_owned());
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        return course_page(
            &admin,
            &app,
            &code,
            &Default::default(),
            None,
            FieldErrors::default(),
            error,
            unprocessable,
        )
        .await;
    }
    // All of them or none: one transaction.
    let input = EnrollmentInput { status: status.clone() };
    let done = match app.set_enrollments(&admin.actor, &code, &users, input).await {
        Ok(done) => done,
        Err(e) => {
            let message = page::general_message(&e);
            let failed = page::status(e);
            let defaults = Default::default();
            return course_page(&admin, &app, &code, &defaults, None, FieldErrors::default(), Some(message), failed)
                .await;
        }
    };
    let n = done.len();
    let plural = if n == 1 { "" } else { "s" };
    let label = done.first().map_or("", |e| enrollment_label(e.status));
    let message = format!("{n} enrollment{plural} set to {}.", label.to_lowercase());
    Ok(admin.redirect_with(&format!("/admin/courses/{code}"), &message))
}
