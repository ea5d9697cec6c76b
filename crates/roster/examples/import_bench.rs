//! The user import measured: N users (100,000 by default) imported from a CSV file —
//! created, then all of them updated — into a database with 1,000 automatic groups of
//! varied rules, each import followed by its one evaluation of every group. Prints, per
//! import: time, rows per second, memberships moved, and the process's peak resident
//! memory during it.
//!
//! ```sh
//! cargo run --release -p roster --example import_bench                      # SQLite, a temporary file
//! cargo run --release -p roster --example import_bench -- postgres://postgres@127.0.0.1:5432/roster_bench
//! cargo run --release -p roster --example import_bench -- sqlite:///tmp/b.db --users 20000 --groups 200
//! ```
//! The database must be empty (it is migrated first).
#![allow(clippy::print_stdout)]

use anyhow::Context as _;
use roster_app::catalog::{NewBranch, NewField};
use roster_app::groups::NewGroup;
use roster_app::import::{ImportFile, ImportMode, ImportOptions, ImportView};
use roster_app::rules::RuleInput;
use roster_app::{Actor, App, Settings, SystemClock};
use roster_domain::FieldDef;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

/// A small deterministic generator (xorshift64*): the same run makes the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        &items[self.below(items.len())]
    }
}

fn options(fields: &[FieldDef], code: &str) -> Vec<String> {
    fields.iter().find(|f| f.code.as_str() == code).map(|f| f.options.clone()).unwrap_or_default()
}

const FIRST: &[&str] = &["Ann", "Bob", "Zoë", "José", "Yuki", "Omar", "Léa", "Ines", "Max", "Priya"];
const LAST: &[&str] = &["Lee", "Martin", "Müller", "García", "Sato", "Haddad", "Dubois", "Costa", "Weber", "Patel"];
const DOMAINS: &[&str] = &["acme.com", "acme.de", "acme.co.uk", "example.org"];
const JOBS: &[&str] = &["Driver", "Senior Driver", "Dispatcher", "Sales Representative", "Engineer", "Team Lead"];

/// The branch tree: 3 regions, 4 countries each, 3 sites each (51 branches).
fn branches() -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for r in 1..=3 {
        let region = format!("R{r}");
        out.push((region.clone(), None));
        for c in 1..=4 {
            let country = format!("{region}-C{c}");
            out.push((country.clone(), Some(region.clone())));
            for s in 1..=3 {
                out.push((format!("{country}-S{s}"), Some(country.clone())));
            }
        }
    }
    out
}

/// One user's row; `version` moves some values between the two imports.
fn row(rng: &mut Rng, i: usize, version: u32, fields: &[FieldDef], sites: &[String]) -> String {
    let department = options(fields, "department");
    let product = options(fields, "product");
    let status = options(fields, "employee_status");
    let role = options(fields, "role");
    let site = rng.pick(sites).to_owned();
    let years = rng.below(35) + version as usize;
    let dept = if version > 0 && i.is_multiple_of(3) {
        rng.pick(&department).to_owned()
    } else {
        department[i % department.len()].clone()
    };
    format!(
        "user{i:07},user{i:07}@{},{},{},{site},{},{}-{:02}-{:02},{dept},{},{},{},{},{years}\n",
        DOMAINS[i % DOMAINS.len()],
        FIRST[i % FIRST.len()],
        LAST[(i / 7) % LAST.len()],
        JOBS[rng.below(JOBS.len())],
        1995 + rng.below(30),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.pick(&product),
        rng.pick(&status),
        rng.pick(&role),
        if rng.below(8) == 0 { "yes" } else { "no" },
    )
}

fn write_file(
    path: &std::path::Path,
    users: usize,
    version: u32,
    fields: &[FieldDef],
    sites: &[String],
) -> anyhow::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(
        b"username,email,first_name,last_name,branch,Job Title,Hire Date,Department,Product,Employee Status,Role,Supervisor,Years of Experience\n",
    )?;
    let mut rng = Rng(0x5eed + u64::from(version));
    for i in 0..users {
        out.write_all(row(&mut rng, i, version, fields, sites).as_bytes())?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// The i-th automatic group's rule: five shapes of segment over departments, branches,
/// numbers, dates, yes/no, dropdowns and text, each a few percent of the population.
fn rule(i: usize, fields: &[FieldDef], branches: &[(String, Option<String>)]) -> String {
    let department = options(fields, "department");
    let role = options(fields, "role");
    let status = options(fields, "employee_status");
    let (n, branch) = (i / 5, &branches[(i / 5) % branches.len()].0);
    match i % 5 {
        0 => format!(r#"field("department") = "{}" and branch under "{branch}""#, department[n % department.len()]),
        1 => format!(
            r#"field("years_experience") between {} and {} and field("role") = "{}""#,
            n % 30,
            n % 30 + 4,
            role[n % role.len()]
        ),
        2 => format!(r#"field("supervisor") = yes and branch under "{branch}""#),
        3 => format!(
            r#"field("hire_date") >= {y}-01-01 and field("hire_date") < {}-01-01 and field("employee_status") = "{}""#,
            1996 + n % 27 + 3,
            status[n % status.len()],
            y = 1996 + n % 27
        ),
        _ => format!(
            r#"email ends with "{}" and field("job_title") starts with "{}" and branch under "{branch}""#,
            DOMAINS[n % DOMAINS.len()],
            &JOBS[n % JOBS.len()][..4]
        ),
    }
}

/// The process's peak resident memory (VmHWM), in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Starts measuring peak memory afresh (Linux: writing 5 to clear_refs resets VmHWM).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn measure(
    app: &App,
    actor: &Actor,
    label: &str,
    path: &std::path::Path,
    mode: ImportMode,
) -> anyhow::Result<ImportView> {
    reset_peak();
    let started = Instant::now();
    let options = ImportOptions { mode, ..ImportOptions::default() };
    let mut job = app.start_import(actor, ImportFile::open(path)?, options).await?;
    job.finished().await;
    let elapsed = started.elapsed().as_secs_f64();
    let view = app.import_status(actor, &job.id).await?;
    let c = view.counts.clone().unwrap_or_default();
    anyhow::ensure!(view.applied, "{label}: not applied: {:?} {:?}", view.error, view.report);
    println!(
        "| {label} | {} | {} | {} | {elapsed:.2} s | {:.0} rows/s | {} joined, {} left | {:.0} MiB |",
        c.rows,
        c.created,
        c.updated,
        c.rows as f64 / elapsed,
        c.joined,
        c.left,
        peak_mib()
    );
    Ok(view)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ROSTER_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: usize| -> anyhow::Result<usize> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).context("a number after the flag")?.parse()?),
            None => Ok(default),
        }
    };
    let (users, groups) = (flag("--users", 100_000)?, flag("--groups", 1000)?);
    let dir = tempfile::tempdir()?;
    let url = match args.first().filter(|a| !a.starts_with("--")) {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let store = roster_store::Store::connect(&url).await?;
    let clock = Arc::new(SystemClock);
    store.migrate(roster_app::Clock::now_ms(&*clock)).await?;
    let backend = format!("{:?}", store.backend());
    let app = App::new(store, clock, Settings::default());
    let actor = Actor::system("bench");
    let admin = actor.superadmin()?;

    let started = Instant::now();
    let fields = roster_app::demo::field_defs();
    for f in &fields {
        let field_type = f.field_type.as_str().to_owned();
        let input =
            NewField { code: f.code.to_string(), name: f.name.to_string(), field_type, options: f.options.clone() };
        app.create_field(&admin, input).await?;
    }
    let tree = branches();
    for (code, parent) in &tree {
        app.create_branch(
            &admin,
            NewBranch { code: code.clone(), name: format!("Branch {code}"), parent: parent.clone() },
        )
        .await?;
    }
    for i in 0..groups {
        let input = NewGroup {
            name: format!("Segment {i:04}"),
            description: None,
            policy: Some("automatic".into()),
            scope: None,
        };
        let g = app.create_group(&actor, input).await?;
        app.set_rule(&actor, &g.id, RuleInput { text: Some(rule(i, &fields, &tree)), tree: None, sets: None }).await?;
    }
    println!(
        "{backend}: {} fields, {} branches, {groups} automatic groups set up in {:.1} s",
        fields.len(),
        tree.len(),
        started.elapsed().as_secs_f64()
    );

    let sites: Vec<String> = tree.iter().map(|(c, _)| c.clone()).filter(|c| c.matches('-').count() == 2).collect();
    let create = dir.path().join("create.csv");
    let update = dir.path().join("update.csv");
    let size = write_file(&create, users, 0, &fields, &sites)?;
    write_file(&update, users, 1, &fields, &sites)?;
    println!("files: {users} rows, {:.1} MiB each\n", size as f64 / (1024.0 * 1024.0));
    println!("| import | rows | created | updated | time | rate | memberships | peak memory |");
    println!("|---|---|---|---|---|---|---|---|");
    measure(&app, &actor, "create", &create, ImportMode::Create).await?;
    measure(&app, &actor, "update", &update, ImportMode::Update).await?;
    let drift = app.reconcile(false).await?;
    anyhow::ensure!(drift.drifted.is_empty(), "drift after the imports: {:?}", drift.drifted);
    println!("\nreconcile: {} automatic groups, no drift", drift.groups);
    app.store().close().await;
    Ok(())
}
