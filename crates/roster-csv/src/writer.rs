//! The writer: UTF-8 with a byte order mark, comma-separated, CRLF, spreadsheet-safe.
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula, and some
//! also treat a leading tab or carriage return that way. Such a cell is written with a
//! single quote `'` in front, so that it shows as text: `=1+1` is written `'=1+1`, and
//! `-5` is written `'-5` too. A cell that itself starts with `'` gets one more, so that
//! [`restore`] (which every reader of the project applies) gives back exactly the cell
//! that was written: `'-5` → `-5`, `''quoted` → `'quoted`, while a `'` that a person
//! typed before ordinary text (`'quoted`, `O'Brien`) stays.

use std::borrow::Cow;
use std::io::{self, Write};

/// The UTF-8 byte order mark, first in every file written, so spreadsheets read accents.
pub const UTF8_BOM: &str = "\u{feff}";

/// The characters that make a leading cell character a formula trigger.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The characters that make a cell need quotes: any delimiter the reader detects, the
/// quote itself and line breaks.
const NEEDS_QUOTES: [char; 6] = [',', ';', '\t', '"', '\r', '\n'];

/// The cell as it is safe to show in a spreadsheet: prefixed with `'` if it starts with
/// `=`, `+`, `-`, `@`, a tab, a carriage return or `'` itself.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_TRIGGERS) || cell.starts_with('\'') {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The cell as it was before [`neutralize`]: one leading `'` goes when a formula
/// trigger or another `'` follows it.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_TRIGGERS) || rest.starts_with('\'') => rest,
        _ => cell,
    }
}

/// Appends one line to `buf`: the cells neutralised, quoted where needed, separated by
/// commas and ended by CRLF. For streaming a file in chunks, after a first `UTF8_BOM`.
pub fn encode_row<I, S>(buf: &mut String, cells: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for (index, cell) in cells.into_iter().enumerate() {
        if index > 0 {
            buf.push(',');
        }
        let cell = neutralize(cell.as_ref());
        if cell.contains(NEEDS_QUOTES) {
            buf.push('"');
            buf.push_str(&cell.replace('"', "\"\""));
            buf.push('"');
        } else {
            buf.push_str(&cell);
        }
    }
    buf.push_str("\r\n");
}

/// Writes a CSV file row by row to `W` (wrap it in a `BufWriter` for small writes).
#[derive(Debug)]
pub struct CsvWriter<W> {
    inner: W,
    line: String,
}

impl<W: Write> CsvWriter<W> {
    /// Starts a file on `inner` by writing the UTF-8 byte order mark.
    pub fn new(mut inner: W) -> io::Result<Self> {
        inner.write_all(UTF8_BOM.as_bytes())?;
        Ok(Self { inner, line: String::new() })
    }

    /// Writes one row, as `encode_row` encodes it.
    pub fn write_row<I, S>(&mut self, cells: I) -> io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.line.clear();
        encode_row(&mut self.line, cells);
        self.inner.write_all(self.line.as_bytes())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// The underlying writer, after flushing it.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cells: &[&str]) -> String {
        let mut buf = String::new();
        encode_row(&mut buf, cells);
        buf
    }

    #[test]
    fn formula_triggers_are_neutralized() {
        for cell in ["=SUM(A1)", "+1", "-5", "@cmd", "\tx", "\rx", "'quoted", "'-5"] {
            assert_eq!(neutralize(cell), format!("'{cell}"));
        }
        for cell in ["a=b", "", " =1", "5-", "O'Brien"] {
            assert_eq!(neutralize(cell), cell);
        }
    }

    #[test]
    fn restore_reads_back_every_cell_written() {
        for cell in ["=SUM(A1)", "-dash", "'quoted", "''", "'", "'-5", "''=x", "plain", "", "O'Brien", "a'"] {
            assert_eq!(restore(&neutralize(cell)), cell, "{cell:?}");
        }
        assert_eq!(restore("'hello"), "'hello", "a quote a person typed before text stays");
    }

    #[test]
    fn cells_are_quoted_only_when_needed() {
        assert_eq!(line(&["plain", "Zoë Müller", ""]), "plain,Zoë Müller,\r\n");
        assert_eq!(
            line(&["a,b", "a;b", "say \"hi\"", "two\nlines", "cr\r"]),
            "\"a,b\",\"a;b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\"\r\n"
        );
        assert_eq!(line(&["=1,2", "\tx"]), "\"'=1,2\",\"'\tx\"\r\n");
    }

    #[test]
    fn a_file_starts_with_the_byte_order_mark() {
        let mut writer = CsvWriter::new(Vec::new()).unwrap();
        writer.write_row(["name", "email"]).unwrap();
        writer.write_row(vec!["José".to_owned(), "j@x.org".to_owned()]).unwrap();
        let bytes = writer.into_inner().unwrap();
        assert_eq!(bytes, "\u{feff}name,email\r\nJosé,j@x.org\r\n".as_bytes());
    }
}
