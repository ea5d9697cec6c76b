//! `/api/v1/users`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use roster_app::users::{NewUser, UserFilter, UserPatch};
use roster_app::views::{EnrollmentEventView, EnrollmentView, List, UserView};
use roster_app::{App, ListParams};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Authenticated};

/// List the users the caller may see, filtered and paginated.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserFilter, ListParams),
    responses((status = 200, body = List<UserView>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    ApiQuery(filter): ApiQuery<UserFilter>,
    ApiQuery(page): ApiQuery<ListParams>,
) -> ApiResult<Json<List<UserView>>> {
    Ok(Json(app.list_users(&actor, &filter, &page).await?))
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    ApiJson(input): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    Ok((StatusCode::CREATED, Json(app.create_user(&actor, input).await?)))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(app.get_user(&actor, &id).await?))
}

/// Change a user: absent properties stay, `null` clears.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(app.update_user(&actor, &id, patch).await?))
}

/// Delete a user.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.delete_user(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's enrollments.
#[utoipa::path(get, path = "/api/v1/users/{id}/enrollments", tag = "users",
    responses((status = 200, body = Vec<EnrollmentView>), (status = 404, body = ErrorBody)))]
pub async fn enrollments(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<EnrollmentView>>> {
    Ok(Json(app.user_enrollments(&actor, &id).await?))
}

/// The latest 100 enrollments that enrollment rules made or removed for a user, newest
/// first, each with its cause.
#[utoipa::path(get, path = "/api/v1/users/{id}/enrollment-events", tag = "users",
    responses((status = 200, body = Vec<EnrollmentEventView>), (status = 404, body = ErrorBody)))]
pub async fn enrollment_events(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<EnrollmentEventView>>> {
    Ok(Json(app.user_enrollment_events(&actor, &id).await?))
}
