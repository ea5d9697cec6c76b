//! How a SCIM list query runs: its filter translated to a store [`Condition`] the database
//! answers with its indexes, counted and paged in SQL; or, for what SQL cannot decide
//! exactly, a bounded set of candidates evaluated in memory with SCIM's own semantics.
//!
//! Translated exactly (case-folding as SCIM does): `id` eq/ne; `userName`, `emails`,
//! `emails.value`, `externalId`, `preferredLanguage`, `timezone` with every operator;
//! `active`; `meta.created` and `meta.lastModified` compared as times; `groups.value eq`
//! (and a group's `members.value eq`); a group's `displayName`, `externalId` and policy;
//! attributes whose value is the same for every resource (`emails.type`,
//! `meta.resourceType`); and `and`, `or`, `not` of these.
//!
//! Narrowed, then checked in memory: `name.givenName`, `name.familyName` and
//! `displayName` with eq/co/sw/ew (the lower-cased search text contains their value, or,
//! for `displayName`, the display name a client set does).
//! Everything else (additional fields, enterprise attributes...) is checked in memory over
//! the candidates the rest of the filter leaves, at most [`MAX_CANDIDATES`]; beyond that
//! the answer is 400 `tooMany`, so `totalResults` is always exact.

use std::collections::HashMap;

use chrono::DateTime;
use roster_scim::schema::ResourceType;
use roster_scim::{
    AttrPath, CompValue, CompareOp, Filter, ListQuery, ListResponse, Projection, ScimError, Sort, SortOrder,
};
use roster_store::directory::{self as store, Column, Condition, Op, Order, Value as StoreValue};
use roster_store::AnyConnection;
use serde_json::{json, Value};

use super::directory::Directory;
use super::ScimResult;
use crate::AppError;

/// The most candidates a query evaluates in memory.
pub const MAX_CANDIDATES: u64 = 10_000;

/// A filter as the database runs it: `condition` keeps every matching row, and only
/// those when `exact`; otherwise the filter is checked again on what it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What SQL keeps.
    pub condition: Condition,
    /// Whether SQL keeps exactly the matching rows.
    pub exact: bool,
}

impl Plan {
    fn exact(condition: Condition) -> Self {
        Self { condition, exact: true }
    }

    fn superset(condition: Condition) -> Self {
        Self { condition, exact: false }
    }

    /// Nothing decided in SQL: every row is a candidate.
    fn unknown() -> Self {
        Self::superset(Condition::True)
    }

    fn and(l: Self, r: Self) -> Self {
        let mut parts = Vec::new();
        for c in [l.condition, r.condition] {
            match c {
                Condition::And(inner) => parts.extend(inner),
                c => parts.push(c),
            }
        }
        Self { condition: Condition::And(parts), exact: l.exact && r.exact }
    }

    fn or(l: Self, r: Self) -> Self {
        let mut parts = Vec::new();
        for c in [l.condition, r.condition] {
            match c {
                Condition::Or(inner) => parts.extend(inner),
                c => parts.push(c),
            }
        }
        Self { condition: Condition::Or(parts), exact: l.exact && r.exact }
    }

    fn not(inner: Self) -> Self {
        // The complement of a superset is no superset of anything.
        if inner.exact {
            Self::exact(Condition::Not(Box::new(inner.condition)))
        } else {
            Self::unknown()
        }
    }
}

/// The plan of a filter over Users.
pub fn plan_users(filter: &Filter, rt: &ResourceType) -> Plan {
    plan(filter, rt, &user_leaf)
}

/// The plan of a filter over Groups.
pub fn plan_groups(filter: &Filter, rt: &ResourceType) -> Plan {
    plan(filter, rt, &group_leaf)
}

type Leaf = dyn Fn(&Filter, &ResourceType) -> Plan;

fn plan(filter: &Filter, rt: &ResourceType, leaf: &Leaf) -> Plan {
    match filter {
        Filter::And(l, r) => Plan::and(plan(l, rt, leaf), plan(r, rt, leaf)),
        Filter::Or(l, r) => Plan::or(plan(l, rt, leaf), plan(r, rt, leaf)),
        Filter::Not(inner) => Plan::not(plan(inner, rt, leaf)),
        Filter::ValuePath { path, filter: inner } if path.is("emails") => {
            // Every user has exactly one email, so a condition on "some email" is a
            // condition on that one.
            plan(&within("emails", inner), rt, leaf)
        }
        other => leaf(other, rt),
    }
}

/// `inner` with its paths made sub-attributes of `attribute` (`type` → `emails.type`).
fn within(attribute: &str, inner: &Filter) -> Filter {
    let sub = |p: &AttrPath| AttrPath::sub(attribute, p.name.clone());
    match inner {
        Filter::And(l, r) => Filter::and(within(attribute, l), within(attribute, r)),
        Filter::Or(l, r) => Filter::or(within(attribute, l), within(attribute, r)),
        Filter::Not(i) => Filter::negate(within(attribute, i)),
        Filter::Present(p) => Filter::Present(sub(p)),
        Filter::Compare { path, op, value } => Filter::compare(sub(path), *op, value.clone()),
        Filter::ValuePath { .. } => inner.clone(),
    }
}

/// The canonical `name` or `name.sub` of a core or common attribute path; `None` for
/// extension attributes and unknown paths.
fn core_key(path: &AttrPath, rt: &ResourceType) -> Option<String> {
    let r = rt.resolve(path)?;
    if r.extension.is_some() {
        return None;
    }
    Some(match r.sub_attribute {
        Some(s) => format!("{}.{}", r.attribute.name, s.name),
        None => r.attribute.name.clone(),
    })
}

/// A filter over attributes whose value is the same on every resource of the type,
/// decided once on a sample.
fn constant(filter: &Filter, rt: &ResourceType) -> Plan {
    let sample = json!({"emails": [{"type": "work"}], "meta": {"resourceType": rt.name()}});
    Plan::exact(if filter.matches(&sample, rt) { Condition::True } else { Condition::False })
}

fn user_leaf(filter: &Filter, rt: &ResourceType) -> Plan {
    match filter {
        Filter::Present(path) => match core_key(path, rt).as_deref() {
            Some(
                "id" | "userName" | "emails" | "emails.value" | "emails.type" | "active" | "meta" | "meta.created"
                | "meta.lastModified" | "meta.resourceType" | "meta.location" | "meta.version" | "schemas",
            ) => Plan::exact(Condition::True),
            Some("externalId") => Plan::exact(Condition::Present(Column::ExternalId)),
            // Computed when none is set; only one a client removed is empty.
            Some("displayName") => {
                Plan::exact(Condition::Not(Box::new(compare(Column::DisplayNameKey, CompareOp::Eq, String::new()))))
            }
            Some("preferredLanguage") => Plan::exact(Condition::Present(Column::Language)),
            Some("timezone") => Plan::exact(Condition::Present(Column::Timezone)),
            _ => Plan::unknown(),
        },
        Filter::Compare { path, op, value } => match core_key(path, rt).as_deref() {
            Some("id") => id(*op, value),
            Some("userName") => text(Column::UsernameKey, *op, value),
            Some("emails" | "emails.value") => text(Column::EmailKey, *op, value),
            Some("externalId") => text(Column::ExternalId, *op, value),
            Some("preferredLanguage") => text(Column::Language, *op, value),
            Some("timezone") => text(Column::Timezone, *op, value),
            Some("active") => active(*op, value),
            Some("meta.created") => time(Column::CreatedAt, *op, value),
            Some("meta.lastModified") => time(Column::UpdatedAt, *op, value),
            Some("emails.type" | "meta.resourceType") => constant(filter, rt),
            Some("name.givenName" | "name.familyName") => searched(*op, value),
            Some("displayName") => display_name(*op, value),
            Some("groups" | "groups.value") => membership(*op, value),
            _ => Plan::unknown(),
        },
        Filter::ValuePath { path, filter: inner } if path.is("groups") => match &**inner {
            Filter::Compare { path: p, op, value } if p.is("value") => membership(*op, value),
            _ => Plan::unknown(),
        },
        _ => Plan::unknown(),
    }
}

fn group_leaf(filter: &Filter, rt: &ResourceType) -> Plan {
    match filter {
        Filter::Present(path) => match core_key(path, rt).as_deref() {
            Some(
                "id" | "displayName" | "meta" | "meta.created" | "meta.lastModified" | "meta.resourceType"
                | "meta.location" | "meta.version" | "schemas",
            ) => Plan::exact(Condition::True),
            Some("externalId") => Plan::exact(Condition::Present(Column::ExternalId)),
            _ => Plan::unknown(),
        },
        Filter::Compare { path, op, value } => match core_key(path, rt).as_deref() {
            Some("id") => id(*op, value),
            Some("displayName") => text(Column::NameKey, *op, value),
            Some("externalId") => text(Column::ExternalId, *op, value),
            Some("meta.created") => time(Column::CreatedAt, *op, value),
            Some("meta.lastModified") => time(Column::UpdatedAt, *op, value),
            Some("meta.resourceType") => constant(filter, rt),
            Some("members" | "members.value") => membership(*op, value),
            None if is_policy(path, rt) => policy(*op, value),
            _ => Plan::unknown(),
        },
        Filter::ValuePath { path, filter: inner } if path.is("members") => match &**inner {
            Filter::Compare { path: p, op, value } if p.is("value") => membership(*op, value),
            _ => Plan::unknown(),
        },
        _ => Plan::unknown(),
    }
}

fn is_policy(path: &AttrPath, rt: &ResourceType) -> bool {
    rt.resolve(path).is_some_and(|r| {
        r.extension.is_some_and(|e| e.id == roster_scim::urn::ROSTER_GROUP) && r.attribute.name == "policy"
    })
}

fn policy(op: CompareOp, value: &CompValue) -> Plan {
    match (op, value) {
        (CompareOp::Eq | CompareOp::Ne, CompValue::String(s)) => {
            let test = compare(Column::Policy, CompareOp::Eq, s.clone());
            Plan::exact(if op == CompareOp::Eq { test } else { Condition::Not(Box::new(test)) })
        }
        _ => Plan::unknown(),
    }
}

fn compare(column: Column, op: CompareOp, value: String) -> Condition {
    let op = match op {
        CompareOp::Eq => Op::Eq,
        CompareOp::Ne => Op::Ne,
        CompareOp::Co => Op::Contains,
        CompareOp::Sw => Op::StartsWith,
        CompareOp::Ew => Op::EndsWith,
        CompareOp::Gt => Op::Gt,
        CompareOp::Ge => Op::Ge,
        CompareOp::Lt => Op::Lt,
        CompareOp::Le => Op::Le,
    };
    Condition::Compare { column, op, value: StoreValue::Text(value) }
}

/// Whether a column always has a value (so `pr` and `ne null` hold for every row).
fn always_present(column: Column) -> bool {
    !matches!(column, Column::ExternalId | Column::Language | Column::Timezone)
}

/// A string attribute stored in `column`, lower-cased unless it is case-exact.
fn text(column: Column, op: CompareOp, value: &CompValue) -> Plan {
    let present = if always_present(column) { Condition::True } else { Condition::Present(column) };
    match value {
        CompValue::Null => Plan::exact(match op {
            CompareOp::Eq => Condition::Not(Box::new(present)),
            CompareOp::Ne => present,
            _ => Condition::False,
        }),
        CompValue::String(s) => {
            let folded = match column {
                Column::ExternalId => s.clone(),
                Column::UsernameKey => roster_domain::Username::fold(s),
                _ => s.to_lowercase(),
            };
            if folded.is_empty() && op.is_substring() {
                return Plan::exact(present);
            }
            Plan::exact(compare(column, op, folded))
        }
        CompValue::Bool(_) | CompValue::Number(_) => Plan::unknown(),
    }
}

/// `id`: a string holding a number, compared for (in)equality.
fn id(op: CompareOp, value: &CompValue) -> Plan {
    let Some(key) = canonical_id(value) else {
        return match (op, value) {
            (CompareOp::Eq, _) => Plan::exact(Condition::False),
            (CompareOp::Ne, _) => Plan::exact(Condition::True),
            _ => Plan::unknown(),
        };
    };
    let test = Condition::Compare { column: Column::Id, op: Op::Eq, value: StoreValue::Int(key) };
    match op {
        CompareOp::Eq => Plan::exact(test),
        CompareOp::Ne => Plan::exact(Condition::Not(Box::new(test))),
        _ => Plan::unknown(),
    }
}

/// The id a string names, when it is written as Roster writes ids.
fn canonical_id(value: &CompValue) -> Option<i64> {
    let CompValue::String(s) = value else { return None };
    s.parse::<i64>().ok().filter(|n| *n > 0 && n.to_string() == *s)
}

fn active(op: CompareOp, value: &CompValue) -> Plan {
    let CompValue::Bool(b) = value else {
        return match (op, value) {
            (CompareOp::Eq, CompValue::Null) => Plan::exact(Condition::False),
            (CompareOp::Ne, CompValue::Null) => Plan::exact(Condition::True),
            _ => Plan::unknown(),
        };
    };
    let status = |active: bool| {
        let s = if active { "active" } else { "suspended" };
        Condition::Compare { column: Column::Status, op: Op::Eq, value: StoreValue::Text(s.into()) }
    };
    match op {
        CompareOp::Eq => Plan::exact(status(*b)),
        CompareOp::Ne => Plan::exact(status(!*b)),
        _ => Plan::exact(Condition::False),
    }
}

/// `meta.created` / `meta.lastModified`: stored in whole milliseconds.
fn time(column: Column, op: CompareOp, value: &CompValue) -> Plan {
    let CompValue::String(s) = value else { return Plan::unknown() };
    let parsed = DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        Some(date.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
    });
    let Some(t) = parsed else { return Plan::unknown() };
    let ms = t.timestamp_millis();
    let whole = t.timestamp_subsec_nanos() % 1_000_000 == 0;
    let at = |op: Op| Condition::Compare { column, op, value: StoreValue::Int(ms) };
    Plan::exact(match (op, whole) {
        (CompareOp::Eq, true) => at(Op::Eq),
        (CompareOp::Ne, true) => at(Op::Ne),
        (CompareOp::Gt, true) => at(Op::Gt),
        (CompareOp::Ge, true) => at(Op::Ge),
        (CompareOp::Lt, true) => at(Op::Lt),
        (CompareOp::Le, true) => at(Op::Le),
        // Between two whole milliseconds: `ms` is the one below.
        (CompareOp::Eq, false) => Condition::False,
        (CompareOp::Ne, false) => Condition::True,
        (CompareOp::Gt | CompareOp::Ge, false) => at(Op::Gt),
        (CompareOp::Lt | CompareOp::Le, false) => at(Op::Le),
        _ => return Plan::unknown(),
    })
}

/// Names and the display name: the search text holds each of them, lower-cased.
fn searched(op: CompareOp, value: &CompValue) -> Plan {
    match (op, value) {
        (CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew, CompValue::String(s)) if !s.is_empty() => {
            Plan::superset(compare(Column::Search, CompareOp::Co, s.to_lowercase()))
        }
        _ => Plan::unknown(),
    }
}

/// The display name: the one a client set, else the names or the username, which the
/// search text holds.
fn display_name(op: CompareOp, value: &CompValue) -> Plan {
    let names = searched(op, value);
    let Condition::Compare { value: StoreValue::Text(folded), .. } = &names.condition else { return names };
    let set = Plan::superset(compare(Column::DisplayNameKey, CompareOp::Co, folded.clone()));
    Plan::or(names, set)
}

/// `groups.value eq "id"` on users, `members.value eq "id"` on groups.
fn membership(op: CompareOp, value: &CompValue) -> Plan {
    match (op, canonical_id(value)) {
        (CompareOp::Eq, Some(id)) => Plan::exact(Condition::Membership(id)),
        (CompareOp::Eq, None) if matches!(value, CompValue::String(_)) => Plan::exact(Condition::False),
        _ => Plan::unknown(),
    }
}

/// The SQL order of a sort, when SQL orders as SCIM does.
fn user_order(sort: &Sort, rt: &ResourceType) -> Option<Order> {
    let column = match core_key(&sort.by, rt)?.as_str() {
        "userName" => Column::UsernameKey,
        "emails" | "emails.value" => Column::EmailKey,
        "externalId" => Column::ExternalId,
        "preferredLanguage" => Column::Language,
        "timezone" => Column::Timezone,
        "meta.created" => Column::CreatedAt,
        "meta.lastModified" => Column::UpdatedAt,
        _ => return None,
    };
    Some(Order { column, descending: sort.order == SortOrder::Descending })
}

fn group_order(sort: &Sort, rt: &ResourceType) -> Option<Order> {
    let column = match core_key(&sort.by, rt)?.as_str() {
        "displayName" => Column::NameKey,
        "externalId" => Column::ExternalId,
        "meta.created" => Column::CreatedAt,
        "meta.lastModified" => Column::UpdatedAt,
        _ => return None,
    };
    Some(Order { column, descending: sort.order == SortOrder::Descending })
}

/// Whether a filter or sort names a top-level attribute (e.g. `members`).
fn mentions(filter: Option<&Filter>, sort: Option<&Sort>, name: &str) -> bool {
    fn walk(f: &Filter, name: &str) -> bool {
        match f {
            Filter::And(l, r) | Filter::Or(l, r) => walk(l, name) || walk(r, name),
            Filter::Not(i) => walk(i, name),
            Filter::Present(p) | Filter::Compare { path: p, .. } | Filter::ValuePath { path: p, .. } => {
                p.name.eq_ignore_ascii_case(name)
            }
        }
    }
    filter.is_some_and(|f| walk(f, name)) || sort.is_some_and(|s| s.by.name.eq_ignore_ascii_case(name))
}

fn too_many(candidates: u64, what: &str) -> ScimError {
    ScimError::too_many(format!(
        "this filter leaves {candidates} {what} to check one by one, more than {MAX_CANDIDATES}; narrow it with \
         an indexed attribute (id, userName, emails.value, externalId, active, meta.created, meta.lastModified; \
         displayName and externalId for groups) joined with \"and\""
    ))
}

/// `GET /Users`: exact in SQL when it can be, else over bounded candidates.
pub(crate) async fn list_users(
    conn: &mut AnyConnection,
    dir: &Directory,
    query: &ListQuery,
) -> ScimResult<ListResponse> {
    let rt = dir.sp.users();
    let plan = query.filter.as_ref().map_or(Plan::exact(Condition::True), |f| plan_users(f, rt));
    let order = match &query.sort {
        None => Some(None),
        Some(s) => user_order(s, rt).map(Some),
    };
    if let (true, Some(order)) = (plan.exact, order) {
        let total = store::count_users(conn, &plan.condition).await.map_err(AppError::from)?;
        let rows = store::find_users(conn, &plan.condition, order.as_ref(), query.page.offset(), query.page.count)
            .await
            .map_err(AppError::from)?;
        let resources = super::users::represent(conn, dir, rows)
            .await?
            .into_iter()
            .map(|u| super::shown(&query.projection, &u.json, rt))
            .collect();
        return Ok(ListResponse { total_results: total, start_index: query.page.start_index, resources });
    }
    let candidates = store::count_users(conn, &plan.condition).await.map_err(AppError::from)?;
    if candidates > MAX_CANDIDATES {
        return Err(too_many(candidates, "users"));
    }
    let rows = store::find_users(conn, &plan.condition, None, 0, candidates).await.map_err(AppError::from)?;
    let (filter, sort) = (query.filter.as_ref(), query.sort.as_ref());
    if mentions(filter, sort, "groups") || mentions(filter, sort, "meta") {
        // What the filter reads needs each whole representation.
        let all = super::users::represent(conn, dir, rows).await?;
        let mut response = query.respond(all.into_iter().map(|u| u.json).collect(), rt);
        // `respond` projected already; this only tidies `schemas`.
        response.resources = response.resources.iter().map(|r| super::shown(&Projection::default(), r, rt)).collect();
        return Ok(response);
    }
    // Decide on the stored attributes alone; represent only the page shown.
    let mut matching: Vec<(Value, store::DirectoryUser)> = rows
        .into_iter()
        .map(|row| (super::users::to_scim(dir, &row).to_json(&dir.sp), row))
        .filter(|(json, _)| filter.is_none_or(|f| f.matches(json, rt)))
        .collect();
    if let Some(sort) = sort {
        matching.sort_by(|(a, _), (b, _)| sort.compare(a, b, rt));
    }
    let total = matching.len() as u64;
    let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
    let count = usize::try_from(query.page.count).unwrap_or(usize::MAX);
    let page = matching.into_iter().skip(offset).take(count).map(|(_, row)| row).collect();
    let resources = super::users::represent(conn, dir, page)
        .await?
        .into_iter()
        .map(|u| super::shown(&query.projection, &u.json, rt))
        .collect();
    Ok(ListResponse { total_results: total, start_index: query.page.start_index, resources })
}

/// `GET /Groups`: as [`list_users`]; members are loaded only for the groups shown, unless
/// the filter or sort needs them.
pub(crate) async fn list_groups(
    conn: &mut AnyConnection,
    dir: &Directory,
    query: &ListQuery,
) -> ScimResult<ListResponse> {
    let rt = dir.sp.groups();
    let show_members = query.projection.includes(rt, "members");
    let plan = query.filter.as_ref().map_or(Plan::exact(Condition::True), |f| plan_groups(f, rt));
    let order = match &query.sort {
        None => Some(None),
        Some(s) => group_order(s, rt).map(Some),
    };
    if let (true, Some(order)) = (plan.exact, order) {
        let total = store::count_groups(conn, &plan.condition).await.map_err(AppError::from)?;
        let rows = store::find_groups(conn, &plan.condition, order.as_ref(), query.page.offset(), query.page.count)
            .await
            .map_err(AppError::from)?;
        let resources = super::groups::represent(conn, dir, rows, show_members)
            .await?
            .into_iter()
            .map(|g| super::shown(&query.projection, &g.resource.json, rt))
            .collect();
        return Ok(ListResponse { total_results: total, start_index: query.page.start_index, resources });
    }
    let candidates = store::count_groups(conn, &plan.condition).await.map_err(AppError::from)?;
    if candidates > MAX_CANDIDATES {
        return Err(too_many(candidates, "groups"));
    }
    let rows = store::find_groups(conn, &plan.condition, None, 0, candidates).await.map_err(AppError::from)?;
    let needs_members = mentions(query.filter.as_ref(), query.sort.as_ref(), "members");
    let all = super::groups::represent(conn, dir, rows, needs_members).await?;
    let mut matching: Vec<(i64, Value)> = all
        .into_iter()
        .map(|g| (g.group.id, g.resource.json))
        .filter(|(_, json)| query.filter.as_ref().is_none_or(|f| f.matches(json, rt)))
        .collect();
    if let Some(sort) = &query.sort {
        matching.sort_by(|(_, a), (_, b)| sort.compare(a, b, rt));
    }
    let total = matching.len() as u64;
    let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
    let count = usize::try_from(query.page.count).unwrap_or(usize::MAX);
    let shown: Vec<(i64, Value)> = matching.into_iter().skip(offset).take(count).collect();
    let mut with_members: HashMap<i64, Value> = HashMap::new();
    if show_members && !needs_members {
        for (id, _) in &shown {
            if let Some(g) = super::groups::load(conn, dir, *id, true).await? {
                with_members.insert(*id, g.resource.json);
            }
        }
    }
    let resources = shown
        .into_iter()
        .map(|(id, json)| super::shown(&query.projection, with_members.get(&id).unwrap_or(&json), rt))
        .collect();
    Ok(ListResponse { total_results: total, start_index: query.page.start_index, resources })
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_domain::BranchTree;

    fn users() -> ResourceType {
        let d = Directory::new(crate::Context { fields: vec![], tree: BranchTree::new(vec![]) }, "http://x/scim/v2");
        d.sp.users().clone()
    }

    fn p(text: &str) -> Plan {
        let rt = users();
        plan_users(&Filter::parse_for(text, &rt).unwrap(), &rt)
    }

    fn eq(column: Column, value: &str) -> Condition {
        Condition::Compare { column, op: Op::Eq, value: StoreValue::Text(value.into()) }
    }

    #[test]
    fn indexed_attributes_translate_exactly_and_fold_case() {
        assert_eq!(p(r#"userName eq "BJensen""#), Plan::exact(eq(Column::UsernameKey, "bjensen")));
        assert_eq!(p(r#"emails.value eq "B@X.org""#), Plan::exact(eq(Column::EmailKey, "b@x.org")));
        assert_eq!(p(r#"emails[value eq "B@X.org"]"#), Plan::exact(eq(Column::EmailKey, "b@x.org")));
        assert_eq!(p(r#"externalId eq "AbC""#), Plan::exact(eq(Column::ExternalId, "AbC")));
        assert_eq!(p("active eq false"), Plan::exact(eq(Column::Status, "suspended")));
        let both = p(r#"userName sw "a" and (active eq true or externalId pr)"#);
        assert!(both.exact);
        assert!(matches!(both.condition, Condition::And(ref parts) if parts.len() == 2));
    }

    #[test]
    fn constants_and_ids_are_decided_without_reading() {
        assert_eq!(p(r#"emails[type eq "work"]"#), Plan::exact(Condition::True));
        assert_eq!(p(r#"emails.type eq "home""#), Plan::exact(Condition::False));
        assert_eq!(p(r#"meta.resourceType eq "User""#), Plan::exact(Condition::True));
        assert_eq!(p(r#"id eq "007""#), Plan::exact(Condition::False));
        assert_eq!(p(r#"id ne "x""#), Plan::exact(Condition::True));
    }

    #[test]
    fn names_narrow_and_the_rest_is_checked_in_memory() {
        let names = p(r#"name.givenName eq "Ann""#);
        assert!(!names.exact);
        assert_eq!(
            names.condition,
            Condition::Compare { column: Column::Search, op: Op::Contains, value: StoreValue::Text("ann".into()) }
        );
        assert_eq!(p(r#"not (name.familyName eq "x")"#), Plan::unknown(), "the complement of a superset");
        let display = p(r#"displayName eq "Bobby J""#);
        assert!(!display.exact);
        assert_eq!(
            display.condition,
            Condition::Or(vec![
                Condition::Compare {
                    column: Column::Search,
                    op: Op::Contains,
                    value: StoreValue::Text("bobby j".into())
                },
                Condition::Compare {
                    column: Column::DisplayNameKey,
                    op: Op::Contains,
                    value: StoreValue::Text("bobby j".into())
                },
            ]),
            "the names, or the display name a client set"
        );
        assert_eq!(
            p("displayName pr"),
            Plan::exact(Condition::Not(Box::new(eq(Column::DisplayNameKey, "")))),
            "absent only where a client removed it"
        );
        let mixed = p(r#"userName eq "a" and displayName co "b""#);
        assert!(!mixed.exact, "one inexact side makes the whole inexact");
        assert!(p(r#"userName eq "a" or timezone eq null"#).exact);
    }

    #[test]
    fn times_compare_in_whole_milliseconds() {
        let at = |op| Condition::Compare { column: Column::CreatedAt, op, value: StoreValue::Int(1_000) };
        assert_eq!(p(r#"meta.created gt "1970-01-01T00:00:01Z""#), Plan::exact(at(Op::Gt)));
        assert_eq!(p(r#"meta.created ge "1970-01-01T00:00:01.0005Z""#), Plan::exact(at(Op::Gt)));
        assert_eq!(p(r#"meta.created le "1970-01-01T00:00:01.0005Z""#), Plan::exact(at(Op::Le)));
        assert_eq!(p(r#"meta.created eq "1970-01-01T00:00:01.0005Z""#), Plan::exact(Condition::False));
    }
}
