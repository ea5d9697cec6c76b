//! The `groups` table, and the include/exclude lists of automatic groups.

use roster_domain::{Group, GroupPolicy};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::params::Params;
use crate::{col, like_pattern, Page, StoreError, WriteTx};

pub(crate) const COLUMNS: &str =
    "id, name, description, policy, rule_text, rule_tree, allow_suspended, member_count, created_at, updated_at, scope";

pub(crate) fn from_row(row: &AnyRow) -> Result<Group, StoreError> {
    let policy: String = col(row, "policy")?;
    let allow: i64 = col(row, "allow_suspended")?;
    let scope: Option<String> = col(row, "scope")?;
    Ok(Group {
        id: col(row, "id")?,
        name: col(row, "name")?,
        description: col(row, "description")?,
        policy: GroupPolicy::parse("policy", &policy).map_err(|e| StoreError::Corrupt(e.message))?,
        rule_text: col(row, "rule_text")?,
        rule_tree: col(row, "rule_tree")?,
        allow_suspended: allow != 0,
        member_count: col(row, "member_count")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        scope: scope.map(|s| serde_json::from_str(&s)).transpose()?,
    })
}

fn scope_json(g: &Group) -> Result<Option<String>, StoreError> {
    Ok(g.scope.as_ref().map(serde_json::to_string).transpose()?)
}

/// Inserts a group and returns its id.
pub async fn insert(tx: &mut WriteTx, g: &Group) -> Result<i64, StoreError> {
    let conn: &mut AnyConnection = tx;
    Ok(sqlx::query_scalar(
        "INSERT INTO groups (name, name_key, description, policy, rule_text, rule_tree, allow_suspended, \
         member_count, created_at, updated_at, scope) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10) RETURNING id",
    )
    .bind(&g.name)
    .bind(g.name.to_lowercase())
    .bind(&g.description)
    .bind(g.policy.as_str())
    .bind(&g.rule_text)
    .bind(&g.rule_tree)
    .bind(i64::from(g.allow_suspended))
    .bind(g.created_at)
    .bind(g.updated_at)
    .bind(scope_json(g)?)
    .fetch_one(conn)
    .await?)
}

/// Records that a group's definition changed at `at` (its include or exclude list),
/// without writing the rest of its row.
pub async fn touch(tx: &mut WriteTx, id: i64, at: i64) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("UPDATE groups SET updated_at = $1 WHERE id = $2").bind(at).bind(id).execute(conn).await?;
    Ok(())
}

/// Writes a group's name, description, rule and switch.
pub async fn update(tx: &mut WriteTx, g: &Group) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    let done = sqlx::query(
        "UPDATE groups SET name = $1, name_key = $2, description = $3, rule_text = $4, rule_tree = $5, \
         allow_suspended = $6, updated_at = $7, scope = $8 WHERE id = $9",
    )
    .bind(&g.name)
    .bind(g.name.to_lowercase())
    .bind(&g.description)
    .bind(&g.rule_text)
    .bind(&g.rule_tree)
    .bind(i64::from(g.allow_suspended))
    .bind(g.updated_at)
    .bind(scope_json(g)?)
    .bind(g.id)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a group; its memberships and lists go with it (its events stay).
pub async fn delete(tx: &mut WriteTx, id: i64) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    // Memberships have no foreign key (it slowed every bulk insert): they go here.
    sqlx::query("DELETE FROM memberships WHERE group_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM enrollment_rules WHERE group_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM groups WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// One group by id.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<Group>, StoreError> {
    let row = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM groups WHERE id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// One group by name, in any case.
pub async fn by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Group>, StoreError> {
    let row = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM groups WHERE name_key = $1")))
        .bind(name.trim().to_lowercase())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every group, in id order (the engine's catalog and rule checking need them all).
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Group>, StoreError> {
    let rows = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM groups ORDER BY id"))).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// A page of groups, optionally only those whose name contains `q` or of one policy.
pub async fn list(
    conn: &mut AnyConnection,
    q: Option<&str>,
    policy: Option<GroupPolicy>,
    after: Option<i64>,
    limit: usize,
) -> Result<Page<Group>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM groups WHERE id > $1");
    let mut next = 2;
    if q.is_some() {
        sql.push_str(&format!(" AND name_key LIKE ${next} ESCAPE '\\'"));
        next += 1;
    }
    if policy.is_some() {
        sql.push_str(&format!(" AND policy = ${next}"));
        next += 1;
    }
    sql.push_str(&format!(" ORDER BY id LIMIT ${next}"));
    let mut query = sqlx::query(crate::built(sql)).bind(after.unwrap_or(0));
    if let Some(q) = q {
        query = query.bind(like_pattern(q));
    }
    if let Some(p) = policy {
        query = query.bind(p.as_str());
    }
    let rows = query.bind((limit + 1) as i64).fetch_all(conn).await?;
    let groups = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(groups, limit, |g| g.id))
}

/// What a sorted list of groups is ordered by (then by id, in the same direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOrder {
    /// Name, any case.
    Name,
    /// Member count, as stored (every member).
    Members,
    /// Creation (ids grow with it).
    Created,
}

/// `WHERE` for a groups search, with its values to bind in order.
fn group_filter(p: &mut Params, q: Option<&str>, policy: Option<GroupPolicy>) -> (String, Vec<String>) {
    let mut sql = String::from(" WHERE 1 = 1");
    let mut values = Vec::new();
    if let Some(q) = q {
        sql.push_str(&format!(" AND name_key LIKE {} ESCAPE '\\'", p.next()));
        values.push(like_pattern(q));
    }
    if let Some(policy) = policy {
        sql.push_str(&format!(" AND policy = {}", p.next()));
        values.push(policy.as_str().to_owned());
    }
    (sql, values)
}

/// The groups matching `q` and `policy`, ordered, `limit` of them after `offset`.
pub async fn list_ordered(
    conn: &mut AnyConnection,
    q: Option<&str>,
    policy: Option<GroupPolicy>,
    (order, descending): (GroupOrder, bool),
    offset: u64,
    limit: usize,
) -> Result<Vec<Group>, StoreError> {
    let mut p = Params::new(conn);
    let (filter, values) = group_filter(&mut p, q, policy);
    let column = match order {
        GroupOrder::Name => "name_key",
        GroupOrder::Members => "member_count",
        GroupOrder::Created => "id",
    };
    let dir = if descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {COLUMNS} FROM groups{filter} ORDER BY {column} {dir}, id {dir} LIMIT {} OFFSET {}",
        p.next(),
        p.next()
    );
    let mut query = sqlx::query(crate::built(sql));
    for value in values {
        query = query.bind(value);
    }
    let rows = query
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many groups match `q` and `policy`.
pub async fn count_matching(
    conn: &mut AnyConnection,
    q: Option<&str>,
    policy: Option<GroupPolicy>,
) -> Result<i64, StoreError> {
    let mut p = Params::new(conn);
    let (filter, values) = group_filter(&mut p, q, policy);
    let mut query = sqlx::query_scalar(crate::built(format!("SELECT COUNT(*) FROM groups{filter}")));
    for value in values {
        query = query.bind(value);
    }
    Ok(query.fetch_one(conn).await?)
}

/// Adds `delta` to the member count of each of these groups: one statement.
pub(crate) async fn add_to_counts(tx: &mut WriteTx, ids: &[i64], delta: i64) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    if delta == 0 || ids.is_empty() {
        return Ok(());
    }
    let mut p = Params::new(conn);
    let sql = format!("UPDATE groups SET member_count = member_count + {} WHERE id IN {}", p.next(), p.id_table());
    sqlx::query(crate::built(sql)).bind(delta).bind(p.ids(ids)).execute(conn).await?;
    Ok(())
}

/// Adds one to the member count of each group of `plus` and takes one from each of
/// `minus`: one statement (a single user's moves).
pub(crate) async fn move_counts(tx: &mut WriteTx, plus: &[i64], minus: &[i64]) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    if plus.is_empty() && minus.is_empty() {
        return Ok(());
    }
    let mut p = Params::new(conn);
    let sql = format!(
        "UPDATE groups SET member_count = member_count + CASE WHEN t.id > 0 THEN 1 ELSE -1 END \
         FROM {} AS t WHERE groups.id = abs(t.id)",
        p.id_table()
    );
    let ids = crate::events::signed(plus, minus);
    sqlx::query(crate::built(sql)).bind(p.ids(&ids)).execute(conn).await?;
    Ok(())
}

/// Which list of an automatic group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Members whatever the rule says.
    Include,
    /// Never members.
    Exclude,
}

impl ListKind {
    fn as_str(self) -> &'static str {
        match self {
            ListKind::Include => "include",
            ListKind::Exclude => "exclude",
        }
    }
}

/// The users on one list of a group, in id order.
pub async fn list_users(conn: &mut AnyConnection, group_id: i64, kind: ListKind) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT user_id FROM group_lists WHERE group_id = $1 AND list = $2 ORDER BY user_id")
        .bind(group_id)
        .bind(kind.as_str())
        .fetch_all(conn)
        .await?)
}

/// Puts users on a list (those already on it stay as they are).
pub async fn add_to_list(
    tx: &mut WriteTx,
    group_id: i64,
    kind: ListKind,
    users: &[i64],
    at: i64,
    by: &str,
) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    for chunk in users.chunks(500) {
        let sql = format!(
            "INSERT INTO group_lists (group_id, list, added_at, added_by, user_id) VALUES {} \
             ON CONFLICT (group_id, list, user_id) DO NOTHING",
            Params::new(conn).rows(chunk.len(), 5)
        );
        let mut q = sqlx::query(crate::built(sql));
        for u in chunk {
            q = q.bind(group_id).bind(kind.as_str()).bind(at).bind(by).bind(*u);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Takes users off a list.
pub async fn remove_from_list(
    tx: &mut WriteTx,
    group_id: i64,
    kind: ListKind,
    users: &[i64],
) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    for chunk in users.chunks(500) {
        let mut p = Params::new(conn);
        let sql = format!(
            "DELETE FROM group_lists WHERE group_id = {} AND list = {} AND user_id IN ({})",
            p.next(),
            p.next(),
            p.list(chunk.len())
        );
        let mut q = sqlx::query(crate::built(sql)).bind(group_id).bind(kind.as_str());
        for u in chunk {
            q = q.bind(*u);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Stores the outcome of a CSV upload and returns its number.
pub async fn insert_upload(
    tx: &mut WriteTx,
    group_id: i64,
    actor: &str,
    at: i64,
    dry_run: bool,
    applied: bool,
    result: &str,
) -> Result<i64, StoreError> {
    let conn: &mut AnyConnection = tx;
    Ok(sqlx::query_scalar(
        "INSERT INTO csv_uploads (group_id, actor, at, dry_run, applied, result) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(group_id)
    .bind(actor)
    .bind(at)
    .bind(i64::from(dry_run))
    .bind(i64::from(applied))
    .bind(result)
    .fetch_one(conn)
    .await?)
}

/// Replaces the stored outcome of an upload (once its number is known to the result).
pub async fn set_upload_result(tx: &mut WriteTx, id: i64, result: &str) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("UPDATE csv_uploads SET result = $1 WHERE id = $2").bind(result).bind(id).execute(conn).await?;
    Ok(())
}

/// The stored outcome of an upload to a group.
pub async fn upload_result(
    conn: &mut AnyConnection,
    group_id: i64,
    id: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query("SELECT actor, result FROM csv_uploads WHERE id = $1 AND group_id = $2")
        .bind(id)
        .bind(group_id)
        .fetch_optional(conn)
        .await?;
    row.map(|row| Ok((col(&row, "actor")?, col(&row, "result")?))).transpose()
}

/// The groups on one of whose lists a user is.
pub async fn lists_of_user(conn: &mut AnyConnection, user_id: i64, kind: ListKind) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT group_id FROM group_lists WHERE user_id = $1 AND list = $2 ORDER BY group_id")
        .bind(user_id)
        .bind(kind.as_str())
        .fetch_all(conn)
        .await?)
}
