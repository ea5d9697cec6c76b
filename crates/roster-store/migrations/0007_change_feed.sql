-- The change feed: one row per committed write transaction that touched users, groups
-- or memberships, written under the write lock in the transaction itself, so row ids
-- follow commit order across processes and a reader never sees a later row before an
-- earlier one. A row holds the entity changes it made (users, enrollments, groups) as
-- JSON, and points at its membership events as the id range
-- (events_after, events_upto] of membership_events instead of copying them.
CREATE TABLE feed (
    id {ID},
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    cause TEXT NOT NULL,
    items TEXT NOT NULL,
    events_after BIGINT NOT NULL,
    events_upto BIGINT NOT NULL
);
CREATE INDEX feed_at ON feed(at);
-- The feed starts here: earlier events belong to no row.
INSERT INTO feed (at, actor, cause, items, events_after, events_upto)
    SELECT 0, 'system', 'the change feed begins', '[]', COALESCE(MAX(id), 0), COALESCE(MAX(id), 0)
    FROM membership_events;

-- Webhook subscriptions. Their outbox is the feed itself: `after` is the feed cursor a
-- subscription has been delivered up to, moved in the same statement that records a
-- delivery, so a committed change is always delivered and a rolled-back one never was
-- in the feed. `kinds` is a comma-separated list (empty: every kind).
CREATE TABLE webhooks (
    id {ID},
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    kinds TEXT NOT NULL,
    group_id BIGINT,
    delivered_after TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    failing_since BIGINT,
    paused_at BIGINT
);

-- Each attempt to deliver a batch: what, when, and how it went.
CREATE TABLE webhook_deliveries (
    id {ID},
    webhook_id BIGINT NOT NULL,
    message_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    items BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    status TEXT NOT NULL,
    response_code BIGINT,
    error TEXT
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);
