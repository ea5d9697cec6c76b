//! [`RuleError`]: why a rule was refused, and where.

use std::fmt;

/// Where in a rule an error lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A position in the text form, both 1-based; the column counts characters.
    Text {
        /// The line, from 1.
        line: usize,
        /// The character on that line, from 1.
        column: usize,
    },
    /// A place in a JSON tree: the index of each `and`/`or` member on the way down from
    /// the root (a `not` adds no step). `[1, 0]` is "condition 1 of set 2".
    Tree {
        /// Indices from the root, 0-based.
        path: Vec<usize>,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text { line, column } => write!(f, "line {line}, column {column}"),
            Self::Tree { path } => {
                let mut steps = path.iter().rev();
                if let Some(last) = steps.next() {
                    write!(f, "condition {}", last + 1)?;
                }
                steps.try_for_each(|i| write!(f, " of set {}", i + 1))
            }
        }
    }
}

/// Why a rule was refused: a sentence a training administrator understands, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// What is wrong (`unknown field "Departmnet" — did you mean "Department"?`).
    pub message: String,
    /// Where it is wrong; `None` when it concerns the whole rule or the root.
    pub location: Option<Location>,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(Location::Tree { path }) if path.is_empty() => f.write_str(&self.message),
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl RuleError {
    /// An error about the whole rule.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), location: None }
    }

    /// An error at byte `offset` of `text`.
    pub fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            message: message.into(),
            location: Some(Location::Text {
                line: before.matches('\n').count() + 1,
                column: before[line_start..].chars().count() + 1,
            }),
        }
    }

    /// An error at `path` in a tree (see [`Location::Tree`]).
    pub fn in_tree(path: &[usize], message: impl Into<String>) -> Self {
        Self { message: message.into(), location: Some(Location::Tree { path: path.to_vec() }) }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    #[test]
    fn text_positions_are_one_based_and_count_characters() {
        let text = "email = \"é\"\nand  status";
        let err = RuleError::at(text, text.find("status").unwrap(), "x");
        assert_eq!(err.location, Some(Location::Text { line: 2, column: 6 }));
        assert_eq!(err.to_string(), "line 2, column 6: x");
        let err = RuleError::at(text, text.find('\n').unwrap(), "x");
        assert_eq!(err.location, Some(Location::Text { line: 1, column: 12 }));
    }

    #[test]
    fn tree_paths_read_as_conditions_of_sets() {
        assert_eq!(RuleError::in_tree(&[0, 1], "bad").to_string(), "condition 2 of set 1: bad");
        assert_eq!(RuleError::in_tree(&[2, 0, 3], "bad").to_string(), "condition 4 of set 1 of set 3: bad");
        assert_eq!(RuleError::in_tree(&[], "bad").to_string(), "bad");
    }
}
