//! The engine of automatic groups: an in-memory image of the population (a cache the
//! app builds from the database and keeps current) that answers which users match each
//! automatic group's rule — for one user in a fraction of a millisecond on an ordinary
//! write, for the whole population as bitmaps on a rule edit, an import, a preview or a
//! reconcile — and why. No I/O; "today" is always a parameter.
//!
//! How the app drives it:
//! - At start-up: [`Engine::set_catalog`]; [`Engine::upsert_users`] in batches of
//!   thousands; [`Engine::set_enrollment`] course by course; the groups
//!   ([`Engine::set_manual_group`], then [`Engine::set_automatic_group`] in an order
//!   where named groups come first) and [`Engine::load_members`] with the members
//!   stored; then [`Engine::evaluate_all`]: any difference is drift, for a reconcile
//!   to report; [`Engine::commit`] it.
//! - On an ordinary write, in its transaction: the same call for what changed
//!   ([`Engine::upsert_user`], [`Engine::set_enrollment`], [`Engine::add_members`]...),
//!   which returns a [`UserChange`]; [`Engine::evaluate_change`] (or
//!   [`Engine::evaluate_user`] for every group) gives the memberships that change; the
//!   app writes them with their events, then [`Engine::commit_user`], still inside the
//!   transaction.
//! - After a rule or list edit ([`Engine::set_automatic_group`]), an import, a bulk
//!   member change or the date roll-over ([`Engine::groups_using_today`]):
//!   [`Engine::evaluate_groups`] (or [`Engine::evaluate_all`]), persist the diffs,
//!   [`Engine::commit`]. Before a rule is saved: [`Engine::preview`]. "Why":
//!   [`Engine::explain`].
//! - The engine is changed ahead of the database's commit: when a transaction fails,
//!   the app throws the whole image away and rebuilds it from the database on next use
//!   (nothing is undone in place).
//!
//! The layout, one idea per file:
//! - `input.rs`: what the app fills ([`Catalog`], [`UserRecord`], [`EnrollmentRecord`],
//!   [`AutomaticGroup`]); `error.rs`: [`EngineError`].
//! - `engine.rs`: [`Engine`] and the calls that keep it current; `change.rs`: what a
//!   write changed for a user ([`UserChange`]).
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
mod change;
pub mod codec;
mod columns;
mod compile;
mod course;
mod engine;
mod enrolling;
mod error;
mod eval_all;
mod eval_user;
mod explain;
mod export;
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

pub use change::UserChange;
pub use engine::{BulkLoad, Engine};
pub use error::{EngineError, GroupName};
pub use eval_all::{Evaluation, GroupEvaluation};
pub use eval_user::{MembershipDelta, UserEvaluation};
pub use explain::{ConditionExplanation, Decision, Explanation};
pub use export::{Enrollments, GroupImage};
pub use input::{AutomaticGroup, Catalog, EnrollmentRecord, UserRecord};
pub use preview::Preview;
