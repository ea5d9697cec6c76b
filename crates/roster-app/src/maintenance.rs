//! Work that no client asks for: building the image at start-up, the date roll-over,
//! and reconcile.

use chrono::NaiveDate;
use serde::Serialize;

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
