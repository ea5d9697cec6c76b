//! What a directory client (a SCIM identity provider) reads and writes beyond the
//! ordinary tables' use: the client's own ids for users and groups (`external_id`) and
//! the display name it gives a user (`display_name`), searches by a [`Condition`] tree
//! counted exactly and paged in SQL, and the membership facts shown on each resource.
//!
//! A [`Condition`] names columns, not SQL: this module renders it for the backend at
//! hand, with every value bound as a parameter. Comparisons are two-valued (a NULL
//! column compares false), so `Not` means "everything else"; text ordering is by code
//! point on both backends (PostgreSQL compares `COLLATE "C"`), as Rust orders strings.

use roster_domain::{Group, User};
use sqlx::AnyConnection;

use crate::params::Params;
use crate::{col, StoreError, WriteTx};

/// A column a [`Condition`] may compare, on the table searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `id` (users and groups).
    Id,
    /// The provisioning client's id, case-exact (users and groups).
    ExternalId,
    /// Creation time, epoch ms (users and groups).
    CreatedAt,
    /// Last change, epoch ms (users and groups).
    UpdatedAt,
    /// The lower-cased username (users).
    UsernameKey,
    /// The lower-cased email (users).
    EmailKey,
    /// `active` or `suspended` (users).
    Status,
    /// The language tag, lower-cased (users; tags are ASCII).
    Language,
    /// The time zone, lower-cased (users; zone names are ASCII).
    Timezone,
    /// Lower-cased username, email and names joined by spaces (users): a superset test
    /// for any of them.
    Search,
    /// The lower-cased display name a client set, if any (users).
    DisplayNameKey,
    /// The lower-cased name (groups).
    NameKey,
    /// `manual` or `automatic` (groups).
    Policy,
}

impl Column {
    fn sql(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::ExternalId => "external_id",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::UsernameKey => "username_key",
            Self::EmailKey => "email_key",
            Self::Status => "status",
            Self::Language => "LOWER(language)",
            Self::Timezone => "LOWER(timezone)",
            Self::Search => "search",
            Self::DisplayNameKey => "display_name_key",
            Self::NameKey => "name_key",
            Self::Policy => "policy",
        }
    }

    fn nullable(self) -> bool {
        matches!(self, Self::ExternalId | Self::Language | Self::Timezone | Self::DisplayNameKey)
    }

    fn is_text(self) -> bool {
        !matches!(self, Self::Id | Self::CreatedAt | Self::UpdatedAt)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal (and not NULL).
    Ne,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Text starting with the value.
    StartsWith,
    /// Text ending with the value.
    EndsWith,
    /// Text containing the value.
    Contains,
}

/// A value compared with a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text, compared as given (lower-case it for the lower-cased columns).
    Text(String),
    /// A whole number (ids, epoch ms).
    Int(i64),
}

/// Which rows a search keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Every row.
    True,
    /// No row.
    False,
    /// `column op value`; false when the column is NULL.
    Compare {
        /// The column.
        column: Column,
        /// The operator.
        op: Op,
        /// The value.
        value: Value,
    },
    /// The column holds a non-empty value.
    Present(Column),
    /// Users: a member of this group. Groups: having this user as a member.
    Membership(i64),
    /// All of these.
    And(Vec<Condition>),
    /// Any of these.
    Or(Vec<Condition>),
    /// Not this.
    Not(Box<Condition>),
}

/// How to order a search: by a column (rows without a value last), then by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// The column.
    pub column: Column,
    /// Largest first.
    pub descending: bool,
}

/// A bound parameter, in textual order.
#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

/// Renders conditions for one statement.
struct Render {
    params: Params,
    binds: Vec<Bind>,
    postgres: bool,
    table: Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Users,
    Groups,
}

impl Render {
    fn new(conn: &AnyConnection, table: Table) -> Self {
        Self { params: Params::new(conn), binds: Vec::new(), postgres: conn.backend_name() != "SQLite", table }
    }

    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        self.params.next()
    }

    /// Text ordering by code point on both backends.
    fn ordered(&self, column: Column) -> String {
        if self.postgres && column.is_text() {
            format!("{} COLLATE \"C\"", column.sql())
        } else {
            column.sql().to_owned()
        }
    }

    fn condition(&mut self, c: &Condition) -> String {
        match c {
            Condition::True => "1 = 1".into(),
            Condition::False => "1 = 0".into(),
            Condition::Present(column) => {
                let sql = column.sql();
                if column.is_text() {
                    format!("({sql} IS NOT NULL AND {sql} <> '')")
                } else {
                    format!("{sql} IS NOT NULL")
                }
            }
            Condition::Membership(id) => {
                let p = self.bind(Bind::Int(*id));
                match self.table {
                    Table::Users => format!("id IN (SELECT user_id FROM memberships WHERE group_id = {p})"),
                    Table::Groups => format!("id IN (SELECT group_id FROM memberships WHERE user_id = {p})"),
                }
            }
            Condition::And(parts) | Condition::Or(parts) if parts.is_empty() => {
                if matches!(c, Condition::And(_)) { "1 = 1" } else { "1 = 0" }.into()
            }
            Condition::And(parts) => self.joined(parts, " AND "),
            Condition::Or(parts) => self.joined(parts, " OR "),
            Condition::Not(inner) => format!("NOT ({})", self.condition(inner)),
            Condition::Compare { column, op, value } => self.compare(*column, *op, value),
        }
    }

    fn joined(&mut self, parts: &[Condition], with: &str) -> String {
        let rendered: Vec<String> = parts.iter().map(|p| format!("({})", self.condition(p))).collect();
        rendered.join(with)
    }

    fn compare(&mut self, column: Column, op: Op, value: &Value) -> String {
        let sql = column.sql();
        let test = match (op, value) {
            (Op::StartsWith, Value::Text(t)) => match successor(t) {
                // The prefix's range: an index serves it, and it is exact by code point.
                Some(upper) => {
                    let lo = self.bind(Bind::Text(t.clone()));
                    let hi = self.bind(Bind::Text(upper));
                    let ordered = self.ordered(column);
                    format!("{ordered} >= {lo} AND {ordered} < {hi}")
                }
                None => format!("{sql} IS NOT NULL"),
            },
            (Op::EndsWith, Value::Text(t)) => {
                let n = t.chars().count();
                let p = self.bind(Bind::Text(t.clone()));
                if self.postgres {
                    format!("right({sql}, {n}) = {p}")
                } else {
                    format!("substr({sql}, -{n}) = {p} AND length({sql}) >= {n}")
                }
            }
            (Op::Contains, Value::Text(t)) => {
                let p = self.bind(Bind::Text(t.clone()));
                if self.postgres {
                    format!("strpos({sql}, {p}) > 0")
                } else {
                    format!("instr({sql}, {p}) > 0")
                }
            }
            (Op::StartsWith | Op::EndsWith | Op::Contains, Value::Int(_)) => "1 = 0".into(),
            (op, value) => {
                let symbol = match op {
                    Op::Eq => "=",
                    Op::Ne => "<>",
                    Op::Gt => ">",
                    Op::Ge => ">=",
                    Op::Lt => "<",
                    _ => "<=",
                };
                let p = self.bind(match value {
                    Value::Text(t) => Bind::Text(t.clone()),
                    Value::Int(i) => Bind::Int(*i),
                });
                let left = if matches!(op, Op::Eq | Op::Ne) { sql.to_owned() } else { self.ordered(column) };
                format!("{left} {symbol} {p}")
            }
        };
        if column.nullable() {
            format!("({sql} IS NOT NULL AND {test})")
        } else {
            format!("({test})")
        }
    }

    fn order(&self, order: Option<&Order>) -> String {
        match order {
            None => " ORDER BY id".into(),
            Some(o) => {
                let direction = if o.descending { " DESC" } else { "" };
                let missing_last =
                    if o.column.nullable() { format!("({} IS NULL), ", o.column.sql()) } else { String::new() };
                format!(" ORDER BY {missing_last}{}{direction}, id", self.ordered(o.column))
            }
        }
    }
}

/// The smallest string greater than every string that starts with `prefix`, if any.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t),
            Bind::Int(i) => q.bind(i),
        };
    }
    q
}

async fn count(conn: &mut AnyConnection, table: Table, condition: &Condition) -> Result<u64, StoreError> {
    let mut r = Render::new(conn, table);
    let name = if table == Table::Users { "users" } else { "groups" };
    let sql = format!("SELECT COUNT(*) AS n FROM {name} WHERE {}", r.condition(condition));
    let row = bind_all(sqlx::query(crate::built(sql)), r.binds).fetch_one(conn).await?;
    let n: i64 = col(&row, "n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn limits(offset: u64, limit: u64) -> (i64, i64) {
    (i64::try_from(offset).unwrap_or(i64::MAX), i64::try_from(limit).unwrap_or(i64::MAX))
}

/// A user with what a directory client keeps on it.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryUser {
    /// The user.
    pub user: User,
    /// The provisioning client's id for the user.
    pub external_id: Option<String>,
    /// The display name the client set: `None` when it set none, empty when it removed
    /// it (SCIM then shows none rather than the names).
    pub display_name: Option<String>,
}

/// How many users meet the condition.
pub async fn count_users(conn: &mut AnyConnection, condition: &Condition) -> Result<u64, StoreError> {
    count(conn, Table::Users, condition).await
}

/// The users that meet the condition, in order, from `offset`, at most `limit`, with
/// what their directory client keeps on them.
pub async fn find_users(
    conn: &mut AnyConnection,
    condition: &Condition,
    order: Option<&Order>,
    offset: u64,
    limit: u64,
) -> Result<Vec<DirectoryUser>, StoreError> {
    let mut r = Render::new(conn, Table::Users);
    let mut sql = format!(
        "SELECT {}, external_id, display_name FROM users WHERE {}",
        crate::users::COLUMNS,
        r.condition(condition)
    );
    sql.push_str(&r.order(order));
    let (offset, limit) = limits(offset, limit);
    sql.push_str(&format!(" LIMIT {} OFFSET {}", r.bind(Bind::Int(limit)), r.bind(Bind::Int(offset))));
    let rows = bind_all(sqlx::query(crate::built(sql)), r.binds).fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            Ok(DirectoryUser {
                user: crate::users::from_row(row)?,
                external_id: col(row, "external_id")?,
                display_name: col(row, "display_name")?,
            })
        })
        .collect()
}

/// How many groups meet the condition.
pub async fn count_groups(conn: &mut AnyConnection, condition: &Condition) -> Result<u64, StoreError> {
    count(conn, Table::Groups, condition).await
}

/// The groups that meet the condition, in order, from `offset`, at most `limit`, with
/// their external ids.
pub async fn find_groups(
    conn: &mut AnyConnection,
    condition: &Condition,
    order: Option<&Order>,
    offset: u64,
    limit: u64,
) -> Result<Vec<(Group, Option<String>)>, StoreError> {
    let mut r = Render::new(conn, Table::Groups);
    let mut sql =
        format!("SELECT {}, external_id FROM groups WHERE {}", crate::groups::COLUMNS, r.condition(condition));
    sql.push_str(&r.order(order));
    let (offset, limit) = limits(offset, limit);
    sql.push_str(&format!(" LIMIT {} OFFSET {}", r.bind(Bind::Int(limit)), r.bind(Bind::Int(offset))));
    let rows = bind_all(sqlx::query(crate::built(sql)), r.binds).fetch_all(conn).await?;
    rows.iter().map(|row| Ok((crate::groups::from_row(row)?, col(row, "external_id")?))).collect()
}

/// Sets (or clears) a user's external id.
pub async fn set_user_external_id(tx: &mut WriteTx, id: i64, external_id: Option<&str>) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET external_id = $1 WHERE id = $2")
        .bind(external_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets (or clears) the display name a client gave a user, empty when it removed it;
/// searches compare it lower-cased.
pub async fn set_user_display_name(tx: &mut WriteTx, id: i64, display_name: Option<&str>) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET display_name = $1, display_name_key = $2 WHERE id = $3")
        .bind(display_name)
        .bind(display_name.map(str::to_lowercase))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets (or clears) a group's external id.
pub async fn set_group_external_id(tx: &mut WriteTx, id: i64, external_id: Option<&str>) -> Result<(), StoreError> {
    sqlx::query("UPDATE groups SET external_id = $1 WHERE id = $2")
        .bind(external_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The (user, group) memberships of these users, in user then group order.
pub async fn memberships_of_users(conn: &mut AnyConnection, users: &[i64]) -> Result<Vec<(i64, i64)>, StoreError> {
    pairs(conn, "SELECT user_id AS a, group_id AS b FROM memberships WHERE user_id IN", users, "").await
}

/// The (group, last membership event id) of these groups that have events: a value
/// that changes whenever their members do.
pub async fn last_events_of_groups(conn: &mut AnyConnection, groups: &[i64]) -> Result<Vec<(i64, i64)>, StoreError> {
    let select = "SELECT group_id AS a, MAX(id) AS b FROM membership_events WHERE group_id IN";
    pairs(conn, select, groups, " GROUP BY group_id").await
}

async fn pairs(conn: &mut AnyConnection, select: &str, ids: &[i64], tail: &str) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!("{select} ({}){tail} ORDER BY a, b", Params::new(conn).list(chunk.len()));
        let mut q = sqlx::query(crate::built(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push((col(&row, "a")?, col(&row, "b")?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors_bound_prefixes() {
        assert_eq!(successor("abc").as_deref(), Some("abd"));
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{10FFFF}"), None);
        assert_eq!(successor("z\u{D7FF}").as_deref(), Some("z\u{E000}"), "surrogates are skipped");
    }
}
