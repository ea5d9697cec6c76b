//! Random tables, written by `CsvWriter` or by the `csv` crate in other delimiters, quote
//! styles and encodings, read back identically.

use proptest::prelude::*;
use roster_csv::{neutralize, CsvReader, CsvWriter, Delimiter, Encoding};

use crate::{encode, read_table, Table};

/// Cells with everything that needs care: delimiters, quotes, line breaks, formula
/// triggers, whitespace, accents, and characters beyond the Basic Multilingual Plane.
const ANY_CELL: &str = "[a-zA-Z0-9 ,;\t\"\r\n'=+@.éüßÆ€中😀-]{0,10}";

/// Cells of plain ASCII and Latin-1 letters, which Windows-1252 can hold.
const LATIN_CELL: &str = "[a-zA-Z0-9 ,;\t\"\r\n'=+@.À-ÿ-]{0,10}";

/// Header names without delimiters or quotes, as detection needs: a header name with a
/// delimiter in it, unquoted, could outnumber the real one.
const PLAIN_NAME: &str = "[a-zA-Z '=+@.À-ÿ-]{0,6}";

/// A header of `names` made unique once normalised: each ends in its own column digit.
fn header(names: Vec<String>) -> Vec<String> {
    names.into_iter().enumerate().map(|(index, name)| format!("{name}{}", index + 1)).collect()
}

/// A header of 1 to `max_columns` columns (at least `min_columns`) and up to 12 rows.
fn table(
    name: &'static str,
    cell: &'static str,
    min_columns: usize,
    max_columns: usize,
) -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    (min_columns..=max_columns).prop_flat_map(move |columns| {
        (
            prop::collection::vec(name, columns).prop_map(header),
            prop::collection::vec(prop::collection::vec(cell, columns), 0..12),
        )
    })
}

/// What a reader must give back for `header` and `rows` written as they are: header
/// names trimmed, rows of blank cells skipped, the others on spreadsheet rows from 2.
fn expected(header: &[String], rows: &[Vec<String>]) -> Table {
    Table {
        header: header.iter().map(|name| name.trim().to_owned()).collect(),
        records: rows
            .iter()
            .enumerate()
            .filter(|(_, row)| row.iter().any(|cell| !cell.trim().is_empty()))
            .map(|(index, row)| (index + 2, row.clone()))
            .collect(),
    }
}

fn neutralized(row: &[String]) -> Vec<String> {
    row.iter().map(|cell| neutralize(cell).into_owned()).collect()
}

fn written_by_csv_writer(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut writer = CsvWriter::new(Vec::new()).unwrap();
    writer.write_row(header).unwrap();
    for row in rows {
        writer.write_row(row).unwrap();
    }
    writer.into_inner().unwrap()
}

fn written_by_csv_crate(
    header: &[String],
    rows: &[Vec<String>],
    delimiter: Delimiter,
    quote_style: csv::QuoteStyle,
) -> String {
    let delimiter = u8::try_from(delimiter.as_char()).unwrap();
    let mut writer = csv::WriterBuilder::new().delimiter(delimiter).quote_style(quote_style).from_writer(Vec::new());
    writer.write_record(header).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

fn delimiters() -> impl Strategy<Value = Delimiter> {
    prop_oneof![Just(Delimiter::Comma), Just(Delimiter::Semicolon), Just(Delimiter::Tab)]
}

fn quote_styles() -> impl Strategy<Value = csv::QuoteStyle> {
    prop_oneof![Just(csv::QuoteStyle::Necessary), Just(csv::QuoteStyle::Always)]
}

proptest! {
    #[test]
    fn what_the_writer_writes_the_reader_reads((header, rows) in table(ANY_CELL, ANY_CELL, 1, 6)) {
        let bytes = written_by_csv_writer(&header, &rows);
        let header: Vec<String> = neutralized(&header);
        let rows: Vec<Vec<String>> = rows.iter().map(|row| neutralized(row)).collect();
        prop_assert_eq!(read_table(bytes.as_slice()).unwrap(), expected(&header, &rows));
    }

    #[test]
    fn the_csv_crate_reads_what_the_writer_writes((header, rows) in table(ANY_CELL, ANY_CELL, 1, 6)) {
        let bytes = written_by_csv_writer(&header, &rows);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes.as_slice());
        let read: Vec<Vec<String>> = reader
            .records()
            .map(|record| record.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let mut written = vec![neutralized(&header)];
        written.extend(rows.iter().map(|row| neutralized(row)));
        // The csv crate skips lines that are empty, as a row of one empty cell is.
        written.retain(|row| row.len() > 1 || !row[0].is_empty());
        prop_assert_eq!(read, written);
    }

    #[test]
    fn other_delimiters_and_unicode_encodings_are_read(
        (header, rows) in table(PLAIN_NAME, ANY_CELL, 2, 6),
        delimiter in delimiters(),
        quote_style in quote_styles(),
        encoding in prop_oneof![Just(Encoding::Utf8), Just(Encoding::Utf16Le), Just(Encoding::Utf16Be)],
        bom in any::<bool>(),
    ) {
        let text = written_by_csv_crate(&header, &rows, delimiter, quote_style);
        let text = if bom { format!("\u{feff}{text}") } else { text };
        let bytes = encode(&text, encoding);
        let reader = CsvReader::from_bytes(&bytes).unwrap();
        prop_assert_eq!((reader.delimiter(), reader.encoding()), (delimiter, encoding));
        prop_assert_eq!(read_table(bytes.as_slice()).unwrap(), expected(&header, &rows));
    }

    #[test]
    fn windows_1252_is_read((header, rows) in table(PLAIN_NAME, LATIN_CELL, 2, 6), delimiter in delimiters()) {
        let text = written_by_csv_crate(&header, &rows, delimiter, csv::QuoteStyle::Necessary);
        let bytes = encode(&text, Encoding::Windows1252);
        // A file opening with "ÿþ", "þÿ" or "ï»¿" is, byte for byte, a UTF-16 or UTF-8
        // byte order mark, which any reader must take as one.
        prop_assume!(![&[0xFF, 0xFE][..], &[0xFE, 0xFF], &[0xEF, 0xBB, 0xBF]].iter().any(|m| bytes.starts_with(m)));
        // Plain ASCII reads the same either way, and is reported as UTF-8.
        let encoding = if bytes.is_ascii() { Encoding::Utf8 } else { Encoding::Windows1252 };
        let reader = CsvReader::from_bytes(&bytes).unwrap();
        prop_assert_eq!((reader.delimiter(), reader.encoding()), (delimiter, encoding));
        prop_assert_eq!(read_table(bytes.as_slice()).unwrap(), expected(&header, &rows));
    }
}
