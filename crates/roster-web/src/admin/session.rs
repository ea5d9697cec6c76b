//! Who is using the admin UI. Logging in trades a username and password for a session
//! cookie (`roster_session`: HttpOnly, SameSite=Lax, Secure over https) whose id only
//! the database knows the hash of; every handler then takes an [`Admin`], which a
//! request without a live session cannot produce (a page redirects to the login, a
//! script gets 401).
//!
//! CSRF: each session has a random token, printed in every form (`csrf`) and in the
//! page for scripts (`X-CSRF-Token`), masked afresh on every page ([`masked_csrf`]). Every POST is refused unless it carries the token
//! ([`Posted`], [`Admin::check_csrf`]). The login form, before any session exists, is
//! protected by a double-submit token in a short-lived cookie of its own.
//!
//! Failed logins are throttled per username and client address by the app layer, in the
//! database, so every process counts them together.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, OriginalUri, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use roster_app::sessions::LoginOutcome;
use roster_app::{Actor, Superadmin};
use std::net::SocketAddr;

use super::page::{self, bare_error, OrPage};
use super::AdminState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "roster_session";
/// The login form's double-submit token.
const LOGIN_COOKIE: &str = "roster_login";
/// A one-time message for the next page (after a POST redirects).
const FLASH_COOKIE: &str = "roster_flash";
/// What starts a flash message that reports an error.
pub const ERROR_MARK: char = '!';
/// The header scripts send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// When cookies carry the `Secure` flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CookieSecurity {
    /// When the request came over https (`X-Forwarded-Proto: https` from a proxy).
    #[default]
    Auto,
    /// Always: the UI is only ever reached over https.
    Always,
    /// Never (plain http on a trusted network or in development).
    Never,
}

impl CookieSecurity {
    /// Parses `auto`, `always` or `never`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "always" | "true" | "1" => Some(Self::Always),
            "never" | "false" | "0" => Some(Self::Never),
            _ => None,
        }
    }

    fn secure(self, headers: &HeaderMap) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")),
        }
    }
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value. `max_age` of 0 deletes the cookie.
fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"))
        .ok()
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session's CSRF token as a page prints it: a fresh random pad, then the token
/// XORed with it, in hex. Pages go out compressed and some echo what was typed (a
/// search), so a secret printed the same on every page could be guessed from their
/// sizes (BREACH); printed this way it never repeats.
pub(crate) fn masked_csrf(token: &str) -> String {
    let pad: Vec<u8> = token.bytes().map(|_| rand::random::<u8>()).collect();
    let hidden: Vec<u8> = token.bytes().zip(&pad).map(|(t, p)| t ^ p).collect();
    format!("{}{}", hex::encode(&pad), hex::encode(hidden))
}

/// Whether `sent` is the session's token `token`, as a page printed it (masked) or as
/// the session holds it.
fn csrf_matches(sent: &str, token: &str) -> bool {
    let unmasked = hex::decode(sent).ok().filter(|b| b.len() == 2 * token.len()).map(|b| {
        let (pad, hidden) = b.split_at(token.len());
        pad.iter().zip(hidden).map(|(p, h)| p ^ h).collect::<Vec<u8>>()
    });
    same_secret(sent, token) || unmasked.is_some_and(|t| same_bytes(&t, token.as_bytes()))
}

/// A logged-in administrator, with what the pages of this request need.
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    /// Who acts: every use case is called as this actor.
    pub actor: Actor,
    /// The session's CSRF token (pages print it masked: [`masked_csrf`]).
    pub csrf: String,
    /// The message the previous request left for this page.
    pub flash: Option<String>,
    /// Whether cookies set in answer to this request are Secure.
    pub secure: bool,
    /// The cookie's session id, to log out with.
    session_id: String,
}

impl Admin {
    /// The superadmin capability, or the 403 page of `section`.
    pub fn superadmin(&self, section: page::Section) -> Result<Superadmin, page::AdminError> {
        self.actor.superadmin().or_page(self, section)
    }

    /// Whether the request carries this session's CSRF token in `X-CSRF-Token`.
    pub fn csrf_sent(&self, headers: &HeaderMap) -> bool {
        headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|sent| csrf_matches(sent, &self.csrf))
    }

    /// Whether `token` is this session's CSRF token.
    pub fn csrf_is(&self, token: &str) -> bool {
        csrf_matches(token, &self.csrf)
    }

    /// A redirect after a POST, leaving `message` for the next page.
    pub fn redirect_with(&self, to: &str, message: &str) -> Response {
        self.redirect_flash(to, message)
    }

    /// A redirect after a POST that failed, leaving `message` for the next page as an error.
    pub fn redirect_with_error(&self, to: &str, message: &str) -> Response {
        self.redirect_flash(to, &format!("{ERROR_MARK}{message}"))
    }

    fn redirect_flash(&self, to: &str, message: &str) -> Response {
        let encoded: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
        let mut response = Redirect::to(to).into_response();
        if let Some(c) = set_cookie(FLASH_COOKIE, &encoded, "/admin", 60, self.secure) {
            response.headers_mut().append(SET_COOKIE, c);
        }
        response
    }

    /// The response after the flash message was shown: it is not shown again.
    pub fn shown(&self, mut response: Response) -> Response {
        if self.flash.is_some() {
            if let Some(c) = set_cookie(FLASH_COOKIE, "", "/admin", 0, self.secure) {
                response.headers_mut().append(SET_COOKIE, c);
            }
        }
        response
    }
}

/// The refusal of a request without the session's CSRF token.
pub(crate) fn csrf_refused() -> Response {
    bare_error(
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this site. Reload the page and try again.",
    )
}

/// Where an unauthenticated request goes: a page to the login, a script gets 401.
fn unauthenticated(parts: &Parts) -> Response {
    // Nested routers see their path without `/admin`; the original is kept aside.
    let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
    if uri.path().starts_with("/admin/json/") {
        let body =
            serde_json::json!({"error": {"code": "unauthorized", "message": "your session has ended; log in again"}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let here = uri.path_and_query().map_or("/admin", |p| p.as_str());
    let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    Redirect::to(&format!("/admin/login?next={next}")).into_response()
}

impl FromRequestParts<AdminState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, Self::Rejection> {
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(unauthenticated(parts));
        };
        let session = match state.app.session(id).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(unauthenticated(parts)),
            Err(e) => return Err(page::bare_app_error(e)),
        };
        let flash = cookie(&parts.headers, FLASH_COOKIE)
            .filter(|v| !v.is_empty())
            .map(|v| form_urlencoded::parse(format!("m={v}").as_bytes()).map(|(_, m)| m.into_owned()).collect());
        Ok(Self {
            actor: session.actor,
            csrf: session.csrf_token,
            flash,
            secure: state.config.cookies.secure(&parts.headers),
            session_id: id.to_owned(),
        })
    }
}

/// A form posted by a logged-in administrator, its CSRF token checked.
#[derive(Debug)]
pub(crate) struct Posted {
    /// Who posted it.
    pub admin: Admin,
    /// Its fields, in order.
    pub form: FormData,
}

impl FromRequest<AdminState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AdminState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let admin = Admin::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| bare_error(StatusCode::PAYLOAD_TOO_LARGE, "This form is too large to send."))?;
        let form = FormData(form_urlencoded::parse(&bytes).into_owned().collect());
        match form.one("csrf") {
            Some(token) if csrf_matches(token, &admin.csrf) => Ok(Self { admin, form }),
            _ => Err(csrf_refused()),
        }
    }
}

/// The fields of a posted form.
#[derive(Debug, Default)]
pub(crate) struct FormData(Vec<(String, String)>);

impl FormData {
    /// The first value of `name`.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed; `None` when empty.
    pub fn text(&self, name: &str) -> Option<String> {
        self.one(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    /// Every non-empty value of `name`.
    pub fn many(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_owned()).collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.one(name).is_some_and(|v| v == "on" || v == "true" || v == "1")
    }
}

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    assets: &'static str,
    csrf: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

/// Only paths inside the admin UI are followed after logging in.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with("/admin")
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.starts_with("/admin/json/") =>
        {
            n
        }
        _ => "/admin/groups",
    }
}

fn login_response(status: StatusCode, page: &LoginPage<'_>, secure: bool, token: &str) -> Response {
    let mut response = (status, page::render(page)).into_response();
    if let Some(c) = set_cookie(LOGIN_COOKIE, token, "/admin/login", 3600, secure) {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

/// `GET /admin/login`.
pub(crate) async fn login_page(
    State(state): State<AdminState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<LoginQuery>,
) -> Response {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let page = LoginPage {
        assets: super::asset_version(),
        csrf: &token,
        next: safe_next(query.next.as_deref()),
        username: "",
        error: None,
    };
    login_response(StatusCode::OK, &page, state.config.cookies.secure(&headers), &token)
}

/// `POST /admin/login`: a session cookie and the page asked for, or the form again.
pub(crate) async fn log_in(State(state): State<AdminState>, req: Request) -> Response {
    let secure = state.config.cookies.secure(req.headers());
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    let expected = cookie(req.headers(), LOGIN_COOKIE).map(str::to_owned);
    let Ok(bytes) = Bytes::from_request(req, &state).await else {
        return bare_error(StatusCode::PAYLOAD_TOO_LARGE, "This form is too large to send.");
    };
    let form = FormData(form_urlencoded::parse(&bytes).into_owned().collect());
    let username = form.one("username").unwrap_or_default().trim().to_owned();
    let password = form.one("password").unwrap_or_default();
    let next = safe_next(form.one("next")).to_owned();
    let token = uuid::Uuid::new_v4().simple().to_string();
    let again = |status: StatusCode, error: &str| {
        let page = LoginPage {
            assets: super::asset_version(),
            csrf: &token,
            next: &next,
            username: &username,
            error: Some(error.to_owned()),
        };
        login_response(status, &page, secure, &token)
    };
    let posted = form.one("csrf").unwrap_or_default();
    if !expected.as_deref().is_some_and(|e| same_secret(e, posted)) {
        return again(StatusCode::FORBIDDEN, "The login form had expired. Please try again.");
    }
    if username.is_empty() || password.is_empty() {
        return again(StatusCode::UNPROCESSABLE_ENTITY, "Enter your username and password.");
    }
    match state.app.log_in(&username, password, &client).await {
        Ok(LoginOutcome::LoggedIn { id, session }) => {
            tracing::info!(admin = %session.actor.name(), "admin logged in");
            let mut response = Redirect::to(&next).into_response();
            let max_age = (session.expires_at - state.app.now()) / 1000;
            let headers = response.headers_mut();
            if let Some(c) = set_cookie(SESSION_COOKIE, &id, "/admin", max_age, secure) {
                headers.append(SET_COOKIE, c);
            }
            if let Some(c) = set_cookie(LOGIN_COOKIE, "", "/admin/login", 0, secure) {
                headers.append(SET_COOKIE, c);
            }
            response
        }
        Ok(LoginOutcome::Refused) => again(StatusCode::UNAUTHORIZED, "The username or password is wrong."),
        Ok(LoginOutcome::Throttled { retry_after_secs }) => {
            tracing::warn!(%client, "admin login throttled");
            let minutes = (retry_after_secs + 59) / 60;
            let mut response = again(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many failed attempts for this username. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            response
        }
        Err(e) => page::bare_app_error(e),
    }
}

/// `POST /admin/logout`.
pub(crate) async fn log_out(State(state): State<AdminState>, posted: Posted) -> Response {
    if let Err(e) = state.app.log_out(&posted.admin.session_id).await {
        return page::bare_app_error(e);
    }
    let mut response = Redirect::to("/admin/login").into_response();
    if let Some(c) = set_cookie(SESSION_COOKIE, "", "/admin", 0, posted.admin.secure) {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_token_differs_on_every_page_and_still_matches() {
        let token = "0123456789abcdef".repeat(4);
        let (one, two) = (masked_csrf(&token), masked_csrf(&token));
        assert_ne!(one, two);
        assert!(!one.contains(&token));
        assert!(csrf_matches(&one, &token) && csrf_matches(&two, &token));
        assert!(csrf_matches(&token, &token), "the session's own form");
    }

    #[test]
    fn a_forged_or_altered_token_does_not_match() {
        let token = "0123456789abcdef".repeat(4);
        let other = "fedcba9876543210".repeat(4);
        assert!(!csrf_matches(&masked_csrf(&other), &token));
        let mut altered = masked_csrf(&token).into_bytes();
        altered[200] = if altered[200] == b'0' { b'1' } else { b'0' };
        assert!(!csrf_matches(&String::from_utf8_lossy(&altered), &token));
        for forged in ["", "forged", &token[..10], &"0".repeat(256)] {
            assert!(!csrf_matches(forged, &token), "{forged}");
        }
    }
}
