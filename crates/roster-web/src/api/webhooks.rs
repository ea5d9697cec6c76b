//! `/webhooks`: subscriptions that push the change feed to a URL. A superadmin sees
//! and changes every one; a training admin subscribes to groups it manages and sees
//! only its own (any other is 404 to it), which carry only what it may see.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use roster_app::webhooks::{DeliveryView, NewWebhook, TestSendView, WebhookPatch, WebhookView};
use roster_app::App;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authenticated};

/// The subscriptions the caller sees: a superadmin every one, a training admin its own.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<WebhookView>), (status = 403, body = ErrorBody)))]
pub async fn list(State(app): State<App>, Authenticated(actor): Authenticated) -> ApiResult<Json<Vec<WebhookView>>> {
    Ok(Json(app.list_webhooks(&actor).await?))
}

/// Subscribe a URL to the changes made from now on; the answer holds the signing
/// secret. A training admin names one or more `groups` it manages.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = WebhookView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    ApiJson(input): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    Ok((StatusCode::CREATED, Json(app.create_webhook(&actor, input).await?)))
}

/// One subscription, with its state.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    responses((status = 200, body = WebhookView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(app.get_webhook(&actor, &id).await?))
}

/// Change the URL or kinds, or pause (`{"paused": true}`) or resume a subscription.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", request_body = WebhookPatch,
    responses((status = 200, body = WebhookView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(app.update_webhook(&actor, &id, patch).await?))
}

/// Delete a subscription and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.delete_webhook(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The last 100 delivery attempts, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = ErrorBody)))]
pub async fn deliveries(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    Ok(Json(app.webhook_deliveries(&actor, &id).await?))
}

/// Send a signed test message (`"type": "roster.test"`) to the subscription's URL now,
/// and say what the receiver answered. The delivery log and the feed are not touched.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks",
    responses((status = 200, body = TestSendView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn test(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<TestSendView>> {
    Ok(Json(app.test_webhook(&actor, &id).await?))
}

/// Send a logged delivery's batch again, now, with the same `webhook-id` (receivers
/// dedupe by it), and answer the new attempt as logged. The batch still waiting to be
/// delivered counts as its next attempt: delivered, the subscription moves on.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", tag = "webhooks",
    responses((status = 200, body = DeliveryView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 410, body = ErrorBody)))]
pub async fn resend(
    State(app): State<App>,
    Authenticated(actor): Authenticated,
    Path((id, delivery)): Path<(String, String)>,
) -> ApiResult<Json<DeliveryView>> {
    Ok(Json(app.resend_webhook_delivery(&actor, &id, &delivery).await?))
}
