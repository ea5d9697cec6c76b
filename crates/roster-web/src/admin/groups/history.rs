//! A group's History tab: its joins and leaves, newest first, and who its members were
//! at any past moment ("Members on ..."), answered from those same events.

use askama::Template;
use axum::extract::{Path, Query, State};
use roster_app::{App, AppError, ListParams};
use roster_domain::MembershipChange;
use serde::Deserialize;

use super::{EventRow, GroupHead};
use crate::admin::page::{actor_label, when, AdminResult, Chrome, OrPage, Pager, Section};
use crate::admin::session::Admin;

/// Members shown per page of a past membership.
const PAST_PAGE: usize = 50;

/// The query of the History tab: a page of events, or with `on`, the members then.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct HistoryQuery {
    cursor: Option<String>,
    trail: Option<String>,
    /// A day, `YYYY-MM-DD` (a date input's value).
    on: Option<String>,
    /// A time that day, `HH:MM` (UTC); the end of the day when absent.
    time: Option<String>,
}

/// A member at the moment asked about.
struct PastMember {
    label: String,
    link: Option<String>,
}

/// The members at the moment asked about.
struct Past {
    /// The moment, as a person reads it.
    moment: String,
    total: u64,
    /// Whether the group existed then.
    existed: bool,
    members: Vec<PastMember>,
}

#[derive(Template)]
#[template(path = "admin/group_history.html")]
struct GroupHistoryPage {
    chrome: Chrome,
    group: GroupHead,
    created: String,
    tab: &'static str,
    events: Vec<EventRow>,
    pager: Pager,
    /// The as-of form as sent.
    on: String,
    time: String,
    /// Why the moment asked for was refused.
    as_of_error: Option<String>,
    past: Option<Past>,
}

/// The moment `on` and `time` name, RFC 3339 in UTC, or what is wrong with them.
fn moment(on: &str, time: &str) -> Result<String, String> {
    let is_date = on.len() == 10
        && on.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !is_date {
        return Err(format!("\"{on}\" is not a day: pick one in the calendar, or type it as 2026-03-01."));
    }
    match time {
        "" => Ok(format!("{on}T23:59:59.999Z")),
        t if t.len() == 5 && t.as_bytes()[2] == b':' && t.bytes().filter(u8::is_ascii_digit).count() == 4 => {
            Ok(format!("{on}T{t}:00Z"))
        }
        t => Err(format!("\"{t}\" is not a time of day: type it as 09:30, or leave it empty for the end of the day.")),
    }
}

/// `GET /admin/groups/{id}/history`: the group's joins and leaves, newest first; with
/// `on` (and `time`), its members at that moment.
pub(crate) async fn history(
    admin: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> AdminResult {
    let on = query.on.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let time = query.time.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let result = async {
        let view = app.get_group(&admin.actor, &id).await?;
        let created = when(&view.created_at);
        let group = GroupHead::from(view);
        let path = format!("/admin/groups/{}/history", group.id);
        let mut page = GroupHistoryPage {
            chrome: admin.chrome(Section::Groups),
            group,
            created,
            tab: "history",
            events: vec![],
            pager: Pager::new(&path, &[], None, None, None),
            on: on.clone(),
            time: time.clone(),
            as_of_error: None,
            past: None,
        };
        if on.is_empty() && time.is_empty() {
            let paging = ListParams { cursor: query.cursor.clone(), limit: Some(50) };
            let list = app.group_events(&admin.actor, &id, &paging).await?;
            page.events = event_rows(&app, &admin, &list.items).await?;
            page.pager =
                Pager::new(&path, &[], query.cursor.as_deref(), query.trail.as_deref(), list.next_cursor.as_deref());
            return Ok::<_, AppError>(page);
        }
        if on.is_empty() {
            page.as_of_error = Some("Pick a day first; the time is optional.".to_owned());
            return Ok(page);
        }
        let at = match moment(&on, &time) {
            Ok(at) => at,
            Err(why) => {
                page.as_of_error = Some(why);
                return Ok(page);
            }
        };
        let paging = ListParams { cursor: query.cursor.clone(), limit: Some(PAST_PAGE) };
        let past = match app.members_as_of(&admin.actor, &id, &at, &paging).await {
            Ok(past) => past,
            Err(AppError::BadRequest { field: Some(f), .. }) if f == "as_of" => {
                let asked = if time.is_empty() { on.clone() } else { format!("{on} {time}") };
                page.as_of_error = Some(format!("There is no such moment as {asked}: check the day and the time."));
                return Ok(page);
            }
            Err(e) => return Err(e),
        };
        let ids: Vec<String> = past.items.iter().map(|m| m.user_id.clone()).collect();
        let users = app.user_labels(&admin.actor, &ids).await?;
        let members = ids
            .iter()
            .map(|id| match users.get(id) {
                Some(u) => PastMember { label: u.username.clone(), link: Some(format!("/admin/users/{}", u.id)) },
                None => PastMember { label: format!("user #{id} (deleted since)"), link: None },
            })
            .collect();
        let moment = if time.is_empty() { format!("{on}, end of the day (UTC)") } else { format!("{on} {time} UTC") };
        let params = [("on", on.as_str()), ("time", time.as_str())];
        page.pager =
            Pager::new(&path, &params, query.cursor.as_deref(), query.trail.as_deref(), past.next_cursor.as_deref());
        page.past = Some(Past { moment, total: past.total, existed: past.existed, members });
        Ok(page)
    }
    .await;
    Ok(admin.page(&result.or_page(&admin, Section::Groups)?))
}

async fn event_rows(
    app: &App,
    admin: &Admin,
    items: &[roster_app::views::EventView],
) -> Result<Vec<EventRow>, AppError> {
    let ids: Vec<String> = items.iter().map(|e| e.user_id.clone()).collect();
    let users = app.user_labels(&admin.actor, &ids).await?;
    Ok(items
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
        .collect())
}
