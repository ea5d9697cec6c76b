//! Each file in `tests/data`, read with the exact cells and rows expected.

use std::fs::File;
use std::path::Path;

use roster_csv::{CsvError, CsvReader, Delimiter, Encoding, Synonyms};

use crate::{cells, read_table, Table};

fn fixture(name: &str) -> Result<File, CsvError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    Ok(File::open(path)?)
}

fn open(name: &str) -> Result<CsvReader<File>, CsvError> {
    CsvReader::new(fixture(name)?)
}

fn read(name: &str) -> Result<Table, CsvError> {
    read_table(fixture(name)?)
}

/// The three people every encoding fixture holds, on rows 2 to 4.
fn people() -> Vec<(usize, Vec<String>)> {
    vec![
        (2, cells(&["zoe", "zoe@example.org", "Zoë", "Ångström"])),
        (3, cells(&["mmuller", "m.muller@example.org", "Marie", "Müller"])),
        (4, cells(&["jose", "jose@example.org", "José", "García"])),
    ]
}

#[test]
fn encodings_and_delimiters_are_detected() {
    let cases = [
        ("utf8.csv", Encoding::Utf8, Delimiter::Comma, ["username", "email", "first_name", "last_name"]),
        ("utf8_bom.csv", Encoding::Utf8, Delimiter::Comma, ["Username", "E-mail", "First name", "Last name"]),
        ("utf16le_bom.txt", Encoding::Utf16Le, Delimiter::Tab, ["Login", "Email", "Given name", "Surname"]),
        ("utf16be_bom.csv", Encoding::Utf16Be, Delimiter::Comma, ["user", "mail", "forename", "family name"]),
        ("windows1252.csv", Encoding::Windows1252, Delimiter::Semicolon, ["Identifiant", "Courriel", "Prénom", "Nom"]),
        ("semicolon.csv", Encoding::Utf8, Delimiter::Semicolon, ["username", "email", "first name", "last name"]),
        ("tab.tsv", Encoding::Utf8, Delimiter::Tab, ["username", "email", "first name", "last name"]),
    ];
    for (name, encoding, delimiter, header) in cases {
        let reader = open(name).unwrap();
        assert_eq!(reader.encoding(), encoding, "{name}");
        assert_eq!(reader.delimiter(), delimiter, "{name}");
        assert_eq!(read(name).unwrap(), Table { header: cells(&header), records: people() }, "{name}");
    }
}

#[test]
fn standard_synonyms_map_every_english_header() {
    for name in ["utf8.csv", "utf8_bom.csv", "utf16le_bom.txt", "utf16be_bom.csv", "semicolon.csv"] {
        let map = Synonyms::standard_user_fields().map(open(name).unwrap().header());
        let mapped: Vec<(&str, usize)> = map.mapped().map(|(key, column)| (key, column.number)).collect();
        assert_eq!(mapped, [("username", 1), ("email", 2), ("first_name", 3), ("last_name", 4)], "{name}");
        assert!(map.unmapped().is_empty() && map.ambiguous().is_empty(), "{name}");
    }
}

#[test]
fn callers_add_synonyms_for_other_languages() {
    let mut reader = open("windows1252.csv").unwrap();
    let mut synonyms = Synonyms::standard_user_fields();
    assert_eq!(synonyms.map(reader.header()).unmapped().len(), 4);
    synonyms.add("username", ["identifiant"]);
    synonyms.add("email", ["courriel"]);
    synonyms.add("first_name", ["prenom"]);
    synonyms.add("last_name", ["nom"]);
    let map = synonyms.map(reader.header());
    let record = reader.next().unwrap().unwrap();
    assert_eq!(map.cell(&record, "first_name"), Some("Zoë"));
    assert_eq!(map.cell(&record, "last_name"), Some("Ångström"));
}

#[test]
fn quoted_cells_keep_delimiters_quotes_and_line_breaks() {
    let table = read("quoted.csv").unwrap();
    assert_eq!(table.header, ["username", "note", "email"]);
    assert_eq!(
        table.records,
        [
            (2, cells(&["ann", "Smith, Ann", "ann@example.org"])),
            (3, cells(&["bob", "He said \"hi\" twice", "bob@example.org"])),
            (4, cells(&["cy", "line one\r\nline two\r\nline three", "cy@example.org"])),
            (5, cells(&["dee", "semi;colon\ttab", "dee@example.org"])),
        ]
    );
}

#[test]
fn blank_lines_and_blank_rows_are_skipped_but_counted() {
    let table = read("blank_lines.csv").unwrap();
    assert_eq!(
        table.records,
        [
            (2, cells(&["ann", "ann@example.org"])),
            (4, cells(&["bob", "bob@example.org"])),
            (6, cells(&["cy", "cy@example.org"])),
        ]
    );
}

#[test]
fn ragged_rows_are_errors_that_name_row_and_counts() {
    let results: Vec<Result<usize, String>> =
        open("ragged.csv").unwrap().map(|record| record.map(|r| r.row()).map_err(|e| e.to_string())).collect();
    assert_eq!(
        results,
        [
            Ok(2),
            Err("row 3 has 2 cells but the header has 3 columns".to_owned()),
            Err("row 4 has 4 cells but the header has 3 columns".to_owned()),
            Ok(5),
        ]
    );
}

#[test]
fn header_defects_are_refused() {
    let message = |name: &str| open(name).map(|_| ()).unwrap_err().to_string();
    assert_eq!(
        message("duplicate_headers.csv"),
        "column 1 (\"Email\") and column 3 (\"E-mail\") of the header row have the same name"
    );
    assert_eq!(message("blank_header.csv"), "column 2 of the header row has no name");
    assert_eq!(message("empty.csv"), "the file is empty");
}

#[test]
fn a_header_only_file_has_no_records() {
    let reader = open("header_only.csv").unwrap();
    assert_eq!(reader.delimiter(), Delimiter::Semicolon);
    assert_eq!(read("header_only.csv").unwrap(), Table { header: cells(&["username", "email"]), records: vec![] });
}

#[test]
fn an_unclosed_quote_names_its_row_and_column() {
    let results: Vec<Result<usize, String>> =
        open("unclosed_quote.csv").unwrap().map(|record| record.map(|r| r.row()).map_err(|e| e.to_string())).collect();
    assert_eq!(results, [Err("row 2, column 2 (\"note\"): a quoted cell has no closing quote (\")".to_owned())]);
}

#[test]
fn a_missing_file_is_an_io_error() {
    assert!(matches!(open("no_such_file.csv"), Err(CsvError::Io(_))));
}
