//! `roster demo`: a filled database, served, with credentials printed.

use indicatif::{ProgressBar, ProgressStyle};
use roster_app::admins::{AdminPatch, NewAdmin};
use roster_app::demo::DemoSpec;
use roster_app::tokens::NewToken;
use roster_app::{Actor, App};
use std::io::IsTerminal;
use std::time::Instant;

/// Fills the demo database if it is empty; serves it on `listen` unless that is `None`.
pub async fn run(app: App, users: usize, listen: Option<&str>) -> anyhow::Result<()> {
    let mut conn = app.store().read().await?;
    let existing = roster_store::users::count(&mut conn).await?;
    drop(conn);
    if existing == 0 {
        let spec = DemoSpec { users, ..DemoSpec::default() };
        eprintln!("generating the demo data: {users} users...");
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(users as u64);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} users ({per_sec}, eta {eta})") {
                bar.set_style(style);
            }
            bar
        });
        let started = Instant::now();
        let summary = app
            .generate_demo(&spec, |n| {
                if let Some(b) = &bar {
                    b.set_position(n as u64);
                }
            })
            .await?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        eprintln!(
            "generated {} users, {} enrollments, {} branches, {} courses, {} groups in {:.1}s",
            summary.users,
            summary.enrollments,
            summary.branches,
            summary.courses,
            summary.groups,
            started.elapsed().as_secs_f64()
        );
    }
    let Some(listen) = listen else {
        return Ok(());
    };
    let system = Actor::system("demo");
    let admin = system.superadmin()?;
    // Fresh credentials at every start: nothing secret is fixed in the code.
    if let Ok(id) = app.token_named(&admin, "demo").await {
        app.revoke_token(&admin, &id).await?;
    }
    let demo = NewToken { name: "demo".into(), role: "superadmin".into(), branches: vec![] };
    let token = app.create_token(&admin, demo).await?.token;
    let password = roster_app::auth::new_token()[4..20].to_owned();
    match app.admin_named(&admin, "admin").await {
        Ok(existing) => {
            let patch =
                AdminPatch { password: Some(password.clone()), suspended: Some(false), ..AdminPatch::default() };
            app.update_admin(&admin, &existing.id, patch).await?;
        }
        Err(_) => {
            let input = NewAdmin {
                username: "admin".into(),
                password: password.clone(),
                role: "superadmin".into(),
                branches: vec![],
            };
            app.create_admin(&admin, input).await?;
        }
    }
    let host = listen.replace("0.0.0.0", "127.0.0.1");
    let banner = format!(
        "\nRoster demo is serving on http://{host}\n\n  admin UI:  http://{host}/admin   (user: admin, password: {password})\n  API:       http://{host}/api/v1   (Authorization: Bearer {token})\n  try:       curl -H 'Authorization: Bearer {token}' http://{host}/api/v1/users?limit=5\n\nPress Ctrl-C to stop."
    );
    crate::serve(app, listen, Some(banner)).await
}
