//! The JSON the admin scripts call, with the session (reads) and its CSRF token in
//! `X-CSRF-Token` (the preview, a POST): the pickers' search-as-you-type (users, groups,
//! courses) and the rule
//! editor's live check and preview.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_app::automatic::PreviewInput;
use roster_app::groups::GroupFilter;
use roster_app::rules::RuleInput;
use roster_app::users::UserFilter;
use roster_app::{App, AppError, ListParams};
use roster_domain::GroupPolicy;
use serde::Deserialize;
use serde_json::{json, Value};

use super::page;
use super::rules::error_json;
use super::session::{csrf_refused, Admin};

/// How many suggestions a picker shows.
const SUGGESTIONS: usize = 8;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchQuery {
    q: Option<String>,
}

/// An error for a script: the status the API would answer, and what to show where.
fn failed(e: AppError) -> Response {
    let body = json!({"error": error_json(&e)});
    (page::status(e), Json(body)).into_response()
}

/// `GET /admin/json/users?q=`: users the caller may see, for the pickers.
pub(crate) async fn users(admin: Admin, State(app): State<App>, Query(query): Query<SearchQuery>) -> Response {
    let filter = UserFilter { q: query.q, ..UserFilter::default() };
    match app.list_users(&admin.actor, &filter, &ListParams { cursor: None, limit: Some(SUGGESTIONS) }).await {
        Ok(list) => Json(
            list.items
                .into_iter()
                .map(|u| {
                    let name = [u.first_name.as_deref(), u.last_name.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    let detail = [name.as_str(), u.email.as_str(), u.branch.as_deref().unwrap_or_default()]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" · ");
                    json!({"id": u.id, "label": u.username, "detail": detail})
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => failed(e),
    }
}

/// `GET /admin/json/groups?q=`: groups, for the copy-from-groups picker.
pub(crate) async fn groups(admin: Admin, State(app): State<App>, Query(query): Query<SearchQuery>) -> Response {
    let filter = GroupFilter { q: query.q, policy: None };
    match app.list_groups(&admin.actor, &filter, &ListParams { cursor: None, limit: Some(SUGGESTIONS) }).await {
        Ok(list) => Json(
            list.items
                .into_iter()
                .map(|g| {
                    let policy = if g.policy == GroupPolicy::Automatic { "Automatic" } else { "Manual" };
                    let detail =
                        format!("{policy} · {} member{}", g.member_count, if g.member_count == 1 { "" } else { "s" });
                    json!({"id": g.id, "label": g.name, "detail": detail})
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => failed(e),
    }
}

/// `GET /admin/json/courses?q=`: courses whose code or name holds the text, for the
/// course pickers (a search, never a list cut at some length).
pub(crate) async fn courses(admin: Admin, State(app): State<App>, Query(query): Query<SearchQuery>) -> Response {
    match app.search_courses(&admin.actor, query.q.as_deref(), SUGGESTIONS).await {
        Ok(found) => Json(
            found.into_iter().map(|c| json!({"id": c.code, "label": c.name, "detail": c.code})).collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => failed(e),
    }
}

/// What the rule editor sends: the rule as text or sets, and its group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewRequest {
    group: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    sets: Option<Value>,
}

/// `POST /admin/json/rules/preview`: the rule checked (its canonical text and, when
/// it has their shape, its condition sets) and what saving it would do.
pub(crate) async fn preview(admin: Admin, State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if !admin.csrf_sent(&headers) {
        return csrf_refused();
    }
    let Ok(request) = serde_json::from_slice::<PreviewRequest>(&body) else {
        return failed(AppError::bad_request("body", "send {\"group\", \"text\" or \"sets\"}"));
    };
    let input = RuleInput { text: request.text, sets: request.sets, tree: None };
    let rule = match app.check_rule(&admin.actor, &input).await {
        Ok(rule) => rule,
        Err(e) => return failed(e),
    };
    let text = rule.text.clone().unwrap_or_default();
    let preview = PreviewInput { text: Some(text.clone()), group: Some(request.group), ..PreviewInput::default() };
    match app.preview_rule(&admin.actor, preview).await {
        Ok(p) => (StatusCode::OK, Json(json!({"text": text, "sets": rule.sets, "preview": p}))).into_response(),
        Err(e) => failed(e),
    }
}
