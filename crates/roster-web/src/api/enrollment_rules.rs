//! `/api/v1/groups/{id}/enrollment-rules`: the courses a group enrolls its members in.

use axum::extract::{Path, State};
use axum::Json;
use roster_app::enrollment_rules::EnrollmentRuleInput;
use roster_app::views::EnrollmentRulesView;
use roster_app::App;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authenticated};

/// A group's enrollment rules, in its order.
#[utoipa::path(get, path = "/api/v1/groups/{id}/enrollment-rules", tag = "enrollment rules",
    responses((status = 200, body = EnrollmentRulesView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<EnrollmentRulesView>> {
    Ok(Json(app.enrollment_rules(&actor, &id).await?))
}

/// Replace a group's enrollment rules. They apply at once: the group's current members
/// with no enrollment in a course are enrolled, in the same transaction (and the
/// groups whose rules read that course follow). The answer says how many were enrolled.
#[utoipa::path(put, path = "/api/v1/groups/{id}/enrollment-rules", tag = "enrollment rules",
    request_body = Vec<EnrollmentRuleInput>,
    responses((status = 200, body = EnrollmentRulesView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<Vec<EnrollmentRuleInput>>,
) -> ApiResult<Json<EnrollmentRulesView>> {
    Ok(Json(app.set_enrollment_rules(&actor, &id, input).await?))
}

/// What saving these enrollment rules would do, without saving: how many of the group's
/// members would be enrolled, with up to ten of them.
#[utoipa::path(post, path = "/api/v1/groups/{id}/enrollment-rules/preview", tag = "enrollment rules",
    request_body = Vec<EnrollmentRuleInput>,
    responses((status = 200, body = EnrollmentRulesView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn preview(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<Vec<EnrollmentRuleInput>>,
) -> ApiResult<Json<EnrollmentRulesView>> {
    Ok(Json(app.preview_enrollment_rules(&actor, &id, input).await?))
}
