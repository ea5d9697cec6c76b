//! `roster bench`: the benchmark of DESIGN §8 on a fresh database, the SQL-per-rule
//! baseline beside it.

use anyhow::Context as _;
use roster_bench::{Baselines, BenchSpec};
use std::path::PathBuf;
use std::time::Instant;

use crate::cli::{BaselineChoice, Cli};

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    pub users: usize,
    pub groups: usize,
    pub updates: usize,
    pub import_users: usize,
    pub baselines: Baselines,
    pub seed: u64,
    pub json: PathBuf,
}

/// The baselines `--baseline` names.
pub fn baselines(choice: BaselineChoice) -> Baselines {
    match choice {
        BaselineChoice::Indexed => Baselines::Indexed,
        BaselineChoice::Json => Baselines::Json,
        BaselineChoice::Both => Baselines::Both,
        BaselineChoice::None => Baselines::None,
    }
}

/// Runs the benchmark on `url` (an empty database) or on a new SQLite file it removes.
pub async fn run(cli: &Cli, url: Option<&str>, spec: Spec) -> anyhow::Result<()> {
    let scratch = url.is_none().then(|| std::env::temp_dir().join(format!("roster-bench-{}.db", std::process::id())));
    if let Some(path) = &scratch {
        remove_sqlite(path);
    }
    let url = match (url, &scratch) {
        (Some(url), _) => url.to_owned(),
        (None, path) => format!("sqlite://{}", path.clone().unwrap_or_default().display()),
    };
    let result = measure(cli, &url, &spec).await;
    if let Some(path) = &scratch {
        remove_sqlite(path);
    }
    result
}

/// Removes a SQLite database file with its write-ahead log.
fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

async fn measure(cli: &Cli, url: &str, spec: &Spec) -> anyhow::Result<()> {
    // Its own image file, on either database, for the start-up rows; removed after.
    let image = std::env::temp_dir().join(format!("roster-bench-{}.image", std::process::id()));
    let _ = std::fs::remove_file(&image);
    let result = measure_with(cli, url, spec, &image).await;
    let _ = std::fs::remove_file(&image);
    result
}

async fn measure_with(cli: &Cli, url: &str, spec: &Spec, image: &std::path::Path) -> anyhow::Result<()> {
    let app = crate::open_url_with(url, cli, Some(image.to_path_buf())).await?;
    {
        let mut conn = app.store().read().await?;
        let users = roster_store::users::count(&mut conn).await?;
        anyhow::ensure!(users == 0, "the benchmark needs an empty database; this one has {users} users");
    }
    let bench = BenchSpec {
        users: spec.users,
        groups: spec.groups,
        updates: spec.updates,
        import_users: spec.import_users,
        baselines: spec.baselines,
        seed: spec.seed,
        database_url: url.to_owned(),
    };
    let started = Instant::now();
    let report =
        roster_bench::run(&app, &bench, |step| eprintln!("[{:>7.1} s] {step}...", started.elapsed().as_secs_f64()))
            .await
            .context("the benchmark failed")?;
    eprintln!("[{:>7.1} s] done", started.elapsed().as_secs_f64());
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(&spec.json, json).with_context(|| format!("cannot write {}", spec.json.display()))?;
    println!("{}", report.markdown());
    eprintln!("figures written to {}", spec.json.display());
    if !report.all_met() {
        eprintln!("some targets of DESIGN §8 were not met (see the table)");
    }
    Ok(())
}
