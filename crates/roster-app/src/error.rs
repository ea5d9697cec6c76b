//! The application layer's error: what a use case refuses, in terms a client can act on.
//! The web layer maps each variant to one HTTP status in one place.

use roster_domain::DomainError;
use roster_store::StoreError;

/// Why a use case did not happen. Nothing in a message comes from the database or the OS.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is malformed (400): wrong shape, unknown property, bad paging.
    #[error("{message}")]
    BadRequest {
        /// The input at fault, when one is.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The input is well-formed but refused by a rule of the domain (422).
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// A rule that does not parse or check (422), with where it is wrong.
    #[error("{error}")]
    Rule {
        /// The input the rule came in (`text`, `tree`, `sets`).
        field: String,
        /// What is wrong, and where.
        error: roster_domain::rule::RuleError,
    },
    /// No valid credentials (401).
    #[error("a valid API token is required")]
    Unauthorized,
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or is outside the caller's scope (404).
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness or state conflict (409).
    #[error("{message}")]
    Conflict {
        /// The input that collided.
        field: Option<String>,
        /// What collided.
        message: String,
    },
    /// What the caller asks for is no longer kept (410): a change feed cursor older
    /// than the feed's retention. The message says what to do instead.
    #[error("{0}")]
    Gone(String),
    /// The upload is over its size limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// A failure of ours; logged, reported as 500 without detail.
    #[error("internal error")]
    Internal(#[source] Internal),
}

/// What failed on our side, by where: what the log says of a 500.
#[derive(Debug, thiserror::Error)]
pub enum Internal {
    /// The database.
    #[error("store: {0}")]
    Store(#[source] StoreError),
    /// The membership engine refused what the app asked of it.
    #[error("membership engine: {0}")]
    Engine(String),
    /// Serializing something we built ourselves.
    #[error("encoding: {0}")]
    Encoding(#[source] serde_json::Error),
    /// A file or thread of ours.
    #[error("I/O: {0}")]
    Io(#[source] std::io::Error),
    /// Something that must hold did not (the image out of step with the database...).
    #[error("invariant: {0}")]
    Invariant(String),
}

impl AppError {
    /// A 400 naming `field`.
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest { field: Some(field.into()), message: message.into() }
    }

    /// A 422 naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(DomainError::new(field, message))
    }

    /// A 500 for serializing what we built ourselves: a bug.
    pub fn encoding(e: serde_json::Error) -> Self {
        Self::Internal(Internal::Encoding(e))
    }

    /// A 500 for a file or thread of ours.
    pub fn io(e: std::io::Error) -> Self {
        Self::Internal(Internal::Io(e))
    }

    /// A 500 for something that must hold and did not.
    pub fn invariant(message: impl Into<String>) -> Self {
        Self::Internal(Internal::Invariant(message.into()))
    }

    /// A 409 naming `field`.
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict { field: Some(field.into()), message: message.into() }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { field } => AppError::conflict(field, format!("this {field} is already taken")),
            StoreError::NotFound => AppError::NotFound("the resource".into()),
            other => AppError::Internal(Internal::Store(other)),
        }
    }
}

/// The result of a use case.
pub type AppResult<T> = Result<T, AppError>;
