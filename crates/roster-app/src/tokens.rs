//! API tokens: created by superadmins (the secret shown once), listed with their last
//! use, revoked; checked on every call.

use roster_domain::BranchTree;
use roster_store::tokens::TokenRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{new_token, token_hash};
use crate::clock::rfc3339;
use crate::{parse_id, Actor, App, AppError, AppResult, Role, Superadmin};

/// A token as listed (never the token itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    /// Opaque id.
    pub id: String,
    /// Its name: who or what uses it.
    pub name: String,
    /// `superadmin` or `training_admin`.
    #[schema(value_type = String)]
    pub role: Role,
    /// For a training admin: the branch codes it reaches (with their sub-branches).
    pub branches: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; absent until first used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

impl TokenView {
    fn of(record: TokenRecord) -> AppResult<Self> {
        Ok(Self {
            id: record.id.to_string(),
            role: Role::parse(&record.role)?,
            name: record.name,
            branches: record.branches,
            created_at: rfc3339(record.created_at),
            last_used_at: record.last_used_at.map(rfc3339),
        })
    }
}

/// A new token.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A unique name: who or what uses it.
    pub name: String,
    /// `superadmin` or `training_admin`.
    pub role: String,
    /// For a training admin: one or more branch codes.
    #[serde(default)]
    pub branches: Vec<String>,
}

/// A token just created: the secret is in this answer and nowhere else, ever.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    /// Send as `Authorization: Bearer TOKEN`. Shown once: only its hash is kept.
    pub token: String,
    /// The token as it will be listed.
    #[serde(flatten)]
    pub info: TokenView,
}

/// How precisely a token's last use is recorded.
const LAST_USE_RESOLUTION_MS: i64 = 60_000;

impl App {
    /// Creates an API token; the answer holds the secret, which is not kept.
    pub async fn create_token(&self, _: &Superadmin, input: NewToken) -> AppResult<CreatedToken> {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("name", "a token name has 1 to 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(AppError::invalid("name", "must not contain control characters"));
        }
        let role = Role::parse(&input.role).map_err(|e| AppError::invalid("role", e.message))?;
        let branches: Vec<String> =
            input.branches.iter().map(|b| b.trim().to_owned()).filter(|b| !b.is_empty()).collect();
        let mut tx = self.bookkeeping().await?;
        self.check_branch_codes(&mut tx, role, &branches).await?;
        let token = new_token();
        let id = roster_store::tokens::insert(&mut tx, name, &token_hash(&token), role.as_str(), &branches, self.now())
            .await
            .map_err(|e| match e {
                roster_store::StoreError::Conflict { .. } => {
                    AppError::conflict("name", format!("a token named \"{name}\" exists"))
                }
                other => other.into(),
            })?;
        let record = roster_store::tokens::get(&mut tx, id).await?.ok_or_else(|| AppError::invariant("token gone"))?;
        tx.commit().await?;
        Ok(CreatedToken { token, info: TokenView::of(record)? })
    }

    /// Checks the branches of a login or token: a training admin needs known ones, a
    /// superadmin none.
    pub(crate) async fn check_branch_codes(
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

    /// Every token, by name.
    pub async fn list_tokens(&self, _: &Superadmin) -> AppResult<Vec<TokenView>> {
        let mut conn = self.store.read().await?;
        roster_store::tokens::all(&mut conn).await?.into_iter().map(TokenView::of).collect()
    }

    /// Revokes a token by id: it stops working at once.
    pub async fn revoke_token(&self, _: &Superadmin, id: &str) -> AppResult<()> {
        let id = parse_id("token", id)?;
        let mut tx = self.bookkeeping().await?;
        if !roster_store::tokens::delete(&mut tx, id).await? {
            return Err(AppError::NotFound("token".into()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The id of the token named `name` (the command line names them).
    pub async fn token_named(&self, _: &Superadmin, name: &str) -> AppResult<String> {
        let mut conn = self.store.read().await?;
        let all = roster_store::tokens::all(&mut conn).await?;
        all.into_iter()
            .find(|t| t.name == name.trim())
            .map(|t| t.id.to_string())
            .ok_or_else(|| AppError::NotFound(format!("token \"{}\"", name.trim())))
    }

    /// The actor a bearer token stands for, or 401.
    pub async fn authenticate_token(&self, token: &str) -> AppResult<Actor> {
        if token.len() > 200 {
            return Err(AppError::Unauthorized);
        }
        let mut conn = self.store.read().await?;
        let record =
            roster_store::tokens::by_hash(&mut conn, &token_hash(token)).await?.ok_or(AppError::Unauthorized)?;
        drop(conn);
        // The last use is kept to the minute: a write per call would queue every call
        // behind the write gate.
        let now = self.now();
        if record.last_used_at.is_none_or(|t| now - t >= LAST_USE_RESOLUTION_MS) {
            let mut tx = self.bookkeeping().await?;
            roster_store::tokens::touch(&mut tx, record.id, now).await?;
            tx.commit().await?;
        }
        Ok(Actor {
            name: format!("token:{}", record.name),
            role: Role::parse(&record.role)?,
            branch_codes: record.branches,
        })
    }
}
