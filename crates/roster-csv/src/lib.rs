//! Reading CSV the way spreadsheets write it, and writing CSV that spreadsheets open
//! safely. This crate knows cells and columns, not users or groups: callers map columns to
//! meaning with [`Synonyms`].
//!
//! # Layout
//!
//! - `encoding` ([`Encoding`]): detects UTF-8 (with or without BOM), UTF-16 LE/BE (with
//!   BOM) or Windows-1252, refuses binary input from the first 64 KiB, and decodes the
//!   rest as a stream.
//! - `delimiter` ([`Delimiter`]): detects comma, semicolon or tab from the header line.
//! - `parser`: the quote-aware state machine, fed decoded text a chunk at a time.
//! - `reader` ([`CsvReader`], [`Header`], [`Record`]): the header, then an iterator of
//!   records or [`CsvError`]s.
//! - `mapping` ([`normalize_header`], [`Synonyms`], [`HeaderMap`]): which column holds
//!   which field.
//! - `writer` ([`CsvWriter`], [`encode_row`], [`neutralize`]): streaming,
//!   spreadsheet-safe output.
//! - `error` ([`CsvError`], [`Column`]): the one error type; its messages name the row
//!   and the column.
//!
//! # Rows
//!
//! Row numbers are the rows the administrator sees when opening the file in a spreadsheet:
//! the header is row 1 and each line after it one more row. Blank lines count (a
//! spreadsheet shows them as empty rows) but yield no record, and neither do rows whose
//! cells are all blank, such as the `;;;` lines spreadsheets leave at the end. A quoted
//! cell spanning several lines stays in one row.
//!
//! # Memory
//!
//! Input is read 64 KiB at a time. A cell holds at most [`MAX_CELL_BYTES`] and a header at
//! most [`MAX_COLUMNS`] columns; a record keeps only as many cells as the header has.
//!
//! # Round trip
//!
//! What [`CsvWriter`] writes, [`CsvReader`] reads back cell for cell, except that cells
//! starting with a formula trigger come back with the `'` that [`neutralize`] put in
//! front, header names come back trimmed, and rows of blank cells are skipped.
//!
//! ```
//! use roster_csv::{CsvReader, CsvWriter, Synonyms};
//!
//! let mut writer = CsvWriter::new(Vec::new())?;
//! writer.write_row(["E-mail", "Given name"])?;
//! writer.write_row(["zoe@example.org", "Zoë"])?;
//! let bytes = writer.into_inner()?;
//!
//! let mut reader = CsvReader::from_bytes(&bytes)?;
//! let columns = Synonyms::standard_user_fields().map(reader.header());
//! let record = reader.next().transpose()?.ok_or("no record")?;
//! assert_eq!(record.row(), 2);
//! assert_eq!(columns.cell(&record, "first_name"), Some("Zoë"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(test, expect(clippy::unwrap_used, reason = "a failing test panics"))]

mod delimiter;
mod encoding;
mod error;
mod mapping;
mod parser;
mod reader;
mod writer;

pub use delimiter::Delimiter;
pub use encoding::Encoding;
pub use error::{Column, CsvError};
pub use mapping::{normalize_header, AmbiguousKey, HeaderMap, Synonyms, STANDARD_USER_FIELDS};
pub use reader::{CsvReader, Header, Record, MAX_CELL_BYTES, MAX_COLUMNS};
pub use writer::{encode_row, neutralize, restore, CsvWriter, UTF8_BOM};
