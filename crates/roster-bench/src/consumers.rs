//! What webhooks cost the writes and how fast they are delivered (issue 17): a receiver
//! on 127.0.0.1 in this process, a subscription to every change, and the product's
//! delivery worker (`App::deliver_webhooks`, once a second as `roster serve` runs it).
//!
//! The feed row each write transaction adds (the outbox the deliveries are read from)
//! is written with or without a subscription: "without" below is the product as it runs
//! when nobody subscribes; "with" adds the worker reading the feed, posting, and logging
//! each delivery while the writes go on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use roster_app::feed::ChangesQuery;
use roster_app::webhooks::NewWebhook;
use roster_app::{Actor, AppResult};

use super::{bench_error, percentile, seconds, Bench, BenchReport, BenchSpec, Measure};

/// Single-change deliveries timed one by one.
const SINGLE_DELIVERIES: usize = 200;

/// What the receiver got.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    bytes: AtomicU64,
}

/// A receiver on 127.0.0.1: answers every request 204, keeps connections open, counts
/// requests and body bytes. Stops when dropped.
struct Receiver {
    url: String,
    counts: Arc<Counts>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> AppResult<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| bench_error(format!("no port for the webhook receiver: {e}")))?;
        let addr = listener.local_addr().map_err(|e| bench_error(format!("webhook receiver: {e}")))?;
        let counts = Arc::new(Counts::default());
        let shared = counts.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer(socket, shared.clone()));
            }
        });
        Ok(Self { url: format!("http://{addr}/hook"), counts, task })
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers the HTTP/1.1 requests of one connection: reads each request's head and its
/// `content-length` bytes of body, answers 204.
async fn answer(mut socket: tokio::net::TcpStream, counts: Arc<Counts>) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + length);
        counts.requests.fetch_add(1, Ordering::Relaxed);
        counts.bytes.fetch_add(length as u64, Ordering::Relaxed);
        if socket.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.is_err() {
            return;
        }
    }
}

impl Bench<'_> {
    /// The webhook rows: one user update and an import without and with a subscription
    /// being delivered; a backlog delivered; single-change deliveries per second.
    pub(super) async fn bench_consumers(
        &self,
        report: &mut BenchReport,
        spec: &BenchSpec,
        users: usize,
        actor: &Actor,
    ) -> AppResult<()> {
        actor.superadmin()?;
        let http = roster_app::App::webhook_client()?;
        let receiver = Receiver::start().await?;

        // Without: nobody subscribed, no worker.
        let without = self.bench_updates(spec, users, actor, 0xfeed).await?;
        let (import_without, _, _) =
            self.import_new_users(spec, actor, spec.users + spec.import_users, spec.seed ^ 0x3).await?;

        // With: a subscription to every change, delivered by the worker as it runs.
        let hook = self
            .app
            .create_webhook(actor, NewWebhook { url: receiver.url.clone(), kinds: vec![], group: None, groups: vec![] })
            .await?;
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let (app, http, stop) = (self.app.clone(), http.clone(), stop.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                while !stop.load(Ordering::SeqCst) {
                    tick.tick().await;
                    if let Err(e) = app.deliver_webhooks(&http).await {
                        tracing::error!(error = %e, "the benchmark's webhook worker failed");
                    }
                }
            })
        };
        let with = self.bench_updates(spec, users, actor, 0xbeef).await?;
        let (import_with, counts, _) =
            self.import_new_users(spec, actor, spec.users + 2 * spec.import_users, spec.seed ^ 0x4).await?;
        let imported_at = Instant::now();
        let requests_before = receiver.counts.requests.load(Ordering::Relaxed);
        let bytes_before = receiver.counts.bytes.load(Ordering::Relaxed);
        let caught_up = loop {
            if self.delivered_everything(actor, &hook.id).await? {
                break imported_at.elapsed();
            }
            if imported_at.elapsed() > Duration::from_secs(600) {
                return Err(bench_error("the import's changes were not delivered within 10 minutes".into()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let import_requests = receiver.counts.requests.load(Ordering::Relaxed) - requests_before;
        let import_bytes = receiver.counts.bytes.load(Ordering::Relaxed) - bytes_before;
        stop.store(true, Ordering::SeqCst);
        worker.await.map_err(|e| bench_error(format!("the benchmark's webhook worker: {e}")))?;

        let (p50, p99) = (percentile(&with, 0.5), percentile(&with, 0.99));
        let (p50_without, p99_without) = (percentile(&without, 0.5), percentile(&without, 0.99));
        report.add(Measure::millis("one user update, a webhook subscription being delivered: p99", p99).detail(
            format!(
                "p50 {:.2} ms over {} updates; without a subscription, just before: p50 {:.2} ms, p99 {:.2} ms",
                seconds(p50) * 1e3,
                with.len(),
                seconds(p50_without) * 1e3,
                seconds(p99_without) * 1e3
            ),
        ));
        report.add(
            Measure::seconds("CSV import of new users, a webhook subscription being delivered", import_with).detail(
                format!(
                    "{} rows, {} created; without a subscription, just before: {:.1} s; its changes delivered \
                 {:.2} s after it ended ({import_requests} requests, {:.1} MB)",
                    counts.rows,
                    counts.created,
                    seconds(import_without),
                    seconds(caught_up),
                    import_bytes as f64 / 1e6
                ),
            ),
        );

        // A backlog: changes committed while no worker runs, then delivered at once.
        let queued = spec.updates.max(1000);
        self.queue_updates(users, actor, queued).await?;
        let items = self.undelivered(actor, &hook.id).await?;
        let (requests, bytes_before) =
            (receiver.counts.requests.load(Ordering::Relaxed), receiver.counts.bytes.load(Ordering::Relaxed));
        let started = Instant::now();
        let batches = self.app.deliver_webhooks(&http).await?;
        let elapsed = started.elapsed();
        if !self.delivered_everything(actor, &hook.id).await? {
            return Err(bench_error("the webhook backlog was not delivered in one round".into()));
        }
        let sent = receiver.counts.requests.load(Ordering::Relaxed) - requests;
        let sent_bytes = receiver.counts.bytes.load(Ordering::Relaxed) - bytes_before;
        report.add(
            Measure::rate(
                "webhook backlog delivered to a receiver on 127.0.0.1: changes per second",
                items as f64,
                elapsed,
            )
            .detail(format!(
                "{items} changes ({queued} single-user updates and the memberships they moved) delivered in \
                 {batches} signed requests ({sent} received, \
                 {:.1} MB) in {:.0} ms: {:.0} requests/s",
                sent_bytes as f64 / 1e6,
                seconds(elapsed) * 1e3,
                sent as f64 / seconds(elapsed).max(1e-9)
            )),
        );

        // One change per request: what each delivery costs (read the feed, sign, POST,
        // log before and after).
        let mut total = Duration::ZERO;
        let mut times = Vec::with_capacity(SINGLE_DELIVERIES);
        for _ in 0..SINGLE_DELIVERIES {
            self.queue_updates(users, actor, 1).await?;
            let started = Instant::now();
            let delivered = self.app.deliver_webhooks(&http).await?;
            let took = started.elapsed();
            if delivered != 1 {
                return Err(bench_error(format!("one change made {delivered} webhook deliveries, not 1")));
            }
            total += took;
            times.push(took);
        }
        times.sort();
        report.add(
            Measure::rate(
                "webhook deliveries of one change each: deliveries per second",
                SINGLE_DELIVERIES as f64,
                total,
            )
            .detail(format!(
                "{SINGLE_DELIVERIES} deliveries one after another, each after one user update; p50 {:.2} ms, \
                     p99 {:.2} ms each",
                seconds(percentile(&times, 0.5)) * 1e3,
                seconds(percentile(&times, 0.99)) * 1e3
            )),
        );
        self.app.delete_webhook(actor, &hook.id).await?;
        Ok(())
    }

    /// `count` single-user updates, untimed.
    async fn queue_updates(&self, users: usize, actor: &Actor, count: usize) -> AppResult<()> {
        let spec = BenchSpec { updates: count, ..BenchSpec::new(String::new()) };
        let salt = self.app.now() as u64;
        self.bench_updates(&spec, users, actor, salt).await?;
        Ok(())
    }

    /// How many changes of the feed the subscription has not been delivered yet.
    async fn undelivered(&self, actor: &Actor, hook: &str) -> AppResult<usize> {
        let mut after = self.app.get_webhook(actor, hook).await?.delivered_after;
        let mut count = 0;
        loop {
            let query = ChangesQuery { after: Some(after), limit: Some("1000".into()), ..ChangesQuery::default() };
            let page = self.app.changes(actor, &query).await?;
            count += page.items.len();
            if !page.more {
                return Ok(count);
            }
            after = page.next_cursor;
        }
    }

    /// Whether the subscription has been delivered every change of the feed.
    async fn delivered_everything(&self, actor: &Actor, hook: &str) -> AppResult<bool> {
        let after = self.app.get_webhook(actor, hook).await?.delivered_after;
        let query = ChangesQuery { after: Some(after), limit: Some("1".into()), ..ChangesQuery::default() };
        Ok(self.app.changes(actor, &query).await?.items.is_empty())
    }
}
