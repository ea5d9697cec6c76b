//! Request extractors that refuse bad input in Roster's error format, naming the
//! property at fault: JSON bodies, query strings and the bearer token.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use roster_app::{Actor, App, AppError, Superadmin};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body, deserialized strictly; errors name the property (`fields.hire_date`).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        if !is_json {
            return Err(
                AppError::bad_request("body", "send the body as JSON with Content-Type: application/json").into()
            );
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(AppError::TooLarge("the request body is over the 1 MiB limit".into()))
            } else {
                ApiError(AppError::bad_request("body", "the request body could not be read"))
            }
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.to_string();
            // serde_path_to_error says "." for the top level and "?" where the JSON ends
            // before a name was read: the body as a whole is what is wrong.
            let field = if path == "." || path.ends_with('?') {
                field_in_message(&message).unwrap_or_else(|| "body".into())
            } else {
                path
            };
            ApiError(AppError::bad_request(field, strip_position(&message)))
        })?;
        de.end().map_err(|_| ApiError(AppError::bad_request("body", "the JSON body is followed by more content")))?;
        Ok(Self(value))
    }
}

/// serde names a missing or unknown property in backticks: take it as the field.
fn field_in_message(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_owned())
}

/// Drops serde's " at line 1 column 5", which means nothing to most clients.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A query string, deserialized strictly; errors name the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(Self).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            ApiError(AppError::bad_request(if path == "." { "query".into() } else { path }, message))
        })
    }
}

/// The authenticated caller: from `Authorization: Bearer TOKEN`, or 401.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated
where
    App: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = App::from_ref(state);
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .ok_or(ApiError(AppError::Unauthorized))?;
        let actor = app.authenticate_token(token).await?;
        Ok(Self(actor))
    }
}

/// The token of an `Authorization` value whose scheme is `Bearer`, in any case
/// (RFC 9110 §11.1: the scheme is case-insensitive).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An authenticated superadmin, or 401/403 — decided before the body is read, so a
/// caller without the right learns nothing from how its body would have been judged.
#[derive(Debug, Clone)]
pub struct AsSuperadmin(pub Superadmin);

impl<S: Send + Sync> FromRequestParts<S> for AsSuperadmin
where
    App: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authenticated(actor) = Authenticated::from_request_parts(parts, state).await?;
        Ok(Self(actor.superadmin()?))
    }
}
