//! `roster`: the one binary. Every subcommand opens the database named by
//! `--database-url` (or `ROSTER_DATABASE_URL`), migrates it, and calls roster-app.

mod bench;
mod cli;
mod demo;
mod groups;
mod users;

use anyhow::Context as _;
use clap::Parser;
use roster_app::{Actor, App, Role, Settings, SystemClock};
use roster_store::Store;
use std::io::Read as _;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

use cli::{AdminCommand, Cli, Command, TokenCommand};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("ROSTER_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
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
            println!("the database at {} is up to date", redact(&cli.database_url));
            Ok(())
        }
        Command::Groups(cmd) => groups::run(open(&cli).await?, cmd).await,
        Command::Users(cmd) => users::run(open(&cli).await?, cmd).await,
        Command::Token(cmd) => token(open(&cli).await?, cmd).await,
        Command::Admin(AdminCommand::Create { username, password_stdin }) => {
            let app = open(&cli).await?;
            let password = read_password(*password_stdin)?;
            let system = Actor::system("cli");
            app.create_admin(&system.superadmin()?, username, &password, Role::Superadmin, &[]).await?;
            println!("superadmin \"{username}\" can now log in to the web UI");
            Ok(())
        }
        Command::Bench { users, groups, updates, import_users, seed, bench_database_url, json } => {
            let spec = bench::Spec {
                users: *users,
                groups: *groups,
                updates: *updates,
                import_users: import_users.unwrap_or(*users / 10),
                seed: *seed,
                json: json.clone(),
            };
            bench::run(&cli, bench_database_url.as_deref(), spec).await
        }
        Command::Demo { users, listen, demo_database_url, generate_only } => {
            let app = open_url(demo_database_url, &cli).await?;
            demo::run(app, *users, (!generate_only).then_some(listen.as_str())).await
        }
    }
}

/// Opens and migrates the database the command line names.
async fn open(cli: &Cli) -> anyhow::Result<App> {
    open_url(&cli.database_url, cli).await
}

/// Opens and migrates the database at `url`, with the command line's settings.
pub(crate) async fn open_url(url: &str, cli: &Cli) -> anyhow::Result<App> {
    let timezone: chrono_tz::Tz = cli.timezone.parse().map_err(|_| {
        anyhow::anyhow!("unknown time zone \"{}\"; use an IANA name such as Europe/Paris", cli.timezone)
    })?;
    let store = Store::connect(url).await.with_context(|| format!("cannot open the database at {}", redact(url)))?;
    let clock = Arc::new(SystemClock);
    store.migrate(roster_app::Clock::now_ms(&*clock)).await.context("cannot migrate the database")?;
    let settings = Settings { max_csv_bytes: cli.max_csv_bytes, max_import_bytes: cli.max_import_bytes, timezone };
    Ok(App::new(store, clock, settings))
}

/// A URL safe to print: no password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Serves until SIGTERM or Ctrl-C; `banner` is printed once the port is bound.
pub(crate) async fn serve(app: App, listen: &str, banner: Option<String>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "roster is serving");
    if let Some(b) = banner {
        println!("{b}");
    } else {
        println!("Roster is serving on http://{addr} (API at http://{addr}/api/v1)");
    }
    let moved = app.start().await.context("cannot evaluate the automatic groups")?;
    tracing::info!(moved, "automatic groups evaluated at start-up");
    app.recover_imports().await.context("cannot check the user imports left running")?;
    let store = app.store().clone();
    let roll_over = tokio::spawn(roll_over_loop(app.clone()));
    roster_web::serve(app, listener, shutdown_signal()).await?;
    roll_over.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Checks every minute whether the date rolled over in the platform time zone; the
/// first process to notice re-evaluates relative-date rules for everyone. Also marks
/// the user imports whose process stopped as interrupted.
async fn roll_over_loop(app: App) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match app.roll_over().await {
            Ok(Some(day)) => tracing::info!(%day, "date rolled over: relative-date rules re-evaluated"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "date roll-over failed; retrying in a minute"),
        }
        if let Err(e) = app.recover_imports().await {
            tracing::error!(error = %e, "checking for interrupted user imports failed; retrying in a minute");
        }
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

async fn token(app: App, cmd: &TokenCommand) -> anyhow::Result<()> {
    let system = Actor::system("cli");
    let admin = system.superadmin()?;
    match cmd {
        TokenCommand::Create { name, role, branches } => {
            let role = Role::parse(role)?;
            let branches: Vec<String> =
                branches.iter().map(|b| b.trim().to_owned()).filter(|b| !b.is_empty()).collect();
            let token = app.create_token(&admin, name, role, &branches).await?;
            eprintln!("token \"{name}\" ({}) created; it is shown only once:", role.as_str());
            println!("{token}");
        }
        TokenCommand::List => {
            for t in app.list_tokens(&admin).await? {
                let scope =
                    if t.branches.is_empty() { String::new() } else { format!(" branches={}", t.branches.join(",")) };
                println!(
                    "{}\t{}{}\tcreated {}",
                    t.name,
                    t.role.as_str(),
                    scope,
                    roster_app::clock::rfc3339(t.created_at)
                );
            }
        }
        TokenCommand::Revoke { name } => {
            app.revoke_token(&admin, name).await?;
            println!("token \"{name}\" revoked");
        }
    }
    Ok(())
}
