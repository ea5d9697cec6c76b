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
