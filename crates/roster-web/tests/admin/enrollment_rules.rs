//! A group's Enrollment rules tab over plain HTTP, on both databases: shown, previewed,
//! saved with its CSRF token, refused with the item named, and closed to a training
//! admin on a platform-wide group.

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
