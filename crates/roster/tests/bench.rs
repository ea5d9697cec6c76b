//! `roster bench` at a small scale, on SQLite and PostgreSQL: the whole run completes,
//! the SQL-per-rule baseline agrees with Roster on every group (the run fails otherwise),
//! and the figures come out as a table and as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{command, ok, on_both_databases};
use serde_json::Value;

#[tokio::test]
async fn the_benchmark_runs_and_the_baseline_agrees_on_every_group() {
    on_both_databases(|db| async move {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("bench.json");
        let args = [
            "bench",
            "--users",
            "3000",
            "--groups",
            "60",
            "--updates",
            "20",
            "--import-users",
            "300",
            "--baseline",
            "both",
            "--bench-database-url",
            &db,
            "--json",
            json.to_str().unwrap(),
        ];
        // The global --database-url names another database: the benchmark must not touch it.
        let elsewhere = format!("sqlite://{}", dir.path().join("elsewhere.db").display());
        let table = ok(&command(&elsewhere, &args).output().unwrap());
        assert!(table.contains("| measure | Roster | SQL-per-rule baseline |"), "{table}");
        assert!(table.contains("60 groups, each query's result equal to Roster's"), "{table}");

        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(report["users"], 3000);
        let measures = report["measures"].as_array().unwrap();
        let named = |start: &str| {
            measures
                .iter()
                .find(|m| m["name"].as_str().unwrap().starts_with(start))
                .unwrap_or_else(|| panic!("no measure \"{start}\" in {report}"))
        };
        // Both baselines ran, and the target is judged against the indexed one.
        let indexed = named("whole evaluation, Roster's engine beside the SQL-per-rule baseline (indexed");
        assert!(indexed["baseline"].as_f64().unwrap() > indexed["value"].as_f64().unwrap());
        assert!(indexed["target"].as_str().unwrap().starts_with(">= 50x"), "{indexed}");
        let json = named("whole evaluation, Roster's engine beside the SQL-per-rule baseline over JSON text");
        assert!(json["baseline"].as_f64().unwrap() > json["value"].as_f64().unwrap());
        assert!(json.get("target").is_none(), "{json}");
        assert!(named("baseline's field-value table and indexes built")["value"].as_f64().unwrap() > 0.0);
        let evaluated = named("every automatic group evaluated");
        let detail = evaluated["detail"].as_str().unwrap();
        assert!(detail.starts_with("60 groups,"), "{detail}");
        // The median is one of the five runs the detail lists in the order run.
        let runs = detail.split("the five in the order run: ").nth(1).unwrap().trim_end_matches(" ms");
        let runs: Vec<f64> = runs.split(", ").map(|t| t.parse().unwrap()).collect();
        assert_eq!(runs.len(), 5, "{detail}");
        let median = evaluated["value"].as_f64().unwrap();
        assert!(runs.iter().any(|t| (t - median).abs() <= 0.5), "{median} not among {runs:?}");
        // 300 users are not the 100,000 the import's target is for: shown, not judged.
        let import = named("CSV import");
        assert!(import["detail"].as_str().unwrap().contains("300 created"));
        assert!(import["detail"].as_str().unwrap().contains("not judged"));
        assert!(import.get("met").is_none(), "{import}");
        // The enrollment rule enrolled most of the large group's members (~10% of the users).
        let rule = named("enrollment rule added to a large group: applied with enrollments and events");
        let detail = rule["detail"].as_str().unwrap();
        let count = |after: &str| -> u64 {
            let at = detail.find(after).unwrap_or_else(|| panic!("no \"{after}\" in {detail}"));
            let head = &detail[..at];
            head[head.rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1)..].parse().unwrap()
        };
        let (members, enrolled) = (count(" members"), count(" enrolled"));
        assert!((150..=600).contains(&members) && enrolled > members / 2 && enrolled <= members, "{detail}");
        assert!(rule["target"].as_str().unwrap().starts_with("<= 1"), "{rule}");
        // Previews while a large rule edit is applied, beside previews with no write.
        let previews = named("preview during a rule edit on a large group: p99");
        assert!(
            previews["detail"].as_str().unwrap().contains("with no write under way, just before: p50"),
            "{previews}"
        );
        for m in ["rule edit on a large group: applied", "one user update", "peak resident memory"] {
            assert!(named(m)["value"].as_f64().unwrap() > 0.0);
        }

        // Webhooks: a local receiver got every change; the rows say with and without.
        let update = named("one user update, a webhook subscription being delivered: p99");
        assert!(update["value"].as_f64().unwrap() > 0.0);
        assert!(update["detail"].as_str().unwrap().contains("without a subscription, just before: p50"), "{update}");
        let import = named("CSV import of new users, a webhook subscription being delivered");
        let detail = import["detail"].as_str().unwrap();
        assert!(detail.contains("300 created; without a subscription, just before:"), "{detail}");
        assert!(detail.contains("its changes delivered"), "{detail}");
        let backlog = named("webhook backlog delivered to a receiver on 127.0.0.1: changes per second");
        assert_eq!(backlog["unit"], "/s");
        assert!(backlog["value"].as_f64().unwrap() > 0.0);
        // 1,000 updates and the memberships they moved, in batches of up to 500: every
        // request received.
        let detail = backlog["detail"].as_str().unwrap();
        let number = |after: &str| -> u64 {
            let rest = detail.split(after).nth(1).unwrap_or_else(|| panic!("no \"{after}\" in {detail}"));
            rest.split(' ').next().unwrap().trim_start_matches('(').parse().unwrap()
        };
        let (items, batches) = (detail.split(' ').next().unwrap().parse::<u64>().unwrap(), number("delivered in "));
        assert!(detail.contains("(1000 single-user updates"), "{detail}");
        assert!(items >= 1000 && batches >= items.div_ceil(500) && batches == number("signed requests "), "{detail}");
        let single = named("webhook deliveries of one change each: deliveries per second");
        assert!(single["value"].as_f64().unwrap() > 0.0);
        assert!(table.contains(" /s |"), "{table}");

        // The population, the import, and the two imports of the webhook rows.
        let store = roster_store::Store::connect(&db).await.unwrap();
        let mut conn = store.read().await.unwrap();
        assert_eq!(roster_store::users::count(&mut conn).await.unwrap(), 3900);
        drop(conn);
        store.close().await;

        // The benchmark refuses a database that is not empty rather than mixing data.
        let again = command(&elsewhere, &args).output().unwrap();
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("needs an empty database"));
    })
    .await;
}
