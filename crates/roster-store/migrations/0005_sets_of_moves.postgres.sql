-- PostgreSQL's form of 0005_sets_of_moves.sql (read it for what and why). The heap
-- has no clustering to choose; memberships keep their (group_id, user_id) key and
-- lose the second column of the user index, which the key already covers.
DROP INDEX memberships_user;
CREATE INDEX memberships_user ON memberships(user_id);

ALTER TABLE membership_events ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE membership_events ADD COLUMN users BYTEA;
ALTER TABLE membership_events ADD COLUMN user_count BIGINT NOT NULL DEFAULT 1;
DROP INDEX membership_events_user;
CREATE INDEX membership_events_user ON membership_events(user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX membership_events_sets ON membership_events(id) WHERE user_id IS NULL;
