-- PostgreSQL's form of 0005_sets_of_moves.sql (read it for what and why). Its heap has
-- no clustering to choose: memberships keep their (group_id, user_id) key and the
-- (user_id, group_id) index that answers a user's groups from the index alone, and
-- lose their foreign keys.
ALTER TABLE memberships DROP CONSTRAINT IF EXISTS memberships_group_id_fkey;
ALTER TABLE memberships DROP CONSTRAINT IF EXISTS memberships_user_id_fkey;
ALTER TABLE membership_events ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE membership_events ADD COLUMN users BYTEA;
ALTER TABLE membership_events ADD COLUMN user_count BIGINT NOT NULL DEFAULT 1;
DROP INDEX membership_events_user;
CREATE INDEX membership_events_user ON membership_events(user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX membership_events_sets ON membership_events(id) WHERE user_id IS NULL;
