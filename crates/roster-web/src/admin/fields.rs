//! Additional fields: the list, a new field of any of the five types, renaming a field
//! and editing (or reordering) a dropdown's options, moving a field up or down the
//! order every form and page lists fields in, deleting one. Everyone sees the list (a
//! training admin needs it to read users and write rules); only a superadmin changes
//! fields (the app layer refuses the others), so the forms are shown to superadmins
//! only.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use roster_app::catalog::{FieldPatch, NewField};
use roster_app::views::FieldView;
use roster_app::App;
use serde::Deserialize;

use super::page::{self, AdminResult, Chrome, FieldErrors, OrPage, Section};
use super::session::{Admin, FormData, Posted};

/// The five types, as the app names them and as a page says them.
const TYPES: [(&str, &str); 5] =
    [("text", "Text"), ("number", "Number"), ("date", "Date"), ("dropdown", "Dropdown"), ("yes_no", "Yes / No")];

fn type_label(field_type: &str) -> &'static str {
    TYPES.iter().find(|(t, _)| *t == field_type).map(|(_, l)| *l).unwrap_or("Text")
}

#[derive(Debug)]
struct FieldRow {
    code: String,
    name: String,
    kind: &'static str,
    dropdown: bool,
    options: Vec<String>,
    /// 1 is first.
    position: usize,
    /// Whether it is the last field.
    last: bool,
    /// The move button (`up`, `down`) that gets the keyboard focus when the page opens:
    /// the one just pressed, or the other when the field reached an end.
    focus: &'static str,
}

/// What a field form holds, as typed.
#[derive(Debug, Default)]
struct FieldForm {
    code: String,
    name: String,
    kind: String,
    /// One option a line.
    options: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FieldsQuery {
    edit: Option<String>,
    new: Option<String>,
    /// The field just moved, and which way (`up`, `down`): the page puts the keyboard
    /// focus back on that button, so a field can be moved again and again.
    moved: Option<String>,
    way: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/fields.html")]
struct FieldsPage {
    chrome: Chrome,
    fields: Vec<FieldRow>,
    types: [(&'static str, &'static str); 5],
    /// The field being edited (its code), if any.
    editing: String,
    form: FieldForm,
    errors: FieldErrors,
    new_open: bool,
}

/// `GET /admin/fields` (`?edit=CODE` opens a field's form, `?new=1` the new-field panel).
pub(crate) async fn list(admin: Admin, State(app): State<App>, Query(query): Query<FieldsQuery>) -> AdminResult {
    let editing = query.edit.unwrap_or_default();
    let open = query.new.is_some();
    let moved = (query.moved.unwrap_or_default(), query.way.unwrap_or_default());
    let view = FieldsView { editing, new_open: open, moved, ..FieldsView::default() };
    fields_page(&admin, &app, view, StatusCode::OK).await
}

/// What a fields page shows beside the list.
#[derive(Debug, Default)]
struct FieldsView {
    editing: String,
    form: Option<FieldForm>,
    errors: FieldErrors,
    new_open: bool,
    moved: (String, String),
}

async fn fields_page(admin: &Admin, app: &App, view: FieldsView, status: StatusCode) -> AdminResult {
    let FieldsView { editing, form, errors, new_open, moved } = view;
    let fields = app.list_fields(&admin.actor).await.or_page(admin, Section::Fields)?;
    let form = form.unwrap_or_else(|| match fields.iter().find(|f| f.code == editing) {
        Some(f) => FieldForm {
            code: f.code.clone(),
            name: f.name.clone(),
            kind: f.field_type.clone(),
            options: f.options.join("\n"),
        },
        None => FieldForm { kind: "text".to_owned(), ..FieldForm::default() },
    });
    let page = FieldsPage {
        chrome: admin.chrome(Section::Fields),
        fields: rows(fields, &moved),
        types: TYPES,
        editing,
        form,
        errors,
        new_open,
    };
    Ok(admin.page_with(status, &page))
}

fn rows(fields: Vec<FieldView>, moved: &(String, String)) -> Vec<FieldRow> {
    let count = fields.len();
    fields
        .into_iter()
        .map(|f| {
            let last = f.position == count;
            let focus = match moved.1.as_str() {
                _ if moved.0 != f.code => "",
                "up" if f.position > 1 => "up",
                "down" if !last => "down",
                "up" if !last => "down",
                "down" if f.position > 1 => "up",
                _ => "",
            };
            FieldRow {
                kind: type_label(&f.field_type),
                dropdown: f.field_type == "dropdown",
                code: f.code,
                name: f.name,
                options: f.options,
                position: f.position,
                last,
                focus,
            }
        })
        .collect()
}

/// The options of a posted form: one a line, blank lines left out.
fn options(form: &FormData) -> Vec<String> {
    form.one("options")
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A code made from a name when none is typed: `Hire Date` is `hire_date`.
fn code_from(name: &str) -> String {
    let mut code = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c.to_ascii_lowercase());
        } else if !code.is_empty() && !code.ends_with('_') {
            code.push('_');
        }
    }
    code.trim_end_matches('_').to_owned()
}

fn typed(form: &FormData, code: &str) -> FieldForm {
    FieldForm {
        code: code.to_owned(),
        name: form.one("name").unwrap_or_default().to_owned(),
        kind: form.one("type").unwrap_or_default().to_owned(),
        options: form.one("options").unwrap_or_default().to_owned(),
    }
}

/// `POST /admin/fields`: a new field; the code is made from the name when left empty.
pub(crate) async fn create(State(app): State<App>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    let name = form.one("name").unwrap_or_default().to_owned();
    let code = match form.one("code").map(str::trim) {
        Some(c) if !c.is_empty() => c.to_owned(),
        _ => code_from(&name),
    };
    let field_type = form.one("type").unwrap_or_default().to_owned();
    let input = NewField {
        code: code.clone(),
        name,
        options: if field_type == "dropdown" { options(&form) } else { vec![] },
        field_type,
    };
    match app.create_field(&admin.superadmin(Section::Fields)?, input).await {
        Ok(f) => Ok(admin.redirect_with("/admin/fields", &format!("The field {} was created.", f.name))),
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["code", "name", "type", "options"]);
            let again = typed(&form, form.one("code").unwrap_or_default());
            let view = FieldsView { form: Some(again), errors, new_open: true, ..FieldsView::default() };
            fields_page(&admin, &app, view, page::status(e)).await
        }
    }
}

/// `POST /admin/fields/{code}`: rename a field and set a dropdown's options (their
/// order is the order of the lines), move it one place up or down the order of fields
/// (`action=up`, `action=down`), or delete it (`action=delete`), which is refused while
/// a group's rule reads it.
pub(crate) async fn save(State(app): State<App>, Path(code): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    if let Some(way @ ("up" | "down")) = form.one("action") {
        return move_field(&app, &admin, &code, way).await;
    }
    if form.one("action") == Some("delete") {
        let superadmin = admin.superadmin(Section::Fields)?;
        let name = app.get_field(&admin.actor, &code).await.or_page(&admin, Section::Fields)?.name;
        return match app.delete_field(&superadmin, &code).await {
            Ok(()) => Ok(admin.redirect_with("/admin/fields", &format!("The field {name} was deleted."))),
            Err(e) => {
                let errors = FieldErrors::general(page::message(&e));
                let view = FieldsView { editing: code, errors, ..FieldsView::default() };
                fields_page(&admin, &app, view, page::status(e)).await
            }
        };
    }
    let superadmin = admin.superadmin(Section::Fields)?;
    let current = app.get_field(&admin.actor, &code).await.or_page(&admin, Section::Fields)?;
    let patch = FieldPatch {
        name: Some(form.one("name").unwrap_or_default().to_owned()),
        options: (current.field_type == "dropdown").then(|| options(&form)),
        position: None,
    };
    match app.update_field(&superadmin, &code, patch).await {
        Ok(f) => Ok(admin.redirect_with("/admin/fields", &format!("The field {} was saved.", f.name))),
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["name", "options"]);
            let mut again = typed(&form, &code);
            again.kind = current.field_type;
            let view = FieldsView { editing: code, form: Some(again), errors, ..FieldsView::default() };
            fields_page(&admin, &app, view, page::status(e)).await
        }
    }
}

/// Moves a field one place `way` (`up` or `down`) and says where it now stands.
async fn move_field(app: &App, admin: &Admin, code: &str, way: &str) -> AdminResult {
    let superadmin = admin.superadmin(Section::Fields)?;
    let current = app.get_field(&admin.actor, code).await.or_page(admin, Section::Fields)?;
    let count = app.list_fields(&admin.actor).await.or_page(admin, Section::Fields)?.len();
    let to = match way {
        "up" => current.position.saturating_sub(1).max(1),
        _ => (current.position + 1).min(count),
    };
    let patch = FieldPatch { position: i64::try_from(to).ok(), ..FieldPatch::default() };
    match app.update_field(&superadmin, code, patch).await {
        Ok(f) => {
            let to = format!("/admin/fields?moved={}&way={way}", encode(&f.code));
            Ok(admin.redirect_with(&to, &format!("{} is now field {} of {count}.", f.name, f.position)))
        }
        Err(e) => {
            let view = FieldsView { errors: FieldErrors::general(page::message(&e)), ..FieldsView::default() };
            fields_page(admin, app, view, page::status(e)).await
        }
    }
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::code_from;

    #[test]
    fn a_code_is_made_from_the_name() {
        assert_eq!(code_from("Hire Date"), "hire_date");
        assert_eq!(code_from("  Employee  Status (HR) "), "employee_status_hr");
    }
}
