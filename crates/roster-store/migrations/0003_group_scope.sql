-- A group's scope: the branch codes (each with its sub-branches) whose users it may
-- hold, as a JSON array; NULL is platform-wide. Existing groups are platform-wide.
ALTER TABLE groups ADD COLUMN scope TEXT;
