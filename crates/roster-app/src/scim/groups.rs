//! A stored group as a SCIM Group and back, and the SCIM writes of groups. The members
//! of an automatic group follow its rule: a write that would change them is refused
//! with 400 `mutability`.

use std::collections::{BTreeSet, HashMap};

use roster_domain::{Group, GroupPolicy, MembershipSource};
use roster_scim::{etag, urn, GroupPolicy as ScimPolicy, Member, PatchRequest, ResourceKind, ScimError};
use roster_store::directory::{self as dir_store, Condition};
use roster_store::AnyConnection;
use serde_json::{Map, Value};

use super::directory::Directory;
use super::users::{time, without_meta};
use super::{members_read_only, not_found, version_of, ScimResource, ScimResult};
use crate::groups::MAX_USERS_PER_REQUEST;
use crate::groups::{add_users, remove_users};
use crate::groups::{GroupPatch, NewGroup};
use crate::transaction::{Cause, LiveTx};
use crate::{Actor, App, AppError, AppResult};

/// A stored group with its SCIM representation.
#[derive(Debug, Clone)]
pub(crate) struct LoadedGroup {
    pub group: Group,
    pub resource: ScimResource,
    /// Its member ids, when they were loaded.
    pub members: Option<Vec<i64>>,
}

/// One group by id, as SCIM shows it; `members`: whether to load its members.
pub(crate) async fn load(
    conn: &mut AnyConnection,
    dir: &Directory,
    id: i64,
    members: bool,
) -> AppResult<Option<LoadedGroup>> {
    let condition =
        Condition::Compare { column: dir_store::Column::Id, op: dir_store::Op::Eq, value: dir_store::Value::Int(id) };
    let rows = dir_store::find_groups(conn, &condition, None, 0, 1).await?;
    Ok(represent(conn, dir, rows, members).await?.pop())
}

/// Groups as SCIM shows them, with `meta` and version; with their members if asked.
pub(crate) async fn represent(
    conn: &mut AnyConnection,
    dir: &Directory,
    rows: Vec<(Group, Option<String>)>,
    members: bool,
) -> AppResult<Vec<LoadedGroup>> {
    let ids: Vec<i64> = rows.iter().map(|(g, _)| g.id).collect();
    let generations: HashMap<i64, i64> = dir_store::last_events_of_groups(conn, &ids).await?.into_iter().collect();
    let mut out = Vec::with_capacity(rows.len());
    for (group, external_id) in rows {
        let member_ids =
            if members { Some(roster_store::memberships::member_ids(conn, group.id).await?) } else { None };
        let mut scim = roster_scim::Group {
            id: Some(group.id.to_string()),
            external_id,
            display_name: group.name.clone(),
            members: Vec::new(),
            policy: Some(match group.policy {
                GroupPolicy::Manual => ScimPolicy::Manual,
                GroupPolicy::Automatic => ScimPolicy::Automatic,
            }),
            rule: group.rule_text.clone(),
            meta: None,
        };
        let json = with_description(scim.to_json(), group.description.as_deref());
        let version = etag::weak(&version_of(&json, generations.get(&group.id).copied().unwrap_or(0)));
        scim.members = member_ids.iter().flatten().map(|u| Member::user(&dir.sp, &u.to_string(), None)).collect();
        let id = group.id.to_string();
        let mut meta = dir.sp.meta(ResourceKind::Group, &id, time(group.created_at), time(group.updated_at), "");
        meta.version = Some(version.clone());
        let location = meta.location.clone();
        scim.meta = Some(meta);
        let json = with_description(scim.to_json(), group.description.as_deref());
        out.push(LoadedGroup { resource: ScimResource { json, version, location }, group, members: member_ids });
    }
    Ok(out)
}

/// A group's JSON with its description in Roster's extension.
fn with_description(mut json: Value, description: Option<&str>) -> Value {
    let Some(d) = description else { return json };
    if let Some(map) = json.as_object_mut() {
        let ext = map.entry(urn::ROSTER_GROUP).or_insert_with(|| Value::Object(Map::new()));
        if let Some(ext) = ext.as_object_mut() {
            ext.insert("description".into(), Value::String(d.to_owned()));
        }
        if let Some(Value::Array(schemas)) = map.get_mut("schemas") {
            if !schemas.iter().any(|s| s == urn::ROSTER_GROUP) {
                schemas.push(Value::String(urn::ROSTER_GROUP.into()));
            }
        }
    }
    json
}

/// The description a request asserts: `None` when it leaves Roster's extension out.
fn asserted_description(body: &Value) -> Result<Option<Option<String>>, ScimError> {
    let Some(ext) = field_ci(body, urn::ROSTER_GROUP) else { return Ok(None) };
    match field_ci(ext, "description") {
        None | Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()).filter(|s| !s.trim().is_empty()))),
        Some(_) => Err(ScimError::invalid_value("\"description\" expects a string")),
    }
}

/// The value under `key` of a JSON object, matching the key case-insensitively.
fn field_ci<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    value.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// The member ids a SCIM Group names, checked to be users.
async fn member_ids(dir: &Directory, conn: &mut AnyConnection, scim: &roster_scim::Group) -> ScimResult<Vec<i64>> {
    let ids: Vec<String> = scim.member_ids().map(str::to_owned).collect();
    if ids.len() > MAX_USERS_PER_REQUEST {
        return Err(ScimError::invalid_value(format!(
            "members: at most {MAX_USERS_PER_REQUEST} members can be sent in one request"
        )));
    }
    dir.reach.users_named(conn, &ids).await.map_err(|e| match e {
        AppError::Invalid(d) => ScimError::invalid_value(format!("members: {}", d.message)),
        other => other.into(),
    })
}

impl App {
    pub(super) async fn scim_create_group(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        dir: &Directory,
        body: &Value,
    ) -> ScimResult<ScimResource> {
        let scim = roster_scim::Group::from_json(body, &dir.sp)?;
        let members = member_ids(dir, tx.read(), &scim).await?;
        let description = asserted_description(body)?.flatten();
        let input = NewGroup { name: scim.display_name.clone(), description, policy: None, scope: None };
        let group = self.insert_group(tx, &dir.reach, input).await?;
        tx.set_group_external_id(group.id, scim.external_id.as_deref()).await?;
        if !members.is_empty() {
            let cause = Cause { actor: actor.name.clone(), why: "provisioned over SCIM".into(), at: self.now() };
            add_users(tx, &group, &members, MembershipSource::Manual, &cause).await?;
        }
        Ok(reload(tx.read(), dir, group.id).await?)
    }

    pub(super) async fn scim_replace_group(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        dir: &Directory,
        id: i64,
        body: &Value,
        if_match: Option<&str>,
    ) -> ScimResult<ScimResource> {
        let current =
            load(tx.read(), dir, id, true).await?.ok_or_else(|| not_found(ResourceKind::Group, &id.to_string()))?;
        etag::check_if_match(if_match, Some(&current.resource.version))?;
        let scim = roster_scim::Group::from_json(body, &dir.sp)?;
        // A PUT without `members` does not assert them: they stay as they are.
        let asserts_members = body.as_object().is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case("members")));
        let description = asserted_description(body)?;
        self.write_group(tx, actor, dir, current, &scim, asserts_members, description).await
    }

    pub(super) async fn scim_patch_group(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        dir: &Directory,
        id: i64,
        request: &PatchRequest,
        if_match: Option<&str>,
    ) -> ScimResult<ScimResource> {
        let touches_members = request.touches(dir.sp.groups(), "members");
        let current = load(tx.read(), dir, id, touches_members)
            .await?
            .ok_or_else(|| not_found(ResourceKind::Group, &id.to_string()))?;
        etag::check_if_match(if_match, Some(&current.resource.version))?;
        if touches_members && current.group.policy == GroupPolicy::Automatic {
            return Err(members_read_only(&current.group.name));
        }
        let patched = request.apply(&current.resource.json, dir.sp.groups())?;
        if without_meta(&patched) == without_meta(&current.resource.json) {
            return reload(tx.read(), dir, id).await.map_err(Into::into);
        }
        let scim = roster_scim::Group::from_json(&patched, &dir.sp)?;
        let description = Some(asserted_description(&patched)?.flatten());
        self.write_group(tx, actor, dir, current, &scim, touches_members, description).await
    }

    /// Writes a group's asserted name, external id and (if asserted) members and description.
    #[expect(clippy::too_many_arguments, reason = "each part of a group a request may assert")]
    async fn write_group(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        dir: &Directory,
        current: LoadedGroup,
        scim: &roster_scim::Group,
        asserts_members: bool,
        description: Option<Option<String>>,
    ) -> ScimResult<ScimResource> {
        let group = current.group;
        if asserts_members {
            let wanted: BTreeSet<i64> = member_ids(dir, tx.read(), scim).await?.into_iter().collect();
            let have: BTreeSet<i64> = current.members.unwrap_or_default().into_iter().collect();
            if wanted != have {
                if group.policy == GroupPolicy::Automatic {
                    return Err(members_read_only(&group.name));
                }
                let cause = Cause { actor: actor.name.clone(), why: "provisioned over SCIM".into(), at: self.now() };
                let joining: Vec<i64> = wanted.difference(&have).copied().collect();
                let leaving: Vec<i64> = have.difference(&wanted).copied().collect();
                if !joining.is_empty() {
                    add_users(tx, &group, &joining, MembershipSource::Manual, &cause).await?;
                }
                if !leaving.is_empty() {
                    remove_users(tx, &group, &leaving, &cause).await?;
                }
            }
        }
        let rename = (scim.display_name != group.name).then(|| scim.display_name.clone());
        let redescribe = description.filter(|d| *d != group.description);
        if rename.is_some() || redescribe.is_some() {
            let patch = GroupPatch { name: rename, description: redescribe, allow_suspended: None, scope: None };
            self.change_group(tx, actor, &group.id.to_string(), patch).await?;
        }
        tx.set_group_external_id(group.id, scim.external_id.as_deref()).await?;
        Ok(reload(tx.read(), dir, group.id).await?)
    }
}

async fn reload(conn: &mut AnyConnection, dir: &Directory, id: i64) -> AppResult<ScimResource> {
    load(conn, dir, id, true).await?.map(|g| g.resource).ok_or_else(|| AppError::NotFound(format!("group \"{id}\"")))
}
