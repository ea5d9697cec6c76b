//! Splits filter and PATCH path text into tokens: words (attribute paths and keywords),
//! JSON strings and numbers, and the punctuation `( ) [ ] .`.

use serde_json::Number;

use super::ast::is_uri_char;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// An attribute path or a keyword (`and`, `eq`, `true`...), as written.
    Word(String),
    /// A JSON string literal, escapes decoded.
    Str(String),
    /// A JSON number literal.
    Num(Number),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `.` after `]`, before a sub-attribute (PATCH paths only).
    Dot,
    /// The end of the text.
    End,
}

impl TokenKind {
    /// How a message names this token.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Word(w) => format!("\"{w}\""),
            Self::Str(_) => "a string".into(),
            Self::Num(_) => "a number".into(),
            Self::LParen => "\"(\"".into(),
            Self::RParen => "\")\"".into(),
            Self::LBracket => "\"[\"".into(),
            Self::RBracket => "\"]\"".into(),
            Self::Dot => "\".\"".into(),
            Self::End => "the end of the text".into(),
        }
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Byte offset in the input.
    pub at: usize,
}

/// A lexing or parsing failure at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Byte offset in the input.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

impl SyntaxError {
    pub(crate) fn new(at: usize, message: impl Into<String>) -> Self {
        Self { at, message: message.into() }
    }

    /// The message with a 1-based character position, for a person.
    pub(crate) fn describe(&self, input: &str) -> String {
        let column = input.get(..self.at).map_or(self.at, |s| s.chars().count()) + 1;
        format!("at character {column}: {}", self.message)
    }
}

/// Splits `input` into tokens, ending with [`TokenKind::End`].
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, SyntaxError> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => TokenKind::LParen,
            b')' => TokenKind::RParen,
            b'[' => TokenKind::LBracket,
            b']' => TokenKind::RBracket,
            b'.' => TokenKind::Dot,
            b'"' => {
                let (s, end) = string(input, i)?;
                tokens.push(Token { kind: TokenKind::Str(s), at: i });
                i = end;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let (n, end) = number(input, i)?;
                tokens.push(Token { kind: TokenKind::Num(n), at: i });
                i = end;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'$' => {
                let end = word_end(bytes, i);
                tokens.push(Token { kind: TokenKind::Word(input[i..end].to_owned()), at: i });
                i = end;
                continue;
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('?');
                return Err(SyntaxError::new(i, format!("unexpected character '{}'", ch.escape_default())));
            }
        };
        tokens.push(Token { kind, at: i });
        i += 1;
    }
    tokens.push(Token { kind: TokenKind::End, at: bytes.len() });
    Ok(tokens)
}

fn word_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start + 1;
    while end < bytes.len() && (is_uri_char(char::from(bytes[end])) || bytes[end] == b'$') {
        end += 1;
    }
    end
}

/// A JSON string starting at the opening quote; returns it decoded and the offset after it.
fn string(input: &str, start: usize) -> Result<(String, usize), SyntaxError> {
    let bytes = input.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => {
                let literal = &input[start..=i];
                return serde_json::from_str::<String>(literal)
                    .map(|s| (s, i + 1))
                    .map_err(|e| SyntaxError::new(start, format!("invalid string literal: {}", json_reason(&e))));
            }
            _ => i += 1,
        }
    }
    Err(SyntaxError::new(start, "unterminated string: a closing '\"' is missing"))
}

/// A JSON number; returns it and the offset after it.
fn number(input: &str, start: usize) -> Result<(Number, usize), SyntaxError> {
    let bytes = input.as_bytes();
    let mut end = start;
    while end < bytes.len() && matches!(bytes[end], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
        end += 1;
    }
    if end < bytes.len() && (bytes[end].is_ascii_alphabetic() || bytes[end] == b'_') {
        return Err(SyntaxError::new(start, "a number must not run into letters"));
    }
    let literal = &input[start..end];
    let invalid = || SyntaxError::new(start, format!("\"{literal}\" is not a valid JSON number"));
    // serde_json checks the JSON grammar and reads integers exactly; its fast float reading
    // can be off by one unit in the last place, so fractions go through Rust's exact parser.
    let number = serde_json::from_str::<Number>(literal).map_err(|_| invalid())?;
    if number.is_f64() {
        let exact = literal.parse::<f64>().ok().and_then(Number::from_f64).ok_or_else(invalid)?;
        return Ok((exact, end));
    }
    Ok((number, end))
}

/// serde_json's message without its line/column suffix (the position is ours).
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        tokenize(input).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn words_strings_numbers_and_punctuation() {
        assert_eq!(
            kinds(r#"emails[type eq "wo\"rk"] and (x gt -1.5e3)"#),
            vec![
                TokenKind::Word("emails".into()),
                TokenKind::LBracket,
                TokenKind::Word("type".into()),
                TokenKind::Word("eq".into()),
                TokenKind::Str("wo\"rk".into()),
                TokenKind::RBracket,
                TokenKind::Word("and".into()),
                TokenKind::LParen,
                TokenKind::Word("x".into()),
                TokenKind::Word("gt".into()),
                TokenKind::Num(serde_json::from_str("-1.5e3").unwrap()),
                TokenKind::RParen,
                TokenKind::End,
            ]
        );
    }

    #[test]
    fn urn_prefixed_paths_are_one_word() {
        assert_eq!(
            kinds("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName pr"),
            vec![
                TokenKind::Word("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName".into()),
                TokenKind::Word("pr".into()),
                TokenKind::End
            ]
        );
    }

    #[test]
    fn fractions_are_read_exactly() {
        let text = "-7.679423890725891e177";
        let [Token { kind: TokenKind::Num(n), .. }, _] = &tokenize(text).unwrap()[..] else { panic!() };
        assert_eq!(n.as_f64(), Some(-7.679423890725891e177));
        assert_eq!(tokenize(&n.to_string()).unwrap()[0].kind, TokenKind::Num(n.clone()));
    }

    #[test]
    fn errors_carry_the_offset() {
        assert_eq!(tokenize("a eq \"open").unwrap_err().at, 5);
        assert_eq!(tokenize("a eq 01").unwrap_err().at, 5);
        assert_eq!(tokenize("a eq 1x").unwrap_err().at, 5);
        assert_eq!(tokenize("a eq \"\\q\"").unwrap_err().at, 5);
        assert_eq!(tokenize("a # b").unwrap_err().at, 2);
        assert_eq!(
            tokenize("a eq \"é\" ~").unwrap_err().describe("a eq \"é\" ~"),
            "at character 10: unexpected character '~'"
        );
    }
}
