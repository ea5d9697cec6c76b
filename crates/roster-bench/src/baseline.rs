//! The benchmark's baseline (DESIGN §8): every automatic group's rule translated into one
//! SQL query and run on the same database, one group after another — the way learning
//! platforms evaluate cron-driven dynamic cohorts.
//!
//! It queries one of two [`Schema`]s:
//! - [`Schema::Indexed`], the strongest SQL a peer would write and the one DESIGN §8's
//!   ratio is against: additional fields in a field-value table, `baseline_field_values`
//!   (the shape of Moodle's `user_info_data`: one row per user and field, the value as
//!   text, its lower-case key and its number), indexed by (field, value) and by user;
//!   enrollments indexed by (course, status) and by (course, date); statistics gathered
//!   (`ANALYZE`). [`create_indexed_tables`] builds these in the bench's database from
//!   Roster's tables and [`drop_indexed_tables`] removes them. Each condition over another
//!   table is an uncorrelated `u.id IN (SELECT ...)` that the planner answers from an
//!   index once per query, and the include and exclude lists are a `UNION` and an
//!   `EXCEPT`.
//! - [`Schema::Json`], Roster's own tables as they are: additional fields parsed from the
//!   JSON text `users.fields` row by row, every condition a test on the user's row
//!   (correlated `EXISTS`). No peer would store fields this way; it is kept to compare
//!   with earlier runs.
//!
//! - [`rule_sql`] turns a checked [`Rule`] into a boolean SQL expression over `users u`
//!   for SQLite or PostgreSQL ([`Dialect`]); [`group_sql`] wraps it into the group's
//!   whole query: include and exclude lists (`group_lists`), and the suspended switch.
//! - [`run`] opens its own native connection (not the app's `Any` pool: SQLite needs the
//!   `regexp` function that sqlx's `regexp` feature registers), evaluates the groups in
//!   dependency order ([`dependency_order`]) and times each query, fetching the ids
//!   included. [`load_groups`] reads the automatic groups from the `groups` table.
//!
//! # How the language becomes SQL
//!
//! Every leaf is made non-NULL before `not` sees it: a positive comparison is
//! `COALESCE(..., FALSE)` (a missing value compares false), or an `IN (SELECT ...)` that
//! is never NULL, and each negated operator is `NOT` of its positive form, so `!=`,
//! `not in`, `not under`... hold for a missing value, as the engine has it. An empty text
//! is missing (`NULLIF(..., '')`; the field-value table holds no empty text).
//!
//! - Text: `lower()` on both sides (the field-value table stores the lower-case key);
//!   `contains`/`starts with`/`ends with` are `LIKE` with `%`, `_` and `\` escaped
//!   (`ESCAPE '\'`); `matches` is `REGEXP '(?i)...'` on SQLite (the Rust regex crate, as
//!   the engine) and `~*` on PostgreSQL. The key column collates as `NOCASE` on SQLite and
//!   `"C"` on PostgreSQL, so that a `starts with` is a range of its index.
//! - Additional fields, in the JSON schema, are read from `users.fields` by code, and a
//!   value of the wrong JSON type is missing (`json_type` on SQLite, `jsonb_typeof` on
//!   PostgreSQL, checked before any cast); the field-value table is built with the same
//!   tests. Date fields (`"YYYY-MM-DD"`) compare as strings.
//! - Times (`created_at`, `last_login_at`, enrollment dates) compare by calendar day in
//!   the platform's time zone through millisecond bounds: each date becomes the instant
//!   its day starts in that zone, computed here, so no row goes through a date function.
//!   Relative dates are resolved against the `today` given to [`SqlContext`].
//! - `course("X")` looks for the enrollment row; `not_enrolled` is the absence of one.
//!   Course and branch codes are matched case-insensitively.
//! - `branch under "X"` runs a `WITH RECURSIVE` over `branches` in the query itself.
//! - `member_of(G)` reads a scratch `TEMP` table, `baseline_members`, on the run's one
//!   connection: filled with the stored members of referenced groups that are not
//!   evaluated (manual groups) before the first query, and with each evaluated group's
//!   result before its dependents run.
//!
//! # Where SQL can differ from the engine
//!
//! The benchmark keeps to values where these agree:
//! - SQLite's `lower()` folds ASCII letters only (`É` stays `É`; the engine folds every
//!   character); PostgreSQL's follows the database's `LC_CTYPE`. Neither folds a needle
//!   with upper-case non-ASCII letters as Rust's `char::to_lowercase` does in every case.
//! - PostgreSQL's regular expressions are POSIX "advanced" ones, not Rust's: `\b` is a
//!   backspace there, `\y` a word boundary; classes and Unicode handling differ.
//! - A date field's stored string is trusted to be a valid `YYYY-MM-DD` (the app writes
//!   nothing else). A relative date beyond year 9999 or before year 0 compares as above
//!   or below every stored date.
//! - Day bounds assume the zone's local date never runs backwards across midnight (a
//!   clock turned back from after midnight to before it); no current zone does that.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta, TimeZone};
use chrono_tz::Tz;
use roster_domain::rule::{Comparison, Condition, CourseStatus, Op, Rule, Subject, Value};
use roster_domain::{FieldType, UserStatus};
use roster_store::StoreError;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use roster_app::{AppError, AppResult};

/// How many ids one `INSERT` into the scratch table carries.
const INSERT_BATCH: usize = 1000;

/// Which SQL the translation writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, with the `regexp` function registered.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL (`sqlite://...`, `postgres://...`).
    pub fn of_url(url: &str) -> AppResult<Dialect> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            Err(AppError::invalid("database_url", "the database URL must start with sqlite:// or postgres://"))
        }
    }
}

/// Which tables the baseline's queries read (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Additional fields in the indexed field-value table `baseline_field_values`,
    /// enrollments indexed by course, statistics gathered: what a peer would query.
    Indexed,
    /// Additional fields parsed from the JSON text `users.fields`, row by row.
    Json,
}

/// An additional field, as the SQL reads it.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// Its id: the field of its rows in `baseline_field_values`.
    pub id: i64,
    /// Its type (`is empty` and the value column depend on it).
    pub field_type: FieldType,
}

/// What a rule's SQL depends on besides the rule.
#[derive(Debug, Clone)]
pub struct SqlContext {
    /// The SQL written.
    pub dialect: Dialect,
    /// The tables read.
    pub schema: Schema,
    /// The platform's time zone: where a calendar day starts.
    pub timezone: Tz,
    /// The day relative dates are resolved against.
    pub today: NaiveDate,
    /// Every additional field, by code.
    pub fields: HashMap<String, FieldInfo>,
}

/// An automatic group as the baseline evaluates it.
#[derive(Debug, Clone)]
pub struct BaselineGroup {
    /// The group's id.
    pub id: i64,
    /// The checked rule; `None` for a group without one, which matches nobody.
    pub rule: Option<Rule>,
    /// Whether suspended users who match the rule are members.
    pub allow_suspended: bool,
}

/// One group's result.
#[derive(Debug, Clone)]
pub struct GroupRun {
    /// The group's id.
    pub id: i64,
    /// Its members' ids, ascending.
    pub members: Vec<i64>,
    /// How long its query took, fetching the ids included.
    pub elapsed: Duration,
    /// The query.
    pub sql: String,
}

/// The result of a whole run.
#[derive(Debug, Clone)]
pub struct BaselineRun {
    /// Each group's result, in the order the groups were given.
    pub groups: Vec<GroupRun>,
    /// The sum of the groups' query times.
    pub queries: Duration,
    /// The whole run: connecting, the scratch table, every query.
    pub total: Duration,
}

/// The indexed schema's tables and indexes, as [`create_indexed_tables`] built them.
#[derive(Debug, Clone)]
pub struct IndexedTables {
    /// Rows of `baseline_field_values`.
    pub field_values: u64,
    /// The time the tables, the indexes and the statistics took.
    pub elapsed: Duration,
}

fn corrupt(message: String) -> AppError {
    AppError::invariant(format!("baseline: {message}"))
}

/// The first `n` columns of every row, as optional text.
fn cells<R>(rows: &[R], n: usize) -> AppResult<Vec<Vec<Option<String>>>>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|row| (0..n).map(|i| row.try_get(i)).collect::<Result<Vec<_>, _>>())
        .collect::<Result<_, _>>()
        .map_err(database)
}

fn database(e: sqlx::Error) -> AppError {
    AppError::Internal(roster_app::Internal::Store(StoreError::Database(e)))
}

/// A string literal.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Text matched literally by `LIKE ... ESCAPE '\'`.
fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// The instant (epoch milliseconds) the day `day` starts in `tz`: local midnight, or the
/// end of a gap that swallows it.
pub fn day_start(tz: Tz, day: NaiveDate) -> Option<i64> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    (0..=24 * 60).find_map(|minute| {
        let local = midnight.checked_add_signed(TimeDelta::minutes(minute))?;
        tz.from_local_datetime(&local).earliest().map(|t| t.timestamp_millis())
    })
}

/// A date value on the day `today`; `None` outside the calendar (no date satisfies it).
fn resolve(value: Option<&Value>, today: NaiveDate) -> Option<NaiveDate> {
    match value? {
        Value::Date(d) => Some(*d),
        Value::Relative(r) => r.on(today),
        _ => None,
    }
}

/// What a subject's values are, as SQL reads them.
enum Source {
    /// Text, NULL when missing: `raw` as stored, `key` its lower-case form.
    Text {
        raw: String,
        key: String,
    },
    /// A number, NULL when missing.
    Number(String),
    /// A `YYYY-MM-DD` string, NULL when missing.
    DayText(String),
    /// Epoch milliseconds, NULL when missing.
    Instant(String),
    /// An enrollment's time column in a course (a subquery for the course's id).
    Enrollment {
        course: String,
        column: &'static str,
    },
    /// `'true'` or `'false'`, NULL when missing.
    YesNo(String),
    Status,
    Branch,
    /// A course (a subquery for its id).
    Course(String),
    /// An additional field's row in `baseline_field_values f`: `value` reads its columns.
    FieldRow {
        id: i64,
        value: Box<Source>,
    },
}

impl Source {
    /// Text read from a column of `users u`.
    fn user_text(column: &str) -> Source {
        let raw = format!("NULLIF(u.{column}, '')");
        Source::Text { key: format!("lower({raw})"), raw }
    }
}

/// A comparison's bounds in milliseconds: `lo <= t < hi`, either open.
type Window = (Option<i64>, Option<i64>);

impl SqlContext {
    /// The context for `dialect` and `schema`, with the additional fields by code.
    pub fn new(
        dialect: Dialect,
        schema: Schema,
        timezone: Tz,
        today: NaiveDate,
        fields: impl IntoIterator<Item = (String, FieldInfo)>,
    ) -> Self {
        Self { dialect, schema, timezone, today, fields: fields.into_iter().collect() }
    }

    /// Whether some row of `from` names the user, `user` being its user column and
    /// `conditions` the row's other conditions. Never NULL.
    fn has_row(&self, from: &str, user: &str, conditions: &str) -> String {
        match self.schema {
            Schema::Json => format!("EXISTS (SELECT 1 FROM {from} WHERE {user} = u.id AND {conditions})"),
            // Uncorrelated: the planner reads the rows once, from an index, and probes
            // the set (PostgreSQL's hashed subplan or semi-join, SQLite's ephemeral index).
            Schema::Indexed => format!("(u.id IN (SELECT {user} FROM {from} WHERE {conditions}))"),
        }
    }

    /// An additional field's value read from `users.fields`, NULL when missing or of
    /// the wrong JSON type.
    fn json_field(&self, code: &str, field_type: FieldType) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let path = quoted(&format!("$.\"{code}\""));
                let (types, value) = match field_type {
                    FieldType::Text | FieldType::Dropdown | FieldType::Date => ("'text'", "json_extract"),
                    FieldType::Number => ("'integer', 'real'", "json_extract"),
                    // The JSON type's name is the value: 'true' or 'false'.
                    FieldType::YesNo => ("'true', 'false'", "json_type"),
                };
                format!("(CASE WHEN json_type(u.fields, {path}) IN ({types}) THEN {value}(u.fields, {path}) END)")
            }
            Dialect::Postgres => {
                let key = quoted(code);
                let text = format!("(u.fields::jsonb ->> {key})");
                let (json_type, value) = match field_type {
                    FieldType::Text | FieldType::Dropdown | FieldType::Date => ("string", text),
                    FieldType::Number => ("number", format!("CAST({text} AS double precision)")),
                    FieldType::YesNo => ("boolean", text),
                };
                format!("(CASE WHEN jsonb_typeof(u.fields::jsonb -> {key}) = '{json_type}' THEN {value} END)")
            }
        }
    }

    fn source(&self, subject: &Subject) -> AppResult<Source> {
        let course = |code: &str| format!("(SELECT c.id FROM courses c WHERE lower(c.code) = lower({}))", quoted(code));
        Ok(match subject {
            Subject::Username => Source::user_text("username"),
            Subject::Email => Source::user_text("email"),
            Subject::FirstName => Source::user_text("first_name"),
            Subject::LastName => Source::user_text("last_name"),
            Subject::Language => Source::user_text("language"),
            Subject::Timezone => Source::user_text("timezone"),
            Subject::Status => Source::Status,
            Subject::CreatedAt => Source::Instant("u.created_at".into()),
            Subject::LastLoginAt => Source::Instant("u.last_login_at".into()),
            Subject::Branch => Source::Branch,
            Subject::Field { field } => {
                let Some(&FieldInfo { id, field_type }) = self.fields.get(field) else {
                    return Err(corrupt(format!("unknown field \"{field}\"")));
                };
                match self.schema {
                    Schema::Json => {
                        let value = self.json_field(field, field_type);
                        match field_type {
                            FieldType::Text | FieldType::Dropdown => {
                                let raw = format!("NULLIF({value}, '')");
                                Source::Text { key: format!("lower({raw})"), raw }
                            }
                            FieldType::Number => Source::Number(value),
                            FieldType::Date => Source::DayText(value),
                            FieldType::YesNo => Source::YesNo(value),
                        }
                    }
                    Schema::Indexed => {
                        let value = match field_type {
                            FieldType::Text | FieldType::Dropdown => {
                                Source::Text { raw: "f.value".into(), key: "f.value_key".into() }
                            }
                            FieldType::Number => Source::Number("f.num_value".into()),
                            FieldType::Date => Source::DayText("f.value_key".into()),
                            FieldType::YesNo => Source::YesNo("f.value_key".into()),
                        };
                        Source::FieldRow { id, value: Box::new(value) }
                    }
                }
            }
            Subject::Course { course: code } => Source::Course(course(code)),
            Subject::CourseEnrolledAt { course: code } => {
                Source::Enrollment { course: course(code), column: "enrolled_at" }
            }
            Subject::CourseCompletedAt { course: code } => {
                Source::Enrollment { course: course(code), column: "completed_at" }
            }
        })
    }

    fn number(&self, value: Option<&Value>) -> AppResult<String> {
        match value {
            Some(Value::Number(n)) if n.is_finite() => Ok(match self.dialect {
                Dialect::Sqlite => format!("{n:?}"),
                Dialect::Postgres => format!("CAST('{n:?}' AS double precision)"),
            }),
            other => Err(corrupt(format!("{other:?} is not a finite number"))),
        }
    }

    /// A date as the string a date field stores, or one sorting below or above them all.
    fn day_text(&self, day: NaiveDate) -> String {
        use chrono::Datelike;
        match day.year() {
            ..0 => quoted(" "),
            10_000.. => quoted("~"),
            _ => quoted(&day.format("%Y-%m-%d").to_string()),
        }
    }

    /// The millisecond window of a date comparison; `None` when no time satisfies it.
    fn window(&self, op: Op, values: &[Value]) -> Option<Window> {
        let start = |day: NaiveDate| day_start(self.timezone, day);
        let after = |day: NaiveDate| day.succ_opt().and_then(start);
        let first = resolve(values.first(), self.today)?;
        Some(match op {
            Op::Eq => (Some(start(first)?), Some(after(first)?)),
            Op::Lt => (None, Some(start(first)?)),
            Op::Le => (None, Some(after(first)?)),
            Op::Gt => (Some(after(first)?), None),
            Op::Ge => (Some(start(first)?), None),
            Op::Between => (Some(start(first)?), Some(after(resolve(values.get(1), self.today)?)?)),
            _ => return None,
        })
    }

    /// The day-string range of a date comparison on a date field.
    fn day_text_range(&self, column: &str, op: Op, values: &[Value]) -> Option<String> {
        let first = self.day_text(resolve(values.first(), self.today)?);
        Some(match op {
            Op::Eq => format!("{column} = {first}"),
            Op::Lt => format!("{column} < {first}"),
            Op::Le => format!("{column} <= {first}"),
            Op::Gt => format!("{column} > {first}"),
            Op::Ge => format!("{column} >= {first}"),
            Op::Between => {
                let last = self.day_text(resolve(values.get(1), self.today)?);
                format!("{column} >= {first} AND {column} <= {last}")
            }
            _ => return None,
        })
    }

    fn texts(&self, values: &[Value]) -> AppResult<Vec<String>> {
        values
            .iter()
            .map(|v| match v {
                Value::Text(t) => Ok(t.clone()),
                other => Err(corrupt(format!("{other} is not text"))),
            })
            .collect()
    }

    /// A `LIKE` pattern, lower-cased as the key it is compared with.
    fn like_pattern(&self, pattern: &str) -> String {
        match (self.schema, self.dialect) {
            // SQLite's LIKE folds ASCII letters, as its `lower()` does; a bare literal
            // lets it read a `starts with` as a range of a NOCASE index.
            (Schema::Indexed, Dialect::Sqlite) => quoted(pattern),
            _ => format!("lower({})", quoted(pattern)),
        }
    }

    /// A text comparison (positive) of `raw` and its lower-case `key`, NULL when the
    /// value is missing.
    fn text(&self, raw: &str, key: &str, op: Op, values: &[Value]) -> AppResult<String> {
        let texts = self.texts(values)?;
        let one = texts.first().cloned().unwrap_or_default();
        let like = |pattern: String| format!("{key} LIKE {} ESCAPE '\\'", self.like_pattern(&pattern));
        Ok(match op {
            Op::Eq | Op::In => {
                format!("{key} IN ({})", list(texts.iter().map(|t| format!("lower({})", quoted(t)))))
            }
            Op::Contains => like(format!("%{}%", like_escaped(&one))),
            Op::StartsWith => like(format!("{}%", like_escaped(&one))),
            Op::EndsWith => like(format!("%{}", like_escaped(&one))),
            Op::Matches => match self.dialect {
                Dialect::Sqlite => format!("{raw} REGEXP {}", quoted(&format!("(?i){one}"))),
                Dialect::Postgres => format!("{raw} ~* {}", quoted(&one)),
            },
            other => return Err(corrupt(format!("\"{other}\" does not apply to text"))),
        })
    }

    /// The positive form of a comparison other than `is empty`; `None` when it holds for
    /// nobody. May be NULL when the value is missing.
    fn positive(&self, source: &Source, op: Op, values: &[Value]) -> AppResult<Option<String>> {
        let wrong = || corrupt(format!("\"{op}\" does not apply to its subject"));
        Ok(Some(match source {
            Source::Text { raw, key } => self.text(raw, key, op, values)?,
            Source::FieldRow { id, value } => match self.positive(value, op, values)? {
                Some(holds) => {
                    self.has_row("baseline_field_values f", "f.user_id", &format!("f.field_id = {id} AND {holds}"))
                }
                None => return Ok(None),
            },
            Source::Number(column) => match op {
                Op::Eq | Op::In => {
                    format!(
                        "{column} IN ({})",
                        list(values.iter().map(|v| self.number(Some(v))).collect::<AppResult<Vec<_>>>()?)
                    )
                }
                Op::Lt => format!("{column} < {}", self.number(values.first())?),
                Op::Le => format!("{column} <= {}", self.number(values.first())?),
                Op::Gt => format!("{column} > {}", self.number(values.first())?),
                Op::Ge => format!("{column} >= {}", self.number(values.first())?),
                Op::Between => {
                    format!("{column} BETWEEN {} AND {}", self.number(values.first())?, self.number(values.get(1))?)
                }
                _ => return Err(wrong()),
            },
            Source::DayText(column) => match self.day_text_range(column, op, values) {
                Some(sql) => sql,
                None => return Ok(None),
            },
            Source::Instant(column) => match self.window(op, values) {
                Some(window) => within(column, window),
                None => return Ok(None),
            },
            Source::Enrollment { course, column } => match self.window(op, values) {
                Some(window) => self.has_row(
                    "enrollments e",
                    "e.user_id",
                    &format!("e.course_id = {course} AND {}", within(&format!("e.{column}"), window)),
                ),
                None => return Ok(None),
            },
            Source::YesNo(column) => match (op, values.first()) {
                (Op::Eq, Some(Value::YesNo(yes))) => format!("{column} = '{yes}'"),
                _ => return Err(wrong()),
            },
            Source::Status => {
                let statuses = values
                    .iter()
                    .map(|v| match v {
                        Value::Status(s) => Ok(quoted(s.as_str())),
                        _ => Err(wrong()),
                    })
                    .collect::<AppResult<Vec<_>>>()?;
                format!("u.status IN ({})", list(statuses))
            }
            Source::Branch => {
                let codes = self.texts(values)?;
                let lowered = list(codes.iter().map(|c| format!("lower({})", quoted(c))));
                match (op, self.schema) {
                    (Op::Eq | Op::In, Schema::Json) => format!(
                        "EXISTS (SELECT 1 FROM branches b WHERE b.id = u.branch_id AND lower(b.code) IN ({lowered}))"
                    ),
                    (Op::Eq | Op::In, Schema::Indexed) => {
                        format!("u.branch_id IN (SELECT b.id FROM branches b WHERE lower(b.code) IN ({lowered}))")
                    }
                    (Op::Under, _) => format!(
                        "u.branch_id IN (WITH RECURSIVE below(id) AS (\
                         SELECT b.id FROM branches b WHERE lower(b.code) = lower({}) \
                         UNION ALL SELECT b.id FROM branches b JOIN below ON b.parent_id = below.id) \
                         SELECT id FROM below)",
                        quoted(codes.first().map(String::as_str).unwrap_or_default())
                    ),
                    _ => return Err(wrong()),
                }
            }
            Source::Course(course) => {
                let statuses = values
                    .iter()
                    .map(|v| match v {
                        Value::CourseStatus(s) => Ok(*s),
                        _ => Err(wrong()),
                    })
                    .collect::<AppResult<HashSet<_>>>()?;
                let enrolled: Vec<String> = CourseStatus::ALL
                    .into_iter()
                    .filter(|s| *s != CourseStatus::NotEnrolled && statuses.contains(s))
                    .map(|s| quoted(s.as_str()))
                    .collect();
                let row = |status: String| {
                    self.has_row("enrollments e", "e.user_id", &format!("e.course_id = {course}{status}"))
                };
                match (statuses.contains(&CourseStatus::NotEnrolled), enrolled.is_empty()) {
                    // Not enrolled, or enrolled in one of the statuses: no row outside them.
                    (true, true) => format!("NOT {}", row(String::new())),
                    (true, false) => format!("NOT {}", row(format!(" AND e.status NOT IN ({})", list(enrolled)))),
                    (false, _) => row(format!(" AND e.status IN ({})", list(enrolled))),
                }
            }
        }))
    }

    /// Whether the subject's value is missing; never NULL.
    fn missing(&self, source: &Source) -> AppResult<String> {
        Ok(match source {
            Source::Text { raw: column, .. }
            | Source::Number(column)
            | Source::DayText(column)
            | Source::Instant(column)
            | Source::YesNo(column) => format!("{column} IS NULL"),
            Source::Enrollment { course, column } => format!(
                "NOT {}",
                self.has_row(
                    "enrollments e",
                    "e.user_id",
                    &format!("e.course_id = {course} AND e.{column} IS NOT NULL")
                )
            ),
            Source::FieldRow { id, .. } => {
                format!("NOT {}", self.has_row("baseline_field_values f", "f.user_id", &format!("f.field_id = {id}")))
            }
            Source::Branch => "u.branch_id IS NULL".into(),
            Source::Status | Source::Course(_) => return Err(corrupt("\"is empty\" does not apply".into())),
        })
    }

    /// Whether the positive form of a comparison on `source` is an `IN (SELECT ...)`.
    fn is_set_test(&self, source: &Source) -> bool {
        self.schema == Schema::Indexed
            && matches!(source, Source::FieldRow { .. } | Source::Course(_) | Source::Enrollment { .. })
    }

    /// A comparison, never NULL.
    fn comparison(&self, cmp: &Comparison) -> AppResult<String> {
        let source = self.source(&cmp.subject)?;
        let positive = cmp.op.positive();
        let holds = if positive == Op::IsEmpty {
            self.missing(&source)?
        } else {
            match self.positive(&source, positive, &cmp.values)? {
                // A set membership test is never NULL, and left bare a planner can turn
                // it into a join.
                Some(sql) if self.is_set_test(&source) => sql,
                Some(sql) => format!("COALESCE({sql}, FALSE)"),
                None => "FALSE".into(),
            }
        };
        Ok(if cmp.op.is_negated() { format!("NOT ({holds})") } else { format!("({holds})") })
    }

    fn rule(&self, rule: &Rule) -> AppResult<String> {
        let join = |members: &[Rule], with: &str| -> AppResult<String> {
            let parts = members.iter().map(|m| self.rule(m)).collect::<AppResult<Vec<_>>>()?;
            Ok(format!("({})", parts.join(with)))
        };
        match rule {
            Rule::And(members) => join(members, " AND "),
            Rule::Or(members) => join(members, " OR "),
            Rule::Not(inner) => Ok(format!("NOT {}", self.rule(inner)?)),
            Rule::Condition(Condition::MemberOf(group)) => Ok(match group.id {
                Some(id) => self.has_row("baseline_members m", "m.user_id", &format!("m.group_id = {id}")),
                None => "FALSE".into(),
            }),
            Rule::Condition(Condition::Compare(cmp)) => self.comparison(cmp),
        }
    }
}

/// `lo <= column < hi`, either side open.
fn within(column: &str, (lo, hi): Window) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!("{column} >= {lo} AND {column} < {hi}"),
        (Some(lo), None) => format!("{column} >= {lo}"),
        (None, Some(hi)) => format!("{column} < {hi}"),
        (None, None) => format!("{column} IS NOT NULL"),
    }
}

/// A checked rule as a boolean SQL expression over `users u`, never NULL. `member_of`
/// reads the scratch table `baseline_members` that [`run`] keeps.
pub fn rule_sql(rule: &Rule, ctx: &SqlContext) -> AppResult<String> {
    ctx.rule(rule)
}

/// The whole query of one group: the ids of its members, ascending.
pub fn group_sql(group: &BaselineGroup, ctx: &SqlContext) -> AppResult<String> {
    let id = group.id;
    let rule = match &group.rule {
        Some(rule) => rule_sql(rule, ctx)?,
        None => "FALSE".into(),
    };
    let matched = if group.allow_suspended {
        rule
    } else {
        format!("u.status = {} AND {rule}", quoted(UserStatus::Active.as_str()))
    };
    Ok(match ctx.schema {
        Schema::Json => {
            let listed = |list: &str| {
                format!(
                    "EXISTS (SELECT 1 FROM group_lists l WHERE l.group_id = {id} AND l.list = '{list}' \
                     AND l.user_id = u.id)"
                )
            };
            format!(
                "SELECT u.id FROM users u\nWHERE NOT {}\n  AND ({}\n       OR ({matched}))\nORDER BY u.id",
                listed("exclude"),
                listed("include"),
            )
        }
        // The rule alone in its WHERE, where the planner can drive it from an index; the
        // lists as set operations (left-associative in both dialects).
        Schema::Indexed => {
            let listed = |list: &str| {
                format!("SELECT l.user_id FROM group_lists l WHERE l.group_id = {id} AND l.list = '{list}'")
            };
            format!(
                "SELECT u.id FROM users u WHERE {matched}\nUNION {}\nEXCEPT {}\nORDER BY 1",
                listed("include"),
                listed("exclude"),
            )
        }
    })
}

/// The groups in an order where every group comes after the groups its rule names
/// (indexes into `groups`); groups named but not given are read as stored. Refuses a
/// cycle.
pub fn dependency_order(groups: &[BaselineGroup]) -> AppResult<Vec<usize>> {
    let index: HashMap<i64, usize> = groups.iter().enumerate().map(|(i, g)| (g.id, i)).collect();
    let mut waiting_on = vec![0usize; groups.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (i, group) in groups.iter().enumerate() {
        for referenced in group.rule.as_ref().map(Rule::referenced_groups).unwrap_or_default() {
            if let Some(&j) = index.get(&referenced) {
                waiting_on[i] += 1;
                dependents[j].push(i);
            }
        }
    }
    let mut ready: Vec<usize> = (0..groups.len()).rev().filter(|&i| waiting_on[i] == 0).collect();
    let mut order = Vec::with_capacity(groups.len());
    while let Some(i) = ready.pop() {
        order.push(i);
        for &d in &dependents[i] {
            waiting_on[d] -= 1;
            if waiting_on[d] == 0 {
                ready.push(d);
            }
        }
    }
    if order.len() < groups.len() {
        let stuck: Vec<String> =
            (0..groups.len()).filter(|&i| waiting_on[i] > 0).map(|i| groups[i].id.to_string()).collect();
        return Err(corrupt(format!("member_of cycle among groups {}", stuck.join(", "))));
    }
    Ok(order)
}

/// The run's one connection, native to its database.
enum Native {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Native {
    /// Connects without sqlx's statement logging: the baseline's queries are slow by
    /// design, and each is timed here.
    async fn open(url: &str, dialect: Dialect) -> AppResult<Native> {
        Ok(match dialect {
            Dialect::Sqlite => Native::Sqlite(
                SqliteConnectOptions::from_str(url)
                    .map_err(database)?
                    .with_regexp()
                    .busy_timeout(Duration::from_secs(10))
                    .disable_statement_logging()
                    .connect()
                    .await
                    .map_err(database)?,
            ),
            Dialect::Postgres => Native::Postgres(
                PgConnectOptions::from_str(url)
                    .map_err(database)?
                    .disable_statement_logging()
                    .connect()
                    .await
                    .map_err(database)?,
            ),
        })
    }

    async fn execute(&mut self, sql: &str) -> AppResult<()> {
        match self {
            Native::Sqlite(c) => sqlx::raw_sql(vetted(sql)).execute(c).await.map(drop),
            Native::Postgres(c) => sqlx::raw_sql(vetted(sql)).execute(c).await.map(drop),
        }
        .map_err(database)
    }

    async fn ids(&mut self, sql: &str) -> AppResult<Vec<i64>> {
        match self {
            Native::Sqlite(c) => sqlx::query_scalar(vetted(sql)).persistent(false).fetch_all(c).await,
            Native::Postgres(c) => sqlx::query_scalar(vetted(sql)).persistent(false).fetch_all(c).await,
        }
        .map_err(database)
    }

    /// Rows of text columns.
    async fn texts<const N: usize>(&mut self, sql: &str) -> AppResult<Vec<Vec<Option<String>>>> {
        match self {
            Native::Sqlite(c) => cells(&sqlx::query(vetted(sql)).fetch_all(c).await.map_err(database)?, N),
            Native::Postgres(c) => cells(&sqlx::query(vetted(sql)).fetch_all(c).await.map_err(database)?, N),
        }
    }

    async fn close(self) -> AppResult<()> {
        match self {
            Native::Sqlite(c) => c.close().await,
            Native::Postgres(c) => c.close().await,
        }
        .map_err(database)
    }
}

/// The additional fields, by code.
async fn fields(conn: &mut Native) -> AppResult<Vec<(String, FieldInfo)>> {
    conn.texts::<3>("SELECT CAST(id AS TEXT), code, field_type FROM fields")
        .await?
        .into_iter()
        .map(|row| match &row[..] {
            [Some(id), Some(code), Some(kind)] => Ok((
                code.clone(),
                FieldInfo {
                    id: id.parse().map_err(|_| corrupt(format!("field id \"{id}\"")))?,
                    field_type: FieldType::parse("field_type", kind)?,
                },
            )),
            _ => Err(corrupt("a field without id, code or type".into())),
        })
        .collect()
}

/// The statements that build the indexed schema: the field-value table filled from
/// `users.fields` with the JSON schema's type tests, the indexes a peer would have, and
/// the planner's statistics.
fn indexed_schema(dialect: Dialect) -> Vec<String> {
    let [text, number, date, dropdown, yes_no] =
        [FieldType::Text, FieldType::Number, FieldType::Date, FieldType::Dropdown, FieldType::YesNo]
            .map(|t| quoted(t.as_str()));
    let mut statements = match dialect {
        Dialect::Sqlite => vec![
            "CREATE TABLE baseline_field_values (field_id INTEGER NOT NULL, user_id INTEGER NOT NULL, \
             value TEXT, value_key TEXT COLLATE NOCASE, num_value REAL, PRIMARY KEY (user_id, field_id)) \
             WITHOUT ROWID"
                .to_owned(),
            format!(
                "INSERT INTO baseline_field_values (field_id, user_id, value, value_key, num_value) \
                 SELECT field_id, user_id, value, lower(value), num_value FROM (\
                 SELECT f.id AS field_id, u.id AS user_id, \
                 CASE f.field_type WHEN {number} THEN NULL WHEN {yes_no} THEN j.type ELSE j.value END AS value, \
                 CASE f.field_type WHEN {number} THEN j.value END AS num_value \
                 FROM users u JOIN json_each(u.fields) j JOIN fields f ON f.code = j.key \
                 WHERE CASE f.field_type \
                 WHEN {number} THEN j.type IN ('integer', 'real') \
                 WHEN {yes_no} THEN j.type IN ('true', 'false') \
                 WHEN {date} THEN j.type = 'text' \
                 WHEN {text} THEN j.type = 'text' AND j.value <> '' \
                 WHEN {dropdown} THEN j.type = 'text' AND j.value <> '' END)"
            ),
        ],
        Dialect::Postgres => vec![
            "CREATE TABLE baseline_field_values (field_id BIGINT NOT NULL, user_id BIGINT NOT NULL, \
             value TEXT, value_key TEXT COLLATE \"C\", num_value DOUBLE PRECISION, PRIMARY KEY (user_id, field_id))"
                .to_owned(),
            format!(
                "INSERT INTO baseline_field_values (field_id, user_id, value, value_key, num_value) \
                 SELECT field_id, user_id, value, lower(value), num_value FROM (\
                 SELECT f.id AS field_id, u.id AS user_id, \
                 CASE WHEN f.field_type = {number} THEN NULL ELSE j.value #>> '{{}}' END AS value, \
                 CASE WHEN f.field_type = {number} THEN CAST(j.value #>> '{{}}' AS double precision) END AS num_value \
                 FROM users u CROSS JOIN LATERAL jsonb_each(u.fields::jsonb) j JOIN fields f ON f.code = j.key \
                 WHERE CASE f.field_type \
                 WHEN {number} THEN jsonb_typeof(j.value) = 'number' \
                 WHEN {yes_no} THEN jsonb_typeof(j.value) = 'boolean' \
                 WHEN {date} THEN jsonb_typeof(j.value) = 'string' \
                 WHEN {text} THEN jsonb_typeof(j.value) = 'string' AND j.value #>> '{{}}' <> '' \
                 WHEN {dropdown} THEN jsonb_typeof(j.value) = 'string' AND j.value #>> '{{}}' <> '' END) v"
            ),
        ],
    };
    statements.extend(INDEXES.iter().map(|(name, on)| format!("CREATE INDEX {name} ON {on}")));
    statements.extend(match dialect {
        Dialect::Sqlite => ANALYZED.iter().map(|table| format!("ANALYZE {table}")).collect::<Vec<_>>(),
        // VACUUM too: the index-only scans need the visibility map.
        Dialect::Postgres => vec![format!("VACUUM (ANALYZE) {}", ANALYZED.join(", "))],
    });
    statements
}

/// The indexed schema's indexes: name, table and columns.
const INDEXES: &[(&str, &str)] = &[
    ("baseline_field_values_key", "baseline_field_values (field_id, value_key, user_id)"),
    ("baseline_field_values_number", "baseline_field_values (field_id, num_value, user_id)"),
    ("baseline_enrollments_status", "enrollments (course_id, status, user_id)"),
    ("baseline_enrollments_enrolled", "enrollments (course_id, enrolled_at, user_id)"),
    ("baseline_enrollments_completed", "enrollments (course_id, completed_at, user_id)"),
    ("baseline_users_created", "users (created_at)"),
    ("baseline_users_last_login", "users (last_login_at)"),
];

/// The tables the baseline's queries read, whose statistics the indexed schema gathers.
const ANALYZED: &[&str] = &["baseline_field_values", "users", "enrollments", "group_lists", "branches", "courses"];

/// Builds the indexed schema in the database at `url` (see [`Schema::Indexed`]), timed.
pub async fn create_indexed_tables(url: &str) -> AppResult<IndexedTables> {
    let dialect = Dialect::of_url(url)?;
    let mut conn = Native::open(url, dialect).await?;
    let started = Instant::now();
    for statement in indexed_schema(dialect) {
        conn.execute(&statement).await?;
    }
    let elapsed = started.elapsed();
    let rows = conn.texts::<1>("SELECT CAST(count(*) AS TEXT) FROM baseline_field_values").await?;
    conn.close().await?;
    let field_values = rows.first().and_then(|r| r.first()).cloned().flatten().and_then(|n| n.parse().ok());
    Ok(IndexedTables { field_values: field_values.unwrap_or(0), elapsed })
}

/// Removes what [`create_indexed_tables`] built, so that what the database does next is
/// measured as it would be without the baseline. On SQLite that includes the statistics:
/// Roster does not gather them there, and the planner would read them.
pub async fn drop_indexed_tables(url: &str) -> AppResult<()> {
    let dialect = Dialect::of_url(url)?;
    let mut conn = Native::open(url, dialect).await?;
    if dialect == Dialect::Sqlite {
        conn.execute("DROP TABLE IF EXISTS sqlite_stat1").await?;
        conn.execute("DROP TABLE IF EXISTS sqlite_stat4").await?;
    }
    for (name, _) in INDEXES.iter().filter(|(_, on)| !on.starts_with("baseline_field_values")) {
        conn.execute(&format!("DROP INDEX IF EXISTS {name}")).await?;
    }
    conn.execute("DROP TABLE IF EXISTS baseline_field_values").await?;
    conn.close().await
}

/// The automatic groups stored in the database at `url`, with their rules.
pub async fn load_groups(url: &str) -> AppResult<Vec<BaselineGroup>> {
    let mut conn = Native::open(url, Dialect::of_url(url)?).await?;
    let rows = conn
        .texts::<3>(
            "SELECT CAST(id AS TEXT), rule_tree, CAST(allow_suspended AS TEXT) FROM groups \
             WHERE policy = 'automatic' ORDER BY id",
        )
        .await?;
    conn.close().await?;
    rows.into_iter()
        .map(|row| match &row[..] {
            [Some(id), tree, Some(allow)] => Ok(BaselineGroup {
                id: id.parse().map_err(|_| corrupt(format!("group id \"{id}\"")))?,
                rule: tree
                    .as_deref()
                    .map(Rule::from_json)
                    .transpose()
                    .map_err(|e| corrupt(format!("group {id}'s rule: {e}")))?,
                allow_suspended: allow != "0",
            }),
            _ => Err(corrupt("a group row without id".into())),
        })
        .collect()
}

/// Evaluates `groups` on the database at `url` through `schema` (the indexed one must be
/// built), one query each, in dependency order, with dates in `timezone` and relative
/// dates resolved against `today`.
pub async fn run(
    url: &str,
    groups: &[BaselineGroup],
    schema: Schema,
    timezone: Tz,
    today: NaiveDate,
) -> AppResult<BaselineRun> {
    let started = Instant::now();
    let dialect = Dialect::of_url(url)?;
    let order = dependency_order(groups)?;
    let mut conn = Native::open(url, dialect).await?;
    let ctx = SqlContext::new(dialect, schema, timezone, today, fields(&mut conn).await?);
    // PostgreSQL does not gather statistics of a temporary table by itself.
    let analyze_members = schema == Schema::Indexed && dialect == Dialect::Postgres;

    conn.execute(
        "CREATE TEMP TABLE baseline_members (group_id BIGINT NOT NULL, user_id BIGINT NOT NULL, \
         PRIMARY KEY (group_id, user_id))",
    )
    .await?;
    let evaluated: HashSet<i64> = groups.iter().map(|g| g.id).collect();
    let referenced: BTreeSet<i64> =
        groups.iter().filter_map(|g| g.rule.as_ref()).flat_map(Rule::referenced_groups).collect();
    let stored: Vec<String> = referenced.iter().filter(|id| !evaluated.contains(id)).map(i64::to_string).collect();
    if !stored.is_empty() {
        conn.execute(&format!(
            "INSERT INTO baseline_members (group_id, user_id) \
             SELECT group_id, user_id FROM memberships WHERE group_id IN ({})",
            stored.join(", ")
        ))
        .await?;
    }
    if analyze_members {
        conn.execute("ANALYZE baseline_members").await?;
    }

    let mut results: Vec<Option<GroupRun>> = vec![None; groups.len()];
    let mut queries = Duration::ZERO;
    for i in order {
        let group = &groups[i];
        let sql = group_sql(group, &ctx)?;
        let query_started = Instant::now();
        let members = conn.ids(&sql).await?;
        let elapsed = query_started.elapsed();
        queries += elapsed;
        if referenced.contains(&group.id) {
            for chunk in members.chunks(INSERT_BATCH) {
                let rows = list(chunk.iter().map(|user| format!("({}, {user})", group.id)));
                conn.execute(&format!("INSERT INTO baseline_members (group_id, user_id) VALUES {rows}")).await?;
            }
            if analyze_members {
                conn.execute("ANALYZE baseline_members").await?;
            }
        }
        results[i] = Some(GroupRun { id: group.id, members, elapsed, sql });
    }
    conn.execute("DROP TABLE baseline_members").await?;
    conn.close().await?;
    Ok(BaselineRun { groups: results.into_iter().flatten().collect(), queries, total: started.elapsed() })
}

/// The baseline's SQL: written by this module, with every rule value inlined as a quoted
/// literal (see its compiler's quoting), as a hand-written per-rule query would be.
fn vetted(sql: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_domain::rule::parse;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_day_starts_at_local_midnight_or_at_the_end_of_a_gap_over_it() {
        assert_eq!(day_start(chrono_tz::UTC, day(1970, 1, 2)), Some(86_400_000));
        // St. John's: UTC-2:30 in summer.
        assert_eq!(day_start(chrono_tz::America::St_Johns, day(2025, 7, 1)), Some(1_751_337_000_000));
        // São Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04: that day began
        // at 01:00 local, 03:00 UTC.
        assert_eq!(day_start(chrono_tz::America::Sao_Paulo, day(2018, 11, 4)), Some(1_541_300_400_000));
    }

    fn group(id: i64, rule: &str) -> BaselineGroup {
        let mut rule = parse(rule).unwrap();
        // Names stand for ids here: "G7" is group 7.
        let ids: Vec<(String, i64)> = (1..10).map(|i| (format!("G{i}"), i)).collect();
        fn resolve(rule: &mut Rule, ids: &[(String, i64)]) {
            match rule {
                Rule::And(m) | Rule::Or(m) => m.iter_mut().for_each(|r| resolve(r, ids)),
                Rule::Not(inner) => resolve(inner, ids),
                Rule::Condition(Condition::MemberOf(g)) => {
                    g.id = ids.iter().find(|(name, _)| *name == g.name).map(|(_, id)| *id);
                }
                Rule::Condition(Condition::Compare(_)) => {}
            }
        }
        resolve(&mut rule, &ids);
        BaselineGroup { id, rule: Some(rule), allow_suspended: false }
    }

    #[test]
    fn referenced_groups_come_first_and_cycles_are_refused() {
        let groups = [
            group(1, r#"member_of("G2")"#),
            group(2, r#"member_of("G3") or member_of("G9")"#),
            group(3, "branch is empty"),
        ];
        assert_eq!(dependency_order(&groups).unwrap(), vec![2, 1, 0]);
        let cycle = [group(1, r#"member_of("G2")"#), group(2, r#"not member_of("G1")"#)];
        assert!(dependency_order(&cycle).is_err());
    }

    #[test]
    fn negated_operators_are_not_of_a_never_null_positive() {
        let ctx = SqlContext::new(Dialect::Sqlite, Schema::Json, chrono_tz::UTC, day(2024, 1, 31), []);
        let sql = rule_sql(&parse(r#"first_name != "a_b%""#).unwrap(), &ctx).unwrap();
        assert_eq!(sql, r"NOT (COALESCE(lower(NULLIF(u.first_name, '')) IN (lower('a_b%')), FALSE))");
        let sql = rule_sql(&parse(r#"last_name not contains "it's_""#).unwrap(), &ctx).unwrap();
        assert_eq!(sql, r"NOT (COALESCE(lower(NULLIF(u.last_name, '')) LIKE lower('%it''s\_%') ESCAPE '\', FALSE))");
    }

    #[test]
    fn the_indexed_schema_reads_a_field_as_an_uncorrelated_set_of_users() {
        let department = FieldInfo { id: 3, field_type: FieldType::Dropdown };
        let ctx = SqlContext::new(
            Dialect::Postgres,
            Schema::Indexed,
            chrono_tz::UTC,
            day(2024, 1, 31),
            [("department".to_owned(), department)],
        );
        let sql = rule_sql(&parse(r#"field("department") != "Sales""#).unwrap(), &ctx).unwrap();
        assert_eq!(
            sql,
            "NOT ((u.id IN (SELECT f.user_id FROM baseline_field_values f \
             WHERE f.field_id = 3 AND f.value_key IN (lower('Sales')))))"
        );
        let sql = rule_sql(&parse(r#"field("department") is empty"#).unwrap(), &ctx).unwrap();
        assert_eq!(sql, "(NOT (u.id IN (SELECT f.user_id FROM baseline_field_values f WHERE f.field_id = 3)))");
    }
}
