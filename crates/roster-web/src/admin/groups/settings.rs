//! A group's Settings tab: rename, describe, delete.

use askama::Template;
use axum::extract::{Path, State};
use roster_app::groups::GroupPatch;
use roster_app::App;

use super::GroupHead;
use crate::admin::page::{self, AdminResult, Chrome, FieldErrors, OrPage, Section};
use crate::admin::session::{Admin, Posted};

#[derive(Template)]
#[template(path = "admin/group_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    group: GroupHead,
    tab: &'static str,
    name: String,
    description: String,
    errors: FieldErrors,
    delete_error: Option<String>,
}

impl SettingsPage {
    /// The page with the group's name and description in the form.
    fn of(admin: &Admin, group: GroupHead, delete_error: Option<String>) -> Self {
        SettingsPage {
            chrome: admin.chrome(Section::Groups),
            name: group.name.clone(),
            description: group.description.clone().unwrap_or_default(),
            group,
            tab: "settings",
            errors: FieldErrors::default(),
            delete_error,
        }
    }
}

/// `GET /admin/groups/{id}/settings`: rename, describe, delete.
pub(crate) async fn settings(admin: Admin, State(app): State<App>, Path(id): Path<String>) -> AdminResult {
    let group = GroupHead::from(app.get_group(&admin.actor, &id).await.or_page(&admin, Section::Groups)?);
    Ok(admin.page(&SettingsPage::of(&admin, group, None)))
}

/// `POST /admin/groups/{id}/settings`.
pub(crate) async fn save_settings(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    app.check_manages(&admin.actor, &id).await.or_page(&admin, Section::Groups)?;
    let patch = GroupPatch {
        name: Some(form.one("name").unwrap_or_default().to_owned()),
        description: Some(form.text("description")),
        ..GroupPatch::default()
    };
    let Err(e) = app.update_group(&admin.actor, &id, patch).await else {
        return Ok(admin.redirect_with(&format!("/admin/groups/{id}/settings"), "Group saved."));
    };
    let group = GroupHead::from(app.get_group(&admin.actor, &id).await.or_page(&admin, Section::Groups)?);
    let page = SettingsPage {
        chrome: admin.chrome(Section::Groups),
        group,
        tab: "settings",
        name: form.one("name").unwrap_or_default().to_owned(),
        description: form.one("description").unwrap_or_default().to_owned(),
        errors: FieldErrors::from_error(&e, &["name", "description"]),
        delete_error: None,
    };
    Ok(admin.page_with(page::status(e), &page))
}

/// `POST /admin/groups/{id}/delete`.
pub(crate) async fn delete(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let admin = posted.admin;
    app.check_manages(&admin.actor, &id).await.or_page(&admin, Section::Groups)?;
    let name = app.get_group(&admin.actor, &id).await.map(|g| g.name).unwrap_or_default();
    let Err(e) = app.delete_group(&admin.actor, &id).await else {
        return Ok(admin.redirect_with("/admin/groups", &format!("Group \"{name}\" deleted.")));
    };
    let group = GroupHead::from(app.get_group(&admin.actor, &id).await.or_page(&admin, Section::Groups)?);
    let page = SettingsPage::of(&admin, group, Some(page::general_message(&e)));
    Ok(admin.page_with(page::status(e), &page))
}
