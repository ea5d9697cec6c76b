//! What Roster's test suites share, so that each does not carry its own copy: a fresh
//! PostgreSQL database per test, on the server `ROSTER_TEST_POSTGRES_URL` names, dropped
//! at the end. A dev-dependency only: no product crate may use it (the architecture
//! test says so).
//!
//! Without `ROSTER_TEST_POSTGRES_URL` the PostgreSQL half of a test is skipped, except
//! under CI (`CI` set), where a skipped PostgreSQL test would be a false green: there it
//! panics.

use roster_store::Store;

/// The PostgreSQL server to test against, if any; panics under CI when there is none.
pub fn postgres_url() -> Option<String> {
    match std::env::var("ROSTER_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(std::env::var("CI").is_err(), "CI must set ROSTER_TEST_POSTGRES_URL");
            None
        }
    }
}

/// `url` with its database replaced by `name` (any query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let root = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
        _ => base,
    };
    query.map_or_else(|| format!("{root}/{name}"), |q| format!("{root}/{name}?{q}"))
}

/// A new, empty PostgreSQL database for one test; [`FreshPostgres::drop_database`] ends it.
#[derive(Debug)]
pub struct FreshPostgres {
    /// The new database's URL.
    pub url: String,
    admin: Store,
    name: String,
}

impl FreshPostgres {
    /// Creates a database named after `prefix` and a random number; `None` when
    /// PostgreSQL tests are off (never under CI).
    pub async fn create(prefix: &str) -> Option<Self> {
        let admin_url = postgres_url()?;
        let name = format!("{prefix}_{}", rand::random::<u64>());
        let admin = Store::connect(&admin_url).await.unwrap_or_else(|e| panic!("PostgreSQL at {admin_url}: {e}"));
        Self::run(&admin, &format!("CREATE DATABASE {name}")).await;
        Some(Self { url: with_database(&admin_url, &name), admin, name })
    }

    /// Drops the database, whoever is still connected to it.
    pub async fn drop_database(self) {
        Self::run(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await;
        self.admin.close().await;
    }

    async fn run(admin: &Store, sql: &str) {
        let mut conn = admin.read().await.unwrap_or_else(|e| panic!("a connection for {sql}: {e}"));
        roster_store::execute_raw(&mut conn, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/test?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
