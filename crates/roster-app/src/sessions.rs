//! Browser sessions of the admin UI: log in with a username and password, find the
//! session a cookie names, log out. Sessions live in the database (only a hash of their
//! id), so every server process sharing it knows them. Failed logins are counted per
//! username and client address in the database too, and too many lock that pair out
//! for a while.

use tokio::sync::OnceCell;

use crate::auth::{hash_password, token_hash, verify_password};
use crate::{Actor, App, AppError, AppResult, Role};

/// How long a session lasts after logging in.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;
/// Failed logins allowed per username and client address within [`THROTTLE_WINDOW_MS`].
pub const MAX_FAILED_LOGINS: i64 = 5;
/// The window failed logins are counted in; a locked-out pair waits until it closes.
pub const THROTTLE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Longest session id accepted from a cookie (ours have 64 characters).
const MAX_SESSION_ID: usize = 128;
/// Longest username or password looked at (argon2 hashes anything; this bounds the work).
const MAX_CREDENTIAL: usize = 256;

/// A logged-in administrator's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who is acting.
    pub actor: Actor,
    /// The token every state-changing request of this session must carry.
    pub csrf_token: String,
    /// When the session ends, epoch milliseconds.
    pub expires_at: i64,
}

/// What an attempt to log in came to.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// Logged in: `id` is the secret for the cookie (only its hash is stored).
    LoggedIn {
        /// The session id, to hand to the browser.
        id: String,
        /// The session.
        session: Session,
    },
    /// The username or the password is wrong (which one is not said).
    Refused,
    /// Too many failed attempts for this username from this address.
    Throttled {
        /// Whole seconds until another attempt is looked at.
        retry_after_secs: i64,
    },
}

/// 32 random bytes as 64 hex digits.
fn secret() -> String {
    // The thread's generator is cryptographically secure, seeded from the OS.
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Spends the time checking a password takes, for a username no admin has: a refusal
/// then takes as long whether the username exists or not.
async fn as_long_as_a_check(password: &str) {
    static UNUSED: OnceCell<String> = OnceCell::const_new();
    let hash =
        UNUSED.get_or_init(|| async { hash_password("no admin has this password").await.unwrap_or_default() }).await;
    verify_password(password, hash).await;
}

/// The throttling key of a username and a client address (hashed: neither is kept).
fn throttle_key(username: &str, client: &str) -> String {
    token_hash(&format!("{}\n{client}", roster_domain::Username::fold(username)))
}

impl App {
    /// Logs an administrator in from `client` (an IP address): checks the throttle,
    /// then the password; a failure counts against the pair, a success clears it.
    pub async fn log_in(&self, username: &str, password: &str, client: &str) -> AppResult<LoginOutcome> {
        if username.chars().count() > MAX_CREDENTIAL || password.chars().count() > MAX_CREDENTIAL {
            return Ok(LoginOutcome::Refused);
        }
        let key = throttle_key(username, client);
        let now = self.now();
        let mut conn = self.store.read().await?;
        if let Some((failures, window_start)) = roster_store::sessions::failures(&mut conn, &key).await? {
            let closes = window_start + THROTTLE_WINDOW_MS;
            if failures >= MAX_FAILED_LOGINS && closes > now {
                return Ok(LoginOutcome::Throttled { retry_after_secs: (closes - now + 999) / 1000 });
            }
        }
        drop(conn);
        let actor = match self.authenticate_admin(username.trim(), password).await {
            Ok(actor) => actor,
            Err(AppError::Unauthorized) => {
                let mut conn = self.store.read().await?;
                let unknown = roster_store::admins::by_username(&mut conn, username.trim()).await?.is_none();
                drop(conn);
                if unknown {
                    as_long_as_a_check(password).await;
                }
                let mut tx = self.bookkeeping().await?;
                roster_store::sessions::record_failure(&mut tx, &key, now, THROTTLE_WINDOW_MS).await?;
                tx.commit().await?;
                return Ok(LoginOutcome::Refused);
            }
            Err(other) => return Err(other),
        };
        let mut tx = self.bookkeeping().await?;
        let admin = roster_store::admins::by_username(&mut tx, username.trim()).await?.ok_or(AppError::Unauthorized)?;
        let (id, csrf_token, expires_at) = (secret(), secret(), now + SESSION_TTL_MS);
        roster_store::sessions::insert(&mut tx, &token_hash(&id), admin.id, &csrf_token, now, expires_at).await?;
        roster_store::sessions::clear_failures(&mut tx, &key).await?;
        roster_store::admins::touch_login(&mut tx, admin.id, now).await?;
        // Housekeeping rides along with logins: nothing else needs to run on a timer.
        roster_store::sessions::delete_expired(&mut tx, now).await?;
        roster_store::sessions::delete_stale_failures(&mut tx, now - THROTTLE_WINDOW_MS).await?;
        tx.commit().await?;
        Ok(LoginOutcome::LoggedIn { id, session: Session { actor, csrf_token, expires_at } })
    }

    /// The live session a cookie's id names, with its admin as they are now.
    pub async fn session(&self, id: &str) -> AppResult<Option<Session>> {
        if id.is_empty() || id.len() > MAX_SESSION_ID {
            return Ok(None);
        }
        let mut conn = self.store.read().await?;
        let Some(record) = roster_store::sessions::live(&mut conn, &token_hash(id), self.now()).await? else {
            return Ok(None);
        };
        Ok(Some(Session {
            actor: Actor {
                name: format!("admin:{}", record.username),
                role: Role::parse(&record.role)?,
                branch_codes: record.branches,
            },
            csrf_token: record.csrf_token,
            expires_at: record.expires_at,
        }))
    }

    /// Ends the session a cookie's id names (nothing happens if there is none).
    pub async fn log_out(&self, id: &str) -> AppResult<()> {
        if id.is_empty() || id.len() > MAX_SESSION_ID {
            return Ok(());
        }
        let mut tx = self.bookkeeping().await?;
        roster_store::sessions::delete(&mut tx, &token_hash(id)).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admins::NewAdmin;
    use crate::{ManualClock, Settings};
    use std::sync::Arc;

    async fn app() -> (App, ManualClock, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            roster_store::Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display())).await.unwrap();
        store.migrate(0).await.unwrap();
        let clock = ManualClock::new(1_000_000);
        let app = App::new(store, Arc::new(clock.clone()), Settings::default());
        let system = Actor::system("test");
        let alice = NewAdmin {
            username: "alice".into(),
            password: "correct horse battery".into(),
            role: "superadmin".into(),
            branches: vec![],
        };
        app.create_admin(&system.superadmin().unwrap(), alice).await.unwrap();
        (app, clock, dir)
    }

    #[tokio::test]
    async fn a_session_lives_until_it_expires_or_logs_out() {
        let (app, clock, _dir) = app().await;
        let LoginOutcome::LoggedIn { id, session } =
            app.log_in("Alice", "correct horse battery", "10.0.0.1").await.unwrap()
        else {
            panic!("login refused")
        };
        assert_eq!(session.actor.name, "admin:alice");
        let found = app.session(&id).await.unwrap().unwrap();
        assert_eq!(found.csrf_token, session.csrf_token);
        assert!(app.session("not-a-session").await.unwrap().is_none());
        clock.advance(SESSION_TTL_MS);
        assert!(app.session(&id).await.unwrap().is_none(), "expired");
        let LoginOutcome::LoggedIn { id, .. } = app.log_in("alice", "correct horse battery", "10.0.0.1").await.unwrap()
        else {
            panic!("login refused")
        };
        app.log_out(&id).await.unwrap();
        assert!(app.session(&id).await.unwrap().is_none(), "logged out");
    }

    #[tokio::test]
    async fn failed_logins_lock_out_one_username_and_address_for_a_while() {
        let (app, clock, _dir) = app().await;
        for _ in 0..MAX_FAILED_LOGINS {
            assert!(matches!(app.log_in("alice", "wrong", "10.0.0.1").await.unwrap(), LoginOutcome::Refused));
        }
        let throttled = app.log_in("alice", "correct horse battery", "10.0.0.1").await.unwrap();
        assert!(matches!(throttled, LoginOutcome::Throttled { retry_after_secs } if retry_after_secs == 900));
        // Another address is not locked out.
        assert!(matches!(
            app.log_in("alice", "correct horse battery", "10.0.0.2").await.unwrap(),
            LoginOutcome::LoggedIn { .. }
        ));
        clock.advance(THROTTLE_WINDOW_MS);
        assert!(matches!(
            app.log_in("alice", "correct horse battery", "10.0.0.1").await.unwrap(),
            LoginOutcome::LoggedIn { .. }
        ));
    }
}
