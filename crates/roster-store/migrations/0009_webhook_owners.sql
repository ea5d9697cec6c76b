-- A webhook subscription may follow several groups (comma-separated ids, empty for
-- every change), where it followed one.
ALTER TABLE webhooks ADD COLUMN group_ids TEXT NOT NULL DEFAULT '';
UPDATE webhooks SET group_ids = CAST(group_id AS TEXT) WHERE group_id IS NOT NULL;
ALTER TABLE webhooks DROP COLUMN group_id;
-- The role of a subscription's maker: a training admin's carries only what it may see.
ALTER TABLE webhooks ADD COLUMN owner_role TEXT NOT NULL DEFAULT 'superadmin';
