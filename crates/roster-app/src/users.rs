//! Users: list, read, create, change, delete — always within the caller's scope.

use roster_domain::values::optional_text;
use roster_domain::{parse_language, parse_timezone, DomainError, Email, User, UserStatus, Username};
use roster_store::users::UserQuery;
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::reach::Reach;
use crate::transaction::LiveTx;
use crate::views::{List, UserView};
use crate::{auth, Actor, App, AppError, AppResult, Context, ListParams};

/// Longest password accepted (argon2 hashes anything; this bounds the work).
const MAX_PASSWORD: usize = 256;

/// A new user, as a client sends it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name, unique regardless of case.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// `active` (default) or `suspended`.
    #[serde(default)]
    pub status: Option<String>,
    /// Language tag (`en`, `pt-BR`).
    #[serde(default)]
    pub language: Option<String>,
    /// IANA time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Branch code.
    #[serde(default)]
    pub branch: Option<String>,
    /// A password for logging in (stored hashed), at least 8 characters.
    #[serde(default)]
    pub password: Option<String>,
    /// Additional field values keyed by field code (or name).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// A change to a user: absent properties stay as they are, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New login name; required, so `null` is refused (422).
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub username: Option<Option<String>>,
    /// New email address; required, so `null` is refused (422).
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Given name; `null` clears.
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    /// Family name; `null` clears.
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    /// `active` or `suspended`; `null` is refused (422).
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub status: Option<Option<String>>,
    /// Language tag; `null` clears.
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub language: Option<Option<String>>,
    /// Time zone; `null` clears.
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
    /// Branch code; `null` removes the user from its branch.
    #[serde(default, deserialize_with = "crate::ids::present")]
    #[schema(value_type = Option<String>)]
    pub branch: Option<Option<String>>,
    /// A new password.
    #[serde(default)]
    pub password: Option<String>,
    /// Field values to set, keyed by code; a `null` value clears that field. Fields not
    /// named keep their values.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub fields: Option<BTreeMap<String, serde_json::Value>>,
}

/// Filters of the users list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct UserFilter {
    /// Text searched in usernames, emails and names.
    pub q: Option<String>,
    /// An exact username.
    pub username: Option<String>,
    /// Only users of this branch (and below).
    pub branch: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
}

/// Checks and merges field values into `into`; `null` removes.
fn apply_fields(
    ctx: &Context,
    into: &mut BTreeMap<String, serde_json::Value>,
    values: &BTreeMap<String, serde_json::Value>,
) -> Result<(), DomainError> {
    for (key, raw) in values {
        let def = ctx
            .field(key)
            .or_else(|| ctx.fields.iter().find(|f| f.name.as_str().eq_ignore_ascii_case(key)))
            .ok_or_else(|| {
                DomainError::new(format!("fields.{key}"), format!("there is no additional field \"{key}\""))
            })?;
        match def.parse_json(raw)? {
            Some(v) => into.insert(def.code.to_string(), v.to_json()),
            None => into.remove(def.code.as_str()),
        };
    }
    Ok(())
}

pub(crate) fn check_password(password: &str) -> Result<(), DomainError> {
    let n = password.chars().count();
    if !(8..=MAX_PASSWORD).contains(&n) {
        return Err(DomainError::new("password", format!("must have 8 to {MAX_PASSWORD} characters")));
    }
    Ok(())
}

impl App {
    /// A page of the users the caller may see.
    pub async fn list_users(&self, actor: &Actor, filter: &UserFilter, page: &ListParams) -> AppResult<List<UserView>> {
        let (after, limit) = page.resolve()?;
        let mut conn = self.store.read().await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let query = Self::user_query(&reach, filter, after, limit)?;
        let page = roster_store::users::list(&mut conn, &query).await?;
        Ok(List::from_page(page, |u| UserView::new(u, &reach.ctx.tree)))
    }

    /// How many users the caller may see match `filter`, and the cursor at which page
    /// `page` (1-based) of `per_page` users starts (`None` for the first page or past the
    /// last): for a pager with a total and page numbers.
    pub async fn count_users(
        &self,
        actor: &Actor,
        filter: &UserFilter,
        page: u64,
        per_page: usize,
    ) -> AppResult<(u64, Option<String>)> {
        let mut conn = self.store.read().await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let query = Self::user_query(&reach, filter, None, per_page)?;
        let total = roster_store::users::count_matching(&mut conn, &query).await?;
        let cursor = match page.checked_sub(2) {
            Some(before) => {
                let last_of_previous = (before + 1) * per_page as u64 - 1;
                roster_store::users::id_at(&mut conn, &query, last_of_previous).await?.map(|id| id.to_string())
            }
            None => None,
        };
        Ok((u64::try_from(total).unwrap_or(0), cursor))
    }

    /// The store's query for `filter` within what the caller reaches.
    fn user_query(reach: &Reach, filter: &UserFilter, after: Option<i64>, limit: usize) -> AppResult<UserQuery> {
        let ctx = &reach.ctx;
        let mut branch_ids = reach.branch_filter();
        if let Some(code) = filter.branch.as_deref().filter(|c| !c.is_empty()) {
            let b = ctx
                .tree
                .by_code(code)
                .ok_or_else(|| AppError::bad_request("branch", format!("no branch has the code \"{code}\"")))?;
            let sub = ctx.tree.subtree(b.id);
            branch_ids = Some(match branch_ids {
                None => sub.into_iter().collect(),
                Some(ids) => ids.into_iter().filter(|id| sub.contains(id)).collect(),
            });
        }
        let status = filter
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| UserStatus::parse("status", s))
            .transpose()
            .map_err(|e| AppError::bad_request("status", e.message))?;

        Ok(UserQuery {
            q: crate::ids::search_text("q", filter.q.as_deref())?,
            username: crate::ids::search_text("username", filter.username.as_deref())?,
            branch_ids,
            status,
            after,
            limit,
        })
    }

    /// One user the caller may see.
    pub async fn get_user(&self, actor: &Actor, id: &str) -> AppResult<UserView> {
        let id = crate::parse_id("user", id)?;
        let mut conn = self.store.read().await?;
        let reach = Reach::of(&mut conn, actor).await?;
        let user = reach.user(&mut conn, id).await?;
        Ok(UserView::new(user, &reach.ctx.tree))
    }

    /// Creates a user.
    pub async fn create_user(&self, actor: &Actor, input: NewUser) -> AppResult<UserView> {
        let hash = password_hash(input.password.as_deref()).await?;
        let mut tx = self.begin().await?;
        let reach = Reach::within(tx.context().await?, actor);
        let user = self.insert_user(&mut tx, actor, &reach, input, hash.as_deref()).await?;
        tx.commit().await?;
        Ok(UserView::new(user, &reach.ctx.tree))
    }

    /// Creates a user inside the caller's transaction: validation, the row, its password
    /// and its automatic memberships. Every way of creating a user goes through here.
    pub(crate) async fn insert_user(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        reach: &Reach,
        input: NewUser,
        password_hash: Option<&str>,
    ) -> AppResult<User> {
        let now = self.now();
        let mut user = User {
            id: 0,
            username: Username::parse("username", &input.username)?,
            email: Email::parse("email", &input.email)?,
            first_name: optional_text("first_name", input.first_name.as_deref(), 100)?,
            last_name: optional_text("last_name", input.last_name.as_deref(), 100)?,
            status: match input.status.as_deref() {
                None => UserStatus::Active,
                Some(s) => UserStatus::parse("status", s)?,
            },
            language: parse_language("language", input.language.as_deref())?,
            timezone: parse_timezone("timezone", input.timezone.as_deref())?,
            branch_id: None,
            created_at: now,
            updated_at: now,
            last_login_at: None,
            fields: BTreeMap::new(),
        };
        apply_fields(&reach.ctx, &mut user.fields, &input.fields)?;
        user.branch_id = reach.place(input.branch.as_deref())?;
        let cause = self.cause(actor, "user created");
        tx.insert_user(&mut user, password_hash, &reach.ctx.fields, &cause).await?;
        Ok(user)
    }

    /// Changes a user the caller may see.
    pub async fn update_user(&self, actor: &Actor, id: &str, patch: UserPatch) -> AppResult<UserView> {
        let id = crate::parse_id("user", id)?;
        let hash = password_hash(patch.password.as_deref()).await?;
        let mut tx = self.begin().await?;
        let reach = Reach::within(tx.context().await?, actor);
        let user = self.change_user(&mut tx, actor, &reach, id, patch, hash.as_deref()).await?;
        tx.commit().await?;
        Ok(UserView::new(user, &reach.ctx.tree))
    }

    /// Changes a user inside the caller's transaction; its automatic memberships follow.
    /// Every way of changing a user goes through here.
    pub(crate) async fn change_user(
        &self,
        tx: &mut LiveTx,
        actor: &Actor,
        reach: &Reach,
        id: i64,
        patch: UserPatch,
        password_hash: Option<&str>,
    ) -> AppResult<User> {
        let mut user = reach.user(tx.read(), id).await?;
        if let Some(u) = &patch.username {
            user.username = Username::parse("username", required("username", u)?)?;
        }
        if let Some(e) = &patch.email {
            user.email = Email::parse("email", required("email", e)?)?;
        }
        if let Some(v) = &patch.first_name {
            user.first_name = optional_text("first_name", v.as_deref(), 100)?;
        }
        if let Some(v) = &patch.last_name {
            user.last_name = optional_text("last_name", v.as_deref(), 100)?;
        }
        if let Some(s) = &patch.status {
            user.status = UserStatus::parse("status", required("status", s)?)?;
        }
        if let Some(v) = &patch.language {
            user.language = parse_language("language", v.as_deref())?;
        }
        if let Some(v) = &patch.timezone {
            user.timezone = parse_timezone("timezone", v.as_deref())?;
        }
        if let Some(b) = &patch.branch {
            user.branch_id = reach.place(b.as_deref())?;
        }
        if let Some(values) = &patch.fields {
            apply_fields(&reach.ctx, &mut user.fields, values)?;
        }
        user.updated_at = self.now();
        let cause = self.cause(actor, "user changed");
        tx.update_user(&user, password_hash, &reach.ctx.fields, &cause).await?;
        Ok(user)
    }

    /// Deletes a user the caller may see.
    pub async fn delete_user(&self, actor: &Actor, id: &str) -> AppResult<()> {
        let id = crate::parse_id("user", id)?;
        let mut tx = self.begin().await?;
        let reach = Reach::of(tx.read(), actor).await?;
        self.remove_user(&mut tx, actor, &reach, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user inside the caller's transaction, ending its memberships.
    pub(crate) async fn remove_user(&self, tx: &mut LiveTx, actor: &Actor, reach: &Reach, id: i64) -> AppResult<()> {
        reach.user(tx.read(), id).await?;
        // The memberships go with the user; their history says so.
        tx.delete_user(id, &self.cause(actor, "user deleted")).await?;
        Ok(())
    }
}

/// Checks and hashes a new password before the write transaction opens: argon2 is slow
/// on purpose, and must never hold the write gate.
async fn password_hash(password: Option<&str>) -> AppResult<Option<String>> {
    match password {
        Some(p) => {
            check_password(p)?;
            Ok(Some(auth::hash_password(p).await?))
        }
        None => Ok(None),
    }
}

/// A required standard field in a patch: `null` cannot clear it.
fn required<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, DomainError> {
    value.as_deref().ok_or_else(|| {
        DomainError::new(field, "is required and cannot be cleared: leave it out to keep the current value")
    })
}
