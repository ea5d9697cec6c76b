//! Roster's domain model: what a user, a field, a branch, a course, an enrollment and a
//! group are, and which values are valid for them. Nothing here does I/O.
//!
//! - [`values`]: validated strings (usernames, emails, codes, names), constructed only
//!   through `parse`, so an invalid one cannot exist.
//! - [`field`]: additional fields, their types and how a raw value is checked against one.
//! - [`entity`]: the entities of DESIGN §1.
//! - [`error`]: [`DomainError`], what a validation refuses and why.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod entity;
pub mod error;
pub mod field;
pub mod rule;
pub mod tree;
pub mod values;

pub use entity::*;
pub use error::DomainError;
pub use field::{FieldDef, FieldType, FieldValue};
pub use tree::BranchTree;
pub use values::{Code, Email, Name, Username};
