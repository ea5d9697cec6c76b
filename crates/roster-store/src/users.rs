//! The `users` table.

use roster_domain::{Email, User, UserStatus, Username};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use std::collections::{BTreeMap, HashMap};

use crate::params::Params;
use crate::{col, like_pattern, Page, StoreError, WriteTx};

pub(crate) const COLUMNS: &str = "id, username, email, first_name, last_name, status, language, timezone, \
                       branch_id, fields, created_at, updated_at, last_login_at";

/// What a list of users is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Text searched in usernames, emails and names.
    pub q: Option<String>,
    /// An exact username (any case).
    pub username: Option<String>,
    /// Only users in one of these branches.
    pub branch_ids: Option<Vec<i64>>,
    /// Only users with this status.
    pub status: Option<UserStatus>,
    /// Only users with an id above this one (the cursor).
    pub after: Option<i64>,
    /// At most this many users.
    pub limit: usize,
}

/// The text a `q` search looks in: lower-cased username, email and names.
pub fn search_text(u: &User) -> String {
    [Some(u.username.as_str()), Some(u.email.as_str()), u.first_name.as_deref(), u.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Reads one row of [`COLUMNS`].
pub fn from_row(row: &AnyRow) -> Result<User, StoreError> {
    let status: String = col(row, "status")?;
    let fields: String = col(row, "fields")?;
    let fields: BTreeMap<String, serde_json::Value> = serde_json::from_str(&fields)?;
    Ok(User {
        id: col(row, "id")?,
        username: Username::stored(col(row, "username")?),
        email: Email::stored(col(row, "email")?),
        first_name: col(row, "first_name")?,
        last_name: col(row, "last_name")?,
        status: UserStatus::parse("status", &status).map_err(|e| StoreError::Corrupt(e.message))?,
        language: col(row, "language")?,
        timezone: col(row, "timezone")?,
        branch_id: col(row, "branch_id")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        last_login_at: col(row, "last_login_at")?,
        fields,
    })
}

/// Inserts a user (its `id` is ignored) and returns the new id: a batch of one for
/// [`insert_many`], whose statement names the columns once for both.
pub async fn insert(tx: &mut WriteTx, u: &User) -> Result<i64, StoreError> {
    let ids = insert_many(tx, std::slice::from_ref(u)).await?;
    ids.first().copied().ok_or_else(|| StoreError::Corrupt("an INSERT of one user returned no id".into()))
}

/// How many rows one multi-row INSERT carries (15,000 parameters, below both dialects'
/// limits). An import's batches are this size, so that each is one statement, which the
/// database runs while the image takes the batch before.
pub const INSERT_ROWS: usize = 1000;

/// Inserts many users in multi-row statements and returns their ids in order. The
/// fast path for imports and the demo generator.
pub async fn insert_many(tx: &mut WriteTx, users: &[User]) -> Result<Vec<i64>, StoreError> {
    let conn: &mut AnyConnection = tx;
    let mut ids = Vec::with_capacity(users.len());
    for chunk in users.chunks(INSERT_ROWS) {
        let mut p = Params::new(conn);
        let sql = format!(
            "{} INTO users (username, username_key, email, email_key, first_name, last_name, status, \
             language, timezone, branch_id, fields, search, created_at, updated_at, last_login_at) VALUES {} RETURNING id",
            p.insert_new(),
            p.rows(chunk.len(), 15)
        );
        let mut q = sqlx::query_scalar::<_, i64>(crate::built(sql));
        for u in chunk {
            q = q
                .bind(u.username.as_str())
                .bind(u.username.key())
                .bind(u.email.as_str())
                .bind(u.email.key())
                .bind(&u.first_name)
                .bind(&u.last_name)
                .bind(u.status.as_str())
                .bind(&u.language)
                .bind(&u.timezone)
                .bind(u.branch_id)
                .bind(serde_json::to_string(&u.fields)?)
                .bind(search_text(u))
                .bind(u.created_at)
                .bind(u.updated_at)
                .bind(u.last_login_at);
        }
        let mut chunk_ids = q.fetch_all(&mut *conn).await?;
        chunk_ids.sort_unstable();
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

/// Writes every column of an existing user.
///
/// On SQLite, in two statements: an `UPDATE` maintains every index on a column it
/// sets, even to the same value, and the indexed columns (username, email, status,
/// branch) seldom change. Setting them only when one of them changed spares four index
/// entries deleted and written again at random places: 9,950 updates of a 1M-user
/// database took 1.1–3.1 s setting every column, 61–68 ms setting the others.
/// PostgreSQL compares the values itself (an update that changes no indexed value
/// touches no index), so one statement there.
pub async fn update(tx: &mut WriteTx, u: &User) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    let done = if conn.backend_name() == "SQLite" {
        let done = sqlx::query(
            "UPDATE users SET first_name = $1, last_name = $2, language = $3, timezone = $4, fields = $5, \
             search = $6, updated_at = $7, last_login_at = $8 WHERE id = $9",
        )
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.language)
        .bind(&u.timezone)
        .bind(serde_json::to_string(&u.fields)?)
        .bind(search_text(u))
        .bind(u.updated_at)
        .bind(u.last_login_at)
        .bind(u.id)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE users SET username = $1, username_key = $2, email = $3, email_key = $4, status = $5, \
             branch_id = $6 WHERE id = $7 AND NOT (username IS $1 AND username_key IS $2 AND email IS $3 \
             AND email_key IS $4 AND status IS $5 AND branch_id IS $6)",
        )
        .bind(u.username.as_str())
        .bind(u.username.key())
        .bind(u.email.as_str())
        .bind(u.email.key())
        .bind(u.status.as_str())
        .bind(u.branch_id)
        .bind(u.id)
        .execute(conn)
        .await?;
        done
    } else {
        sqlx::query(
            "UPDATE users SET username = $1, username_key = $2, email = $3, email_key = $4, first_name = $5, \
             last_name = $6, status = $7, language = $8, timezone = $9, branch_id = $10, fields = $11, \
             search = $12, updated_at = $13, last_login_at = $14 WHERE id = $15",
        )
        .bind(u.username.as_str())
        .bind(u.username.key())
        .bind(u.email.as_str())
        .bind(u.email.key())
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(u.status.as_str())
        .bind(&u.language)
        .bind(&u.timezone)
        .bind(u.branch_id)
        .bind(serde_json::to_string(&u.fields)?)
        .bind(search_text(u))
        .bind(u.updated_at)
        .bind(u.last_login_at)
        .bind(u.id)
        .execute(conn)
        .await?
    };
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a user; its memberships and enrollments go with it (neither has a foreign
/// key: they slowed every bulk insert).
pub async fn delete(tx: &mut WriteTx, id: i64) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("DELETE FROM memberships WHERE user_id = $1").bind(id).execute(conn).await?;
    crate::enrollments::delete_of_user(tx, id).await?;
    let conn: &mut AnyConnection = tx;
    let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(conn).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// One user by id.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<User>, StoreError> {
    let row = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM users WHERE id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The usernames of these users, by id: one statement for a preview's samples, not a
/// read per user. Ids of users that do not exist are left out.
pub async fn usernames(conn: &mut AnyConnection, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut p = Params::new(conn);
    let sql = format!("SELECT id, username FROM users WHERE id IN {}", p.id_table());
    let rows: Vec<(i64, String)> = sqlx::query_as(crate::built(sql)).bind(p.ids(ids)).fetch_all(conn).await?;
    Ok(rows.into_iter().collect())
}

/// One user by username, in any case.
pub async fn get_by_username(conn: &mut AnyConnection, username: &str) -> Result<Option<User>, StoreError> {
    let row = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM users WHERE username_key = $1")))
        .bind(Username::fold(username))
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The ids of the users with this email (any case); emails need not be unique.
pub async fn ids_by_email(conn: &mut AnyConnection, email: &str) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM users WHERE email_key = $1 ORDER BY id")
        .bind(Email::fold(email))
        .fetch_all(conn)
        .await?)
}

/// A page of users in id order.
pub async fn list(conn: &mut AnyConnection, query: &UserQuery) -> Result<Page<User>, StoreError> {
    if matches!(&query.branch_ids, Some(ids) if ids.is_empty()) {
        return Ok(Page { items: vec![], next: None });
    }
    let mut p = Params::new(conn);
    let mut sql = format!("SELECT {COLUMNS} FROM users WHERE id > {}", p.next());
    if query.q.is_some() {
        sql.push_str(&format!(" AND search LIKE {} ESCAPE '\\'", p.next()));
    }
    if query.username.is_some() {
        sql.push_str(&format!(" AND username_key = {}", p.next()));
    }
    if query.status.is_some() {
        sql.push_str(&format!(" AND status = {}", p.next()));
    }
    if let Some(ids) = &query.branch_ids {
        sql.push_str(&format!(" AND branch_id IN ({})", p.list(ids.len())));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {}", p.next()));
    let mut q = sqlx::query(crate::built(sql)).bind(query.after.unwrap_or(0));
    if let Some(text) = &query.q {
        q = q.bind(like_pattern(text));
    }
    if let Some(u) = &query.username {
        q = q.bind(Username::fold(u));
    }
    if let Some(s) = query.status {
        q = q.bind(s.as_str());
    }
    for id in query.branch_ids.iter().flatten() {
        q = q.bind(*id);
    }
    q = q.bind((query.limit + 1) as i64);
    let rows = q.fetch_all(conn).await?;
    let users = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(users, query.limit, |u| u.id))
}

/// `FROM users WHERE ...` for the filters of `query` (not its cursor or limit), with its
/// values to bind in order.
fn filtered(p: &mut Params, query: &UserQuery) -> (String, Vec<FilterValue>) {
    let mut sql = String::from(" FROM users WHERE 1 = 1");
    let mut values = Vec::new();
    if let Some(text) = &query.q {
        sql.push_str(&format!(" AND search LIKE {} ESCAPE '\\'", p.next()));
        values.push(FilterValue::Text(like_pattern(text)));
    }
    if let Some(u) = &query.username {
        sql.push_str(&format!(" AND username_key = {}", p.next()));
        values.push(FilterValue::Text(Username::fold(u)));
    }
    if let Some(s) = query.status {
        sql.push_str(&format!(" AND status = {}", p.next()));
        values.push(FilterValue::Text(s.as_str().to_owned()));
    }
    if let Some(ids) = &query.branch_ids {
        sql.push_str(&format!(" AND branch_id IN ({})", p.list(ids.len())));
        values.extend(ids.iter().map(|id| FilterValue::Id(*id)));
    }
    (sql, values)
}

/// A value bound to a filter of [`filtered`].
enum FilterValue {
    Text(String),
    Id(i64),
}

/// An `i64` answered by `SELECT what FROM users WHERE <the filters of query> tail`,
/// with `extra` bound after the filters' values.
async fn filtered_scalar(
    conn: &mut AnyConnection,
    query: &UserQuery,
    what: &str,
    tail: impl FnOnce(&mut Params) -> String,
    extra: &[i64],
) -> Result<Option<i64>, StoreError> {
    if matches!(&query.branch_ids, Some(ids) if ids.is_empty()) {
        return Ok(None);
    }
    let mut p = Params::new(conn);
    let (from, values) = filtered(&mut p, query);
    let sql = format!("SELECT {what}{from}{}", tail(&mut p));
    let mut q = sqlx::query_scalar(crate::built(sql));
    for value in values {
        q = match value {
            FilterValue::Text(t) => q.bind(t),
            FilterValue::Id(id) => q.bind(id),
        };
    }
    for value in extra {
        q = q.bind(*value);
    }
    Ok(q.fetch_optional(conn).await?)
}

/// How many users `query`'s filters match (its cursor and limit aside).
pub async fn count_matching(conn: &mut AnyConnection, query: &UserQuery) -> Result<i64, StoreError> {
    Ok(filtered_scalar(conn, query, "COUNT(*)", |_| String::new(), &[]).await?.unwrap_or(0))
}

/// The id of the user at `offset` (0-based, by id) among those `query`'s filters match:
/// where a page that starts after it begins.
pub async fn id_at(conn: &mut AnyConnection, query: &UserQuery, offset: u64) -> Result<Option<i64>, StoreError> {
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    filtered_scalar(conn, query, "id", |p| format!(" ORDER BY id LIMIT 1 OFFSET {}", p.next()), &[offset]).await
}

/// How many users there are.
pub async fn count(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(conn).await?)
}

/// How many users belong to one of these branches.
pub async fn count_in_branches(conn: &mut AnyConnection, branch_ids: &[i64]) -> Result<i64, StoreError> {
    if branch_ids.is_empty() {
        return Ok(0);
    }
    let sql = format!("SELECT COUNT(*) FROM users WHERE branch_id IN ({})", Params::new(conn).list(branch_ids.len()));
    let mut q = sqlx::query_scalar(crate::built(sql));
    for id in branch_ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_one(conn).await?)
}

/// The ids of the users in these branches, in order.
pub async fn ids_in_branches(conn: &mut AnyConnection, branch_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    if branch_ids.is_empty() {
        return Ok(vec![]);
    }
    let sql =
        format!("SELECT id FROM users WHERE branch_id IN ({}) ORDER BY id", Params::new(conn).list(branch_ids.len()));
    let mut q = sqlx::query_scalar(crate::built(sql));
    for id in branch_ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(conn).await?)
}

/// Whether any user has a value for the additional field `code`.
pub async fn any_with_field(conn: &mut AnyConnection, code: &str) -> Result<bool, StoreError> {
    // Field codes are slugs ([A-Za-z0-9_.-]), so the quoted key cannot break the pattern.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE fields LIKE $1")
        .bind(format!("%\"{code}\":%"))
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// Removes the additional field `code` from every user who has a value for it.
pub async fn drop_field(tx: &mut WriteTx, code: &str) -> Result<u64, StoreError> {
    let conn: &mut AnyConnection = tx;
    let rows = sqlx::query(crate::built(format!("SELECT {COLUMNS} FROM users WHERE fields LIKE $1")))
        .bind(format!("%\"{code}\":%"))
        .fetch_all(&mut *conn)
        .await?;
    let mut n = 0;
    for row in &rows {
        let mut u = from_row(row)?;
        if u.fields.remove(code).is_some() {
            sqlx::query("UPDATE users SET fields = $1 WHERE id = $2")
                .bind(serde_json::to_string(&u.fields)?)
                .bind(u.id)
                .execute(&mut *conn)
                .await?;
            n += 1;
        }
    }
    Ok(n)
}

/// A stored password hash, by username.
pub async fn password_hash(conn: &mut AnyConnection, id: i64) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .flatten())
}

/// Sets (or clears) a user's password hash.
pub async fn set_password_hash(tx: &mut WriteTx, id: i64, hash: Option<&str>) -> Result<(), StoreError> {
    let conn: &mut AnyConnection = tx;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash).bind(id).execute(conn).await?;
    Ok(())
}

/// How many users' stored field values contain `pattern` (a `LIKE` pattern).
pub async fn count_fields_like(conn: &mut AnyConnection, pattern: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE fields LIKE $1").bind(pattern).fetch_one(conn).await?)
}

/// A user found by a key: id and branch, for lookups in bulk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The user's id.
    pub id: i64,
    /// The user's branch.
    pub branch_id: Option<i64>,
}

/// Looks up many users at once by lower-cased username or email (`column` is
/// `username_key` or `email_key`); returns (key, user) pairs.
pub async fn find_by_keys(
    conn: &mut AnyConnection,
    column: KeyColumn,
    keys: &[String],
) -> Result<Vec<(String, Found)>, StoreError> {
    let column = match column {
        KeyColumn::Username => "username_key",
        KeyColumn::Email => "email_key",
    };
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql =
            format!("SELECT {column} AS k, id, branch_id FROM users WHERE {column} IN ({})", placeholders.join(","));
        let mut q = sqlx::query(crate::built(sql));
        for k in chunk {
            q = q.bind(k);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push((col(&row, "k")?, Found { id: col(&row, "id")?, branch_id: col(&row, "branch_id")? }));
        }
    }
    Ok(out)
}

/// Which unique-ish key a lookup uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyColumn {
    /// Usernames (unique).
    Username,
    /// Emails (usually unique, not always).
    Email,
}

/// The branches of these users, for scope checks: (id, branch).
pub async fn branches_of(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<Found>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!("SELECT id, branch_id FROM users WHERE id IN ({})", Params::new(conn).list(chunk.len()));
        let mut q = sqlx::query(crate::built(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(Found { id: col(&row, "id")?, branch_id: col(&row, "branch_id")? });
        }
    }
    Ok(out)
}

/// Users with ids above `after`, in id order, at most `limit`: for loading everyone.
pub async fn batch(conn: &mut AnyConnection, after: i64, limit: i64) -> Result<Vec<User>, StoreError> {
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        BTreeMap<String, serde_json::Value>,
        i64,
        i64,
        Option<i64>,
    );
    let columns = COLUMNS.split(',').map(str::trim).map(|c| (c, c == "fields")).collect::<Vec<_>>();
    let from = format!("(SELECT {COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2) AS t");
    let rows: Vec<Row> = crate::params::json_rows(conn, &columns, &from, "id", &[after, limit]).await?;
    rows.into_iter()
        .map(|r| {
            Ok(User {
                id: r.0,
                username: Username::stored(r.1),
                email: Email::stored(r.2),
                first_name: r.3,
                last_name: r.4,
                status: UserStatus::parse("status", &r.5).map_err(|e| StoreError::Corrupt(e.message))?,
                language: r.6,
                timezone: r.7,
                branch_id: r.8,
                fields: r.9,
                created_at: r.10,
                updated_at: r.11,
                last_login_at: r.12,
            })
        })
        .collect()
}
