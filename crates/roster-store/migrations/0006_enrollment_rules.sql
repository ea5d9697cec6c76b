-- Enrollment rules: a group enrolls its members in a course when they join.
--
-- enrollment_rules: one row per group x course, in the order the group lists them.
-- due_days: the due date is this many days after the enrollment (NULL: none).
-- unenroll_on_leave: 1 when leaving the group removes an enrollment the rule made
-- that has not started. Deleting the group deletes its rules with it (no foreign key
-- on group_id, as for memberships); a course with rules cannot be deleted.
--
-- enrollments.made_by_group: the group whose enrollment rule made the enrollment;
-- NULL for one set from outside (the API, a CSV, the LMS), which no rule ever removes.
-- enrollments.due_at: the due date a rule set, epoch milliseconds.
--
-- enrollment_events: each enrollment a rule made or removed, with its cause.
CREATE TABLE enrollment_rules (
    group_id BIGINT NOT NULL,
    course_id BIGINT NOT NULL REFERENCES courses(id),
    position BIGINT NOT NULL,
    due_days BIGINT,
    unenroll_on_leave BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, course_id)
);
CREATE INDEX enrollment_rules_course ON enrollment_rules(course_id, group_id);

ALTER TABLE enrollments ADD COLUMN made_by_group BIGINT;
ALTER TABLE enrollments ADD COLUMN due_at BIGINT;

CREATE TABLE enrollment_events (
    id {ID},
    user_id BIGINT NOT NULL,
    course_id BIGINT NOT NULL,
    group_id BIGINT,
    change TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    cause TEXT NOT NULL
);
CREATE INDEX enrollment_events_user ON enrollment_events(user_id, id);
CREATE INDEX enrollment_events_course ON enrollment_events(course_id, id);
