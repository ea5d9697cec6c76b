//! The CSV state machine: turns decoded text, fed a chunk at a time, into raw records.
//!
//! It follows what spreadsheets write and read: a field is quoted when it starts with `"`;
//! inside quotes `""` is a quote and line breaks are kept; CRLF, LF and a lone CR end a
//! line. A quote inside an unquoted field, or text after a closing quote, is kept as it is.
//! Memory stays bounded: a cell keeps at most `MAX_CELL_BYTES`, a record at most the cells
//! the caller asks for (further cells are counted, not kept).

use std::mem;

use crate::reader::MAX_CELL_BYTES;

/// A defect of a record found while parsing; the first one of a record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The cell in this 1-based column outgrew `MAX_CELL_BYTES`.
    CellTooLong { column: usize },
    /// The quoted cell in this 1-based column was still open at the end of the input.
    UnclosedQuote { column: usize },
}

/// One record as parsed, before it is checked against the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRecord {
    /// The spreadsheet row the record starts on.
    pub(crate) row: usize,
    /// The cells kept (at most the parser's limit), untrimmed.
    pub(crate) cells: Vec<String>,
    /// How many cells the record has, kept or not.
    pub(crate) fields: usize,
    /// Whether any cell holds something other than whitespace.
    pub(crate) has_content: bool,
    /// The first defect found.
    pub(crate) problem: Option<Problem>,
}

impl RawRecord {
    fn starting_at(row: usize) -> Self {
        Self { row, cells: Vec::new(), fields: 0, has_content: false, problem: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing read on this line yet.
    LineStart,
    /// At the start of a field after a delimiter.
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: either the first of `""` or the closing quote.
    QuoteInQuoted,
}

/// Parses records out of text that arrives in pieces.
#[derive(Debug)]
pub(crate) struct Parser {
    delimiter: char,
    kept_cells: usize,
    state: State,
    /// The previous line ended with CR: a LF right after it belongs to the same line end.
    after_cr: bool,
    record: RawRecord,
    cell: String,
}

impl Parser {
    /// A parser for `delimiter` that keeps at most `kept_cells` cells per record.
    pub(crate) fn new(delimiter: char, kept_cells: usize) -> Self {
        Self {
            delimiter,
            kept_cells,
            state: State::LineStart,
            after_cr: false,
            record: RawRecord::starting_at(1),
            cell: String::new(),
        }
    }

    /// Keeps at most `kept_cells` cells of each following record.
    pub(crate) fn keep_cells(&mut self, kept_cells: usize) {
        self.kept_cells = kept_cells;
    }

    /// The spreadsheet row being read.
    pub(crate) fn row(&self) -> usize {
        self.record.row
    }

    /// Parses `text` up to the end of the next record: returns how many bytes of `text`
    /// were consumed and the record, or all of them and `None` if no record ended.
    pub(crate) fn parse(&mut self, text: &str) -> (usize, Option<RawRecord>) {
        for (index, c) in text.char_indices() {
            if mem::take(&mut self.after_cr) && c == '\n' {
                continue;
            }
            if let Some(record) = self.step(c) {
                return (index + c.len_utf8(), Some(record));
            }
        }
        (text.len(), None)
    }

    /// Ends the input: returns the last record if the text did not end with a line break.
    pub(crate) fn finish(&mut self) -> Option<RawRecord> {
        match self.state {
            State::LineStart => None,
            State::Quoted => {
                let column = self.record.fields + 1;
                self.record.problem.get_or_insert(Problem::UnclosedQuote { column });
                Some(self.end_record())
            }
            State::FieldStart | State::Unquoted | State::QuoteInQuoted => Some(self.end_record()),
        }
    }

    /// Takes one character; returns the record it ends, if any.
    fn step(&mut self, c: char) -> Option<RawRecord> {
        let is_line_break = c == '\r' || c == '\n';
        match self.state {
            State::Quoted if c == '"' => self.state = State::QuoteInQuoted,
            State::Quoted => self.push(c),
            State::QuoteInQuoted if c == '"' => {
                self.push('"');
                self.state = State::Quoted;
            }
            State::LineStart if is_line_break => {
                self.after_cr = c == '\r';
                self.record.row += 1;
            }
            State::LineStart | State::FieldStart if c == '"' => self.state = State::Quoted,
            _ if c == self.delimiter => {
                self.end_cell();
                self.state = State::FieldStart;
            }
            _ if is_line_break => {
                self.after_cr = c == '\r';
                return Some(self.end_record());
            }
            State::LineStart | State::FieldStart | State::Unquoted | State::QuoteInQuoted => {
                self.push(c);
                self.state = State::Unquoted;
            }
        }
        None
    }

    fn push(&mut self, c: char) {
        self.record.has_content |= !c.is_whitespace();
        if self.cell.len() + c.len_utf8() <= MAX_CELL_BYTES {
            self.cell.push(c);
        } else {
            let column = self.record.fields + 1;
            self.record.problem.get_or_insert(Problem::CellTooLong { column });
        }
    }

    fn end_cell(&mut self) {
        self.record.fields += 1;
        if self.record.cells.len() < self.kept_cells {
            self.record.cells.push(mem::take(&mut self.cell));
        } else {
            self.cell.clear();
        }
    }

    fn end_record(&mut self) -> RawRecord {
        self.end_cell();
        self.state = State::LineStart;
        let next = RawRecord::starting_at(self.record.row + 1);
        mem::replace(&mut self.record, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` one after another and returns every record, with the end of input.
    fn parse_pieces(delimiter: char, pieces: &[&str]) -> Vec<RawRecord> {
        let mut parser = Parser::new(delimiter, usize::MAX);
        let mut records = Vec::new();
        for piece in pieces {
            let mut rest = *piece;
            while !rest.is_empty() {
                let (consumed, record) = parser.parse(rest);
                rest = &rest[consumed..];
                records.extend(record);
            }
        }
        records.extend(parser.finish());
        records
    }

    fn rows_and_cells(records: &[RawRecord]) -> Vec<(usize, Vec<&str>)> {
        records.iter().map(|r| (r.row, r.cells.iter().map(String::as_str).collect())).collect()
    }

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_line_breaks() {
        let text = "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"two\r\nlines\",z\r\n";
        let records = parse_pieces(',', &[text]);
        assert_eq!(
            rows_and_cells(&records),
            vec![(1, vec!["a", "b"]), (2, vec!["x, y", "say \"hi\""]), (3, vec!["two\r\nlines", "z"]),]
        );
    }

    #[test]
    fn blank_lines_count_as_rows_and_line_breaks_of_any_kind_end_lines() {
        let records = parse_pieces(';', &["a;b\n\r\n\rc;d\re;f\r\n\n"]);
        assert_eq!(rows_and_cells(&records), vec![(1, vec!["a", "b"]), (4, vec!["c", "d"]), (5, vec!["e", "f"])]);
    }

    #[test]
    fn the_last_line_needs_no_line_break() {
        let records = parse_pieces('\t', &["a\tb\nc\t"]);
        assert_eq!(rows_and_cells(&records), vec![(1, vec!["a", "b"]), (2, vec!["c", ""])]);
    }

    #[test]
    fn pieces_may_split_anywhere() {
        let text = "n,\"q\"\"x\r\ny\"\r\n\"é\",2\r\n";
        let whole = parse_pieces(',', &[text]);
        let pieces: Vec<String> = text.chars().map(String::from).collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        assert_eq!(parse_pieces(',', &pieces), whole);
        assert_eq!(rows_and_cells(&whole), vec![(1, vec!["n", "q\"x\r\ny"]), (2, vec!["é", "2"])]);
    }

    #[test]
    fn stray_quotes_are_kept_as_text() {
        let records = parse_pieces(',', &["ab\"c,\"d\"e,\"f\" \n"]);
        assert_eq!(rows_and_cells(&records), vec![(1, vec!["ab\"c", "de", "f "])]);
    }

    #[test]
    fn whitespace_only_records_have_no_content() {
        let records = parse_pieces(',', &[" , \t,\"\"\nx\n"]);
        assert!(!records[0].has_content);
        assert!(records[1].has_content);
    }

    #[test]
    fn an_unclosed_quote_is_reported_at_its_row_and_column() {
        let records = parse_pieces(',', &["a,b\nc,\"d\ne\n"]);
        assert_eq!(records[1].row, 2);
        assert_eq!(records[1].problem, Some(Problem::UnclosedQuote { column: 2 }));
    }

    #[test]
    fn cells_beyond_the_limit_are_counted_not_kept() {
        let mut parser = Parser::new(',', 2);
        let (_, record) = parser.parse("a,b,c,d\n");
        let record = record.unwrap();
        assert_eq!((record.cells.len(), record.fields), (2, 4));
    }

    #[test]
    fn a_long_cell_is_cut_and_reported() {
        let text = format!("a,{}\n", "x".repeat(MAX_CELL_BYTES + 10));
        let records = parse_pieces(',', &[&text]);
        assert_eq!(records[0].cells[1].len(), MAX_CELL_BYTES);
        assert_eq!(records[0].problem, Some(Problem::CellTooLong { column: 2 }));
    }
}
