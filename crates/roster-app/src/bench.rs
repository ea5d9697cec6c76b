//! The benchmark: the demo population at scale, many automatic groups with random
//! rules, and the measures of DESIGN §8 — the image built from the database, every group
//! evaluated by the engine, every membership persisted, single-user updates committed
//! through the application layer, and peak memory.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use roster_domain::rule::compile_text;
use roster_domain::{Group, GroupPolicy};
use std::time::Instant;

use crate::demo::{DemoSpec, DEPARTMENTS, DOMAINS, JOB_TITLES, NAMED_COURSES};
use crate::rules::{catalog, internal};
use crate::users::UserPatch;
use crate::{Actor, App, AppResult};

/// What to measure with.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// Users to generate.
    pub users: usize,
    /// Automatic groups with random rules.
    pub groups: usize,
    /// Single-user updates to time.
    pub updates: usize,
    /// The seed of the population and the rules.
    pub seed: u64,
}

/// One measured figure.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measure {
    /// What was measured.
    pub name: String,
    /// The figure, with its unit.
    pub value: String,
}

/// The figures of one run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BenchReport {
    /// Each figure, in the order measured.
    pub measures: Vec<Measure>,
}

impl BenchReport {
    fn add(&mut self, name: &str, value: String) {
        tracing::info!(measure = name, %value);
        self.measures.push(Measure { name: name.to_owned(), value });
    }

    /// A markdown table of the figures.
    pub fn markdown(&self) -> String {
        let mut out = String::from("| measure | value |\n|---|---|\n");
        for m in &self.measures {
            out.push_str(&format!("| {} | {} |\n", m.name, m.value));
        }
        out
    }
}

/// A random rule over the demo catalog; `earlier` names groups it may reference.
fn random_rule(rng: &mut StdRng, earlier: &[String]) -> String {
    let conditions = rng.gen_range(1..=3);
    let mut parts = Vec::with_capacity(conditions);
    for _ in 0..conditions {
        let c = match rng.gen_range(0..12) {
            0 | 1 => format!(r#"field("Department") = "{}""#, DEPARTMENTS[rng.gen_range(0..DEPARTMENTS.len())]),
            2 => {
                let title = JOB_TITLES[rng.gen_range(0..JOB_TITLES.len())];
                let word = title.split(' ').next().unwrap_or(title).to_lowercase();
                format!(r#"field("Job Title") contains "{word}""#)
            }
            3 => format!(r#"email ends with "@{}""#, DOMAINS[rng.gen_range(0..DOMAINS.len())]),
            4 => format!(
                r#"branch under "{}""#,
                ["EMEA", "AMER", "APAC", "EMEA-FR", "AMER-US", "APAC-IN"][rng.gen_range(0..6)]
            ),
            5 | 6 => format!(
                r#"course("{}") = {}"#,
                NAMED_COURSES[rng.gen_range(0..10)].0,
                ["completed", "in_progress", "enrolled", "failed", "not_enrolled"][rng.gen_range(0..5)]
            ),
            7 => format!(r#"field("Hire Date") > today - {}d"#, rng.gen_range(30..2000)),
            8 => format!(r#"field("Years of Experience") >= {}"#, rng.gen_range(1..30)),
            9 => format!(r#"username matches "^{}[a-z]*\.""#, (b'a' + rng.gen_range(0..26u8)) as char),
            10 if !earlier.is_empty() => format!(r#"member_of("{}")"#, earlier[rng.gen_range(0..earlier.len())]),
            _ => format!(
                r#"course("{}").completed_at >= today - {}d"#,
                NAMED_COURSES[rng.gen_range(0..10)].0,
                rng.gen_range(30..900)
            ),
        };
        parts.push(if rng.gen_bool(0.15) { format!("not {c}") } else { c });
    }
    let joiner = if rng.gen_bool(0.7) { " and " } else { " or " };
    parts.join(joiner)
}

fn peak_rss_mb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or_else(|| "unknown".to_owned(), |kb| format!("{:.0} MB", kb / 1024.0))
}

fn ms(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

impl App {
    /// Runs the benchmark on this (empty) database.
    pub async fn bench(&self, spec: &BenchSpec) -> AppResult<BenchReport> {
        let mut report = BenchReport::default();
        let actor = Actor::system("bench");
        let started = Instant::now();
        let demo =
            DemoSpec { users: spec.users, courses: 50, enrollments_per_user: 5.0, branches: 200, seed: spec.seed };
        let summary = self.generate_demo(&demo, |_| {}).await?;
        report.add(
            "population generated and stored",
            format!(
                "{} users, {} enrollments in {:.1} s",
                summary.users,
                summary.enrollments,
                started.elapsed().as_secs_f64()
            ),
        );

        // The groups, saved with their rules but not yet evaluated.
        let mut rng = StdRng::seed_from_u64(spec.seed ^ 0x5eed);
        let mut tx = self.store.write().await?;
        let mut cat = catalog(&mut tx).await?;
        let mut names = Vec::with_capacity(spec.groups);
        let now = self.now();
        for i in 0..spec.groups {
            let name = format!("Bench {i:04}");
            let depth_ok: Vec<String> = names.iter().rev().take(50).cloned().collect();
            let text = random_rule(&mut rng, if i % 7 == 0 { &depth_ok } else { &[] });
            let rule =
                compile_text(&text, &cat).map_err(|error| crate::AppError::Rule { field: "text".into(), error })?;
            let group = Group {
                id: 0,
                name: name.clone(),
                description: None,
                policy: GroupPolicy::Automatic,
                rule_text: Some(rule.to_string()),
                rule_tree: Some(serde_json::to_string(&rule).map_err(internal)?),
                allow_suspended: false,
                member_count: 0,
                created_at: now,
                updated_at: now,
            };
            let id = roster_store::groups::insert(&mut tx, &group).await?;
            cat.groups.push((id, name.clone()));
            names.push(name);
        }
        tx.commit().await?;

        // The image, built from the database.
        self.live.forget();
        let started = Instant::now();
        let tx = self.begin().await?;
        report.add("image built from the database", ms(started.elapsed()));
        let today = tx.today;
        let started = Instant::now();
        let evaluation = tx.engine(|e| e.evaluate_all(today))?;
        let elapsed = started.elapsed();
        let members: u64 = evaluation.groups.iter().map(|g| g.members.len()).sum();
        report.add(
            "every automatic group evaluated (engine only)",
            format!("{} for {} groups, {} memberships", ms(elapsed), evaluation.groups.len(), members),
        );
        let started = Instant::now();
        let mut tx = tx;
        let cause = self.cause(&actor, "benchmark: first evaluation");
        tx.write_evaluation(&evaluation, &cause).await?;
        tx.commit_evaluation(&evaluation)?;
        tx.commit().await?;
        report.add("every membership persisted from empty", format!("{:.1} s", started.elapsed().as_secs_f64()));

        // Single-user updates through the application layer, each committed.
        let mut rng = StdRng::seed_from_u64(spec.seed ^ 0xabc);
        let mut times = Vec::with_capacity(spec.updates);
        for _ in 0..spec.updates {
            let user = rng.gen_range(1..=summary.users.max(1)) as i64;
            let dept = DEPARTMENTS[rng.gen_range(0..DEPARTMENTS.len())];
            let patch = UserPatch {
                fields: Some([("department".to_owned(), serde_json::json!(dept))].into()),
                ..UserPatch::default()
            };
            let started = Instant::now();
            self.update_user(&actor, &user.to_string(), patch).await?;
            times.push(started.elapsed());
        }
        times.sort();
        let at = |q: f64| {
            times
                .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        report.add(
            "one user update, every automatic group updated and committed",
            format!("p50 {} · p99 {} · max {} over {}", ms(at(0.5)), ms(at(0.99)), ms(at(1.0)), times.len()),
        );
        report.add("peak resident memory", peak_rss_mb());
        Ok(report)
    }
}
