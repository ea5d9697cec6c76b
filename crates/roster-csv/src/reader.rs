//! The reader: a header, then an iterator of records, over any `Read`.

use std::collections::HashMap;
use std::io::Read;
use std::iter::FusedIterator;

use crate::delimiter::Delimiter;
use crate::encoding::{Decoded, Encoding, TextDecoder};
use crate::error::{Column, CsvError};
use crate::mapping::normalize_header;
use crate::parser::{Parser, Problem, RawRecord};

/// The longest cell read, in bytes of UTF-8; longer cells are an error.
pub const MAX_CELL_BYTES: usize = 64 * 1024;

/// The most columns a header may have.
pub const MAX_COLUMNS: usize = 1024;

/// The header row: column names, trimmed, unique once normalised, none blank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    names: Vec<String>,
    row: usize,
}

impl Header {
    /// The column names in file order (index 0 is column 1).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The spreadsheet row of the header: 1, unless blank lines come first.
    pub fn row(&self) -> usize {
        self.row
    }

    /// The column with this 1-based number, named if the header has it.
    pub(crate) fn column(&self, number: usize) -> Column {
        Column { number, name: self.names.get(number - 1).cloned() }
    }
}

/// A data row: its spreadsheet row number and one cell per header column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    row: usize,
    cells: Vec<String>,
}

impl Record {
    /// The spreadsheet row of the record (the row where it starts).
    pub fn row(&self) -> usize {
        self.row
    }

    /// The cells as written in the file, untrimmed, in header order.
    pub fn cells(&self) -> &[String] {
        &self.cells
    }

    /// The cell at 0-based `index`, untrimmed.
    pub fn get(&self, index: usize) -> Option<&str> {
        self.cells.get(index).map(String::as_str)
    }

    /// The cell at 0-based `index`, without surrounding whitespace.
    pub fn trimmed(&self, index: usize) -> Option<&str> {
        self.get(index).map(str::trim)
    }

    /// The cells, untrimmed, in header order.
    pub fn into_cells(self) -> Vec<String> {
        self.cells
    }
}

/// Where reading the input stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// More text may come.
    Open,
    /// The text read so far ends at invalid bytes.
    Malformed,
    /// All text has been read; the parser may hold a last record.
    Exhausted,
    /// Nothing more comes, not even errors.
    Closed,
}

impl From<Decoded> for Input {
    fn from(decoded: Decoded) -> Self {
        match decoded {
            Decoded::Text => Self::Open,
            Decoded::Malformed => Self::Malformed,
            Decoded::End => Self::Exhausted,
        }
    }
}

/// Reads a CSV file as spreadsheets write it: the header on creation, then records.
///
/// Iterating yields each non-blank record, or the error that makes it unreadable. After
/// an error about one record, iteration goes on with the next; after an error about the
/// file ([`CsvError::Io`], [`CsvError::InvalidEncoding`]) it ends.
#[derive(Debug)]
pub struct CsvReader<R> {
    decoder: TextDecoder<R>,
    input: Input,
    /// Decoded text not yet parsed starts at `parsed`.
    text: String,
    parsed: usize,
    parser: Parser,
    delimiter: Delimiter,
    header: Header,
}

impl<'a> CsvReader<&'a [u8]> {
    /// Reads a file that is already in memory.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, CsvError> {
        Self::new(bytes)
    }
}

impl<R: Read> CsvReader<R> {
    /// Detects encoding and delimiter from the first chunk of `input` and reads the header.
    pub fn new(input: R) -> Result<Self, CsvError> {
        let mut text = String::new();
        let (decoder, decoded) = TextDecoder::start(input, &mut text)?;
        let declared = Delimiter::declared(&text);
        let delimiter = declared.unwrap_or_else(|| Delimiter::detect(&text));
        let mut reader = Self {
            decoder,
            input: decoded.into(),
            text,
            parsed: 0,
            parser: Parser::new(delimiter.as_char(), MAX_COLUMNS),
            delimiter,
            header: Header::default(),
        };
        if declared.is_some() {
            // The `sep=` line is not the header; rows keep their line numbers.
            reader.next_raw_record().ok_or(CsvError::Empty)??;
        }
        reader.header = reader.read_header()?;
        reader.parser.keep_cells(reader.header.names.len());
        Ok(reader)
    }

    /// The header row.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The detected delimiter.
    pub fn delimiter(&self) -> Delimiter {
        self.delimiter
    }

    /// The encoding read so far: a file that starts with plain ASCII reports UTF-8 until
    /// other bytes show whether it is UTF-8 or Windows-1252.
    pub fn encoding(&self) -> Encoding {
        self.decoder.encoding()
    }

    fn read_header(&mut self) -> Result<Header, CsvError> {
        let record = loop {
            let record = self.next_raw_record().ok_or(CsvError::Empty)??;
            if let Some(problem) = record.problem {
                return Err(self.problem_error(record.row, problem));
            }
            if record.has_content {
                break record;
            }
        };
        if record.fields > MAX_COLUMNS {
            return Err(CsvError::TooManyColumns);
        }
        let header =
            Header { names: record.cells.iter().map(|name| name.trim().to_owned()).collect(), row: record.row };
        let mut seen = HashMap::new();
        for (index, name) in header.names.iter().enumerate() {
            let number = index + 1;
            if name.is_empty() {
                return Err(CsvError::BlankHeader { column: number });
            }
            if let Some(first) = seen.insert(normalize_header(name), number) {
                return Err(CsvError::DuplicateHeader { first: header.column(first), second: header.column(number) });
            }
        }
        Ok(header)
    }

    /// The next record as parsed, decoding more text as needed; `None` once all is read.
    fn next_raw_record(&mut self) -> Option<Result<RawRecord, CsvError>> {
        loop {
            let (consumed, record) = self.parser.parse(&self.text[self.parsed..]);
            self.parsed += consumed;
            if let Some(record) = record {
                return Some(Ok(record));
            }
            match self.input {
                Input::Open => {
                    self.text.clear();
                    self.parsed = 0;
                    match self.decoder.fill(&mut self.text) {
                        Ok(decoded) => self.input = decoded.into(),
                        Err(error) => {
                            self.input = Input::Closed;
                            return Some(Err(error.into()));
                        }
                    }
                }
                Input::Malformed => {
                    self.input = Input::Closed;
                    return Some(Err(CsvError::InvalidEncoding {
                        row: self.parser.row(),
                        encoding: self.decoder.encoding(),
                    }));
                }
                Input::Exhausted => {
                    self.input = Input::Closed;
                    return self.parser.finish().map(Ok);
                }
                Input::Closed => return None,
            }
        }
    }

    fn problem_error(&self, row: usize, problem: Problem) -> CsvError {
        match problem {
            Problem::CellTooLong { column } => CsvError::CellTooLong { row, column: self.header.column(column) },
            Problem::UnclosedQuote { column } => CsvError::UnclosedQuote { row, column: self.header.column(column) },
        }
    }
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = Result<Record, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let record = match self.next_raw_record()? {
                Ok(record) => record,
                Err(error) => return Some(Err(error)),
            };
            if let Some(problem) = record.problem {
                return Some(Err(self.problem_error(record.row, problem)));
            }
            if !record.has_content {
                continue;
            }
            let expected = self.header.names.len();
            if record.fields != expected {
                return Some(Err(CsvError::CellCountMismatch { row: record.row, expected, found: record.fields }));
            }
            return Some(Ok(Record { row: record.row, cells: record.cells }));
        }
    }
}

impl<R: Read> FusedIterator for CsvReader<R> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header names and every record of a file that has a valid header.
    fn read(bytes: &[u8]) -> (Vec<String>, Vec<Result<Record, CsvError>>) {
        let reader = CsvReader::from_bytes(bytes).unwrap();
        let names = reader.header().names().to_vec();
        (names, reader.collect())
    }

    #[test]
    fn header_is_trimmed_and_records_are_raw() {
        let (names, records) = read(b" User name ;E-mail\n ann ; a@x.org \n");
        assert_eq!(names, ["User name", "E-mail"]);
        let record = records[0].as_ref().unwrap();
        assert_eq!((record.row(), record.cells()), (2, &[" ann ".to_owned(), " a@x.org ".to_owned()][..]));
        assert_eq!(record.trimmed(1), Some("a@x.org"));
        assert_eq!(record.get(2), None);
    }

    #[test]
    fn an_excel_sep_line_sets_the_delimiter_and_is_not_the_header() {
        let (names, records) = read(b"sep=,\r\nName;Team,email\r\nann;x,a@x.org\r\n");
        assert_eq!(names, ["Name;Team", "email"], "the declared comma wins over more semicolons");
        let record = records[0].as_ref().unwrap();
        assert_eq!((record.row(), record.trimmed(1)), (3, Some("a@x.org")));
    }

    #[test]
    fn blank_records_are_skipped_but_counted() {
        let (_, records) = read(b"a,b\r\n\r\n,\r\n1,2\r\n ,\t\r\n\r\n");
        let rows: Vec<usize> = records.into_iter().map(|r| r.unwrap().row()).collect();
        assert_eq!(rows, [4]);
    }

    #[test]
    fn blank_lines_before_the_header_move_it_down() {
        let reader = CsvReader::from_bytes(b"\n\nname\nAnn\n").unwrap();
        assert_eq!(reader.header().row(), 3);
        let rows: Vec<usize> = reader.map(|r| r.unwrap().row()).collect();
        assert_eq!(rows, [4]);
    }

    #[test]
    fn empty_or_blank_input_is_empty() {
        for bytes in [&b""[..], b"\xEF\xBB\xBF", b"\r\n\r\n", b" , \n"] {
            assert!(matches!(CsvReader::from_bytes(bytes), Err(CsvError::Empty)), "{bytes:?}");
        }
    }

    #[test]
    fn header_defects_name_the_columns() {
        assert!(matches!(CsvReader::from_bytes(b"a,,c\n"), Err(CsvError::BlankHeader { column: 2 })));
        match CsvReader::from_bytes(b"Email,Name,E-mail\n") {
            Err(CsvError::DuplicateHeader { first, second }) => {
                assert_eq!((first.number, second.number), (1, 3));
                assert_eq!(second.name.as_deref(), Some("E-mail"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let wide = vec!["c"; MAX_COLUMNS + 1].join(",");
        assert!(matches!(CsvReader::from_bytes(wide.as_bytes()), Err(CsvError::TooManyColumns)));
    }

    #[test]
    fn a_ragged_row_is_an_error_and_reading_goes_on() {
        let (_, records) = read(b"a,b\n1\n1,2,3,4\n5,6\n");
        assert!(matches!(records[0], Err(CsvError::CellCountMismatch { row: 2, expected: 2, found: 1 })));
        assert!(matches!(records[1], Err(CsvError::CellCountMismatch { row: 3, expected: 2, found: 4 })));
        assert_eq!(records[2].as_ref().unwrap().cells(), ["5", "6"]);
    }

    #[test]
    fn cell_errors_name_the_header() {
        let text = format!("a,b\n1,{}\n3,4\n5,\"6\n", "x".repeat(MAX_CELL_BYTES + 1));
        let (_, records) = read(text.as_bytes());
        match &records[0] {
            Err(CsvError::CellTooLong { row: 2, column }) => {
                assert_eq!(column.name.as_deref(), Some("b"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(records[1].as_ref().unwrap().cells(), ["3", "4"]);
        assert!(matches!(&records[2], Err(CsvError::UnclosedQuote { row: 4, column }) if column.number == 2));
        assert_eq!(records.len(), 3);
    }
}
