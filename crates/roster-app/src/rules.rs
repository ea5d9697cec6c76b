//! Rules of automatic groups: reading them as text, tree or builder sets, checking them
//! against the catalog, refusing `member_of` cycles, and keeping what the catalog may
//! not lose while a rule uses it.

use roster_domain::rule::{compile_text, compile_tree, Catalog, ConditionSets, Rule, RuleError};
use roster_domain::{Group, GroupPolicy};
use roster_store::AnyConnection;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

use crate::{AppError, AppResult};

/// A rule as a client sends it: exactly one of its three forms.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// The text form: `course("DRV-101") = completed and status = active`.
    #[serde(default)]
    pub text: Option<String>,
    /// The JSON tree.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub tree: Option<serde_json::Value>,
    /// The builder's condition sets.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sets: Option<serde_json::Value>,
}

fn rule_error(field: &str, error: RuleError) -> AppError {
    AppError::Rule { field: field.to_owned(), error }
}

/// What a rule may reference now.
pub(crate) async fn catalog(conn: &mut AnyConnection) -> AppResult<Catalog> {
    Ok(Catalog {
        fields: roster_store::fields::all(&mut *conn).await?,
        courses: roster_store::courses::all(&mut *conn).await?.into_iter().map(|c| c.code).collect(),
        branches: roster_store::branches::all(&mut *conn).await?.into_iter().map(|b| b.code).collect(),
        groups: roster_store::groups::all(&mut *conn).await?.into_iter().map(|g| (g.id, g.name)).collect(),
    })
}

/// Parses and checks a rule in whichever form it came.
pub(crate) fn compile(input: &RuleInput, catalog: &Catalog) -> AppResult<Rule> {
    match (&input.text, &input.tree, &input.sets) {
        (Some(text), None, None) => compile_text(text, catalog).map_err(|e| rule_error("text", e)),
        (None, Some(tree), None) => {
            let raw = serde_json::to_string(tree).map_err(|e| rule_error("tree", RuleError::new(e.to_string())))?;
            let rule = Rule::from_json(&raw).map_err(|e| rule_error("tree", e))?;
            compile_tree(&rule, catalog).map_err(|e| rule_error("tree", e))
        }
        (None, None, Some(sets)) => {
            let sets: ConditionSets = serde_json::from_value(sets.clone())
                .map_err(|e| rule_error("sets", RuleError::new(format!("the condition sets are malformed: {e}"))))?;
            let rule = sets.to_rule().map_err(|e| rule_error("sets", e))?;
            compile_tree(&rule, catalog).map_err(|e| rule_error("sets", e))
        }
        _ => Err(AppError::bad_request("text", "give the rule as exactly one of text, tree or sets")),
    }
}

/// The stored rule of an automatic group, if it has one.
pub(crate) fn stored_rule(group: &Group) -> Option<Rule> {
    group.rule_tree.as_deref().and_then(|t| Rule::from_json(t).ok())
}

/// Refuses a rule for `group` whose `member_of` references would close a cycle, naming it.
pub(crate) fn check_cycles(groups: &[Group], group: &Group, rule: &Rule) -> AppResult<()> {
    let names: HashMap<i64, &str> = groups.iter().map(|g| (g.id, g.name.as_str())).collect();
    let mut edges: HashMap<i64, Vec<i64>> = groups
        .iter()
        .filter(|g| g.id != group.id && g.policy == GroupPolicy::Automatic)
        .filter_map(|g| stored_rule(g).map(|r| (g.id, r.referenced_groups())))
        .collect();
    edges.insert(group.id, rule.referenced_groups());
    // A path from any referenced group back to this one closes a cycle.
    let mut path = vec![group.id];
    let mut seen = HashSet::new();
    if let Some(cycle) = find_path(&edges, group.id, group.id, &mut path, &mut seen) {
        let named: Vec<String> =
            cycle.iter().map(|id| format!("\"{}\"", names.get(id).copied().unwrap_or("?"))).collect();
        return Err(rule_error("text", RuleError::new(format!("member_of would make a cycle: {}", named.join(" → ")))));
    }
    Ok(())
}

fn find_path(
    edges: &HashMap<i64, Vec<i64>>,
    from: i64,
    target: i64,
    path: &mut Vec<i64>,
    seen: &mut HashSet<i64>,
) -> Option<Vec<i64>> {
    for next in edges.get(&from).map(Vec::as_slice).unwrap_or(&[]) {
        path.push(*next);
        if *next == target {
            return Some(path.clone());
        }
        if seen.insert(*next) {
            if let Some(found) = find_path(edges, *next, target, path, seen) {
                return Some(found);
            }
        }
        path.pop();
    }
    None
}

/// The names of the automatic groups whose rules use something, by a predicate on rules.
pub(crate) fn groups_using(groups: &[Group], uses: impl Fn(&Rule) -> bool) -> Vec<String> {
    groups.iter().filter(|g| stored_rule(g).is_some_and(|r| uses(&r))).map(|g| format!("\"{}\"", g.name)).collect()
}

/// Refuses to remove a catalog entry that rules use.
pub(crate) async fn refuse_if_used(
    conn: &mut AnyConnection,
    what: &str,
    uses: impl Fn(&Rule) -> bool,
) -> AppResult<()> {
    let groups = roster_store::groups::all(conn).await?;
    let users = groups_using(&groups, uses);
    match users.as_slice() {
        [] => Ok(()),
        [one] => Err(AppError::conflict(
            "code",
            format!("The {what} cannot be deleted: the rule of the group {one} uses it. Change that rule first."),
        )),
        [first @ .., last] => Err(AppError::conflict(
            "code",
            format!(
                "The {what} cannot be deleted: the rules of the groups {} and {last} use it. Change those rules first.",
                first.join(", ")
            ),
        )),
    }
}

/// A failure to serialize what we built ourselves: a bug, reported as a 500.
pub(crate) fn internal(e: serde_json::Error) -> AppError {
    AppError::encoding(e)
}
