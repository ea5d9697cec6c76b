//! Additional fields: their types, and how a raw value is checked against one.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Code, DomainError, Name};

/// The type of an additional field; it decides which values and rule operators fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text.
    Text,
    /// A decimal number.
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of a fixed list of options.
    Dropdown,
    /// Yes or no.
    YesNo,
}

impl FieldType {
    /// The name used in the API and the rule language's messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::Dropdown => "dropdown",
            Self::YesNo => "yes_no",
        }
    }

    /// Parses the API name of a type.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        Ok(match raw {
            "text" => Self::Text,
            "number" => Self::Number,
            "date" => Self::Date,
            "dropdown" => Self::Dropdown,
            "yes_no" => Self::YesNo,
            other => {
                return Err(DomainError::new(
                    field,
                    format!("unknown field type \"{other}\"; use text, number, date, dropdown or yes_no"),
                ))
            }
        })
    }
}

/// The longest text value an additional field holds.
pub const MAX_TEXT_VALUE: usize = 1000;
/// The most options a dropdown field may have.
pub const MAX_OPTIONS: usize = 500;

/// An additional field's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The stable slug that keys values (`department`).
    pub code: Code,
    /// The label shown to people (`Department`).
    pub name: Name,
    /// What values it takes.
    pub field_type: FieldType,
    /// The allowed values of a dropdown, in display order; empty for other types.
    pub options: Vec<String>,
}

/// A value of an additional field, already checked against its type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A yes_no value.
    YesNo(bool),
    /// A number value.
    Number(f64),
    /// A date value.
    Date(NaiveDate),
    /// A text or dropdown value (a dropdown's in the option's own spelling).
    Text(String),
}

impl FieldValue {
    /// The JSON form stored in the database and returned by the API.
    pub fn to_json(&self) -> Value {
        match self {
            Self::YesNo(b) => Value::Bool(*b),
            // Whole numbers are stored as integers, so 34 reads back as 34, not 34.0.
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Value::from(*n as i64),
            Self::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            // `Display` writes what `%Y-%m-%d` does, without reading a format each time.
            Self::Date(d) => Value::String(d.to_string()),
            Self::Text(s) => Value::String(s.clone()),
        }
    }

    /// The value as a person reads it (CSV cells, explanations).
    pub fn display(&self) -> String {
        match self {
            Self::YesNo(true) => "yes".into(),
            Self::YesNo(false) => "no".into(),
            Self::Number(n) => format_number(*n),
            Self::Date(d) => d.to_string(),
            Self::Text(s) => s.clone(),
        }
    }
}

/// A number without a trailing `.0` when it is whole.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Parses a strict ISO date, refusing days that do not exist (2023-02-30).
pub fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

impl FieldDef {
    /// Checks the definition itself: a dropdown needs distinct, non-empty options.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.field_type == FieldType::Dropdown {
            if self.options.is_empty() {
                return Err(DomainError::new("options", "a dropdown field needs at least one option"));
            }
            if self.options.len() > MAX_OPTIONS {
                return Err(DomainError::new("options", format!("at most {MAX_OPTIONS} options")));
            }
            let mut seen = std::collections::HashSet::new();
            for (i, o) in self.options.iter().enumerate() {
                let t = o.trim();
                if t.is_empty() || t.chars().count() > 200 {
                    return Err(DomainError::new(format!("options[{i}]"), "an option must have 1 to 200 characters"));
                }
                if !seen.insert(t.to_lowercase()) {
                    return Err(DomainError::new(format!("options[{i}]"), format!("duplicate option \"{t}\"")));
                }
            }
        } else if !self.options.is_empty() {
            return Err(DomainError::new("options", "only dropdown fields have options"));
        }
        Ok(())
    }

    /// Checks a JSON value against this field; `null` (or an empty string) clears it.
    /// Errors name `fields.CODE`.
    pub fn parse_json(&self, raw: &Value) -> Result<Option<FieldValue>, DomainError> {
        let field = format!("fields.{}", self.code);
        match raw {
            Value::Null => Ok(None),
            Value::String(s) => self.parse_text(&field, s),
            Value::Bool(b) if self.field_type == FieldType::YesNo => Ok(Some(FieldValue::YesNo(*b))),
            Value::Number(n) if self.field_type == FieldType::Number => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| Some(FieldValue::Number(f)))
                .ok_or_else(|| DomainError::new(field, "is not a finite number")),
            _ => Err(DomainError::new(field, format!("expects a {} value", self.field_type.as_str()))),
        }
    }

    /// Checks a value given as text (an API string, a CSV cell) against this field.
    pub fn parse_text(&self, field: &str, raw: &str) -> Result<Option<FieldValue>, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let value = match self.field_type {
            FieldType::Text => {
                if s.chars().count() > MAX_TEXT_VALUE {
                    return Err(DomainError::new(field, format!("must be at most {MAX_TEXT_VALUE} characters")));
                }
                crate::values::refuse_hidden(field, s, &['\n', '\r', '\t'])?;
                FieldValue::Text(s.to_owned())
            }
            FieldType::Number => {
                let n: f64 = s
                    .parse()
                    .ok()
                    .filter(|f: &f64| f.is_finite())
                    .ok_or_else(|| DomainError::new(field, format!("\"{s}\" is not a number")))?;
                FieldValue::Number(n)
            }
            FieldType::Date => FieldValue::Date(
                parse_iso_date(s)
                    .ok_or_else(|| DomainError::new(field, format!("\"{s}\" is not a valid date (YYYY-MM-DD)")))?,
            ),
            FieldType::Dropdown => {
                let option = self
                    .options
                    .iter()
                    .find(|o| o.eq_ignore_ascii_case(s) || o.to_lowercase() == s.to_lowercase())
                    .ok_or_else(|| {
                        DomainError::new(
                            field,
                            format!("\"{s}\" is not one of the options: {}", self.options.join(", ")),
                        )
                    })?;
                FieldValue::Text(option.clone())
            }
            FieldType::YesNo => FieldValue::YesNo(
                parse_yes_no(s).ok_or_else(|| DomainError::new(field, format!("\"{s}\" is not yes or no")))?,
            ),
        };
        Ok(Some(value))
    }

    /// Reads a value stored by [`FieldValue::to_json`]; `None` when it no longer fits
    /// the field (which validation on write prevents).
    pub fn from_stored(&self, raw: &Value) -> Option<FieldValue> {
        match (self.field_type, raw) {
            (FieldType::YesNo, Value::Bool(b)) => Some(FieldValue::YesNo(*b)),
            (FieldType::Number, Value::Number(n)) => n.as_f64().map(FieldValue::Number),
            (FieldType::Date, Value::String(s)) => parse_iso_date(s).map(FieldValue::Date),
            (FieldType::Text | FieldType::Dropdown, Value::String(s)) => Some(FieldValue::Text(s.clone())),
            _ => None,
        }
    }
}

/// Reads yes/no as people write it: yes, no, true, false, y, n, 1, 0 (any case).
pub fn parse_yes_no(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Some(true),
        "no" | "n" | "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_date_is_written_as_its_iso_format_says() {
        let dates = [(2024, 2, 29), (1, 1, 1), (999, 12, 31), (9999, 12, 31), (10000, 1, 1), (0, 1, 1), (-44, 3, 15)];
        for (y, m, d) in dates {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let iso = date.format("%Y-%m-%d").to_string();
            assert_eq!(FieldValue::Date(date).display(), iso);
            assert_eq!(FieldValue::Date(date).to_json(), Value::String(iso));
        }
    }

    fn def(t: FieldType, options: &[&str]) -> FieldDef {
        FieldDef {
            code: Code::parse("code", "f").unwrap(),
            name: Name::parse("name", "F").unwrap(),
            field_type: t,
            options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn dates_must_exist() {
        let d = def(FieldType::Date, &[]);
        assert!(d.parse_json(&json!("2024-02-29")).unwrap().is_some());
        let err = d.parse_json(&json!("2023-02-30")).unwrap_err();
        assert_eq!(err.field, "fields.f");
        assert!(d.parse_json(&json!("31/01/2024")).is_err());
    }

    #[test]
    fn dropdown_takes_an_option_in_any_case_and_stores_its_spelling() {
        let d = def(FieldType::Dropdown, &["Sales", "Marketing"]);
        assert_eq!(d.parse_json(&json!("sales")).unwrap(), Some(FieldValue::Text("Sales".into())));
        assert!(d.parse_json(&json!("Legal")).unwrap_err().message.contains("Sales, Marketing"));
    }

    #[test]
    fn numbers_and_yes_no() {
        let n = def(FieldType::Number, &[]);
        assert_eq!(n.parse_json(&json!(3.5)).unwrap(), Some(FieldValue::Number(3.5)));
        assert_eq!(n.parse_json(&json!("42")).unwrap(), Some(FieldValue::Number(42.0)));
        assert!(n.parse_json(&json!("forty")).is_err());
        assert!(n.parse_json(&json!(true)).is_err());
        let y = def(FieldType::YesNo, &[]);
        assert_eq!(y.parse_json(&json!("No")).unwrap(), Some(FieldValue::YesNo(false)));
        assert_eq!(y.parse_json(&json!(true)).unwrap(), Some(FieldValue::YesNo(true)));
        assert!(y.parse_json(&json!("maybe")).is_err());
    }

    #[test]
    fn null_and_blank_clear() {
        let t = def(FieldType::Text, &[]);
        assert_eq!(t.parse_json(&Value::Null).unwrap(), None);
        assert_eq!(t.parse_json(&json!("  ")).unwrap(), None);
    }

    #[test]
    fn stored_values_round_trip() {
        for (t, v) in [
            (FieldType::Date, json!("2024-01-31")),
            (FieldType::Number, json!(7.0)),
            (FieldType::YesNo, json!(true)),
            (FieldType::Text, json!("x")),
        ] {
            let d = def(t, &[]);
            let parsed = d.parse_json(&v).unwrap().unwrap();
            assert_eq!(d.from_stored(&parsed.to_json()), Some(parsed));
        }
    }
}
