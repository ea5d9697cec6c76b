//! An automatic group's Rules tab: the condition builder and the text form of its rule
//! (`assets/rules.js` keeps them in step and previews each edit through
//! `/admin/json/rules/preview`), saving, the include and exclude lists, the switch for
//! suspended users, and "Why?" for one user (in words: see `why.rs`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use roster_app::automatic::{ListInput, RuleView, UserRef};
use roster_app::groups::GroupPatch;
use roster_app::rules::RuleInput;
use roster_app::{App, AppError, ListKind, ListParams};
use serde::Deserialize;
use serde_json::{json, Value};

use super::groups::GroupHead;
use super::page::{self, script_json, AdminResult, Chrome, OrPage, Section};
use super::session::{Admin, Posted};
use super::why::{self, Why};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RulesQuery {
    why: Option<String>,
}

/// The include or the exclude list.
#[derive(Debug)]
struct ListBox {
    kind: &'static str,
    title: &'static str,
    help: &'static str,
    users: Vec<UserRef>,
}

#[derive(Template)]
#[template(path = "admin/group_rules.html")]
struct RulesPage {
    chrome: Chrome,
    group: GroupHead,
    tab: &'static str,
    /// The editor's state, for the script: rule text and sets, mode, error.
    editor: String,
    /// The builder's catalog, for the script: fields, courses, branches, groups.
    catalog: String,
    text: String,
    error: Option<String>,
    allow_suspended: bool,
    lists: Vec<ListBox>,
    why: Option<Why>,
    why_error: Option<String>,
}

/// What the editor shows when the page opens: the stored rule, or what was just
/// refused with its error.
struct Editor {
    text: String,
    sets: Option<Value>,
    mode: &'static str,
    error: Option<Value>,
}

impl Editor {
    fn stored(rule: RuleView) -> Self {
        let sets = rule.sets.and_then(|s| serde_json::to_value(s).ok());
        let text = rule.text.unwrap_or_default();
        let mode = if sets.is_none() && !text.is_empty() { "text" } else { "builder" };
        Self { text, sets, mode, error: None }
    }

    fn json(&self) -> Value {
        json!({
            "text": self.text,
            "sets": self.sets,
            "mode": self.mode,
            "error": self.error,
        })
    }
}

/// An error as the scripts read it: message, field, and where in the rule.
pub(crate) fn error_json(e: &AppError) -> Value {
    let position = match e {
        AppError::Rule { error, .. } => match &error.location {
            Some(roster_domain::rule::Location::Text { line, column }) => json!({"line": line, "column": column}),
            Some(roster_domain::rule::Location::Tree { path }) => json!({"path": path}),
            None => Value::Null,
        },
        _ => Value::Null,
    };
    let message = match e {
        AppError::Rule { error, .. } => error.message.clone(),
        other => page::general_message(other),
    };
    json!({"message": message, "field": page::field(e), "position": position})
}

/// How many courses the builder's catalog names up front; the course and group
/// pickers search the server for the rest as one types.
const CATALOG_COURSES: usize = 200;

/// The builder's catalog: what conditions may name. The first courses are listed only
/// to name a rule's courses among them (others show their code); the course and group
/// pickers search the server (`/admin/json/courses`, `/admin/json/groups`).
async fn catalog(app: &App, admin: &Admin, group_id: &str) -> Result<Value, AppError> {
    let fields = app.list_fields(&admin.actor).await?;
    let courses = app.list_courses(&admin.actor, &ListParams { cursor: None, limit: Some(CATALOG_COURSES) }).await?;
    let branches = app.list_branches(&admin.actor).await?;
    Ok(json!({
        "group": group_id,
        "fields": fields.iter().map(|f| json!({"code": f.code, "name": f.name, "type": f.field_type, "options": f.options})).collect::<Vec<_>>(),
        "courses": courses.items.iter().map(|c| json!({"code": c.code, "name": c.name})).collect::<Vec<_>>(),
        "branches": branches.iter().map(|b| json!({"code": b.code, "name": b.name, "depth": b.path.len().saturating_sub(1)})).collect::<Vec<_>>(),
        "operators": roster_domain::rule::operators_by_kind().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "standard": roster_domain::rule::standard_subject_kinds().into_iter().map(|(name, kind)| json!({"name": name, "kind": kind})).collect::<Vec<_>>(),
    }))
}

/// `GET /admin/groups/{id}/rules`.
pub(crate) async fn page(
    admin: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<RulesQuery>,
) -> AdminResult {
    let editor = Editor::stored(app.get_rule(&admin.actor, &id).await.or_page(&admin, Section::Groups)?);
    render(&admin, &app, &id, editor, query.why.as_deref(), StatusCode::OK).await
}

async fn render(
    admin: &Admin,
    app: &App,
    id: &str,
    editor: Editor,
    why_user: Option<&str>,
    status: StatusCode,
) -> AdminResult {
    let built = async {
        let view = app.get_group(&admin.actor, id).await?;
        let allow_suspended = view.allow_suspended.unwrap_or(false);
        let group = GroupHead::from(view);
        let includes = app.get_list(&admin.actor, id, ListKind::Include).await?;
        let excludes = app.get_list(&admin.actor, id, ListKind::Exclude).await?;
        let catalog = catalog(app, admin, &group.id).await?;
        Ok::<_, AppError>((group, allow_suspended, includes, excludes, catalog))
    }
    .await;
    let (group, allow_suspended, includes, excludes, catalog) = built.or_page(admin, Section::Groups)?;
    let (why, why_error) = match why_user.filter(|u| !u.is_empty()) {
        Some(user) => match why::explain(app, admin, id, user).await {
            Ok(w) => (Some(w), None),
            Err(e) => (None, Some(page::general_message(&e))),
        },
        None => (None, None),
    };
    let page = RulesPage {
        chrome: admin.chrome(Section::Groups),
        tab: "rules",
        editor: script_json(&editor.json()),
        catalog: script_json(&catalog),
        text: editor.text.clone(),
        error: editor.error.as_ref().and_then(|e| e["message"].as_str()).map(str::to_owned),
        group,
        allow_suspended,
        lists: vec![
            ListBox {
                kind: "include",
                title: "Include list",
                help: "Always members, whatever the rule says (unless also excluded).",
                users: includes,
            },
            ListBox {
                kind: "exclude",
                title: "Exclude list",
                help: "Never members, whatever the rule says.",
                users: excludes,
            },
        ],
        why,
        why_error,
    };
    Ok(admin.page_with(status, &page))
}

/// `POST /admin/groups/{id}/rules`: save the rule from the builder (`sets`) or the
/// text form (`text`), as `mode` says.
pub(crate) async fn save(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    app.check_manages(&admin.actor, &id).await.or_page(&admin, Section::Groups)?;
    let text = form.one("text").unwrap_or_default().to_owned();
    let sets: Option<Value> = form.one("sets").and_then(|s| serde_json::from_str(s).ok());
    let builder = form.one("mode") == Some("builder") && sets.is_some();
    let input = if builder {
        RuleInput { sets: sets.clone(), ..RuleInput::default() }
    } else {
        RuleInput { text: Some(text.clone()), ..RuleInput::default() }
    };
    match app.set_rule(&admin.actor, &id, input).await {
        Ok(outcome) => {
            let members = outcome.group.member_count;
            let message = format!(
                "Rule saved: {} joined, {} left; {members} member{} now.",
                outcome.joined,
                outcome.left,
                if members == 1 { "" } else { "s" }
            );
            Ok(admin.redirect_with(&format!("/admin/groups/{id}/rules"), &message))
        }
        Err(e) => {
            let error = error_json(&e);
            let status = page::status(e);
            let editor = Editor { text, sets, mode: if builder { "builder" } else { "text" }, error: Some(error) };
            render(&admin, &app, &id, editor, None, status).await
        }
    }
}

/// `POST /admin/groups/{id}/lists`: add users to, or remove one from, the include or
/// exclude list.
pub(crate) async fn edit_list(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> Response {
    let Posted { admin, form } = posted;
    if let Err(e) = app.check_manages(&admin.actor, &id).await {
        return admin.error(Section::Groups, e);
    }
    let (kind, what) = match form.one("list") {
        Some("exclude") => (ListKind::Exclude, "Exclude list"),
        _ => (ListKind::Include, "Include list"),
    };
    let result = async {
        let current = app.get_list(&admin.actor, &id, kind).await?;
        let mut users: Vec<String> = current.into_iter().map(|u| u.id).collect();
        if form.one("action") == Some("remove") {
            let gone = form.many("user");
            users.retain(|u| !gone.contains(u));
        } else {
            let added = form.many("users");
            if added.is_empty() {
                return Err(AppError::invalid("users", "pick at least one user"));
            }
            users.extend(added);
        }
        app.set_list(&admin.actor, &id, kind, ListInput { users }).await
    }
    .await;
    match result {
        Ok(o) => admin.redirect_with(
            &format!("/admin/groups/{id}/rules#lists"),
            &format!("{what} saved: {} joined, {} left.", o.joined, o.left),
        ),
        Err(e) => admin.redirect_with_error(&format!("/admin/groups/{id}/rules#lists"), &page::general_message(&e)),
    }
}

/// `POST /admin/groups/{id}/suspended`: whether suspended users who match may be members.
pub(crate) async fn allow_suspended(State(app): State<App>, Path(id): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    app.check_manages(&admin.actor, &id).await.or_page(&admin, Section::Groups)?;
    let allow = form.checked("allow_suspended");
    let patch = GroupPatch { allow_suspended: Some(allow), ..GroupPatch::default() };
    let g = app.update_group(&admin.actor, &id, patch).await.or_page(&admin, Section::Groups)?;
    let message = format!(
        "Suspended users are {} allowed; {} member{} now.",
        if allow { "now" } else { "no longer" },
        g.member_count,
        if g.member_count == 1 { "" } else { "s" }
    );
    Ok(admin.redirect_with(&format!("/admin/groups/{id}/rules"), &message))
}
