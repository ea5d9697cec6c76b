//! The groups list, with search, sorting by name, member count or creation, numbered
//! pages, and the New Group panel.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use roster_app::groups::{GroupFilter, GroupSort, NewGroup};
use roster_app::App;
use roster_domain::GroupPolicy;
use serde::Deserialize;

use super::PAGE_SIZE;
use crate::admin::page::{self, when, AdminResult, Chrome, FieldErrors, NumberedPager, OrPage, Section};
use crate::admin::session::{Admin, Posted};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GroupsQuery {
    q: Option<String>,
    policy: Option<String>,
    sort: Option<String>,
    /// 1-based; absent for the first page.
    page: Option<u64>,
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
    created: String,
}

/// Where each sortable column's header leads: sorted by it, or reversed when it is
/// the sort shown.
#[derive(Debug)]
struct SortLinks {
    name: String,
    members: String,
    created: String,
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
    pager: NumberedPager,
    /// The sort shown (`name`, `-members`...), and the links that sort by each column.
    sort: &'static str,
    sort_links: SortLinks,
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
    let sort = GroupSort::parse(query.sort.as_deref().unwrap_or_default());
    let number = query.page.unwrap_or(1).max(1);
    let (items, total) =
        app.list_groups_sorted(&admin.actor, &filter, sort, number, PAGE_SIZE).await.or_page(admin, Section::Groups)?;
    let sort_param = if sort == GroupSort::default() { "" } else { sort.as_str() };
    let pager = NumberedPager::new(
        "/admin/groups",
        &[("q", &q), ("policy", &policy), ("sort", sort_param)],
        number,
        PAGE_SIZE as u64,
        items.len(),
        total,
    );
    let sort_by = |first: GroupSort, then: GroupSort| {
        let next = if sort == first { then } else { first };
        page::url("/admin/groups", &[("q", &q), ("policy", &policy), ("sort", next.as_str())])
    };
    let sort_links = SortLinks {
        name: sort_by(GroupSort::Name, GroupSort::NameDesc),
        members: sort_by(GroupSort::MostMembers, GroupSort::FewestMembers),
        created: sort_by(GroupSort::Newest, GroupSort::Oldest),
    };
    let groups = items
        .into_iter()
        .map(|g| GroupRow {
            automatic: g.policy == GroupPolicy::Automatic,
            description: g.description.unwrap_or_default(),
            id: g.id,
            name: g.name,
            members: g.member_count,
            scope: g.scope.map(|s| s.join(", ")).unwrap_or_default(),
            created: when(&g.created_at),
        })
        .collect();
    let page = GroupsPage {
        chrome: admin.chrome(Section::Groups),
        q,
        policy,
        groups,
        pager,
        sort: sort.as_str(),
        sort_links,
        new_open,
        form,
        errors,
    };
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
