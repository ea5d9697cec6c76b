//! The one error type of the domain layer: a refusal of a value, naming the field.

/// Why a value was refused. `field` names the input that was wrong, as the API calls it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    /// The input that was wrong (`email`, `fields.hire_date`, `code`...).
    pub field: String,
    /// A sentence a training administrator understands.
    pub message: String,
}

impl DomainError {
    /// A refusal of `field` with `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same refusal, reported under another input name (a prefix such as `fields.`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() { prefix.to_owned() } else { format!("{prefix}.{}", self.field) };
        self
    }
}
