//! SCIM 2.0 provisioning (RFC 7643/7644): identity providers create, read, replace,
//! patch and delete Roster's users and groups, search them and send them in bulk.
//!
//! SCIM is one more door to the same use cases as the REST API, the CSV import and the
//! admin UI: a user created here goes through [`App::insert_user`] inside a live
//! transaction, so validation is the same and automatic groups follow in the same
//! commit. `roster_scim` shapes the resources, filters, PATCH and bulk messages; this
//! module maps them to Roster and decides how each query runs.
//!
//! - [`directory`]: the service provider as this deployment publishes it: the standard
//!   schemas narrowed to what Roster stores, the enterprise attributes mapped to
//!   additional fields, every additional field in Roster's extension.
//! - [`users`], [`groups`]: a stored user or group as a SCIM resource and back, and
//!   their writes.
//! - [`query`]: filters translated to indexed SQL, with an exact in-memory fallback over
//!   a bounded candidate set.
//! - [`bulk`]: `/Bulk`, operation by operation.
//!
//! Only a superadmin's token reaches SCIM: provisioning is the whole directory's business.
//! Every error is a [`ScimError`], shaped as RFC 7644 §3.12 wants it.

mod bulk;
pub mod directory;
mod groups;
pub mod query;
mod users;

use roster_scim::{ListParams, ListResponse, Page, Projection, ResourceKind, ScimError, ScimType, ServiceProvider};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use directory::{ENTERPRISE_FIELDS, MAX_PAYLOAD, MAX_RESULTS};
pub use query::MAX_CANDIDATES;

use crate::{Actor, App, AppError};

/// A resource as SCIM shows it, and what the HTTP layer puts in its headers.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResource {
    /// The resource's JSON, projected as asked.
    pub json: Value,
    /// Its weak ETag, `W/"..."`: `meta.version` and the `ETag` header.
    pub version: String,
    /// Its URL: `meta.location` and, on creation, the `Location` header.
    pub location: String,
}

/// A list request: the query string of `GET /Users`, or the body of `POST /Users/.search`.
#[derive(Debug, Clone, Copy)]
pub enum ScimSearch<'a> {
    /// `filter`, `sortBy`, `startIndex`, `count`, `attributes`... as query parameters.
    Query(ListParams<'a>),
    /// A SearchRequest message.
    Body(&'a Value),
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::BadRequest { field, message } => ScimError::invalid_value(with_field(field.as_deref(), &message)),
            AppError::Invalid(d) => ScimError::invalid_value(with_field(Some(&d.field), &d.message)),
            AppError::Rule { error, .. } => ScimError::invalid_value(error.to_string()),
            AppError::Unauthorized => ScimError::new(401, None, "a valid API token is required"),
            AppError::Forbidden(message) => ScimError::new(403, None, message),
            AppError::NotFound(what) => ScimError::not_found(format!("{what} not found")),
            AppError::Conflict { field: Some(f), message } if f == "username" || f == "name" => {
                ScimError::uniqueness(message)
            }
            AppError::Conflict { message, .. } => ScimError::conflict(message),
            AppError::TooLarge(message) => ScimError::payload_too_large(message),
            AppError::Gone(message) => ScimError::new(410, None, message),
            AppError::Internal(source) => {
                tracing::error!(error = %source, "internal error");
                ScimError::new(500, None, "something went wrong on our side; it has been logged")
            }
        }
    }
}

fn with_field(field: Option<&str>, message: &str) -> String {
    match field {
        Some(f) if !f.is_empty() => format!("{f}: {message}"),
        _ => message.to_owned(),
    }
}

/// The result of a SCIM use case.
pub type ScimResult<T> = Result<T, ScimError>;

/// Only a superadmin provisions.
fn provisioner(actor: &Actor) -> ScimResult<()> {
    actor.superadmin().map(drop).map_err(|_| ScimError::new(403, None, "SCIM provisioning needs a superadmin's token"))
}

/// A resource's version: a digest of its representation (without `meta`) and, for a group
/// (whose members are not always in it), of the last change to its memberships, so it
/// changes exactly when what a client sees does.
fn version_of(representation: &Value, membership_generation: i64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(representation.to_string().as_bytes());
    hasher.update(membership_generation.to_le_bytes());
    let digest = hex::encode(hasher.finalize());
    digest[..16].to_owned()
}

/// A path id, or 404 as for any id that is not one of ours.
fn resource_id(kind: ResourceKind, raw: &str) -> ScimResult<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| not_found(kind, raw))
}

fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::not_found(format!("no {} has the id \"{id}\"", kind.name()))
}

/// 400 mutability: the members of an automatic group follow its rule.
fn members_read_only(name: &str) -> ScimError {
    ScimError::new(
        400,
        Some(ScimType::Mutability),
        format!("\"{name}\" is an automatic group: its members follow its rule and cannot be changed over SCIM"),
    )
}

impl App {
    /// The service provider this deployment publishes at `base_url` (discovery).
    pub async fn scim_provider(&self, actor: &Actor, base_url: &str) -> ScimResult<ServiceProvider> {
        provisioner(actor)?;
        let mut conn = self.store.read().await.map_err(AppError::from)?;
        Ok(directory::Directory::load(&mut conn, base_url).await?.sp)
    }

    /// `GET /Users` or `/Groups` (and `POST .../.search`): a ListResponse.
    pub async fn scim_list(
        &self,
        actor: &Actor,
        base_url: &str,
        kind: ResourceKind,
        search: ScimSearch<'_>,
    ) -> ScimResult<Value> {
        provisioner(actor)?;
        let mut conn = self.store.read().await.map_err(AppError::from)?;
        let dir = directory::Directory::load(&mut conn, base_url).await?;
        let rt = dir.sp.resource_type(kind);
        let query = match search {
            ScimSearch::Query(params) => roster_scim::ListQuery::parse(&params, rt, MAX_RESULTS)?,
            ScimSearch::Body(body) => roster_scim::ListQuery::parse_search(body, rt, MAX_RESULTS)?,
        };
        let response = match kind {
            ResourceKind::User => query::list_users(&mut conn, &dir, &query).await?,
            ResourceKind::Group => query::list_groups(&mut conn, &dir, &query).await?,
        };
        Ok(response.to_json())
    }

    /// `POST /.search`: one search over Users then Groups. A filter that names an attribute
    /// one of them lacks searches only the other; sorting and paging run over Users, then
    /// Groups.
    pub async fn scim_search_all(&self, actor: &Actor, base_url: &str, body: &Value) -> ScimResult<Value> {
        provisioner(actor)?;
        let mut conn = self.store.read().await.map_err(AppError::from)?;
        let dir = directory::Directory::load(&mut conn, base_url).await?;
        let mut queries = Vec::new();
        let mut refused = None;
        for kind in [ResourceKind::User, ResourceKind::Group] {
            match roster_scim::ListQuery::parse_search(body, dir.sp.resource_type(kind), MAX_RESULTS) {
                Ok(q) => queries.push((kind, q)),
                Err(e) if e.scim_type() == Some(ScimType::InvalidFilter) => {
                    refused.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        let Some(page) = queries.first().map(|(_, q)| q.page) else {
            return Err(refused.unwrap_or_else(|| ScimError::invalid_filter("the filter fits no resource type")));
        };
        let (mut skip, mut room) = (page.offset(), page.count);
        let mut all = ListResponse { total_results: 0, start_index: page.start_index, resources: Vec::new() };
        for (kind, mut query) in queries {
            query.page = Page { start_index: skip + 1, count: room };
            let part = match kind {
                ResourceKind::User => query::list_users(&mut conn, &dir, &query).await?,
                ResourceKind::Group => query::list_groups(&mut conn, &dir, &query).await?,
            };
            all.total_results += part.total_results;
            skip = skip.saturating_sub(part.total_results);
            room = room.saturating_sub(part.resources.len() as u64);
            all.resources.extend(part.resources);
        }
        Ok(all.to_json())
    }

    /// `GET /Users/{id}` or `/Groups/{id}`.
    pub async fn scim_get(
        &self,
        actor: &Actor,
        base_url: &str,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
    ) -> ScimResult<ScimResource> {
        provisioner(actor)?;
        let key = resource_id(kind, id)?;
        let mut conn = self.store.read().await.map_err(AppError::from)?;
        let dir = directory::Directory::load(&mut conn, base_url).await?;
        let resource = match kind {
            ResourceKind::User => users::load(&mut conn, &dir, key).await?,
            ResourceKind::Group => {
                let members = projection.includes(dir.sp.groups(), "members");
                groups::load(&mut conn, &dir, key, members).await?.map(|g| g.resource)
            }
        };
        let resource = resource.ok_or_else(|| not_found(kind, id))?;
        Ok(project(resource, &dir.sp, kind, projection))
    }

    /// `POST /Users` or `/Groups`: creates the resource.
    pub async fn scim_create(
        &self,
        actor: &Actor,
        base_url: &str,
        kind: ResourceKind,
        body: &Value,
        projection: &Projection,
    ) -> ScimResult<ScimResource> {
        provisioner(actor)?;
        let mut tx = self.begin().await?;
        let dir = directory::Directory::load(tx.read(), base_url).await?;
        let resource = match kind {
            ResourceKind::User => self.scim_create_user(&mut tx, actor, &dir, body).await?,
            ResourceKind::Group => self.scim_create_group(&mut tx, actor, &dir, body).await?,
        };
        tx.commit().await?;
        Ok(project(resource, &dir.sp, kind, projection))
    }

    /// `PUT /Users/{id}` or `/Groups/{id}`: replaces the resource, if it still has the
    /// version `if_match` names.
    #[expect(
        clippy::too_many_arguments,
        reason = "a SCIM write names its caller, target, body, precondition and projection"
    )]
    pub async fn scim_replace(
        &self,
        actor: &Actor,
        base_url: &str,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> ScimResult<ScimResource> {
        provisioner(actor)?;
        let key = resource_id(kind, id)?;
        let mut tx = self.begin().await?;
        let dir = directory::Directory::load(tx.read(), base_url).await?;
        let resource = match kind {
            ResourceKind::User => self.scim_replace_user(&mut tx, actor, &dir, key, body, if_match).await?,
            ResourceKind::Group => self.scim_replace_group(&mut tx, actor, &dir, key, body, if_match).await?,
        };
        tx.commit().await?;
        Ok(project(resource, &dir.sp, kind, projection))
    }

    /// `PATCH /Users/{id}` or `/Groups/{id}`: applies a PatchOp request, all or nothing.
    #[expect(
        clippy::too_many_arguments,
        reason = "a SCIM write names its caller, target, body, precondition and projection"
    )]
    pub async fn scim_patch(
        &self,
        actor: &Actor,
        base_url: &str,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> ScimResult<ScimResource> {
        provisioner(actor)?;
        let key = resource_id(kind, id)?;
        let request = roster_scim::PatchRequest::parse(body)?;
        let mut tx = self.begin().await?;
        let dir = directory::Directory::load(tx.read(), base_url).await?;
        let resource = match kind {
            ResourceKind::User => self.scim_patch_user(&mut tx, actor, &dir, key, &request, if_match).await?,
            ResourceKind::Group => self.scim_patch_group(&mut tx, actor, &dir, key, &request, if_match).await?,
        };
        tx.commit().await?;
        Ok(project(resource, &dir.sp, kind, projection))
    }

    /// `DELETE /Users/{id}` or `/Groups/{id}`.
    pub async fn scim_delete(
        &self,
        actor: &Actor,
        base_url: &str,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
    ) -> ScimResult<()> {
        provisioner(actor)?;
        let key = resource_id(kind, id)?;
        let mut tx = self.begin().await?;
        let dir = directory::Directory::load(tx.read(), base_url).await?;
        match kind {
            ResourceKind::User => {
                let current = users::load(tx.read(), &dir, key).await?.ok_or_else(|| not_found(kind, id))?;
                roster_scim::etag::check_if_match(if_match, Some(&current.version))?;
                self.remove_user(&mut tx, actor, &dir.reach, key).await?;
            }
            ResourceKind::Group => {
                let current = groups::load(tx.read(), &dir, key, false).await?.ok_or_else(|| not_found(kind, id))?;
                roster_scim::etag::check_if_match(if_match, Some(&current.resource.version))?;
                self.remove_group(&mut tx, actor, &key.to_string()).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// `POST /Bulk`: runs the operations one by one, each in its own transaction.
    pub async fn scim_bulk(&self, actor: &Actor, base_url: &str, body: &[u8]) -> ScimResult<Value> {
        provisioner(actor)?;
        bulk::run(self, actor, base_url, body).await
    }
}

/// Applies `attributes` / `excludedAttributes` to a resource's JSON.
fn project(resource: ScimResource, sp: &ServiceProvider, kind: ResourceKind, projection: &Projection) -> ScimResource {
    let json = shown(projection, &resource.json, sp.resource_type(kind));
    ScimResource { json, ..resource }
}

/// A resource as a response shows it: projected, its `schemas` listing only the
/// extensions whose attributes it still holds.
pub(crate) fn shown(projection: &Projection, resource: &Value, rt: &roster_scim::schema::ResourceType) -> Value {
    let mut json = projection.apply(resource, rt);
    if let Some(map) = json.as_object_mut() {
        let present: Vec<String> =
            rt.extensions.iter().map(|e| e.schema.id.clone()).filter(|id| map.contains_key(id)).collect();
        if let Some(Value::Array(schemas)) = map.get_mut("schemas") {
            schemas.retain(|s| s.as_str().is_none_or(|s| s == rt.schema.id || present.iter().any(|p| p == s)));
        }
    }
    json
}
