//! `roster groups ...`: scripts and operators work with groups from the shell. On a
//! terminal, long work shows progress; otherwise the output is plain and parseable.

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use roster_app::enrollment_rules::EnrollmentRuleInput;
use roster_app::group_csv::{CsvOptions, OnError};
use roster_app::groups::GroupFilter;
use roster_app::{Actor, App, ListParams};
use std::io::{IsTerminal, Write};

use crate::cli::GroupsCommand;

pub async fn run(app: App, cmd: &GroupsCommand) -> anyhow::Result<()> {
    let actor = Actor::system("cli");
    match cmd {
        GroupsCommand::List => {
            let mut cursor = None;
            loop {
                let page = ListParams { cursor: cursor.clone(), limit: Some(1000) };
                let list = app.list_groups(&actor, &GroupFilter::default(), &page).await?;
                for g in &list.items {
                    println!("{}\t{}\t{}\t{}", g.id, g.policy, g.member_count, g.name);
                }
                match list.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        GroupsCommand::ImportMembers { group, file, dry_run, skip_errors } => {
            let group = app.find_group(&actor, group).await?;
            let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let spinner = spinner(&format!("associating {} with \"{}\"", file.display(), group.name));
            let options =
                CsvOptions { dry_run: *dry_run, on_error: if *skip_errors { OnError::Skip } else { OnError::Fail } };
            let outcome = app.associate_csv(&actor, &group.id, &bytes, &options).await;
            if let Some(s) = spinner {
                s.finish_and_clear();
            }
            let outcome = outcome?;
            for r in &outcome.rows {
                eprintln!(
                    "row {}: {} {:?}{}",
                    r.row,
                    r.user,
                    r.outcome,
                    r.message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
                );
            }
            let c = &outcome.counts;
            println!(
                "{}: {} rows, {} added, {} already members, {} removed, {} not members, {} not found, {} errors (upload {})",
                if outcome.applied { "applied" } else if outcome.dry_run { "dry run" } else { "nothing applied" },
                c.rows, c.added, c.already_members, c.removed, c.not_members, c.not_found, c.errors, outcome.upload
            );
            if !outcome.applied && !outcome.dry_run {
                anyhow::bail!(
                    "{} rows have errors; nothing was applied (use --skip-errors to apply the others)",
                    c.errors
                );
            }
        }
        GroupsCommand::EnrollmentRules { group, set, clear } => {
            let group = app.find_group(&actor, group).await?;
            let view = if set.is_empty() && !*clear {
                app.enrollment_rules(&actor, &group.id).await?
            } else {
                let rules = set.iter().map(|r| enrollment_rule(r)).collect::<anyhow::Result<Vec<_>>>()?;
                app.set_enrollment_rules(&actor, &group.id, rules).await?
            };
            for r in &view.rules {
                let due = r.due_days.map(|d| d.to_string()).unwrap_or_default();
                println!("{}\t{}\t{}\t{}", r.course, due, r.unenroll_on_leave, r.course_name);
            }
            if let Some(n) = view.enrolled {
                eprintln!("{n} enrollments made for the members of \"{}\"", group.name);
            }
        }
        GroupsCommand::Export { group, output, as_of: Some(as_of) } => {
            let group = app.find_group(&actor, group).await?;
            let mut out = std::io::BufWriter::new(match output {
                Some(path) => {
                    Box::new(std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?)
                        as Box<dyn Write>
                }
                None => Box::new(std::io::stdout().lock()),
            });
            writeln!(out, "user_id")?;
            let mut page = ListParams { cursor: None, limit: Some(1000) };
            let mut count = 0;
            loop {
                let list = app.members_as_of(&actor, &group.id, as_of, &page).await?;
                for m in &list.items {
                    writeln!(out, "{}", m.user_id)?;
                }
                count += list.items.len();
                match list.next_cursor {
                    Some(next) => page.cursor = Some(next),
                    None => break,
                }
            }
            out.flush()?;
            if let Some(path) = output {
                eprintln!("exported {count} members of \"{}\" at {as_of} to {}", group.name, path.display());
            }
        }
        GroupsCommand::Export { group, output, as_of: None } => {
            let group = app.find_group(&actor, group).await?;
            let mut export = app.export_members(&actor, &group.id).await?;
            let mut out: Box<dyn Write> = match output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let bar = (output.is_some() && std::io::stderr().is_terminal()).then(|| {
                let bar = ProgressBar::new(group.member_count.max(0) as u64);
                if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} members ({eta})") {
                    bar.set_style(style);
                }
                bar
            });
            while let Some(chunk) = export.next_chunk().await? {
                out.write_all(&chunk)?;
                if let Some(b) = &bar {
                    b.inc(chunk.iter().filter(|c| **c == b'\n').count() as u64);
                }
            }
            out.flush()?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            if let Some(path) = output {
                eprintln!("exported {} members of \"{}\" to {}", group.member_count, group.name, path.display());
            }
        }
    }
    Ok(())
}

/// `COURSE[:DAYS[:unenroll]]` as an enrollment rule.
fn enrollment_rule(text: &str) -> anyhow::Result<EnrollmentRuleInput> {
    let mut parts = text.split(':');
    let course = parts.next().unwrap_or_default().trim().to_owned();
    let due_days = match parts.next().map(str::trim) {
        None | Some("") => None,
        Some(days) => Some(days.parse().with_context(|| format!("\"{days}\" in \"{text}\" is not a number of days"))?),
    };
    let unenroll_on_leave = match parts.next().map(str::trim) {
        None => false,
        Some("unenroll") => true,
        Some(other) => anyhow::bail!("\"{other}\" in \"{text}\": the third part can only be \"unenroll\""),
    };
    if course.is_empty() || parts.next().is_some() {
        anyhow::bail!("\"{text}\" is not COURSE[:DAYS[:unenroll]]");
    }
    Ok(EnrollmentRuleInput { course, due_days, unenroll_on_leave })
}

fn spinner(message: &str) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let s = ProgressBar::new_spinner();
        s.set_message(message.to_owned());
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    })
}
