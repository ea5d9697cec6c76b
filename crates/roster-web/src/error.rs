//! The one place where an application error becomes an HTTP response:
//! `{"error": {"code", "message", "field"}}` with the matching status. Internal errors
//! are logged with the request id and answered without detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_app::AppError;
use serde::Serialize;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub AppError);

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

impl ErrorBody {
    /// An error that names no input: `code` and a message for a person.
    pub(crate) fn plain(code: &'static str, message: impl Into<String>) -> Self {
        Self { error: ErrorDetail { code, message: message.into(), field: None, position: None } }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct ErrorDetail {
    /// A stable, machine-readable code (`not_found`, `invalid`, `conflict`...).
    code: &'static str,
    /// What went wrong, for a person.
    message: String,
    /// The input at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// Where in a rule's text (`line`, `column`) or tree (`path`) the fault lies.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    position: Option<serde_json::Value>,
}

/// The status and code of each error.
fn classify(e: &AppError) -> (StatusCode, &'static str) {
    match e {
        AppError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
        AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        AppError::Rule { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_rule"),
        AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
        AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        AppError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
        AppError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        AppError::Gone(_) => (StatusCode::GONE, "gone"),
        AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = classify(&self.0);
        let field = match &self.0 {
            AppError::BadRequest { field, .. } | AppError::Conflict { field, .. } => field.clone(),
            AppError::Invalid(d) => Some(d.field.clone()),
            AppError::Rule { field, .. } => Some(field.clone()),
            _ => None,
        };
        let position = match &self.0 {
            AppError::Rule { error, .. } => match &error.location {
                Some(roster_domain::rule::Location::Text { line, column }) => {
                    Some(serde_json::json!({"line": line, "column": column}))
                }
                Some(roster_domain::rule::Location::Tree { path }) => Some(serde_json::json!({"path": path})),
                None => None,
            },
            _ => None,
        };
        let message = match &self.0 {
            AppError::Internal(source) => {
                tracing::error!(error = %source, "internal error");
                "something went wrong on our side; it has been logged".to_owned()
            }
            AppError::Invalid(d) => format!("{}: {}", d.field, d.message),
            other => other.to_string(),
        };
        let mut response =
            (status, Json(ErrorBody { error: ErrorDetail { code, message, field, position } })).into_response();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The body was refused unread: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}
