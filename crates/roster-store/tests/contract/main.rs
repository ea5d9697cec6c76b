//! The storage contract: one script, run against SQLite and against PostgreSQL
//! (when `ROSTER_TEST_POSTGRES_URL` is set). Both backends must answer alike.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![expect(clippy::disallowed_methods, reason = "the contract is the store's own: it writes below the app's door")]

use roaring::RoaringBitmap;
use roster_domain::{Enrollment, EnrollmentStatus, Group, GroupPolicy, MembershipChange, User, UserStatus};
use roster_store::events::Subject;
use roster_store::memberships::{Cause, GroupMoves, Moves};
use roster_store::users::UserQuery;
use roster_store::{Backend, Store, StoreError};
use std::collections::BTreeMap;

fn user(name: &str, branch: Option<i64>) -> User {
    User {
        id: 0,
        username: roster_domain::Username::parse("username", name).unwrap(),
        email: roster_domain::Email::parse("email", &format!("{}@acme.com", name.to_lowercase())).unwrap(),
        first_name: Some("Zoë".into()),
        last_name: None,
        status: UserStatus::Active,
        language: None,
        timezone: None,
        branch_id: branch,
        created_at: 1_000,
        updated_at: 1_000,
        last_login_at: None,
        fields: BTreeMap::from([("department".to_owned(), serde_json::json!("Sales"))]),
    }
}

async fn script(store: Store) {
    store.migrate(1).await.unwrap();
    store.migrate(2).await.expect("migrating twice is harmless");

    let mut tx = store.write().await.unwrap();
    let emea = roster_store::branches::insert(&mut tx, "EMEA", "Europe", None, 1).await.unwrap();
    let fr = roster_store::branches::insert(&mut tx, "FR", "France", Some(emea), 1).await.unwrap();
    tx.commit().await.unwrap();
    // A refused statement spoils its transaction on PostgreSQL: callers stop at the
    // first error and let the transaction roll back.
    let mut tx = store.write().await.unwrap();
    let err = roster_store::branches::insert(&mut tx, "fr", "Again", None, 1).await;
    assert!(matches!(err, Err(StoreError::Conflict { field: "code" })), "{err:?}");
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let ann = roster_store::users::insert(&mut tx, &user("Ann", Some(fr))).await.unwrap();
    let dup = roster_store::users::insert(&mut tx, &user("ANN", None)).await;
    assert!(matches!(dup, Err(StoreError::Conflict { field: "username" })), "{dup:?}");
    drop(tx); // rolled back: Ann is gone too
    let mut conn = store.read().await.unwrap();
    assert!(roster_store::users::get(&mut conn, ann).await.unwrap().is_none(), "a dropped transaction rolls back");
    drop(conn);

    let mut tx = store.write().await.unwrap();
    let many: Vec<User> =
        (0..1203).map(|i| user(&format!("u{i:04}"), if i % 3 == 0 { Some(fr) } else { None })).collect();
    let ids = roster_store::users::insert_many(&mut tx, &many).await.unwrap();
    assert_eq!(ids.len(), 1203);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids come back in insertion order");
    let course = roster_store::courses::insert(&mut tx, "DRV-101", "Driver Safety", 1).await.unwrap();
    let enrollments: Vec<Enrollment> = ids
        .iter()
        .take(10)
        .map(|id| Enrollment {
            user_id: *id,
            course_id: course,
            status: EnrollmentStatus::Completed,
            enrolled_at: 5,
            completed_at: Some(6),
            due_at: None,
            made_by_group: None,
        })
        .collect();
    roster_store::enrollments::insert_many(&mut tx, &enrollments).await.unwrap();
    tx.commit().await.unwrap();

    let mut conn = store.read().await.unwrap();
    // The start-up's bulk reads give what one-by-one reads give.
    let batch = roster_store::users::batch(&mut conn, 0, 500).await.unwrap();
    assert_eq!(batch.iter().map(|u| u.id).collect::<Vec<_>>(), ids[..500]);
    for u in batch.iter().step_by(41) {
        assert_eq!(Some(u), roster_store::users::get(&mut conn, u.id).await.unwrap().as_ref());
    }
    assert_eq!(roster_store::users::batch(&mut conn, ids[499], 5000).await.unwrap().len(), 703);
    assert!(roster_store::users::batch(&mut conn, ids[1202], 10).await.unwrap().is_empty());
    use roster_store::enrollments::of_course_after;
    assert_eq!(of_course_after(&mut conn, course, 0, 9).await.unwrap(), enrollments[..9]);
    assert_eq!(of_course_after(&mut conn, course, ids[8], 100).await.unwrap(), enrollments[9..]);
    assert!(of_course_after(&mut conn, course, ids[9], 100).await.unwrap().is_empty());
    let first = roster_store::users::get(&mut conn, ids[0]).await.unwrap().unwrap();
    assert_eq!(first.username.as_str(), "u0000");
    assert_eq!(first.first_name.as_deref(), Some("Zoë"), "text round-trips exactly");
    assert_eq!(first.fields["department"], "Sales");
    assert_eq!(roster_store::users::get_by_username(&mut conn, "U0001").await.unwrap().unwrap().id, ids[1]);

    let page = roster_store::users::list(&mut conn, &UserQuery { limit: 500, ..Default::default() }).await.unwrap();
    assert_eq!(page.items.len(), 500);
    assert_eq!(page.next, Some(ids[499]));
    let in_fr = roster_store::users::list(
        &mut conn,
        &UserQuery { branch_ids: Some(vec![fr]), limit: 1000, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(in_fr.items.len(), 401);
    let q =
        roster_store::users::list(&mut conn, &UserQuery { q: Some("u012".into()), limit: 1000, ..Default::default() })
            .await
            .unwrap();
    assert_eq!(q.items.len(), 10);
    let underscore =
        roster_store::users::list(&mut conn, &UserQuery { q: Some("_".into()), limit: 1000, ..Default::default() })
            .await
            .unwrap();
    assert!(underscore.items.is_empty(), "LIKE wildcards are escaped");
    assert_eq!(roster_store::users::count_in_branches(&mut conn, &[emea, fr]).await.unwrap(), 401);
    drop(conn);

    let mut tx = store.write().await.unwrap();
    let mut changed = first.clone();
    changed.status = UserStatus::Suspended;
    changed.fields.clear();
    roster_store::users::update(&mut tx, &changed).await.unwrap();
    let e = Enrollment {
        user_id: ids[0],
        course_id: course,
        status: EnrollmentStatus::Failed,
        enrolled_at: 5,
        completed_at: None,
        due_at: None,
        made_by_group: None,
    };
    roster_store::enrollments::upsert(&mut tx, &e).await.unwrap();
    roster_store::users::delete(&mut tx, ids[1]).await.unwrap();
    tx.commit().await.unwrap();

    let mut conn = store.read().await.unwrap();
    let back = roster_store::users::get(&mut conn, ids[0]).await.unwrap().unwrap();
    assert_eq!(back.status, UserStatus::Suspended);
    assert!(back.fields.is_empty());
    assert_eq!(roster_store::enrollments::of_user(&mut conn, ids[0]).await.unwrap(), vec![e]);
    assert!(
        roster_store::enrollments::of_user(&mut conn, ids[1]).await.unwrap().is_empty(),
        "enrollments go with their user"
    );
    let page = roster_store::enrollments::of_course(&mut conn, course, None, None, 100).await.unwrap();
    assert_eq!(page.items.len(), 9);
    drop(conn);

    // Each indexed column is written when it alone changes (SQLite sets them apart from
    // the others), and its index finds the user by the new value; an update of a user
    // that is not there is refused.
    let mut tx = store.write().await.unwrap();
    let mut renamed = back.clone();
    renamed.first_name = Some("Ann".into());
    roster_store::users::update(&mut tx, &renamed).await.unwrap();
    renamed.email = roster_domain::Email::parse("email", "renamed@acme.com").unwrap();
    roster_store::users::update(&mut tx, &renamed).await.unwrap();
    renamed.username = roster_domain::Username::parse("username", "Renamed").unwrap();
    renamed.branch_id = Some(emea);
    roster_store::users::update(&mut tx, &renamed).await.unwrap();
    renamed.status = UserStatus::Active;
    roster_store::users::update(&mut tx, &renamed).await.unwrap();
    let missing = User { id: ids[1], ..renamed.clone() };
    assert!(matches!(roster_store::users::update(&mut tx, &missing).await, Err(StoreError::NotFound)));
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    assert_eq!(roster_store::users::get(&mut conn, ids[0]).await.unwrap().unwrap(), renamed);
    assert_eq!(roster_store::users::ids_by_email(&mut conn, "renamed@acme.com").await.unwrap(), vec![ids[0]]);
    assert_eq!(roster_store::users::get_by_username(&mut conn, "renamed").await.unwrap().unwrap().id, ids[0]);
    let names = roster_store::users::usernames(&mut conn, &[ids[5], ids[0], 999_999]).await.unwrap();
    assert_eq!(
        names,
        [(ids[0], "Renamed".to_owned()), (ids[5], "u0005".to_owned())].into(),
        "usernames by id, as spelled; an unknown id is left out"
    );
    assert!(roster_store::users::usernames(&mut conn, &[]).await.unwrap().is_empty());
    let in_emea = UserQuery { branch_ids: Some(vec![emea]), limit: 1000, ..Default::default() };
    assert!(roster_store::users::list(&mut conn, &in_emea).await.unwrap().items.iter().any(|u| u.id == ids[0]));
    drop(conn);

    // Memberships and events written as (user, group) pairs: many groups at once.
    let mut tx = store.write().await.unwrap();
    let group = |name: &str| Group {
        id: 0,
        name: name.to_owned(),
        description: None,
        policy: GroupPolicy::Manual,
        rule_text: None,
        rule_tree: None,
        allow_suspended: false,
        member_count: 0,
        created_at: 1,
        updated_at: 1,
        scope: (name == "Two").then(|| vec!["FR".to_owned(), "DE".to_owned()]),
    };
    let (g1, g2) = (
        roster_store::groups::insert(&mut tx, &group("One")).await.unwrap(),
        roster_store::groups::insert(&mut tx, &group("Two")).await.unwrap(),
    );
    let scopes = (
        roster_store::groups::get(&mut tx, g1).await.unwrap().unwrap().scope,
        roster_store::groups::get(&mut tx, g2).await.unwrap().unwrap().scope,
    );
    assert_eq!(scopes, (None, Some(vec!["FR".to_owned(), "DE".to_owned()])), "a scope is kept as written");
    let pairs: Vec<(i64, i64)> =
        ids[2..].iter().flat_map(|u| [(*u, g1), (*u, g2)]).filter(|(u, g)| (u + g) % 3 != 0).collect();
    let cause = Cause { actor: "rules".into(), why: "a rule".into(), at: 7 };
    // Group by group, as a bulk change writes them.
    let of = |pairs: &[(i64, i64)], g: i64| -> RoaringBitmap {
        pairs.iter().filter(|p| p.1 == g).map(|p| u32::try_from(p.0).unwrap()).collect()
    };
    let none = RoaringBitmap::new();
    let (joins1, joins2) = (of(&pairs, g1), of(&pairs, g2));
    let joins = [
        GroupMoves { group_id: g1, by_rule: &joins1, by_list: &none, left: &none },
        GroupMoves { group_id: g2, by_rule: &joins2, by_list: &none, left: &none },
    ];
    roster_store::memberships::apply(&mut tx, Moves::Sets(&joins), &cause).await.unwrap();
    let gone = [(ids[4], g1), (ids[4], g2), (ids[5], g2)];
    let gone: Vec<(i64, i64)> = gone.into_iter().filter(|p| pairs.contains(p)).collect();
    let (gone1, gone2) = (of(&gone, g1), of(&gone, g2));
    let leaves = [
        GroupMoves { group_id: g1, by_rule: &none, by_list: &none, left: &gone1 },
        GroupMoves { group_id: g2, by_rule: &none, by_list: &none, left: &gone2 },
    ];
    roster_store::memberships::apply(&mut tx, Moves::Sets(&leaves), &cause).await.unwrap();
    let again = roster_store::memberships::apply(&mut tx, Moves::Sets(&leaves), &cause).await;
    assert!(matches!(again, Err(StoreError::Corrupt(_))), "ended already: {again:?}");
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    for g in [g1, g2] {
        let expected: Vec<i64> = pairs.iter().filter(|p| p.1 == g && !gone.contains(p)).map(|p| p.0).collect();
        assert_eq!(roster_store::memberships::member_ids(&mut conn, g).await.unwrap(), expected);
        let events = roster_store::events::page(&mut conn, Subject::Group(g), None, None, 5000).await.unwrap();
        let moved = |change| {
            let mut users: Vec<i64> = events.items.iter().filter(|e| e.change == change).map(|e| e.user_id).collect();
            users.sort_unstable();
            users
        };
        assert_eq!(moved(MembershipChange::Joined), pairs.iter().filter(|p| p.1 == g).map(|p| p.0).collect::<Vec<_>>());
        assert_eq!(moved(MembershipChange::Left), gone.iter().filter(|p| p.1 == g).map(|p| p.0).collect::<Vec<_>>());
        assert!(events.items.iter().all(|e| e.cause == "a rule"));
    }
    drop(conn);
    // A join that exists already refuses the write, after the statement has taken the
    // new joins before it (SQLite's `INSERT OR FAIL` keeps them until the rollback):
    // the whole write rolls back, and the group is as it was.
    let before = roster_store::memberships::member_ids(&mut store.read().await.unwrap(), g1).await.unwrap();
    let last = *before.last().unwrap();
    assert!(!before.contains(&ids[0]) && !before.contains(&ids[1]) && ids[1] < last);
    let mut tx = store.write().await.unwrap();
    let joins: RoaringBitmap = [ids[0], ids[1], last].iter().map(|u| u32::try_from(*u).unwrap()).collect();
    let refused = [GroupMoves { group_id: g1, by_rule: &joins, by_list: &none, left: &none }];
    let err = roster_store::memberships::apply(&mut tx, Moves::Sets(&refused), &cause).await;
    assert!(err.is_err(), "a join of a member: {err:?}");
    drop(tx);
    let after = roster_store::memberships::member_ids(&mut store.read().await.unwrap(), g1).await.unwrap();
    assert_eq!(after, before, "nothing of a refused write stays");
    // Memberships go with their user and with their group.
    let mut tx = store.write().await.unwrap();
    roster_store::users::delete(&mut tx, ids[2]).await.unwrap();
    roster_store::groups::delete(&mut tx, g2).await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    let left: Vec<i64> =
        pairs.iter().filter(|p| p.1 == g1 && !gone.contains(p) && p.0 != ids[2]).map(|p| p.0).collect();
    assert_eq!(roster_store::memberships::member_ids(&mut conn, g1).await.unwrap(), left);
    assert!(roster_store::memberships::member_ids(&mut conn, g2).await.unwrap().is_empty());
    assert!(roster_store::memberships::group_ids_of_user(&mut conn, ids[2]).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("c.db").display())).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    script(store).await;
}

#[tokio::test]
async fn postgres_keeps_the_contract() {
    let Some(pg) = roster_test_support::FreshPostgres::create("roster_contract").await else { return };
    let store = Store::connect(&pg.url).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    script(store.clone()).await;
    store.close().await;
    pg.drop_database().await;
}
