//! Automatic groups over HTTP: the rule, the include and exclude lists, the preview of
//! a rule before it is saved, and why a user is or is not a member.

use axum::extract::{Path, State};
use axum::Json;
use roster_app::automatic::{ListInput, PreviewInput, PreviewView, RuleOutcome, RuleView, UserRef};
use roster_app::rules::RuleInput;
use roster_app::{App, ListKind};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authenticated};

/// An automatic group's rule: text, JSON tree, and builder sets when it has their shape.
#[utoipa::path(get, path = "/api/v1/groups/{id}/rule", tag = "automatic groups",
    responses((status = 200, body = RuleView), (status = 409, body = ErrorBody)))]
pub async fn get_rule(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<RuleView>> {
    Ok(Json(app.get_rule(&actor, &id).await?))
}

/// Set or replace the rule (as `text`, `tree` or `sets`): members move as a diff, in
/// the same transaction; the answer says how many joined and left.
#[utoipa::path(put, path = "/api/v1/groups/{id}/rule", tag = "automatic groups", request_body = RuleInput,
    responses((status = 200, body = RuleOutcome), (status = 422, body = ErrorBody)))]
pub async fn set_rule(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RuleInput>,
) -> ApiResult<Json<RuleOutcome>> {
    Ok(Json(app.set_rule(&actor, &id, input).await?))
}

/// The include list: members whatever the rule says.
#[utoipa::path(get, path = "/api/v1/groups/{id}/includes", tag = "automatic groups", responses((status = 200, body = Vec<UserRef>)))]
pub async fn get_includes(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<UserRef>>> {
    Ok(Json(app.get_list(&actor, &id, ListKind::Include).await?))
}

/// Replace the include list.
#[utoipa::path(put, path = "/api/v1/groups/{id}/includes", tag = "automatic groups", request_body = ListInput,
    responses((status = 200, body = RuleOutcome), (status = 422, body = ErrorBody)))]
pub async fn set_includes(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ListInput>,
) -> ApiResult<Json<RuleOutcome>> {
    Ok(Json(app.set_list(&actor, &id, ListKind::Include, input).await?))
}

/// The exclude list: never members.
#[utoipa::path(get, path = "/api/v1/groups/{id}/excludes", tag = "automatic groups", responses((status = 200, body = Vec<UserRef>)))]
pub async fn get_excludes(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<UserRef>>> {
    Ok(Json(app.get_list(&actor, &id, ListKind::Exclude).await?))
}

/// Replace the exclude list.
#[utoipa::path(put, path = "/api/v1/groups/{id}/excludes", tag = "automatic groups", request_body = ListInput,
    responses((status = 200, body = RuleOutcome), (status = 422, body = ErrorBody)))]
pub async fn set_excludes(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ListInput>,
) -> ApiResult<Json<RuleOutcome>> {
    Ok(Json(app.set_list(&actor, &id, ListKind::Exclude, input).await?))
}

/// What a rule would do — for a group (against its members) or a new one — saving nothing.
#[utoipa::path(post, path = "/api/v1/rules/preview", tag = "automatic groups", request_body = PreviewInput,
    responses((status = 200, body = PreviewView), (status = 422, body = ErrorBody)))]
pub async fn preview(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    ApiJson(input): ApiJson<PreviewInput>,
) -> ApiResult<Json<PreviewView>> {
    Ok(Json(app.preview_rule(&actor, input).await?))
}

/// Why a user is, or is not, a member: each condition with the user's value, and the
/// effect of suspension and the include and exclude lists.
#[utoipa::path(get, path = "/api/v1/groups/{id}/explain/{user_id}", tag = "automatic groups",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub async fn explain(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<roster_app::Explanation>> {
    Ok(Json(app.explain(&actor, &id, &user_id).await?))
}
