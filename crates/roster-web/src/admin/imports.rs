//! Users → "Import and Manage": a CSV file of users, its columns mapped to fields (by
//! their headers, or as the administrator says), checked by a dry run, then imported,
//! with a progress bar that follows the job (`assets/admin.js`). The upload is streamed
//! to the app's import job as it arrives, as the REST API does.

use askama::Template;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_app::group_csv::human_size;
use roster_app::import::header_names;
use roster_app::App;
use serde_json::json;

use super::page::{self, script_json, AdminResult, Chrome, OrPage, Section};
use super::rules::error_json;
use super::session::{csrf_refused, Admin};
use crate::files::csv_file;

/// The standard fields a column may fill, with their labels.
const STANDARD_TARGETS: [(&str, &str); 9] = [
    ("username", "Username"),
    ("email", "Email"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("status", "Status"),
    ("language", "Language"),
    ("timezone", "Time zone"),
    ("branch", "Branch (code)"),
    ("password", "Password"),
];

#[derive(Template)]
#[template(path = "admin/imports.html")]
struct ImportsPage {
    chrome: Chrome,
    /// What a column may fill, for the script: `[{"value", "label", "headers"}]`, with
    /// the normalised headers that name each target.
    targets: String,
    max_size: String,
    max_bytes: usize,
}

/// `GET /admin/imports`.
pub(crate) async fn page(admin: Admin, State(app): State<App>) -> AdminResult {
    let fields = app.list_fields(&admin.actor).await.or_page(&admin, Section::Imports)?;
    let names = header_names(&fields);
    let headers = |target: &str| names.iter().find(|(t, _)| t == target).map(|(_, n)| n.clone()).unwrap_or_default();
    let mut targets: Vec<serde_json::Value> = STANDARD_TARGETS
        .iter()
        .map(|(value, label)| json!({"value": value, "label": label, "headers": headers(value)}))
        .collect();
    targets.extend(fields.iter().map(
        |f| json!({"value": f.code, "label": format!("{} (additional field)", f.name), "headers": headers(&f.code)}),
    ));
    let limit = app.settings().max_import_bytes;
    let page = ImportsPage {
        chrome: admin.chrome(Section::Imports),
        targets: script_json(&json!(targets)),
        max_size: human_size(limit),
        max_bytes: limit,
    };
    Ok(admin.page(&page))
}

/// `POST /admin/json/imports?mode=&map=&dry_run=&date_order=&empty=`: the body is
/// the file. Answers 202 with the job, to poll at `/admin/json/imports/{id}`.
pub(crate) async fn start(admin: Admin, State(app): State<App>, RawQuery(query): RawQuery, req: Request) -> Response {
    if !admin.csrf_sent(req.headers()) {
        return csrf_refused();
    }
    match crate::api::imports::receive_and_start(&app, &admin.actor, query.as_deref().unwrap_or_default(), req).await {
        Ok(view) => (StatusCode::ACCEPTED, Json(view)).into_response(),
        Err(e) => {
            let body = json!({"error": error_json(&e)});
            let mut response = (page::status(e), Json(body)).into_response();
            // The body may not have been read to its end: this connection is done.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// `GET /admin/json/imports/{id}`: the job's state, phase and percent.
pub(crate) async fn status(admin: Admin, State(app): State<App>, Path(id): Path<String>) -> Response {
    match app.import_status(&admin.actor, &id).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => {
            let body = json!({"error": error_json(&e)});
            (page::status(e), Json(body)).into_response()
        }
    }
}

/// `GET /admin/imports/{id}/report.csv`.
pub(crate) async fn report(admin: Admin, State(app): State<App>, Path(id): Path<String>) -> AdminResult {
    let csv = app.import_report_csv(&admin.actor, &id).await.or_page(&admin, Section::Imports)?;
    Ok(csv_file(csv, &format!("import-{id}-report.csv")))
}

/// `GET /admin/imports/template.csv`.
pub(crate) async fn template(admin: Admin, State(app): State<App>) -> AdminResult {
    let csv = app.import_template_csv(&admin.actor).await.or_page(&admin, Section::Imports)?;
    Ok(csv_file(csv, "user-import-template.csv"))
}
