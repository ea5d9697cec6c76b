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
        let mut tx = self.begin_copy().await?;
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

    /// Saves the in-memory image to the settings' file, so that the next start-up reads
    /// it instead of every row of the database; `None` when there is no file to write
    /// or the file already holds this image. Writers wait while it is written (about
    /// two seconds at a million users). A server saves after building its image from
    /// the database, when it stops, and when the file falls far behind.
    pub async fn save_image(&self) -> AppResult<Option<crate::saved::Saved>> {
        self.save_image_behind(1).await
    }

    /// [`App::save_image`], only when the file is `behind` or more changes behind.
    pub async fn save_image_behind(&self, behind: i64) -> AppResult<Option<crate::saved::Saved>> {
        let Some(path) = self.settings.image_file.clone() else { return Ok(None) };
        if matches!(self.live.positions(), (seq, Some(saved)) if seq - saved < behind) {
            return Ok(None);
        }
        let mut tx = self.begin_copy().await?;
        let (seq, saved) = self.live.positions();
        if seq == 0 || saved.is_some_and(|saved| seq - saved < behind) {
            return Ok(None);
        }
        let Some(at) = roster_store::changes::at(tx.read(), seq).await? else { return Ok(None) };
        let database = match roster_store::changes::fact(tx.read(), crate::saved::DATABASE_ID).await? {
            Some(id) => id,
            None => {
                let id = format!("{:032x}", rand::random::<u128>());
                tx.set_fact(crate::saved::DATABASE_ID, &id).await?;
                id
            }
        };
        let catalog = crate::live::load_catalog(tx.read()).await?;
        let timezone = self.settings.timezone.name().to_owned();
        let stamp = crate::saved::Stamp { database, timezone, seq, at };
        let started = std::time::Instant::now();
        let engine = self.live.lend_engine()?;
        let (engine, written) = tokio::task::spawn_blocking(move || {
            let written = crate::saved::save(&path, &engine, &catalog, &stamp)
                .map_err(|e| format!("cannot save the image to {}: {e}", path.display()));
            (engine, written)
        })
        .await
        .map_err(|e| crate::AppError::invariant(format!("saving the image stopped: {e}")))?;
        self.live.return_engine(engine);
        let written = written.map_err(crate::AppError::invariant)?;
        tx.commit().await?;
        self.live.set_saved(seq);
        tracing::info!(
            users = written.users,
            groups = written.groups,
            bytes = written.bytes,
            seconds = started.elapsed().as_secs_f64(),
            "image saved"
        );
        Ok(Some(written))
    }

    /// Whether the in-memory image was last built from the saved file (see
    /// [`App::save_image`]) rather than from the database.
    pub fn image_read_from_file(&self) -> bool {
        self.live.read_from_file()
    }

    /// How the in-memory image differs from one built from the database now: each
    /// user, enrollment list or group that is not the same, in words (empty when they
    /// agree). For tests and diagnosis; it holds the write gate while it builds.
    #[doc(hidden)]
    pub async fn image_differences(&self) -> AppResult<Vec<String>> {
        let mut tx = self.begin_copy().await?;
        let today = tx.today;
        let fresh = crate::live::build(tx.read(), &self.live, today).await?;
        tx.engine(|image| {
            let mut differences = Vec::new();
            let mut theirs: std::collections::BTreeMap<i64, _> = fresh.records().map(|(r, e)| (r.id, (r, e))).collect();
            for (record, enrollments) in image.records() {
                match theirs.remove(&record.id) {
                    None => differences.push(format!("user {} is only in the image", record.id)),
                    Some(fresh) if fresh != (record.clone(), enrollments.clone()) => {
                        differences.push(format!(
                            "user {}: image {:?} {:?}, database {fresh:?}",
                            record.id, record, enrollments
                        ));
                    }
                    Some(_) => {}
                }
            }
            differences.extend(theirs.keys().map(|id| format!("user {id} is missing from the image")));
            // What the records do not show: the image's own columns must give its members.
            for g in image.evaluate_all(today).groups.iter().filter(|g| !g.joined.is_empty() || !g.left.is_empty()) {
                differences.push(format!(
                    "group {}: the image's rule gives {} more, {} fewer",
                    g.group,
                    g.joined.len(),
                    g.left.len()
                ));
            }
            let groups = |e: &roster_engine::Engine| {
                e.group_images()
                    .map(|g| {
                        (
                            g.id,
                            format!(
                                "{} {:?} {:?} {:?}",
                                g.name,
                                g.automatic,
                                g.members.iter().collect::<Vec<_>>(),
                                g.enrollment_rules
                            ),
                        )
                    })
                    .collect::<std::collections::BTreeMap<_, _>>()
            };
            let (mine, theirs) = (groups(image), groups(&fresh));
            for id in mine.keys().chain(theirs.keys()).collect::<std::collections::BTreeSet<_>>() {
                if mine.get(id) != theirs.get(id) {
                    differences.push(format!("group {id}: image {:?}, database {:?}", mine.get(id), theirs.get(id)));
                }
            }
            differences
        })
    }

    /// Re-evaluates every automatic group from scratch against the stored memberships
    /// and reports the drift (there should be none); `fix` repairs it.
    pub async fn reconcile(&self, fix: bool) -> AppResult<Drift> {
        // From the database itself: a saved image is no independent check.
        self.live.forget_for_database_build();
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
