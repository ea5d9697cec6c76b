//! The builder's view of a rule: condition sets. Every condition of a set must hold;
//! the rule matches when ALL sets hold or when ANY set does.

use serde::{Deserialize, Serialize};

use super::ast::{Condition, Rule};
use super::RuleError;

/// Whether every set or one set must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// Every set holds.
    All,
    /// At least one set holds.
    Any,
}

/// One line of the builder: a condition, possibly negated (`not member_of("X")`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetCondition {
    /// Whether the condition must not hold.
    #[serde(default)]
    pub negated: bool,
    /// The condition.
    pub condition: Condition,
}

/// A rule as the builder shows it. JSON: `{"match": "any", "sets": [[{"negated": false,
/// "condition": {...}}, ...], ...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionSets {
    /// How the sets combine.
    #[serde(rename = "match")]
    pub matching: Match,
    /// The sets, each a list of conditions that must all hold.
    pub sets: Vec<Vec<SetCondition>>,
}

impl Rule {
    /// The builder's view, when the tree has its shape: a condition, an `and` of
    /// conditions (ALL, one set), or an `or` of those (ANY); a condition may be under a
    /// `not`. `None` for any other tree, which only the text form can edit.
    pub fn to_sets(&self) -> Option<ConditionSets> {
        if let Rule::Or(members) = self {
            let sets = members.iter().map(set).collect::<Option<_>>()?;
            return Some(ConditionSets { matching: Match::Any, sets });
        }
        Some(ConditionSets { matching: Match::All, sets: vec![set(self)?] })
    }
}

/// The conditions of a set: one condition, or an `and` of them.
fn set(rule: &Rule) -> Option<Vec<SetCondition>> {
    match rule {
        Rule::And(members) => members.iter().map(line).collect(),
        other => Some(vec![line(other)?]),
    }
}

fn line(rule: &Rule) -> Option<SetCondition> {
    match rule {
        Rule::Condition(condition) => Some(SetCondition { negated: false, condition: condition.clone() }),
        Rule::Not(inner) => match inner.as_ref() {
            Rule::Condition(condition) => Some(SetCondition { negated: true, condition: condition.clone() }),
            _ => None,
        },
        _ => None,
    }
}

impl ConditionSets {
    /// The canonical tree: ALL is the `and` of every condition, ANY the `or` of each
    /// set's `and`. Refuses empty sets.
    pub fn to_rule(&self) -> Result<Rule, RuleError> {
        let mut sets = Vec::with_capacity(self.sets.len());
        for (i, lines) in self.sets.iter().enumerate() {
            let conditions = lines.iter().map(|line| {
                let condition = Rule::Condition(line.condition.clone());
                if line.negated {
                    Rule::Not(Box::new(condition))
                } else {
                    condition
                }
            });
            let set = Rule::all(conditions.collect())
                .ok_or_else(|| RuleError::new(format!("set {} has no conditions", i + 1)))?;
            sets.push(set);
        }
        let rule = match self.matching {
            Match::All => Rule::all(sets),
            Match::Any => Rule::any(sets),
        };
        rule.ok_or_else(|| RuleError::new("add at least one condition"))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;
    use crate::rule::parse;

    fn sets_of(text: &str) -> Option<ConditionSets> {
        parse(text).unwrap().to_sets()
    }

    #[test]
    fn builder_shaped_trees_become_sets_and_back() {
        for text in [
            "email is empty",
            "not email is empty",
            r#"email is empty and not member_of("G") and username = "x""#,
            r#"email is empty or member_of("G")"#,
            r#"email is empty and username is empty or not language is empty or status = active and member_of("G")"#,
        ] {
            let rule = parse(text).unwrap();
            let sets = rule.to_sets().unwrap();
            assert_eq!(sets.to_rule().unwrap(), rule, "{text}");
        }
        let any = sets_of("email is empty and username is empty or not member_of(\"G\")").unwrap();
        assert_eq!(any.matching, Match::Any);
        assert_eq!(any.sets.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 1]);
        assert!(any.sets[1][0].negated);
        let all = sets_of("email is empty and username is empty").unwrap();
        assert_eq!(all.matching, Match::All);
        assert_eq!(all.sets.len(), 1);
    }

    #[test]
    fn other_trees_have_no_sets() {
        for text in [
            "(email is empty or username is empty) and language is empty",
            "not (email is empty and username is empty)",
            "not not email is empty",
            "email is empty or not (username is empty or language is empty)",
        ] {
            assert_eq!(sets_of(text), None, "{text}");
        }
    }

    #[test]
    fn all_sets_join_into_one_and() {
        let line = |text: &str| SetCondition {
            negated: false,
            condition: match parse(text).unwrap() {
                Rule::Condition(condition) => condition,
                other => panic!("{other:?}"),
            },
        };
        let sets = ConditionSets {
            matching: Match::All,
            sets: vec![vec![line("email is empty")], vec![line("username is empty"), line("language is empty")]],
        };
        assert_eq!(
            sets.to_rule().unwrap(),
            parse("email is empty and username is empty and language is empty").unwrap()
        );
    }

    #[test]
    fn empty_sets_are_refused() {
        let none = ConditionSets { matching: Match::Any, sets: vec![] };
        assert_eq!(none.to_rule().unwrap_err().message, "add at least one condition");
        let hollow = ConditionSets { matching: Match::All, sets: vec![vec![]] };
        assert_eq!(hollow.to_rule().unwrap_err().message, "set 1 has no conditions");
    }
}
