//! The change feed and past memberships: a consumer that follows `/changes` through
//! random writes, a restart and a second server rebuilds exactly the stored
//! memberships; a training admin's feed names nobody outside its branches; stale and
//! malformed cursors are refused; `as_of` answers what the members were.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

use crate::helpers::TestServer;
use crate::users::{create_user, seed};

/// What a consumer keeps: its cursor, and each group's members as the feed told them.
#[derive(Debug, Default)]
struct Follower {
    after: Option<String>,
    groups: BTreeMap<String, BTreeSet<String>>,
    items: usize,
}

impl Follower {
    /// Reads the feed to its end, a few items a page, applying every membership move.
    async fn follow(&mut self, s: &TestServer, token: &str) {
        loop {
            let path = match &self.after {
                Some(a) => format!("/api/v1/changes?limit=7&after={a}"),
                None => "/api/v1/changes?limit=7".to_owned(),
            };
            let r = s.call_as(token, "GET", &path, None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            for item in r.body["items"].as_array().unwrap() {
                self.apply(item);
            }
            self.after = Some(r.body["next_cursor"].as_str().unwrap().to_owned());
            if !r.body["more"].as_bool().unwrap() {
                return;
            }
        }
    }

    fn apply(&mut self, item: &Value) {
        self.items += 1;
        let users = || item["user_ids"].as_array().into_iter().flatten().map(|u| u.as_str().unwrap().to_owned());
        let group = item["group_id"].as_str().map(str::to_owned);
        match item["kind"].as_str().unwrap() {
            "membership.joined" => self.groups.entry(group.unwrap()).or_default().extend(users()),
            "membership.left" => {
                let members = self.groups.entry(group.unwrap()).or_default();
                for u in users() {
                    assert!(members.remove(&u), "{u} left a group it was not in: {item}");
                }
            }
            "group.deleted" => {
                let gone = self.groups.remove(&group.unwrap()).unwrap_or_default();
                assert!(gone.is_empty(), "a group was deleted with members the feed never took out: {item}");
            }
            "user.deleted" => {
                for u in users() {
                    assert!(self.groups.values().all(|m| !m.contains(&u)), "{u} deleted while still a member");
                }
            }
            _ => {}
        }
        self.groups.retain(|_, m| !m.is_empty());
    }
}

/// Every group's members as stored, seen with `token`.
async fn stored(s: &TestServer, token: &str) -> BTreeMap<String, BTreeSet<String>> {
    let groups = s.call_as(token, "GET", "/api/v1/groups?limit=1000", None).await;
    let mut all = BTreeMap::new();
    for g in groups.body["items"].as_array().unwrap() {
        let id = g["id"].as_str().unwrap().to_owned();
        let members = s.call_as(token, "GET", &format!("/api/v1/groups/{id}/members?limit=1000"), None).await;
        assert_eq!(members.status, 200, "{}", members.body);
        let set: BTreeSet<String> = members.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user"]["id"].as_str().unwrap().to_owned())
            .collect();
        if !set.is_empty() {
            all.insert(id, set);
        }
    }
    all
}

/// A small deterministic generator: the same writes on both databases.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// The groups and users the random writes work on.
struct World {
    manual: Vec<String>,
    automatic: Vec<String>,
    users: Vec<String>,
    made: usize,
}

async fn world(s: &TestServer) -> World {
    seed(s).await;
    s.post_ok("/api/v1/courses", json!({"code": "DRV-101", "name": "Driver Safety"})).await;
    let mut w = World { manual: vec![], automatic: vec![], users: vec![], made: 0 };
    for i in 0..3 {
        let g = s.post_ok("/api/v1/groups", json!({"name": format!("Team {i}")})).await;
        w.manual.push(g["id"].as_str().unwrap().to_owned());
    }
    let rules = [r#"field("department") = "Sales""#, r#"course("DRV-101") = completed or member_of("Team 0")"#];
    for (i, rule) in rules.iter().enumerate() {
        let g = s.post_ok("/api/v1/groups", json!({"name": format!("Auto {i}"), "policy": "automatic"})).await;
        let id = g["id"].as_str().unwrap().to_owned();
        let r = s.call("PUT", &format!("/api/v1/groups/{id}/rule"), Some(json!({"text": rule}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        w.automatic.push(id);
    }
    for _ in 0..20 {
        new_user(s, &mut w, "Sales").await;
    }
    w
}

async fn new_user(s: &TestServer, w: &mut World, department: &str) {
    let branch = if w.made.is_multiple_of(3) { "US" } else { "PAR" };
    let body = json!({"username": format!("user.{}", w.made), "email": format!("user{}@acme.com", w.made),
        "branch": branch, "fields": {"department": department}});
    w.made += 1;
    w.users.push(s.post_ok("/api/v1/users", body).await["id"].as_str().unwrap().to_owned());
}

/// One random write of the kinds the feed carries.
async fn random_write(s: &TestServer, w: &mut World, dice: &mut Dice) {
    let departments = ["Sales", "Marketing", "Operations"];
    let user = w.users[dice.roll(w.users.len())].clone();
    let group = w.manual[dice.roll(w.manual.len())].clone();
    match dice.roll(10) {
        0 => new_user(s, w, departments[dice.roll(3)]).await,
        1 => {
            let body = json!({"fields": {"department": departments[dice.roll(3)]}});
            let r = s.call("PATCH", &format!("/api/v1/users/{user}"), Some(body)).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        2 => {
            let status = ["active", "suspended"][dice.roll(2)];
            let r = s.call("PATCH", &format!("/api/v1/users/{user}"), Some(json!({"status": status}))).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        3 if w.users.len() > 10 => {
            assert_eq!(s.call("DELETE", &format!("/api/v1/users/{user}"), None).await.status, 204);
            w.users.retain(|u| *u != user);
        }
        4 => {
            let picked: Vec<&String> = (0..3).map(|_| &w.users[dice.roll(w.users.len())]).collect();
            s.post_ok(&format!("/api/v1/groups/{group}/members"), json!({"users": picked})).await;
        }
        5 => {
            // A bulk move: a whole branch at once.
            let body = json!({"from_branch": "EMEA", "include_descendants": true});
            s.post_ok(&format!("/api/v1/groups/{group}/members"), body).await;
        }
        6 => {
            let r = s.call("DELETE", &format!("/api/v1/groups/{group}/members/{user}"), None).await;
            assert!(r.status == 200 || r.status == 404, "{}", r.body);
        }
        7 => {
            let department = departments[dice.roll(3)];
            let rule = json!({"text": format!(r#"field("department") = "{department}""#)});
            let r = s.call("PUT", &format!("/api/v1/groups/{}/rule", w.automatic[0]), Some(rule)).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        8 => {
            let path = format!("/api/v1/courses/DRV-101/enrollments/{user}");
            let r = if dice.roll(3) == 0 {
                s.call("DELETE", &path, None).await
            } else {
                let status = ["enrolled", "completed"][dice.roll(2)];
                s.call("PUT", &path, Some(json!({"status": status}))).await
            };
            assert!(r.status == 200 || r.status == 204 || r.status == 404, "{}", r.body);
        }
        _ => {
            // An import: new users and updates of existing ones in one transaction.
            let mut csv = String::from("username,email,branch,Department\n");
            let mut names = BTreeSet::new();
            for i in 0..20 {
                let n = if i % 2 == 0 { w.made + i } else { dice.roll(w.made) };
                if !names.insert(n) {
                    continue;
                }
                csv.push_str(&format!("user.{n},user{n}@acme.com,PAR,{}\n", departments[dice.roll(3)]));
            }
            let job = crate::imports::import(s, "", csv.into_bytes()).await;
            assert_eq!(job["state"], "succeeded", "{job}");
            w.made += 20;
            let all = s.call("GET", "/api/v1/users?limit=1000", None).await;
            w.users =
                all.body["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
        }
    }
}

async fn a_follower_rebuilds_every_membership_through_random_writes_and_a_restart(s: TestServer) {
    let mut w = world(&s).await;
    let mut dice = Dice(17);
    let mut follower = Follower::default();
    let token = s.token.clone();
    for round in 0..60 {
        random_write(&s, &mut w, &mut dice).await;
        if round % 7 == 0 {
            follower.follow(&s, &token).await;
        }
    }
    follower.follow(&s, &token).await;
    assert_eq!(follower.groups, stored(&s, &token).await);
    // A restart: a new process on the same database, with its own image; the
    // follower goes on with the cursor it kept.
    let restarted = s.twin().await;
    for _ in 0..30 {
        random_write(&restarted, &mut w, &mut dice).await;
    }
    follower.follow(&restarted, &token).await;
    assert_eq!(follower.groups, stored(&restarted, &token).await);
    // A group deleted with its members leaves the follower with nothing of it.
    let doomed = w.manual[1].clone();
    assert_eq!(restarted.call("DELETE", &format!("/api/v1/groups/{doomed}"), None).await.status, 204);
    follower.follow(&restarted, &token).await;
    assert!(!follower.groups.contains_key(&doomed));
    assert_eq!(follower.groups, stored(&restarted, &token).await);
    // The feed also says who was created, suspended, enrolled and which group changed.
    let mut kinds = BTreeSet::new();
    let mut imported = 0;
    let mut after = String::from("0");
    loop {
        let r = restarted.call("GET", &format!("/api/v1/changes?after={after}&limit=1000"), None).await;
        let items = r.body["items"].as_array().unwrap();
        kinds.extend(items.iter().map(|i| i["kind"].as_str().unwrap().to_owned()));
        // An import's users are one item, with the import's actor and cause.
        imported += items
            .iter()
            .filter(|i| i["kind"] == "user.created" && i["user_ids"].as_array().unwrap().len() > 1)
            .inspect(|i| assert!(i["cause"].as_str().unwrap().starts_with("user import"), "{i}"))
            .inspect(|i| assert_eq!(i["actor"], "token:test-admin", "{i}"))
            .count();
        after = r.body["next_cursor"].as_str().unwrap().to_owned();
        if !r.body["more"].as_bool().unwrap() {
            break;
        }
    }
    assert!(imported > 0, "no import in the random writes");
    for kind in [
        "membership.joined",
        "membership.left",
        "user.created",
        "user.updated",
        "user.suspended",
        "user.deleted",
        "enrollment.set",
        "group.created",
        "group.changed",
        "group.deleted",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
}

async fn a_training_admin_follows_only_its_branches(s: TestServer) {
    seed(&s).await;
    let trainer = s.training_admin("fr-feed", &["FR"]).await;
    let inside = create_user(&s, "in.paris", Some("PAR")).await;
    let outside: Vec<String> = {
        let mut v = vec![];
        for i in 0..20 {
            v.push(create_user(&s, &format!("out.{i}"), Some("US")).await);
        }
        v
    };
    let group = s.post_ok("/api/v1/groups", json!({"name": "Everyone"})).await["id"].as_str().unwrap().to_owned();
    // One bulk move holding both: the trainer's item lists only the inside user.
    let mut everyone = outside.clone();
    everyone.push(inside.clone());
    s.post_ok(&format!("/api/v1/groups/{group}/members"), json!({"users": everyone})).await;
    // A move of outside users only, and their deletion: nothing of it reaches the trainer.
    let only_outside = s.post_ok("/api/v1/groups", json!({"name": "Outside"})).await["id"].as_str().unwrap().to_owned();
    s.post_ok(&format!("/api/v1/groups/{only_outside}/members"), json!({"users": [outside[0]]})).await;
    assert_eq!(s.call("DELETE", &format!("/api/v1/users/{}", outside[1]), None).await.status, 204);

    let mut follower = Follower::default();
    follower.follow(&s, &trainer).await;
    assert_eq!(follower.groups, stored(&s, &trainer).await);
    assert_eq!(follower.groups[&group], BTreeSet::from([inside.clone()]));
    let r = s.call_as(&trainer, "GET", "/api/v1/changes?limit=1000", None).await;
    let items = r.body["items"].as_array().unwrap();
    for item in items {
        let users: Vec<&str> = item["user_ids"].as_array().into_iter().flatten().map(|u| u.as_str().unwrap()).collect();
        assert!(users.iter().all(|u| *u == inside), "the trainer sees an outside user: {item}");
        if item["kind"].as_str().unwrap().starts_with("user.")
            || item["kind"].as_str().unwrap().starts_with("membership.")
        {
            assert_eq!(users, [inside.as_str()], "{item}");
        }
    }
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert!(!kinds.contains(&"user.deleted"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "membership.joined").count(), 1, "{kinds:?}");
    // The superadmin sees all of it.
    let all = s.call("GET", "/api/v1/changes?limit=1000&kind=membership.joined,user.deleted", None).await;
    let kinds: Vec<&str> = all.body["items"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["membership.joined", "membership.joined", "user.deleted"]);
    // Filtered by group: that group's items only.
    let one = s.call("GET", &format!("/api/v1/changes?limit=1000&group={only_outside}"), None).await;
    let groups: BTreeSet<&str> =
        one.body["items"].as_array().unwrap().iter().map(|i| i["group_id"].as_str().unwrap()).collect();
    assert_eq!(groups, BTreeSet::from([only_outside.as_str()]));
}

async fn stale_and_malformed_cursors_are_refused(s: TestServer) {
    seed(&s).await;
    let before_early = s.call("GET", "/api/v1/changes?after=now", None).await.body["next_cursor"].clone();
    let before_early = before_early.as_str().unwrap().to_owned();
    create_user(&s, "early", Some("PAR")).await;
    let r = s.call("GET", &format!("/api/v1/changes?after={before_early}"), None).await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.body);
    let early = items[0]["cursor"].as_str().unwrap().to_owned();
    // Forty days later the early change is past the retention, and pruned.
    s.clock.advance(40 * 86_400_000);
    let late = create_user(&s, "late", Some("PAR")).await;
    assert!(s.app.prune_changes().await.unwrap() > 0);
    let r = s.call("GET", &format!("/api/v1/changes?after={before_early}"), None).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (410, Some("gone")), "{}", r.body);
    assert!(r.message().contains("/members"), "{}", r.message());
    // A consumer that had read the early change loses nothing.
    let r = s.call("GET", &format!("/api/v1/changes?after={early}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.body);
    assert_eq!(
        (items[0]["kind"].as_str(), items[0]["user_ids"][0].as_str()),
        (Some("user.created"), Some(late.as_str()))
    );
    for (query, field) in [
        ("after=abc", "after"),
        ("after=1.x", "after"),
        ("after=-3", "after"),
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("kind=user.renamed", "kind"),
        ("group=x", "group"),
    ] {
        let r = s.call("GET", &format!("/api/v1/changes?{query}"), None).await;
        assert_eq!((r.status, r.field()), (400, field), "{query}: {}", r.body);
    }
}

async fn as_of_answers_what_the_members_were(s: TestServer) {
    seed(&s).await;
    let group = s.post_ok("/api/v1/groups", json!({"name": "Crew"})).await["id"].as_str().unwrap().to_owned();
    let auto = s.post_ok("/api/v1/groups", json!({"name": "Sellers", "policy": "automatic"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut users = vec![];
    for i in 0..24 {
        let body = json!({"username": format!("p{i}"), "email": format!("p{i}@acme.com"),
            "branch": if i % 4 == 0 { "US" } else { "PAR" }, "fields": {"department": "Sales"}});
        users.push(s.post_ok("/api/v1/users", body).await["id"].as_str().unwrap().to_owned());
    }
    let mut dice = Dice(5);
    let mut snapshots: Vec<(String, BTreeMap<String, BTreeSet<String>>)> = vec![];
    for step in 0..14 {
        s.clock.advance(600_000);
        let user = &users[dice.roll(users.len())];
        match step % 5 {
            0 => {
                s.post_ok(&format!("/api/v1/groups/{group}/members"), json!({"users": [user]})).await;
            }
            1 => {
                s.post_ok(
                    &format!("/api/v1/groups/{group}/members"),
                    json!({"from_branch": "EMEA", "include_descendants": true}),
                )
                .await;
            }
            2 => {
                s.call("DELETE", &format!("/api/v1/groups/{group}/members/{user}"), None).await;
            }
            3 => {
                let dept = ["Sales", "Marketing"][dice.roll(2)];
                let rule = json!({"text": format!(r#"field("department") = "{dept}""#)});
                assert_eq!(s.call("PUT", &format!("/api/v1/groups/{auto}/rule"), Some(rule)).await.status, 200);
            }
            _ => {
                let department = ["Sales", "Marketing"][dice.roll(2)];
                let body = json!({"fields": {"department": department}});
                assert_eq!(s.call("PATCH", &format!("/api/v1/users/{user}"), Some(body)).await.status, 200);
            }
        }
        let at = roster_app::clock::rfc3339(s.app.now());
        snapshots.push((at, stored(&s, &s.token).await));
    }
    s.clock.advance(600_000);
    // Everything goes: the past stays answerable.
    for u in &users[..6] {
        assert_eq!(s.call("DELETE", &format!("/api/v1/users/{u}"), None).await.status, 204);
    }
    let trainer = s.training_admin("fr-asof", &["FR"]).await;
    let paris: BTreeSet<String> =
        users.iter().enumerate().filter(|(i, _)| i % 4 != 0 && *i >= 6).map(|(_, u)| u.clone()).collect();
    for (at, snapshot) in &snapshots {
        for g in [&group, &auto] {
            let want = snapshot.get(g).cloned().unwrap_or_default();
            assert_eq!(as_of(&s, &s.token, g, at).await, want, "{g} at {at}");
            let seen: BTreeSet<String> = want.intersection(&paris).cloned().collect();
            assert_eq!(as_of(&s, &trainer, g, at).await, seen, "the trainer's {g} at {at}");
        }
    }
    let before = roster_app::clock::rfc3339(crate::helpers::NOW_MS - 1);
    assert!(as_of(&s, &s.token, &group, &before).await.is_empty());
    let r = s.call("GET", &format!("/api/v1/groups/{group}/members?as_of={}", before.replace('+', "%2B")), None).await;
    assert_eq!(r.body["existed"], false, "the group was made after that moment: {}", r.body);
    let r = s
        .call("GET", &format!("/api/v1/groups/{group}/members?as_of={}", snapshots[0].0.replace('+', "%2B")), None)
        .await;
    assert_eq!(r.body["existed"], true, "{}", r.body);
    let r = s.call("GET", &format!("/api/v1/groups/{group}/members?as_of=yesterday"), None).await;
    assert_eq!((r.status, r.field()), (400, "as_of"), "{}", r.body);
    let r = s.call("GET", "/api/v1/groups/999999/members?as_of=2026-03-01T00:00:00Z", None).await;
    assert_eq!(r.status, 404);
}

/// A group's members at `at` as the API answers, all pages.
async fn as_of(s: &TestServer, token: &str, group: &str, at: &str) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let at = at.replace('+', "%2B");
        let path = format!("/api/v1/groups/{group}/members?as_of={at}&limit=5&cursor={cursor}");
        let r = s.call_as(token, "GET", &path, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        all.extend(r.body["items"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap().to_owned()));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => {
                assert_eq!(r.body["total"].as_u64(), Some(all.len() as u64), "every page counts them all: {}", r.body);
                return all;
            }
        }
    }
}

crate::on_both_databases!(
    a_follower_rebuilds_every_membership_through_random_writes_and_a_restart,
    a_training_admin_follows_only_its_branches,
    stale_and_malformed_cursors_are_refused,
    as_of_answers_what_the_members_were,
);

/// Two servers on one PostgreSQL write at once while a consumer follows the feed from
/// either of them, polling as they write: no change committed by one process is
/// skipped because the other's committed first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_misses_nothing_while_two_servers_write_at_once() {
    let Some(pg) = roster_test_support::FreshPostgres::create("roster_feed_cluster").await else { return };
    let a = crate::helpers::spawn_server(&pg.url, None, None).await;
    let b = a.twin().await;
    let w = world(&a).await;
    let users = w.users.clone();
    let groups = w.manual.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers = [&a, &b].map(|s| {
        let (users, groups, base, token, http) =
            (users.clone(), groups.clone(), s.base.clone(), s.token.clone(), s.http.clone());
        tokio::spawn(async move {
            for i in 0..40 {
                let group = &groups[i % groups.len()];
                let user = &users[(i * 7 + base.len()) % users.len()];
                let (method, path, body) = match i % 3 {
                    0 => ("POST", format!("/api/v1/groups/{group}/members"), Some(json!({"users": [user]}))),
                    1 => ("DELETE", format!("/api/v1/groups/{group}/members/{user}"), None),
                    _ => {
                        let department = ["Sales", "Marketing"][i % 2];
                        ("PATCH", format!("/api/v1/users/{user}"), Some(json!({"fields": {"department": department}})))
                    }
                };
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let mut req = http.request(method, format!("{base}{path}")).bearer_auth(&token);
                if let Some(body) = body {
                    req = req.json(&body);
                }
                let status = req.send().await.unwrap().status().as_u16();
                assert!([200, 201, 204, 404].contains(&status), "{path}: {status}");
            }
        })
    });
    let mut follower = Follower::default();
    let reader = async {
        let mut turn = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let s = if turn % 2 == 0 { &a } else { &b };
            follower.follow(s, &a.token).await;
            turn += 1;
        }
        follower
    };
    let write_all = async {
        for w in writers {
            w.await.unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (mut follower, ()) = tokio::join!(reader, write_all);
    follower.follow(&b, &a.token).await;
    assert_eq!(follower.groups, stored(&a, &a.token).await);
    assert!(follower.items > 40, "the follower saw {} items", follower.items);
    a.app.store().close().await;
    b.app.store().close().await;
    pg.drop_database().await;
}
