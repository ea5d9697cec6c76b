//! `/api/v1/fields`, `/api/v1/branches`, `/api/v1/courses` and enrollments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use roster_app::catalog::{BranchPatch, CoursePatch, FieldPatch, NewBranch, NewCourse, NewField};
use roster_app::enrollments::EnrollmentInput;
use roster_app::views::{BranchView, CourseView, EnrollmentView, FieldView, List};
use roster_app::{App, ListParams};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, AsSuperadmin, Authenticated};

/// Every additional field.
#[utoipa::path(get, path = "/api/v1/fields", tag = "fields", responses((status = 200, body = Vec<FieldView>)))]
pub async fn list_fields(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
) -> ApiResult<Json<Vec<FieldView>>> {
    Ok(Json(app.list_fields(&actor).await?))
}

/// Create an additional field (superadmin).
#[utoipa::path(post, path = "/api/v1/fields", tag = "fields", request_body = NewField,
    responses((status = 201, body = FieldView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_field(
    State(app): State<App>,
    AsSuperadmin(admin): AsSuperadmin,
    ApiJson(input): ApiJson<NewField>,
) -> ApiResult<(StatusCode, Json<FieldView>)> {
    Ok((StatusCode::CREATED, Json(app.create_field(&admin, input).await?)))
}

/// One additional field.
#[utoipa::path(get, path = "/api/v1/fields/{code}", tag = "fields", responses((status = 200, body = FieldView), (status = 404, body = ErrorBody)))]
pub async fn get_field(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(code): Path<String>,
) -> ApiResult<Json<FieldView>> {
    Ok(Json(app.get_field(&actor, &code).await?))
}

/// Rename a field or change a dropdown's options (superadmin).
#[utoipa::path(patch, path = "/api/v1/fields/{code}", tag = "fields", request_body = FieldPatch,
    responses((status = 200, body = FieldView), (status = 404, body = ErrorBody)))]
pub async fn update_field(
    State(app): State<App>,
    AsSuperadmin(admin): AsSuperadmin,
    Path(code): Path<String>,
    ApiJson(patch): ApiJson<FieldPatch>,
) -> ApiResult<Json<FieldView>> {
    Ok(Json(app.update_field(&admin, &code, patch).await?))
}

/// Delete a field and its values (superadmin).
#[utoipa::path(delete, path = "/api/v1/fields/{code}", tag = "fields", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_field(
    State(app): State<App>,
    AsSuperadmin(admin): AsSuperadmin,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    app.delete_field(&admin, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The org chart, root first.
#[utoipa::path(get, path = "/api/v1/branches", tag = "branches", responses((status = 200, body = Vec<BranchView>)))]
pub async fn list_branches(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
) -> ApiResult<Json<Vec<BranchView>>> {
    Ok(Json(app.list_branches(&actor).await?))
}

/// Create a branch (superadmin).
#[utoipa::path(post, path = "/api/v1/branches", tag = "branches", request_body = NewBranch,
    responses((status = 201, body = BranchView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_branch(
    State(app): State<App>,
    AsSuperadmin(admin): AsSuperadmin,
    ApiJson(input): ApiJson<NewBranch>,
) -> ApiResult<(StatusCode, Json<BranchView>)> {
    Ok((StatusCode::CREATED, Json(app.create_branch(&admin, input).await?)))
}

/// One branch.
#[utoipa::path(get, path = "/api/v1/branches/{code}", tag = "branches", responses((status = 200, body = BranchView), (status = 404, body = ErrorBody)))]
pub async fn get_branch(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(code): Path<String>,
) -> ApiResult<Json<BranchView>> {
    Ok(Json(app.get_branch(&actor, &code).await?))
}

/// Rename or move a branch (superadmin).
#[utoipa::path(patch, path = "/api/v1/branches/{code}", tag = "branches", request_body = BranchPatch,
    responses((status = 200, body = BranchView), (status = 422, body = ErrorBody)))]
pub async fn update_branch(
    State(app): State<App>,
    AsSuperadmin(admin): AsSuperadmin,
    Path(code): Path<String>,
    ApiJson(patch): ApiJson<BranchPatch>,
) -> ApiResult<Json<BranchView>> {
    Ok(Json(app.update_branch(&admin, &code, patch).await?))
}

/// Delete a branch with no users and no sub-branches (superadmin).
#[utoipa::path(delete, path = "/api/v1/branches/{code}", tag = "branches", responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn delete_branch(
    State(app): State<App>,
    AsSuperadmin(admin): AsSuperadmin,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    app.delete_branch(&admin, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of courses.
#[utoipa::path(get, path = "/api/v1/courses", tag = "courses", params(ListParams), responses((status = 200, body = List<CourseView>)))]
pub async fn list_courses(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    ApiQuery(page): ApiQuery<ListParams>,
) -> ApiResult<Json<List<CourseView>>> {
    Ok(Json(app.list_courses(&actor, &page).await?))
}

/// Create a course (superadmin).
#[utoipa::path(post, path = "/api/v1/courses", tag = "courses", request_body = NewCourse,
    responses((status = 201, body = CourseView), (status = 409, body = ErrorBody)))]
pub async fn create_course(
    State(app): State<App>,
    AsSuperadmin(admin): AsSuperadmin,
    ApiJson(input): ApiJson<NewCourse>,
) -> ApiResult<(StatusCode, Json<CourseView>)> {
    Ok((StatusCode::CREATED, Json(app.create_course(&admin, input).await?)))
}

/// One course.
#[utoipa::path(get, path = "/api/v1/courses/{code}", tag = "courses", responses((status = 200, body = CourseView), (status = 404, body = ErrorBody)))]
pub async fn get_course(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(code): Path<String>,
) -> ApiResult<Json<CourseView>> {
    Ok(Json(app.get_course(&actor, &code).await?))
}

/// Rename a course (superadmin).
#[utoipa::path(patch, path = "/api/v1/courses/{code}", tag = "courses", request_body = CoursePatch, responses((status = 200, body = CourseView)))]
pub async fn update_course(
    State(app): State<App>,
    AsSuperadmin(admin): AsSuperadmin,
    Path(code): Path<String>,
    ApiJson(patch): ApiJson<CoursePatch>,
) -> ApiResult<Json<CourseView>> {
    Ok(Json(app.update_course(&admin, &code, patch).await?))
}

/// Delete a course and its enrollments (superadmin).
#[utoipa::path(delete, path = "/api/v1/courses/{code}", tag = "courses", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_course(
    State(app): State<App>,
    AsSuperadmin(admin): AsSuperadmin,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    app.delete_course(&admin, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a course's enrollments.
#[utoipa::path(get, path = "/api/v1/courses/{code}/enrollments", tag = "courses", params(ListParams),
    responses((status = 200, body = List<EnrollmentView>)))]
pub async fn course_enrollments(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(code): Path<String>,
    ApiQuery(page): ApiQuery<ListParams>,
) -> ApiResult<Json<List<EnrollmentView>>> {
    Ok(Json(app.course_enrollments(&actor, &code, &page).await?))
}

/// Enroll a user, or set the status of the enrollment.
#[utoipa::path(put, path = "/api/v1/courses/{code}/enrollments/{user_id}", tag = "courses", request_body = EnrollmentInput,
    responses((status = 200, body = EnrollmentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_enrollment(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path((code, user_id)): Path<(String, String)>,
    ApiJson(input): ApiJson<EnrollmentInput>,
) -> ApiResult<Json<EnrollmentView>> {
    Ok(Json(app.set_enrollment(&actor, &code, &user_id, input).await?))
}

/// Remove an enrollment.
#[utoipa::path(delete, path = "/api/v1/courses/{code}/enrollments/{user_id}", tag = "courses", responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_enrollment(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path((code, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    app.delete_enrollment(&actor, &code, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
