//! Administrators: the web UI's logins, managed by superadmins — created with a role and
//! branches, changed, suspended, deleted — and checked at every login.

use roster_domain::Username;
use roster_store::admins::AdminRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{hash_password, verify_password};
use crate::clock::rfc3339;
use crate::{parse_id, Actor, App, AppError, AppResult, Role, Superadmin};

/// The shortest password an administrator may have.
pub const MIN_ADMIN_PASSWORD: usize = 12;
const MAX_ADMIN_PASSWORD: usize = 200;

/// An administrator as listed (never its password).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminView {
    /// Opaque id.
    pub id: String,
    /// Login name, unique regardless of case.
    pub username: String,
    /// `superadmin` or `training_admin`.
    #[schema(value_type = String)]
    pub role: Role,
    /// For a training admin: the branch codes it manages (with their sub-branches).
    pub branches: Vec<String>,
    /// A suspended administrator cannot log in.
    pub suspended: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; absent until the first login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_login_at: Option<String>,
}

impl AdminView {
    fn of(record: AdminRecord) -> AppResult<Self> {
        Ok(Self {
            id: record.id.to_string(),
            role: Role::parse(&record.role)?,
            username: record.username,
            branches: record.branches,
            suspended: record.suspended,
            created_at: rfc3339(record.created_at),
            last_login_at: record.last_login_at.map(rfc3339),
        })
    }
}

/// A new administrator.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    /// Login name; unique regardless of case.
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    /// `superadmin` or `training_admin`.
    pub role: String,
    /// For a training admin: one or more branch codes. Empty for a superadmin.
    #[serde(default)]
    pub branches: Vec<String>,
}

/// A change to an administrator; absent properties stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminPatch {
    /// A new password (at least 12 characters); the administrator's sessions end.
    pub password: Option<String>,
    /// `superadmin` or `training_admin`.
    pub role: Option<String>,
    /// The branch codes of a training admin.
    pub branches: Option<Vec<String>>,
    /// Suspend (true) or reactivate (false); suspending ends its sessions.
    pub suspended: Option<bool>,
}

fn check_password(password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if n < MIN_ADMIN_PASSWORD {
        return Err(AppError::invalid("password", format!("must have at least {MIN_ADMIN_PASSWORD} characters")));
    }
    if n > MAX_ADMIN_PASSWORD {
        return Err(AppError::invalid("password", format!("must have at most {MAX_ADMIN_PASSWORD} characters")));
    }
    Ok(())
}

/// The branch codes as given, trimmed, without repeats (in any case).
fn branch_list(branches: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(branches.len());
    for b in branches.iter().map(|b| b.trim()).filter(|b| !b.is_empty()) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(b)) {
            out.push(b.to_owned());
        }
    }
    out
}

impl App {
    /// Every administrator, by login name.
    pub async fn list_admins(&self, _: &Superadmin) -> AppResult<Vec<AdminView>> {
        let mut conn = self.store.read().await?;
        roster_store::admins::all(&mut conn).await?.into_iter().map(AdminView::of).collect()
    }

    /// One administrator, by id.
    pub async fn get_admin(&self, _: &Superadmin, id: &str) -> AppResult<AdminView> {
        let mut conn = self.store.read().await?;
        AdminView::of(find(&mut conn, id).await?)
    }

    /// One administrator, by login name in any case (the command line names them).
    pub async fn admin_named(&self, _: &Superadmin, username: &str) -> AppResult<AdminView> {
        let mut conn = self.store.read().await?;
        let found = roster_store::admins::by_username(&mut conn, username.trim()).await?;
        AdminView::of(found.ok_or_else(|| AppError::NotFound(format!("administrator \"{}\"", username.trim())))?)
    }

    /// Creates an administrator login: 409 when the username is taken in any case.
    pub async fn create_admin(&self, _: &Superadmin, input: NewAdmin) -> AppResult<AdminView> {
        let username = Username::parse("username", &input.username)?;
        let role = Role::parse(&input.role).map_err(|e| AppError::invalid("role", e.message))?;
        check_password(&input.password)?;
        let branches = branch_list(&input.branches);
        let hash = hash_password(&input.password).await?;
        let mut tx = self.bookkeeping().await?;
        self.check_branch_codes(&mut tx, role, &branches).await?;
        let id = roster_store::admins::insert(&mut tx, username.as_str(), &hash, role.as_str(), &branches, self.now())
            .await
            .map_err(|e| match e {
                roster_store::StoreError::Conflict { .. } => {
                    AppError::conflict("username", format!("an administrator named \"{username}\" exists"))
                }
                other => other.into(),
            })?;
        let created = roster_store::admins::get(&mut tx, id).await?.ok_or_else(|| AppError::invariant("admin gone"))?;
        tx.commit().await?;
        AdminView::of(created)
    }

    /// Changes an administrator's role, branches, password or suspension. The last
    /// superadmin that can log in can be neither demoted nor suspended. A change of
    /// role, branches or password, or a suspension, ends its sessions: it logs in again
    /// as what it now is.
    pub async fn update_admin(&self, _: &Superadmin, id: &str, patch: AdminPatch) -> AppResult<AdminView> {
        if let Some(p) = &patch.password {
            check_password(p)?;
        }
        let role =
            patch.role.as_deref().map(Role::parse).transpose().map_err(|e| AppError::invalid("role", e.message))?;
        let hash = match &patch.password {
            Some(p) => Some(hash_password(p).await?),
            None => None,
        };
        let mut tx = self.bookkeeping().await?;
        let mut admin = find(&mut tx, id).await?;
        let was_active_superadmin = admin.role == Role::Superadmin.as_str() && !admin.suspended;
        let new_role = role.unwrap_or(Role::parse(&admin.role)?);
        let branches = match (&patch.branches, role) {
            (Some(b), _) => branch_list(b),
            // A superadmin made a training admin must be given branches; one made a
            // superadmin drops them.
            (None, Some(Role::Superadmin)) => Vec::new(),
            (None, _) => admin.branches.clone(),
        };
        self.check_branch_codes(&mut tx, new_role, &branches).await?;
        let suspended = patch.suspended.unwrap_or(admin.suspended);
        if was_active_superadmin
            && (new_role != Role::Superadmin || suspended)
            && roster_store::admins::active_superadmins(&mut tx).await? <= 1
        {
            let field = if suspended { "suspended" } else { "role" };
            return Err(AppError::conflict(
                field,
                format!("\"{}\" is the last superadmin that can log in; make another superadmin first", admin.username),
            ));
        }
        let ends_sessions = new_role.as_str() != admin.role
            || branches != admin.branches
            || hash.is_some()
            || (suspended && !admin.suspended);
        admin.role = new_role.as_str().to_owned();
        admin.branches = branches;
        admin.suspended = suspended;
        if let Some(h) = hash {
            admin.password_hash = h;
        }
        roster_store::admins::update(&mut tx, &admin).await?;
        if ends_sessions {
            roster_store::sessions::delete_of_admin(&mut tx, admin.id).await?;
        }
        tx.commit().await?;
        AdminView::of(admin)
    }

    /// Deletes an administrator and its sessions; never the last superadmin that can log in.
    pub async fn delete_admin(&self, _: &Superadmin, id: &str) -> AppResult<()> {
        let mut tx = self.bookkeeping().await?;
        let admin = find(&mut tx, id).await?;
        if admin.role == Role::Superadmin.as_str()
            && !admin.suspended
            && roster_store::admins::active_superadmins(&mut tx).await? <= 1
        {
            return Err(AppError::conflict(
                "username",
                format!("\"{}\" is the last superadmin that can log in; make another superadmin first", admin.username),
            ));
        }
        roster_store::admins::delete(&mut tx, admin.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor a username and password stand for, or 401 — also for a suspended
    /// administrator, so a refusal says nothing about which part was wrong.
    pub async fn authenticate_admin(&self, username: &str, password: &str) -> AppResult<Actor> {
        let mut conn = self.store.read().await?;
        let admin = roster_store::admins::by_username(&mut conn, username).await?;
        drop(conn);
        match admin {
            Some(a) if verify_password(password, &a.password_hash).await && !a.suspended => Ok(Actor {
                name: format!("admin:{}", a.username),
                role: Role::parse(&a.role)?,
                branch_codes: a.branches,
            }),
            _ => Err(AppError::Unauthorized),
        }
    }
}

/// An administrator by id.
async fn find(conn: &mut roster_store::AnyConnection, id: &str) -> AppResult<AdminRecord> {
    let id = parse_id("administrator", id)?;
    roster_store::admins::get(conn, id).await?.ok_or_else(|| AppError::NotFound("administrator".into()))
}
