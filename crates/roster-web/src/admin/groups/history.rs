//! A group's History tab: its joins and leaves, newest first.

use askama::Template;
use axum::extract::{Path, Query, State};
use roster_app::{App, AppError, ListParams};
use roster_domain::MembershipChange;

use super::{EventRow, GroupHead, PageQuery};
use crate::admin::page::{actor_label, when, AdminResult, Chrome, OrPage, Pager, Section};
use crate::admin::session::Admin;

#[derive(Template)]
#[template(path = "admin/group_history.html")]
struct GroupHistoryPage {
    chrome: Chrome,
    group: GroupHead,
    tab: &'static str,
    events: Vec<EventRow>,
    pager: Pager,
}

/// `GET /admin/groups/{id}/history`: the group's joins and leaves, newest first.
pub(crate) async fn history(
    admin: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> AdminResult {
    let result = async {
        let group = GroupHead::from(app.get_group(&admin.actor, &id).await?);
        let paging = ListParams { cursor: query.cursor.clone(), limit: Some(50) };
        let list = app.group_events(&admin.actor, &id, &paging).await?;
        let ids: Vec<String> = list.items.iter().map(|e| e.user_id.clone()).collect();
        let users = app.user_labels(&admin.actor, &ids).await?;
        let events = list
            .items
            .iter()
            .map(|e| {
                let label = users.get(&e.user_id);
                EventRow {
                    at: when(&e.at),
                    joined: e.change == MembershipChange::Joined,
                    subject: label
                        .map_or_else(|| format!("user #{} (not visible to you)", e.user_id), |u| u.username.clone()),
                    subject_link: label.map(|u| format!("/admin/users/{}", u.id)),
                    actor: actor_label(&e.actor),
                    cause: e.cause.clone(),
                }
            })
            .collect();
        let path = format!("/admin/groups/{}/history", group.id);
        let pager =
            Pager::new(&path, &[], query.cursor.as_deref(), query.trail.as_deref(), list.next_cursor.as_deref());
        Ok::<_, AppError>(GroupHistoryPage {
            chrome: admin.chrome(Section::Groups),
            group,
            tab: "history",
            events,
            pager,
        })
    }
    .await;
    Ok(admin.page(&result.or_page(&admin, Section::Groups)?))
}
