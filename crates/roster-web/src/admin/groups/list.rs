//! The groups list, with search and paging, and the New Group panel.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use roster_app::groups::{GroupFilter, NewGroup};
use roster_app::{App, ListParams};
use roster_domain::GroupPolicy;
use serde::Deserialize;

use super::PAGE_SIZE;
use crate::admin::page::{self, AdminResult, Chrome, FieldErrors, OrPage, Pager, Section};
use crate::admin::session::{Admin, Posted};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GroupsQuery {
    q: Option<String>,
    policy: Option<String>,
    cursor: Option<String>,
    trail: Option<String>,
    new: Option<String>,
}

#[derive(Debug)]
struct GroupRow {
    id: String,
    name: String,
    description: String,
    automatic: bool,
    members: i64,
    /// Its branches, or empty when platform-wide.
    scope: String,
}

/// What the New Group panel holds.
#[derive(Debug, Default)]
struct NewGroupForm {
    name: String,
    description: String,
    automatic: bool,
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage {
    chrome: Chrome,
    q: String,
    policy: String,
    groups: Vec<GroupRow>,
    pager: Pager,
    new_open: bool,
    form: NewGroupForm,
    errors: FieldErrors,
}

/// `GET /admin/groups`.
pub(crate) async fn list(admin: Admin, State(app): State<App>, Query(query): Query<GroupsQuery>) -> AdminResult {
    let open = query.new.is_some();
    groups_page(&admin, &app, &query, open, NewGroupForm::default(), FieldErrors::default(), StatusCode::OK).await
}

async fn groups_page(
    admin: &Admin,
    app: &App,
    query: &GroupsQuery,
    new_open: bool,
    form: NewGroupForm,
    errors: FieldErrors,
    status: StatusCode,
) -> AdminResult {
    let q = query.q.clone().unwrap_or_default();
    let policy = query.policy.clone().unwrap_or_default();
    let filter = GroupFilter { q: Some(q.clone()), policy: Some(policy.clone()) };
    let paging = ListParams { cursor: query.cursor.clone(), limit: Some(PAGE_SIZE) };
    let list = app.list_groups(&admin.actor, &filter, &paging).await.or_page(admin, Section::Groups)?;
    let pager = Pager::new(
        "/admin/groups",
        &[("q", &q), ("policy", &policy)],
        query.cursor.as_deref(),
        query.trail.as_deref(),
        list.next_cursor.as_deref(),
    );
    let groups = list
        .items
        .into_iter()
        .map(|g| GroupRow {
            automatic: g.policy == GroupPolicy::Automatic,
            description: g.description.unwrap_or_default(),
            id: g.id,
            name: g.name,
            members: g.member_count,
            scope: g.scope.map(|s| s.join(", ")).unwrap_or_default(),
        })
        .collect();
    let page = GroupsPage { chrome: admin.chrome(Section::Groups), q, policy, groups, pager, new_open, form, errors };
    Ok(admin.page_with(status, &page))
}

/// `POST /admin/groups`: the New Group panel's "Create and edit".
pub(crate) async fn create(State(app): State<App>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let input = NewGroup {
        name: form.one("name").unwrap_or_default().to_owned(),
        description: form.text("description"),
        policy: form.text("policy"),
        scope: None,
    };
    match app.create_group(&admin.actor, input).await {
        Ok(group) => {
            let to = if group.policy == GroupPolicy::Automatic {
                format!("/admin/groups/{}/rules", group.id)
            } else {
                format!("/admin/groups/{}", group.id)
            };
            Ok(admin.redirect_with(&to, &format!("Group \"{}\" created.", group.name)))
        }
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["name", "description", "policy"]);
            let status = page::status(e);
            let again = NewGroupForm {
                name: form.one("name").unwrap_or_default().to_owned(),
                description: form.one("description").unwrap_or_default().to_owned(),
                automatic: form.one("policy") == Some("automatic"),
            };
            groups_page(&admin, &app, &GroupsQuery::default(), true, again, errors, status).await
        }
    }
}
