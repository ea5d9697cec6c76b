//! A stored user as a SCIM User and back, and the SCIM writes of users.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use roster_domain::values::optional_text;
use roster_domain::{User, UserStatus};
use roster_scim::{
    etag, urn, EnterpriseUser, FieldValue, GroupRef, Manager, PatchRequest, PersonName, ResourceKind, ScimError,
    UserEmail,
};
use roster_store::directory::{self as dir_store, Condition, DirectoryUser};
use roster_store::AnyConnection;
use serde_json::{Map, Value};

use super::directory::Directory;
use super::{not_found, version_of, ScimResource, ScimResult};
use crate::transaction::LiveTx;
use crate::users::{NewUser, UserPatch};
use crate::{Actor, App, AppError, AppResult};

/// The longest display name a client may set, in characters.
const MAX_DISPLAY_NAME: usize = 256;

/// Epoch milliseconds as a UTC time.
pub(crate) fn time(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// One user by id, as SCIM shows it.
pub(crate) async fn load(conn: &mut AnyConnection, dir: &Directory, id: i64) -> AppResult<Option<ScimResource>> {
    let condition =
        Condition::Compare { column: dir_store::Column::Id, op: dir_store::Op::Eq, value: dir_store::Value::Int(id) };
    let rows = dir_store::find_users(conn, &condition, None, 0, 1).await?;
    Ok(represent(conn, dir, rows).await?.pop())
}

/// Users as SCIM shows them: with their groups, `meta` and version.
pub(crate) async fn represent(
    conn: &mut AnyConnection,
    dir: &Directory,
    rows: Vec<DirectoryUser>,
) -> AppResult<Vec<ScimResource>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.user.id).collect();
    let mut groups_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for (user, group) in dir_store::memberships_of_users(conn, &ids).await? {
        groups_of.entry(user).or_default().push(group);
    }
    let names: HashMap<i64, String> = if groups_of.is_empty() {
        HashMap::new()
    } else {
        roster_store::groups::all(conn).await?.into_iter().map(|g| (g.id, g.name)).collect()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut scim = to_scim(dir, &row);
            let user = row.user;
            let id = user.id.to_string();
            scim.groups = groups_of
                .get(&user.id)
                .into_iter()
                .flatten()
                .map(|g| GroupRef::new(&dir.sp, &g.to_string(), names.get(g).cloned()))
                .collect();
            // The representation holds the user's groups: it changes when they do.
            let version = etag::weak(&version_of(&scim.to_json(&dir.sp), 0));
            let mut meta = dir.sp.meta(ResourceKind::User, &id, time(user.created_at), time(user.updated_at), "");
            meta.version = Some(version.clone());
            let location = meta.location.clone();
            scim.meta = Some(meta);
            ScimResource { json: scim.to_json(&dir.sp), version, location }
        })
        .collect())
}

/// The SCIM User of a stored user, without groups and `meta`.
pub(super) fn to_scim(dir: &Directory, row: &DirectoryUser) -> roster_scim::User {
    let u = &row.user;
    let name = (u.first_name.is_some() || u.last_name.is_some()).then(|| PersonName {
        formatted: None,
        given_name: u.first_name.clone(),
        family_name: u.last_name.clone(),
    });
    let fields: BTreeMap<String, FieldValue> = dir
        .reach
        .ctx
        .fields
        .iter()
        .filter_map(|def| {
            let stored = u.fields.get(def.code.as_str())?;
            Some((def.code.to_string(), scim_value(def.from_stored(stored)?)))
        })
        .collect();
    let text = |attribute: &str| match dir.enterprise_code(attribute).and_then(|c| fields.get(c)) {
        Some(FieldValue::Text(s)) => Some(s.clone()),
        _ => None,
    };
    let enterprise = EnterpriseUser {
        employee_number: text("employeeNumber"),
        cost_center: text("costCenter"),
        organization: text("organization"),
        division: text("division"),
        department: text("department"),
        manager: text("manager").map(|value| {
            let is_id = value.parse::<i64>().is_ok_and(|id| id > 0);
            Manager { reference: is_id.then(|| dir.sp.location(ResourceKind::User, &value)), value, display_name: None }
        }),
    };
    roster_scim::User {
        id: Some(u.id.to_string()),
        external_id: row.external_id.clone(),
        user_name: u.username.as_str().to_owned(),
        name,
        display_name: match row.display_name.as_deref() {
            None => Some(computed_display_name(u)),
            Some("") => None,
            Some(set) => Some(set.to_owned()),
        },
        emails: vec![UserEmail { value: u.email.as_str().to_owned(), kind: Some("work".into()), primary: false }],
        active: Some(u.status == UserStatus::Active),
        preferred_language: u.language.clone(),
        locale: None,
        timezone: u.timezone.clone(),
        groups: Vec::new(),
        enterprise: (!enterprise.is_empty()).then_some(enterprise),
        fields,
        meta: None,
    }
}

/// The display name of a user whose client set none: "first last", or the username.
fn computed_display_name(u: &User) -> String {
    let names = [u.first_name.as_deref(), u.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>();
    if names.is_empty() {
        u.username.as_str().to_owned()
    } else {
        names.join(" ")
    }
}

fn scim_value(v: roster_domain::FieldValue) -> FieldValue {
    match v {
        roster_domain::FieldValue::YesNo(b) => FieldValue::YesNo(b),
        roster_domain::FieldValue::Number(n) => FieldValue::Number(n),
        roster_domain::FieldValue::Date(d) => FieldValue::Date(d),
        roster_domain::FieldValue::Text(s) => FieldValue::Text(s),
    }
}

/// What a request asserts about a user, read from its SCIM User.
#[derive(Debug)]
struct Asserted {
    username: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    status: UserStatus,
    language: Option<String>,
    timezone: Option<String>,
    /// Every published field's new value (`None` clears).
    fields: BTreeMap<String, Option<FieldValue>>,
    external_id: Option<String>,
    display_name: DisplayName,
}

/// What a request says of a user's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DisplayName {
    /// Nothing: a PATCH that leaves it as it is.
    Kept,
    /// None given: the names show, or the username (a POST or PUT may give a default to
    /// what it leaves out, RFC 7644 §3.5.1).
    Computed,
    /// Removed by a PATCH: none shows (RFC 7644 §3.5.2.2: the attribute is unassigned).
    Unassigned,
    /// This one.
    Set(String),
}

impl DisplayName {
    /// What the store keeps (see [`DirectoryUser::display_name`]); `None`: no change.
    fn stored(&self) -> Option<Option<&str>> {
        match self {
            Self::Kept => None,
            Self::Computed => Some(None),
            Self::Unassigned => Some(Some("")),
            Self::Set(name) => Some(Some(name)),
        }
    }
}

/// Which extension objects a request asserts: a PUT that leaves one out does not clear
/// the fields it holds (the client may not know it); a PATCH result asserts everything.
#[derive(Debug, Clone, Copy)]
struct Presence {
    roster: bool,
    enterprise: bool,
}

impl Presence {
    fn all() -> Self {
        Self { roster: true, enterprise: true }
    }

    fn of_body(body: &Value) -> Self {
        let has = |urn: &str| body.as_object().is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case(urn)));
        Self { roster: has(urn::ROSTER_USER), enterprise: has(urn::ENTERPRISE_USER) }
    }
}

fn assert_user(
    dir: &Directory,
    scim: &roster_scim::User,
    current: Option<&roster_scim::User>,
    presence: Presence,
) -> ScimResult<Asserted> {
    let before = |code: &str| current.and_then(|c| c.fields.get(code)).cloned();
    // The address the request brings: one that differs from the current email, else the first.
    let current_email = current.and_then(|c| c.emails.first()).map(|e| e.value.as_str());
    let email = scim
        .emails
        .iter()
        .find(|e| Some(e.value.as_str()) != current_email)
        .or_else(|| scim.emails.first())
        .map(|e| e.value.clone())
        .ok_or_else(|| ScimError::invalid_value("\"emails\" needs a value: every Roster user has an email address"))?;
    let name = scim.name.clone().unwrap_or_default();
    let enterprise = scim.enterprise.clone().unwrap_or_default();
    let mut fields = BTreeMap::new();
    for field in dir.sp.fields() {
        let code = field.code.as_str();
        let roster = if presence.roster { scim.fields.get(code).cloned() } else { before(code) };
        fields.insert(code.to_owned(), roster);
    }
    for (attribute, code) in &dir.enterprise {
        if !presence.enterprise {
            continue;
        }
        let value = match *attribute {
            "employeeNumber" => enterprise.employee_number.clone(),
            "costCenter" => enterprise.cost_center.clone(),
            "organization" => enterprise.organization.clone(),
            "division" => enterprise.division.clone(),
            "department" => enterprise.department.clone(),
            _ => enterprise.manager.as_ref().map(|m| m.value.clone()),
        }
        .map(FieldValue::Text);
        // The enterprise value wins when it is what the request changed.
        let was = before(code);
        let differs = match (&value, &was) {
            (Some(FieldValue::Text(a)), Some(FieldValue::Text(b))) => a != b,
            (None, None) => false,
            _ => true,
        };
        let roster_changed = fields.get(code.as_str()).cloned().flatten() != was;
        if differs && !(presence.roster && roster_changed) {
            fields.insert(code.clone(), value);
        }
    }
    Ok(Asserted {
        username: scim.user_name.clone(),
        email,
        first_name: name.given_name,
        last_name: name.family_name,
        status: if scim.active == Some(false) { UserStatus::Suspended } else { UserStatus::Active },
        language: scim.preferred_language.clone(),
        timezone: scim.timezone.clone(),
        fields,
        external_id: scim.external_id.clone(),
        display_name: match optional_text("displayName", scim.display_name.as_deref(), MAX_DISPLAY_NAME)
            .map_err(AppError::from)?
        {
            Some(name) => DisplayName::Set(name),
            None => DisplayName::Computed,
        },
    })
}

fn field_json(values: &BTreeMap<String, Option<FieldValue>>) -> BTreeMap<String, Value> {
    values.iter().map(|(code, v)| (code.clone(), v.as_ref().map_or(Value::Null, FieldValue::to_json))).collect()
}

impl App {
    pub(super) async fn scim_create_user(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        dir: &Directory,
        body: &Value,
    ) -> ScimResult<ScimResource> {
        let scim = roster_scim::User::from_json(body, &dir.sp)?;
        let a = assert_user(dir, &scim, None, Presence::all())?;
        let input = NewUser {
            username: a.username,
            email: a.email,
            first_name: a.first_name,
            last_name: a.last_name,
            status: Some(a.status.as_str().to_owned()),
            language: a.language,
            timezone: a.timezone,
            branch: None,
            password: None,
            fields: field_json(&a.fields).into_iter().filter(|(_, v)| !v.is_null()).collect(),
        };
        let user = self.insert_user(tx, actor, &dir.reach, input, None).await?;
        tx.set_user_external_id(user.id, a.external_id.as_deref()).await?;
        if let DisplayName::Set(name) = &a.display_name {
            tx.set_user_display_name(user.id, Some(name)).await?;
        }
        load(tx.read(), dir, user.id).await?.ok_or_else(|| not_found(ResourceKind::User, &user.id.to_string()))
    }

    pub(super) async fn scim_replace_user(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        dir: &Directory,
        id: i64,
        body: &Value,
        if_match: Option<&str>,
    ) -> ScimResult<ScimResource> {
        let current = load(tx.read(), dir, id).await?.ok_or_else(|| not_found(ResourceKind::User, &id.to_string()))?;
        etag::check_if_match(if_match, Some(&current.version))?;
        let scim = roster_scim::User::from_json(body, &dir.sp)?;
        let before = roster_scim::User::from_json(&current.json, &dir.sp)?;
        let asserted = assert_user(dir, &scim, Some(&before), Presence::of_body(body))?;
        self.write_user(tx, actor, dir, id, asserted).await
    }

    pub(super) async fn scim_patch_user(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        dir: &Directory,
        id: i64,
        request: &PatchRequest,
        if_match: Option<&str>,
    ) -> ScimResult<ScimResource> {
        let current = load(tx.read(), dir, id).await?.ok_or_else(|| not_found(ResourceKind::User, &id.to_string()))?;
        etag::check_if_match(if_match, Some(&current.version))?;
        let patched = request.apply(&current.json, dir.sp.users())?;
        if without_meta(&patched) == without_meta(&current.json) {
            return Ok(current);
        }
        let scim = roster_scim::User::from_json(&patched, &dir.sp)?;
        let before = roster_scim::User::from_json(&current.json, &dir.sp)?;
        let mut asserted = assert_user(dir, &scim, Some(&before), Presence::all())?;
        if scim.display_name == before.display_name {
            // Untouched: one computed from the names stays computed, and follows them.
            asserted.display_name = DisplayName::Kept;
        } else if asserted.display_name == DisplayName::Computed {
            asserted.display_name = DisplayName::Unassigned;
        }
        self.write_user(tx, actor, dir, id, asserted).await
    }

    /// Writes a user's whole asserted state through the ordinary update use case.
    async fn write_user(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        dir: &Directory,
        id: i64,
        a: Asserted,
    ) -> ScimResult<ScimResource> {
        let patch = UserPatch {
            username: Some(Some(a.username)),
            email: Some(Some(a.email)),
            first_name: Some(a.first_name),
            last_name: Some(a.last_name),
            status: Some(Some(a.status.as_str().to_owned())),
            language: Some(a.language),
            timezone: Some(a.timezone),
            branch: None,
            password: None,
            fields: Some(field_json(&a.fields)),
        };
        self.change_user(tx, actor, &dir.reach, id, patch, None).await?;
        tx.set_user_external_id(id, a.external_id.as_deref()).await?;
        if let Some(stored) = a.display_name.stored() {
            tx.set_user_display_name(id, stored).await?;
        }
        load(tx.read(), dir, id).await?.ok_or_else(|| not_found(ResourceKind::User, &id.to_string()))
    }
}

/// A representation without `meta`, to tell whether a PATCH changed anything.
pub(crate) fn without_meta(resource: &Value) -> Map<String, Value> {
    let mut map = resource.as_object().cloned().unwrap_or_default();
    map.remove("meta");
    map
}
