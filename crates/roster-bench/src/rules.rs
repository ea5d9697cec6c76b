//! Random rules over the demo catalog for the benchmark: every subject of the language
//! with every operator it allows, relative dates, negations, `and`/`or` nesting, and
//! `member_of` chains. Text values are ASCII, so SQL's `lower()` and Rust's case folding
//! agree for the baseline.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::RngExt;

use roster_app::demo::{DEPARTMENTS, DOMAINS, EMPLOYEE_STATUS, FIRST, JOB_TITLES, LAST, PRODUCTS, ROLES};

/// What rules may name: the stored branch and course codes, and earlier groups.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocabulary {
    /// Every branch code.
    pub branches: Vec<String>,
    /// Every course code.
    pub courses: Vec<String>,
    /// Groups a rule may reference, with their `member_of` depth (1: no reference).
    pub groups: Vec<(String, usize)>,
}

/// The deepest `member_of` chain a generated rule may make.
pub(crate) const MAX_CHAIN: usize = 3;

const LANGUAGES: &[&str] = &["fr", "de", "en-GB", "es", "ar", "en-US", "en-CA", "pt-BR", "es-MX", "ja", "hi"];
const ZONES: &[&str] = &["Europe/", "America/", "Asia/", "Australia/"];
const CITIES: &[&str] = &["Paris", "Lyon", "Berlin", "London", "Chicago", "Dallas", "Tokyo", "Mumbai", "Sydney"];
const STATUSES: &[&str] = &["completed", "in_progress", "enrolled", "failed", "not_enrolled"];

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(rng: &mut StdRng, items: &[&str], most: usize) -> String {
    let n = rng.random_range(1..=most.min(items.len()));
    let picked: Vec<String> = items.sample(rng, n).map(|s| quoted(s)).collect();
    picked.join(", ")
}

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

/// A relative or absolute date, both common in real rules.
fn date(rng: &mut StdRng, max_days_back: u32) -> String {
    match rng.random_range(0..6) {
        0 => format!("today - {}w", rng.random_range(1..=max_days_back / 7 + 1)),
        1 => format!("today - {}m", rng.random_range(1..=max_days_back / 30 + 1)),
        2 => "today".to_owned(),
        3 => {
            let back = i64::from(rng.random_range(1..=max_days_back));
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                .and_then(|d| d.checked_sub_signed(chrono::TimeDelta::days(back)))
                .unwrap_or_default();
            day.format("%Y-%m-%d").to_string()
        }
        _ => format!("today - {}d", rng.random_range(1..=max_days_back)),
    }
}

fn text_op(rng: &mut StdRng, subject: &str, word: &str, whole: &str) -> String {
    let w = quoted(word);
    match rng.random_range(0..9) {
        0 => format!("{subject} contains {w}"),
        1 => format!("{subject} not contains {w}"),
        2 => format!("{subject} starts with {w}"),
        3 => format!("{subject} not starts with {w}"),
        4 => format!("{subject} ends with {w}"),
        5 => format!("{subject} not ends with {w}"),
        6 => format!("{subject} = {}", quoted(whole)),
        7 => format!("{subject} != {}", quoted(whole)),
        _ => format!("{subject} in ({}, {})", quoted(whole), quoted(&whole.to_uppercase())),
    }
}

/// One condition; `refs` are the groups it may name.
fn condition(rng: &mut StdRng, v: &Vocabulary, refs: &[&(String, usize)]) -> String {
    let course = v.courses.get(rng.random_range(0..v.courses.len().clamp(1, 12))).cloned().unwrap_or_default();
    let branch = v.branches.choose(rng).cloned().unwrap_or_default();
    match rng.random_range(0..30) {
        0 | 1 => {
            let op = ["=", "!=", "in", "not in"][rng.random_range(0..4)];
            match op {
                "in" | "not in" => format!(r#"field("Department") {op} ({})"#, list(rng, DEPARTMENTS, 3)),
                _ => format!(r#"field("Department") {op} {}"#, quoted(pick(rng, DEPARTMENTS))),
            }
        }
        2 => format!(r#"field("Product") in ({})"#, list(rng, PRODUCTS, 2)),
        3 => format!(r#"field("Employee Status") = {}"#, quoted(pick(rng, EMPLOYEE_STATUS))),
        4 => format!(r#"field("Role") not in ({})"#, list(rng, ROLES, 3)),
        5 => format!(r#"field("Student or Employee") = "{}""#, ["Student", "Employee"][rng.random_range(0..2)]),
        6 | 7 => {
            let title = pick(rng, JOB_TITLES);
            let word = title.split(' ').next().unwrap_or(title).to_lowercase();
            text_op(rng, r#"field("Job Title")"#, &word, title)
        }
        8 => {
            let city = pick(rng, CITIES);
            match rng.random_range(0..3) {
                0 => r#"field("Location") is empty"#.to_owned(),
                1 => format!(r#"field("Location") matches "^{}""#, &city[..2]),
                _ => text_op(rng, r#"field("Location")"#, &city[..3].to_lowercase(), city),
            }
        }
        9 => match rng.random_range(0..3) {
            0 => r#"field("Manager") is not empty"#.to_owned(),
            1 => format!(r#"field("Manager") ends with {}"#, quoted(pick(rng, LAST).trim_matches('\''))),
            _ => format!(r#"field("Manager") starts with {}"#, quoted(pick(rng, FIRST))),
        },
        10 => format!(r#"field("Institutional ID") matches "{}$""#, rng.random_range(0..100)),
        11 | 12 => {
            let op = ["<", ">", ">=", "<="][rng.random_range(0..4)];
            format!(r#"field("Hire Date") {op} {}"#, date(rng, 4000))
        }
        13 => format!(r#"field("Start Date") between {} and {}"#, date(rng, 3000), "today"),
        14 => format!(r#"field("Supervisor") = {}"#, ["yes", "no"][rng.random_range(0..2)]),
        15 | 16 => match rng.random_range(0..4) {
            0 => format!(r#"field("Years of Experience") >= {}"#, rng.random_range(1..34)),
            1 => format!(r#"field("Years of Experience") < {}"#, rng.random_range(1..34)),
            2 => {
                let low = rng.random_range(0..30);
                format!(r#"field("Years of Experience") between {low} and {}"#, low + rng.random_range(1..6))
            }
            _ => r#"field("Years of Experience") is empty"#.to_owned(),
        },
        17 => {
            let domain = pick(rng, DOMAINS);
            match rng.random_range(0..3) {
                0 => format!("email ends with {}", quoted(&format!("@{domain}"))),
                1 => format!("email not ends with {}", quoted(&format!("@{domain}"))),
                _ => format!("email contains {}", quoted(domain.split('.').next().unwrap_or(domain))),
            }
        }
        18 => {
            let letter = (b'a' + rng.random_range(0..26u8)) as char;
            match rng.random_range(0..3) {
                0 => format!(r#"username matches "^{letter}[a-z]*\\.""#),
                1 => format!(r#"username not matches "{}$""#, rng.random_range(0..10)),
                _ => format!("username starts with \"{letter}\""),
            }
        }
        19 => {
            let names: Vec<&str> = FIRST.iter().copied().filter(|n| n.is_ascii()).collect();
            match rng.random_range(0..2) {
                0 => format!("first_name in ({})", list(rng, &names, 4)),
                _ => {
                    let names: Vec<&str> = LAST.iter().copied().filter(|n| n.is_ascii()).collect();
                    format!("last_name = {}", quoted(pick(rng, &names)))
                }
            }
        }
        20 => match rng.random_range(0..3) {
            0 => format!("language in ({})", list(rng, LANGUAGES, 3)),
            1 => "language is empty".to_owned(),
            _ => format!("timezone starts with {}", quoted(pick(rng, ZONES))),
        },
        21 => match rng.random_range(0..3) {
            0 => format!("created_at >= {}", date(rng, 1800)),
            1 => format!("last_login_at < {}", date(rng, 180)),
            _ => "last_login_at is empty".to_owned(),
        },
        22 => ["status = suspended", "status != suspended"][rng.random_range(0..2)].to_owned(),
        23 | 24 => match rng.random_range(0..5) {
            0 => format!("branch = {}", quoted(&branch)),
            1 => "branch is empty".to_owned(),
            2 => format!("branch not under {}", quoted(&branch)),
            _ => format!("branch under {}", quoted(&branch)),
        },
        25 | 26 => {
            let status = STATUSES[rng.random_range(0..STATUSES.len())];
            match rng.random_range(0..3) {
                0 => format!(r#"course("{course}") != {status}"#),
                1 => format!(r#"course("{course}") in (completed, {status})"#),
                _ => format!(r#"course("{course}") = {status}"#),
            }
        }
        27 => match rng.random_range(0..3) {
            0 => format!(r#"course("{course}").completed_at >= {}"#, date(rng, 900)),
            1 => format!(r#"course("{course}").enrolled_at between {} and today"#, date(rng, 1000)),
            _ => format!(r#"course("{course}").completed_at is empty"#),
        },
        _ => match refs.choose(rng) {
            Some((name, _)) => format!("member_of({})", quoted(name)),
            None => format!(r#"course("{course}") = completed"#),
        },
    }
}

/// A random rule; `chain` says whether it may name earlier groups (keeping chains at
/// most [`MAX_CHAIN`] deep). Returns the text and its `member_of` depth.
pub(crate) fn random_rule(rng: &mut StdRng, v: &Vocabulary, chain: bool) -> (String, usize) {
    let refs: Vec<&(String, usize)> =
        if chain { v.groups.iter().rev().filter(|(_, d)| *d < MAX_CHAIN).take(40).collect() } else { Vec::new() };
    let mut depth = 1;
    let mut leaf = |rng: &mut StdRng| {
        let c = condition(rng, v, &refs);
        if let Some(name) = c.strip_prefix("member_of(") {
            let name = name.trim_end_matches(')').trim_matches('"');
            if let Some((_, d)) = v.groups.iter().find(|(n, _)| n == name) {
                depth = depth.max(d + 1);
            }
        }
        if rng.random_bool(0.1) {
            format!("not {c}")
        } else {
            c
        }
    };
    let text = match rng.random_range(0..10) {
        0 => leaf(rng),
        1..=5 => {
            let n = rng.random_range(2..=3);
            (0..n).map(|_| leaf(rng)).collect::<Vec<_>>().join(" and ")
        }
        6 | 7 => {
            let a = leaf(rng);
            let b = leaf(rng);
            let c = leaf(rng);
            format!("{a} and ({b} or {c})")
        }
        8 => {
            let a = leaf(rng);
            let b = leaf(rng);
            format!("{a} or {b}")
        }
        _ => {
            let a = leaf(rng);
            let b = leaf(rng);
            let c = leaf(rng);
            format!("({a} or {b}) and not ({c})")
        }
    };
    (text, depth)
}
