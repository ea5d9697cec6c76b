//! `/api/v1/imports`: user import from CSV, as jobs. The upload is streamed to a
//! temporary file as it arrives; the job runs in the background; clients poll it.

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use roster_app::import::{ImportFile, ImportOptions, ImportView};
use roster_app::{Actor, App, AppError};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Authenticated;
use crate::files::csv_file;

/// Import users from a CSV file: the body is the file (UTF-8 with or without BOM,
/// UTF-16 with BOM or Windows-1252; comma, semicolon or tab). Users are matched by
/// username. Returns 202 with the job: poll `GET /api/v1/imports/{id}` until its state
/// is `succeeded`, `failed` or `interrupted`. A file that cannot be mapped (no username
/// column, duplicated headers, a mapping to an unknown field) or is not text is refused
/// at once with 422; a file over the limit (100 MB by default) with 413.
#[utoipa::path(post, path = "/api/v1/imports/users", tag = "imports",
    params(
        ("mode" = Option<String>, Query, description = "`create`, `update` or `create_and_update` (default)"),
        ("map" = Option<Vec<String>>, Query, description = "Repeatable `HEADER=FIELD`: FIELD is username, email, first_name, last_name, status, language, timezone, branch (a code), password, an additional field's code, or ignore. Other columns map by their headers."),
        ("dry_run" = Option<bool>, Query, description = "Check and report what would happen, with how many of the file's users each automatic group would gain and lose (the job's `groups`); apply nothing"),
        ("date_order" = Option<String>, Query, description = "`dmy` or `mdy`: how to read dates such as 02/03/2024, which are refused without it"),
        ("empty" = Option<String>, Query, description = "`keep` (default): an empty cell leaves an existing user's value; `clear` clears it"),
    ),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 202, body = ImportView), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn start(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    RawQuery(query): RawQuery,
    req: Request,
) -> Response {
    match receive_and_start(&app, &actor, query.as_deref().unwrap_or_default(), req).await {
        Ok(view) => {
            let location = format!("/api/v1/imports/{}", view.id);
            (StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(view)).into_response()
        }
        Err(e) => {
            // The body may not have been read to its end: this connection is done.
            let mut response = ApiError(e).into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// Reads an upload (refused early when Content-Length is over the limit) into an import
/// file and starts its job; the API and the admin UI both start imports here.
pub(crate) async fn receive_and_start(
    app: &App,
    actor: &Actor,
    query: &str,
    req: Request,
) -> Result<ImportView, AppError> {
    let options = ImportOptions::from_query(form_urlencoded::parse(query.as_bytes()))?;
    let limit = app.settings().max_import_bytes;
    crate::files::refuse_declared_over(req.headers(), limit, 0)?;
    let mut upload = app.receive_import()?;
    let mut body = req.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| AppError::bad_request("body", "the upload was cut off before its end"))?;
        upload.push(&chunk).await?;
    }
    let file: ImportFile = upload.finish().await?;
    let handle = app.start_import(actor, file, options).await?;
    app.import_status(actor, &handle.id).await
}

/// An import job: state (`queued`, `running`, `succeeded`, `failed`, `interrupted`),
/// phase, rows read and percent; once over, the counts and the report.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports",
    responses((status = 200, body = ImportView), (status = 404, body = ErrorBody)))]
pub async fn status(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<ImportView>> {
    Ok(Json(app.import_status(&actor, &id).await?))
}

/// An import's report as CSV: row, column, value, message (409 while it runs).
#[utoipa::path(get, path = "/api/v1/imports/{id}/report.csv", tag = "imports",
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn report(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let csv = app.import_report_csv(&actor, &id).await?;
    Ok(csv_file(csv, &format!("import-{id}-report.csv")))
}

/// The import template: a header row with every field, additional fields by name.
#[utoipa::path(get, path = "/api/v1/imports/users/template.csv", tag = "imports",
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn template(State(app): State<App>, Authenticated(actor): Authenticated) -> ApiResult<Response> {
    Ok(csv_file(app.import_template_csv(&actor).await?, "user-import-template.csv"))
}
