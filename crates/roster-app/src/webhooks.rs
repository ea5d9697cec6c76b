//! Webhooks: the change feed pushed to a URL, signed as the Standard Webhooks
//! convention says. The outbox is the feed itself: each subscription keeps the feed
//! cursor it was delivered up to, so a committed change is delivered (at least once)
//! and a rolled-back one was never in the feed. One worker delivers across the cluster
//! (a PostgreSQL advisory lock), in order per subscription, a batch of up to
//! [`BATCH`] changes per request; a failed batch is retried, the same `webhook-id`
//! each time, with exponential backoff, and a subscription failing for a day is paused.
//!
//! A superadmin sees and changes every subscription. A training admin subscribes to
//! groups it manages, sees only the subscriptions it made, and they carry what it may
//! see: each batch is read from the feed as its owner, resolved afresh, reads it.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use utoipa::ToSchema;

use crate::feed::{ChangesQuery, KINDS};
use crate::reach::Reach;
use crate::{parse_id, Actor, App, AppError, AppResult, Role};
use roster_store::webhooks::{Delivery, Webhook};

/// The advisory lock key of the delivery worker.
const WORKER_LOCK_KEY: i64 = 0x5768_6f6f_6b73; // "Whooks"
/// Changes per request.
const BATCH: usize = 500;
/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 3_600_000;
/// A subscription failing this long is paused.
const GIVE_UP_MS: i64 = 24 * 3_600_000;

/// A subscription to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to POST: an http or https URL.
    pub url: String,
    /// The kinds of change to deliver (see `/changes`); all when absent or empty.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Only changes about this group (the same as `groups` with one).
    #[serde(default)]
    pub group: Option<String>,
    /// Only changes about these groups: their memberships, the enrollments their rules
    /// make, and the groups themselves. Every change when absent; a training admin
    /// names one or more groups it manages.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Changes to a subscription.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// A new URL.
    pub url: Option<String>,
    /// New kinds (empty: all).
    pub kinds: Option<Vec<String>>,
    /// New groups (empty: every change; a training admin's needs one or more).
    pub groups: Option<Vec<String>>,
    /// `true` pauses deliveries; `false` resumes them at once.
    pub paused: Option<bool>,
}

/// What a test message to a subscription's URL got.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestSendView {
    /// Whether the receiver answered 2xx.
    pub delivered: bool,
    /// The message's `webhook-id`.
    pub webhook_id: String,
    /// The receiver's status code, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<i64>,
    /// What went wrong, when it was not delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A subscription as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    /// Its id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The kinds delivered (empty: all).
    pub kinds: Vec<String>,
    /// The groups it is limited to (empty: every change).
    pub groups: Vec<String>,
    /// The signing secret (`whsec_...`): verify `webhook-signature` with it.
    pub secret: String,
    /// `active`, `retrying` (the last attempt failed) or `paused`.
    pub state: String,
    /// Why it is paused or retrying, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The change feed cursor delivered up to.
    pub delivered_after: String,
    /// Who made it (`admin:alice`, `token:hr-sync`): its deliveries carry what its
    /// maker may see.
    pub created_by: String,
    /// Since when every attempt has failed, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
    /// When the next attempt is due, while retrying, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// The newest attempt in its log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_delivery: Option<DeliveryView>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Its id in the log (to send its batch again).
    pub id: String,
    /// The `webhook-id` sent (the same for every attempt at one batch).
    pub message_id: String,
    /// When, RFC 3339.
    pub at: String,
    /// Changes in the batch.
    pub items: i64,
    /// Which attempt at the batch.
    pub attempt: i64,
    /// `sending` (under way), `delivered` or `failed` (an attempt cut short by the
    /// server stopping is `failed`, "interrupted").
    pub status: String,
    /// The receiver's HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<i64>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<Webhook> for WebhookView {
    fn from(h: Webhook) -> Self {
        let (state, note) = match (h.paused_at, h.failing_since) {
            (Some(_), Some(since)) => (
                "paused",
                Some(format!("failing since {}; resume with {{\"paused\": false}}", crate::clock::rfc3339(since))),
            ),
            (Some(_), None) => ("paused", Some("paused; resume with {\"paused\": false}".to_owned())),
            (None, Some(since)) => ("retrying", Some(format!("failing since {}", crate::clock::rfc3339(since)))),
            (None, None) => ("active", None),
        };
        Self {
            id: h.id.to_string(),
            url: h.url,
            kinds: h.kinds,
            groups: h.group_ids.iter().map(i64::to_string).collect(),
            secret: h.secret,
            state: state.to_owned(),
            note,
            delivered_after: h.after,
            created_by: h.created_by,
            failing_since: h.failing_since.map(crate::clock::rfc3339),
            next_attempt_at: (h.failing_since.is_some() && h.paused_at.is_none())
                .then(|| crate::clock::rfc3339(h.next_attempt_at)),
            last_delivery: None,
        }
    }
}

impl App {
    /// Subscribes a URL to the change feed from now on. A training admin's follows one
    /// or more groups it manages.
    pub async fn create_webhook(&self, actor: &Actor, input: NewWebhook) -> AppResult<WebhookView> {
        let url = check_url(&input.url)?;
        let kinds = check_kinds(&input.kinds)?;
        let mut tx = self.bookkeeping().await?;
        let group_ids = match (&input.group, input.groups.is_empty()) {
            (Some(one), true) => check_groups(&mut tx, actor, std::slice::from_ref(one), "group").await?,
            (Some(_), false) => return Err(AppError::invalid("group", "give group or groups, not both")),
            (None, _) => check_groups(&mut tx, actor, &input.groups, "groups").await?,
        };
        let after = roster_store::feed::last(&mut tx).await?.to_string();
        let secret: [u8; 24] = rand::random();
        let mut hook = Webhook {
            id: 0,
            url,
            secret: format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(secret)),
            kinds,
            group_ids,
            after,
            created_at: self.now(),
            created_by: actor.name().to_owned(),
            owner_role: actor.role().as_str().to_owned(),
            attempts: 0,
            next_attempt_at: 0,
            failing_since: None,
            paused_at: None,
        };
        hook.id = roster_store::webhooks::insert(&mut tx, &hook).await?;
        tx.commit().await?;
        Ok(hook.into())
    }

    /// The subscriptions the caller sees (a superadmin every one, a training admin its
    /// own), each with its newest delivery.
    pub async fn list_webhooks(&self, actor: &Actor) -> AppResult<Vec<WebhookView>> {
        let mut conn = self.store.read().await?;
        let mut views = Vec::new();
        for hook in roster_store::webhooks::all(&mut conn).await?.into_iter().filter(|h| sees(actor, h)) {
            let last = roster_store::webhooks::deliveries(&mut conn, hook.id, 1).await?;
            let mut view = WebhookView::from(hook);
            view.last_delivery = last.into_iter().next().map(DeliveryView::from);
            views.push(view);
        }
        Ok(views)
    }

    /// Sends a signed test message (`"type": "roster.test"`) to a subscription's URL
    /// now, whatever its state, and says what the receiver answered. It is not a change:
    /// the delivery log and the subscription's place in the feed stay as they were.
    pub async fn test_webhook(&self, actor: &Actor, id: &str) -> AppResult<TestSendView> {
        let hook = {
            let mut conn = self.store.read().await?;
            webhook(&mut conn, actor, id).await?
        };
        let http = Self::webhook_client()?;
        let now = self.now();
        let message_id = format!("msg_{}_test_{now}", hook.id);
        let body = serde_json::json!({
            "type": "roster.test",
            "timestamp": crate::clock::rfc3339(now),
            "data": {"webhook": hook.id.to_string()},
        });
        let (response_code, error) = post_signed(&http, &hook, &message_id, now, body.to_string()).await?;
        Ok(TestSendView { delivered: error.is_none(), webhook_id: message_id, response_code, error })
    }

    /// One subscription the caller sees, with its newest delivery.
    pub async fn get_webhook(&self, actor: &Actor, id: &str) -> AppResult<WebhookView> {
        let mut conn = self.store.read().await?;
        let hook = webhook(&mut conn, actor, id).await?;
        let last = roster_store::webhooks::deliveries(&mut conn, hook.id, 1).await?;
        let mut view = WebhookView::from(hook);
        view.last_delivery = last.into_iter().next().map(DeliveryView::from);
        Ok(view)
    }

    /// Changes a subscription's URL, kinds or groups, or pauses or resumes it.
    pub async fn update_webhook(&self, actor: &Actor, id: &str, patch: WebhookPatch) -> AppResult<WebhookView> {
        let mut tx = self.bookkeeping().await?;
        let mut hook = webhook(&mut tx, actor, id).await?;
        if let Some(url) = &patch.url {
            hook.url = check_url(url)?;
        }
        if let Some(kinds) = &patch.kinds {
            hook.kinds = check_kinds(kinds)?;
        }
        if let Some(groups) = &patch.groups {
            hook.group_ids = check_groups(&mut tx, actor, groups, "groups").await?;
        }
        match patch.paused {
            Some(true) if hook.paused_at.is_none() => hook.paused_at = Some(self.now()),
            Some(false) => {
                hook.paused_at = None;
                hook.failing_since = None;
                hook.attempts = 0;
                hook.next_attempt_at = 0;
            }
            _ => {}
        }
        roster_store::webhooks::update(&mut tx, &hook).await?;
        tx.commit().await?;
        Ok(hook.into())
    }

    /// Deletes a subscription and its log.
    pub async fn delete_webhook(&self, actor: &Actor, id: &str) -> AppResult<()> {
        let mut tx = self.bookkeeping().await?;
        let hook = webhook(&mut tx, actor, id).await?;
        if !roster_store::webhooks::delete(&mut tx, hook.id).await? {
            return Err(AppError::NotFound("webhook".into()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// A subscription's last 100 delivery attempts, newest first.
    pub async fn webhook_deliveries(&self, actor: &Actor, id: &str) -> AppResult<Vec<DeliveryView>> {
        let mut conn = self.store.read().await?;
        let hook = webhook(&mut conn, actor, id).await?;
        let log = roster_store::webhooks::deliveries(&mut conn, hook.id, 100).await?;
        Ok(log.into_iter().map(DeliveryView::from).collect())
    }

    /// Sends a logged delivery's batch again, now, with the same `webhook-id` (the
    /// receiver dedupes: delivery is at least once), and logs the attempt. The batch
    /// waiting to be delivered is sent as its next attempt: delivered, the subscription
    /// moves on. A batch delivered before is only sent and logged.
    pub async fn resend_webhook_delivery(&self, actor: &Actor, id: &str, delivery: &str) -> AppResult<DeliveryView> {
        let (mut hook, logged) = {
            let mut conn = self.store.read().await?;
            let hook = webhook(&mut conn, actor, id).await?;
            let delivery = parse_id("delivery", delivery)?;
            let logged = roster_store::webhooks::delivery(&mut conn, hook.id, delivery)
                .await?
                .ok_or_else(|| AppError::NotFound("delivery".into()))?;
            (hook, logged)
        };
        let after = logged
            .message_id
            .strip_prefix(&format!("msg_{}_", hook.id))
            .ok_or_else(|| AppError::Internal(crate::Internal::Invariant("a delivery names no batch".into())))?
            .to_owned();
        let Some(owner) = self.webhook_owner(&hook).await? else {
            return Err(AppError::Conflict { field: None, message: owner_gone(&hook) });
        };
        let limit = usize::try_from(logged.items).unwrap_or(BATCH).clamp(1, BATCH);
        let page = self.changes(&owner, &batch_query(&hook, &after, limit)).await.map_err(|e| match e {
            AppError::Gone(_) => AppError::Gone(
                "this batch is older than the change feed keeps, so it can no longer be sent again".into(),
            ),
            e => e,
        })?;
        if page.items.is_empty() {
            return Err(AppError::Conflict {
                field: None,
                message: "nothing of this batch is left to send: the changes it held are no longer delivered \
                          to this subscription"
                    .into(),
            });
        }
        let http = Self::webhook_client()?;
        if after == hook.after {
            self.send(&http, &mut hook, &page).await?;
            let mut conn = self.store.read().await?;
            let newest = roster_store::webhooks::deliveries(&mut conn, hook.id, 1).await?;
            return newest
                .into_iter()
                .next()
                .map(DeliveryView::from)
                .ok_or_else(|| AppError::Internal(crate::Internal::Invariant("a delivery was not logged".into())));
        }
        let now = self.now();
        let body = batch_body(now, &page);
        let (response_code, error) = post_signed(&http, &hook, &logged.message_id, now, body).await?;
        let mut tx = self.bookkeeping().await?;
        let attempt = roster_store::webhooks::attempts_at(&mut tx, hook.id, &logged.message_id).await? + 1;
        let delivery = Delivery {
            id: 0,
            message_id: logged.message_id,
            at: now,
            items: page.items.len() as i64,
            attempt,
            status: if error.is_none() { "delivered" } else { "failed" }.to_owned(),
            response_code,
            error,
        };
        roster_store::webhooks::log(&mut tx, hook.id, &delivery).await?;
        let newest = roster_store::webhooks::deliveries(&mut tx, hook.id, 1).await?;
        tx.commit().await?;
        newest
            .into_iter()
            .next()
            .map(DeliveryView::from)
            .ok_or_else(|| AppError::Internal(crate::Internal::Invariant("a delivery was not logged".into())))
    }

    /// The HTTP client deliveries go through: it follows no redirect.
    pub fn webhook_client() -> AppResult<reqwest::Client> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .map_err(|_| AppError::Internal(crate::Internal::Invariant("no HTTP client for webhooks".into())))
    }

    /// Delivers webhooks for as long as the server runs: every second, what is due,
    /// by whichever process holds the worker's lock.
    pub async fn run_webhooks(self) {
        let http = match Self::webhook_client() {
            Ok(http) => http,
            Err(e) => return tracing::error!(error = %e, "webhooks will not be delivered"),
        };
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = self.deliver_webhooks(&http).await {
                tracing::error!(error = %e, "delivering webhooks failed; retrying in a second");
            }
        }
    }

    /// Delivers what is due to every active subscription, if no other process is doing
    /// so; returns how many batches were delivered.
    pub async fn deliver_webhooks(&self, http: &reqwest::Client) -> AppResult<usize> {
        let done = self.store.once_across_processes(WORKER_LOCK_KEY, || self.deliver_due(http)).await?;
        done.unwrap_or(Ok(0))
    }

    async fn deliver_due(&self, http: &reqwest::Client) -> AppResult<usize> {
        let hooks = {
            let mut conn = self.store.read().await?;
            roster_store::webhooks::all(&mut conn).await?
        };
        let mut delivered = 0;
        for mut hook in hooks {
            if hook.paused_at.is_some() || hook.next_attempt_at > self.now() {
                continue;
            }
            let Some(owner) = self.webhook_owner(&hook).await? else {
                self.pause_ownerless(&mut hook).await?;
                continue;
            };
            // In order per subscription: its batches go one after another, until one fails.
            while hook.paused_at.is_none() && hook.next_attempt_at <= self.now() {
                // A batch already attempted (it may have been received) goes again as
                // it went: the same changes under the same `webhook-id`, however many
                // were committed after it since.
                let last = {
                    let mut conn = self.store.read().await?;
                    roster_store::webhooks::deliveries(&mut conn, hook.id, 1).await?.pop()
                };
                let again = last.filter(|d| d.message_id == message_id(&hook) && d.status != "delivered");
                if let Some(d) = again.as_ref().filter(|d| d.status == "sending") {
                    // Cut short by a stop: it counts as an attempt.
                    hook.attempts = hook.attempts.max(d.attempt);
                }
                let limit = again.map_or(BATCH, |d| usize::try_from(d.items).unwrap_or(BATCH).clamp(1, BATCH));
                let page = self.changes(&owner, &batch_query(&hook, &hook.after, limit)).await?;
                if page.items.is_empty() {
                    if page.next_cursor != hook.after {
                        // Filtered out: nothing to send, but the cursor moves on.
                        hook.after = page.next_cursor;
                        let mut tx = self.bookkeeping().await?;
                        roster_store::webhooks::set_after(&mut tx, hook.id, &hook.after).await?;
                        tx.commit().await?;
                        continue;
                    }
                    break;
                }
                let ok = self.send(http, &mut hook, &page).await?;
                if !ok {
                    break;
                }
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// Who a subscription's batches are read as: the system for a superadmin's; for a
    /// training admin's, its maker as it is now (its branches today), or `None` when
    /// that login or token is gone, suspended or no longer a training admin.
    async fn webhook_owner(&self, hook: &Webhook) -> AppResult<Option<Actor>> {
        if hook.owner_role != Role::TrainingAdmin.as_str() {
            return Ok(Some(Actor::system("webhooks")));
        }
        let mut conn = self.store.read().await?;
        let (role, branches) = if let Some(username) = hook.created_by.strip_prefix("admin:") {
            match roster_store::admins::by_username(&mut conn, username).await? {
                Some(a) if !a.suspended => (a.role, a.branches),
                _ => return Ok(None),
            }
        } else if let Some(name) = hook.created_by.strip_prefix("token:") {
            match roster_store::tokens::all(&mut conn).await?.into_iter().find(|t| t.name == name) {
                Some(t) => (t.role, t.branches),
                None => return Ok(None),
            }
        } else {
            return Ok(None);
        };
        // As the maker is now: narrowed or widened since, so are its deliveries.
        Ok(Role::parse(&role).ok().map(|role| Actor { name: hook.created_by.clone(), role, branch_codes: branches }))
    }

    /// Pauses a training admin's subscription whose maker is gone, and logs why.
    async fn pause_ownerless(&self, hook: &mut Webhook) -> AppResult<()> {
        let now = self.now();
        hook.paused_at = Some(now);
        let delivery = Delivery {
            id: 0,
            message_id: format!("msg_{}_{}", hook.id, hook.after),
            at: now,
            items: 0,
            attempt: 0,
            status: "failed".to_owned(),
            response_code: None,
            error: Some(owner_gone(hook)),
        };
        let mut tx = self.bookkeeping().await?;
        roster_store::webhooks::record(&mut tx, hook, &delivery).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends one batch and records how it went; whether it was delivered.
    async fn send(
        &self,
        http: &reqwest::Client,
        hook: &mut Webhook,
        page: &crate::feed::ChangePage,
    ) -> AppResult<bool> {
        let message_id = message_id(hook);
        let now = self.now();
        let body = batch_body(now, page);
        hook.attempts += 1;
        let mut delivery = Delivery {
            id: 0,
            message_id,
            at: now,
            items: page.items.len() as i64,
            attempt: hook.attempts,
            status: String::new(),
            response_code: None,
            error: None,
        };
        // Logged before it is sent: should this process stop before the answer is
        // recorded, the next attempt knows which changes this message held.
        let mut tx = self.bookkeeping().await?;
        delivery.id = roster_store::webhooks::begin(&mut tx, hook.id, &delivery).await?;
        tx.commit().await?;
        let (code, error) = post_signed(http, hook, &delivery.message_id, now, body).await?;
        let ok = error.is_none();
        delivery.status = if ok { "delivered" } else { "failed" }.to_owned();
        delivery.response_code = code;
        delivery.error = error;
        if ok {
            hook.after = page.next_cursor.clone();
            hook.attempts = 0;
            hook.failing_since = None;
            hook.next_attempt_at = 0;
        } else {
            let since = *hook.failing_since.get_or_insert(now);
            let backoff = (1000_i64 << hook.attempts.clamp(0, 22)).min(MAX_BACKOFF_MS);
            hook.next_attempt_at = now + backoff;
            if now - since >= GIVE_UP_MS {
                hook.paused_at = Some(now);
            }
        }
        let mut tx = self.bookkeeping().await?;
        roster_store::webhooks::record(&mut tx, hook, &delivery).await?;
        tx.commit().await?;
        Ok(ok)
    }
}

/// The `webhook-id` of the batch that starts after the subscription's cursor: the same
/// for every attempt at it.
fn message_id(hook: &Webhook) -> String {
    format!("msg_{}_{}", hook.id, hook.after)
}

/// The feed query of the batch a subscription sends from `after`, of at most `limit`
/// changes: the same batch (and `webhook-id`) every time it is asked for with the
/// limit of its first attempt, as the feed only grows at its end.
fn batch_query(hook: &Webhook, after: &str, limit: usize) -> ChangesQuery {
    ChangesQuery {
        after: Some(after.to_owned()),
        limit: Some(limit.to_string()),
        kind: (!hook.kinds.is_empty()).then(|| hook.kinds.join(",")),
        group: (!hook.group_ids.is_empty())
            .then(|| hook.group_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")),
    }
}

/// What a batch's request carries.
fn batch_body(now: i64, page: &crate::feed::ChangePage) -> String {
    serde_json::json!({
        "type": "roster.changes",
        "timestamp": crate::clock::rfc3339(now),
        "data": {"items": page.items, "next_cursor": page.next_cursor},
    })
    .to_string()
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            message_id: d.message_id,
            at: crate::clock::rfc3339(d.at),
            items: d.items,
            attempt: d.attempt,
            status: d.status,
            response_code: d.response_code,
            error: d.error,
        }
    }
}

/// POSTs `body` to the subscription's URL, signed; the answer's status code, and what
/// went wrong when it was not a 2xx.
async fn post_signed(
    http: &reqwest::Client,
    hook: &Webhook,
    message_id: &str,
    now: i64,
    body: String,
) -> AppResult<(Option<i64>, Option<String>)> {
    let timestamp = (now / 1000).to_string();
    let signature = sign(&hook.secret, message_id, &timestamp, &body)?;
    let sent = http
        .post(&hook.url)
        .timeout(TIMEOUT)
        .header("content-type", "application/json")
        .header("webhook-id", message_id)
        .header("webhook-timestamp", &timestamp)
        .header("webhook-signature", format!("v1,{signature}"))
        .body(body)
        .send()
        .await;
    Ok(match sent {
        Ok(r) if r.status().is_success() => (Some(i64::from(r.status().as_u16())), None),
        Ok(r) => (Some(i64::from(r.status().as_u16())), Some(format!("the receiver answered {}", r.status()))),
        Err(e) if e.is_timeout() => (None, Some(format!("no answer within {} s", TIMEOUT.as_secs()))),
        Err(_) => (None, Some("the receiver could not be reached".to_owned())),
    })
}

/// Whether `actor` sees `hook`: a superadmin every one, a training admin those it made.
fn sees(actor: &Actor, hook: &Webhook) -> bool {
    match actor.role() {
        Role::Superadmin => true,
        Role::TrainingAdmin => hook.owner_role == Role::TrainingAdmin.as_str() && hook.created_by == actor.name(),
    }
}

/// A subscription the caller sees; 404 for any other, whether or not it exists.
async fn webhook(conn: &mut roster_store::AnyConnection, actor: &Actor, id: &str) -> AppResult<Webhook> {
    let id = parse_id("webhook", id)?;
    roster_store::webhooks::get(conn, id)
        .await?
        .filter(|h| sees(actor, h))
        .ok_or_else(|| AppError::NotFound("webhook".into()))
}

fn owner_gone(hook: &Webhook) -> String {
    format!(
        "not sent: {}, who made this webhook, can no longer act (deleted, suspended or revoked), so nothing is \
         sent to it",
        hook.created_by
    )
}

/// The groups a subscription may follow: existing ones; for a training admin, one or
/// more that it manages.
/// `field` names the input (`groups`, whose items are `groups[0]`..., or `group`).
async fn check_groups(
    conn: &mut roster_store::AnyConnection,
    actor: &Actor,
    raw: &[String],
    field: &str,
) -> AppResult<Vec<i64>> {
    let reach = Reach::of(conn, actor).await?;
    if raw.is_empty() && !reach.is_everything() {
        return Err(AppError::invalid(
            field,
            "a training admin's webhook follows groups it manages: choose one or more",
        ));
    }
    if raw.len() > 100 {
        return Err(AppError::invalid(field, "a webhook follows at most 100 groups"));
    }
    let mut ids = Vec::with_capacity(raw.len());
    for (i, text) in raw.iter().enumerate() {
        let field = if field == "groups" { format!("groups[{i}]") } else { field.to_owned() };
        let id = text.trim().parse::<i64>().ok().filter(|g| *g > 0);
        let found = match id {
            Some(id) => roster_store::groups::get(conn, id).await?,
            None => None,
        };
        let group = found.ok_or_else(|| AppError::invalid(&field, format!("no group has the id \"{text}\"")))?;
        reach.manage(&group)?;
        if !ids.contains(&group.id) {
            ids.push(group.id);
        }
    }
    Ok(ids)
}

fn check_url(raw: &str) -> AppResult<String> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|_| AppError::invalid("url", "url must be an absolute http or https URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(AppError::invalid("url", "url must be an absolute http or https URL"));
    }
    if raw.len() > 2000 {
        return Err(AppError::invalid("url", "url must be at most 2000 characters"));
    }
    Ok(url.to_string())
}

fn check_kinds(kinds: &[String]) -> AppResult<Vec<String>> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            KINDS.contains(&k.as_str()).then(|| k.clone()).ok_or_else(|| {
                AppError::invalid(
                    format!("kinds[{i}]"),
                    format!("\"{k}\" is not a kind of change; use {}", KINDS.join(", ")),
                )
            })
        })
        .collect()
}

/// The Standard Webhooks signature: base64 of HMAC-SHA256, keyed with the secret's
/// bytes, over `id.timestamp.body`.
pub fn sign(secret: &str, id: &str, timestamp: &str, body: &str) -> AppResult<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| AppError::Internal(crate::Internal::Invariant("a webhook secret is not base64".into())))?;
    let message = format!("{id}.{timestamp}.{body}");
    Ok(base64::engine::general_purpose::STANDARD.encode(hmac_sha256(&key, message.as_bytes())))
}

/// HMAC (RFC 2104) over SHA-256.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 2 and 6 (a key longer than a block).
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[tokio::test]
    async fn an_https_receiver_is_spoken_to_over_tls() {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}/hook", listener.local_addr().unwrap());
        let client = App::webhook_client().unwrap();
        let sent = tokio::spawn(async move { client.post(url).body("{}").send().await });
        let accepted = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
        let (mut socket, _) = accepted.expect("the client never connected: no TLS?").unwrap();
        let mut first = [0u8; 3];
        socket.read_exact(&mut first).await.unwrap();
        // A TLS handshake record (22), version 3.x: the client opened TLS, not plain HTTP.
        assert_eq!((first[0], first[1]), (0x16, 0x03), "{first:?}");
        drop(socket);
        assert!(sent.await.unwrap().is_err(), "no handshake was answered");
    }

    #[test]
    fn only_http_and_https_urls_are_taken() {
        assert!(check_url("https://hooks.example.com/roster").is_ok());
        assert!(check_url("http://127.0.0.1:9000/").is_ok());
        for bad in ["ftp://x.example/", "file:///etc/passwd", "javascript:alert(1)", "/relative", "https://"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
