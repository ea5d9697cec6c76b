//! One row checked: each mapped cell read with the domain's own parsers, duplicates
//! within the file caught, then the row decided against the user it names — created,
//! updated, unchanged — or refused, with every reason.

use roster_csv::{Header, Record};
use roster_domain::values::optional_text;
use roster_domain::{
    parse_language, parse_timezone, BranchTree, DomainError, Email, FieldDef, FieldType, FieldValue, User, UserStatus,
    Username,
};
use std::collections::hash_map::{Entry, HashMap, RandomState};
use std::collections::BTreeMap;
use std::hash::BuildHasher;

use super::cells::{plain_number, read_date, unprotected, DateOrder};
use super::mapping::{Plan, Target};
use super::{EmptyCells, ImportMode, ImportOptions, Issue};
use crate::Scope;

/// The longest cell value quoted back in a report.
const MAX_QUOTED: usize = 200;

/// What a row asks for: the user it names, and the values it sets.
#[derive(Debug, Clone)]
pub(super) struct RowChange {
    pub row: usize,
    pub username: Username,
    pub values: Values,
}

/// The values a row sets; `None` leaves a value as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub(super) struct Values {
    pub email: Option<Email>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub status: Option<UserStatus>,
    pub language: Option<Option<String>>,
    pub timezone: Option<Option<String>>,
    pub branch: Option<Option<i64>>,
    pub password: Option<String>,
    /// Additional fields by code: a value, or `None` to clear.
    pub fields: Vec<(String, Option<FieldValue>)>,
}

/// What applying a row does.
#[derive(Debug, Clone)]
pub(super) enum Action {
    /// A new user, with the password to set.
    Create(User, Option<String>),
    /// A changed user, with the password to set.
    Update(User, Option<String>),
    /// The user already holds what the row says.
    Unchanged,
}

/// Keys seen earlier in the file and the row of each. Keys are kept as 128-bit hashes
/// under per-import random keys: a 100 MB file names about a million users, and the
/// chance that two different keys collide is about 10⁻²⁷. Stored as bytes, an entry
/// takes 20 bytes rather than the 32 an aligned `u128` would.
#[derive(Debug, Default)]
struct Seen {
    first: RandomState,
    second: RandomState,
    rows: HashMap<[u8; 16], u32>,
}

impl Seen {
    /// The earlier row with this key, or `None` after recording `row` as its first.
    fn earlier(&mut self, key: &str, row: usize) -> Option<usize> {
        let mut hash = [0u8; 16];
        hash[..8].copy_from_slice(&self.first.hash_one(key).to_le_bytes());
        hash[8..].copy_from_slice(&self.second.hash_one(key).to_le_bytes());
        match self.rows.entry(hash) {
            Entry::Occupied(e) => Some(*e.get() as usize),
            Entry::Vacant(v) => {
                v.insert(u32::try_from(row).unwrap_or(u32::MAX));
                None
            }
        }
    }
}

/// Checks the rows of one pass over a file, in order.
#[derive(Debug)]
pub(super) struct Checker<'a> {
    plan: &'a Plan,
    header: &'a Header,
    tree: &'a BranchTree,
    scope: &'a Scope,
    options: &'a ImportOptions,
    now: i64,
    usernames: Seen,
    emails: Seen,
    /// For each date column, the order its first day/month date showed, and its row.
    date_orders: HashMap<usize, (DateOrder, usize)>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(
        plan: &'a Plan,
        header: &'a Header,
        tree: &'a BranchTree,
        scope: &'a Scope,
        options: &'a ImportOptions,
        now: i64,
    ) -> Self {
        Self {
            plan,
            header,
            tree,
            scope,
            options,
            now,
            usernames: Seen::default(),
            emails: Seen::default(),
            date_orders: HashMap::new(),
        }
    }

    fn header_of(&self, index: usize) -> String {
        self.header.names().get(index).cloned().unwrap_or_else(|| format!("column {}", index + 1))
    }

    fn issue(&self, row: usize, index: Option<usize>, value: &str, message: impl Into<String>) -> Issue {
        Issue {
            row,
            column: index.map(|i| self.header_of(i)),
            value: (!value.is_empty()).then(|| value.chars().take(MAX_QUOTED).collect()),
            message: message.into(),
        }
    }

    /// Reads a row's cells; the issues name each cell at fault.
    pub(super) fn row(&mut self, record: &Record) -> Result<RowChange, Vec<Issue>> {
        let row = record.row();
        let mut issues = Vec::new();
        let mut username = None;
        let mut v = Values::default();
        for (index, target) in &self.plan.columns {
            let cell = unprotected(record.trimmed(*index).unwrap_or_default());
            let is_username = *target == Target::Standard("username");
            if cell.is_empty() && !is_username && (self.options.empty == EmptyCells::Keep || !clearable(target)) {
                continue;
            }
            let read = match target {
                Target::Standard("username") => Username::parse("username", cell)
                    .map(|u| username = Some(u))
                    .map_err(|e| format!("the username {}", e.message)),
                Target::Standard("email") => Email::parse("email", cell).map(|e| v.email = Some(e)).map_err(message),
                Target::Standard("first_name") => {
                    optional_text("first_name", Some(cell), 100).map(|x| v.first_name = Some(x)).map_err(message)
                }
                Target::Standard("last_name") => {
                    optional_text("last_name", Some(cell), 100).map(|x| v.last_name = Some(x)).map_err(message)
                }
                Target::Standard("status") => {
                    UserStatus::parse("status", cell).map(|s| v.status = Some(s)).map_err(message)
                }
                Target::Standard("language") => {
                    parse_language("language", Some(cell)).map(|x| v.language = Some(x)).map_err(message)
                }
                Target::Standard("timezone") => {
                    parse_timezone("timezone", Some(cell)).map(|x| v.timezone = Some(x)).map_err(message)
                }
                Target::Standard("branch") => branch(self.tree, self.scope, cell).map(|b| v.branch = Some(b)),
                Target::Standard("password") => crate::users::check_password(cell)
                    .map(|()| v.password = Some(cell.to_owned()))
                    .map_err(|e| format!("the password {}", e.message)),
                Target::Standard(other) => Err(format!("{other} cannot be imported")),
                Target::Field(def) => {
                    self.field_value(def, *index, cell, row).map(|x| v.fields.push((def.code.to_string(), x)))
                }
            };
            if let Err(message) = read {
                issues.push(self.issue(row, Some(*index), cell, message));
            }
        }
        if let Some(u) = &username {
            if let Some(first) = self.usernames.earlier(&u.key(), row) {
                let message = format!("the username \"{u}\" is also on row {first}");
                issues.push(self.issue(row, self.plan.standard("username"), u.as_str(), message));
            }
        }
        if let Some(email) = &v.email {
            if let Some(first) = self.emails.earlier(&email.as_str().to_lowercase(), row) {
                let message = format!("the email \"{email}\" is also on row {first}");
                issues.push(self.issue(row, self.plan.standard("email"), email.as_str(), message));
            }
        }
        match username {
            Some(username) if issues.is_empty() => Ok(RowChange { row, username, values: v }),
            _ => Err(issues),
        }
    }

    /// Reads an additional field's cell: dates and numbers in spreadsheet forms first,
    /// then the domain's check of the field's type.
    fn field_value(
        &mut self,
        def: &FieldDef,
        index: usize,
        cell: &str,
        row: usize,
    ) -> Result<Option<FieldValue>, String> {
        if cell.is_empty() {
            return Ok(None);
        }
        match def.field_type {
            FieldType::Date => {
                let read = read_date(cell, self.options.date_order)?;
                if let Some(order) = read.order {
                    match self.date_orders.get(&index) {
                        Some((seen, first)) if *seen != order => {
                            return Err(format!(
                                "\"{cell}\" can only be {}, but row {first} of this column can only be {}: write the dates as YYYY-MM-DD",
                                order.describe(),
                                seen.describe()
                            ))
                        }
                        Some(_) => {}
                        None => {
                            self.date_orders.insert(index, (order, row));
                        }
                    }
                }
                Ok(Some(FieldValue::Date(read.date)))
            }
            FieldType::Number => def.parse_text("value", &plain_number(cell)?).map_err(message),
            _ => def.parse_text("value", cell).map_err(message),
        }
    }

    /// Decides what the row does to `existing`, the user its username names (if any).
    pub(super) fn decide(&self, change: RowChange, existing: Option<&User>) -> Result<Action, Vec<Issue>> {
        let row = change.row;
        let name = change.username.as_str().to_owned();
        let at_username = |message: String| vec![self.issue(row, self.plan.standard("username"), &name, message)];
        let mode = self.options.mode;
        match existing {
            Some(_) if mode == ImportMode::Create => {
                Err(at_username(format!("a user \"{name}\" already exists (this import only creates users)")))
            }
            Some(user) if !self.scope.contains(user.branch_id) => Err(at_username(match mode {
                ImportMode::Update => format!("no user \"{name}\" in your branches"),
                _ => format!("the username \"{name}\" belongs to a user outside your branches"),
            })),
            Some(user) => Ok(self.update(change, user)),
            None if mode == ImportMode::Update => {
                Err(at_username(format!("no user \"{name}\" (this import only updates users)")))
            }
            None => self.create(change),
        }
    }

    fn create(&self, change: RowChange) -> Result<Action, Vec<Issue>> {
        let row = change.row;
        let v = change.values;
        let Some(email) = v.email else {
            let message = match self.plan.standard("email") {
                Some(_) => "a new user needs an email",
                None => "a new user needs an email, and the file has no email column",
            };
            return Err(vec![self.issue(row, self.plan.standard("email"), "", message)]);
        };
        let branch_id = v.branch.flatten();
        if branch_id.is_none() && *self.scope != Scope::All {
            let message = "a training admin must place new users in one of its branches";
            return Err(vec![self.issue(row, self.plan.standard("branch"), "", message)]);
        }
        let fields: BTreeMap<String, serde_json::Value> =
            v.fields.into_iter().filter_map(|(code, value)| Some((code, value?.to_json()))).collect();
        let user = User {
            id: 0,
            username: change.username,
            email,
            first_name: v.first_name.flatten(),
            last_name: v.last_name.flatten(),
            status: v.status.unwrap_or(UserStatus::Active),
            language: v.language.flatten(),
            timezone: v.timezone.flatten(),
            branch_id,
            created_at: self.now,
            updated_at: self.now,
            last_login_at: None,
            fields,
        };
        Ok(Action::Create(user, v.password))
    }

    fn update(&self, change: RowChange, existing: &User) -> Action {
        // The row found its user by the username's key, so the file's spelling differs
        // from the stored one at most in case or Unicode form: that is no rename, and
        // the stored spelling stays.
        let mut user = existing.clone();
        let v = change.values;
        if let Some(e) = v.email {
            user.email = e;
        }
        let set = |slot: &mut Option<String>, value: Option<Option<String>>| {
            if let Some(v) = value {
                *slot = v;
            }
        };
        set(&mut user.first_name, v.first_name);
        set(&mut user.last_name, v.last_name);
        set(&mut user.language, v.language);
        set(&mut user.timezone, v.timezone);
        if let Some(s) = v.status {
            user.status = s;
        }
        if let Some(b) = v.branch {
            user.branch_id = b;
        }
        for (code, value) in v.fields {
            match value {
                Some(v) => user.fields.insert(code, v.to_json()),
                None => user.fields.remove(&code),
            };
        }
        if user == *existing && v.password.is_none() {
            return Action::Unchanged;
        }
        user.updated_at = self.now;
        Action::Update(user, v.password)
    }
}

fn message(e: DomainError) -> String {
    e.message
}

/// Whether an empty cell may clear what the column fills (`empty=clear`): every user
/// has an email and a status, and a password is only ever replaced.
fn clearable(target: &Target) -> bool {
    !matches!(target, Target::Standard("username" | "email" | "status" | "password"))
}

/// A branch cell: a code the caller may place users in; empty means no branch.
fn branch(tree: &BranchTree, scope: &Scope, code: &str) -> Result<Option<i64>, String> {
    if code.is_empty() {
        if *scope != Scope::All {
            return Err("a training admin must place users in one of its branches".into());
        }
        return Ok(None);
    }
    let b = tree.by_code(code).ok_or_else(|| format!("no branch has the code \"{code}\""))?;
    if !scope.contains(Some(b.id)) {
        return Err(format!("branch \"{code}\" is outside your branches"));
    }
    Ok(Some(b.id))
}
