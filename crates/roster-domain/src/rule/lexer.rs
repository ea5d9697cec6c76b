//! Splits rule text into tokens, each with its byte offset.

use chrono::NaiveDate;

use super::ast::{DateUnit, Op, MAX_OFFSET};
use super::RuleError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A keyword, subject or enum value, lower-cased.
    Word(String),
    /// A double-quoted string, escapes resolved.
    Str(String),
    /// An unsigned number.
    Number(f64),
    /// A date written `2024-01-31`.
    Date(NaiveDate),
    /// An amount of time: `90d`, at most [`MAX_OFFSET`].
    Offset(i32, DateUnit),
    /// `=`, `!=`, `<`, `<=`, `>` or `>=`.
    Compare(Op),
    LParen,
    RParen,
    Comma,
    Dot,
    Plus,
    Minus,
    End,
}

/// A token and where it starts and ends in the text (bytes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// The tokens of `text`, ending with [`Tok::End`].
pub(crate) fn tokens(text: &str) -> Result<Vec<Token>, RuleError> {
    let mut lexer = Lexer { text, pos: 0 };
    let mut out = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let end = token.tok == Tok::End;
        out.push(token);
        if end {
            return Ok(out);
        }
    }
}

/// A strict `YYYY-MM-DD` date that exists (2023-02-30 does not).
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    date_shaped(s).then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()).flatten()
}

fn date_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn bump_if(&mut self, expected: char) -> bool {
        let hit = self.peek() == Some(expected);
        if hit {
            self.pos += expected.len_utf8();
        }
        hit
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        let text = self.text;
        &text[start..self.pos]
    }

    fn next_token(&mut self) -> Result<Token, RuleError> {
        self.take_while(char::is_whitespace);
        let start = self.pos;
        let Some(c) = self.bump() else {
            return Ok(Token { tok: Tok::End, start, end: start });
        };
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '.' => Tok::Dot,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '=' => Tok::Compare(Op::Eq),
            '!' if self.bump_if('=') => Tok::Compare(Op::Ne),
            '<' if self.bump_if('=') => Tok::Compare(Op::Le),
            '<' => Tok::Compare(Op::Lt),
            '>' if self.bump_if('=') => Tok::Compare(Op::Ge),
            '>' => Tok::Compare(Op::Gt),
            '"' => Tok::Str(self.string(start)?),
            c if c.is_ascii_alphabetic() || c == '_' => {
                self.pos = start;
                Tok::Word(self.take_while(|c| c.is_ascii_alphanumeric() || c == '_').to_ascii_lowercase())
            }
            c if c.is_ascii_digit() => {
                self.pos = start;
                let raw = self.take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
                classify_number(raw).map_err(|message| RuleError::at(self.text, start, message))?
            }
            '!' => return Err(RuleError::at(self.text, start, "unexpected \"!\" — did you mean \"!=\"?")),
            '\'' => {
                return Err(RuleError::at(
                    self.text,
                    start,
                    "unexpected \"'\" — text goes in double quotes: \"like this\"",
                ))
            }
            other => {
                let shown = if other.is_control() { other.escape_debug().to_string() } else { other.to_string() };
                return Err(RuleError::at(self.text, start, format!("unexpected character \"{shown}\"")));
            }
        };
        Ok(Token { tok, start, end: self.pos })
    }

    /// The rest of a string whose opening quote is at `start`.
    fn string(&mut self, start: usize) -> Result<String, RuleError> {
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None => return Err(RuleError::at(self.text, start, "this text has no closing double quote")),
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('u') if self.peek() == Some('{') => out.push(self.unicode_escape(at)?),
                    // Other escapes keep their backslash, so regular expressions such
                    // as "\d+" can be written as they are.
                    Some(c @ ('"' | '\\')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => return Err(RuleError::at(self.text, start, "this text has no closing double quote")),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// The character of `\u{...}` whose backslash is at `at`; `{` comes next.
    fn unicode_escape(&mut self, at: usize) -> Result<char, RuleError> {
        self.bump();
        let digits = self.take_while(|c| c.is_ascii_hexdigit());
        let code = (digits.len() <= 6 && self.bump_if('}'))
            .then(|| u32::from_str_radix(digits, 16).ok())
            .flatten()
            .and_then(char::from_u32);
        code.ok_or_else(|| {
            RuleError::at(self.text, at, "\\u{...} must hold the hexadecimal code of a character, such as \\u{e9}")
        })
    }
}

/// A run of letters, digits, `.`, `-` and `_` that starts with a digit.
fn classify_number(raw: &str) -> Result<Tok, String> {
    if raw.contains('-') {
        return parse_date(raw).map(Tok::Date).ok_or_else(|| {
            if date_shaped(raw) {
                format!("{raw} is not a date that exists")
            } else {
                format!("{raw} is not a date: write dates as YYYY-MM-DD, such as 2024-01-31")
            }
        });
    }
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, "0"));
    if all_digits(whole) && all_digits(fraction) {
        return raw
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Tok::Number)
            .ok_or_else(|| format!("{raw} is too large a number"));
    }
    let unit = match raw.as_bytes().last().map(u8::to_ascii_lowercase) {
        Some(b'd') => DateUnit::Day,
        Some(b'w') => DateUnit::Week,
        Some(b'm') => DateUnit::Month,
        Some(b'y') => DateUnit::Year,
        _ => return Err(not_a_value(raw)),
    };
    let amount = &raw[..raw.len() - 1];
    if !all_digits(amount) {
        return Err(not_a_value(raw));
    }
    match amount.parse::<i32>() {
        Ok(n) if n <= MAX_OFFSET => Ok(Tok::Offset(n, unit)),
        _ => Err(format!("{raw} is too far: at most {MAX_OFFSET} days, weeks, months or years")),
    }
}

fn not_a_value(raw: &str) -> String {
    format!("\"{raw}\" is not a number (12.5), a date (2024-01-31) or an amount of time (90d)")
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;
    use crate::rule::Location;

    fn toks(text: &str) -> Vec<Tok> {
        tokens(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn message(text: &str) -> String {
        tokens(text).unwrap_err().message
    }

    #[test]
    fn splits_words_symbols_and_values() {
        assert_eq!(
            toks("Email != \"a\" AND x<=-2.5 (today-90D), 2024-02-29 . +"),
            vec![
                Tok::Word("email".into()),
                Tok::Compare(Op::Ne),
                Tok::Str("a".into()),
                Tok::Word("and".into()),
                Tok::Word("x".into()),
                Tok::Compare(Op::Le),
                Tok::Minus,
                Tok::Number(2.5),
                Tok::LParen,
                Tok::Word("today".into()),
                Tok::Minus,
                Tok::Offset(90, DateUnit::Day),
                Tok::RParen,
                Tok::Comma,
                Tok::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
                Tok::Dot,
                Tok::Plus,
                Tok::End,
            ]
        );
    }

    #[test]
    fn strings_resolve_escapes_and_keep_unknown_ones() {
        assert_eq!(toks(r#""a\"b\\c\n\u{e9}\d""#), vec![Tok::Str("a\"b\\c\n\u{e9}\\d".into()), Tok::End]);
        assert_eq!(message("x = \"open"), "this text has no closing double quote");
        assert!(message(r#""\u{110000}""#).contains("hexadecimal"));
        assert!(message(r#""\u{zz}""#).contains("hexadecimal"));
    }

    #[test]
    fn numbers_dates_and_offsets_are_checked() {
        assert!(message("2023-02-30").contains("not a date that exists"));
        assert!(message("2024-1-31").contains("YYYY-MM-DD"));
        assert!(message("1.").contains("is not a number"));
        assert!(message("1.2.3").contains("is not a number"));
        assert!(message("90days").contains("amount of time"));
        assert!(message("10001d").contains("at most 10000"));
        assert!(message("99999999999999d").contains("at most 10000"));
        assert!(message(&"9".repeat(400)).contains("too large"));
        assert_eq!(toks("2w"), vec![Tok::Offset(2, DateUnit::Week), Tok::End]);
        assert_eq!(toks("007"), vec![Tok::Number(7.0), Tok::End]);
    }

    #[test]
    fn unexpected_characters_are_named_with_their_position() {
        let err = tokens("email = 'x'").unwrap_err();
        assert_eq!(err.to_string(), "line 1, column 9: unexpected \"'\" — text goes in double quotes: \"like this\"");
        assert_eq!(message("a\n  # b"), "unexpected character \"#\"");
        assert_eq!(tokens("a\n  # b").unwrap_err().location, Some(Location::Text { line: 2, column: 3 }));
        assert_eq!(message("a \u{7}"), "unexpected character \"\\u{7}\"");
        assert_eq!(message("a ! b"), "unexpected \"!\" — did you mean \"!=\"?");
    }
}
