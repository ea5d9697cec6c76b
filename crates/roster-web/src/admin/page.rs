//! What every admin screen shares: the frame around it ([`Chrome`]: who is logged in,
//! the admin menu, the flash message), rendering, error pages and messages placed next
//! to the field at fault, and paging over the API's cursors.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use roster_app::{AppError, Role};

use super::session::Admin;
use crate::error::ApiError;

/// An admin page that could not be shown, already rendered as the error page of its
/// section with the status the API would answer: admin handlers return
/// [`AdminResult`] and reach it with `?` through [`OrPage::or_page`].
#[derive(Debug)]
pub(crate) struct AdminError(Box<Response>);

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// What an admin handler answers: a page, or the error page of its section.
pub(crate) type AdminResult = Result<Response, AdminError>;

/// `?` for use cases in admin handlers: an error becomes the error page of `section`.
pub(crate) trait OrPage<T> {
    /// The value, or the error page of `section` for `admin`.
    fn or_page(self, admin: &Admin, section: Section) -> Result<T, AdminError>;
}

impl<T> OrPage<T> for Result<T, AppError> {
    fn or_page(self, admin: &Admin, section: Section) -> Result<T, AdminError> {
        self.map_err(|e| AdminError(Box::new(admin.error(section, e))))
    }
}

/// The screen family a page belongs to, for the menu and the top bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Groups,
    Users,
    Branches,
    Courses,
    Imports,
    Access,
}

/// The frame of every page.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    /// The logged-in administrator's name.
    pub user: String,
    /// Their role, in words.
    pub role: &'static str,
    /// Whether they are a superadmin (catalog forms are only shown to them).
    pub superadmin: bool,
    /// The session's CSRF token, masked afresh for this page.
    pub csrf: String,
    /// A message left by the previous request.
    pub flash: Option<String>,
    /// Whether that message reports an error.
    pub flash_error: bool,
    /// Which section is open.
    pub section: Section,
    /// The assets' fingerprint, for their URLs.
    pub assets: &'static str,
}

impl Chrome {
    /// Whether `name` is the open section (for the menu's `aria-current`).
    pub fn is(&self, name: &str) -> bool {
        let current = match self.section {
            Section::Groups => "groups",
            Section::Users => "users",
            Section::Branches => "branches",
            Section::Courses => "courses",
            Section::Imports => "imports",
            Section::Access => "access",
        };
        current == name
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage<'a> {
    chrome: Option<&'a Chrome>,
    assets: &'static str,
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl Admin {
    /// The frame for a page of `section`.
    pub fn chrome(&self, section: Section) -> Chrome {
        Chrome {
            user: self.actor.name().strip_prefix("admin:").unwrap_or(self.actor.name()).to_owned(),
            role: match self.actor.role() {
                Role::Superadmin => "Superadmin",
                Role::TrainingAdmin => "Training admin",
            },
            superadmin: self.actor.role() == Role::Superadmin,
            csrf: super::session::masked_csrf(&self.csrf),
            flash: self.flash.as_deref().map(|f| f.trim_start_matches(super::session::ERROR_MARK).to_owned()),
            flash_error: self.flash.as_deref().is_some_and(|f| f.starts_with(super::session::ERROR_MARK)),
            section,
            assets: super::asset_version(),
        }
    }

    /// A rendered page; its flash message is then spent.
    pub fn page<T: Template>(&self, template: &T) -> Response {
        self.shown(render(template).into_response())
    }

    /// A page rendered with a status other than 200.
    pub fn page_with<T: Template>(&self, status: StatusCode, template: &T) -> Response {
        self.shown((status, render(template)).into_response())
    }

    /// An error as a page of `section`, with the status the API would answer.
    pub fn error(&self, section: Section, e: AppError) -> Response {
        let message = general_message(&e);
        let status = status(e);
        let chrome = self.chrome(section);
        let page = ErrorPage {
            chrome: Some(&chrome),
            assets: super::asset_version(),
            status: status.as_u16(),
            title: title(status),
            message: &message,
        };
        self.shown((status, render(&page)).into_response())
    }
}

/// The status the API answers `e` with (the one mapping of errors to HTTP; an internal
/// error is logged there).
pub(crate) fn status(e: AppError) -> StatusCode {
    ApiError(e).into_response().status()
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict",
        413 => "Too large",
        400 | 422 => "Please check your input",
        s if s >= 500 => "Something went wrong",
        _ => "Error",
    }
}

/// What to tell a person about `e`. Nothing from the database or the OS.
pub(crate) fn message(e: &AppError) -> String {
    match e {
        AppError::Internal(_) => "Something went wrong on our side; it has been logged. Please try again.".to_owned(),
        AppError::Invalid(d) => d.message.clone(),
        AppError::Unauthorized => "Your session has ended; log in again.".to_owned(),
        AppError::NotFound(what) => format!("The {what} was not found, or is outside your branches."),
        other => other.to_string(),
    }
}

/// What to tell a person about `e` away from any field: the field is named.
pub(crate) fn general_message(e: &AppError) -> String {
    match e {
        AppError::Invalid(d) => format!("{}: {}", d.field, d.message),
        other => message(other),
    }
}

/// The input `e` is about, when it names one.
pub(crate) fn field(e: &AppError) -> Option<&str> {
    match e {
        AppError::Invalid(d) => Some(d.field.as_str()),
        AppError::BadRequest { field, .. } | AppError::Conflict { field, .. } => field.as_deref(),
        AppError::Rule { field, .. } => Some(field.as_str()),
        _ => None,
    }
}

/// Errors to show beside the fields of a form.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldErrors {
    by_field: Vec<(String, String)>,
    /// An error that belongs to no field of the form.
    pub general: Option<String>,
}

impl FieldErrors {
    /// Places `e` beside its field if the form has that field (`known`; `fields.*`
    /// stands for every additional field), else above the form.
    pub fn from_error(e: &AppError, known: &[&str]) -> Self {
        let key = field(e).map(|f| f.split('[').next().unwrap_or(f));
        match key {
            Some(k) if known.contains(&k) || (k.starts_with("fields.") && known.contains(&"fields.*")) => {
                Self { by_field: vec![(k.to_owned(), message(e))], general: None }
            }
            _ => Self { by_field: vec![], general: Some(general_message(e)) },
        }
    }

    /// `message` above the form, beside no field.
    pub fn general(message: String) -> Self {
        Self { by_field: vec![], general: Some(message) }
    }

    /// The message for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.by_field.iter().find(|(f, _)| f == name).map(|(_, m)| m.as_str())
    }

    /// Whether `name` has an error.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Renders a template to HTML; a failure is logged and answered as a plain 500.
pub(crate) fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side; it has been logged").into_response()
        }
    }
}

/// An error page without the frame (no session to show).
pub(crate) fn bare_error(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        chrome: None,
        assets: super::asset_version(),
        status: status.as_u16(),
        title: title(status),
        message,
    };
    (status, render(&page)).into_response()
}

/// An application error without the frame.
pub(crate) fn bare_app_error(e: AppError) -> Response {
    let text = general_message(&e);
    bare_error(status(e), &text)
}

/// A path with a query string built from `params` (empty values left out).
pub(crate) fn url(path: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// The most pages "Previous" can walk back.
const MAX_TRAIL: usize = 100;

/// Links to the previous and next pages of a list paged by cursors. The cursors of
/// the pages before are carried in `trail` (`-` stands for the first page).
#[derive(Debug, Clone, Default)]
pub(crate) struct Pager {
    /// The previous page, when there is one.
    pub prev: Option<String>,
    /// The next page, when there is one.
    pub next: Option<String>,
}

impl Pager {
    /// Links for the page at `cursor` (after `trail`) whose next page starts at `next`,
    /// keeping the list's other parameters.
    pub fn new(
        path: &str,
        params: &[(&str, &str)],
        cursor: Option<&str>,
        trail: Option<&str>,
        next: Option<&str>,
    ) -> Self {
        let mut steps: Vec<&str> = trail.unwrap_or_default().split('.').filter(|s| !s.is_empty()).collect();
        let link = |cursor: &str, trail: &str| {
            let mut all = params.to_vec();
            all.push(("cursor", cursor));
            all.push(("trail", trail));
            url(path, &all)
        };
        let next = next.map(|n| {
            let mut ahead = steps.clone();
            ahead.push(cursor.filter(|c| !c.is_empty()).unwrap_or("-"));
            let skip = ahead.len().saturating_sub(MAX_TRAIL);
            link(n, &ahead[skip..].join("."))
        });
        let prev = steps.pop().map(|p| link(if p == "-" { "" } else { p }, &steps.join(".")));
        let prev = prev.or_else(|| cursor.filter(|c| !c.is_empty()).map(|_| link("", "")));
        Self { prev, next }
    }

    /// Whether there is any other page.
    pub fn any(&self) -> bool {
        self.prev.is_some() || self.next.is_some()
    }
}

/// An RFC 3339 time as a page shows it: `2026-03-02 12:00 UTC`.
pub(crate) fn when(rfc3339: &str) -> String {
    match rfc3339.get(..16) {
        Some(minute) => format!("{} UTC", minute.replacen('T', " ", 1)),
        None => rfc3339.to_owned(),
    }
}

/// Who made a change, as a person reads it: an admin by its username (`admin:alice` is
/// "alice"), a token by its name ("token hr-sync"), the server's own work ("system"),
/// the command line ("command line").
pub(crate) fn actor_label(actor: &str) -> String {
    if let Some(admin) = actor.strip_prefix("admin:") {
        admin.to_owned()
    } else if let Some(token) = actor.strip_prefix("token:") {
        format!("token {token}")
    } else {
        match actor {
            "system" | "reconcile" => "system".to_owned(),
            "cli" => "command line".to_owned(),
            "demo" => "demo data".to_owned(),
            other => other.to_owned(),
        }
    }
}

/// JSON for a `<script type="application/json">` block: `<` escaped, so no text in it
/// can close the element.
pub(crate) fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_forward_and_back_through_cursors() {
        let first = Pager::new("/admin/users", &[("q", "ann")], None, None, Some("40"));
        assert_eq!(first.prev, None);
        assert_eq!(first.next.as_deref(), Some("/admin/users?q=ann&cursor=40&trail=-"));
        let second = Pager::new("/admin/users", &[("q", "ann")], Some("40"), Some("-"), Some("80"));
        assert_eq!(second.prev.as_deref(), Some("/admin/users?q=ann"));
        assert_eq!(second.next.as_deref(), Some("/admin/users?q=ann&cursor=80&trail=-.40"));
        let third = Pager::new("/admin/users", &[], Some("80"), Some("-.40"), None);
        assert_eq!(third.prev.as_deref(), Some("/admin/users?cursor=40&trail=-"));
        assert_eq!(third.next, None);
    }

    #[test]
    fn actors_read_as_people_tokens_or_the_system() {
        assert_eq!(actor_label("admin:admin"), "admin");
        assert_eq!(actor_label("admin:alice"), "alice");
        assert_eq!(actor_label("token:hr-sync"), "token hr-sync");
        assert_eq!(actor_label("system"), "system");
        assert_eq!(actor_label("reconcile"), "system");
        assert_eq!(actor_label("cli"), "command line");
    }

    #[test]
    fn script_json_cannot_close_its_element() {
        let v = serde_json::json!({"name": "</script><b>"});
        assert!(!script_json(&v).contains("</script>"));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&script_json(&v)).ok(), Some(v));
    }
}
