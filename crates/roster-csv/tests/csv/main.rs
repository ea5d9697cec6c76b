//! Integration tests of roster-csv: the files in `tests/data`, streaming over large and
//! slow inputs, and round trips through the writer and other CSV writers.

#![expect(clippy::unwrap_used, reason = "a failing test panics")]

mod fixtures;
mod round_trip;
mod streaming;

use std::io::{self, Read};

use roster_csv::{CsvError, CsvReader, Encoding};

/// A table as read: header names and `(row, cells)` of each record.
#[derive(Debug, PartialEq, Eq)]
struct Table {
    header: Vec<String>,
    records: Vec<(usize, Vec<String>)>,
}

/// Reads all of `input`, failing on the first error.
fn read_table(input: impl Read) -> Result<Table, CsvError> {
    let reader = CsvReader::new(input)?;
    let header = reader.header().names().to_vec();
    let records =
        reader.map(|record| record.map(|record| (record.row(), record.into_cells()))).collect::<Result<_, _>>()?;
    Ok(Table { header, records })
}

/// Owned cells from string literals.
fn cells(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|&cell| cell.to_owned()).collect()
}

/// `text` as saved in `encoding`; UTF-16 always starts with a byte order mark, UTF-8 only
/// if `text` starts with U+FEFF.
fn encode(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Utf16Le => utf16_with_bom(text).flat_map(u16::to_le_bytes).collect(),
        Encoding::Utf16Be => utf16_with_bom(text).flat_map(u16::to_be_bytes).collect(),
        Encoding::Windows1252 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
            assert!(!unmappable, "not Windows-1252: {text:?}");
            bytes.into_owned()
        }
    }
}

/// The UTF-16 code units of `text`, starting with a byte order mark.
fn utf16_with_bom(text: &str) -> impl Iterator<Item = u16> + '_ {
    let bom = (!text.starts_with('\u{feff}')).then_some(0xFEFF);
    bom.into_iter().chain(text.encode_utf16())
}

/// A reader that hands out one byte per call, to split every chunk boundary possible.
struct OneByteAtATime<'a>(&'a [u8]);

impl Read for OneByteAtATime<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&byte, rest)), Some(slot)) => {
                *slot = byte;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}
