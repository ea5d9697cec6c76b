//! The store's error type.

/// What went wrong talking to the database. Only [`StoreError::Conflict`] and
/// [`StoreError::NotFound`] mean something to a client; the rest are logged as 500s.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; `field` names the input that collided.
    #[error("{field} is already taken")]
    Conflict {
        /// The input that must be unique (`username`, `code`, `name`).
        field: &'static str,
    },
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// The database URL or settings are wrong.
    #[error("{0}")]
    Config(String),
    /// A stored value could not be read back (a bug or a hand-edited database).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

/// Maps a unique index (as SQLite and PostgreSQL name it in their messages) to the input
/// it protects.
fn conflict_field(message: &str, constraint: Option<&str>) -> &'static str {
    let hay = constraint.unwrap_or(message);
    if hay.contains("username_key") {
        "username"
    } else if hay.contains("name_key") || hay.contains("api_tokens_name") || hay.contains("api_tokens.name") {
        "name"
    } else if hay.contains("code_key") {
        "code"
    } else {
        "id"
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict { field: conflict_field(db.message(), db.constraint()) }
            }
            _ => StoreError::Database(e),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
