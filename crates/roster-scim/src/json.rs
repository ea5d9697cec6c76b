//! Small helpers over `serde_json` values: case-insensitive keys (SCIM attribute names are
//! case-insensitive) and what counts as an empty value.

use serde_json::{Map, Value};

use crate::error::ScimError;

/// Decodes a request body as JSON; anything else is 400 `invalidSyntax`.
pub fn decode_body(body: &[u8]) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

/// The value under `key`, matching the key case-insensitively (an exact match first).
pub(crate) fn get_ci<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    field_ci(object.as_object()?, key)
}

/// [`get_ci`] on a map.
pub(crate) fn field_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// The actual key spelling under which `key` is stored, case-insensitively.
pub(crate) fn key_ci(map: &Map<String, Value>, key: &str) -> Option<String> {
    if map.contains_key(key) {
        return Some(key.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Removes `key` (case-insensitively) and returns its value.
pub(crate) fn remove_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let actual = key_ci(map, key)?;
    map.remove(&actual)
}

/// Sets `key` (replacing any other spelling of it) to `value`; `null` removes it.
pub(crate) fn set_ci(map: &mut Map<String, Value>, key: &str, value: Value) {
    remove_ci(map, key);
    if !is_empty(&value) {
        map.insert(key.to_owned(), value);
    }
}

/// RFC 7643 §2.5: null, an empty string, an empty array or an object of empty values
/// are all "unassigned".
pub(crate) fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.iter().all(is_empty),
        Value::Object(map) => map.values().all(is_empty),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// The elements of a value: the items of an array, else the value itself.
pub(crate) fn elements(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_case_insensitively() {
        let v = json!({"userName": "a", "Emails": []});
        assert_eq!(get_ci(&v, "USERNAME"), Some(&json!("a")));
        assert_eq!(get_ci(&v, "emails"), Some(&json!([])));
        let mut map = v.as_object().cloned().unwrap();
        set_ci(&mut map, "username", json!("b"));
        assert_eq!(Value::Object(map.clone()), json!({"username": "b", "Emails": []}));
        set_ci(&mut map, "USERNAME", Value::Null);
        assert_eq!(Value::Object(map), json!({"Emails": []}));
    }

    #[test]
    fn bodies_that_are_not_json_are_invalid_syntax() {
        assert_eq!(decode_body(b"{\"a\": 1}").unwrap(), json!({"a": 1}));
        assert_eq!(decode_body(b"{").unwrap_err().scim_type(), Some(crate::ScimType::InvalidSyntax));
    }

    #[test]
    fn emptiness_follows_rfc_7643() {
        for v in [json!(null), json!(""), json!([]), json!({}), json!({"a": null}), json!([null, ""])] {
            assert!(is_empty(&v), "{v}");
        }
        for v in [json!(false), json!(0), json!("x"), json!([1]), json!({"a": 1})] {
            assert!(!is_empty(&v), "{v}");
        }
    }
}
