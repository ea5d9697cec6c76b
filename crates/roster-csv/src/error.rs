//! The one error type of this crate, and the column reference its messages use.

use std::fmt;
use std::io;

use crate::encoding::Encoding;
use crate::reader::{MAX_CELL_BYTES, MAX_COLUMNS};

/// A column as the administrator sees it: its 1-based number and, when known, its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// 1-based column number (the spreadsheet's A = 1, B = 2, ...).
    pub number: usize,
    /// The header of the column, trimmed; `None` for cells beyond the header's columns.
    pub name: Option<String>,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "column {} (\"{name}\")", self.number),
            None => write!(f, "column {}", self.number),
        }
    }
}

/// Why a CSV file, or one of its rows, could not be read.
///
/// Rows are spreadsheet rows (the header is usually row 1); see the crate documentation.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The underlying reader failed.
    #[error("the file could not be read: {0}")]
    Io(#[from] io::Error),
    /// The input is binary (NUL bytes or many control characters), not text.
    #[error("the file is not a CSV text file (it may be an image, a PDF or a workbook); save it as CSV from the spreadsheet and choose it again")]
    NotText,
    /// The input holds no header row (no bytes, or only blank lines).
    #[error("the file is empty")]
    Empty,
    /// Bytes that the detected encoding cannot decode; reading stops here.
    #[error(
        "row {row} contains bytes that are not valid {encoding} text; \
         save the file as \"CSV UTF-8\" and try again"
    )]
    InvalidEncoding {
        /// The row holding the invalid bytes.
        row: usize,
        /// The encoding the file was read as.
        encoding: Encoding,
    },
    /// The header row has more columns than this reader accepts.
    #[error("the header row has more than {} columns", MAX_COLUMNS)]
    TooManyColumns,
    /// A header cell is blank.
    #[error("column {column} of the header row has no name")]
    BlankHeader {
        /// 1-based number of the blank column.
        column: usize,
    },
    /// Two header cells name the same column once normalised (see `normalize_header`).
    #[error("{first} and {second} of the header row have the same name")]
    DuplicateHeader {
        /// The earlier of the two columns.
        first: Column,
        /// The later of the two columns.
        second: Column,
    },
    /// A row has more or fewer cells than the header has columns.
    #[error("row {row} has {found} cells but the header has {expected} columns")]
    CellCountMismatch {
        /// The row with the wrong number of cells.
        row: usize,
        /// The number of header columns.
        expected: usize,
        /// The number of cells found in the row.
        found: usize,
    },
    /// A cell is longer than `MAX_CELL_BYTES`; its content is not kept.
    #[error(
        "row {row}, {column}: the cell is longer than {} KiB (is a closing quote missing?)",
        MAX_CELL_BYTES / 1024
    )]
    CellTooLong {
        /// The row of the cell.
        row: usize,
        /// The column of the cell.
        column: Column,
    },
    /// A quoted cell is still open at the end of the file.
    #[error("row {row}, {column}: a quoted cell has no closing quote (\")")]
    UnclosedQuote {
        /// The row where the quoted cell starts.
        row: usize,
        /// The column of the quoted cell.
        column: Column,
    },
}

impl CsvError {
    /// The spreadsheet row the error is about, when it is about one row.
    pub fn row(&self) -> Option<usize> {
        match self {
            Self::InvalidEncoding { row, .. }
            | Self::CellCountMismatch { row, .. }
            | Self::CellTooLong { row, .. }
            | Self::UnclosedQuote { row, .. } => Some(*row),
            Self::Io(_)
            | Self::NotText
            | Self::Empty
            | Self::TooManyColumns
            | Self::BlankHeader { .. }
            | Self::DuplicateHeader { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_the_header_when_known() {
        let named = Column { number: 3, name: Some("E-mail".to_owned()) };
        let unnamed = Column { number: 7, name: None };
        assert_eq!(named.to_string(), "column 3 (\"E-mail\")");
        assert_eq!(unnamed.to_string(), "column 7");
    }

    #[test]
    fn messages_name_row_and_column() {
        let error = CsvError::CellTooLong { row: 12, column: Column { number: 2, name: Some("Email".to_owned()) } };
        assert_eq!(
            error.to_string(),
            "row 12, column 2 (\"Email\"): the cell is longer than 64 KiB (is a closing quote missing?)"
        );
        assert_eq!(error.row(), Some(12));
        assert_eq!(CsvError::Empty.row(), None);
    }
}
