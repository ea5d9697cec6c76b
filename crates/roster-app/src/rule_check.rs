//! Checking a rule without saving it: what a rule editor holds — text or the builder's
//! condition sets — read against the catalog and given back in all three forms, so
//! the text and the builder can follow each other while an administrator types.

use crate::automatic::RuleView;
use crate::rules::{compile, RuleInput};
use crate::{Actor, App, AppResult};

impl App {
    /// The rule `input` holds, checked against the current fields, courses, branches
    /// and groups, as text, tree and (when it has their shape) condition sets.
    /// The catalog is the last committed image's, as a preview's is.
    pub async fn check_rule(&self, _actor: &Actor, input: &RuleInput) -> AppResult<RuleView> {
        let rule = self.snapshot().await?.engine(|e| compile(input, e.rule_catalog()))??;
        Ok(RuleView { text: Some(rule.to_string()), sets: rule.to_sets(), tree: Some(rule) })
    }
}
