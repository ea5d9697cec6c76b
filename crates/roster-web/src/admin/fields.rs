//! Additional fields: the list, a new field of any of the five types, renaming a field
//! and editing (or reordering) a dropdown's options, deleting one. Everyone sees the
//! list (a training admin needs it to read users and write rules); only a superadmin
//! changes fields (the app layer refuses the others), so the forms are shown to
//! superadmins only. Fields keep the order they were created in: the store has no
//! position for them.

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
    fields_page(&admin, &app, editing, None, FieldErrors::default(), open, StatusCode::OK).await
}

async fn fields_page(
    admin: &Admin,
    app: &App,
    editing: String,
    form: Option<FieldForm>,
    errors: FieldErrors,
    new_open: bool,
    status: StatusCode,
) -> AdminResult {
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
        fields: fields.into_iter().map(row).collect(),
        types: TYPES,
        editing,
        form,
        errors,
        new_open,
    };
    Ok(admin.page_with(status, &page))
}

fn row(f: FieldView) -> FieldRow {
    FieldRow {
        kind: type_label(&f.field_type),
        dropdown: f.field_type == "dropdown",
        code: f.code,
        name: f.name,
        options: f.options,
    }
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
            fields_page(&admin, &app, String::new(), Some(again), errors, true, page::status(e)).await
        }
    }
}

/// `POST /admin/fields/{code}`: rename a field and set a dropdown's options (their
/// order is the order of the lines), or delete it (`action=delete`), which is refused
/// while a group's rule reads it.
pub(crate) async fn save(State(app): State<App>, Path(code): Path<String>, posted: Posted) -> AdminResult {
    let Posted { admin, form } = posted;
    if form.one("action") == Some("delete") {
        let superadmin = admin.superadmin(Section::Fields)?;
        let name = app.get_field(&admin.actor, &code).await.or_page(&admin, Section::Fields)?.name;
        return match app.delete_field(&superadmin, &code).await {
            Ok(()) => Ok(admin.redirect_with("/admin/fields", &format!("The field {name} was deleted."))),
            Err(e) => {
                let errors = FieldErrors::general(page::message(&e));
                fields_page(&admin, &app, code, None, errors, false, page::status(e)).await
            }
        };
    }
    let superadmin = admin.superadmin(Section::Fields)?;
    let current = app.get_field(&admin.actor, &code).await.or_page(&admin, Section::Fields)?;
    let patch = FieldPatch {
        name: Some(form.one("name").unwrap_or_default().to_owned()),
        options: (current.field_type == "dropdown").then(|| options(&form)),
    };
    match app.update_field(&superadmin, &code, patch).await {
        Ok(f) => Ok(admin.redirect_with("/admin/fields", &format!("The field {} was saved.", f.name))),
        Err(e) => {
            let errors = FieldErrors::from_error(&e, &["name", "options"]);
            let mut again = typed(&form, &code);
            again.kind = current.field_type;
            fields_page(&admin, &app, code, Some(again), errors, false, page::status(e)).await
        }
    }
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
