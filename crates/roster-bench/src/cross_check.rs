//! The SQL-per-rule baseline run beside the engine, and its result checked group by group.

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use roster_engine::Evaluation;
use std::time::Duration;

use super::report::{BenchReport, Measure};
use super::Bench;
use super::{bench_error, BenchSpec};
use crate::baseline::{self, Dialect, SqlContext};
use roster_app::AppResult;

impl Bench<'_> {
    /// Runs every group's rule as one SQL query on the same database, checks that each
    /// gives Roster's members — any difference fails the run — and reports both times
    /// side by side.
    pub(super) async fn bench_baseline(
        &self,
        report: &mut BenchReport,
        spec: &BenchSpec,
        evaluation: &Evaluation,
        engine_time: Duration,
        today: NaiveDate,
    ) -> AppResult<()> {
        let groups = baseline::load_groups(&spec.database_url).await?;
        let run = baseline::run(&spec.database_url, &groups, self.app.settings().timezone, today).await?;
        let mut slowest: Option<(Duration, i64)> = None;
        for ours in &evaluation.groups {
            let theirs = run
                .groups
                .iter()
                .find(|g| g.id == ours.group)
                .ok_or_else(|| bench_error(format!("the baseline did not evaluate group {}", ours.group)))?;
            let theirs_set: RoaringBitmap = theirs.members.iter().filter_map(|u| u32::try_from(*u).ok()).collect();
            if theirs_set != ours.members || theirs_set.len() != theirs.members.len() as u64 {
                let missing: Vec<u32> = (&ours.members - &theirs_set).iter().take(5).collect();
                let extra: Vec<u32> = (&theirs_set - &ours.members).iter().take(5).collect();
                let rule = groups.iter().find(|g| g.id == ours.group).and_then(|g| g.rule.as_ref());
                return Err(bench_error(format!(
                    "group {} (`{}`): the baseline disagrees with Roster: users {missing:?} are members for \
                     Roster only, users {extra:?} for the baseline only",
                    ours.group,
                    rule.map(ToString::to_string).unwrap_or_default()
                )));
            }
            if slowest.is_none_or(|(t, _)| theirs.elapsed > t) {
                slowest = Some((theirs.elapsed, ours.group));
            }
        }
        if run.groups.len() != evaluation.groups.len() {
            return Err(bench_error(format!(
                "the baseline evaluated {} groups, Roster {}",
                run.groups.len(),
                evaluation.groups.len()
            )));
        }
        let ratio = run.queries.as_secs_f64() / engine_time.as_secs_f64().max(1e-9);
        report.add(
            Measure::millis("whole evaluation, Roster's engine beside the SQL-per-rule baseline", engine_time)
                .baseline(run.queries, engine_time)
                .detail(format!(
                    "{} groups, each query's result equal to Roster's; baseline run {:.1} s with its scratch table",
                    run.groups.len(),
                    run.total.as_secs_f64()
                ))
                .target(">= 50x faster than the baseline", ratio >= 50.0),
        );
        if let Some((elapsed, id)) = slowest {
            if let Some(group) = groups.iter().find(|g| g.id == id) {
                let mut conn = self.app.store().read().await?;
                let fields = roster_store::fields::all(&mut conn).await?;
                drop(conn);
                let dialect = Dialect::of_url(&spec.database_url)?;
                let ctx = SqlContext::new(
                    dialect,
                    self.app.settings().timezone,
                    today,
                    fields.iter().map(|f| (f.code.as_str().to_owned(), f.field_type)),
                );
                let sql = baseline::group_sql(group, &ctx)?;
                report.note(format!(
                    "The baseline's slowest query ({:.0} ms), for `{}`:\n\n```sql\n{sql}\n```",
                    elapsed.as_secs_f64() * 1e3,
                    group.rule.as_ref().map(ToString::to_string).unwrap_or_default()
                ));
            }
        }
        Ok(())
    }
}
