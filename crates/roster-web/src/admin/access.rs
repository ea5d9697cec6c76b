//! Administrators and API tokens, under the gear: who may use Roster. Superadmin only —
//! a training admin gets 403 on every one of these screens.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use roster_app::admins::{AdminPatch, AdminView, NewAdmin};
use roster_app::tokens::{NewToken, TokenView};
use roster_app::App;

use super::page::{self, when, AdminResult, Chrome, FieldErrors, OrPage, Section};
use super::session::{Admin, Posted};

/// What the New administrator / New token panel was filled with.
#[derive(Debug, Default)]
struct AccessForm {
    name: String,
    role: String,
    branches: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/admins.html")]
struct AdminsPage {
    chrome: Chrome,
    admins: Vec<AdminView>,
    branches: Vec<(String, String, usize)>,
    form: AccessForm,
    errors: FieldErrors,
    new_open: bool,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenView>,
    branches: Vec<(String, String, usize)>,
    form: AccessForm,
    errors: FieldErrors,
    new_open: bool,
    /// A token just created: its secret, shown this once.
    created: Option<(String, String)>,
}

/// The org chart in tree order, for the branch pickers: (code, name, depth).
async fn branch_options(app: &App, admin: &Admin) -> Result<Vec<(String, String, usize)>, page::AdminError> {
    let branches = app.list_branches(&admin.actor).await.or_page(admin, Section::Access)?;
    Ok(branches.into_iter().map(|b| (b.code, b.name, b.path.len().saturating_sub(1))).collect())
}

fn label(when_rfc3339: Option<&String>) -> String {
    when_rfc3339.map_or_else(|| "never".to_owned(), |t| when(t))
}

async fn admins_page(
    admin: &Admin,
    app: &App,
    form: AccessForm,
    errors: FieldErrors,
    new_open: bool,
    status: StatusCode,
) -> AdminResult {
    let sa = admin.superadmin(Section::Access)?;
    let admins = app.list_admins(&sa).await.or_page(admin, Section::Access)?;
    let branches = branch_options(app, admin).await?;
    let page = AdminsPage { chrome: admin.chrome(Section::Access), admins, branches, form, errors, new_open };
    Ok(admin.page_with(status, &page))
}

/// `GET /admin/admins`.
pub(crate) async fn admins(admin: Admin, State(app): State<App>) -> AdminResult {
    admins_page(&admin, &app, AccessForm::default(), FieldErrors::default(), false, StatusCode::OK).await
}

/// `POST /admin/admins`: a new login.
pub(crate) async fn create_admin(State(app): State<App>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let sa = admin.superadmin(Section::Access)?;
    let again = AccessForm {
        name: form.one("username").unwrap_or_default().to_owned(),
        role: form.one("role").unwrap_or("training_admin").to_owned(),
        branches: form.many("branches"),
    };
    let input = NewAdmin {
        username: again.name.clone(),
        password: form.one("password").unwrap_or_default().to_owned(),
        role: again.role.clone(),
        branches: if again.role == "superadmin" { vec![] } else { again.branches.clone() },
    };
    match app.create_admin(&sa, input).await {
        Ok(created) => Ok(admin.redirect_with("/admin/admins", &format!("{} can now log in.", created.username))),
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["username", "password", "role", "branches"]);
            admins_page(&admin, &app, again, errors, true, page::status(e)).await
        }
    }
}

/// `POST /admin/admins/{id}`: change a login (`action` = `save`, `suspend`,
/// `reactivate`, `delete`).
pub(crate) async fn save_admin(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let sa = admin.superadmin(Section::Access)?;
    let who = app.get_admin(&sa, &id).await.or_page(&admin, Section::Access)?.username;
    let result = match form.one("action") {
        Some("delete") => app.delete_admin(&sa, &id).await.map(|()| format!("{who} deleted.")),
        Some("suspend") => {
            let patch = AdminPatch { suspended: Some(true), ..AdminPatch::default() };
            app.update_admin(&sa, &id, patch).await.map(|_| format!("{who} suspended: its sessions have ended."))
        }
        Some("reactivate") => {
            let patch = AdminPatch { suspended: Some(false), ..AdminPatch::default() };
            app.update_admin(&sa, &id, patch).await.map(|_| format!("{who} can log in again."))
        }
        _ => {
            let role = form.text("role");
            let patch = AdminPatch {
                password: form.text("password"),
                branches: role.as_deref().filter(|r| *r != "superadmin").map(|_| form.many("branches")),
                role,
                suspended: None,
            };
            app.update_admin(&sa, &id, patch).await.map(|_| format!("{who} saved."))
        }
    };
    match result {
        Ok(message) => Ok(admin.redirect_with("/admin/admins", &message)),
        Err(e) => Ok(admin.redirect_with_error("/admin/admins", &format!("{who}: {}", page::general_message(&e)))),
    }
}

async fn tokens_page(
    admin: &Admin,
    app: &App,
    form: AccessForm,
    errors: FieldErrors,
    new_open: bool,
    created: Option<(String, String)>,
    status: StatusCode,
) -> AdminResult {
    let sa = admin.superadmin(Section::Access)?;
    let tokens = app.list_tokens(&sa).await.or_page(admin, Section::Access)?;
    let branches = branch_options(app, admin).await?;
    let page = TokensPage { chrome: admin.chrome(Section::Access), tokens, branches, form, errors, new_open, created };
    Ok(admin.page_with(status, &page))
}

/// `GET /admin/tokens`.
pub(crate) async fn tokens(admin: Admin, State(app): State<App>) -> AdminResult {
    tokens_page(&admin, &app, AccessForm::default(), FieldErrors::default(), false, None, StatusCode::OK).await
}

/// `POST /admin/tokens`: a new token, its secret shown on the page this once (never in
/// a URL, a cookie or a log).
pub(crate) async fn create_token(State(app): State<App>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let sa = admin.superadmin(Section::Access)?;
    let again = AccessForm {
        name: form.one("name").unwrap_or_default().to_owned(),
        role: form.one("role").unwrap_or("training_admin").to_owned(),
        branches: form.many("branches"),
    };
    let input = NewToken {
        name: again.name.clone(),
        role: again.role.clone(),
        branches: if again.role == "superadmin" { vec![] } else { again.branches.clone() },
    };
    match app.create_token(&sa, input).await {
        Ok(created) => {
            let shown = Some((created.info.name, created.token));
            tokens_page(&admin, &app, AccessForm::default(), FieldErrors::default(), false, shown, StatusCode::CREATED)
                .await
        }
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["name", "role", "branches"]);
            tokens_page(&admin, &app, again, errors, true, None, page::status(e)).await
        }
    }
}

/// `POST /admin/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let admin = posted.admin;
    let sa = admin.superadmin(Section::Access)?;
    app.revoke_token(&sa, &id).await.or_page(&admin, Section::Access)?;
    Ok(admin.redirect_with("/admin/tokens", "Token revoked: it no longer works."))
}

impl AdminsPage {
    fn last_login(&self, a: &AdminView) -> String {
        label(a.last_login_at.as_ref())
    }
}

impl TokensPage {
    fn last_used(&self, t: &TokenView) -> String {
        label(t.last_used_at.as_ref())
    }

    fn created_on(&self, t: &TokenView) -> String {
        when(&t.created_at)
    }
}
