//! `/scim/v2`: SCIM 2.0 (RFC 7644) over HTTP. Handlers read the request — bearer token,
//! base URL, query parameters, JSON body in `application/scim+json` or
//! `application/json`, `If-Match` / `If-None-Match` — call one `App::scim_*` use case,
//! and answer in `application/scim+json` with `ETag`, `Location` on 201, and errors in
//! the SCIM error format (401 with `WWW-Authenticate`).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, HOST, IF_MATCH, IF_NONE_MATCH, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use roster_app::scim::{ScimResource, ScimSearch, MAX_PAYLOAD};
use roster_app::{Actor, App};
use roster_scim::{etag, ListParams, Projection, ResourceKind, ScimError};
use serde_json::Value;

use crate::routes::Routes;

/// Where the SCIM API is mounted.
pub const PREFIX: &str = "/scim/v2";

const SCIM_JSON: &str = "application/scim+json";

/// An answer: a status, an optional SCIM JSON body and its headers.
#[derive(Debug)]
pub struct ScimReply {
    status: StatusCode,
    body: Option<Value>,
    headers: HeaderMap,
}

impl ScimReply {
    fn json(status: StatusCode, body: Value) -> Self {
        Self { status, body: Some(body), headers: HeaderMap::new() }
    }

    /// A single resource: its JSON, with `ETag` (and `Location` when created).
    fn resource(status: StatusCode, resource: ScimResource) -> Self {
        let mut reply = Self::json(status, resource.json);
        if let Ok(v) = HeaderValue::from_str(&resource.version) {
            reply.headers.insert(ETAG, v);
        }
        if status == StatusCode::CREATED {
            if let Ok(v) = HeaderValue::from_str(&resource.location) {
                reply.headers.insert(LOCATION, v);
            }
        }
        reply
    }

    fn empty(status: StatusCode) -> Self {
        Self { status, body: None, headers: HeaderMap::new() }
    }
}

impl IntoResponse for ScimReply {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => (self.status, body.to_string()).into_response(),
            None => self.status.into_response(),
        };
        if self.status != StatusCode::NO_CONTENT && self.status != StatusCode::NOT_MODIFIED {
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        }
        response.headers_mut().extend(self.headers);
        response
    }
}

/// A SCIM error on its way to the client.
#[derive(Debug)]
pub struct ScimFailure(pub ScimError);

impl From<ScimError> for ScimFailure {
    fn from(e: ScimError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ScimFailure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = ScimReply::json(status, self.0.to_json()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"roster\""));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The body was refused unread: the connection cannot carry another request.
            response.headers_mut().insert(axum::http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

type Answer = Result<ScimReply, ScimFailure>;

/// The authenticated caller and the base URL the client reached us at.
#[derive(Debug, Clone)]
pub struct Caller {
    actor: Actor,
    base_url: String,
}

impl FromRequestParts<App> for Caller {
    type Rejection = ScimFailure;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let unauthorized = || ScimFailure(ScimError::new(401, None, "a valid bearer token is required"));
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::extract::bearer_token)
            .ok_or_else(unauthorized)?;
        let actor = app.authenticate_token(token).await.map_err(ScimError::from)?;
        // Provisioning is a superadmin's: refused here, before any body is read, so a
        // caller without the right learns nothing from how its request would be judged.
        if actor.superadmin().is_err() {
            return Err(ScimFailure(ScimError::new(403, None, "SCIM provisioning needs a superadmin's token")));
        }
        let host = parts
            .headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        let scheme = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .filter(|p| *p == "https" || *p == "http")
            .unwrap_or("http");
        Ok(Self { actor, base_url: format!("{scheme}://{host}{PREFIX}") })
    }
}

/// A JSON body sent as `application/scim+json` or `application/json`, within the limit.
#[derive(Debug)]
pub struct ScimBody(Bytes);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
        if let Some(ct) = content_type.filter(|ct| !ct.is_empty()) {
            let essence = ct.split(';').next().unwrap_or_default().trim().to_owned();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(ScimFailure(ScimError::new(
                    415,
                    None,
                    format!("send the body as {SCIM_JSON} (or application/json), not {essence}"),
                )));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimFailure(ScimError::payload_too_large(format!(
                    "the request body is over {MAX_PAYLOAD} bytes (maxPayloadSize)"
                )))
            } else {
                ScimFailure(ScimError::invalid_syntax("the request body could not be read"))
            }
        })?;
        Ok(Self(bytes))
    }
}

impl ScimBody {
    fn json(&self) -> Result<Value, ScimFailure> {
        Ok(roster_scim::decode_body(&self.0)?)
    }
}

/// The query parameters of a request, by name (any case).
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<&str>) -> Self {
        Self(form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn list(&self) -> ListParams<'_> {
        ListParams {
            filter: self.get("filter"),
            sort_by: self.get("sortBy"),
            sort_order: self.get("sortOrder"),
            start_index: self.get("startIndex"),
            count: self.get("count"),
            attributes: self.get("attributes"),
            excluded_attributes: self.get("excludedAttributes"),
        }
    }

    fn projection(&self) -> Result<Projection, ScimFailure> {
        Ok(Projection::parse(self.get("attributes"), self.get("excludedAttributes"))?)
    }
}

fn header(headers: &HeaderMap, name: axum::http::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn service_provider_config(State(app): State<App>, caller: Caller) -> Answer {
    let sp = app.scim_provider(&caller.actor, &caller.base_url).await?;
    Ok(ScimReply::json(StatusCode::OK, sp.service_provider_config()))
}

async fn schemas(State(app): State<App>, caller: Caller) -> Answer {
    let sp = app.scim_provider(&caller.actor, &caller.base_url).await?;
    Ok(ScimReply::json(StatusCode::OK, sp.schemas_document()))
}

async fn schema(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> Answer {
    let sp = app.scim_provider(&caller.actor, &caller.base_url).await?;
    let doc = sp.schema_document(&id).ok_or_else(|| ScimError::not_found(format!("no schema \"{id}\"")))?;
    Ok(ScimReply::json(StatusCode::OK, doc))
}

async fn resource_types(State(app): State<App>, caller: Caller) -> Answer {
    let sp = app.scim_provider(&caller.actor, &caller.base_url).await?;
    Ok(ScimReply::json(StatusCode::OK, sp.resource_types_document()))
}

async fn resource_type(State(app): State<App>, caller: Caller, Path(name): Path<String>) -> Answer {
    let sp = app.scim_provider(&caller.actor, &caller.base_url).await?;
    let doc =
        sp.resource_type_document(&name).ok_or_else(|| ScimError::not_found(format!("no resource type \"{name}\"")))?;
    Ok(ScimReply::json(StatusCode::OK, doc))
}

async fn list(kind: ResourceKind, app: App, caller: Caller, query: Option<String>) -> Answer {
    let params = Params::parse(query.as_deref());
    let search = ScimSearch::Query(params.list());
    let page = app.scim_list(&caller.actor, &caller.base_url, kind, search).await?;
    Ok(ScimReply::json(StatusCode::OK, page))
}

async fn search(kind: ResourceKind, app: App, caller: Caller, body: ScimBody) -> Answer {
    let body = body.json()?;
    let page = app.scim_list(&caller.actor, &caller.base_url, kind, ScimSearch::Body(&body)).await?;
    Ok(ScimReply::json(StatusCode::OK, page))
}

async fn create(kind: ResourceKind, app: App, caller: Caller, query: Option<String>, body: ScimBody) -> Answer {
    let projection = Params::parse(query.as_deref()).projection()?;
    let body = body.json()?;
    let created = app.scim_create(&caller.actor, &caller.base_url, kind, &body, &projection).await?;
    Ok(ScimReply::resource(StatusCode::CREATED, created))
}

async fn read(
    kind: ResourceKind,
    app: App,
    caller: Caller,
    id: String,
    query: Option<String>,
    headers: HeaderMap,
) -> Answer {
    let projection = Params::parse(query.as_deref()).projection()?;
    let resource = app.scim_get(&caller.actor, &caller.base_url, kind, &id, &projection).await?;
    if let Some(tags) = header(&headers, IF_NONE_MATCH) {
        if !etag::if_none_match(tags, Some(&resource.version)) {
            let mut reply = ScimReply::empty(StatusCode::NOT_MODIFIED);
            if let Ok(v) = HeaderValue::from_str(&resource.version) {
                reply.headers.insert(ETAG, v);
            }
            return Ok(reply);
        }
    }
    Ok(ScimReply::resource(StatusCode::OK, resource))
}

async fn replace(
    kind: ResourceKind,
    app: App,
    caller: Caller,
    id: String,
    query: Option<String>,
    headers: HeaderMap,
    body: ScimBody,
) -> Answer {
    let projection = Params::parse(query.as_deref()).projection()?;
    let body = body.json()?;
    let if_match = header(&headers, IF_MATCH);
    let resource = app.scim_replace(&caller.actor, &caller.base_url, kind, &id, &body, if_match, &projection).await?;
    Ok(ScimReply::resource(StatusCode::OK, resource))
}

async fn modify(
    kind: ResourceKind,
    app: App,
    caller: Caller,
    id: String,
    query: Option<String>,
    headers: HeaderMap,
    body: ScimBody,
) -> Answer {
    let projection = Params::parse(query.as_deref()).projection()?;
    let body = body.json()?;
    let if_match = header(&headers, IF_MATCH);
    let resource = app.scim_patch(&caller.actor, &caller.base_url, kind, &id, &body, if_match, &projection).await?;
    Ok(ScimReply::resource(StatusCode::OK, resource))
}

async fn remove(kind: ResourceKind, app: App, caller: Caller, id: String, headers: HeaderMap) -> Answer {
    app.scim_delete(&caller.actor, &caller.base_url, kind, &id, header(&headers, IF_MATCH)).await?;
    Ok(ScimReply::empty(StatusCode::NO_CONTENT))
}

async fn search_all(State(app): State<App>, caller: Caller, body: ScimBody) -> Answer {
    let body = body.json()?;
    let page = app.scim_search_all(&caller.actor, &caller.base_url, &body).await?;
    Ok(ScimReply::json(StatusCode::OK, page))
}

async fn bulk(State(app): State<App>, caller: Caller, body: ScimBody) -> Answer {
    let response = app.scim_bulk(&caller.actor, &caller.base_url, &body.0).await?;
    Ok(ScimReply::json(StatusCode::OK, response))
}

async fn not_found() -> ScimFailure {
    ScimFailure(ScimError::not_found("no SCIM endpoint at this path"))
}

async fn method_not_allowed() -> ScimFailure {
    ScimFailure(ScimError::new(405, None, "this endpoint does not take that method"))
}

/// The routes of one resource type: `/Users`, `/Users/.search`, `/Users/{id}`.
fn resource_routes(kind: ResourceKind) -> Routes<App> {
    let collection: MethodRouter<App> =
        get(move |State(app): State<App>, caller: Caller, RawQuery(q): RawQuery| list(kind, app, caller, q))
            .post(move |State(app): State<App>, caller: Caller, RawQuery(q): RawQuery, body: ScimBody| {
                create(kind, app, caller, q, body)
            })
            .fallback(method_not_allowed);
    let searching = post(move |State(app): State<App>, caller: Caller, body: ScimBody| search(kind, app, caller, body))
        .fallback(method_not_allowed);
    let one: MethodRouter<App> = get(
        move |State(app): State<App>, caller: Caller, Path(id): Path<String>, RawQuery(q): RawQuery, h: HeaderMap| {
            read(kind, app, caller, id, q, h)
        },
    )
    .put(
        move |State(app): State<App>,
              caller: Caller,
              Path(id): Path<String>,
              RawQuery(q): RawQuery,
              h: HeaderMap,
              body: ScimBody| { replace(kind, app, caller, id, q, h, body) },
    )
    .patch(
        move |State(app): State<App>,
              caller: Caller,
              Path(id): Path<String>,
              RawQuery(q): RawQuery,
              h: HeaderMap,
              body: ScimBody| { modify(kind, app, caller, id, q, h, body) },
    )
    .delete(move |State(app): State<App>, caller: Caller, Path(id): Path<String>, h: HeaderMap| {
        remove(kind, app, caller, id, h)
    })
    .fallback(method_not_allowed);
    let endpoint = kind.endpoint();
    Routes::new()
        .route(endpoint, collection)
        .route(&format!("{endpoint}/.search"), searching)
        .route(&format!("{endpoint}/{{id}}"), one)
}

/// The `/scim/v2` routes.
pub fn router() -> Routes<App> {
    let read_only = |handler: MethodRouter<App>| handler.fallback(method_not_allowed);
    Routes::new()
        .route("/ServiceProviderConfig", read_only(get(service_provider_config)))
        .route("/Schemas", read_only(get(schemas)))
        .route("/Schemas/{id}", read_only(get(schema)))
        .route("/ResourceTypes", read_only(get(resource_types)))
        .route("/ResourceTypes/{name}", read_only(get(resource_type)))
        .route("/Bulk", post(bulk).fallback(method_not_allowed))
        .route("/.search", post(search_all).fallback(method_not_allowed))
        .merge(resource_routes(ResourceKind::User))
        .merge(resource_routes(ResourceKind::Group))
        .map(|r| r.fallback(not_found).layer(DefaultBodyLimit::max(MAX_PAYLOAD)))
}
