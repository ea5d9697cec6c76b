//! Whole-population steps for the benchmark (`roster-bench`), behind the `bench`
//! feature: seeding a platform with groups, its first evaluation, a mass change of
//! users, each step timed on its own. It goes through the same door as every use case
//! (the live transaction); what it adds is the order: many writes, then one evaluation
//! of every group.
//!
//! Unlike a use case, a [`Bulk`] can commit groups whose members are not written yet
//! ([`Bulk::draft_automatic_group`]): the benchmark times their first evaluation
//! separately, as `roster reconcile --fix` would run it. It is not part of the product's
//! API for that reason.

use chrono::NaiveDate;
use roster_domain::rule::{Catalog, Rule};
use roster_domain::{Group, GroupPolicy, User};
use roster_engine::{AutomaticGroup, Evaluation};

use crate::live::engine_error;
use crate::rules::{catalog, internal};
use crate::transaction::LiveTx;
use crate::{Actor, App, AppError, AppResult};

/// A write transaction for whole-population work (see the module).
#[derive(Debug)]
pub struct Bulk<'a> {
    app: &'a App,
    actor: Actor,
    tx: LiveTx,
    /// Users changed since the last evaluation was written.
    users_changed: bool,
}

impl App {
    /// Opens a [`Bulk`] acting as `actor` (a superadmin: it reaches every user).
    pub async fn bulk(&self, actor: &Actor) -> AppResult<Bulk<'_>> {
        actor.superadmin()?;
        Ok(Bulk { app: self, actor: actor.clone(), tx: self.begin().await?, users_changed: false })
    }

    /// Forgets the in-memory image and builds it again as a server starting does: from
    /// the saved image when there is one it can trust (see [`App::save_image`]), else
    /// from the database.
    pub async fn reload_image(&self) -> AppResult<()> {
        self.live.forget();
        drop(self.begin().await?);
        Ok(())
    }

    /// Forgets the in-memory image and builds it again from the database, as a server
    /// starting without a saved image does.
    pub async fn rebuild_image(&self) -> AppResult<()> {
        self.live.forget_for_database_build();
        drop(self.begin().await?);
        Ok(())
    }
}

impl Bulk<'_> {
    /// The platform's calendar day the transaction began on.
    pub fn today(&self) -> NaiveDate {
        self.tx.today
    }

    /// The names a rule may use: fields, courses, branches and groups, as of now.
    pub async fn rule_catalog(&mut self) -> AppResult<Catalog> {
        catalog(self.tx.read()).await
    }

    /// How many users `rule` would hold as a new automatic group, now.
    pub fn size(&self, rule: &Rule) -> AppResult<u64> {
        let candidate = AutomaticGroup { rule: rule.clone(), include: vec![], exclude: vec![], allow_suspended: false };
        let today = self.tx.today;
        let preview = self.tx.engine(|e| e.preview(&candidate, None, today, 0))?.map_err(engine_error)?;
        Ok(preview.member_count)
    }

    /// Saves an automatic group with `rule`, platform-wide, without writing its members:
    /// they are computed and held in the image, for later rules to size against
    /// (`member_of`), and the image is rebuilt after the commit. The group's members
    /// are written by the first evaluation after it (see the module).
    pub async fn draft_automatic_group(&mut self, name: &str, description: &str, rule: &Rule) -> AppResult<i64> {
        let now = self.tx.now;
        let mut group = Group {
            id: 0,
            name: name.to_owned(),
            description: Some(description.to_owned()),
            policy: GroupPolicy::Automatic,
            rule_text: Some(rule.to_string()),
            rule_tree: Some(serde_json::to_string(rule).map_err(internal)?),
            allow_suspended: false,
            member_count: 0,
            created_at: now,
            updated_at: now,
            scope: None,
        };
        if roster_store::groups::by_name(self.tx.read(), name).await?.is_some() {
            return Err(AppError::conflict("name", format!("a group named \"{name}\" exists")));
        }
        self.tx.insert_group(&mut group).await?;
        let (id, today) = (group.id, self.tx.today);
        let evaluation = self.tx.engine(|e| e.evaluate_groups(&[id], today))?.map_err(engine_error)?;
        self.tx.hold_in_image(&evaluation)?;
        Ok(id)
    }

    /// Every automatic group evaluated against the image, from the memberships stored:
    /// nothing is written.
    pub fn evaluate_all(&self) -> AppResult<Evaluation> {
        let today = self.tx.today;
        self.tx.engine(|e| e.evaluate_all(today))
    }

    /// Writes what [`Bulk::evaluate_all`] found: every join and leave, with its event.
    pub async fn write_evaluation(&mut self, evaluation: &Evaluation, why: &str) -> AppResult<()> {
        let cause = self.app.cause(&self.actor, why);
        self.tx.write_evaluation(evaluation, &cause).await?;
        self.users_changed = false;
        Ok(())
    }

    /// A user as stored.
    pub async fn user(&mut self, id: i64) -> AppResult<Option<User>> {
        Ok(roster_store::users::get(self.tx.read(), id).await?)
    }

    /// Writes changed users without evaluating anyone: [`Bulk::reevaluate_all`] (or
    /// the commit) then evaluates every group once.
    pub async fn update_users(&mut self, users: &[User]) -> AppResult<()> {
        let saved = self.tx.save_users(&mut [], users, None).await?;
        self.tx.load_users(saved).await?;
        self.users_changed = true;
        Ok(())
    }

    /// Evaluates every group and writes the moves; returns what moved.
    pub async fn reevaluate_all(&mut self, why: &str) -> AppResult<Evaluation> {
        let cause = self.app.cause(&self.actor, why);
        let evaluation = self.tx.reevaluate_all(&cause).await?;
        self.users_changed = false;
        Ok(evaluation)
    }

    /// Commits. Users changed and not yet evaluated are evaluated first; drafted groups
    /// are committed as they are, their members unwritten until an evaluation is.
    pub async fn commit(mut self) -> AppResult<()> {
        if self.users_changed {
            self.reevaluate_all("bulk change").await?;
        }
        self.tx.commit().await
    }
}
