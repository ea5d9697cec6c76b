//! Header matching: which column holds which field, by normalised name and synonyms.

use crate::error::Column;
use crate::reader::{Header, Record};

/// The standard user fields and the headers that name them, for `Synonyms`.
pub const STANDARD_USER_FIELDS: &[(&str, &[&str])] = &[
    ("username", &["username", "user", "user name", "login", "login name", "userid", "user id", "user_login"]),
    ("email", &["email", "e-mail", "email address", "e-mail address", "mail"]),
    ("first_name", &["first name", "firstname", "given name", "forename"]),
    ("last_name", &["last name", "lastname", "surname", "family name"]),
    ("status", &["status"]),
    ("language", &["language", "lang", "locale"]),
    ("timezone", &["timezone", "time zone", "tz"]),
    ("branch", &["branch", "branch code", "branchcode", "org unit"]),
    ("password", &["password"]),
    ("action", &["action", "operation"]),
];

/// The form under which header names are compared.
///
/// Lowercase, without whitespace, `-`, `_`, `.` or a stray byte order mark, and with
/// common Latin accents folded (`é` → `e`, `ß` → `ss`): "E-mail", "e_mail" and "EMAIL"
/// are the same name, and so are "Prénom" and "prenom".
pub fn normalize_header(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() || matches!(c, '-' | '_' | '.' | '\u{feff}') {
            continue;
        }
        match fold_accent(c) {
            Some(folded) => normalized.push_str(folded),
            None => normalized.push(c),
        }
    }
    normalized
}

/// The unaccented spelling of a lowercase Latin letter with a diacritic.
fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ł' | 'ľ' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ř' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// A field key and the normalised names that a column header may give it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    key: String,
    names: Vec<String>,
}

/// A table of field keys and their header synonyms, matched after `normalize_header`.
///
/// A key matches only the names listed for it. When a name is listed under two keys, the
/// key added first takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synonyms {
    fields: Vec<Field>,
}

impl Synonyms {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The table of `STANDARD_USER_FIELDS`; callers add their additional fields to it.
    pub fn standard_user_fields() -> Self {
        let mut synonyms = Self::new();
        for (key, names) in STANDARD_USER_FIELDS {
            synonyms.add(key, names.iter());
        }
        synonyms
    }

    /// Lets `names` map to `key`; adding to a key already present extends its names.
    pub fn add<S: AsRef<str>>(&mut self, key: &str, names: impl IntoIterator<Item = S>) {
        let names = names.into_iter().map(|name| normalize_header(name.as_ref()));
        match self.fields.iter_mut().find(|field| field.key == key) {
            Some(field) => field.names.extend(names),
            None => self.fields.push(Field { key: key.to_owned(), names: names.collect() }),
        }
    }

    /// The key a column header maps to, if any.
    pub fn key_for(&self, header: &str) -> Option<&str> {
        self.position(&normalize_header(header)).map(|index| self.fields[index].key.as_str())
    }

    /// Maps each column of `header` to a key.
    pub fn map(&self, header: &Header) -> HeaderMap {
        let mut found: Vec<Vec<Column>> = vec![Vec::new(); self.fields.len()];
        let mut unmapped = Vec::new();
        for (index, name) in header.names().iter().enumerate() {
            let column = Column { number: index + 1, name: Some(name.clone()) };
            match self.position(&normalize_header(name)) {
                Some(field) => found[field].push(column),
                None => unmapped.push(column),
            }
        }
        let mut mapped = Vec::new();
        let mut ambiguous = Vec::new();
        for (field, mut columns) in self.fields.iter().zip(found) {
            match columns.len() {
                0 => {}
                1 => mapped.extend(columns.pop().map(|column| (field.key.clone(), column))),
                _ => ambiguous.push(AmbiguousKey { key: field.key.clone(), columns }),
            }
        }
        HeaderMap { mapped, unmapped, ambiguous }
    }

    fn position(&self, normalized: &str) -> Option<usize> {
        self.fields.iter().position(|field| field.names.iter().any(|name| name == normalized))
    }
}

/// A key that two or more columns map to; none of them is used for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmbiguousKey {
    /// The key.
    pub key: String,
    /// The columns that map to it, in file order.
    pub columns: Vec<Column>,
}

/// Which column holds which key, as `Synonyms::map` found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    mapped: Vec<(String, Column)>,
    unmapped: Vec<Column>,
    ambiguous: Vec<AmbiguousKey>,
}

impl HeaderMap {
    /// The 0-based index, in a record's cells, of the column mapped to `key`.
    pub fn index(&self, key: &str) -> Option<usize> {
        self.mapped.iter().find(|(mapped, _)| mapped == key).map(|(_, column)| column.number - 1)
    }

    /// The trimmed cell of `record` in the column mapped to `key`.
    pub fn cell<'r>(&self, record: &'r Record, key: &str) -> Option<&'r str> {
        self.index(key).and_then(|index| record.trimmed(index))
    }

    /// The mapped keys and their columns, in table order.
    pub fn mapped(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.mapped.iter().map(|(key, column)| (key.as_str(), column))
    }

    /// The columns no key maps to, in file order.
    pub fn unmapped(&self) -> &[Column] {
        &self.unmapped
    }

    /// The keys that more than one column maps to, in table order.
    pub fn ambiguous(&self) -> &[AmbiguousKey] {
        &self.ambiguous
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::CsvReader;

    fn header(line: &str) -> Header {
        CsvReader::from_bytes(line.as_bytes()).unwrap().header().clone()
    }

    #[test]
    fn normalisation_ignores_case_separators_and_accents() {
        assert_eq!(normalize_header(" E-Mail_Address. "), "emailaddress");
        assert_eq!(normalize_header("Prénom"), "prenom");
        assert_eq!(normalize_header("STRAßE\u{a0}Nº"), "strassenº");
        assert_eq!(normalize_header("\u{feff}Login"), "login");
        assert_eq!(normalize_header("ÆØÅ"), "aeoa");
    }

    #[test]
    fn every_standard_synonym_maps_to_its_key() {
        let synonyms = Synonyms::standard_user_fields();
        for (key, names) in STANDARD_USER_FIELDS {
            for name in *names {
                assert_eq!(synonyms.key_for(name), Some(*key), "{name}");
                assert_eq!(synonyms.key_for(&name.to_uppercase()), Some(*key), "{name}");
            }
        }
        assert_eq!(synonyms.key_for("E-mail Address"), Some("email"));
        assert_eq!(synonyms.key_for("department"), None);
    }

    #[test]
    fn columns_are_mapped_unmapped_or_ambiguous() {
        let mut synonyms = Synonyms::standard_user_fields();
        synonyms.add("employee_id", ["Employee ID", "Matricule"]);
        let map = synonyms.map(&header("Login,Mail,Notes,E-mail address,Matricule,Surname\n"));
        let mapped: Vec<(&str, usize)> = map.mapped().map(|(k, c)| (k, c.number)).collect();
        assert_eq!(mapped, [("username", 1), ("last_name", 6), ("employee_id", 5)]);
        assert_eq!(map.unmapped().len(), 1);
        assert_eq!(map.unmapped()[0].name.as_deref(), Some("Notes"));
        let ambiguous = &map.ambiguous()[0];
        assert_eq!(ambiguous.key, "email");
        let numbers: Vec<usize> = ambiguous.columns.iter().map(|c| c.number).collect();
        assert_eq!(numbers, [2, 4]);
        assert_eq!(map.index("email"), None);
        assert_eq!(map.index("employee_id"), Some(4));
    }

    #[test]
    fn adding_to_a_key_extends_it_and_the_first_key_wins_a_shared_name() {
        let mut synonyms = Synonyms::standard_user_fields();
        synonyms.add("username", ["Identifiant"]);
        synonyms.add("nickname", ["login", "Nick"]);
        assert_eq!(synonyms.key_for("identifiant"), Some("username"));
        assert_eq!(synonyms.key_for("Login"), Some("username"));
        assert_eq!(synonyms.key_for("nick"), Some("nickname"));
    }

    #[test]
    fn cells_are_read_by_key() {
        let mut reader = CsvReader::from_bytes(b"Email;User ID\n ann@x.org ;ann\n").unwrap();
        let map = Synonyms::standard_user_fields().map(reader.header());
        let record = reader.next().unwrap().unwrap();
        assert_eq!(map.cell(&record, "email"), Some("ann@x.org"));
        assert_eq!(map.cell(&record, "username"), Some("ann"));
        assert_eq!(map.cell(&record, "password"), None);
    }
}
