//! A recursive-descent parser for RFC 7644 filters, with the precedence
//! `not` > `and` > `or` and bounds on length and nesting, so no input can exhaust the stack.
//!
//! ```text
//! or      = and *("or" and)
//! and     = unary *("and" unary)
//! unary   = "not" "(" or ")" / "(" or ")" / attrExp
//! attrExp = attrPath "pr" / attrPath compareOp compValue / attrPath "[" or "]"
//! ```

use super::ast::{AttrPath, CompValue, CompareOp, Filter};
use super::lexer::{tokenize, SyntaxError, Token, TokenKind};

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LENGTH: usize = 4096;
/// The deepest nesting of parentheses, `not` and `[...]` accepted.
pub const MAX_FILTER_DEPTH: usize = 32;

/// Parses a whole filter.
pub(crate) fn parse_filter(input: &str) -> Result<Filter, SyntaxError> {
    let mut parser = Parser::new(input)?;
    let filter = parser.or()?;
    parser.expect_end()?;
    Ok(filter)
}

/// A cursor over the tokens of one text.
pub(crate) struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
    /// Inside `[...]`: paths are sub-attributes and another `[` is refused.
    in_value_path: bool,
}

impl Parser {
    /// Tokenizes `input`, refusing it when it is too long.
    pub(crate) fn new(input: &str) -> Result<Self, SyntaxError> {
        if input.len() > MAX_FILTER_LENGTH {
            return Err(SyntaxError::new(MAX_FILTER_LENGTH, format!("longer than {MAX_FILTER_LENGTH} bytes")));
        }
        Ok(Self { tokens: tokenize(input)?, next: 0, depth: 0, in_value_path: false })
    }

    pub(crate) fn peek(&self) -> &Token {
        // `tokenize` always ends with `End`, and `advance` never moves past it.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    pub(crate) fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::End {
            self.next += 1;
        }
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn peek_second(&self) -> &TokenKind {
        &self.tokens[(self.next + 1).min(self.tokens.len() - 1)].kind
    }

    pub(crate) fn expect(&mut self, kind: &TokenKind, what: &str) -> Result<Token, SyntaxError> {
        let token = self.advance();
        if &token.kind == kind {
            Ok(token)
        } else {
            Err(SyntaxError::new(token.at, format!("expected {what}, found {}", token.kind.describe())))
        }
    }

    pub(crate) fn expect_end(&mut self) -> Result<(), SyntaxError> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::End => Ok(()),
            TokenKind::RParen => Err(SyntaxError::new(token.at, "unbalanced ')'")),
            TokenKind::RBracket => Err(SyntaxError::new(token.at, "unbalanced ']'")),
            other => Err(SyntaxError::new(
                token.at,
                format!("expected \"and\", \"or\" or the end, found {}", other.describe()),
            )),
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(SyntaxError::new(at, format!("nested deeper than {MAX_FILTER_DEPTH} levels")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// `or = and *("or" and)`
    pub(crate) fn or(&mut self) -> Result<Filter, SyntaxError> {
        let mut left = self.and()?;
        while self.peek_keyword("or") {
            self.advance();
            let right = self.and()?;
            left = Filter::or(left, right);
        }
        Ok(left)
    }

    /// `and = unary *("and" unary)`
    fn and(&mut self) -> Result<Filter, SyntaxError> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.advance();
            let right = self.unary()?;
            left = Filter::and(left, right);
        }
        Ok(left)
    }

    /// `unary = "not" "(" or ")" / "(" or ")" / attrExp`
    fn unary(&mut self) -> Result<Filter, SyntaxError> {
        let at = self.peek().at;
        // `not` is the operator only before "(": otherwise it is an attribute named "not".
        if self.peek_keyword("not") && *self.peek_second() == TokenKind::LParen {
            self.advance();
            self.advance();
            self.enter(at)?;
            let inner = self.or()?;
            self.expect(&TokenKind::RParen, "\")\" closing \"not (\"")?;
            self.leave();
            return Ok(Filter::negate(inner));
        }
        if self.peek().kind == TokenKind::LParen {
            self.advance();
            self.enter(at)?;
            let inner = self.or()?;
            self.expect(&TokenKind::RParen, "\")\"")?;
            self.leave();
            return Ok(inner);
        }
        self.attr_exp()
    }

    /// `attrExp`, or a value path `attrPath "[" filter "]"`.
    fn attr_exp(&mut self) -> Result<Filter, SyntaxError> {
        let (path, at) = self.attr_path()?;
        if self.peek().kind == TokenKind::LBracket {
            let inner = self.value_filter(&path, at)?;
            return Ok(Filter::ValuePath { path, filter: Box::new(inner) });
        }
        let token = self.advance();
        let TokenKind::Word(word) = &token.kind else {
            return Err(SyntaxError::new(
                token.at,
                format!(
                    "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after {path}, found {}",
                    token.kind.describe()
                ),
            ));
        };
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(word).ok_or_else(|| {
            SyntaxError::new(
                token.at,
                format!("the operator \"{word}\" is not supported; use eq, ne, co, sw, ew, gt, ge, lt, le or pr"),
            )
        })?;
        let value = self.comp_value(op)?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `"[" filter "]"` after `path`; the inner paths are sub-attributes of `path`.
    pub(crate) fn value_filter(&mut self, path: &AttrPath, at: usize) -> Result<Filter, SyntaxError> {
        if self.in_value_path {
            return Err(SyntaxError::new(self.peek().at, "a filter inside \"[...]\" cannot hold another \"[...]\""));
        }
        if path.sub_attr.is_some() {
            return Err(SyntaxError::new(
                at,
                format!("\"[...]\" follows an attribute, not a sub-attribute like {path}"),
            ));
        }
        self.advance();
        self.enter(at)?;
        self.in_value_path = true;
        let inner = self.or()?;
        self.in_value_path = false;
        self.expect(&TokenKind::RBracket, "\"]\"")?;
        self.leave();
        Ok(inner)
    }

    /// An attribute path word, with where it starts.
    pub(crate) fn attr_path(&mut self) -> Result<(AttrPath, usize), SyntaxError> {
        let token = self.advance();
        let TokenKind::Word(word) = &token.kind else {
            return Err(SyntaxError::new(
                token.at,
                format!("expected an attribute name, found {}", token.kind.describe()),
            ));
        };
        let path = AttrPath::parse_word(word).map_err(|m| SyntaxError::new(token.at, m))?;
        if self.in_value_path && (path.schema.is_some() || path.sub_attr.is_some()) {
            return Err(SyntaxError::new(token.at, format!("inside \"[...]\" name a sub-attribute alone, not {path}")));
        }
        Ok((path, token.at))
    }

    /// `compValue = false / null / true / number / string`
    fn comp_value(&mut self, op: CompareOp) -> Result<CompValue, SyntaxError> {
        let token = self.advance();
        let value = match token.kind {
            TokenKind::Str(s) => CompValue::String(s),
            TokenKind::Num(n) => CompValue::Number(n),
            TokenKind::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            TokenKind::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            TokenKind::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            other => {
                let hint = if matches!(other, TokenKind::Word(_)) { " (quote text: \"...\")" } else { "" };
                return Err(SyntaxError::new(
                    token.at,
                    format!(
                        "expected a value (a string, a number, true, false or null), found {}{hint}",
                        other.describe()
                    ),
                ));
            }
        };
        match (&value, op) {
            (CompValue::Bool(_) | CompValue::Null, op) if op.is_ordering() || op.is_substring() => {
                Err(SyntaxError::new(
                    token.at,
                    format!("\"{}\" compares strings, numbers and dates, not {value}", op.as_str()),
                ))
            }
            _ => Ok(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Filter {
        parse_filter(s).unwrap_or_else(|e| panic!("{s}: {}", e.describe(s)))
    }

    fn err(s: &str) -> String {
        parse_filter(s).unwrap_err().describe(s)
    }

    fn cmp(name: &str, op: CompareOp, value: CompValue) -> Filter {
        Filter::compare(AttrPath::new(name), op, value)
    }

    fn s(v: &str) -> CompValue {
        CompValue::String(v.into())
    }

    #[test]
    fn every_operator_parses_in_any_case() {
        for op in CompareOp::ALL {
            for kw in [op.as_str().to_owned(), op.as_str().to_uppercase()] {
                assert_eq!(parse(&format!("title {kw} \"x\"")), cmp("title", op, s("x")));
            }
        }
        assert_eq!(parse("title PR"), Filter::Present(AttrPath::new("title")));
    }

    #[test]
    fn literals() {
        assert_eq!(parse("active eq TRUE"), cmp("active", CompareOp::Eq, CompValue::Bool(true)));
        assert_eq!(parse("active eq false"), cmp("active", CompareOp::Eq, CompValue::Bool(false)));
        assert_eq!(parse("title eq Null"), cmp("title", CompareOp::Eq, CompValue::Null));
        assert_eq!(
            parse("n ge -2.5"),
            cmp("n", CompareOp::Ge, CompValue::Number(serde_json::from_str("-2.5").unwrap()))
        );
        assert_eq!(parse(r#"t eq "a\u00e9\n""#), cmp("t", CompareOp::Eq, s("aé\n")));
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let a = || cmp("a", CompareOp::Eq, s("1"));
        let b = || cmp("b", CompareOp::Eq, s("2"));
        let c = || cmp("c", CompareOp::Eq, s("3"));
        assert_eq!(parse(r#"a eq "1" or b eq "2" and c eq "3""#), Filter::or(a(), Filter::and(b(), c())));
        assert_eq!(parse(r#"a eq "1" and b eq "2" or c eq "3""#), Filter::or(Filter::and(a(), b()), c()));
        assert_eq!(parse(r#"(a eq "1" or b eq "2") and c eq "3""#), Filter::and(Filter::or(a(), b()), c()));
        assert_eq!(parse(r#"not (a eq "1") and b eq "2""#), Filter::and(Filter::negate(a()), b()));
        assert_eq!(parse(r#"a eq "1" and b eq "2" and c eq "3""#), Filter::and(Filter::and(a(), b()), c()));
        assert_eq!(
            parse(r#"a eq "1" AND NOT (b eq "2" Or c eq "3")"#),
            Filter::and(a(), Filter::negate(Filter::or(b(), c())))
        );
    }

    #[test]
    fn value_paths_hold_sub_attribute_filters() {
        let f = parse(r#"emails[type eq "work" and value co "@acme"]"#);
        assert_eq!(
            f,
            Filter::ValuePath {
                path: AttrPath::new("emails"),
                filter: Box::new(Filter::and(
                    cmp("type", CompareOp::Eq, s("work")),
                    cmp("value", CompareOp::Co, s("@acme"))
                )),
            }
        );
        assert_eq!(f.to_string(), r#"emails[type eq "work" and value co "@acme"]"#);
        assert!(matches!(parse(r#"userType eq "E" and emails[type eq "work"] or ims pr"#), Filter::Or(..)));
    }

    #[test]
    fn schema_qualified_paths_and_sub_attributes() {
        let f = parse(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#);
        let Filter::Compare { path, .. } = f else { panic!() };
        assert_eq!(path.schema.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
        assert_eq!((path.name.as_str(), path.sub_attr.as_deref()), ("manager", Some("value")));
    }

    #[test]
    fn not_without_parenthesis_is_an_attribute_name() {
        assert_eq!(parse("not pr"), Filter::Present(AttrPath::new("not")));
        assert_eq!(parse("and eq \"x\""), cmp("and", CompareOp::Eq, s("x")));
    }

    #[test]
    fn errors_name_the_position_and_the_problem() {
        assert_eq!(
            err("userName eq"),
            "at character 12: expected a value (a string, a number, true, false or null), found the end of the text"
        );
        assert_eq!(
            err("userName regex \"x\""),
            "at character 10: the operator \"regex\" is not supported; use eq, ne, co, sw, ew, gt, ge, lt, le or pr"
        );
        assert!(err("userName eq bjensen").contains("quote text"));
        assert!(err("(a pr").contains("expected \")\""));
        assert!(err("a pr)").contains("unbalanced ')'"));
        assert!(err("a pr b pr").contains("expected \"and\", \"or\" or the end"));
        assert!(err("active gt true").contains("not true"));
        assert!(err("title co null").contains("not null"));
        assert!(err("emails[type eq \"w\"").contains("expected \"]\""));
        assert!(err("emails[x[y pr]]").contains("cannot hold another"));
        assert!(err("emails[a.b pr]").contains("sub-attribute alone"));
        assert!(err("emails.value[type pr]").contains("not a sub-attribute"));
        assert!(err("").contains("expected an attribute name"));
        assert!(err("not (a pr) and").contains("expected an attribute name"));
        assert!(parse_filter("a pr and or b pr").is_err());
    }

    #[test]
    fn length_and_depth_are_bounded() {
        let deep = format!("{}a pr{}", "(".repeat(MAX_FILTER_DEPTH + 1), ")".repeat(MAX_FILTER_DEPTH + 1));
        assert!(err(&deep).contains("nested deeper than 32"));
        let ok = format!("{}a pr{}", "(".repeat(MAX_FILTER_DEPTH), ")".repeat(MAX_FILTER_DEPTH));
        assert_eq!(parse(&ok), Filter::Present(AttrPath::new("a")));
        let nots = format!("{}a pr{}", "not (".repeat(100), ")".repeat(100));
        assert!(err(&nots).contains("nested deeper"));
        let long = format!("a eq \"{}\"", "x".repeat(MAX_FILTER_LENGTH));
        assert!(err(&long).contains("longer than 4096 bytes"));
    }

    #[test]
    fn long_chains_of_and_stay_within_bounds() {
        let chain = vec!["a pr"; 400].join(" and ");
        assert!(chain.len() < MAX_FILTER_LENGTH);
        let f = parse(&chain);
        assert_eq!(parse(&f.to_string()), f);
    }
}
