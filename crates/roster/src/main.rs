//! `roster`: the one binary. Every subcommand opens the database named by
//! `--database-url` (or `ROSTER_DATABASE_URL`), migrates it, and calls roster-app.

mod bench;
mod cli;
mod demo;
mod groups;
mod users;

use anyhow::Context as _;
use clap::Parser;
use roster_app::admins::{AdminPatch, NewAdmin};
use roster_app::tokens::NewToken;
use roster_app::{Actor, App, Settings, SystemClock};
use roster_store::Store;
use std::io::Read as _;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

use cli::{AdminCommand, Cli, Command, TokenCommand};

/// mimalloc returns freed memory to the system and keeps no per-thread arenas full of
/// a dropped image: see docs/benchmarks.md for what it changed at 1M users.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The benchmark's statements are long by design (a whole population at once): sqlx's
    // slow-statement warnings would bury its progress.
    let default_filter = match cli.command {
        Command::Bench { .. } => "info,sqlx::query=error",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("ROSTER_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter)))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match &cli.command {
        Command::Serve { listen } => {
            let app = open(&cli).await?;
            serve(app, listen, None).await
        }
        Command::Reconcile { fix } => {
            let drift = open(&cli).await?.reconcile(*fix).await?;
            for d in &drift.drifted {
                println!("group {}: {} missing, {} extra", d.group, d.missing, d.extra);
            }
            println!(
                "{} automatic groups, {} drifted{}",
                drift.groups,
                drift.drifted.len(),
                if drift.fixed { ", repaired" } else { "" }
            );
            if !drift.drifted.is_empty() && !*fix {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Migrate => {
            open(&cli).await?;
            println!("the database at {} is up to date", redact(cli.database()));
            Ok(())
        }
        Command::Groups(cmd) => groups::run(open(&cli).await?, cmd).await,
        Command::Users(cmd) => users::run(open(&cli).await?, cmd).await,
        Command::Token(cmd) => token(open(&cli).await?, cmd).await,
        Command::Admin(cmd) => admin(open(&cli).await?, cmd).await,
        Command::Bench { users, groups, updates, import_users, baseline, seed, bench_database_url, json } => {
            let spec = bench::Spec {
                users: *users,
                groups: *groups,
                updates: *updates,
                import_users: *import_users,
                baselines: bench::baselines(*baseline),
                seed: *seed,
                json: json.clone(),
            };
            bench::run(&cli, bench_database_url.as_deref(), spec).await
        }
        Command::Demo { users, listen, generate_only } => {
            let app = open_url(cli.demo_database(), &cli).await?;
            demo::run(app, *users, (!generate_only).then_some(listen.as_str())).await
        }
    }
}

/// Opens and migrates the database the command line names.
async fn open(cli: &Cli) -> anyhow::Result<App> {
    open_url(cli.database(), cli).await
}

/// Opens and migrates the database at `url`, with the command line's settings.
pub(crate) async fn open_url(url: &str, cli: &Cli) -> anyhow::Result<App> {
    open_url_with(url, cli, cli.image_file(url)).await
}

/// [`open_url`], with the image saved to `image_file`.
pub(crate) async fn open_url_with(url: &str, cli: &Cli, image_file: Option<std::path::PathBuf>) -> anyhow::Result<App> {
    let timezone: chrono_tz::Tz = cli.timezone.parse().map_err(|_| {
        anyhow::anyhow!("unknown time zone \"{}\"; use an IANA name such as Europe/Paris", cli.timezone)
    })?;
    let store = Store::connect(url).await.with_context(|| format!("cannot open the database at {}", redact(url)))?;
    let clock = Arc::new(SystemClock);
    store.migrate(roster_app::Clock::now_ms(&*clock)).await.context("cannot migrate the database")?;
    let settings = Settings {
        max_csv_bytes: cli.max_csv_bytes,
        max_import_bytes: cli.max_import_bytes,
        timezone,
        feed_retention: std::time::Duration::from_secs(u64::from(cli.feed_retention_days) * 24 * 3600),
        rehearse_imports_up_to: cli.rehearse_imports_up_to,
        image_file,
    };
    Ok(App::new(store, clock, settings))
}

/// A URL safe to print: no password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Serves until SIGTERM or Ctrl-C; `banner` is printed once the server is ready. Until the
/// image is built and the groups re-evaluated, every request gets 503 "starting"
/// (`/healthz` included); a start-up that fails stops the server with its error.
pub(crate) async fn serve(app: App, listen: &str, banner: Option<String>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    app.set_starting(true);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        tokio::select! {
            () = shutdown_signal() => {}
            _ = stopped => {}
        }
    };
    let server = tokio::spawn(roster_web::serve(app.clone(), listener, shutdown));
    tracing::info!(%addr, "roster is listening; starting");
    say(&format!("Roster is starting on http://{addr} (loading the users and evaluating the groups)"));
    let started = std::time::Instant::now();
    let prepared = async {
        let moved = app.start().await.context("cannot evaluate the automatic groups")?;
        app.recover_imports().await.context("cannot check the user imports left running")?;
        anyhow::Ok(moved)
    }
    .await;
    match prepared {
        Ok(moved) => {
            app.set_starting(false);
            let image = if app.image_read_from_file() { "read from its saved file" } else { "built from the database" };
            tracing::info!(
                moved,
                seconds = started.elapsed().as_secs_f64(),
                image,
                "ready: automatic groups evaluated"
            );
            say(&format!(
                "The image of the users and groups was {image}; ready in {:.1} s",
                started.elapsed().as_secs_f64()
            ));
            match banner {
                Some(b) => say(&b),
                None => say(&format!("Roster is serving on http://{addr} (API at http://{addr}/api/v1)")),
            }
        }
        Err(e) => {
            let _ = stop.send(());
            let _ = server.await;
            return Err(e);
        }
    }
    // An image built from the database is saved for the next start-up.
    let saving = tokio::spawn(save_image(app.clone(), SAVE_BEHIND));
    let store = app.store().clone();
    let roll_over = tokio::spawn(roll_over_loop(app.clone()));
    let webhooks = tokio::spawn(app.clone().run_webhooks());
    server.await.context("the server stopped")??;
    roll_over.abort();
    webhooks.abort();
    let _ = saving.await;
    save_image(app.clone(), 1).await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Changes after which a running server saves its image again, so that a server that
/// is killed replays at most about this many at its next start (half of what a
/// start-up replays before it rebuilds from the database instead).
const SAVE_BEHIND: i64 = 25_000;

/// Saves the image when the file is `behind` or more changes behind; a failure is
/// logged, and only makes the next start-up slower.
async fn save_image(app: App, behind: i64) {
    if let Err(e) = app.save_image_behind(behind).await {
        tracing::warn!(error = %e, "the image was not saved; the next start-up builds it from the database");
    }
}

/// A line for whoever started the server; a closed stdout (a supervisor that stopped
/// reading) must not stop a running server.
fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Wakes at the turn of the day in the platform time zone, and every minute as a safety
/// net, to see whether the date rolled over; the first process to notice re-evaluates
/// relative-date rules for everyone. Also prunes the change feed (under the write lock,
/// so once across processes) and marks the user imports whose process stopped
/// as interrupted.
async fn roll_over_loop(app: App) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = tokio::time::sleep(app.until_next_day()) => {}
        }
        match app.roll_over().await {
            Ok(Some(day)) => tracing::info!(%day, "date rolled over: relative-date rules re-evaluated"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "date roll-over failed; retrying in a minute"),
        }
        match app.prune_changes().await {
            Ok(0) => {}
            Ok(gone) => tracing::info!(gone, "change feed: rows past the retention pruned"),
            Err(e) => tracing::error!(error = %e, "pruning the change feed failed; retrying in a minute"),
        }
        if let Err(e) = app.recover_imports().await {
            tracing::error!(error = %e, "checking for interrupted user imports failed; retrying in a minute");
        }
        save_image(app.clone(), SAVE_BEHIND).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let mut password = String::new();
    if from_stdin {
        std::io::stdin().read_to_string(&mut password)?;
    } else {
        eprint!("password: ");
        std::io::stdin().read_line(&mut password)?;
    }
    Ok(password.trim_end_matches(['\r', '\n']).to_owned())
}

async fn admin(app: App, cmd: &AdminCommand) -> anyhow::Result<()> {
    let system = Actor::system("cli");
    let sa = system.superadmin()?;
    match cmd {
        AdminCommand::Create { username, role, branches, password_stdin } => {
            let password = read_password(*password_stdin)?;
            let input =
                NewAdmin { username: username.clone(), password, role: role.clone(), branches: branches.clone() };
            let created = app.create_admin(&sa, input).await?;
            let scope = if created.branches.is_empty() {
                String::new()
            } else {
                format!(" of {}", created.branches.join(", "))
            };
            println!("{} \"{}\"{scope} can now log in to the web UI", created.role.as_str(), created.username);
        }
        AdminCommand::List => {
            for a in app.list_admins(&sa).await? {
                let scope =
                    if a.branches.is_empty() { String::new() } else { format!(" branches={}", a.branches.join(",")) };
                let status = if a.suspended { "suspended" } else { "active" };
                let login = a.last_login_at.as_deref().unwrap_or("never");
                println!("{}\t{}{scope}\t{status}\tlast login {login}", a.username, a.role.as_str());
            }
        }
        AdminCommand::Set { username, role, branches, suspend, reactivate, password_stdin, password } => {
            let id = app.admin_named(&sa, username).await?.id;
            let password = if *password_stdin || *password { Some(read_password(*password_stdin)?) } else { None };
            let suspended = if *suspend {
                Some(true)
            } else if *reactivate {
                Some(false)
            } else {
                None
            };
            let patch = AdminPatch { password, role: role.clone(), branches: branches.clone(), suspended };
            let saved = app.update_admin(&sa, &id, patch).await?;
            println!("\"{}\" saved", saved.username);
        }
        AdminCommand::Delete { username } => {
            let id = app.admin_named(&sa, username).await?.id;
            app.delete_admin(&sa, &id).await?;
            println!("\"{username}\" deleted");
        }
    }
    Ok(())
}

async fn token(app: App, cmd: &TokenCommand) -> anyhow::Result<()> {
    let system = Actor::system("cli");
    let admin = system.superadmin()?;
    match cmd {
        TokenCommand::Create { name, role, branches } => {
            let input = NewToken { name: name.clone(), role: role.clone(), branches: branches.clone() };
            let created = app.create_token(&admin, input).await?;
            eprintln!("token \"{name}\" ({}) created; it is shown only once:", created.info.role.as_str());
            println!("{}", created.token);
        }
        TokenCommand::List => {
            for t in app.list_tokens(&admin).await? {
                let scope =
                    if t.branches.is_empty() { String::new() } else { format!(" branches={}", t.branches.join(",")) };
                let used = t.last_used_at.as_deref().unwrap_or("never");
                println!("{}\t{}{}\tcreated {}\tlast used {used}", t.name, t.role.as_str(), scope, t.created_at);
            }
        }
        TokenCommand::Revoke { name } => {
            let id = app.token_named(&admin, name).await?;
            app.revoke_token(&admin, &id).await?;
            println!("token \"{name}\" revoked");
        }
    }
    Ok(())
}
