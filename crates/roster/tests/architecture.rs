//! The architecture's invariants, checked against the manifests (`cargo metadata`): which
//! crate of the workspace may depend on which (ARCHITECTURE.md says why), and which
//! crates stay free of I/O. A new crate, or a new edge between crates, fails here until
//! the invariants below say it is allowed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each crate of the workspace and the workspace crates it may use at run time
/// (tests and benchmarks may use more).
const ALLOWED: &[(&str, &[&str])] = &[
    // Ids, validated values, the rule language: imports nothing of ours.
    ("roster-domain", &[]),
    // The image and evaluation: the domain's types only.
    ("roster-engine", &["roster-domain"]),
    // Persistence: the domain's types only; it knows nothing of rules or HTTP.
    ("roster-store", &["roster-domain"]),
    // CSV as spreadsheets write it, and SCIM's resources: stand-alone.
    ("roster-csv", &[]),
    ("roster-scim", &[]),
    // The use cases: the only crate that drives engine and store together.
    ("roster-app", &["roster-domain", "roster-engine", "roster-store", "roster-csv", "roster-scim"]),
    // HTTP over the app; the domain's and SCIM's wire types, never the store or engine.
    ("roster-web", &["roster-app", "roster-domain", "roster-scim"]),
    // The benchmark: the app's public API (its `bench` feature for whole-population
    // steps), the engine's evaluation to compare, the store and its own SQL baseline.
    ("roster-bench", &["roster-app", "roster-domain", "roster-engine", "roster-store"]),
    // The binary: the app, the server, the benchmark, and the store to open and migrate
    // the database.
    ("roster", &["roster-app", "roster-web", "roster-bench", "roster-store"]),
    // What the test suites share (a fresh PostgreSQL database): a dev-dependency only,
    // which no crate above lists, so none can use it at run time.
    ("roster-test-support", &["roster-store"]),
];

/// Crates that do no I/O: no database, runtime, network or HTTP crate may enter them.
const NO_IO: &[&str] = &["roster-domain", "roster-engine", "roster-csv", "roster-scim"];
const IO_CRATES: &[&str] = &["sqlx", "tokio", "axum", "hyper", "reqwest", "tower", "tower-http"];

/// Every package of the workspace and its run-time dependencies, by name.
fn run_time_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

#[test]
fn crates_depend_only_on_what_the_architecture_allows() {
    let packages = run_time_dependencies();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (name, deps) in &packages {
        let Some(may) = allowed.get(name.as_str()) else {
            wrong.push(format!("{name} is not in the invariants: add it to ALLOWED, with a reason"));
            continue;
        };
        for dep in deps.iter().filter(|d| d.starts_with("roster")) {
            if !may.contains(&dep.as_str()) {
                wrong.push(format!("{name} depends on {dep}, which the architecture forbids"));
            }
        }
    }
    for name in allowed.keys() {
        assert!(packages.contains_key(*name), "{name} is in the invariants but not in the workspace");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Crates that reach the database only through the store: no database driver in them.
const NO_DRIVER: &[&str] = &["roster-app", "roster-web"];

#[test]
fn only_the_store_and_the_benchmark_speak_sql() {
    let packages = run_time_dependencies();
    for name in NO_DRIVER {
        assert!(!packages[*name].contains("sqlx"), "{name} must reach the database through roster-store only");
    }
}

#[test]
fn the_pure_crates_do_no_io() {
    let packages = run_time_dependencies();
    for name in NO_IO {
        let deps = &packages[*name];
        let io: Vec<&String> = deps.iter().filter(|d| IO_CRATES.contains(&d.as_str())).collect();
        assert!(io.is_empty(), "{name} must do no I/O, yet depends on {io:?}");
    }
}
