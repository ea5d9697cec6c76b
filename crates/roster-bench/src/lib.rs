//! The benchmark of DESIGN §8: the demo population at scale, automatic groups with random
//! rules of realistic sizes, and every measure of the performance targets, each printed
//! beside its backend's target — and beside the SQL-per-rule baselines ([`baseline`]),
//! run in the same process on the same database, whose results must equal Roster's for
//! every group.
//!
//! It drives the product only through `roster_app`'s public API: the use cases an API
//! call runs (a user update, a rule edit, an import), and for the whole-population steps
//! it times one by one — groups drafted without members, the first evaluation, a mass
//! change of users — `App::bulk` and `App::rebuild_image` (the app's `bench` feature).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod baseline;
mod consumers;
mod cross_check;
mod report;
mod rules;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use roster_domain::rule::compile_text;
use roster_domain::UserStatus;
use std::time::{Duration, Instant};

pub use cross_check::Baselines;
pub use report::{BenchReport, Measure};
use rules::{random_rule, Vocabulary};

use roster_app::automatic::PreviewInput;
use roster_app::demo::{DemoSpec, DEPARTMENTS};
use roster_app::enrollment_rules::EnrollmentRuleInput;
use roster_app::import::{ImportCounts, ImportFile, ImportMode, ImportOptions};
use roster_app::rules::RuleInput;
use roster_app::users::UserPatch;
use roster_app::{Actor, App, AppError, AppResult};

/// What to measure with.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// Users to generate.
    pub users: usize,
    /// Automatic groups with random rules.
    pub groups: usize,
    /// Single-user updates to time.
    pub updates: usize,
    /// New users in the CSV import; its target is for [`IMPORT_TARGET_USERS`].
    pub import_users: usize,
    /// The SQL-per-rule baselines to run.
    pub baselines: Baselines,
    /// The seed of the population and the rules.
    pub seed: u64,
    /// The database URL, for the baseline's own connection.
    pub database_url: String,
}

impl BenchSpec {
    /// DESIGN §8's scale: 1,000,000 users, 1,000 groups, 1,000 updates, 100,000 imported.
    pub fn new(database_url: String) -> Self {
        Self {
            users: 1_000_000,
            groups: 1000,
            updates: 1000,
            import_users: IMPORT_TARGET_USERS,
            baselines: Baselines::Indexed,
            seed: 7,
            database_url,
        }
    }
}

/// The users DESIGN §8's import target is for.
pub const IMPORT_TARGET_USERS: usize = 100_000;

/// The population DESIGN §8's targets are for.
const TARGET_USERS: usize = 1_000_000;

/// DESIGN §8's targets that differ between the backends.
struct Targets {
    diff: Duration,
    update_p99: Duration,
    rule_edit: Duration,
    import: Duration,
}

impl Targets {
    fn of(spec: &BenchSpec) -> Targets {
        if spec.database_url.starts_with("postgres") {
            Targets {
                diff: Duration::from_secs(3),
                update_p99: Duration::from_millis(10),
                rule_edit: Duration::from_millis(1500),
                import: Duration::from_secs(10),
            }
        } else {
            Targets {
                diff: Duration::from_secs(2),
                update_p99: Duration::from_millis(5),
                rule_edit: Duration::from_secs(1),
                import: Duration::from_secs(5),
            }
        }
    }
}

/// The rule previewed while a large rule edit is applied: one department.
const SMALL_RULE: &str = r#"field("Department") = "Sales""#;
/// Previews timed with no write under way, for comparison.
const PREVIEWS_ALONE: usize = 20;
/// DESIGN's bound on a preview's p99 while a large rule edit is applied (issue 15).
const PREVIEW_DURING_EDIT: Duration = Duration::from_millis(50);
/// Previews gathered during edits before the p99 is read: fewer, and the p99 is the
/// maximum of a handful.
const PREVIEWS_DURING: usize = 300;
/// Pairs of edits (the new rule undone, then done again) at most, however few previews
/// fit into each.
const EDIT_PAIRS: usize = 10;

/// A target as the table shows it: `<= 1.5 s`, `p99 <= 5 ms`.
fn at_most(d: Duration) -> String {
    let ms = d.as_millis();
    if ms >= 1000 {
        format!("<= {} s", d.as_secs_f64())
    } else {
        format!("<= {ms} ms")
    }
}

/// Which share of the population a group is drawn to hold: most 0.1%–5%, some up to
/// 30%, and one about 10% (the group whose rule the benchmark edits).
fn band(index: usize) -> (f64, f64) {
    match index {
        0 => (0.09, 0.11),
        i if i % 12 == 5 => (0.05, 0.30),
        _ => (0.001, 0.05),
    }
}

/// Candidate rules tried per group before one of the right size is found.
const TRIES: usize = 200;

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let at = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted.get(at).copied().unwrap_or_default()
}

pub(crate) fn bench_error(message: String) -> AppError {
    AppError::invariant(message)
}

/// Runs the benchmark on `app`'s (empty) database.
pub async fn run(app: &App, spec: &BenchSpec, progress: impl FnMut(&str)) -> AppResult<BenchReport> {
    Bench { app }.run(spec, progress).await
}

/// The benchmark's steps, over the app's public API.
struct Bench<'a> {
    app: &'a App,
}

impl Bench<'_> {
    async fn run(&self, spec: &BenchSpec, mut progress: impl FnMut(&str)) -> AppResult<BenchReport> {
        let mut report = BenchReport::new(spec);
        let actor = Actor::system("bench");
        let targets = Targets::of(spec);
        if spec.users != TARGET_USERS {
            report.note(format!(
                "DESIGN §8's targets are for 1,000,000 users; at {} users \"met\" only says the figure is \
                 within them.",
                spec.users
            ));
        }

        progress("generating the population");
        let started = Instant::now();
        let demo = DemoSpec {
            users: spec.users,
            courses: 50,
            enrollments_per_user: 5.0,
            branches: 200,
            seed: spec.seed,
            groups: false,
        };
        let summary = self.app.generate_demo(&demo, |_| {}).await?;
        report.note(format!(
            "{} users, {} enrollments, {} branches, {} courses",
            summary.users, summary.enrollments, summary.branches, summary.courses
        ));
        report.add(Measure::seconds("population generated and stored", started.elapsed()));

        progress("building the image of the population");
        let started = Instant::now();
        self.app.rebuild_image().await?;
        report.add(Measure::seconds("image built from the database (users and enrollments)", started.elapsed()));

        progress("drawing the groups' rules");
        let started = Instant::now();
        let sizes = self.bench_groups(spec, &actor).await?;
        report.add(Measure::seconds("rules drawn and sized against the image", started.elapsed()));
        report.note(sizes);

        // A fresh image, as a server starting on this database builds it.
        progress("building the image with the groups");
        let started = Instant::now();
        self.app.rebuild_image().await?;
        report.add(Measure::seconds("image built from the database (with the groups)", started.elapsed()));
        let mut bulk = self.app.bulk(&actor).await?;
        let today = bulk.today();

        progress("evaluating every group");
        let mut evaluation = None;
        let mut times = Vec::new();
        for _ in 0..5 {
            // The run before is dropped first, as a server drops an evaluation once
            // written: holding it made every run take fresh pages for its own.
            drop(evaluation.take());
            let started = Instant::now();
            let e = bulk.evaluate_all()?;
            times.push(started.elapsed());
            evaluation = Some(e);
        }
        let evaluation = evaluation.unwrap_or_default();
        // From an image holding no memberships, each group's joins are its members: what
        // the baselines are checked against.
        if let Some(g) = evaluation.groups.iter().find(|g| !g.left.is_empty() || g.joined.len() != g.member_count) {
            return Err(bench_error(format!("group {}: the first evaluation found members already", g.group)));
        }
        // In the order run: the first ones take memory the kernel must clear first
        // (see docs/benchmarks.md), which a reader of the median should see.
        let in_order: Vec<String> = times.iter().map(|t| report::millis_shown(t.as_secs_f64() * 1e3)).collect();
        times.sort();
        let engine_time = percentile(&times, 0.5);
        let members: u64 = evaluation.groups.iter().map(|g| g.member_count).sum();
        report.add(
            Measure::millis("every automatic group evaluated (engine only, median of 5)", engine_time)
                .detail(format!(
                    "{} groups, {members} memberships; the five in the order run: {} ms",
                    evaluation.groups.len(),
                    in_order.join(", ")
                ))
                .target("<= 100 ms", engine_time <= Duration::from_millis(100)),
        );

        progress("persisting every membership");
        let started = Instant::now();
        bulk.write_evaluation(&evaluation, "benchmark: first evaluation").await?;
        bulk.commit().await?;
        report.add(
            Measure::seconds("every membership persisted from empty", started.elapsed())
                .detail(format!("{members} memberships and as many events")),
        );

        if spec.baselines != Baselines::None {
            progress("running the SQL-per-rule baseline");
        }
        self.bench_baselines(&mut report, spec, &evaluation, engine_time, today).await?;
        // The benchmark's own copy of every group's members (26M at 1M users) is not
        // the product's: it must not count in the peak memory of what follows.
        drop(evaluation);

        progress("changing 1% of the population");
        let (changed, diff_time, moved) = self.bench_population_change(spec, &actor).await?;
        report.add(
            Measure::millis("every group re-evaluated and persisted as a diff after 1% of users changed", diff_time)
                .detail(format!("{changed} users changed; {moved} memberships moved"))
                .target(&at_most(targets.diff), diff_time <= targets.diff),
        );

        progress("timing single-user updates");
        let times = self.bench_updates(spec, summary.users, &actor, 0xabc).await?;
        let p99 = percentile(&times, 0.99);
        report.add(
            Measure::millis("one user update, every automatic group updated and committed: p99", p99)
                .detail(format!(
                    "p50 {:.2} ms, max {:.2} ms over {} updates",
                    seconds(percentile(&times, 0.5)) * 1e3,
                    seconds(times.last().copied().unwrap_or_default()) * 1e3,
                    times.len()
                ))
                .target(&format!("p99 {}", at_most(targets.update_p99)), p99 <= targets.update_p99),
        );

        progress("editing a large group's rule");
        self.bench_rule_edit(&mut report, &actor, targets.rule_edit).await?;

        progress("adding an enrollment rule to a large group");
        self.bench_enrollment_rule(&mut report, &actor, targets.rule_edit).await?;

        progress("importing users from CSV");
        self.bench_import(&mut report, spec, &actor, targets.import).await?;

        progress("building the image as at start-up");
        let started = Instant::now();
        self.app.rebuild_image().await?;
        report
            .add(Measure::seconds("image built from the database at start-up (memberships stored)", started.elapsed()));
        if self.app.settings().image_file.is_some() {
            progress("saving the image, then reading it back as a server restarting does");
            let started = Instant::now();
            if let Some(saved) = self.app.save_image().await? {
                let label = format!("image saved to its file ({:.0} MB)", saved.bytes as f64 / 1e6);
                report.add(Measure::seconds(&label, started.elapsed()));
                let started = Instant::now();
                self.app.reload_image().await?;
                let read = started.elapsed();
                report.add(
                    Measure::seconds("image read from its saved file at start-up", read)
                        .target("<= 10 s", read <= Duration::from_secs(10))
                        .detail(
                            "in this process, whose memory is already its own; a new server process also waits \
                             for the kernel to hand it its pages (`roster serve` says how long it took)"
                                .to_owned(),
                        ),
                );
            }
        }

        progress("measuring what webhooks cost and how fast they go");
        self.bench_consumers(&mut report, spec, summary.users, &actor).await?;

        let peak = peak_rss_bytes();
        report.add(
            Measure::bytes("peak resident memory of the whole run", peak)
                .target("<= 1.5 GB", peak.is_some_and(|b| b <= 1_500_000_000)),
        );
        Ok(report)
    }

    /// Draws the automatic groups: random rules, each kept when the image says its size
    /// falls in the group's band; saves them without members (the engine commits each in
    /// memory only, so later rules can reference it with its size known).
    async fn bench_groups(&self, spec: &BenchSpec, actor: &Actor) -> AppResult<String> {
        let mut bulk = self.app.bulk(actor).await?;
        let mut rng = StdRng::seed_from_u64(spec.seed ^ 0x5eed);
        let mut cat = bulk.rule_catalog().await?;
        let mut vocabulary =
            Vocabulary { branches: cat.branches.clone(), courses: cat.courses.clone(), groups: Vec::new() };
        let population = spec.users.max(1) as f64;
        let mut shares = Vec::with_capacity(spec.groups);
        let mut chains = [0usize; rules::MAX_CHAIN + 1];
        for i in 0..spec.groups {
            let (low, high) = band(i);
            let mut kept = None;
            for attempt in 0..TRIES {
                let (text, depth) = random_rule(&mut rng, &vocabulary, i % 5 == 4);
                let rule = compile_text(&text, &cat)
                    .map_err(|e| bench_error(format!("generated rule `{text}` does not compile: {e}")))?;
                let size = bulk.size(&rule)?;
                let share = size as f64 / population;
                if (low..=high).contains(&share) || (attempt == TRIES - 1 && size > 0) {
                    kept = Some((rule, depth, share));
                    break;
                }
            }
            let Some((rule, depth, share)) = kept else {
                return Err(bench_error(format!("no rule of {low}–{high} of the users found for group {i}")));
            };
            let name = format!("Bench {i:04}");
            let description =
                format!("Benchmark group, drawn to hold {:.1}%–{:.1}% of users", low * 100.0, high * 100.0);
            let id = bulk.draft_automatic_group(&name, &description, &rule).await?;
            cat.groups.push((id, name.clone()));
            vocabulary.groups.push((name, depth));
            chains[depth.min(rules::MAX_CHAIN)] += 1;
            shares.push(share);
        }
        bulk.commit().await?;
        shares.sort_by(f64::total_cmp);
        let at = |q: f64| shares.get(((shares.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0) * 100.0;
        Ok(format!(
            "{} groups; share of users per group: min {:.2}%, median {:.2}%, p90 {:.2}%, max {:.2}%; \
             member_of depth 1/2/3: {}/{}/{}",
            shares.len(),
            at(0.0),
            at(0.5),
            at(0.9),
            at(1.0),
            chains[1],
            chains[2],
            chains[3]
        ))
    }

    /// Changes 1% of the users in bulk (fields and status, written to the database and
    /// the image without evaluating), then times the one evaluation of every group and
    /// the diff written, committed.
    async fn bench_population_change(&self, spec: &BenchSpec, actor: &Actor) -> AppResult<(usize, Duration, u64)> {
        let mut rng = StdRng::seed_from_u64(spec.seed ^ 0x1);
        let count = (spec.users / 100).max(1);
        let mut ids: Vec<i64> = (0..count).map(|_| rng.random_range(1..=spec.users.max(1) as i64)).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut bulk = self.app.bulk(actor).await?;
        let now = self.app.now();
        let mut users = Vec::with_capacity(ids.len());
        for id in &ids {
            let Some(mut u) = bulk.user(*id).await? else { continue };
            u.fields.insert("department".into(), DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())].into());
            u.fields.insert("years_experience".into(), rng.random_range(0..35).into());
            u.fields.insert("supervisor".into(), rng.random_bool(0.2).into());
            if rng.random_bool(0.05) {
                u.status = if u.status == UserStatus::Active { UserStatus::Suspended } else { UserStatus::Active };
            }
            u.updated_at = now;
            users.push(u);
        }
        bulk.update_users(&users).await?;
        let started = Instant::now();
        let evaluation = bulk.reevaluate_all("benchmark: 1% of users changed").await?;
        bulk.commit().await?;
        let elapsed = started.elapsed();
        let moved = evaluation.groups.iter().map(|g| g.joined.len() + g.left.len()).sum();
        Ok((users.len(), elapsed, moved))
    }

    /// Times single-user updates through the use case an API call runs.
    async fn bench_updates(
        &self,
        spec: &BenchSpec,
        users: usize,
        actor: &Actor,
        salt: u64,
    ) -> AppResult<Vec<Duration>> {
        let mut rng = StdRng::seed_from_u64(spec.seed ^ salt);
        let mut times = Vec::with_capacity(spec.updates);
        for i in 0..spec.updates {
            let user = rng.random_range(1..=users.max(1)) as i64;
            let mut fields: std::collections::BTreeMap<String, serde_json::Value> =
                [("department".to_owned(), DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())].into())].into();
            if i % 3 == 0 {
                fields.insert("years_experience".into(), rng.random_range(0..35).into());
            }
            let patch = UserPatch { fields: Some(fields), ..UserPatch::default() };
            let started = Instant::now();
            self.app.update_user(actor, &user.to_string(), patch).await?;
            times.push(started.elapsed());
        }
        times.sort();
        Ok(times)
    }

    /// Edits the rule of the group nearest 10% of the users: preview, then apply.
    async fn bench_rule_edit(&self, report: &mut BenchReport, actor: &Actor, target: Duration) -> AppResult<()> {
        let group = {
            let mut conn = self.app.store().read().await?;
            roster_store::groups::by_name(&mut conn, "Bench 0000").await?
        }
        .ok_or_else(|| bench_error("group Bench 0000 is missing".into()))?;
        let old = group.rule_text.clone().unwrap_or_default();
        // About a tenth of the members leave and a hundredth of everyone else joins,
        // whatever the drawn rule reads.
        let text = format!(
            "(({old}) and not field(\"Institutional ID\") ends with \"7\") or field(\"Institutional ID\") ends with \"00\""
        );
        let started = Instant::now();
        let preview = self
            .app
            .preview_rule(
                actor,
                PreviewInput { text: Some(text.clone()), group: Some(group.id.to_string()), ..PreviewInput::default() },
            )
            .await?;
        let preview_time = started.elapsed();
        report.add(Measure::millis("rule edit on a large group: preview", preview_time).detail(format!(
            "{} members: {} would join, {} leave",
            group.member_count, preview.join_count, preview.leave_count
        )));
        let started = Instant::now();
        let outcome = self
            .app
            .set_rule(actor, &group.id.to_string(), RuleInput { text: Some(text.clone()), ..RuleInput::default() })
            .await?;
        let apply_time = started.elapsed();
        report.add(
            Measure::millis("rule edit on a large group: applied and committed", apply_time)
                .detail(format!("{} joined, {} left, with events", outcome.joined, outcome.left))
                .target(&at_most(target), apply_time <= target),
        );
        self.bench_previews_during_edit(report, actor, &group.id.to_string(), &old, &text).await
    }

    /// Previews of a small rule, sent one after another while the large group's rule is
    /// edited back and forth, beside the same previews with no write under way: DESIGN
    /// asks that a preview never wait for a writer (issue 15, item 7).
    async fn bench_previews_during_edit(
        &self,
        report: &mut BenchReport,
        actor: &Actor,
        group: &str,
        old: &str,
        new: &str,
    ) -> AppResult<()> {
        let small = || PreviewInput { text: Some(SMALL_RULE.into()), ..PreviewInput::default() };
        let mut alone = Vec::new();
        for _ in 0..PREVIEWS_ALONE {
            let started = Instant::now();
            self.app.preview_rule(actor, small()).await?;
            alone.push(started.elapsed());
        }
        alone.sort();
        let mut during = Vec::new();
        let mut edit_time = Duration::ZERO;
        let mut edits = 0;
        // In pairs, the new rule undone then done again, so that the group ends as it began.
        while edits < 2 * EDIT_PAIRS && (edits == 0 || during.len() < PREVIEWS_DURING) {
            for text in [old, new] {
                edits += 1;
                let (app, editor, id, text) = (self.app.clone(), actor.clone(), group.to_owned(), text.to_owned());
                let started = Instant::now();
                let edit = tokio::spawn(async move {
                    app.set_rule(&editor, &id, RuleInput { text: Some(text), ..RuleInput::default() }).await
                });
                while !edit.is_finished() {
                    let sent = Instant::now();
                    self.app.preview_rule(actor, small()).await?;
                    during.push(sent.elapsed());
                }
                edit.await.map_err(|e| bench_error(format!("the rule edit did not finish: {e}")))??;
                edit_time += started.elapsed();
            }
        }
        during.sort();
        let p99 = percentile(&during, 0.99);
        let measure = Measure::millis("preview during a rule edit on a large group: p99", p99).detail(format!(
            "{} previews of `{SMALL_RULE}` during {edits} edits ({:.0} ms in all), max {:.0} ms; with no write \
             under way, just before: p50 {:.1} ms, p99 {:.1} ms",
            during.len(),
            seconds(edit_time) * 1e3,
            seconds(during.last().copied().unwrap_or_default()) * 1e3,
            seconds(percentile(&alone, 0.5)) * 1e3,
            seconds(percentile(&alone, 0.99)) * 1e3,
        ));
        report.add(if during.is_empty() {
            measure
        } else {
            measure.target(&format!("p99 {}", at_most(PREVIEW_DURING_EDIT)), p99 <= PREVIEW_DURING_EDIT)
        });
        Ok(())
    }

    /// Adds an enrollment rule to the group nearest 10% of the users (after its rule
    /// edit): every member not yet in the course is enrolled, with an event each, and
    /// the groups reading that course follow, all in one committed write.
    async fn bench_enrollment_rule(&self, report: &mut BenchReport, actor: &Actor, target: Duration) -> AppResult<()> {
        let (group, course) = {
            let mut conn = self.app.store().read().await?;
            let group = roster_store::groups::by_name(&mut conn, "Bench 0000").await?;
            // The last course, the least taken: most members are enrolled.
            let course = roster_store::courses::all(&mut conn).await?.into_iter().last();
            (group, course)
        };
        let group = group.ok_or_else(|| bench_error("group Bench 0000 is missing".into()))?;
        let course = course.ok_or_else(|| bench_error("the population has no course".into()))?;
        let rules =
            vec![EnrollmentRuleInput { course: course.code.clone(), due_days: Some(30), unenroll_on_leave: false }];
        let started = Instant::now();
        let outcome = self.app.set_enrollment_rules(actor, &group.id.to_string(), rules).await?;
        let elapsed = started.elapsed();
        report.add(
            Measure::millis("enrollment rule added to a large group: applied with enrollments and events", elapsed)
                .detail(format!(
                    "{} members; {} enrolled in {} (due in 30 days), with events",
                    group.member_count,
                    outcome.enrolled.unwrap_or(0),
                    course.code
                ))
                .target(&at_most(target), elapsed <= target),
        );
        Ok(())
    }

    /// Imports new users from a CSV file through the import job, every group updated.
    /// The target is for [`IMPORT_TARGET_USERS`] rows: an import of another size is shown
    /// beside it, not judged by it.
    async fn bench_import(
        &self,
        report: &mut BenchReport,
        spec: &BenchSpec,
        actor: &Actor,
        target: Duration,
    ) -> AppResult<()> {
        let (elapsed, counts, bytes) = self.import_new_users(spec, actor, spec.users, spec.seed ^ 0x2).await?;
        let measure = Measure::seconds("CSV import of new users, every group updated", elapsed).detail(format!(
            "{} rows ({:.1} MB), {} created; {} memberships joined",
            counts.rows,
            bytes as f64 / 1e6,
            counts.created,
            counts.joined
        ));
        let shown = format!("{} for 100,000", at_most(target));
        report.add(if counts.rows == IMPORT_TARGET_USERS {
            measure.target(&shown, elapsed <= target)
        } else {
            let detail = format!("{}; not judged: the target is for 100,000 rows", measure.detail);
            measure.detail(detail).unjudged(&shown)
        });
        Ok(())
    }

    /// Imports `spec.import_users` new users, numbered from `first`, from a CSV file
    /// through the import job, every group updated: how long the job took, what it did,
    /// and the file's size in bytes.
    async fn import_new_users(
        &self,
        spec: &BenchSpec,
        actor: &Actor,
        first: usize,
        seed: u64,
    ) -> AppResult<(Duration, ImportCounts, u64)> {
        let branches = {
            let mut conn = self.app.store().read().await?;
            roster_store::branches::all(&mut conn).await?
        };
        let path = std::env::temp_dir().join(format!("roster-bench-import-{}.csv", std::process::id()));
        {
            let file = std::fs::File::create(&path).map_err(|e| bench_error(format!("{}: {e}", path.display())))?;
            let mut out = std::io::BufWriter::new(file);
            roster_app::demo::write_import_csv(&mut out, &branches, first, spec.import_users, seed, self.app.now())
                .and_then(|()| std::io::Write::flush(&mut out))
                .map_err(|e| bench_error(format!("{}: {e}", path.display())))?;
        }
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let file = ImportFile::open(&path).map_err(|e| bench_error(format!("{}: {e}", path.display())))?;
        let started = Instant::now();
        let options = ImportOptions { mode: ImportMode::Create, ..ImportOptions::default() };
        let mut job = self.app.start_import(actor, file, options).await?;
        job.finished().await;
        let elapsed = started.elapsed();
        let _ = std::fs::remove_file(&path);
        let view = self.app.import_status(actor, &job.id).await?;
        if !view.applied {
            return Err(bench_error(format!("the import was not applied: {:?}", view.error)));
        }
        Ok((elapsed, view.counts.unwrap_or_default(), bytes))
    }
}

/// The process's peak resident memory (Linux), in bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}
