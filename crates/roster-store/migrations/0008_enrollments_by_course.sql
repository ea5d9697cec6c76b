-- Enrollments clustered by course, and enrollment rules' bulk acts recorded as sets.
--
-- enrollments: a WITHOUT ROWID table keyed (course_id, user_id), with no index by user
-- and no foreign keys. An enrollment rule added to a large group inserts all its rows
-- at one place of one B-tree; with a (user_id, course_id) index beside it, the same
-- insert dirtied nearly every page of that index (at 1M users and 5M enrollments,
-- 56 MB of WAL for 94,000 enrollments, against 3 MB without it). A user's enrollments
-- are read course by course, one key lookup per course. Deleting a user or a course
-- deletes its enrollments in the statements that delete it.
--
-- enrollment_events: like membership_events, an event concerns one user (user_id set,
-- users NULL) or a set of users (user_id NULL, users a serialized roaring bitmap of
-- user ids, user_count its size), when a rule enrolls or unenrolls many at once.
CREATE TABLE enrollments_by_course (
    course_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL,
    completed_at BIGINT,
    made_by_group BIGINT,
    due_at BIGINT,
    PRIMARY KEY (course_id, user_id)
) WITHOUT ROWID;
INSERT INTO enrollments_by_course (course_id, user_id, status, enrolled_at, completed_at, made_by_group, due_at)
    SELECT course_id, user_id, status, enrolled_at, completed_at, made_by_group, due_at FROM enrollments
    ORDER BY course_id, user_id;
DROP TABLE enrollments;
ALTER TABLE enrollments_by_course RENAME TO enrollments;

CREATE TABLE enrollment_events_sets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT,
    users BLOB,
    user_count BIGINT NOT NULL DEFAULT 1,
    course_id BIGINT NOT NULL,
    group_id BIGINT,
    change TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    cause TEXT NOT NULL
);
INSERT INTO enrollment_events_sets (id, user_id, course_id, group_id, change, at, actor, cause)
    SELECT id, user_id, course_id, group_id, change, at, actor, cause FROM enrollment_events ORDER BY id;
DROP TABLE enrollment_events;
ALTER TABLE enrollment_events_sets RENAME TO enrollment_events;
CREATE INDEX enrollment_events_user ON enrollment_events(user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX enrollment_events_sets ON enrollment_events(id) WHERE user_id IS NULL;
CREATE INDEX enrollment_events_course ON enrollment_events(course_id, id);
