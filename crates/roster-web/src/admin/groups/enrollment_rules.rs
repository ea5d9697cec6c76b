//! A group's Enrollment rules tab: the courses its members are enrolled in when they
//! join, edited as one form (a row per rule and a blank row to add one), with a
//! preview of how many members saving would enroll.

use askama::Template;
use axum::extract::{Path, State};
use roster_app::enrollment_rules::EnrollmentRuleInput;
use roster_app::views::EnrollmentRulesView;
use roster_app::{App, AppError, ListParams};

use super::GroupHead;
use crate::admin::page::{self, AdminResult, Chrome, OrPage, Section};
use crate::admin::session::{Admin, FormData, Posted};

/// A rule as the form shows it.
#[derive(Debug, Clone, Default)]
struct RuleRow {
    course: String,
    due_days: String,
    unenroll: bool,
}

#[derive(Template)]
#[template(path = "admin/group_enrollment_rules.html")]
struct RulesPage {
    chrome: Chrome,
    group: GroupHead,
    tab: &'static str,
    /// The rules, then one blank row to add one.
    rows: Vec<RuleRow>,
    /// Every course: (code, name).
    courses: Vec<(String, String)>,
    error: Option<String>,
    /// A preview's counts (enrollments, users) and samples.
    preview: Option<(u64, u64, Vec<String>)>,
}

async fn courses(app: &App, admin: &Admin) -> Result<Vec<(String, String)>, AppError> {
    let page = ListParams { cursor: None, limit: Some(1000) };
    Ok(app.list_courses(&admin.actor, &page).await?.items.into_iter().map(|c| (c.code, c.name)).collect())
}

fn rows_of(view: &EnrollmentRulesView) -> Vec<RuleRow> {
    let mut rows: Vec<RuleRow> = view
        .rules
        .iter()
        .map(|r| RuleRow {
            course: r.course.clone(),
            due_days: r.due_days.map(|d| d.to_string()).unwrap_or_default(),
            unenroll: r.unenroll_on_leave,
        })
        .collect();
    rows.push(RuleRow::default());
    rows
}

/// `GET /admin/groups/{id}/enrollment-rules`.
pub(crate) async fn page(admin: Admin, State(app): State<App>, Path(id): Path<String>) -> AdminResult {
    let group = GroupHead::from(app.get_group(&admin.actor, &id).await.or_page(&admin, Section::Groups)?);
    let view = app.enrollment_rules(&admin.actor, &id).await.or_page(&admin, Section::Groups)?;
    let page = RulesPage {
        chrome: admin.chrome(Section::Groups),
        group,
        tab: "enrollment-rules",
        rows: rows_of(&view),
        courses: courses(&app, &admin).await.or_page(&admin, Section::Groups)?,
        error: None,
        preview: None,
    };
    Ok(admin.page(&page))
}

/// The rows posted (`course_N`, `due_N`, `unenroll_N`), blank rows left out.
fn posted_rows(form: &FormData) -> Vec<RuleRow> {
    (0..)
        .map_while(|i| {
            form.one(&format!("course_{i}")).map(|course| RuleRow {
                course: course.trim().to_owned(),
                due_days: form.one(&format!("due_{i}")).unwrap_or_default().trim().to_owned(),
                unenroll: form.checked(&format!("unenroll_{i}")),
            })
        })
        .filter(|r| !r.course.is_empty())
        .collect()
}

/// The rows as the use case takes them; a due date that is not a number names its row.
fn inputs(rows: &[RuleRow]) -> Result<Vec<EnrollmentRuleInput>, AppError> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let due_days = match r.due_days.as_str() {
                "" => None,
                days => Some(days.parse().map_err(|_| {
                    AppError::invalid(format!("[{i}].due_days"), format!("\"{days}\" is not a number of days"))
                })?),
            };
            Ok(EnrollmentRuleInput { course: r.course.clone(), due_days, unenroll_on_leave: r.unenroll })
        })
        .collect()
}

/// `POST /admin/groups/{id}/enrollment-rules`: save the rules, or preview them
/// (`action=preview`).
pub(crate) async fn save(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    app.check_manages(&admin.actor, &id).await.or_page(&admin, Section::Groups)?;
    let rows = posted_rows(&form);
    let previewing = form.one("action") == Some("preview");
    let outcome = match inputs(&rows) {
        Err(e) => Err(e),
        Ok(input) if previewing => app.preview_enrollment_rules(&admin.actor, &id, input).await,
        Ok(input) => app.set_enrollment_rules(&admin.actor, &id, input).await,
    };
    let (status, error, preview) = match outcome {
        Ok(view) if !previewing => {
            let enrolled = view.enrolled.unwrap_or_default();
            let said =
                format!("Enrollment rules saved; {enrolled} enrollment{} made.", if enrolled == 1 { "" } else { "s" });
            return Ok(admin.redirect_with(&format!("/admin/groups/{id}/enrollment-rules"), &said));
        }
        Ok(view) => (
            axum::http::StatusCode::OK,
            None,
            Some((view.enrolled.unwrap_or_default(), view.users.unwrap_or_default(), view.samples.unwrap_or_default())),
        ),
        Err(e) => {
            let message = page::general_message(&e);
            (page::status(e), Some(message), None)
        }
    };
    let group = GroupHead::from(app.get_group(&admin.actor, &id).await.or_page(&admin, Section::Groups)?);
    let mut rows = rows;
    rows.push(RuleRow::default());
    let page = RulesPage {
        chrome: admin.chrome(Section::Groups),
        group,
        tab: "enrollment-rules",
        rows,
        courses: courses(&app, &admin).await.or_page(&admin, Section::Groups)?,
        error,
        preview,
    };
    Ok(admin.page_with(status, &page))
}
