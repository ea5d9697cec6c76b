//! Work that no client asks for: building the image at start-up, the date roll-over,
//! and reconcile.

use chrono::{NaiveDate, TimeZone};
use serde::Serialize;
use std::time::Duration;

use crate::{Actor, App, AppResult};

/// The shared fact that records the last day relative dates were evaluated for.
const ROLLOVER: &str = "rollover_date";

/// How one automatic group's stored members differ from a fresh evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct GroupDrift {
    /// The group's id.
    pub group: i64,
    /// Users who should be members and are not.
    pub missing: u64,
    /// Users who are members and should not be.
    pub extra: u64,
}

/// What reconcile found.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    /// Automatic groups evaluated.
    pub groups: usize,
    /// The groups that drifted.
    pub drifted: Vec<GroupDrift>,
    /// Whether the drift was repaired.
    pub fixed: bool,
}

impl App {
    /// Builds the image and re-evaluates every automatic group: relative dates may have
    /// moved while no server ran. Returns how many memberships moved.
    pub async fn start(&self) -> AppResult<u64> {
        let mut tx = self.begin().await?;
        let cause = self.cause(&Actor::system("system"), "start-up re-evaluation");
        let evaluation = tx.reevaluate_all(&cause).await?;
        let today = tx.today.to_string();
        tx.set_fact(ROLLOVER, &today).await?;
        tx.commit().await?;
        Ok(evaluation.groups.iter().map(|g| g.joined.len() + g.left.len()).sum())
    }

    /// When the platform's date has rolled over since relative dates were last
    /// evaluated, re-evaluates the groups that use them (and their dependents). Runs
    /// once across processes: the day is recorded under the write lock.
    pub async fn roll_over(&self) -> AppResult<Option<NaiveDate>> {
        let mut tx = self.begin().await?;
        let today = tx.today;
        let last = roster_store::changes::fact(tx.read(), ROLLOVER).await?;
        if last.as_deref() == Some(today.to_string().as_str()) {
            return Ok(None);
        }
        let groups = tx.engine(|e| e.groups_using_today())?;
        let cause = self.cause(&Actor::system("system"), format!("date roll-over to {today}"));
        if !groups.is_empty() {
            tx.reevaluate_groups(&groups, &cause).await?;
        }
        tx.set_fact(ROLLOVER, &today.to_string()).await?;
        tx.commit().await?;
        Ok(Some(today))
    }

    /// How long until the platform's date next turns (midnight in its time zone, or
    /// the first instant of the new day when a daylight-saving change skips midnight),
    /// plus a few milliseconds so that the date has turned when the caller wakes.
    pub fn until_next_day(&self) -> Duration {
        let tz = self.settings.timezone;
        let now = self.now();
        let Some(local) = tz.timestamp_millis_opt(now).single() else { return Duration::from_secs(60) };
        let Some(tomorrow) = local.date_naive().succ_opt() else { return Duration::from_secs(60) };
        // The first local time of tomorrow that exists: midnight, or later in a gap.
        let start = (0..=180)
            .filter_map(|minutes| tomorrow.and_hms_opt(0, 0, 0).map(|m| m + chrono::Duration::minutes(minutes)))
            .find_map(|t| tz.from_local_datetime(&t).earliest());
        let Some(start) = start else { return Duration::from_secs(60) };
        let wait = u64::try_from(start.timestamp_millis() - now).unwrap_or(0);
        Duration::from_millis(wait + 5)
    }

    /// Re-evaluates every automatic group from scratch against the stored memberships
    /// and reports the drift (there should be none); `fix` repairs it.
    pub async fn reconcile(&self, fix: bool) -> AppResult<Drift> {
        self.live.forget();
        let mut tx = self.begin().await?;
        let today = tx.today;
        let evaluation = tx.engine(|e| e.evaluate_all(today))?;
        let drifted: Vec<GroupDrift> = evaluation
            .groups
            .iter()
            .filter(|g| !g.joined.is_empty() || !g.left.is_empty())
            .map(|g| GroupDrift { group: g.group, missing: g.joined.len(), extra: g.left.len() })
            .collect();
        let groups = evaluation.groups.len();
        if fix && !drifted.is_empty() {
            let cause = self.cause(&Actor::system("reconcile"), "reconcile repaired drift");
            tx.write_evaluation(&evaluation, &cause).await?;
            tx.commit().await?;
        }
        Ok(Drift { groups, fixed: fix && !drifted.is_empty(), drifted })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, Settings};
    use std::sync::Arc;

    async fn app_at(now_ms: i64, timezone: chrono_tz::Tz) -> App {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let store = roster_store::Store::connect(&url).await.unwrap();
        std::mem::forget(dir);
        App::new(store, Arc::new(ManualClock::new(now_ms)), Settings { timezone, ..Settings::default() })
    }

    fn ms(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
    }

    #[tokio::test]
    async fn the_day_turns_at_local_midnight() {
        // 23:59:35 in Paris (UTC+1 in winter): the day turns 25 s later.
        let app = app_at(ms("2026-03-01T22:59:35Z"), chrono_tz::Europe::Paris).await;
        assert_eq!(app.until_next_day(), Duration::from_millis(25_005));
        // Midnight itself: the next turn is a whole day away.
        let app = app_at(ms("2026-03-01T23:00:00Z"), chrono_tz::Europe::Paris).await;
        assert_eq!(app.until_next_day(), Duration::from_millis(86_400_005));
    }

    #[tokio::test]
    async fn a_day_without_midnight_turns_at_its_first_instant() {
        // Santiago moved its clocks from 00:00 to 01:00 on 2026-09-06: that day starts at 01:00.
        let app = app_at(ms("2026-09-06T03:59:00Z"), chrono_tz::America::Santiago).await;
        assert_eq!(app.until_next_day(), Duration::from_millis(60_005));
    }
}
