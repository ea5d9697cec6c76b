//! Who is calling, and what they may reach. Authorization is a type: a use case that
//! needs a superadmin takes a [`Superadmin`], which only [`Actor::superadmin`] makes;
//! a use case over users takes the [`Actor`] and narrows every query to its [`Scope`].

use argon2::Argon2;
use argon2::{PasswordHasher, PasswordVerifier};
use roster_domain::{BranchTree, DomainError};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

use crate::{AppError, AppResult};

/// What an administrator or token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Superadmin,
    /// Users in its branches (and below) and groups; not fields, tokens or admins.
    TrainingAdmin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Superadmin => "superadmin",
            Role::TrainingAdmin => "training_admin",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "superadmin" => Ok(Role::Superadmin),
            "training_admin" => Ok(Role::TrainingAdmin),
            other => {
                Err(DomainError::new("role", format!("\"{other}\" is not a role; use superadmin or training_admin")))
            }
        }
    }
}

/// Which users an actor reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every user.
    All,
    /// Users whose branch is one of these (the assigned branches and all below them).
    Branches(HashSet<i64>),
}

impl Scope {
    /// Whether a user in `branch_id` is reachable.
    pub fn contains(&self, branch_id: Option<i64>) -> bool {
        match self {
            Scope::All => true,
            Scope::Branches(ids) => branch_id.is_some_and(|b| ids.contains(&b)),
        }
    }

    /// The branch ids to filter a query by; `None` when unrestricted.
    pub fn branch_filter(&self) -> Option<Vec<i64>> {
        match self {
            Scope::All => None,
            Scope::Branches(ids) => {
                let mut v: Vec<i64> = ids.iter().copied().collect();
                v.sort_unstable();
                Some(v)
            }
        }
    }
}

/// An authenticated caller. Only the app makes one with a role and branches (from a
/// token or a login); outside it, only [`Actor::system`] — the operator at the command
/// line — can be made, so no HTTP code can hand a use case a caller it invented.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Who, for logs and membership events (`token:hr-sync`, `admin:alice`, `cli`).
    pub(crate) name: String,
    /// What they may do.
    pub(crate) role: Role,
    /// The branch codes a training admin was given.
    pub(crate) branch_codes: Vec<String>,
}

/// Proof that the caller is a superadmin, and who it is; the only way into
/// superadmin-only use cases (fields, branches, courses, admins, tokens).
#[derive(Debug, Clone)]
pub struct Superadmin(Actor);

impl Superadmin {
    /// The superadmin acting, for causes and logs.
    pub fn actor(&self) -> &Actor {
        &self.0
    }
}

impl Actor {
    /// The command line and the demo act as a superadmin named `actor`.
    pub fn system(name: &str) -> Self {
        Self { name: name.to_owned(), role: Role::Superadmin, branch_codes: vec![] }
    }

    /// Who, for logs and membership events (`token:hr-sync`, `admin:alice`, `cli`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What they may do.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The branch codes a training admin was given (none for a superadmin).
    pub fn branch_codes(&self) -> &[String] {
        &self.branch_codes
    }

    /// The superadmin capability, or 403.
    pub fn superadmin(&self) -> AppResult<Superadmin> {
        match self.role {
            Role::Superadmin => Ok(Superadmin(self.clone())),
            Role::TrainingAdmin => {
                Err(AppError::Forbidden("this needs a superadmin; a training admin may not do it".into()))
            }
        }
    }

    /// The users this actor reaches, resolved against the current org chart. Only
    /// [`crate::reach::Reach`] asks, so the scope is applied in one place.
    pub(crate) fn scope(&self, tree: &BranchTree) -> Scope {
        match self.role {
            Role::Superadmin => Scope::All,
            Role::TrainingAdmin => Scope::Branches(
                self.branch_codes.iter().filter_map(|c| tree.by_code(c)).flat_map(|b| tree.subtree(b.id)).collect(),
            ),
        }
    }
}

/// The SHA-256 of an API token, as stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random API token: `rst_` and 64 hex digits.
pub fn new_token() -> String {
    // The thread's generator is cryptographically secure, seeded from the OS.
    let bytes: [u8; 32] = rand::random();
    format!("rst_{}", hex::encode(bytes))
}

/// Hashes a password with argon2id and a random salt, on a blocking thread: argon2 is
/// slow on purpose, and must hold neither an async worker nor (callers see to it) the
/// write gate.
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password_now(&password))
        .await
        .map_err(|_| AppError::invalid("password", "cannot be hashed"))?
}

/// Whether `password` matches an argon2 `hash`, checked on a blocking thread.
pub async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || verify_password_now(&password, &hash)).await.unwrap_or(false)
}

/// [`hash_password`] on the calling thread, for callers that are on a blocking thread
/// already (an import hashes on every core).
pub(crate) fn hash_password_now(password: &str) -> AppResult<String> {
    // A random salt of the recommended length, from the OS.
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| AppError::invalid("password", "cannot be hashed"))
}

fn verify_password_now(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_domain::Branch;

    #[test]
    fn training_admin_scope_covers_the_subtree_only() {
        let tree = BranchTree::new(vec![
            Branch { id: 1, code: "EMEA".into(), name: "EMEA".into(), parent_id: None },
            Branch { id: 2, code: "FR".into(), name: "France".into(), parent_id: Some(1) },
            Branch { id: 3, code: "AMER".into(), name: "Americas".into(), parent_id: None },
        ]);
        let actor = Actor { name: "t".into(), role: Role::TrainingAdmin, branch_codes: vec!["emea".into()] };
        let scope = actor.scope(&tree);
        assert!(scope.contains(Some(2)));
        assert!(!scope.contains(Some(3)));
        assert!(!scope.contains(None));
        assert!(actor.superadmin().is_err());
        assert!(Actor::system("cli").superadmin().is_ok());
    }

    #[tokio::test]
    async fn passwords_verify_and_tokens_hash() {
        let h = hash_password("correct horse").await.unwrap();
        assert!(verify_password("correct horse", &h).await);
        assert!(!verify_password("wrong", &h).await);
        let t = new_token();
        assert!(t.starts_with("rst_") && t.len() == 68);
        assert_eq!(token_hash(&t), token_hash(&t));
        assert_ne!(token_hash(&t), token_hash("other"));
    }
}
