//! Cells as spreadsheets write them, read into the forms the domain checks: dates in
//! ISO and common spreadsheet forms, numbers with thousands separators or a decimal
//! comma, and cells a CSV export protected against formulas.
//!
//! # Dates
//!
//! Accepted: `2024-01-31` (also with `/` or `.`, and with a time after it, which is
//! dropped), `31 Jan 2024`, `31-Jan-2024`, `January 31, 2024`, and day and month as
//! numbers with a four-digit year: `31/01/2024`, `1-31-2024`, `31.01.2024`. Which number
//! is the day is decided per cell: `31/01/2024` can only be day/month and `01/31/2024`
//! only month/day, so both are accepted (`05/05/2024` too: it reads the same either
//! way). `02/03/2024` could be 2 March or 3 February: it is refused, asking for
//! `YYYY-MM-DD`, unless the import says `date_order=dmy` or `mdy`; with an order given,
//! every numeric date is read in that order. One column may not mix the two orders.
//! Two-digit years are refused: which century is a guess.
//!
//! # Numbers
//!
//! `1234.5`, `-3`, `1,234.5`, `1.234,5`, `1 234,5`, `3,5` (a decimal comma). A single
//! comma followed by exactly three digits (`1,234`) is refused as ambiguous: it is
//! 1234 to some spreadsheets and 1.234 to others.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which number comes first in a date such as `02/03/2024`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// Day, month, year (`31/01/2024`).
    Dmy,
    /// Month, day, year (`01/31/2024`).
    Mdy,
}

impl DateOrder {
    /// Parses `dmy` or `mdy` (any case).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "dmy" => Some(Self::Dmy),
            "mdy" => Some(Self::Mdy),
            _ => None,
        }
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            Self::Dmy => "day/month/year",
            Self::Mdy => "month/day/year",
        }
    }
}

/// A date read from a cell, and the order its numbers showed, when they showed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ReadDate {
    pub date: NaiveDate,
    pub order: Option<DateOrder>,
}

/// Formats a date cell may have once its time is dropped, with month names.
const NAMED_MONTH_FORMATS: &[&str] =
    &["%d %b %Y", "%d-%b-%Y", "%d/%b/%Y", "%d %B %Y", "%d-%B-%Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y"];

/// Reads a date cell; `order` is the import's `date_order`, if it gave one.
pub(super) fn read_date(raw: &str, order: Option<DateOrder>) -> Result<ReadDate, String> {
    let s = without_time(raw.trim());
    let refuse = || format!("\"{}\" is not a date; write it as YYYY-MM-DD", raw.trim());
    if let Some(date) = NAMED_MONTH_FORMATS.iter().find_map(|f| NaiveDate::parse_from_str(s, f).ok()) {
        return Ok(ReadDate { date, order: None });
    }
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    let [a, b, c] = parts.as_slice() else { return Err(refuse()) };
    if ![a, b, c].iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|x| x.is_ascii_digit())) {
        return Err(refuse());
    }
    let n = |p: &str| p.parse::<u32>().unwrap_or(0);
    if a.len() == 4 {
        let date = ymd(n(a), n(b), n(c)).ok_or_else(refuse)?;
        return Ok(ReadDate { date, order: None });
    }
    if c.len() != 4 {
        return Err(format!("\"{}\": write the year with four digits, or the date as YYYY-MM-DD", raw.trim()));
    }
    if a.len() > 2 || b.len() > 2 {
        return Err(refuse());
    }
    let (first, second, year) = (n(a), n(b), n(c));
    let chosen = match order {
        Some(order) => order,
        None if first == second => DateOrder::Dmy,
        None if first > 12 && second <= 12 => DateOrder::Dmy,
        None if second > 12 && first <= 12 => DateOrder::Mdy,
        None if first > 12 => return Err(refuse()),
        None => {
            return Err(format!(
                "\"{}\" is ambiguous: it may be day/month or month/day; write it as YYYY-MM-DD, or import with date_order=dmy or date_order=mdy",
                raw.trim()
            ))
        }
    };
    let date = match chosen {
        DateOrder::Dmy => ymd(year, second, first),
        DateOrder::Mdy => ymd(year, first, second),
    }
    .ok_or_else(|| format!("\"{}\" is not a valid {} date", raw.trim(), chosen.describe()))?;
    // Equal day and month show no order; an order given by the import is not evidence.
    let shown = (order.is_none() && first != second).then_some(chosen);
    Ok(ReadDate { date, order: shown })
}

fn ymd(year: u32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// The cell without a trailing time of day (`2024-01-31 00:00:00`, `2024-01-31T08:30Z`,
/// `1/31/2024 9:05 AM`), which a date field does not keep.
fn without_time(s: &str) -> &str {
    let is_time =
        |t: &str| t.contains(':') && t.chars().all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | 'Z' | '+' | '-'));
    if s.len() > 10 && s.is_char_boundary(10) && matches!(s.as_bytes()[10], b'T' | b' ') && is_time(s[11..].trim()) {
        return &s[..10];
    }
    let mut head = s;
    for suffix in [" AM", " PM", " am", " pm"] {
        head = head.strip_suffix(suffix).unwrap_or(head);
    }
    match head.rsplit_once(' ') {
        Some((date, time)) if is_time(time) => date.trim_end(),
        _ => s,
    }
}

/// Reads a number cell into the plain form `1234.5` that the domain parses.
pub(super) fn plain_number(raw: &str) -> Result<String, String> {
    let s: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'')).collect();
    let not_a_number = || format!("\"{}\" is not a number", raw.trim());
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+' | 'e' | 'E')) {
        return Err(not_a_number());
    }
    let (dots, commas) = (s.matches('.').count(), s.matches(',').count());
    let plain = match (dots, commas) {
        (0 | 1, 0) => s,
        (0, 1) => {
            let decimals = s.rsplit(',').next().unwrap_or_default();
            if decimals.len() == 3 && decimals.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "\"{}\" is ambiguous: write 1234 for one thousand two hundred and thirty-four, or 1.234",
                    raw.trim()
                ));
            }
            s.replace(',', ".")
        }
        (_, 0) => grouped(&s, '.').ok_or_else(not_a_number)?,
        (0, _) => grouped(&s, ',').ok_or_else(not_a_number)?,
        _ => {
            // Both: the last one is the decimal separator, the other groups thousands.
            let (decimal, thousands) = if s.rfind('.') > s.rfind(',') { ('.', ',') } else { (',', '.') };
            let (whole, fraction) = s.rsplit_once(decimal).ok_or_else(not_a_number)?;
            if fraction.contains(thousands) || whole.contains(decimal) {
                return Err(not_a_number());
            }
            format!("{}.{fraction}", grouped(whole, thousands).ok_or_else(not_a_number)?)
        }
    };
    Ok(plain)
}

/// `1,234,567` without its separators, if every group after the first has three digits.
fn grouped(s: &str, separator: char) -> Option<String> {
    let mut groups = s.split(separator);
    let first = groups.next()?;
    let rest: Vec<&str> = groups.collect();
    let digits = first.trim_start_matches(['-', '+']);
    if digits.is_empty() || digits.len() > 3 || !rest.iter().all(|g| g.len() == 3) {
        return None;
    }
    Some(std::iter::once(first).chain(rest).collect())
}

/// The cell as the administrator wrote it: an export writes `'` before a cell that a
/// spreadsheet would run as a formula (`'-5`, `'=x`) or that starts with `'`, and that
/// quote goes again here ([`roster_csv::restore`]).
pub(super) fn unprotected(cell: &str) -> &str {
    roster_csv::restore(cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(raw: &str, order: Option<DateOrder>) -> Result<String, String> {
        read_date(raw, order).map(|d| d.date.to_string())
    }

    #[test]
    fn iso_and_named_month_dates() {
        for raw in [
            "2024-01-31",
            "2024/01/31",
            "2024.1.31",
            "2024-01-31 00:00:00",
            "2024-01-31T08:30:00Z",
            "31 Jan 2024",
            "31-Jan-2024",
            "31 january 2024",
            "Jan 31, 2024",
            "January 31 2024",
        ] {
            assert_eq!(date(raw, None).as_deref(), Ok("2024-01-31"), "{raw}");
        }
        assert!(date("2023-02-30", None).is_err());
        assert!(date("tomorrow", None).is_err());
        assert!(date("2024-01", None).is_err());
    }

    #[test]
    fn day_and_month_are_read_when_only_one_order_fits() {
        let dmy = read_date("31/01/2024", None).unwrap();
        assert_eq!((dmy.date.to_string(), dmy.order), ("2024-01-31".into(), Some(DateOrder::Dmy)));
        let mdy = read_date("01/31/2024", None).unwrap();
        assert_eq!((mdy.date.to_string(), mdy.order), ("2024-01-31".into(), Some(DateOrder::Mdy)));
        assert_eq!(date("1-31-2024 9:05 AM", None).as_deref(), Ok("2024-01-31"));
        assert_eq!(date("31.01.2024", None).as_deref(), Ok("2024-01-31"));
        let same = read_date("05/05/2024", None).unwrap();
        assert_eq!((same.date.to_string(), same.order), ("2024-05-05".into(), None));
        assert!(date("13/13/2024", None).is_err());
    }

    #[test]
    fn an_ambiguous_date_needs_the_order() {
        let err = date("02/03/2024", None).unwrap_err();
        assert!(err.contains("ambiguous") && err.contains("YYYY-MM-DD") && err.contains("date_order"), "{err}");
        assert_eq!(date("02/03/2024", Some(DateOrder::Dmy)).as_deref(), Ok("2024-03-02"));
        assert_eq!(date("02/03/2024", Some(DateOrder::Mdy)).as_deref(), Ok("2024-02-03"));
        let given = read_date("02/03/2024", Some(DateOrder::Dmy)).unwrap();
        assert_eq!(given.order, None, "an order the import gave is not evidence of the file's");
        let err = date("01/31/2024", Some(DateOrder::Dmy)).unwrap_err();
        assert!(err.contains("day/month/year"), "{err}");
        assert!(date("31/01/24", None).unwrap_err().contains("four digits"));
    }

    #[test]
    fn numbers_as_spreadsheets_write_them() {
        for (raw, plain) in [
            ("42", "42"),
            ("-3.5", "-3.5"),
            ("3,5", "3.5"),
            ("1,234.5", "1234.5"),
            ("1.234,5", "1234.5"),
            ("1 234,5", "1234.5"),
            ("1\u{a0}234", "1234"),
            ("1,234,567", "1234567"),
            ("1.234.567", "1234567"),
            ("1'234.50", "1234.50"),
            ("1e3", "1e3"),
        ] {
            assert_eq!(plain_number(raw).as_deref(), Ok(plain), "{raw}");
        }
        assert!(plain_number("1,234").unwrap_err().contains("ambiguous"));
        for bad in ["", "abc", "1,23,4", "1.234,5.6", "12 apples", "1,2345,678"] {
            assert!(plain_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protected_cells_lose_their_quote() {
        assert_eq!(unprotected("'-5"), "-5");
        assert_eq!(unprotected("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(unprotected("'quoted"), "'quoted");
        assert_eq!(unprotected("''quoted"), "'quoted");
        assert_eq!(unprotected("O'Brien"), "O'Brien");
    }
}
