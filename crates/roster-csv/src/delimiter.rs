//! The field delimiter, detected from the header line.

/// A field delimiter this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// `,` — the CSV default, and what `CsvWriter` writes.
    Comma,
    /// `;` — what spreadsheets write where the comma is the decimal separator.
    Semicolon,
    /// A tab — what spreadsheets write as "text (tab delimited)" or "Unicode text".
    Tab,
}

impl Delimiter {
    /// The delimiter character.
    pub fn as_char(self) -> char {
        match self {
            Self::Comma => ',',
            Self::Semicolon => ';',
            Self::Tab => '\t',
        }
    }

    /// The delimiter a first line `sep=X` declares (Excel writes it, and reads it when
    /// opening a file): `X` a comma, semicolon or tab, alone on the line.
    pub(crate) fn declared(text: &str) -> Option<Self> {
        let text = text.trim_start_matches('\u{feff}');
        let line = text.split(['\r', '\n']).next().unwrap_or_default();
        let rest = line.get(..4).filter(|head| head.eq_ignore_ascii_case("sep=")).and(line.get(4..))?;
        let mut chars = rest.chars();
        let delimiter = match chars.next()? {
            ',' => Self::Comma,
            ';' => Self::Semicolon,
            '\t' => Self::Tab,
            _ => return None,
        };
        chars.all(|c| c == ' ').then_some(delimiter)
    }

    /// Detects the delimiter of the first non-blank line of `text`.
    ///
    /// Counts each candidate outside quotes and takes the most frequent, as it splits the
    /// header into the most columns. Ties go to the character least likely to be part of a
    /// column name: tab, then semicolon, then comma. A line with none is one column and
    /// reads as comma-separated, so an unquoted comma in a later row splits it.
    pub(crate) fn detect(text: &str) -> Self {
        // Most to least preferred on a tie.
        const CANDIDATES: [Delimiter; 3] = [Delimiter::Tab, Delimiter::Semicolon, Delimiter::Comma];
        let mut counts = [0_usize; 3];
        let mut in_quotes = false;
        let mut line_has_content = false;
        for c in text.chars() {
            match c {
                '"' => in_quotes = !in_quotes,
                '\r' | '\n' if !in_quotes && line_has_content => break,
                '\r' | '\n' if !in_quotes => counts = [0; 3],
                _ if in_quotes => {}
                _ => {
                    if let Some(index) = CANDIDATES.iter().position(|d| d.as_char() == c) {
                        counts[index] += 1;
                    }
                }
            }
            line_has_content |= !c.is_whitespace();
        }
        let mut best = (Self::Comma, 0);
        for (delimiter, count) in CANDIDATES.into_iter().zip(counts) {
            if count > best.1 {
                best = (delimiter, count);
            }
        }
        best.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sep_line_declares_the_delimiter() {
        assert_eq!(Delimiter::declared("sep=;\r\na;b"), Some(Delimiter::Semicolon));
        assert_eq!(Delimiter::declared("\u{feff}SEP=,\na,b"), Some(Delimiter::Comma));
        assert_eq!(Delimiter::declared("sep=\t\n"), Some(Delimiter::Tab));
        assert_eq!(Delimiter::declared("sep=|\na|b"), None);
        assert_eq!(Delimiter::declared("sep=;x\n"), None);
        assert_eq!(Delimiter::declared("username;sep=;"), None);
        assert_eq!(Delimiter::declared("sé"), None);
    }

    #[test]
    fn the_most_frequent_candidate_wins() {
        assert_eq!(Delimiter::detect("a,b,c\n1;2;3;4;5"), Delimiter::Comma);
        assert_eq!(Delimiter::detect("a;b;c,d\r\n"), Delimiter::Semicolon);
        assert_eq!(Delimiter::detect("a\tb\tc"), Delimiter::Tab);
    }

    #[test]
    fn delimiters_inside_quotes_do_not_count() {
        assert_eq!(Delimiter::detect("\"Name, full, really\";Email"), Delimiter::Semicolon);
        assert_eq!(Delimiter::detect("\"a;b\",\"c\"\"d;e\""), Delimiter::Comma);
    }

    #[test]
    fn a_quoted_line_break_does_not_end_the_header() {
        assert_eq!(Delimiter::detect("\"first\nname\";last;email\n"), Delimiter::Semicolon);
    }

    #[test]
    fn leading_blank_lines_are_skipped() {
        assert_eq!(Delimiter::detect("\r\n \t\t\na;b\n1,2,3,4"), Delimiter::Semicolon);
    }

    #[test]
    fn ties_prefer_tab_then_semicolon_and_no_delimiter_is_comma() {
        assert_eq!(Delimiter::detect("Last, First\tEmail"), Delimiter::Tab);
        assert_eq!(Delimiter::detect("a,b;c"), Delimiter::Semicolon);
        assert_eq!(Delimiter::detect("email\nx;y"), Delimiter::Comma);
        assert_eq!(Delimiter::detect(""), Delimiter::Comma);
    }
}
