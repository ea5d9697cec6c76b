//! Which column of the file fills which field of a user: the explicit mapping first
//! (`map=E-mail=email`), then every other column by its header, through roster-csv's
//! synonyms of the standard fields and the additional fields' codes and names.

use roster_csv::{normalize_header, Header, Synonyms, STANDARD_USER_FIELDS};
use roster_domain::FieldDef;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ColumnMapping, ImportMode};
use crate::{AppError, AppResult};

/// The standard fields a column may fill, in template order.
pub(super) const STANDARD: &[&str] =
    &["username", "email", "first_name", "last_name", "status", "language", "timezone", "branch", "password"];

/// What a column fills.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Target {
    /// One of [`STANDARD`].
    Standard(&'static str),
    /// An additional field.
    Field(FieldDef),
}

impl Target {
    /// The name a mapping uses for it: the standard name or the field's code.
    pub(super) fn name(&self) -> &str {
        match self {
            Self::Standard(name) => name,
            Self::Field(def) => def.code.as_str(),
        }
    }
}

/// How a column came to be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappedBy {
    /// The import's `map` said so.
    Explicit,
    /// Its header names the field (or a synonym of it).
    Header,
}

/// One column and what it fills, as the job reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MappedColumn {
    /// 1-based column number.
    pub column: usize,
    /// The column's header.
    pub header: String,
    /// `username`, `email`, ..., an additional field's code, or `ignore`.
    pub target: String,
    /// Whether the mapping said so or the header did.
    pub by: MappedBy,
}

/// The columns of a file and what each fills.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// (0-based column index, target), in file order.
    pub columns: Vec<(usize, Target)>,
    /// Every column that is used or explicitly ignored, for the report.
    pub mapped: Vec<MappedColumn>,
    /// Headers of the columns nothing fills.
    pub unmapped: Vec<String>,
}

impl Plan {
    /// The 0-based column that fills `name` (a standard field).
    pub(super) fn standard(&self, name: &str) -> Option<usize> {
        self.columns.iter().find(|(_, t)| matches!(t, Target::Standard(s) if *s == name)).map(|(i, _)| *i)
    }
}

/// What a mapping's target names: a field, or nothing (`ignore`).
fn resolve_target(raw: &str, fields: &[FieldDef]) -> Option<Option<Target>> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("ignore") {
        return Some(None);
    }
    if let Some(s) = STANDARD.iter().find(|s| s.eq_ignore_ascii_case(t)) {
        return Some(Some(Target::Standard(s)));
    }
    fields
        .iter()
        .find(|f| f.code.as_str().eq_ignore_ascii_case(t))
        .or_else(|| fields.iter().find(|f| f.name.as_str().eq_ignore_ascii_case(t)))
        .map(|f| Some(Target::Field(f.clone())))
}

fn targets_hint(fields: &[FieldDef]) -> String {
    let mut all: Vec<&str> = STANDARD.to_vec();
    all.extend(fields.iter().map(|f| f.code.as_str()));
    all.push("ignore");
    all.join(", ")
}

fn invalid_map(entry: &ColumnMapping, message: String) -> AppError {
    AppError::invalid("map", format!("map \"{}={}\": {message}", entry.header, entry.target))
}

/// The synonyms of every target: the standard ones (a file's `action` column is not a
/// user's), then each additional field's code and name under the key `field:CODE`.
fn synonyms(fields: &[FieldDef]) -> Synonyms {
    let mut synonyms = Synonyms::new();
    for (key, names) in STANDARD_USER_FIELDS.iter().filter(|(key, _)| STANDARD.contains(key)) {
        synonyms.add(key, names.iter());
    }
    for f in fields {
        synonyms.add(&format!("field:{}", f.code), [f.code.as_str(), f.name.as_str()]);
    }
    synonyms
}

/// What each column may fill and the headers that name it, compared after
/// [`normalize_header`]: `(target, normalised headers)`, the standard fields first, then
/// each additional field by its code and name. The admin UI resolves a file's columns
/// with it as soon as the file is read, before anything is uploaded.
pub fn header_names(fields: &[crate::views::FieldView]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = STANDARD_USER_FIELDS
        .iter()
        .filter(|(key, _)| STANDARD.contains(key))
        .map(|(key, names)| ((*key).to_owned(), names.iter().map(|n| normalize_header(n)).collect()))
        .collect();
    out.extend(fields.iter().map(|f| (f.code.clone(), vec![normalize_header(&f.code), normalize_header(&f.name)])));
    out
}

/// Maps the columns of `header`; refuses a mapping that names an unknown column or
/// field, two columns for one field, and a file without the columns `mode` needs.
pub(super) fn plan(
    header: &Header,
    explicit: &[ColumnMapping],
    fields: &[FieldDef],
    mode: ImportMode,
) -> AppResult<Plan> {
    let names = header.names();
    let mut chosen: Vec<Option<(Option<Target>, MappedBy)>> = vec![None; names.len()];
    for entry in explicit {
        let wanted = normalize_header(&entry.header);
        let index = names.iter().position(|n| normalize_header(n) == wanted).ok_or_else(|| {
            invalid_map(
                entry,
                format!("the file has no column \"{}\"; its columns are: {}", entry.header, names.join(", ")),
            )
        })?;
        let target = resolve_target(&entry.target, fields).ok_or_else(|| {
            invalid_map(
                entry,
                format!("there is no field \"{}\"; map to one of: {}", entry.target.trim(), targets_hint(fields)),
            )
        })?;
        if chosen[index].is_some() {
            return Err(invalid_map(entry, format!("column \"{}\" is mapped twice", names[index])));
        }
        if let Some(t) = target.as_ref().filter(|t| taken(&chosen, t)) {
            return Err(invalid_map(entry, format!("another column is already mapped to {}", t.name())));
        }
        chosen[index] = Some((target, MappedBy::Explicit));
    }
    let by_header = synonyms(fields).map(header);
    // Two headers that name one field: the mapping must say which (or ignore the others).
    for ambiguous in by_header.ambiguous() {
        let Some(target) = key_target(&ambiguous.key, fields) else { continue };
        if taken(&chosen, &target) {
            continue;
        }
        let open: Vec<&roster_csv::Column> =
            ambiguous.columns.iter().filter(|c| chosen[c.number - 1].is_none()).collect();
        match open.as_slice() {
            [] => {}
            [one] => chosen[one.number - 1] = Some((Some(target), MappedBy::Header)),
            several => {
                let listed: Vec<String> = several.iter().map(ToString::to_string).collect();
                return Err(AppError::invalid(
                    "map",
                    format!(
                        "{} could each be {}: map one of them (map=HEADER={}) and the others to ignore",
                        listed.join(" and "),
                        target.name(),
                        target.name()
                    ),
                ));
            }
        }
    }
    for (key, column) in by_header.mapped() {
        let index = column.number - 1;
        if chosen[index].is_some() {
            continue;
        }
        if let Some(target) = key_target(key, fields) {
            if !taken(&chosen, &target) {
                chosen[index] = Some((Some(target), MappedBy::Header));
            }
        }
    }
    let mut plan = Plan { columns: Vec::new(), mapped: Vec::new(), unmapped: Vec::new() };
    for (index, choice) in chosen.into_iter().enumerate() {
        match choice {
            Some((target, by)) => {
                plan.mapped.push(MappedColumn {
                    column: index + 1,
                    header: names[index].clone(),
                    target: target.as_ref().map_or("ignore", Target::name).to_owned(),
                    by,
                });
                if let Some(t) = target {
                    plan.columns.push((index, t));
                }
            }
            None => plan.unmapped.push(names[index].clone()),
        }
    }
    if plan.standard("username").is_none() {
        return Err(AppError::invalid(
            "file",
            format!(
                "row {} (the header) has no username column: name one username, user, login or user id, or map one with map=HEADER=username; the columns are: {}",
                header.row(),
                names.join(", ")
            ),
        ));
    }
    if mode == ImportMode::Create && plan.standard("email").is_none() {
        return Err(AppError::invalid(
            "file",
            format!(
                "row {} (the header) has no email column, which creating users needs: name one email or e-mail, or map one with map=HEADER=email",
                header.row()
            ),
        ));
    }
    Ok(plan)
}

/// Whether a column is already chosen for `target`.
fn taken(chosen: &[Option<(Option<Target>, MappedBy)>], target: &Target) -> bool {
    chosen.iter().flatten().any(|(other, _)| other.as_ref() == Some(target))
}

fn key_target(key: &str, fields: &[FieldDef]) -> Option<Target> {
    match key.strip_prefix("field:") {
        Some(code) => fields.iter().find(|f| f.code.as_str() == code).map(|f| Target::Field(f.clone())),
        None => STANDARD.iter().find(|s| **s == key).map(|s| Target::Standard(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_csv::CsvReader;
    use roster_domain::{Code, FieldType, Name};

    fn fields() -> Vec<FieldDef> {
        vec![FieldDef {
            code: Code::parse("code", "department").unwrap(),
            name: Name::parse("name", "Department").unwrap(),
            field_type: FieldType::Text,
            options: vec![],
        }]
    }

    fn header(line: &str) -> Header {
        CsvReader::from_bytes(line.as_bytes()).unwrap().header().clone()
    }

    fn targets(plan: &Plan) -> Vec<(usize, String)> {
        plan.columns.iter().map(|(i, t)| (*i, t.name().to_owned())).collect()
    }

    fn map(header: &str, target: &str) -> ColumnMapping {
        ColumnMapping { header: header.into(), target: target.into() }
    }

    #[test]
    fn headers_map_by_synonym_code_and_name() {
        let plan = plan(&header("Login,E-mail,Department,Notes,Action\n"), &[], &fields(), ImportMode::Create).unwrap();
        assert_eq!(targets(&plan), [(0, "username".into()), (1, "email".into()), (2, "department".into())]);
        assert_eq!(plan.unmapped, ["Notes", "Action"]);
        assert!(plan.mapped.iter().all(|m| m.by == MappedBy::Header));
    }

    #[test]
    fn explicit_mapping_wins_and_ignores() {
        let explicit = [map("Notes", "department"), map("department", "ignore"), map("Mail", "EMAIL")];
        let plan = plan(&header("Login,Mail,Department,Notes\n"), &explicit, &fields(), ImportMode::Create).unwrap();
        assert_eq!(targets(&plan), [(0, "username".into()), (1, "email".into()), (3, "department".into())]);
        let ignored = plan.mapped.iter().find(|m| m.header == "Department").unwrap();
        assert_eq!((ignored.target.as_str(), ignored.by), ("ignore", MappedBy::Explicit));
        assert!(plan.unmapped.is_empty());
    }

    #[test]
    fn refusals_name_the_mapping_or_the_header() {
        let h = header("user,email\n");
        let e = plan(&h, &[map("user", "departmnet")], &fields(), ImportMode::Create).unwrap_err();
        assert!(e.to_string().contains("departmnet") && e.to_string().contains("department"), "{e}");
        let e = plan(&h, &[map("Nope", "email")], &fields(), ImportMode::Create).unwrap_err();
        assert!(e.to_string().contains("no column \"Nope\""), "{e}");
        let e =
            plan(&h, &[map("user", "username"), map("email", "username")], &fields(), ImportMode::Create).unwrap_err();
        assert!(e.to_string().contains("already mapped to username"), "{e}");
        let e = plan(&header("email,name\n"), &[], &fields(), ImportMode::Update).unwrap_err();
        assert!(e.to_string().contains("no username column"), "{e}");
        let e = plan(&header("user\n"), &[], &fields(), ImportMode::Create).unwrap_err();
        assert!(e.to_string().contains("no email column"), "{e}");
        assert!(plan(&header("user\n"), &[], &fields(), ImportMode::Update).is_ok());
        let e = plan(&header("user,Mail,E-mail address\n"), &[], &fields(), ImportMode::Update).unwrap_err();
        assert!(e.to_string().contains("could each be email"), "{e}");
        let ok = plan(&header("user,Mail,E-mail address\n"), &[map("Mail", "ignore")], &fields(), ImportMode::Update);
        assert_eq!(targets(&ok.unwrap()), [(0, "username".into()), (2, "email".into())]);
    }
}
