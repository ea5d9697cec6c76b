//! `/Bulk` (RFC 7644 §3.7): each operation runs as the matching single request would, in
//! its own transaction, after the POSTs whose `bulkId` it references; a failed operation
//! does not undo the others, and the run stops once `failOnErrors` errors occurred.

use std::collections::HashMap;

use roster_scim::bulk::{BulkOperationResult, BulkResponse};
use roster_scim::{BulkMethod, BulkOperation, BulkRequest, Limits, Projection, ResolvedOperation};
use serde_json::Value;

use super::directory::{MAX_BULK_OPERATIONS, MAX_PAYLOAD, MAX_RESULTS};
use super::{ScimResource, ScimResult};
use crate::{Actor, App};

pub(super) async fn run(app: &App, actor: &Actor, base_url: &str, body: &[u8]) -> ScimResult<Value> {
    let limits = Limits {
        max_results: MAX_RESULTS,
        bulk_max_operations: MAX_BULK_OPERATIONS,
        bulk_max_payload_size: MAX_PAYLOAD,
    };
    let request = BulkRequest::parse(body, &limits)?;
    let mut created: HashMap<String, String> = HashMap::new();
    let mut response = BulkResponse::default();
    for i in request.execution_order() {
        if request.should_stop(response.errors()) {
            break;
        }
        let Some(op) = request.operations.get(i) else { continue };
        let outcome = match op.resolve(&created) {
            Ok(resolved) => execute(app, actor, base_url, op, resolved).await,
            Err(e) => Err(e),
        };
        response.operations.push(match outcome {
            Ok((status, resource)) => {
                if let (Some(bulk_id), Some(id)) = (&op.bulk_id, resource.as_ref().and_then(|r| r.json["id"].as_str()))
                {
                    created.insert(bulk_id.clone(), id.to_owned());
                }
                let (location, version) = resource.map(|r| (r.location, r.version)).unzip();
                BulkOperationResult::success(op, status, location, version)
            }
            Err(e) => BulkOperationResult::failure(op, &e),
        });
    }
    Ok(response.to_json())
}

/// Runs one resolved operation: its status and, unless it deleted, the resource.
async fn execute(
    app: &App,
    actor: &Actor,
    base_url: &str,
    op: &BulkOperation,
    resolved: ResolvedOperation,
) -> ScimResult<(u16, Option<ScimResource>)> {
    let all = Projection::default();
    let data = resolved.data.unwrap_or(Value::Null);
    let id = resolved.id.unwrap_or_default();
    let version = op.version.as_deref();
    Ok(match resolved.method {
        BulkMethod::Post => (201, Some(app.scim_create(actor, base_url, resolved.kind, &data, &all).await?)),
        BulkMethod::Put => {
            (200, Some(app.scim_replace(actor, base_url, resolved.kind, &id, &data, version, &all).await?))
        }
        BulkMethod::Patch => {
            (200, Some(app.scim_patch(actor, base_url, resolved.kind, &id, &data, version, &all).await?))
        }
        BulkMethod::Delete => {
            app.scim_delete(actor, base_url, resolved.kind, &id, version).await?;
            (204, None)
        }
    })
}
