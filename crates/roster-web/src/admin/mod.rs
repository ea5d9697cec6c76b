//! `/admin`: the administrators' web UI, rendered on the server from askama templates
//! (`templates/admin/`) checked at compile time, with one stylesheet, two small
//! scripts and an icon (`assets/`) compiled into the binary: it needs no internet access.
//!
//! - [`session`]: logging in and out, the session cookie, CSRF tokens on every POST,
//!   and how cookies are flagged.
//! - `page.rs`: what every screen shares: the frame (top bar, admin menu), errors,
//!   flash messages, paging.
//! - One module per screen family: `groups.rs` (list, new group, members, assigning,
//!   CSV, export, history), `rules.rs` (an automatic group's rule, lists, preview,
//!   "why"), `users.rs`, `fields.rs` (additional fields), `catalog.rs` (branches,
//!   courses and enrollments), `imports.rs` (user import), and `json.rs`, the few JSON
//!   endpoints the scripts call.
//!
//! Handlers stay thin: they read the form, call one use case of `roster_app::App` as the
//! session's actor (the app layer enforces what a training admin may see), and render.

mod access;
mod catalog;
mod fields;
mod groups;
mod imports;
mod json;
mod page;
mod rules;
pub mod session;
mod users;
mod webhooks;
mod why;

use axum::extract::{DefaultBodyLimit, FromRef, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use roster_app::App;
use std::sync::{Arc, OnceLock};

use crate::routes::Routes;

pub use session::CookieSecurity;

/// How the admin UI is served.
#[derive(Debug, Clone, Default)]
pub struct AdminConfig {
    /// When cookies carry the `Secure` flag.
    pub cookies: CookieSecurity,
}

impl AdminConfig {
    /// The configuration from the environment: `ROSTER_SECURE_COOKIES` is `auto` (the
    /// default: Secure when the request came over https, as a TLS-terminating proxy
    /// says with `X-Forwarded-Proto`), `always` or `never`.
    pub fn from_env() -> Self {
        let cookies = std::env::var("ROSTER_SECURE_COOKIES").ok().and_then(|v| CookieSecurity::parse(&v));
        Self { cookies: cookies.unwrap_or_default() }
    }
}

/// What every admin handler is given.
#[derive(Debug, Clone)]
pub(crate) struct AdminState {
    pub app: App,
    pub config: Arc<AdminConfig>,
}

impl FromRef<AdminState> for App {
    fn from_ref(state: &AdminState) -> App {
        state.app.clone()
    }
}

/// The largest form accepted (a rule's text or condition sets fit with room to spare).
const MAX_FORM_BODY: usize = 1024 * 1024;

/// The `/admin` routes, ready to nest.
pub fn router(app: App, config: AdminConfig) -> Routes {
    let csv_limit = app.settings().max_csv_bytes + 64 * 1024;
    let state = AdminState { app, config: Arc::new(config) };
    Routes::new()
        .route("/", get(|| async { Redirect::to("/admin/groups") }))
        .route("/login", get(session::login_page).post(session::log_in))
        .route("/logout", post(session::log_out))
        .route("/static/{file}", get(asset))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/sample.csv", get(groups::sample))
        .route("/groups/{id}", get(groups::members))
        .route("/groups/{id}/members", post(groups::assign))
        .route("/groups/{id}/members/remove", post(groups::remove_many))
        .route("/groups/{id}/members/{user_id}/remove", post(groups::remove))
        .route("/groups/{id}/csv", post(groups::upload_csv).layer(DefaultBodyLimit::max(csv_limit)))
        .route("/groups/{id}/uploads/{upload}/report.csv", get(groups::upload_report))
        .route("/groups/{id}/members.csv", get(groups::export))
        .route("/groups/{id}/history", get(groups::history))
        .route("/groups/{id}/settings", get(groups::settings).post(groups::save_settings))
        .route("/groups/{id}/delete", post(groups::delete))
        .route("/groups/{id}/rules", get(rules::page).post(rules::save))
        .route("/groups/{id}/enrollment-rules", get(groups::enrollment_rules).post(groups::save_enrollment_rules))
        .route("/groups/{id}/lists", post(rules::edit_list))
        .route("/groups/{id}/suspended", post(rules::allow_suspended))
        .route("/users", get(users::list).post(users::create))
        .route("/users/new", get(users::new_user))
        .route("/users/{id}", get(users::page).post(users::save))
        .route("/users/{id}/status", post(users::set_status))
        .route("/users/{id}/delete", post(users::delete))
        .route("/users/{id}/enrollments", post(users::enroll))
        .route("/users/{id}/history", get(users::history))
        .route("/fields", get(fields::list).post(fields::create))
        .route("/fields/{code}", post(fields::save))
        .route("/branches", get(catalog::branches).post(catalog::create_branch))
        .route("/branches/{code}", post(catalog::save_branch))
        .route("/courses", get(catalog::courses).post(catalog::create_course))
        .route("/courses/{code}", get(catalog::course).post(catalog::save_course))
        .route("/courses/{code}/enrollments", post(catalog::enroll))
        .route("/imports", get(imports::page))
        .route("/imports/template.csv", get(imports::template))
        .route("/imports/{id}/report.csv", get(imports::report))
        .route("/admins", get(access::admins).post(access::create_admin))
        .route("/admins/{id}", post(access::save_admin))
        .route("/tokens", get(access::tokens).post(access::create_token))
        .route("/tokens/{id}/revoke", post(access::revoke_token))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", get(webhooks::page).post(webhooks::save))
        .route("/webhooks/{id}/deliveries/{delivery_id}/resend", post(webhooks::resend))
        .route("/json/users", get(json::users))
        .route("/json/groups", get(json::groups))
        .route("/json/courses", get(json::courses))
        .route("/json/rules/preview", post(json::preview))
        .route("/json/imports", post(imports::start).layer(DefaultBodyLimit::disable()))
        .route("/json/imports/{id}", get(imports::status))
        .map(|r| {
            r.fallback(not_found)
                .layer(DefaultBodyLimit::max(MAX_FORM_BODY))
                .layer(middleware::from_fn(hardened))
                .with_state(state)
        })
}

/// What every admin answer says to the browser: only this site's scripts and styles,
/// never in a frame, no sniffing, and pages (which show personal data) not cached.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn hardened(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn not_found() -> Response {
    page::bare_error(StatusCode::NOT_FOUND, "There is no such page.")
}

/// The stylesheet and scripts, compiled in. Their URLs carry the build's version, so
/// they may be cached for long.
const ASSETS: &[(&str, &str, &str)] = &[
    ("admin.css", "text/css; charset=utf-8", include_str!("../../assets/admin.css")),
    ("admin.js", "text/javascript; charset=utf-8", include_str!("../../assets/admin.js")),
    ("rules.js", "text/javascript; charset=utf-8", include_str!("../../assets/rules.js")),
    ("favicon.svg", "image/svg+xml", include_str!("../../assets/favicon.svg")),
];

/// The icon browsers ask for at `/favicon.ico` (the pages link the SVG); drawn by
/// `scripts/make-favicon.py`.
const FAVICON_ICO: &[u8] = include_bytes!("../../assets/favicon.ico");

/// `GET /favicon.ico`.
pub async fn favicon() -> Response {
    ([(header::CONTENT_TYPE, "image/x-icon"), (header::CACHE_CONTROL, "public, max-age=86400")], FAVICON_ICO)
        .into_response()
}

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=86400")], *body)
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A fingerprint of the assets for their URLs, so a new build's are fetched anew.
pub(crate) fn asset_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        // FNV-1a: stable across builds and processes, unlike the std hasher.
        let hash = ASSETS
            .iter()
            .flat_map(|(_, _, body)| body.bytes())
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        format!("{:012x}", hash & 0xffff_ffff_ffff)
    })
}
