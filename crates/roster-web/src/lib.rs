//! Roster over HTTP: the REST API at `/api/v1` ([`api`]), SCIM 2.0 at `/scim/v2`
//! ([`scim`]), the admin web UI at `/admin` ([`admin`]), health and metrics. Handlers
//! are thin: they extract and check the request ([`extract`]), call one use case of
//! `roster_app::App`, and shape the answer; errors become responses in one place
//! ([`error`]).

pub mod admin;
pub mod api;
pub mod error;
pub mod extract;
mod files;
mod metrics;
pub mod routes;
pub mod scim;

use axum::extract::State;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use roster_app::App;
use std::future::Future;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::routes::Routes;

pub use metrics::Metrics;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

async fn healthz(State(app): State<App>) -> (StatusCode, Json<serde_json::Value>) {
    match app.health().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "unavailable"})))
        }
    }
}

/// While the server starts (its image is built, the groups re-evaluated), every request
/// but `/metrics` gets 503 with `Retry-After`: nothing the image answers could be
/// answered correctly yet, and nothing is queued behind it.
async fn while_starting(
    State(app): State<App>,
    request: Request<axum::body::Body>,
    next: middleware::Next,
) -> Response {
    if !app.is_starting() || request.uri().path() == "/metrics" {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let message = "Roster is starting: it is loading the users and evaluating the groups. Try again in a few seconds.";
    let mut response = if path == "/healthz" {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "starting"}))).into_response()
    } else if path.starts_with("/admin") {
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">\
             <title>Roster is starting</title></head><body><p>{message}</p></body></html>"
        );
        (StatusCode::SERVICE_UNAVAILABLE, axum::response::Html(page)).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(error::ErrorBody::plain("starting", message))).into_response()
    };
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
    response
}

/// Every route of the server, with request ids, tracing, metrics and compression.
pub fn router(app: App) -> Router {
    routes(app).0
}

/// The server's router and the path of every route it serves (`/api/v1/users/{id}`,
/// `/scim/v2/Users`, `/admin/groups`...), for the authorization matrix test.
pub fn routes(app: App) -> (Router, Vec<String>) {
    let metrics = Metrics::default();
    let admin = admin::router(app.clone(), admin::AdminConfig::from_env());
    let track = metrics.clone();
    let app_for_gate = app.clone();
    Routes::<App>::new()
        .nest("/api/v1", api::router())
        .nest(scim::PREFIX, scim::router())
        .route("/healthz", get(healthz))
        .map(|r| r.with_state(app))
        .nest("/admin", admin)
        .route("/admin/", get(|| async { axum::response::Redirect::to("/admin/groups") }))
        .route("/metrics", get(metrics::expose).with_state(metrics))
        .route("/favicon.ico", get(admin::favicon))
        .map(|r| {
            // gzip or brotli, as the client accepts: pages, styles, scripts, JSON, CSV.
            r.layer(CompressionLayer::new().gzip(true).br(true))
                .layer(middleware::from_fn_with_state(app_for_gate, while_starting))
                .layer(middleware::from_fn_with_state(track, metrics::track))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        })
        .into_parts()
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address is what admin logins are throttled by (with the username).
    let service = router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
