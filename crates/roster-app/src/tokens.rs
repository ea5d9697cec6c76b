//! API tokens and admin logins: created from the command line, checked on every call.

use roster_domain::{BranchTree, Username};

use crate::auth::{hash_password, new_token, token_hash, verify_password};
use crate::{Actor, App, AppError, AppResult, Role, Superadmin};

/// A token as listed (never the token itself).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Branch codes of a training admin.
    pub branches: Vec<String>,
    /// When it was created, epoch ms.
    pub created_at: i64,
    /// When it was last used, epoch ms.
    pub last_used_at: Option<i64>,
}

impl App {
    /// Creates an API token and returns it; only its hash is kept.
    pub async fn create_token(&self, _: &Superadmin, name: &str, role: Role, branches: &[String]) -> AppResult<String> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("name", "a token name has 1 to 100 characters"));
        }
        let mut tx = self.bookkeeping().await?;
        self.check_branch_codes(&mut tx, role, branches).await?;
        let token = new_token();
        roster_store::tokens::insert(&mut tx, name, &token_hash(&token), role.as_str(), branches, self.now())
            .await
            .map_err(|e| match e {
                roster_store::StoreError::Conflict { .. } => {
                    AppError::conflict("name", format!("a token named \"{name}\" exists"))
                }
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(token)
    }

    async fn check_branch_codes(
        &self,
        conn: &mut roster_store::AnyConnection,
        role: Role,
        branches: &[String],
    ) -> AppResult<()> {
        let tree = BranchTree::new(roster_store::branches::all(conn).await?);
        if role == Role::TrainingAdmin && branches.is_empty() {
            return Err(AppError::invalid("branches", "a training admin needs at least one branch"));
        }
        if role == Role::Superadmin && !branches.is_empty() {
            return Err(AppError::invalid("branches", "a superadmin is not limited to branches"));
        }
        if let Some(unknown) = branches.iter().find(|c| tree.by_code(c).is_none()) {
            return Err(AppError::invalid("branches", format!("no branch has the code \"{unknown}\"")));
        }
        Ok(())
    }

    /// Every token.
    pub async fn list_tokens(&self, _: &Superadmin) -> AppResult<Vec<TokenInfo>> {
        let mut conn = self.store.read().await?;
        roster_store::tokens::all(&mut conn)
            .await?
            .into_iter()
            .map(|t| {
                Ok(TokenInfo {
                    role: Role::parse(&t.role)?,
                    name: t.name,
                    branches: t.branches,
                    created_at: t.created_at,
                    last_used_at: t.last_used_at,
                })
            })
            .collect()
    }

    /// Revokes a token by name.
    pub async fn revoke_token(&self, _: &Superadmin, name: &str) -> AppResult<()> {
        let mut tx = self.bookkeeping().await?;
        if !roster_store::tokens::delete(&mut tx, name).await? {
            return Err(AppError::NotFound(format!("token \"{name}\"")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The actor a bearer token stands for, or 401.
    pub async fn authenticate_token(&self, token: &str) -> AppResult<Actor> {
        if token.len() > 200 {
            return Err(AppError::Unauthorized);
        }
        let mut conn = self.store.read().await?;
        let record =
            roster_store::tokens::by_hash(&mut conn, &token_hash(token)).await?.ok_or(AppError::Unauthorized)?;
        Ok(Actor {
            name: format!("token:{}", record.name),
            role: Role::parse(&record.role)?,
            branch_codes: record.branches,
        })
    }

    /// Creates an admin login for the web UI, or resets its password.
    pub async fn create_admin(
        &self,
        _: &Superadmin,
        username: &str,
        password: &str,
        role: Role,
        branches: &[String],
    ) -> AppResult<()> {
        let username = Username::parse("username", username)?;
        if password.chars().count() < 8 {
            return Err(AppError::invalid("password", "must have at least 8 characters"));
        }
        let hash = hash_password(password).await?;
        let mut tx = self.bookkeeping().await?;
        self.check_branch_codes(&mut tx, role, branches).await?;
        roster_store::admins::upsert(&mut tx, username.as_str(), &hash, role.as_str(), branches, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor a username and password stand for, or 401.
    pub async fn authenticate_admin(&self, username: &str, password: &str) -> AppResult<Actor> {
        let mut conn = self.store.read().await?;
        let admin = roster_store::admins::by_username(&mut conn, username).await?;
        match admin {
            Some(a) if verify_password(password, &a.password_hash).await => Ok(Actor {
                name: format!("admin:{}", a.username),
                role: Role::parse(&a.role)?,
                branch_codes: a.branches,
            }),
            _ => Err(AppError::Unauthorized),
        }
    }
}
