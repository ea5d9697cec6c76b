//! A group's Enrollment rules tab over plain HTTP, on both databases: shown, previewed,
//! saved with its CSRF token, refused with the item named, and closed to a training
//! admin on a platform-wide group; the enrollments a rule made name their group and due
//! date on the user, course and History pages.

use roster_app::enrollment_rules::EnrollmentRuleInput;
use roster_app::groups::{AddMembers, NewGroup};
use roster_app::Actor;

use crate::harness::{Server, ADMIN, TRAINER};
use crate::http::{each_database, Agent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enrollment_rules_tab_previews_and_saves() {
    each_database(async |server: Server| {
        let system = Actor::system("t");
        let crew = NewGroup { name: "Crew".into(), description: None, policy: None, scope: None };
        let crew = server.app.create_group(&system, crew).await.unwrap().id;
        let members = vec![server.users["alice.martin"].clone(), server.users["chloe.durand"].clone()];
        let add = AddMembers { users: Some(members), ..AddMembers::default() };
        server.app.add_members(&system, &crew, add).await.unwrap();
        let path = format!("/admin/groups/{crew}/enrollment-rules");

        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let page = a.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("aria-current=\"page\" id=\"enrollment-rules-tab\""), "{}", page.body);
        let csrf = Agent::csrf(&page.body);

        // Preview: alice has DRV-101 already, chloe too (in progress): SAFE-2 would enroll both.
        let form = |action: &'static str, course: &'static str, due: &'static str| {
            vec![("action", action), ("course_0", course), ("due_0", due), ("unenroll_0", "on"), ("course_1", "")]
        };
        let mut with_csrf = form("preview", "SAFE-2", "");
        with_csrf.push(("csrf", &csrf));
        let preview = a.post(&path, &with_csrf).await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert!(
            preview.body.contains("Saving would enroll <strong>2</strong> members (2 enrollments)"),
            "{}",
            preview.body
        );
        assert!(server.app.enrollment_rules(&system, &crew).await.unwrap().rules.is_empty(), "a preview saves nothing");

        assert_eq!(a.post(&path, &form("save", "SAFE-2", "")).await.status, 403, "no CSRF token");
        let mut bad = form("save", "SAFE-2", "soon");
        bad.push(("csrf", &csrf));
        let refused = a.post(&path, &bad).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("Due days (row 1)") && refused.body.contains("soon"), "{}", refused.body);

        let mut save = form("save", "SAFE-2", "30");
        save.push(("csrf", &csrf));
        let saved = a.post(&path, &save).await;
        assert_eq!((saved.status, saved.location.as_str()), (303, path.as_str()));
        let rules = server.app.enrollment_rules(&system, &crew).await.unwrap().rules;
        assert_eq!(
            (rules[0].course.as_str(), rules[0].due_days, rules[0].unenroll_on_leave),
            ("SAFE-2", Some(30), true)
        );
        let alice = server.app.user_enrollments(&system, &server.users["alice.martin"]).await.unwrap();
        let safe = alice.iter().find(|e| e.course == "SAFE-2").unwrap();
        assert_eq!(safe.made_by_rule_of.as_ref().unwrap().name, "Crew");
        let shown = a.get(&path).await.body;
        assert!(shown.contains("value=\"SAFE-2\" selected") && shown.contains("value=\"30\""), "{shown}");

        // A training admin sees the tab of a platform-wide group but cannot change it.
        let mut t = Agent::new(&server.base);
        t.log_in(TRAINER, "/admin").await;
        let page = t.get(&path).await;
        assert_eq!(page.status, 200);
        let csrf = Agent::csrf(&page.body);
        let mut clear = vec![("action", "save"), ("course_0", "")];
        clear.push(("csrf", &csrf));
        assert_eq!(t.post(&path, &clear).await.status, 403);
        assert_eq!(server.app.enrollment_rules(&system, &crew).await.unwrap().rules.len(), 1);
        server.finish().await;
    })
    .await;
}

/// The row of a table whose opening tag holds `marker`, up to its `</tr>`.
fn row<'a>(body: &'a str, marker: &str) -> &'a str {
    let start = body.find(marker).unwrap_or_else(|| panic!("no {marker} in {body}"));
    let rest = &body[start..];
    &rest[..rest.find("</tr>").unwrap_or(rest.len())]
}

/// A stored time as the pages show it: `2026-04-01 12:00 UTC`.
fn shown(rfc3339: &str) -> String {
    format!("{} UTC", rfc3339[..16].replacen('T', " ", 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollments_a_rule_made_name_its_group_and_due_date() {
    each_database(async |server: Server| {
        let system = Actor::system("t");
        let crew = NewGroup { name: "Approved Drivers".into(), description: None, policy: None, scope: None };
        let crew = server.app.create_group(&system, crew).await.unwrap().id;
        let alice = server.users["alice.martin"].clone();
        let add = AddMembers { users: Some(vec![alice.clone()]), ..AddMembers::default() };
        server.app.add_members(&system, &crew, add).await.unwrap();
        let rule = EnrollmentRuleInput { course: "SAFE-2".into(), due_days: Some(30), unenroll_on_leave: false };
        server.app.set_enrollment_rules(&system, &crew, vec![rule]).await.unwrap();
        let enrollments = server.app.user_enrollments(&system, &alice).await.unwrap();
        let due = shown(enrollments.iter().find(|e| e.course == "SAFE-2").unwrap().due_at.as_deref().unwrap());
        let linked = format!("by the enrollment rule of <a href=\"/admin/groups/{crew}\">Approved Drivers</a>");

        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        // The user page: the rule's enrollment names its group and due date; the one set
        // by hand names neither.
        let page = a.get(&format!("/admin/users/{alice}")).await;
        assert_eq!(page.status, 200);
        let made = row(&page.body, "data-course=\"SAFE-2\"");
        assert!(made.contains(&linked) && made.contains(&format!("due {due}")), "{made}");
        let by_hand = row(&page.body, "data-course=\"DRV-101\"");
        assert!(!by_hand.contains("enrollment rule") && !by_hand.contains("due "), "{by_hand}");

        // The course page says the same beside the user.
        let course = a.get("/admin/courses/SAFE-2").await;
        assert_eq!(course.status, 200);
        let made = row(&course.body, &format!("href=\"/admin/users/{alice}\""));
        assert!(made.contains(&linked) && made.contains(&format!("due {due}")), "{made}");

        // The History page lists the enrollment the rule made, with its cause.
        let history = a.get(&format!("/admin/users/{alice}/history")).await;
        assert_eq!(history.status, 200);
        let event = &history.body[history.body.find("id=\"enrollment-events-table\"").unwrap()..];
        let event = row(event, "<tbody>");
        assert!(
            event.contains("Enrolled")
                && event.contains("href=\"/admin/courses/SAFE-2\"")
                && event.contains(&format!("<a href=\"/admin/groups/{crew}\">Approved Drivers</a>"))
                && event.contains("enrollment rule of ")
                && event.contains("Approved Drivers&"),
            "{event}"
        );

        // Once the group is deleted the enrollment still says which group made it, unlinked.
        server.app.delete_group(&system, &crew).await.unwrap();
        let page = a.get(&format!("/admin/users/{alice}")).await;
        let made = row(&page.body, "data-course=\"SAFE-2\"");
        assert!(
            made.contains(&format!("by the enrollment rule of group #{crew} (deleted)"))
                && !made.contains("/admin/groups/"),
            "{made}"
        );
        let history = a.get(&format!("/admin/users/{alice}/history")).await;
        let events = &history.body[history.body.find("id=\"enrollment-events-table\"").unwrap()..];
        let event = row(events, "<tbody>");
        assert!(event.contains(&format!("group #{crew} (deleted)")) && !event.contains("/admin/groups/"), "{event}");
        server.finish().await;
    })
    .await;
}
