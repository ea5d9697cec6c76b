//! `roster users ...`: users in bulk from the shell. The import runs as the server's
//! would (a job, recorded in the database), in this process; on a terminal a progress
//! bar follows it, otherwise the output is plain: problems on stderr, one summary line
//! on stdout.

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use roster_app::import::{ColumnMapping, DateOrder, EmptyCells, ImportFile, ImportMode, ImportOptions, ImportView};
use roster_app::{Actor, App};
use std::io::IsTerminal;
use std::time::Duration;

use crate::cli::UsersCommand;

pub async fn run(app: App, cmd: &UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Import { file, mode, map, dry_run, date_order, clear_empty } => {
            let options = ImportOptions {
                mode: ImportMode::parse(mode)?,
                mapping: map.iter().map(|m| ColumnMapping::parse(m)).collect::<Result<_, _>>()?,
                dry_run: *dry_run,
                date_order: date_order
                    .as_deref()
                    .map(|o| DateOrder::parse(o).ok_or_else(|| anyhow::anyhow!("--date-order is dmy or mdy")))
                    .transpose()?,
                empty: if *clear_empty { EmptyCells::Clear } else { EmptyCells::Keep },
            };
            let source = ImportFile::open(file).with_context(|| format!("cannot read {}", file.display()))?;
            import(&app, source, options).await
        }
    }
}

async fn import(app: &App, file: ImportFile, options: ImportOptions) -> anyhow::Result<()> {
    let actor = Actor::system("cli");
    let mut job = app.start_import(&actor, file, options).await?;
    let accepted = app.import_status(&actor, &job.id).await?;
    for m in &accepted.mapping {
        eprintln!("column {} \"{}\" -> {}", m.column, m.header, m.target);
    }
    for header in &accepted.unmapped {
        eprintln!("column \"{header}\" is not imported (map it with --map \"{header}=FIELD\")");
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(100);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos:>3}% {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar
    });
    while tokio::time::timeout(Duration::from_millis(200), job.finished()).await.is_err() {
        if let Some(bar) = &bar {
            let p = job.progress();
            bar.set_position(u64::from(p.percent));
            bar.set_message(format!("{}: {} rows", p.phase, p.rows_read));
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let done = app.import_status(&actor, &job.id).await?;
    report(&done);
    if done.state != roster_app::import::ImportState::Succeeded {
        anyhow::bail!("{}", done.error.map(|e| e.message).unwrap_or_else(|| "the import did not finish".into()));
    }
    Ok(())
}

/// The problems on stderr, the summary on stdout.
fn report(job: &ImportView) {
    for i in job.report.iter().flatten() {
        let column = i.column.as_ref().map(|c| format!(", {c}")).unwrap_or_default();
        let value = i.value.as_ref().map(|v| format!(" [{v}]")).unwrap_or_default();
        eprintln!("row {}{column}{value}: {}", i.row, i.message);
    }
    let listed = job.report.as_ref().map_or(0, Vec::len);
    if job.issues_total > listed {
        eprintln!("... and {} more problems", job.issues_total - listed);
    }
    let c = job.counts.clone().unwrap_or_default();
    let status = if job.applied {
        "applied"
    } else if job.dry_run {
        "dry run"
    } else {
        "nothing imported"
    };
    println!(
        "{status}: {} rows, {} created, {} updated, {} unchanged, {} errors; {} joined and {} left automatic groups (import {})",
        c.rows, c.created, c.updated, c.unchanged, c.errors, c.joined, c.left, job.id
    );
    for line in group_lines(job) {
        println!("{line}");
    }
}

/// What the file does (or, a dry run, would do) to each automatic group, a line each,
/// as the admin UI says it; or why a dry run did not work that out.
fn group_lines(job: &ImportView) -> Vec<String> {
    if let Some(not) = &job.groups_not_computed {
        return vec![not.message.clone()];
    }
    let (moves, takes) = if job.applied { ("moved", "took") } else { ("moves", "takes") };
    let users = |n: usize| if n == 1 { "1 user".to_owned() } else { format!("{n} users") };
    let mut lines = Vec::new();
    for g in job.groups.iter().flatten() {
        let mut line = String::from("this file");
        if g.joins > 0 {
            line.push_str(&format!(" {moves} {} into \"{}\"", users(g.joins), g.name));
        }
        if g.joins > 0 && g.leaves > 0 {
            line.push_str(" and");
        }
        if g.leaves > 0 {
            line.push_str(&format!(" {takes} {} out of \"{}\"", users(g.leaves), g.name));
        }
        lines.push(line);
    }
    lines
}
