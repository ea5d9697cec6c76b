//! The engine's proof: a reference evaluator written plainly from DESIGN §2, and the
//! engine's two evaluations (one user, the whole population) held to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod catalog;
mod enrolling;
mod explain;
mod fixture;
mod groups;
mod model;
mod properties;
mod reference;
mod semantics;
