//! The SQL-per-rule baselines run beside the engine, and their results checked group by
//! group.

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use roster_engine::Evaluation;
use std::time::Duration;

use super::report::{BenchReport, Measure};
use super::Bench;
use super::{bench_error, BenchSpec};
use crate::baseline::{self, BaselineGroup, BaselineRun, Schema};
use roster_app::AppResult;

/// Which baselines a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baselines {
    /// The indexed schema's, the one DESIGN §8's ratio is against.
    Indexed,
    /// The JSON schema's alone.
    Json,
    /// Both, the JSON schema's first.
    Both,
    /// None.
    None,
}

impl Baselines {
    /// The schemas to query, in the order run.
    fn schemas(self) -> &'static [Schema] {
        match self {
            Baselines::Indexed => &[Schema::Indexed],
            Baselines::Json => &[Schema::Json],
            Baselines::Both => &[Schema::Json, Schema::Indexed],
            Baselines::None => &[],
        }
    }
}

impl Bench<'_> {
    /// Runs every group's rule as one SQL query on the same database, through each schema
    /// the spec names, checks that each gives Roster's members — any difference fails the
    /// run — and reports both times side by side.
    pub(super) async fn bench_baselines(
        &self,
        report: &mut BenchReport,
        spec: &BenchSpec,
        evaluation: &Evaluation,
        engine_time: Duration,
        today: NaiveDate,
    ) -> AppResult<()> {
        let schemas = spec.baselines.schemas();
        if schemas.is_empty() {
            return Ok(());
        }
        let url = &spec.database_url;
        let groups = baseline::load_groups(url).await?;
        let timezone = self.app.settings().timezone;
        for &schema in schemas {
            let run = match schema {
                Schema::Json => baseline::run(url, &groups, schema, timezone, today).await?,
                Schema::Indexed => {
                    let built = baseline::create_indexed_tables(url).await?;
                    report.add(
                        Measure::seconds(
                            "baseline's field-value table and indexes built, statistics gathered",
                            built.elapsed,
                        )
                        .detail(format!("{} field values; not counted in the baseline's time", built.field_values)),
                    );
                    let run = baseline::run(url, &groups, schema, timezone, today).await;
                    baseline::drop_indexed_tables(url).await?;
                    run?
                }
            };
            agree(&groups, &run, evaluation)?;
            let ratio = run.queries.as_secs_f64() / engine_time.as_secs_f64().max(1e-9);
            let total = run.total.as_secs_f64();
            let count = run.groups.len();
            let measure = match schema {
                Schema::Indexed => Measure::millis(
                    "whole evaluation, Roster's engine beside the SQL-per-rule baseline (indexed field-value table)",
                    engine_time,
                )
                .baseline(run.queries, engine_time)
                .detail(format!(
                    "{count} groups, each query's result equal to Roster's; baseline run {total:.1} s with its \
                     scratch table"
                ))
                .target(">= 50x faster than the baseline", ratio >= 50.0),
                Schema::Json => Measure::millis(
                    "whole evaluation, Roster's engine beside the SQL-per-rule baseline over JSON text",
                    engine_time,
                )
                .baseline(run.queries, engine_time)
                .detail(format!(
                    "{count} groups, each query's result equal to Roster's; baseline run {total:.1} s with its \
                     scratch table; fields parsed from JSON row by row, as no peer stores them"
                )),
            };
            report.add(measure);
            if let Some((slowest, group)) = slowest(&groups, &run) {
                let schema = match schema {
                    Schema::Indexed => "indexed",
                    Schema::Json => "JSON",
                };
                report.note(format!(
                    "The {schema} baseline's slowest query ({:.0} ms), for `{}`:\n\n```sql\n{}\n```",
                    slowest.elapsed.as_secs_f64() * 1e3,
                    group.rule.as_ref().map(ToString::to_string).unwrap_or_default(),
                    slowest.sql
                ));
            }
        }
        Ok(())
    }
}

/// Fails unless the baseline gave every group the engine evaluated, with its members.
/// `evaluation` is the first, from an image without memberships: a group's joins are
/// its members.
fn agree(groups: &[BaselineGroup], run: &BaselineRun, evaluation: &Evaluation) -> AppResult<()> {
    for ours in &evaluation.groups {
        let members = &ours.joined;
        let theirs = run
            .groups
            .iter()
            .find(|g| g.id == ours.group)
            .ok_or_else(|| bench_error(format!("the baseline did not evaluate group {}", ours.group)))?;
        let theirs_set: RoaringBitmap = theirs.members.iter().filter_map(|u| u32::try_from(*u).ok()).collect();
        if theirs_set != *members || theirs_set.len() != theirs.members.len() as u64 {
            let missing: Vec<u32> = (members - &theirs_set).iter().take(5).collect();
            let extra: Vec<u32> = (&theirs_set - members).iter().take(5).collect();
            let rule = groups.iter().find(|g| g.id == ours.group).and_then(|g| g.rule.as_ref());
            return Err(bench_error(format!(
                "group {} (`{}`): the baseline disagrees with Roster: users {missing:?} are members for \
                 Roster only, users {extra:?} for the baseline only\n{}",
                ours.group,
                rule.map(ToString::to_string).unwrap_or_default(),
                theirs.sql
            )));
        }
    }
    if run.groups.len() != evaluation.groups.len() {
        return Err(bench_error(format!(
            "the baseline evaluated {} groups, Roster {}",
            run.groups.len(),
            evaluation.groups.len()
        )));
    }
    Ok(())
}

/// The run's slowest query, with its group.
fn slowest<'a>(
    groups: &'a [BaselineGroup],
    run: &'a BaselineRun,
) -> Option<(&'a baseline::GroupRun, &'a BaselineGroup)> {
    let slowest = run.groups.iter().max_by_key(|g| g.elapsed)?;
    Some((slowest, groups.iter().find(|g| g.id == slowest.id)?))
}
