//! Branches (a tree) and courses with their enrollments: list, create, edit.

use crate::harness::{enabled, Browser, Server, ADMIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branches_and_courses_are_listed_created_and_edited() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    let mut b = Browser::open(&server.base, "catalog").await;
    b.log_in(ADMIN).await;

    b.go("/admin/branches").await;
    let tree = b.text("#branch-tree").await;
    assert!(tree.find("France").unwrap() < tree.find("Paris").unwrap(), "children follow their parent: {tree}");
    b.click("#new-branch-button").await;
    b.fill("#branch-code", "FR-NCE").await;
    b.fill("#branch-name", "Nice").await;
    b.pick_branch("branch-parent", "fra", "FR").await;
    b.submit("#new-branch button[type=submit]").await;
    b.wait_text("#flash", "Branch FR-NCE created.").await;
    b.submit("a[href='/admin/branches?edit=FR-NCE#edit']").await;
    b.fill("#edit-name", "Nice and Côte d'Azur").await;
    b.pick_branch("edit-parent", "emea", "EMEA").await;
    b.shot("branch-edit").await;
    b.submit("#edit button[type=submit]:not([name])").await;
    b.wait_text("#flash", "Branch FR-NCE saved.").await;
    assert!(b.text("#branch-tree").await.contains("Nice and Côte d'Azur"));
    b.shot("branches").await;

    b.go("/admin/courses").await;
    assert!(b.text("#courses-table").await.contains("Driver Safety Fundamentals"));
    b.click("#new-course-button").await;
    b.fill("#course-code", "FORK-1").await;
    b.fill("#course-name", "Forklift Basics").await;
    b.submit("#new-course button[type=submit]").await;
    b.wait_text("#flash", "Course FORK-1 created.").await;
    b.pick("#enroll-picker", "martin", "alice.martin").await;
    b.pick("#enroll-picker", "petit", "bruno.petit").await;
    b.choose("#enroll-status", "in_progress").await;
    b.submit("#enroll-users button[type=submit]").await;
    b.wait_text("#flash", "2 enrollments set to in progress.").await;
    b.choose_and_submit(&format!("#st-{}", server.users["alice.martin"]), "completed").await;
    b.wait_text("#flash", "1 enrollment set to completed.").await;
    assert!(b.text("#course-enrollments").await.contains("bruno.petit"));
    b.shot("course").await;

    b.go(&format!("/admin/users/{}/history", server.users["karim.haddad"])).await;
    assert!(b.text("#history-table").await.contains("Warehouse team"));
    b.shot("user-history").await;

    // On a phone: one column, the same screens.
    b.client.set_window_size(390, 844).await.unwrap();
    let team = server.app.find_group(&roster_app::Actor::system("t"), "Warehouse team").await.unwrap();
    b.go(&format!("/admin/groups/{}", team.id)).await;
    b.find("#members-table").await;
    b.shot("phone-group").await;
    b.click("#admin-menu > summary").await;
    b.shot("phone-menu").await;
    b.close().await;
}
