//! Listing (RFC 7644 §3.4.2): query parameters (filter, sort, pagination, projection) and
//! the ListResponse message.
//!
//! Pagination follows §3.4.2.4: `startIndex` is 1-based and values below 1 mean 1;
//! a negative `count` means 0; a `count` above the maximum is clamped to it; no `count`
//! means the maximum. Resources without a value for `sortBy` sort last in either order.

use std::cmp::Ordering;
use std::num::IntErrorKind;

use serde_json::{json, Value};

use crate::error::ScimError;
use crate::filter::eval::{comparable, order, values_at};
use crate::filter::{AttrPath, Filter};
use crate::json::{elements, get_ci, is_empty};
use crate::projection::Projection;
use crate::schema::ResourceType;
use crate::urn;

/// A page of results: where it starts and how many it holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The 1-based index of the first result.
    pub start_index: u64,
    /// The most results returned.
    pub count: u64,
}

impl Page {
    /// Parses `startIndex` and `count` query parameters with RFC clamping. A value that
    /// is not an integer is 400 `invalidValue`.
    pub fn parse(start_index: Option<&str>, count: Option<&str>, max_results: usize) -> Result<Self, ScimError> {
        let start_index = start_index.map(|s| integer("startIndex", s)).transpose()?;
        let count = count.map(|s| integer("count", s)).transpose()?;
        Ok(Self::from_numbers(start_index, count, max_results))
    }

    /// The page for given numbers, clamped as the RFC says.
    pub fn from_numbers(start_index: Option<i64>, count: Option<i64>, max_results: usize) -> Self {
        let max = u64::try_from(max_results).unwrap_or(u64::MAX);
        Self {
            start_index: start_index.map_or(1, |s| u64::try_from(s).unwrap_or(0).max(1)),
            count: count.map_or(max, |c| u64::try_from(c).unwrap_or(0).min(max)),
        }
    }

    /// How many results to skip: `startIndex - 1`.
    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }
}

fn integer(name: &str, text: &str) -> Result<i64, ScimError> {
    text.trim().parse::<i64>().or_else(|e| match e.kind() {
        IntErrorKind::PosOverflow => Ok(i64::MAX),
        IntErrorKind::NegOverflow => Ok(i64::MIN),
        _ => Err(ScimError::invalid_value(format!("\"{name}\" must be an integer, not \"{text}\""))),
    })
}

/// The direction of a sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    /// Smallest first (the default).
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

/// A sort on one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The attribute, canonical (extension attributes keep their URN).
    pub by: AttrPath,
    /// The direction.
    pub order: SortOrder,
}

impl Sort {
    /// Parses `sortBy` and `sortOrder` (`ascending` or `descending`, any case); `None`
    /// without `sortBy`. An unknown attribute or order is 400 `invalidValue`.
    pub fn parse(
        sort_by: Option<&str>,
        sort_order: Option<&str>,
        resource_type: &ResourceType,
    ) -> Result<Option<Self>, ScimError> {
        let order = match sort_order.map(str::trim) {
            None | Some("") => SortOrder::Ascending,
            Some(o) if o.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
            Some(o) if o.eq_ignore_ascii_case("descending") => SortOrder::Descending,
            Some(o) => {
                return Err(ScimError::invalid_value(format!("\"sortOrder\" is ascending or descending, not \"{o}\"")))
            }
        };
        let Some(by) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
        let path = AttrPath::parse(by)?;
        let resolved = resource_type
            .resolve(&path)
            .filter(|r| comparable(r.leaf()).is_some())
            .ok_or_else(|| ScimError::invalid_value(format!("cannot sort by \"{by}\"")))?;
        Ok(Some(Self { by: resolved.canonical(), order }))
    }

    /// Compares two resources for this sort. A multi-valued attribute sorts by its
    /// primary value, else its first.
    pub fn compare(&self, a: &Value, b: &Value, resource_type: &ResourceType) -> Ordering {
        let Some(resolved) = resource_type.resolve(&self.by) else { return Ordering::Equal };
        let Some(leaf) = comparable(resolved.leaf()) else { return Ordering::Equal };
        let key = |resource: &Value| -> Option<Value> {
            let mut whole = resolved;
            whole.sub_attribute = None;
            let values = values_at(&whole, resource);
            let chosen = values
                .iter()
                .find(|v| get_ci(v, "primary").and_then(Value::as_bool) == Some(true))
                .or(values.first())?;
            let value = if resolved.attribute.is_complex() { get_ci(chosen, &leaf.name)? } else { *chosen };
            elements(value).into_iter().next().filter(|v| !is_empty(v)).cloned()
        };
        match (key(a), key(b)) {
            (Some(x), Some(y)) => {
                let o = order(leaf, &x, &y).unwrap_or(Ordering::Equal);
                if self.order == SortOrder::Descending {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
}

/// A ListResponse message.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse {
    /// How many resources match in all.
    pub total_results: u64,
    /// The 1-based index of the first resource returned.
    pub start_index: u64,
    /// The resources of this page, already projected.
    pub resources: Vec<Value>,
}

impl ListResponse {
    /// The message; `itemsPerPage` is the number of resources returned.
    pub fn to_json(&self) -> Value {
        json!({
            "schemas": [urn::LIST_RESPONSE],
            "totalResults": self.total_results,
            "startIndex": self.start_index,
            "itemsPerPage": self.resources.len(),
            "Resources": self.resources,
        })
    }
}

/// The raw list parameters of a GET, as the query string gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListParams<'a> {
    /// `filter`.
    pub filter: Option<&'a str>,
    /// `sortBy`.
    pub sort_by: Option<&'a str>,
    /// `sortOrder`.
    pub sort_order: Option<&'a str>,
    /// `startIndex`.
    pub start_index: Option<&'a str>,
    /// `count`.
    pub count: Option<&'a str>,
    /// `attributes`.
    pub attributes: Option<&'a str>,
    /// `excludedAttributes`.
    pub excluded_attributes: Option<&'a str>,
}

/// A parsed and checked list query.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// The filter, checked against the resource type.
    pub filter: Option<Filter>,
    /// The sort.
    pub sort: Option<Sort>,
    /// The page.
    pub page: Page,
    /// The attributes to return.
    pub projection: Projection,
}

impl ListQuery {
    /// Parses GET query parameters. A blank filter is no filter.
    pub fn parse(params: &ListParams<'_>, resource_type: &ResourceType, max_results: usize) -> Result<Self, ScimError> {
        let filter = match params.filter.map(str::trim).filter(|f| !f.is_empty()) {
            Some(text) => Some(Filter::parse_for(text, resource_type)?),
            None => None,
        };
        Ok(Self {
            filter,
            sort: Sort::parse(params.sort_by, params.sort_order, resource_type)?,
            page: Page::parse(params.start_index, params.count, max_results)?,
            projection: Projection::parse(params.attributes, params.excluded_attributes)?,
        })
    }

    /// Parses a `POST /.search` body (RFC 7644 §3.4.3): the same parameters, as JSON
    /// (`attributes` and `excludedAttributes` are arrays, the numbers are numbers).
    pub fn parse_search(body: &Value, resource_type: &ResourceType, max_results: usize) -> Result<Self, ScimError> {
        let listed = get_ci(body, "schemas").and_then(Value::as_array);
        if !listed
            .is_some_and(|l| l.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn::SEARCH_REQUEST))))
        {
            return Err(ScimError::invalid_syntax(format!("\"schemas\" must list \"{}\"", urn::SEARCH_REQUEST)));
        }
        let text = |key: &str| -> Result<Option<&str>, ScimError> {
            match get_ci(body, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(ScimError::invalid_syntax(format!("\"{key}\" must be a string"))),
            }
        };
        let list = |key: &str| -> Result<Option<String>, ScimError> {
            match get_ci(body, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().ok_or_else(|| ScimError::invalid_syntax(format!("\"{key}\" must hold strings")))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|v| Some(v.join(","))),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ScimError::invalid_syntax(format!("\"{key}\" must be an array of attribute names"))),
            }
        };
        let number = |key: &str| -> Result<Option<i64>, ScimError> {
            match get_ci(body, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .or_else(|| n.as_u64().map(|_| i64::MAX))
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("\"{key}\" must be an integer"))),
                Some(_) => Err(ScimError::invalid_syntax(format!("\"{key}\" must be a number"))),
            }
        };
        let (attributes, excluded) = (list("attributes")?, list("excludedAttributes")?);
        let params = ListParams {
            filter: text("filter")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            attributes: attributes.as_deref(),
            excluded_attributes: excluded.as_deref(),
            ..ListParams::default()
        };
        let mut query = Self::parse(&params, resource_type, max_results)?;
        query.page = Page::from_numbers(number("startIndex")?, number("count")?, max_results);
        Ok(query)
    }

    /// Answers the query in memory over candidate resources (their full JSON): filter,
    /// sort, page, project. For small collections and as the reference the application's
    /// own query translation must agree with.
    pub fn respond(&self, candidates: Vec<Value>, resource_type: &ResourceType) -> ListResponse {
        let mut matching: Vec<Value> = match &self.filter {
            Some(f) => candidates.into_iter().filter(|r| f.matches(r, resource_type)).collect(),
            None => candidates,
        };
        if let Some(sort) = &self.sort {
            matching.sort_by(|a, b| sort.compare(a, b, resource_type));
        }
        let total_results = matching.len() as u64;
        let offset = usize::try_from(self.page.offset()).unwrap_or(usize::MAX);
        let count = usize::try_from(self.page.count).unwrap_or(usize::MAX);
        let resources =
            matching.iter().skip(offset).take(count).map(|r| self.projection.apply(r, resource_type)).collect();
        ListResponse { total_results, start_index: self.page.start_index, resources }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::user;
    use crate::ScimType;

    #[test]
    fn paging_is_clamped_as_the_rfc_says() {
        let p = |s: Option<&str>, c: Option<&str>| Page::parse(s, c, 100).unwrap();
        assert_eq!(p(None, None), Page { start_index: 1, count: 100 });
        assert_eq!(p(Some("0"), Some("-5")), Page { start_index: 1, count: 0 });
        assert_eq!(p(Some("-3"), Some("1000")), Page { start_index: 1, count: 100 });
        assert_eq!(p(Some("11"), Some("10")), Page { start_index: 11, count: 10 });
        assert_eq!(p(Some("99999999999999999999999"), Some("99999999999999999999")).count, 100);
        assert_eq!(p(Some(" 7 "), None).offset(), 6);
        let e = Page::parse(Some("x"), None, 100).unwrap_err();
        assert_eq!(
            (e.scim_type(), e.detail()),
            (Some(ScimType::InvalidValue), "\"startIndex\" must be an integer, not \"x\"")
        );
        assert!(Page::parse(None, Some("1.5"), 100).is_err());
    }

    #[test]
    fn sort_parameters() {
        let rt = user::resource_type(&[]);
        let s = Sort::parse(Some("USERNAME"), Some("Descending"), &rt).unwrap().unwrap();
        assert_eq!((s.by.to_string(), s.order), ("userName".to_owned(), SortOrder::Descending));
        assert_eq!(Sort::parse(Some("emails"), None, &rt).unwrap().unwrap().order, SortOrder::Ascending);
        assert_eq!(Sort::parse(None, Some("descending"), &rt).unwrap(), None);
        assert!(Sort::parse(Some("nickName"), None, &rt).is_err());
        assert!(Sort::parse(Some("name"), None, &rt).is_err());
        assert!(Sort::parse(Some("userName"), Some("up"), &rt).is_err());
    }

    #[test]
    fn sorting_puts_missing_values_last_and_uses_primary_values() {
        let rt = user::resource_type(&[]);
        let a = json!({"userName": "b", "emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]});
        let b = json!({"userName": "A", "emails": [{"value": "m@x"}]});
        let c = json!({"userName": "c"});
        for order in ["ascending", "descending"] {
            let s = Sort::parse(Some("emails.value"), Some(order), &rt).unwrap().unwrap();
            let mut v = [c.clone(), b.clone(), a.clone()];
            v.sort_by(|x, y| s.compare(x, y, &rt));
            let names: Vec<&str> = v.iter().map(|u| u["userName"].as_str().unwrap()).collect();
            assert_eq!(names, if order == "ascending" { ["b", "A", "c"] } else { ["A", "b", "c"] });
        }
        let s = Sort::parse(Some("userName"), None, &rt).unwrap().unwrap();
        assert_eq!(s.compare(&b, &a, &rt), Ordering::Less, "case-insensitive: A < b");
    }

    #[test]
    fn list_response_shape() {
        let r =
            ListResponse { total_results: 5, start_index: 3, resources: vec![json!({"id": "1"}), json!({"id": "2"})] };
        assert_eq!(
            r.to_json(),
            json!({"schemas": [urn::LIST_RESPONSE], "totalResults": 5, "startIndex": 3, "itemsPerPage": 2,
                   "Resources": [{"id": "1"}, {"id": "2"}]})
        );
    }

    #[test]
    fn a_query_answers_in_memory() {
        let rt = user::resource_type(&[]);
        let users: Vec<Value> = (1..=5).map(|i| json!({"schemas": [urn::USER], "id": i.to_string(), "userName": format!("u{i}"), "active": i % 2 == 1})).collect();
        let params = ListParams {
            filter: Some("active eq true"),
            sort_by: Some("userName"),
            sort_order: Some("descending"),
            start_index: Some("2"),
            count: Some("5"),
            attributes: Some("userName"),
            ..ListParams::default()
        };
        let r = ListQuery::parse(&params, &rt, 2).unwrap().respond(users, &rt);
        assert_eq!(r.total_results, 3);
        assert_eq!(
            r.resources,
            vec![
                json!({"schemas": [urn::USER], "id": "3", "userName": "u3"}),
                json!({"schemas": [urn::USER], "id": "1", "userName": "u1"})
            ]
        );
        let e = ListQuery::parse(&ListParams { filter: Some("nope pr"), ..ListParams::default() }, &rt, 2).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
    }

    #[test]
    fn a_search_request_body_gives_the_same_query() {
        let rt = user::resource_type(&[]);
        let body = json!({"schemas": [urn::SEARCH_REQUEST], "filter": "userName sw \"u\"", "attributes": ["userName", "name.givenName"],
                          "sortBy": "userName", "startIndex": 0, "count": 500});
        let q = ListQuery::parse_search(&body, &rt, 50).unwrap();
        assert_eq!(q.page, Page { start_index: 1, count: 50 });
        assert_eq!(q.projection.attributes.len(), 2);
        assert!(q.filter.is_some() && q.sort.is_some());
        assert!(ListQuery::parse_search(&json!({"filter": "x pr"}), &rt, 50).is_err());
        assert!(ListQuery::parse_search(&json!({"schemas": [urn::SEARCH_REQUEST], "count": "5"}), &rt, 50).is_err());
    }
}
