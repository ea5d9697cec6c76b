//! `/api/v1/groups`: groups, their members, CSV association and export, history.

use crate::files::{csv_file, csv_stream};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_app::group_csv::{too_large, CsvOptions, CsvOutcome};
use roster_app::groups::{AddMembers, AddOutcome, GroupFilter, GroupPatch, MemberFilter, NewGroup};
use roster_app::views::{EventView, GroupView, List, MemberView, UserGroupView};
use roster_app::{App, AppError, ListParams};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Authenticated};

/// List groups, with member counts.
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", params(GroupFilter, ListParams),
    responses((status = 200, body = List<GroupView>)))]
pub async fn list(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    ApiQuery(filter): ApiQuery<GroupFilter>,
    ApiQuery(page): ApiQuery<ListParams>,
) -> ApiResult<Json<List<GroupView>>> {
    Ok(Json(app.list_groups(&actor, &filter, &page).await?))
}

/// Create a group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = NewGroup,
    responses((status = 201, body = GroupView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    ApiJson(input): ApiJson<NewGroup>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    Ok((StatusCode::CREATED, Json(app.create_group(&actor, input).await?)))
}

/// One group.
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups", responses((status = 200, body = GroupView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(app.get_group(&actor, &id).await?))
}

/// Rename or re-describe a group.
#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "groups", request_body = GroupPatch,
    responses((status = 200, body = GroupView), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<GroupPatch>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(app.update_group(&actor, &id, patch).await?))
}

/// Delete a group (refused while another group's rule refers to it).
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "groups", responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.delete_group(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of members, with how and when each joined; with `as_of`, the ids of the
/// members at that past moment, replayed from the membership history.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = "groups", params(MemberFilter, ListParams),
    responses((status = 200, body = List<MemberView>), (status = 404, body = ErrorBody)))]
pub async fn members(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiQuery(filter): ApiQuery<MemberFilter>,
    ApiQuery(page): ApiQuery<ListParams>,
) -> ApiResult<Response> {
    match filter.as_of.as_deref() {
        Some(_) if filter.q.is_some() => Err(ApiError(AppError::bad_request(
            "q",
            "q cannot be combined with as_of: a past membership is listed by id",
        ))),
        Some(as_of) => Ok(Json(app.members_as_of(&actor, &id, as_of, &page).await?).into_response()),
        None => Ok(Json(app.list_members(&actor, &id, &filter, &page).await?).into_response()),
    }
}

/// Add users individually, or copy the members of groups or the users of a branch.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members", tag = "groups", request_body = AddMembers,
    responses((status = 200, body = AddOutcome), (status = 422, body = ErrorBody)))]
pub async fn add_members(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AddMembers>,
) -> ApiResult<Json<AddOutcome>> {
    Ok(Json(app.add_members(&actor, &id, input).await?))
}

/// Remove a user (from an automatic group: put them on its exclude list).
#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", tag = "groups",
    responses((status = 200, body = GroupView), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(app.remove_member(&actor, &id, &user_id).await?))
}

/// Associate users by CSV: the body is the file (username or email column; optional
/// action column add/remove). Over the size limit: 413 before parsing.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members/csv", tag = "groups", params(CsvOptions),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = CsvOutcome), (status = 413, body = ErrorBody), (status = 422, body = CsvOutcome)))]
pub async fn upload_csv(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiQuery(options): ApiQuery<CsvOptions>,
    req: Request,
) -> ApiResult<Response> {
    let limit = app.settings().max_csv_bytes;
    crate::files::refuse_declared_over(req.headers(), limit, 0)?;
    let bytes =
        axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| ApiError(too_large(limit + 1, limit)))?;
    let outcome = app.associate_csv(&actor, &id, &bytes, &options).await?;
    let status = if outcome.applied || outcome.dry_run || outcome.counts.errors == 0 {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = if status == StatusCode::OK {
        serde_json::to_value(&outcome)
    } else {
        serde_json::to_value(&outcome).map(|mut v| {
            v["error"] = serde_json::json!({
                "code": "csv_rejected",
                "message": format!("{} rows have errors; nothing was applied (see rows, or retry with on_error=skip)", outcome.counts.errors),
                "field": "file",
            });
            v
        })
    }
    .map_err(|e| ApiError(AppError::encoding(e)))?;
    Ok((status, Json(body)).into_response())
}

/// The per-row report of an upload, as CSV.
#[utoipa::path(get, path = "/api/v1/groups/{id}/uploads/{upload}/report.csv", tag = "groups",
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)))]
pub async fn upload_report(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path((id, upload)): Path<(String, String)>,
) -> ApiResult<Response> {
    let csv = app.upload_report_csv(&actor, &id, &upload).await?;
    Ok(csv_file(csv, &format!("upload-{upload}-report.csv")))
}

/// A sample association file.
#[utoipa::path(get, path = "/api/v1/groups/sample.csv", tag = "groups", responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn sample(Authenticated(_actor): Authenticated) -> Response {
    csv_file(roster_app::group_csv::sample_csv(), "group-association-sample.csv")
}

/// Export the members as CSV (streamed).
#[utoipa::path(get, path = "/api/v1/groups/{id}/members.csv", tag = "groups",
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)))]
pub async fn export(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(csv_stream(app.export_members(&actor, &id).await?))
}

/// A page of the group's membership history, newest first.
#[utoipa::path(get, path = "/api/v1/groups/{id}/events", tag = "groups", params(ListParams), responses((status = 200, body = List<EventView>)))]
pub async fn events(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<ListParams>,
) -> ApiResult<Json<List<EventView>>> {
    Ok(Json(app.group_events(&actor, &id, &page).await?))
}

/// A page of the user's membership history, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/events", tag = "users", params(ListParams), responses((status = 200, body = List<EventView>)))]
pub async fn user_events(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<ListParams>,
) -> ApiResult<Json<List<EventView>>> {
    Ok(Json(app.user_events(&actor, &id, &page).await?))
}

/// The groups a user belongs to.
#[utoipa::path(get, path = "/api/v1/users/{id}/groups", tag = "users", responses((status = 200, body = Vec<UserGroupView>)))]
pub async fn user_groups(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<UserGroupView>>> {
    Ok(Json(app.user_groups(&actor, &id).await?))
}
