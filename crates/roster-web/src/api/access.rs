//! `/api/v1/admins` and `/api/v1/tokens`: who may use Roster. Superadmin only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use roster_app::admins::{AdminPatch, AdminView, NewAdmin};
use roster_app::tokens::{CreatedToken, NewToken, TokenView};
use roster_app::App;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, AsSuperadmin};

/// List the administrators (web UI logins).
#[utoipa::path(get, path = "/api/v1/admins", tag = "access",
    responses((status = 200, body = Vec<AdminView>), (status = 403, body = ErrorBody)))]
pub async fn list_admins(State(app): State<App>, AsSuperadmin(sa): AsSuperadmin) -> ApiResult<Json<Vec<AdminView>>> {
    Ok(Json(app.list_admins(&sa).await?))
}

/// Create an administrator: a superadmin, or a training admin of one or more branches.
#[utoipa::path(post, path = "/api/v1/admins", tag = "access", request_body = NewAdmin,
    responses((status = 201, body = AdminView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_admin(
    State(app): State<App>,
    AsSuperadmin(sa): AsSuperadmin,
    ApiJson(input): ApiJson<NewAdmin>,
) -> ApiResult<(StatusCode, Json<AdminView>)> {
    Ok((StatusCode::CREATED, Json(app.create_admin(&sa, input).await?)))
}

/// One administrator.
#[utoipa::path(get, path = "/api/v1/admins/{id}", tag = "access",
    responses((status = 200, body = AdminView), (status = 404, body = ErrorBody)))]
pub async fn get_admin(
    State(app): State<App>,
    AsSuperadmin(sa): AsSuperadmin,
    Path(id): Path<String>,
) -> ApiResult<Json<AdminView>> {
    Ok(Json(app.get_admin(&sa, &id).await?))
}

/// Change an administrator's role, branches or password, or suspend or reactivate it.
/// Its sessions end when any of these changes; the last active superadmin can be
/// neither demoted nor suspended (409).
#[utoipa::path(patch, path = "/api/v1/admins/{id}", tag = "access", request_body = AdminPatch,
    responses((status = 200, body = AdminView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_admin(
    State(app): State<App>,
    AsSuperadmin(sa): AsSuperadmin,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<AdminPatch>,
) -> ApiResult<Json<AdminView>> {
    Ok(Json(app.update_admin(&sa, &id, patch).await?))
}

/// Delete an administrator (never the last active superadmin: 409).
#[utoipa::path(delete, path = "/api/v1/admins/{id}", tag = "access",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_admin(
    State(app): State<App>,
    AsSuperadmin(sa): AsSuperadmin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.delete_admin(&sa, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the API tokens, with their last use (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "access",
    responses((status = 200, body = Vec<TokenView>), (status = 403, body = ErrorBody)))]
pub async fn list_tokens(State(app): State<App>, AsSuperadmin(sa): AsSuperadmin) -> ApiResult<Json<Vec<TokenView>>> {
    Ok(Json(app.list_tokens(&sa).await?))
}

/// Create an API token acting as a superadmin or as a training admin of some branches.
/// The secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(app): State<App>,
    AsSuperadmin(sa): AsSuperadmin,
    ApiJson(input): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    Ok((StatusCode::CREATED, Json(app.create_token(&sa, input).await?)))
}

/// Revoke a token: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(app): State<App>,
    AsSuperadmin(sa): AsSuperadmin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.revoke_token(&sa, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
