-- The display name a provisioning client set for a user (SCIM displayName), and its
-- lower-cased form, which searches compare. NULL: the client set none, and the user is
-- shown by their names, or the username; empty: the client removed it, and none is
-- shown. Existing users have none.
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN display_name_key TEXT;
