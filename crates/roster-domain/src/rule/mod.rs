//! The rule language of automatic groups (DESIGN §2): one boolean expression over a
//! user's fields, branch, enrollments and memberships.
//!
//! One stored tree, [`Rule`], has three views: the text form that [`parse`] reads and
//! `Display` prints canonically, the JSON form that the API and the builder exchange,
//! and the builder's [`ConditionSets`].
//!
//! - [`ast`]: the tree, and the semantics the engine implements.
//! - `lexer.rs` and [`parser`]: text to tree, with 1-based line and column in errors.
//! - `printer.rs`: tree to canonical text; `parse(&rule.to_string()) == Ok(rule)`.
//! - `json.rs`: reading JSON trees ([`Rule::from_json`]), bounded in size and depth.
//! - [`check`]: resolution against a [`Catalog`] and type checking; the entry points
//!   are [`compile_text`] and [`compile_tree`].
//! - [`sets`]: the builder's view.
//! - [`suggest`]: "did you mean" for misspelt names.
//! - [`error`]: [`RuleError`], with a text position or a tree path.
//!
//! # The JSON form
//!
//! A group is `{"and": [...]}`, `{"or": [...]}` or `{"not": {...}}`; a condition is
//! `{"member_of": {"id": 12, "name": "Contractors"}}` (the id is filled by the checker
//! and may be left out) or `{"subject": ..., "op": ..., "values": [...]}`, where
//! `subject` is a standard subject (`email`, `status`, `created_at`...) or `field`,
//! `course`, `course_enrolled_at`, `course_completed_at` with a `"field"` or `"course"`
//! key naming it; `op` is `=`, `!=`, `<`, `<=`, `>`, `>=` or an operator's words joined
//! by `_` (`not_starts_with`, `is_empty`); `values` is left out for `is_empty`. A value
//! is a string (text), a number, `true`/`false` (yes/no), or `{"date": "2024-01-31"}`,
//! `{"today": {"offset": -90, "unit": "day"}}`, `{"status": "active"}`,
//! `{"course_status": "not_enrolled"}`.
//!
//! # Limits
//!
//! Every input is bounded so that no rule can exhaust the stack or the CPU: text of at
//! most [`MAX_TEXT_LEN`] characters, parentheses and `not` nested at most [`MAX_NESTING`]
//! deep, trees at most [`MAX_DEPTH`] deep (so their JSON stays readable), JSON of at
//! most [`MAX_JSON_LEN`] bytes, regular expressions of at most [`MAX_REGEX_SIZE`] once
//! compiled, and relative dates at most [`MAX_OFFSET`] units from today. A checked rule
//! also prints within [`MAX_TEXT_LEN`], so its text always reads back.
//!
//! ```
//! use roster_domain::rule::{parse, Rule};
//!
//! let text = r#"field("department") in ("Sales", "Marketing") and branch under "EMEA"
//!     and (course("SAFE-2").completed_at >= today - 365d or not member_of("Contractors"))"#;
//! let json = r#"{"and": [
//!   {"subject": "field", "field": "department", "op": "in", "values": ["Sales", "Marketing"]},
//!   {"subject": "branch", "op": "under", "values": ["EMEA"]},
//!   {"or": [
//!     {"subject": "course_completed_at", "course": "SAFE-2", "op": ">=",
//!      "values": [{"today": {"offset": -365, "unit": "day"}}]},
//!     {"not": {"member_of": {"name": "Contractors"}}}
//!   ]}
//! ]}"#;
//! let rule = parse(text)?;
//! assert_eq!(Rule::from_json(json)?, rule);
//! assert_eq!(Rule::from_json(&serde_json::to_string(&rule)?)?, rule);
//! assert_eq!(rule.to_string(), text.split_whitespace().collect::<Vec<_>>().join(" "));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod ast;
pub mod check;
pub mod error;
mod json;
mod lexer;
pub mod parser;
mod printer;
pub mod sets;
pub mod suggest;

pub use ast::{
    Comparison, Condition, CourseStatus, DateUnit, GroupRef, Op, RelativeDate, Rule, Subject, Value, MAX_DEPTH,
    MAX_OFFSET,
};
pub use check::{
    compile_text, compile_tree, operators_by_kind, regex_for, standard_subject_kinds, Catalog, MAX_REGEX_SIZE,
};
pub use error::{Location, RuleError};
pub use json::MAX_JSON_LEN;
pub use parser::{parse, MAX_NESTING, MAX_TEXT_LEN};
pub use sets::{ConditionSets, Match, SetCondition};

#[cfg(test)]
mod proptests;
