//! The Webhooks screen, under the gear: subscriptions that push the change feed to a
//! URL, each with its delivery log, a test message and "send again". A superadmin sees
//! every subscription; a training admin its own, which follow groups it manages.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use roster_app::webhooks::{DeliveryView, NewWebhook, TestSendView, WebhookPatch, WebhookView};
use roster_app::{App, AppError};
use serde::Deserialize;

use super::page::{self, actor_label, when, AdminResult, Chrome, FieldErrors, OrPage, Section};
use super::session::{Admin, Posted};

/// The kinds of change, as the form's checkboxes offer them.
const KINDS: &[(&str, &str)] = &[
    ("membership.joined", "Someone joined a group"),
    ("membership.left", "Someone left a group"),
    ("user.created", "User created"),
    ("user.updated", "User changed"),
    ("user.suspended", "User suspended"),
    ("user.deleted", "User deleted"),
    ("enrollment.set", "Enrollment set"),
    ("enrollment.removed", "Enrollment removed"),
    ("group.created", "Group created"),
    ("group.changed", "Group changed"),
    ("group.deleted", "Group deleted"),
];

/// What the webhook form was filled with.
#[derive(Debug, Default)]
struct WebhookForm {
    url: String,
    kinds: Vec<String>,
    /// The chosen groups: id and name.
    groups: Vec<(String, String)>,
}

impl WebhookForm {
    fn has_kind(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
    }
}

/// A subscription with what the screen says about it in words.
struct Shown {
    view: WebhookView,
    /// Its groups: id (while the group exists) and name.
    groups: Vec<(Option<String>, String)>,
    /// Why it is paused or retrying.
    why: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    hooks: Vec<Shown>,
    kinds: &'static [(&'static str, &'static str)],
    form: WebhookForm,
    errors: FieldErrors,
    new_open: bool,
    /// A subscription just made: its URL and signing secret, shown this once.
    created: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct WebhookPage {
    chrome: Chrome,
    h: Shown,
    made_by: String,
    kinds: &'static [(&'static str, &'static str)],
    form: WebhookForm,
    errors: FieldErrors,
    edit_open: bool,
    test: Option<TestSendView>,
    next_try: Option<String>,
    deliveries: Vec<DeliveryView>,
}

impl WebhooksPage {
    fn at(&self, d: &DeliveryView) -> String {
        when(&d.at)
    }

    fn outcome(&self, d: &DeliveryView) -> String {
        outcome(d)
    }
}

impl WebhookPage {
    fn at(&self, d: &DeliveryView) -> String {
        when(&d.at)
    }

    fn sentence(&self, text: &str) -> String {
        page::for_admin(text)
    }
}

fn outcome(d: &DeliveryView) -> String {
    match (d.status.as_str(), d.response_code) {
        ("delivered", Some(code)) => format!("Delivered ({code})"),
        ("delivered", None) => "Delivered".to_owned(),
        (_, Some(code)) => format!("Failed: the receiver answered {code}"),
        _ => format!("Failed: {}", d.error.as_deref().unwrap_or("no answer")),
    }
}

/// Why a subscription is paused or retrying, for an administrator.
fn why(view: &WebhookView) -> Option<String> {
    let since = view.failing_since.as_deref().map(when);
    match (view.state.as_str(), since) {
        ("paused", Some(since)) => Some(format!(
            "Deliveries failed from {since} for a day, so Roster stopped trying. Resume it once the receiver works: \
             what waited is sent then."
        )),
        ("paused", None) => Some("Paused by an administrator: changes wait until it is resumed.".to_owned()),
        ("retrying", Some(since)) => {
            let next = view.next_attempt_at.as_deref().map(|n| format!(" The next try is at {}.", when(n)));
            Some(format!("Deliveries fail since {since}; Roster keeps trying.{}", next.unwrap_or_default()))
        }
        _ => None,
    }
}

/// The names of a subscription's groups (a deleted group by its id).
async fn group_names(app: &App, admin: &Admin, ids: &[String]) -> Vec<(Option<String>, String)> {
    let mut named = Vec::with_capacity(ids.len());
    for id in ids {
        named.push(match app.get_group(&admin.actor, id).await {
            Ok(g) => (Some(g.id), g.name),
            Err(_) => (None, format!("a deleted group (#{id})")),
        });
    }
    named
}

async fn shown(app: &App, admin: &Admin, view: WebhookView) -> Shown {
    let groups = group_names(app, admin, &view.groups).await;
    Shown { why: why(&view), groups, view }
}

/// The form as posted, with the chosen groups named again.
async fn posted_form(app: &App, admin: &Admin, form: &super::session::FormData) -> WebhookForm {
    let ids = form.many("groups");
    let groups = group_names(app, admin, &ids).await;
    WebhookForm {
        url: form.one("url").unwrap_or_default().trim().to_owned(),
        kinds: form.many("kinds"),
        groups: ids.into_iter().zip(groups).map(|(id, (_, name))| (id, name)).collect(),
    }
}

/// Errors beside the form's fields (`kinds[2]` beside the kinds' checkboxes).
fn form_errors(e: &AppError) -> FieldErrors {
    FieldErrors::from_error(e, &["url", "kinds", "groups"])
}

async fn list_page(
    admin: &Admin,
    app: &App,
    form: WebhookForm,
    errors: FieldErrors,
    new_open: bool,
    created: Option<(String, String)>,
    status: StatusCode,
) -> AdminResult {
    let views = app.list_webhooks(&admin.actor).await.or_page(admin, Section::Access)?;
    let mut hooks = Vec::with_capacity(views.len());
    for view in views {
        hooks.push(shown(app, admin, view).await);
    }
    let page =
        WebhooksPage { chrome: admin.chrome(Section::Access), hooks, kinds: KINDS, form, errors, new_open, created };
    Ok(admin.page_with(status, &page))
}

/// The query of `GET /admin/webhooks`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    /// `1` opens the New webhook panel (the link works without scripts).
    new: Option<String>,
}

/// `GET /admin/webhooks`.
pub(crate) async fn list(admin: Admin, State(app): State<App>, Query(q): Query<ListQuery>) -> AdminResult {
    let open = q.new.is_some();
    list_page(&admin, &app, WebhookForm::default(), FieldErrors::default(), open, None, StatusCode::OK).await
}

/// `POST /admin/webhooks`: a new subscription, its signing secret shown on the page this
/// once.
pub(crate) async fn create(State(app): State<App>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let again = posted_form(&app, &admin, &form).await;
    let input = NewWebhook {
        url: again.url.clone(),
        kinds: again.kinds.clone(),
        group: None,
        groups: again.groups.iter().map(|(id, _)| id.clone()).collect(),
    };
    match app.create_webhook(&admin.actor, input).await {
        Ok(made) => {
            let shown = Some((made.url, made.secret));
            list_page(&admin, &app, WebhookForm::default(), FieldErrors::default(), false, shown, StatusCode::CREATED)
                .await
        }
        Err(e) => {
            let errors = form_errors(&e);
            list_page(&admin, &app, again, errors, true, None, page::status(e)).await
        }
    }
}

async fn one_page(
    admin: &Admin,
    app: &App,
    id: &str,
    edit: Option<(WebhookForm, FieldErrors)>,
    test: Option<TestSendView>,
    status: StatusCode,
) -> AdminResult {
    let view = app.get_webhook(&admin.actor, id).await.or_page(admin, Section::Access)?;
    let deliveries = app.webhook_deliveries(&admin.actor, id).await.or_page(admin, Section::Access)?;
    let next_try = (view.state == "retrying").then(|| view.next_attempt_at.as_deref().map(when)).flatten();
    let made_by = actor_label(&view.created_by);
    let h = shown(app, admin, view).await;
    let edit_open = edit.is_some();
    let (form, errors) = edit.unwrap_or_else(|| {
        let groups = h.groups.iter().filter_map(|(id, name)| Some((id.clone()?, name.clone()))).collect();
        (WebhookForm { url: h.view.url.clone(), kinds: h.view.kinds.clone(), groups }, FieldErrors::default())
    });
    let page = WebhookPage {
        chrome: admin.chrome(Section::Access),
        h,
        made_by,
        kinds: KINDS,
        form,
        errors,
        edit_open,
        test,
        next_try,
        deliveries,
    };
    Ok(admin.page_with(status, &page))
}

/// `GET /admin/webhooks/{id}`: one subscription, its settings and delivery log.
pub(crate) async fn page(admin: Admin, State(app): State<App>, Path(id): Path<String>) -> AdminResult {
    one_page(&admin, &app, &id, None, None, StatusCode::OK).await
}

/// `POST /admin/webhooks/{id}`: `action` = `save`, `pause`, `resume`, `test` or `delete`.
pub(crate) async fn save(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let url = app.get_webhook(&admin.actor, &id).await.or_page(&admin, Section::Access)?.url;
    let here = format!("/admin/webhooks/{id}");
    let paused = |paused| WebhookPatch { paused: Some(paused), ..WebhookPatch::default() };
    let done = match form.one("action") {
        Some("test") => {
            let test = app.test_webhook(&admin.actor, &id).await.or_page(&admin, Section::Access)?;
            return one_page(&admin, &app, &id, None, Some(test), StatusCode::OK).await;
        }
        Some("delete") => {
            app.delete_webhook(&admin.actor, &id).await.or_page(&admin, Section::Access)?;
            return Ok(admin
                .redirect_with("/admin/webhooks", &format!("Webhook to {url} deleted: nothing more is sent to it.")));
        }
        Some("pause") => app
            .update_webhook(&admin.actor, &id, paused(true))
            .await
            .map(|_| "Paused: changes wait until you resume it."),
        Some("resume") => app
            .update_webhook(&admin.actor, &id, paused(false))
            .await
            .map(|_| "Resumed: what waited is being sent now."),
        _ => {
            let again = posted_form(&app, &admin, &form).await;
            let patch = WebhookPatch {
                url: Some(again.url.clone()),
                kinds: Some(again.kinds.clone()),
                groups: Some(again.groups.iter().map(|(id, _)| id.clone()).collect()),
                paused: None,
            };
            match app.update_webhook(&admin.actor, &id, patch).await {
                Ok(_) => Ok("Saved."),
                Err(e) => {
                    let errors = form_errors(&e);
                    return one_page(&admin, &app, &id, Some((again, errors)), None, page::status(e)).await;
                }
            }
        }
    };
    match done {
        Ok(message) => Ok(admin.redirect_with(&here, message)),
        Err(e) => Ok(admin.redirect_with_error(&here, &page::general_message(&e))),
    }
}

/// `POST /admin/webhooks/{id}/deliveries/{delivery_id}/resend`: that batch again, now.
pub(crate) async fn resend(
    State(app): State<App>,
    Path((id, delivery)): Path<(String, String)>,
    posted: Posted,
) -> AdminResult {
    let admin = posted.admin;
    let here = format!("/admin/webhooks/{id}");
    match app.resend_webhook_delivery(&admin.actor, &id, &delivery).await {
        Ok(d) if d.status == "delivered" => {
            Ok(admin.redirect_with(&here, &format!("Sent again: {}.", outcome(&d).to_lowercase())))
        }
        Ok(d) => Ok(admin.redirect_with_error(&here, &format!("Sent again, and not taken. {}.", outcome(&d)))),
        Err(e @ AppError::NotFound(_)) => Err(e).or_page(&admin, Section::Access),
        Err(e) => Ok(admin.redirect_with_error(&here, &page::general_message(&e))),
    }
}
