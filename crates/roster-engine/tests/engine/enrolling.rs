//! Enrollment rules in the engine: the loops they would close with rules reading course
//! status, refused when their enrollments can be removed again and allowed when they
//! only add; and what the image says of who is enrolled and who reads a course.

use roster_domain::rule::compile_text;
use roster_domain::{EnrollmentRule, EnrollmentStatus};

use crate::fixture::{model, with_group};

fn rule(course: i64, unenroll_on_leave: bool) -> EnrollmentRule {
    EnrollmentRule { course_id: course, due_days: None, unenroll_on_leave }
}

fn named(steps: &[&str]) -> Option<Vec<String>> {
    Some(steps.iter().map(|s| (*s).to_owned()).collect())
}

#[test]
fn a_loop_through_a_removing_enrollment_rule_is_named_and_one_that_only_adds_is_allowed() {
    let mut m = model();
    with_group(&mut m, 10, "Waiting", r#"course("SAFE-2") = not_enrolled"#, false);
    with_group(&mut m, 11, "Approved", r#"course("DRV-101") = completed"#, false);
    with_group(&mut m, 12, "Follows", r#"member_of("Approved") and course("SAFE-2") != completed"#, false);
    let mut engine = m.engine();

    // A group enrolling in the course its own rule reads.
    assert_eq!(
        engine.enrollment_loop(10, None, Some(&[rule(102, true)])),
        named(&["\"Waiting\"", "SAFE-2", "\"Waiting\""])
    );
    assert_eq!(engine.enrollment_loop(10, None, Some(&[rule(102, false)])), None, "only adds: settles");

    // Downstream readers close no loop; a rule edit that reads the course back does.
    assert_eq!(engine.enrollment_loop(11, None, Some(&[rule(102, true)])), None);
    engine.set_enrollment_rules(11, vec![rule(102, true)]);
    let reads =
        compile_text(r#"course("DRV-101") = completed and course("SAFE-2") != enrolled"#, engine.rule_catalog())
            .unwrap();
    assert_eq!(engine.enrollment_loop(11, Some(&reads), None), named(&["\"Approved\"", "SAFE-2", "\"Approved\""]));

    // Through another group: Follows enrolls in what Approved reads, and reads Approved.
    assert_eq!(
        engine.enrollment_loop(12, None, Some(&[rule(101, true)])),
        named(&["\"Follows\"", "DRV-101", "\"Approved\"", "\"Follows\""])
    );
    // Keeping its own enrollments is not enough while a removing rule is on the way.
    assert_eq!(
        engine.enrollment_loop(12, None, Some(&[rule(101, false)])),
        named(&["\"Follows\"", "DRV-101", "\"Approved\"", "SAFE-2", "\"Follows\""])
    );

    assert_eq!(engine.enrolled_in(101).iter().collect::<Vec<u32>>(), vec![1, 3]);
    assert_eq!(engine.enrollment_status(4, 102), Some(EnrollmentStatus::Failed));
    assert_eq!(engine.enrollment_status(2, 102), None);
    assert_eq!(engine.groups_enrolling_in(102), vec![11]);
    assert_eq!(engine.readers_of_courses(&[102]), vec![10, 12]);
    engine.set_enrollment_rules(11, vec![]);
    assert!(!engine.has_enrollment_rules());
    assert_eq!(engine.enrollment_loop(12, None, Some(&[rule(101, false)])), None);
}
