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
    Fields,
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
            Section::Fields => "fields",
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
        AppError::Invalid(d) => for_admin(&d.message),
        AppError::Unauthorized => "Your session has ended; log in again.".to_owned(),
        AppError::NotFound(what) => format!("The {what} was not found, or is outside your branches."),
        other => for_admin(&other.to_string()),
    }
}

/// What to tell a person about `e` away from any field: the field is named.
pub(crate) fn general_message(e: &AppError) -> String {
    match e {
        AppError::Invalid(d) if d.message == EMPTY => format!("{} cannot be left empty.", input_label(&d.field)),
        AppError::Invalid(d) => format!("{}: {}", input_label(&d.field), full_stop(d.message.trim())),
        other => message(other),
    }
}

/// The domain's word for a required value left blank.
const EMPTY: &str = "must not be empty";

/// The app's terse messages as sentences an administrator reads: "must not be empty"
/// and `a group named "x" exists` said plainly, every message starting with a capital
/// and ending with a full stop. The app's messages stay as they are for API clients.
pub(crate) fn for_admin(message: &str) -> String {
    let m = message.trim();
    if m == EMPTY {
        return "This cannot be left empty.".to_owned();
    }
    let taken = ["a ", "an "].iter().find_map(|article| {
        let what = m.strip_prefix(article)?.strip_suffix(" exists")?;
        Some(format!("There is already {article}{what}: choose another one."))
    });
    taken.unwrap_or_else(|| sentence(m))
}

/// `m` with a capital first letter and a final full stop.
fn sentence(m: &str) -> String {
    let mut chars = m.chars();
    match chars.next() {
        Some(first) => full_stop(&first.to_uppercase().chain(chars).collect::<String>()),
        None => String::new(),
    }
}

/// `m` ending with a full stop (or the mark it already ends with).
fn full_stop(m: &str) -> String {
    if m.is_empty() || m.ends_with(['.', '!', '?', ')', '"', '”']) {
        m.to_owned()
    } else {
        format!("{m}.")
    }
}

/// An input's name as a label: `first_name` is "First name", `fields.hire_date` is
/// "Hire date", `options[2]` is "Options", and a list item's `[0].due_days` is
/// "Due days (row 1)".
fn input_label(name: &str) -> String {
    let row =
        name.strip_prefix('[').and_then(|rest| rest.split_once(']')).and_then(|(index, _)| index.parse::<usize>().ok());
    let last = name.rsplit('.').next().unwrap_or(name);
    let word = last.split('[').next().unwrap_or(last);
    let mut chars = word.chars();
    let label: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars.map(|c| if c == '_' { ' ' } else { c })).collect())
        .unwrap_or_default();
    match row {
        Some(i) => format!("{label} (row {})", i + 1),
        None => label,
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

/// One link of a numbered pager: a page number, or a gap ("…") when `url` is `None`.
#[derive(Debug, Clone)]
pub(crate) struct PageLink {
    /// The page's number, or "…".
    pub label: String,
    /// Where it leads; `None` for a gap or the page shown.
    pub url: Option<String>,
    /// Whether it is the page shown.
    pub current: bool,
}

/// A pager over a list whose total is known: "1–50 of 5,000", numbered pages, and
/// previous and next.
#[derive(Debug, Clone, Default)]
pub(crate) struct NumberedPager {
    /// "1–50 of 5,000" (empty when nothing matches).
    pub summary: String,
    /// The previous page, when there is one.
    pub prev: Option<String>,
    /// The next page, when there is one.
    pub next: Option<String>,
    /// The first and last pages, and those around the page shown.
    pub links: Vec<PageLink>,
}

impl NumberedPager {
    /// The pager of page `page` (1-based) of `per_page` items, showing `shown` of
    /// `total`, keeping the list's other parameters.
    pub fn new(path: &str, params: &[(&str, &str)], page: u64, per_page: u64, shown: usize, total: u64) -> Self {
        let pages = total.div_ceil(per_page.max(1)).max(1);
        let link = |n: u64| {
            let number = n.to_string();
            let mut all = params.to_vec();
            if n > 1 {
                all.push(("page", &number));
            }
            url(path, &all)
        };
        let first = (page - 1) * per_page + 1;
        let summary = if shown == 0 {
            String::new()
        } else {
            format!("{}–{} of {}", thousands(first), thousands(first + shown as u64 - 1), thousands(total))
        };
        let mut links = Vec::new();
        let mut last_listed = 0;
        for n in 1..=pages {
            if n == 1 || n == pages || n.abs_diff(page) <= 2 {
                if n > last_listed + 1 {
                    links.push(PageLink { label: "…".to_owned(), url: None, current: false });
                }
                links.push(PageLink { label: thousands(n), url: (n != page).then(|| link(n)), current: n == page });
                last_listed = n;
            } else if n > page + 2 {
                // Jump straight to the last page rather than walk every number.
                if pages > last_listed + 1 {
                    links.push(PageLink { label: "…".to_owned(), url: None, current: false });
                }
                links.push(PageLink {
                    label: thousands(pages),
                    url: (pages != page).then(|| link(pages)),
                    current: false,
                });
                break;
            }
        }
        Self {
            summary,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
            links: if pages > 1 { links } else { vec![] },
        }
    }
}

/// `5000` as "5,000".
pub(crate) use roster_app::labels::thousands;

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
    fn messages_read_as_sentences_for_an_administrator() {
        assert_eq!(for_admin("must not be empty"), "This cannot be left empty.");
        assert_eq!(
            for_admin("a group named \"Drivers\" exists"),
            "There is already a group named \"Drivers\": choose another one."
        );
        assert_eq!(
            for_admin("an administrator named \"ann\" exists"),
            "There is already an administrator named \"ann\": choose another one."
        );
        assert_eq!(for_admin("this form has expired; reload the page"), "This form has expired; reload the page.");
        assert_eq!(for_admin("Already a sentence."), "Already a sentence.");
        let empty = AppError::Invalid(roster_domain::DomainError::new("first_name", "must not be empty"));
        assert_eq!(general_message(&empty), "First name cannot be left empty.");
        let bad = AppError::Invalid(roster_domain::DomainError::new("fields.hire_date", "expects a date"));
        assert_eq!(general_message(&bad), "Hire date: expects a date.");
        let item = AppError::Invalid(roster_domain::DomainError::new("[1].due_days", "is not a number of days"));
        assert_eq!(general_message(&item), "Due days (row 2): is not a number of days.");
        assert_eq!(input_label("options[2]"), "Options");
    }

    #[test]
    fn a_numbered_pager_says_where_it_is_and_how_many_there_are() {
        let p = NumberedPager::new("/admin/users", &[("q", "a")], 1, 50, 50, 5000);
        assert_eq!(p.summary, "1–50 of 5,000");
        assert_eq!(p.prev, None);
        assert_eq!(p.next.as_deref(), Some("/admin/users?q=a&page=2"));
        let labels: Vec<&str> = p.links.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["1", "2", "3", "…", "100"]);
        let p = NumberedPager::new("/admin/users", &[], 50, 50, 50, 5000);
        assert_eq!(p.summary, "2,451–2,500 of 5,000");
        let labels: Vec<&str> = p.links.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["1", "…", "48", "49", "50", "51", "52", "…", "100"]);
        assert_eq!(p.prev.as_deref(), Some("/admin/users?page=49"));
        let last = NumberedPager::new("/admin/users", &[], 3, 50, 12, 112);
        assert_eq!(last.summary, "101–112 of 112");
        assert_eq!(last.next, None);
        assert!(last.links.iter().any(|l| l.current && l.label == "3" && l.url.is_none()));
        assert!(NumberedPager::new("/admin/users", &[], 1, 50, 12, 12).links.is_empty(), "one page, no numbers");
        assert_eq!(NumberedPager::new("/admin/users", &[], 1, 50, 0, 0).summary, "");
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
