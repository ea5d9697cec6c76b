-- Admin logins become managed things: a superadmin can suspend one (its sessions end
-- and its logins are refused until it is reactivated), and each says when it last
-- logged in.
ALTER TABLE admins ADD COLUMN suspended BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN last_login_at BIGINT;
