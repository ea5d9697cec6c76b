//! `/api/v1`: the REST API, and its OpenAPI document generated from the handlers.

mod access;
mod catalog;
mod changes;
mod enrollment_rules;
mod groups;
pub(crate) mod imports;
mod rules;
mod users;
mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Json;
use roster_app::App;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::routes::Routes;

/// The largest JSON body accepted.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Roster API", description = "Users, fields, branches, courses, enrollments and groups of a learning platform. Every call needs `Authorization: Bearer TOKEN`."),
    paths(
        users::list, users::create, users::get, users::update, users::delete, users::enrollments, users::enrollment_events,
        catalog::list_fields, catalog::create_field, catalog::get_field, catalog::update_field, catalog::delete_field,
        catalog::list_branches, catalog::create_branch, catalog::get_branch, catalog::update_branch, catalog::delete_branch,
        catalog::list_courses, catalog::create_course, catalog::get_course, catalog::update_course, catalog::delete_course,
        catalog::course_enrollments, catalog::set_enrollment, catalog::delete_enrollment,
        groups::list, groups::create, groups::get, groups::update, groups::delete,
        groups::members, groups::add_members, groups::remove_member, groups::upload_csv, groups::upload_report,
        groups::sample, groups::export, groups::events, groups::user_events, groups::user_groups,
        rules::get_rule, rules::set_rule, rules::get_includes, rules::set_includes, rules::get_excludes,
        rules::set_excludes, rules::preview, rules::explain,
        enrollment_rules::get, enrollment_rules::set, enrollment_rules::preview,
        imports::start, imports::status, imports::report, imports::template,
        access::list_admins, access::create_admin, access::get_admin, access::update_admin, access::delete_admin,
        access::list_tokens, access::create_token, access::revoke_token,
        changes::changes,
        webhooks::list, webhooks::create, webhooks::get, webhooks::update, webhooks::delete, webhooks::deliveries, webhooks::test, webhooks::resend,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn not_found() -> ApiError {
    ApiError(roster_app::AppError::NotFound("this API path".into()))
}

/// The `/api/v1` routes.
pub fn router() -> Routes<App> {
    Routes::new()
        .route("/openapi.json", get(|| async { Json(openapi()) }))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::get).patch(users::update).delete(users::delete))
        .route("/users/{id}/enrollments", get(users::enrollments))
        .route("/users/{id}/enrollment-events", get(users::enrollment_events))
        .route("/users/{id}/events", get(groups::user_events))
        .route("/users/{id}/groups", get(groups::user_groups))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/sample.csv", get(groups::sample))
        .route("/groups/{id}", get(groups::get).patch(groups::update).delete(groups::delete))
        .route("/groups/{id}/members", get(groups::members).post(groups::add_members))
        .route("/groups/{id}/members/csv", axum::routing::post(groups::upload_csv))
        .route("/groups/{id}/members.csv", get(groups::export))
        .route("/groups/{id}/members/{user_id}", axum::routing::delete(groups::remove_member))
        .route("/groups/{id}/uploads/{upload}/report.csv", get(groups::upload_report))
        .route("/groups/{id}/events", get(groups::events))
        .route("/groups/{id}/rule", get(rules::get_rule).put(rules::set_rule))
        .route("/groups/{id}/includes", get(rules::get_includes).put(rules::set_includes))
        .route("/groups/{id}/excludes", get(rules::get_excludes).put(rules::set_excludes))
        .route("/groups/{id}/explain/{user_id}", get(rules::explain))
        .route("/groups/{id}/enrollment-rules", get(enrollment_rules::get).put(enrollment_rules::set))
        .route("/groups/{id}/enrollment-rules/preview", axum::routing::post(enrollment_rules::preview))
        .route("/rules/preview", axum::routing::post(rules::preview))
        .route("/imports/users", axum::routing::post(imports::start))
        .route("/imports/users/template.csv", get(imports::template))
        .route("/imports/{id}", get(imports::status))
        .route("/imports/{id}/report.csv", get(imports::report))
        .route("/fields", get(catalog::list_fields).post(catalog::create_field))
        .route("/fields/{code}", get(catalog::get_field).patch(catalog::update_field).delete(catalog::delete_field))
        .route("/branches", get(catalog::list_branches).post(catalog::create_branch))
        .route(
            "/branches/{code}",
            get(catalog::get_branch).patch(catalog::update_branch).delete(catalog::delete_branch),
        )
        .route("/courses", get(catalog::list_courses).post(catalog::create_course))
        .route("/courses/{code}", get(catalog::get_course).patch(catalog::update_course).delete(catalog::delete_course))
        .route("/courses/{code}/enrollments", get(catalog::course_enrollments))
        .route(
            "/courses/{code}/enrollments/{user_id}",
            axum::routing::put(catalog::set_enrollment).delete(catalog::delete_enrollment),
        )
        .route("/admins", get(access::list_admins).post(access::create_admin))
        .route("/admins/{id}", get(access::get_admin).patch(access::update_admin).delete(access::delete_admin))
        .route("/tokens", get(access::list_tokens).post(access::create_token))
        .route("/tokens/{id}", axum::routing::delete(access::revoke_token))
        .route("/changes", get(changes::changes))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", get(webhooks::get).patch(webhooks::update).delete(webhooks::delete))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/webhooks/{id}/test", post(webhooks::test))
        .route("/webhooks/{id}/deliveries/{delivery_id}/resend", post(webhooks::resend))
        .map(|r| r.fallback(not_found).layer(DefaultBodyLimit::max(MAX_JSON_BODY)))
}
