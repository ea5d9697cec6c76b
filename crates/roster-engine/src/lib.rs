//! The engine of automatic groups: an in-memory image of the population (a cache the
//! app builds from the database and keeps current) that answers which users match each
//! automatic group's rule — for one user in microseconds on an ordinary write, for the
//! whole population as bitmaps on a rule edit, an import, a preview or a reconcile —
//! and why. No I/O; "today" is always a parameter.
//!
//! How the app drives it: at start-up, [`Engine::set_catalog`], then
//! [`Engine::upsert_user`] and [`Engine::set_enrollment`] for everyone, the groups
//! ([`Engine::set_manual_group`], [`Engine::set_automatic_group`],
//! [`Engine::load_members`] with the stored members), then [`Engine::evaluate_all`]
//! (any difference is drift). On each write, the same calls for what changed, then
//! [`Engine::evaluate_user`] and, once the transaction commits,
//! [`Engine::commit_user`]. After a rule or list edit, a bulk change or the date
//! roll-over, [`Engine::evaluate_groups`] (or [`Engine::evaluate_all`]) and
//! [`Engine::commit`].
//!
//! The layout, one idea per file:
//! - `input.rs`: what the app fills ([`Catalog`], [`UserRecord`], [`EnrollmentRecord`],
//!   [`AutomaticGroup`]); `error.rs`: [`EngineError`].
//! - `engine.rs`: [`Engine`] and the calls that keep it current.
//! - The image: `image.rs` (users in columns), `text.rs` (text dictionaries and their
//!   standing matches), `columns.rs` (dates, numbers, yes/no), `ordered.rs` (date and
//!   number indexes), `branch.rs` (the org chart and who is under what), `course.rs`
//!   (enrollments), `posting.rs` (the users of one value), `slots.rs` (user rows).
//! - Rules: `predicate.rs` (each condition resolved once, shared, answered for a user
//!   or for everyone), `compile.rs` (a rule into predicates), `groups.rs` (groups and
//!   their committed members), `graph.rs` (dependency order and cycles).
//! - Answers: `eval_user.rs` (one user, every group), `set.rs` and `eval_all.rs`
//!   (everyone, every group, as bitmaps), `preview.rs`, `explain.rs`.
//!
//! Semantics are DESIGN §2's, as `roster_domain::rule::ast` documents them; in
//! particular a missing value (an empty text included) is empty, every positive
//! comparison is false for it, and each negated operator is exactly `not` of its
//! positive form.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod branch;
mod columns;
mod compile;
mod course;
mod engine;
mod error;
mod eval_all;
mod eval_user;
mod explain;
mod graph;
mod groups;
mod image;
mod input;
mod ordered;
mod posting;
mod predicate;
mod preview;
mod set;
mod slots;
mod text;

pub use engine::Engine;
pub use error::{EngineError, GroupName};
pub use eval_all::{Evaluation, GroupEvaluation};
pub use eval_user::{MembershipDelta, UserEvaluation};
pub use explain::{ConditionExplanation, Decision, Explanation};
pub use input::{AutomaticGroup, Catalog, EnrollmentRecord, UserRecord};
pub use preview::Preview;
