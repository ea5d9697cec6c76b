//! Every subject and operator on a hand-made population: missing values, case, accents,
//! negated forms, relative dates at month ends, `between`, `under`.

use crate::fixture::{date, matching, matching_on};

fn check(cases: &[(&str, &[&str])]) {
    for (text, expected) in cases {
        assert_eq!(matching(text), *expected, "{text}");
    }
}

#[test]
fn standard_text_ignores_case_and_treats_missing_as_empty() {
    check(&[
        (r#"email contains "@acme.com""#, &["alice", "bob", "dave"]),
        (r#"email ends with "ACME.COM""#, &["alice", "bob", "dave"]),
        (r#"email starts with "B""#, &["bob"]),
        (r#"email not contains "@acme.com""#, &["carol", "erin"]),
        (r#"username in ("ALICE", "bob")"#, &["alice", "bob"]),
        (r#"username = "Carol""#, &["carol"]),
        (r#"first_name = "alice""#, &["alice"]),
        (r#"first_name != "alice""#, &["bob", "carol", "dave", "erin"]),
        (r#"first_name is empty"#, &["bob", "erin"]),
        (r#"first_name is not empty"#, &["alice", "carol", "dave"]),
        (r#"first_name starts with "é""#, &["dave"]),
        (r#"first_name = "ÉMILE""#, &["dave"]),
        (r#"first_name contains """#, &["alice", "carol", "dave"]),
        (r#"first_name = """#, &[]),
        (r#"first_name not ends with "e""#, &["bob", "carol", "erin"]),
        (r#"language in ("FR", "de")"#, &["alice"]),
        (r#"language not in ("fr")"#, &["bob", "carol", "dave", "erin"]),
        (r#"timezone is empty"#, &["bob", "carol", "dave", "erin"]),
        (r#"timezone contains "paris""#, &["alice"]),
    ]);
}

#[test]
fn matches_is_a_case_insensitive_regex_on_the_value() {
    check(&[
        (r#"last_name matches "^ō""#, &["carol"]),
        (r#"email matches "^[a-z]+@acme\.com$""#, &["alice", "bob", "dave"]),
        (r#"email matches "co""#, &["alice", "bob", "dave", "erin"]),
        (r#"first_name not matches "^a""#, &["bob", "carol", "dave", "erin"]),
        (r#"last_name matches "^$""#, &[]),
    ]);
}

#[test]
fn text_and_dropdown_fields() {
    check(&[
        (r#"field("department") = "sales""#, &["alice", "erin"]),
        (r#"field("Department") in ("Sales", "Marketing")"#, &["alice", "carol", "erin"]),
        (r#"field("department") contains "A""#, &["alice", "carol", "erin"]),
        (r#"field("department") != "R&D""#, &["alice", "bob", "carol", "erin"]),
        (r#"field("department") is empty"#, &["bob"]),
        (r#"field("job_title") contains "driver""#, &["alice", "carol", "erin"]),
        (r#"field("Job Title") is empty"#, &["bob", "dave"]),
        (r#"field("job_title") not starts with "driver""#, &["alice", "bob", "dave"]),
        (r#"field("job_title") ends with "DRIVER""#, &["alice", "erin"]),
    ]);
}

#[test]
fn numbers() {
    check(&[
        (r#"field("seniority") > 0"#, &["alice", "carol"]),
        (r#"field("seniority") >= 0"#, &["alice", "carol", "erin"]),
        (r#"field("seniority") >= -0"#, &["alice", "carol", "erin"]),
        (r#"field("seniority") < 3"#, &["dave", "erin"]),
        (r#"field("seniority") <= -1"#, &["dave"]),
        (r#"field("seniority") = 3"#, &["alice"]),
        (r#"field("seniority") != 3"#, &["bob", "carol", "dave", "erin"]),
        (r#"field("seniority") between 0 and 3"#, &["alice", "erin"]),
        (r#"field("seniority") in (12.5, -1)"#, &["carol", "dave"]),
        (r#"field("seniority") not in (0)"#, &["alice", "bob", "carol", "dave"]),
        (r#"field("seniority") is empty"#, &["bob"]),
        (r#"field("seniority") is not empty"#, &["alice", "carol", "dave", "erin"]),
    ]);
}

#[test]
fn dates_absolute_and_relative() {
    check(&[
        (r#"field("hire_date") < today - 90d"#, &["carol"]),
        (r#"field("hire_date") >= today - 2m"#, &["alice", "dave"]),
        (r#"field("hire_date") = today - 1m"#, &["dave"]),
        (r#"field("hire_date") != today - 1m"#, &["alice", "bob", "carol", "erin"]),
        (r#"field("hire_date") between 2024-01-01 and 2024-02-29"#, &["alice", "dave"]),
        (r#"field("hire_date") between today and today - 1y"#, &[]),
        (r#"field("hire_date") is empty"#, &["bob", "erin"]),
        (r#"created_at < 2024-01-31"#, &["alice", "bob", "carol", "dave"]),
        (r#"created_at = today"#, &["erin"]),
        (r#"created_at > today - 1y"#, &["alice", "bob", "erin"]),
        (r#"created_at <= today - 2w"#, &["alice", "bob", "carol", "dave"]),
        (r#"last_login_at is empty"#, &["bob", "dave", "erin"]),
        (r#"last_login_at >= today - 1w"#, &["alice"]),
        (r#"last_login_at <= 2024-02-29"#, &["carol"]),
        (r#"last_login_at != 2024-02-29"#, &["alice", "bob", "dave", "erin"]),
    ]);
}

#[test]
fn relative_dates_resolve_on_the_given_today_with_month_ends_clamped() {
    let rule = r#"field("hire_date") = today - 1m"#;
    assert_eq!(matching_on(rule, date(2024, 3, 31)), ["dave"]);
    assert_eq!(matching_on(rule, date(2024, 3, 29)), ["dave"]);
    assert_eq!(matching_on(rule, date(2024, 3, 1)), Vec::<String>::new());
    assert_eq!(matching_on(rule, date(2024, 2, 29)), Vec::<String>::new());
    assert_eq!(matching_on(r#"field("hire_date") = today - 29d"#, date(2024, 2, 29)), ["alice"]);
    assert_eq!(matching_on(r#"field("hire_date") = today - 2m"#, date(2024, 4, 30)), ["dave"]);
    let years = r#"created_at <= today - 4y"#;
    assert_eq!(matching_on(years, date(2024, 2, 29)), ["dave"]);
    assert_eq!(matching_on(years, date(2023, 12, 31)), Vec::<String>::new());
    assert_eq!(matching_on(r#"created_at >= today"#, date(2024, 1, 15)), ["bob", "erin"]);
}

#[test]
fn yes_no() {
    check(&[
        (r#"field("manager") = yes"#, &["alice", "erin"]),
        (r#"field("Is Manager") = no"#, &["carol"]),
        (r#"field("manager") != yes"#, &["bob", "carol", "dave"]),
        (r#"field("manager") is empty"#, &["bob", "dave"]),
    ]);
}

#[test]
fn status() {
    check(&[
        (r#"status = active"#, &["alice", "bob", "carol", "erin"]),
        (r#"status = suspended"#, &["dave"]),
        (r#"status != active"#, &["dave"]),
        (r#"status in (active, suspended)"#, &["alice", "bob", "carol", "dave", "erin"]),
        (r#"status not in (suspended)"#, &["alice", "bob", "carol", "erin"]),
    ]);
}

#[test]
fn branches_exact_and_under() {
    check(&[
        (r#"branch = "FR""#, &["carol"]),
        (r#"branch = "fr""#, &["carol"]),
        (r#"branch under "EMEA""#, &["alice", "carol", "erin"]),
        (r#"branch under "FR""#, &["alice", "carol"]),
        (r#"branch under "PAR""#, &["alice"]),
        (r#"branch not under "EMEA""#, &["bob", "dave"]),
        (r#"branch is empty"#, &["bob"]),
        (r#"branch is not empty"#, &["alice", "carol", "dave", "erin"]),
        (r#"branch in ("PAR", "AMER")"#, &["alice", "dave"]),
        (r#"branch != "PAR""#, &["bob", "carol", "dave", "erin"]),
        (r#"branch not in ("EMEA", "FR")"#, &["alice", "bob", "dave"]),
    ]);
}

#[test]
fn courses_statuses_and_dates() {
    check(&[
        (r#"course("DRV-101") = completed"#, &["alice"]),
        (r#"course("drv-101") = not_enrolled"#, &["bob", "dave", "erin"]),
        (r#"course("DRV-101") != not_enrolled"#, &["alice", "carol"]),
        (r#"course("SAFE-2") in (completed, failed)"#, &["dave", "erin"]),
        (r#"course("SAFE-2") not in (not_enrolled, in_progress)"#, &["dave", "erin"]),
        (r#"course("SAFE-2") in (not_enrolled, failed)"#, &["bob", "carol", "dave"]),
        (r#"course("SAFE-2") != failed"#, &["alice", "bob", "carol", "erin"]),
        (r#"course("DRV-101").completed_at >= 2024-02-01"#, &["alice"]),
        (r#"course("DRV-101").completed_at is empty"#, &["bob", "carol", "dave", "erin"]),
        (r#"course("SAFE-2").enrolled_at < 2024-01-01"#, &["dave", "erin"]),
        (r#"course("SAFE-2").completed_at >= today - 365d"#, &["erin"]),
        (r#"course("SAFE-2").enrolled_at is not empty"#, &["alice", "dave", "erin"]),
        (r#"course("DRV-101").enrolled_at != 2024-03-15"#, &["alice", "bob", "dave", "erin"]),
    ]);
}

#[test]
fn and_or_not_combine() {
    check(&[
        (
            r#"(field("department") = "Sales" or field("job_title") starts with "driver") and status = active"#,
            &["alice", "carol", "erin"],
        ),
        (r#"not (email contains "acme")"#, &["carol"]),
        (r#"not not branch is empty"#, &["bob"]),
        (r#"not branch is empty and not field("manager") = yes"#, &["carol", "dave"]),
        (r#"not branch under "EMEA" or field("seniority") > 10"#, &["bob", "carol", "dave"]),
        (r#"not email contains "acme" or not status = active"#, &["carol", "dave"]),
    ]);
}
