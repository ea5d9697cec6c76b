-- Foundation: users, fields, branches, courses, enrollments, groups, memberships,
-- membership events, API tokens and admin logins.
-- {ID} is the dialect's auto-increment primary key; everything else is portable SQL.
-- Times are epoch milliseconds; flags are 0/1 integers; lists are JSON text.

CREATE TABLE branches (
    id {ID},
    code TEXT NOT NULL,
    code_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent_id BIGINT REFERENCES branches(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX branches_parent ON branches(parent_id);

CREATE TABLE fields (
    id {ID},
    code TEXT NOT NULL,
    code_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    field_type TEXT NOT NULL,
    options TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE courses (
    id {ID},
    code TEXT NOT NULL,
    code_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id {ID},
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    status TEXT NOT NULL,
    language TEXT,
    timezone TEXT,
    branch_id BIGINT REFERENCES branches(id),
    password_hash TEXT,
    fields TEXT NOT NULL,
    search TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_login_at BIGINT,
    -- A provisioning client's id for the user (SCIM externalId); case-exact.
    external_id TEXT
);
CREATE INDEX users_email_key ON users(email_key);
CREATE INDEX users_external_id ON users(external_id);
CREATE INDEX users_branch ON users(branch_id, id);
CREATE INDEX users_status ON users(status, id);

CREATE TABLE enrollments (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    course_id BIGINT NOT NULL REFERENCES courses(id),
    status TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL,
    completed_at BIGINT,
    PRIMARY KEY (user_id, course_id)
);
CREATE INDEX enrollments_course ON enrollments(course_id, user_id);

CREATE TABLE groups (
    id {ID},
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT,
    policy TEXT NOT NULL,
    rule_text TEXT,
    rule_tree TEXT,
    allow_suspended BIGINT NOT NULL DEFAULT 0,
    member_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- A provisioning client's id for the group (SCIM externalId); case-exact.
    external_id TEXT
);
CREATE INDEX groups_external_id ON groups(external_id);

CREATE TABLE memberships (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id, group_id);

CREATE TABLE group_lists (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    list TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT,
    PRIMARY KEY (group_id, list, user_id)
);
CREATE INDEX group_lists_user ON group_lists(user_id);

-- Kept after a user or group is deleted: it is the audit trail.
CREATE TABLE membership_events (
    id {ID},
    group_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    change TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    cause TEXT NOT NULL
);
CREATE INDEX membership_events_group ON membership_events(group_id, id);
CREATE INDEX membership_events_user ON membership_events(user_id, id);

-- One row per group-association CSV upload: its outcome, and the cause of its events.
CREATE TABLE csv_uploads (
    id {ID},
    group_id BIGINT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL,
    dry_run BIGINT NOT NULL,
    applied BIGINT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX csv_uploads_group ON csv_uploads(group_id, id);

-- One row per user import: a job that a process runs in the background. Its state is
-- final only once written by the import's own transaction (succeeded) or after it
-- (failed); a process that dies leaves it queued or running, with a heartbeat that
-- stops, and it is then marked interrupted.
CREATE TABLE imports (
    id {ID},
    actor TEXT NOT NULL,
    state TEXT NOT NULL,
    phase TEXT NOT NULL,
    options TEXT NOT NULL,
    file_bytes BIGINT NOT NULL,
    bytes_read BIGINT NOT NULL DEFAULT 0,
    rows_read BIGINT NOT NULL DEFAULT 0,
    owner TEXT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    result TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX imports_state ON imports(state, heartbeat_at);

-- The change log: every write that the membership engine's image depends on appends
-- what it touched, so another process can bring its image up to date before using it.
CREATE TABLE changes (
    seq {ID},
    kind TEXT NOT NULL,
    entity BIGINT NOT NULL,
    at BIGINT NOT NULL
);

-- Small facts shared by every process (the last date roll-over, ...).
CREATE TABLE facts (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id {ID},
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    branches TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE admins (
    id {ID},
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    branches TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Browser sessions of the admin UI. Only a SHA-256 of the session id is stored; the
-- actor is the admin row, read on every request so a changed role applies at once.
-- Every process reads them here: no sticky sessions.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    admin_id BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_admin ON sessions(admin_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- Failed admin logins per username and client address, for throttling: a window opens
-- at the first failure; too many failures in it lock that pair out until it closes.
CREATE TABLE login_failures (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
