//! Lists an administrator pages through and acts on: the users list says how many
//! users match and numbers its pages (counting only the users a training admin may
//! see), and ticked members of a manual group are removed in one POST.

use crate::harness::{enabled, Browser, Server, ADMIN, TRAINER};
use crate::http::{each_database, Agent};
use roster_app::catalog::NewCourse;
use roster_app::groups::{AddMembers, NewGroup};
use roster_app::users::NewUser;
use roster_app::Actor;

/// Where each of `names` first appears in `body` (panics when one is missing).
fn order_of(body: &str, names: &[&str]) -> Vec<usize> {
    names.iter().map(|n| body.find(n).unwrap_or_else(|| panic!("{n} not on the page"))).collect()
}

fn is_sorted(at: &[usize]) -> bool {
    at.windows(2).all(|w| w[0] < w[1])
}

/// Adds `n` users in the US branch (outside the training admin's EMEA).
async fn more_users(server: &Server, n: usize) {
    let system = Actor::system("t");
    for i in 0..n {
        let input = NewUser {
            username: format!("us.user{i:03}"),
            email: format!("us.user{i:03}@acme.test"),
            branch: Some("US".into()),
            ..NewUser::default()
        };
        server.app.create_user(&system, input).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_pager_counts_what_each_admin_may_see_and_goes_to_any_page() {
    each_database(async |server: Server| {
        more_users(&server, 108).await;
        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let first = a.get("/admin/users").await;
        assert!(first.body.contains("1–50 of 120"), "{}", first.body);
        assert!(first.body.contains(r#"href="/admin/users?page=3""#), "page numbers link every page");
        let third = a.get("/admin/users?page=3").await;
        assert!(third.body.contains("101–120 of 120"), "{}", third.body);
        assert!(third.body.contains("us.user107") && !third.body.contains("us.user050"), "the last 20 users");
        let filtered = a.get("/admin/users?branch=US&page=2").await;
        assert!(filtered.body.contains("51–100 of 110"), "{}", filtered.body);
        let links = filtered.body.replace("&#38;", "&").replace("&amp;", "&");
        assert!(links.contains(r#"href="/admin/users?branch=US&page=3""#), "filters are kept");
        let past = a.get("/admin/users?page=9").await;
        assert_eq!(past.status, 200);
        assert!(past.body.contains("No user matches."));

        // A training admin's total counts only its branches' users.
        let mut t = Agent::new(&server.base);
        t.log_in(TRAINER, "/admin").await;
        let mine = t.get("/admin/users").await;
        assert!(mine.body.contains("1–9 of 9"), "{}", mine.body);
        assert!(!mine.body.contains("of 120") && !mine.body.contains("page=2"));
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticked_members_of_a_manual_group_are_removed_together_by_those_who_manage_it() {
    each_database(async |server: Server| {
        let system = Actor::system("t");
        let groups = server.app.list_groups(&system, &Default::default(), &Default::default()).await.unwrap();
        let team = groups.items.iter().find(|g| g.name == "Warehouse team").unwrap().id.clone();
        let (karim, lena, alice) =
            (&server.users["karim.haddad"], &server.users["lena.fischer"], &server.users["alice.martin"]);
        let path = format!("/admin/groups/{team}/members/remove");

        // A training admin does not manage this platform-wide group.
        let mut t = Agent::new(&server.base);
        t.log_in(TRAINER, "/admin").await;
        let token = Agent::csrf(&t.get("/admin/groups").await.body);
        let refused = t.post(&path, &[("csrf", &token), ("users", karim)]).await;
        assert_eq!(refused.status, 403);

        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let page = a.get(&format!("/admin/groups/{team}")).await;
        assert!(page.body.contains(r#"id="bulk-remove""#) && page.body.contains(r#"form="bulk-remove""#));
        let token = Agent::csrf(&page.body);
        assert_eq!(a.post(&path, &[("users", karim)]).await.status, 403, "no token");
        // One who is not a member: nothing is removed.
        let mixed = a.post(&path, &[("csrf", &token), ("users", karim), ("users", alice)]).await;
        assert_eq!(mixed.status, 404);
        assert_eq!(server.app.get_group(&system, &team).await.unwrap().member_count, 3);
        let none = a.post(&path, &[("csrf", &token)]).await;
        assert_eq!(none.status, 303);
        assert!(a.get(&none.location).await.body.contains("Tick at least one member to remove."));
        let done = a.post(&path, &[("csrf", &token), ("users", karim), ("users", lena)]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(a.get(&done.location).await.body.contains("2 members removed."));
        assert_eq!(server.app.get_group(&system, &team).await.unwrap().member_count, 1);

        // In a group it manages, a training admin naming a user outside its branches
        // learns nothing of that user (404, as if absent) and removes nobody.
        let token = Agent::csrf(&t.get("/admin/groups").await.body);
        let made = t.post("/admin/groups", &[("csrf", &token), ("name", "EMEA crew"), ("policy", "manual")]).await;
        assert_eq!(made.status, 303, "{}", made.body);
        let crew = server.app.find_group(&system, "EMEA crew").await.unwrap().id;
        let alice = alice.clone();
        let add = AddMembers { users: Some(vec![alice.clone()]), ..AddMembers::default() };
        server.app.add_members(&system, &crew, add).await.unwrap();
        let path = format!("/admin/groups/{crew}/members/remove");
        let grace = &server.users["grace.lee"];
        let outside = t.post(&path, &[("csrf", &token), ("users", &alice), ("users", grace)]).await;
        assert_eq!(outside.status, 404);
        assert!(!outside.body.contains("grace"), "{}", outside.body);
        assert_eq!(server.app.get_group(&system, &crew).await.unwrap().member_count, 1);
        let done = t.post(&path, &[("csrf", &token), ("users", &alice)]).await;
        assert_eq!(done.status, 303);
        assert!(t.get(&done.location).await.body.contains("1 member removed."));
        assert_eq!(server.app.get_group(&system, &crew).await.unwrap().member_count, 0);
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_pager_and_the_bulk_remove_work_in_the_browser() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    more_users(&server, 108).await;
    let mut b = Browser::open(&server.base, "lists").await;
    b.log_in(ADMIN).await;
    b.go("/admin/users").await;
    b.wait_text("#pager-summary", "1–50 of 120").await;
    b.axe("users list").await;
    b.shot("users-pager").await;
    b.submit("a[aria-label='Page 3']").await;
    b.wait_text("#pager-summary", "101–120 of 120").await;
    assert_eq!(b.path().await, "/admin/users?page=3");
    b.submit("a[rel=prev]").await;
    b.wait_text("#pager-summary", "51–100 of 120").await;

    b.go("/admin/groups").await;
    b.submit("#sort-name").await;
    assert_eq!(b.path().await, "/admin/groups?sort=-name");
    let header = b.find("#groups-table th[aria-sort]").await;
    assert_eq!(header.attr("aria-sort").await.unwrap().as_deref(), Some("descending"));
    b.submit("#sort-members").await;
    assert_eq!(b.path().await, "/admin/groups?sort=-members");
    b.axe("groups list").await;
    b.shot("groups-sorted").await;
    b.submit("a[href^='/admin/groups/']:not([href$='sample.csv'])").await;
    b.wait_text("h1", "Warehouse team").await;
    b.axe("group members").await;
    for username in ["karim.haddad", "lena.fischer"] {
        b.click(&format!("tr[data-username='{username}'] input[type=checkbox]")).await;
    }
    b.shot("members-ticked").await;
    let page = b.page().await;
    b.click("#bulk-remove-submit").await;
    b.client.accept_alert().await.unwrap();
    b.next_page(page).await;
    b.wait_text("#flash", "2 members removed.").await;
    let table = b.text("#members-table").await;
    assert!(table.contains("david.moreau") && !table.contains("karim.haddad"), "{table}");
    b.close().await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_members_sort_by_name_count_and_date_with_counts_a_training_admin_may_see() {
    each_database(async |server: Server| {
        let system = Actor::system("t");
        more_users(&server, 5).await;
        let users = server.app.list_users(&system, &Default::default(), &Default::default()).await.unwrap();
        let us: Vec<String> =
            users.items.iter().filter(|u| u.branch.as_deref() == Some("US")).map(|u| u.id.clone()).collect();
        for (name, members) in [("Alpha crew", vec![server.users["emma.laurent"].clone()]), ("Zulu crew", us)] {
            let g = NewGroup { name: name.into(), description: None, policy: None, scope: None };
            let g = server.app.create_group(&system, g).await.unwrap();
            server
                .app
                .add_members(&system, &g.id, AddMembers { users: Some(members), ..AddMembers::default() })
                .await
                .unwrap();
        }
        let names = ["Alpha crew", "Warehouse team", "Zulu crew"];
        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let by_name = a.get("/admin/groups").await.body;
        assert!(is_sorted(&order_of(&by_name, &names)), "A to Z by default");
        assert!(by_name.contains("1–3 of 3"), "{by_name}");
        let reversed = a.get("/admin/groups?sort=-name").await.body;
        assert!(is_sorted(&order_of(&reversed, &["Zulu crew", "Warehouse team", "Alpha crew"])));
        // Zulu has 7 members (all in the US), Warehouse 3, Alpha 1.
        let most = a.get("/admin/groups?sort=-members").await.body;
        assert!(is_sorted(&order_of(&most, &["Zulu crew", "Warehouse team", "Alpha crew"])), "{most}");
        let fewest = a.get("/admin/groups?sort=members").await.body;
        assert!(is_sorted(&order_of(&fewest, &["Alpha crew", "Warehouse team", "Zulu crew"])));
        let newest = a.get("/admin/groups?sort=-created").await.body;
        assert!(is_sorted(&order_of(&newest, &["Zulu crew", "Alpha crew", "Warehouse team"])));

        // A training admin of EMEA sees none of Zulu's members: it sorts last.
        let mut t = Agent::new(&server.base);
        t.log_in(TRAINER, "/admin").await;
        let theirs = t.get("/admin/groups?sort=-members").await.body;
        assert!(is_sorted(&order_of(&theirs, &["Warehouse team", "Alpha crew", "Zulu crew"])), "{theirs}");

        // Members by username, both ways, and by when they joined, both ways.
        let groups = server.app.list_groups(&system, &Default::default(), &Default::default()).await.unwrap();
        let team = &groups.items.iter().find(|g| g.name == "Warehouse team").unwrap().id;
        let people = ["david.moreau", "karim.haddad", "lena.fischer"];
        let az = a.get(&format!("/admin/groups/{team}?sort=name")).await.body;
        assert!(is_sorted(&order_of(&az, &people)));
        let za = a.get(&format!("/admin/groups/{team}?sort=-name")).await.body;
        assert!(is_sorted(&order_of(&za, &["lena.fischer", "karim.haddad", "david.moreau"])));
        let old = order_of(&a.get(&format!("/admin/groups/{team}?sort=added")).await.body, &people);
        let new = order_of(&a.get(&format!("/admin/groups/{team}?sort=-added")).await.body, &people);
        let rank = |at: &[usize]| {
            let mut idx: Vec<usize> = (0..at.len()).collect();
            idx.sort_by_key(|i| at[*i]);
            idx
        };
        let mut reversed = rank(&old);
        reversed.reverse();
        assert_eq!(rank(&new), reversed, "newest first is oldest first reversed");
        assert!(az.contains("1–3 of 3"));
        server.finish().await;
    })
    .await;
}

/// Adds `n` courses `C-0000`... after the seeded two.
async fn more_courses(server: &Server, n: usize) {
    let sa = Actor::system("t");
    let sa = sa.superadmin().unwrap();
    for i in 0..n {
        let input = NewCourse { code: format!("C-{i:04}"), name: format!("Course number {i:04}") };
        server.app.create_course(&sa, input).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_course_picker_searches_every_course_instead_of_listing_a_thousand() {
    each_database(async |server: Server| {
        more_courses(&server, 1005).await;
        let mut a = Agent::new(&server.base);
        a.log_in(ADMIN, "/admin").await;
        let found = a.get("/admin/json/courses?q=c-1004").await;
        assert_eq!(found.status, 200);
        let found: serde_json::Value = serde_json::from_str(&found.body).unwrap();
        assert_eq!(found, serde_json::json!([{"id": "C-1004", "label": "Course number 1004", "detail": "C-1004"}]));
        let by_name: serde_json::Value =
            serde_json::from_str(&a.get("/admin/json/courses?q=SAFETY").await.body).unwrap();
        let codes: Vec<&str> = by_name.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(codes, ["DRV-101", "SAFE-2"], "names match in any case");
        let page = a.get(&format!("/admin/users/{}", server.users["alice.martin"])).await;
        assert!(
            page.body.contains(r#"data-picker="courses""#) && !page.body.contains("C-0999"),
            "no list of every course"
        );
        assert!(page.body.contains("Driver Safety Fundamentals"), "its enrollments keep their names");
        server.finish().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_enrolled_in_a_course_found_by_search_past_the_first_thousand() {
    if !enabled() {
        return;
    }
    let server = Server::start().await;
    more_courses(&server, 1005).await;
    let mut b = Browser::open(&server.base, "course-search").await;
    b.log_in(ADMIN).await;
    b.go(&format!("/admin/users/{}", server.users["emma.laurent"])).await;
    b.pick("#enroll-course", "1004", "Course number 1004").await;
    b.axe("user page with the course picker").await;
    b.shot("course-picker").await;
    b.submit("#enroll-submit").await;
    b.wait_text("#flash", "Enrollment in C-1004 set to enrolled.").await;
    b.wait_text("#enrollments", "Course number 1004").await;
    b.close().await;
    server.finish().await;
}
