//! The typed User: core attributes, the enterprise extension and additional fields.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use serde_json::{json, Map, Value};

use super::{put, text, writable_attributes, Meta};
use crate::error::ScimError;
use crate::provider::ServiceProvider;
use crate::schema::roster::{AdditionalField, FieldKind};
use crate::schema::ResourceKind;
use crate::urn;

/// A SCIM User.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct User {
    /// The service provider's id; `None` in a request.
    pub id: Option<String>,
    /// The provisioning client's id for the user.
    pub external_id: Option<String>,
    /// The unique sign-in name.
    pub user_name: String,
    /// The components of the user's name.
    pub name: Option<PersonName>,
    /// The name to display.
    pub display_name: Option<String>,
    /// Email addresses.
    pub emails: Vec<UserEmail>,
    /// Whether the user is active (not suspended).
    pub active: Option<bool>,
    /// The preferred written language (`en`, `fr-CA`).
    pub preferred_language: Option<String>,
    /// The locale for formatting (`en-US`).
    pub locale: Option<String>,
    /// The IANA time zone (`Europe/Paris`).
    pub timezone: Option<String>,
    /// The groups the user belongs to (readOnly: written, never read).
    pub groups: Vec<GroupRef>,
    /// The enterprise extension.
    pub enterprise: Option<EnterpriseUser>,
    /// Additional field values, keyed by field code.
    pub fields: BTreeMap<String, FieldValue>,
    /// Metadata (readOnly: written, never read).
    pub meta: Option<Meta>,
}

/// `name`: the components of a person's name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName {
    /// The full name as displayed.
    pub formatted: Option<String>,
    /// The family (last) name.
    pub family_name: Option<String>,
    /// The given (first) name.
    pub given_name: Option<String>,
}

/// One of `emails`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserEmail {
    /// The address.
    pub value: String,
    /// `work`, `home`, `other`...
    pub kind: Option<String>,
    /// Whether it is the primary address (at most one is).
    pub primary: bool,
}

/// One of `groups`: a group the user is a direct member of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The group's id.
    pub value: String,
    /// The group's URL.
    pub reference: Option<String>,
    /// The group's display name.
    pub display: Option<String>,
}

impl GroupRef {
    /// A reference to group `id`, with its URL.
    pub fn new(sp: &ServiceProvider, id: &str, display: Option<String>) -> Self {
        Self { value: id.to_owned(), reference: Some(sp.location(ResourceKind::Group, id)), display }
    }
}

/// The enterprise User extension.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnterpriseUser {
    /// The organization's identifier for the employee.
    pub employee_number: Option<String>,
    /// A cost center.
    pub cost_center: Option<String>,
    /// An organization.
    pub organization: Option<String>,
    /// A division.
    pub division: Option<String>,
    /// A department.
    pub department: Option<String>,
    /// The user's manager.
    pub manager: Option<Manager>,
}

/// `manager` of the enterprise extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manager {
    /// The manager's User id.
    pub value: String,
    /// The manager's URL.
    pub reference: Option<String>,
    /// The manager's display name (readOnly).
    pub display_name: Option<String>,
}

impl Manager {
    /// A manager reference to user `id`, with its URL.
    pub fn new(sp: &ServiceProvider, id: &str, display_name: Option<String>) -> Self {
        Self { value: id.to_owned(), reference: Some(sp.location(ResourceKind::User, id)), display_name }
    }
}

/// A value of an additional field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Text, or a dropdown's option in the option's own spelling.
    Text(String),
    /// A finite number.
    Number(f64),
    /// A calendar date.
    Date(NaiveDate),
    /// Yes (`true`) or no.
    YesNo(bool),
}

impl FieldValue {
    /// The JSON value: numbers without a `.0` when whole, dates as `YYYY-MM-DD`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Text(s) => json!(s),
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => json!(*n as i64),
            Self::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Self::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            Self::YesNo(b) => json!(b),
        }
    }

    /// Reads a (normalized) JSON value for `field`.
    fn parse(field: &AdditionalField, value: &Value) -> Result<Self, ScimError> {
        let name = field.attribute_name();
        let wrong = |what: &str| ScimError::invalid_value(format!("\"{name}\" expects {what}"));
        match &field.kind {
            FieldKind::Text => value.as_str().map(|s| Self::Text(s.to_owned())).ok_or_else(|| wrong("a string")),
            FieldKind::Number => {
                value.as_f64().filter(|n| n.is_finite()).map(Self::Number).ok_or_else(|| wrong("a number"))
            }
            FieldKind::YesNo => value.as_bool().map(Self::YesNo).ok_or_else(|| wrong("true or false")),
            FieldKind::Date => {
                value.as_str().and_then(parse_date).map(Self::Date).ok_or_else(|| wrong("a date, YYYY-MM-DD"))
            }
            FieldKind::Dropdown(options) => {
                let s = value.as_str().ok_or_else(|| wrong("a string"))?;
                options.iter().find(|o| o.eq_ignore_ascii_case(s.trim())).map(|o| Self::Text(o.clone())).ok_or_else(
                    || {
                        let shown: Vec<&str> = options.iter().take(20).map(String::as_str).collect();
                        let more = if options.len() > shown.len() { ", ..." } else { "" };
                        wrong(&format!("one of: {}{more}", shown.join(", ")))
                    },
                )
            }
        }
    }
}

/// A `YYYY-MM-DD` date, or the date part of an RFC 3339 date-time as written.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.len() == 10 {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.date_naive())
}

impl EnterpriseUser {
    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn to_json(&self) -> Value {
        let mut e = Map::new();
        put(&mut e, "employeeNumber", self.employee_number.clone());
        put(&mut e, "costCenter", self.cost_center.clone());
        put(&mut e, "organization", self.organization.clone());
        put(&mut e, "division", self.division.clone());
        put(&mut e, "department", self.department.clone());
        if let Some(m) = &self.manager {
            let mut manager = Map::new();
            manager.insert("value".into(), json!(m.value));
            put(&mut manager, "$ref", m.reference.clone());
            put(&mut manager, "displayName", m.display_name.clone());
            e.insert("manager".into(), Value::Object(manager));
        }
        Value::Object(e)
    }

    fn from_json(object: &Map<String, Value>) -> Result<Self, ScimError> {
        let manager = match object.get("manager").and_then(Value::as_object) {
            None => None,
            Some(m) => Some(Manager {
                value: text(m, "value")
                    .ok_or_else(|| ScimError::invalid_value("\"manager\" needs a \"value\": the manager's id"))?,
                reference: text(m, "$ref"),
                display_name: None,
            }),
        };
        Ok(Self {
            employee_number: text(object, "employeeNumber"),
            cost_center: text(object, "costCenter"),
            organization: text(object, "organization"),
            division: text(object, "division"),
            department: text(object, "department"),
            manager,
        })
    }
}

impl User {
    /// A user with only a userName.
    pub fn new(user_name: impl Into<String>) -> Self {
        Self { user_name: user_name.into(), ..Self::default() }
    }

    /// The primary email address, else the first one.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails.iter().find(|e| e.primary).or_else(|| self.emails.first()).map(|e| e.value.as_str())
    }

    /// The User's JSON representation. Field values whose code has no published
    /// attribute are left out.
    pub fn to_json(&self, sp: &ServiceProvider) -> Value {
        let mut u = Map::new();
        let mut schemas = vec![json!(urn::USER)];
        put(&mut u, "id", self.id.clone());
        put(&mut u, "externalId", self.external_id.clone());
        u.insert("userName".into(), json!(self.user_name));
        if let Some(n) = self.name.as_ref().filter(|n| **n != PersonName::default()) {
            let mut name = Map::new();
            put(&mut name, "formatted", n.formatted.clone());
            put(&mut name, "familyName", n.family_name.clone());
            put(&mut name, "givenName", n.given_name.clone());
            u.insert("name".into(), Value::Object(name));
        }
        put(&mut u, "displayName", self.display_name.clone());
        if !self.emails.is_empty() {
            let emails = self.emails.iter().map(|e| {
                let mut email = Map::new();
                email.insert("value".into(), json!(e.value));
                put(&mut email, "type", e.kind.clone());
                if e.primary {
                    email.insert("primary".into(), json!(true));
                }
                Value::Object(email)
            });
            u.insert("emails".into(), Value::Array(emails.collect()));
        }
        put(&mut u, "active", self.active);
        put(&mut u, "preferredLanguage", self.preferred_language.clone());
        put(&mut u, "locale", self.locale.clone());
        put(&mut u, "timezone", self.timezone.clone());
        if !self.groups.is_empty() {
            let groups = self.groups.iter().map(|g| {
                let mut group = Map::new();
                group.insert("value".into(), json!(g.value));
                put(&mut group, "$ref", g.reference.clone());
                put(&mut group, "display", g.display.clone());
                group.insert("type".into(), json!("direct"));
                Value::Object(group)
            });
            u.insert("groups".into(), Value::Array(groups.collect()));
        }
        if let Some(e) = self.enterprise.as_ref().filter(|e| !e.is_empty()) {
            schemas.push(json!(urn::ENTERPRISE_USER));
            u.insert(urn::ENTERPRISE_USER.into(), e.to_json());
        }
        let fields: Map<String, Value> = sp
            .fields()
            .iter()
            .filter_map(|f| self.fields.get(&f.code).map(|v| (f.attribute_name(), v.to_json())))
            .collect();
        if !fields.is_empty() {
            schemas.push(json!(urn::ROSTER_USER));
            u.insert(urn::ROSTER_USER.into(), Value::Object(fields));
        }
        if let Some(m) = &self.meta {
            u.insert("meta".into(), m.to_json());
        }
        u.insert("schemas".into(), Value::Array(schemas));
        Value::Object(u)
    }

    /// Reads a User from a request body (POST, PUT) or a patched representation.
    /// readOnly attributes are ignored, so `id`, `groups` and `meta` stay empty.
    pub fn from_json(body: &Value, sp: &ServiceProvider) -> Result<Self, ScimError> {
        let a = writable_attributes(body, sp.users())?;
        let user_name = text(&a, "userName")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ScimError::invalid_value("\"userName\" is required"))?;
        let name = a.get("name").and_then(Value::as_object).map(|n| PersonName {
            formatted: text(n, "formatted"),
            family_name: text(n, "familyName"),
            given_name: text(n, "givenName"),
        });
        let emails = read_emails(a.get("emails"))?;
        let enterprise = match a.get(urn::ENTERPRISE_USER).and_then(Value::as_object) {
            Some(e) => Some(EnterpriseUser::from_json(e)?),
            None => None,
        };
        let mut fields = BTreeMap::new();
        if let Some(values) = a.get(urn::ROSTER_USER).and_then(Value::as_object) {
            for field in sp.fields() {
                if let Some(v) = values.get(&field.attribute_name()) {
                    fields.insert(field.code.clone(), FieldValue::parse(field, v)?);
                }
            }
        }
        Ok(Self {
            id: None,
            external_id: text(&a, "externalId"),
            user_name,
            name,
            display_name: text(&a, "displayName"),
            emails,
            active: a.get("active").and_then(Value::as_bool),
            preferred_language: text(&a, "preferredLanguage"),
            locale: text(&a, "locale"),
            timezone: text(&a, "timezone"),
            groups: Vec::new(),
            enterprise,
            fields,
            meta: None,
        })
    }
}

fn read_emails(value: Option<&Value>) -> Result<Vec<UserEmail>, ScimError> {
    let mut emails = Vec::new();
    for e in value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object) {
        emails.push(UserEmail {
            value: text(e, "value").ok_or_else(|| ScimError::invalid_value("each of \"emails\" needs a \"value\""))?,
            kind: text(e, "type"),
            primary: e.get("primary").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    if emails.iter().filter(|e| e.primary).count() > 1 {
        return Err(ScimError::invalid_value("at most one of \"emails\" may be primary"));
    }
    Ok(emails)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Limits;
    use chrono::Utc;

    fn sp() -> ServiceProvider {
        ServiceProvider::new(
            "https://r.example/scim/v2",
            Limits { max_results: 100, bulk_max_operations: 10, bulk_max_payload_size: 10_000 },
            &[
                AdditionalField::new("hire.date", "Hire Date", FieldKind::Date),
                AdditionalField::new("score", "Score", FieldKind::Number),
                AdditionalField::new("role", "Role", FieldKind::Dropdown(vec!["Driver".into(), "Clerk".into()])),
                AdditionalField::new("remote", "Remote", FieldKind::YesNo),
                AdditionalField::new("title", "Job Title", FieldKind::Text),
            ],
        )
    }

    fn barbara(sp: &ServiceProvider) -> User {
        let t = DateTime::parse_from_rfc3339("2024-01-31T09:00:00Z").unwrap().with_timezone(&Utc);
        User {
            id: Some("u1".into()),
            external_id: Some("ext-1".into()),
            name: Some(PersonName {
                given_name: Some("Barbara".into()),
                family_name: Some("Jensen".into()),
                formatted: None,
            }),
            display_name: Some("Babs".into()),
            emails: vec![UserEmail { value: "b@example.com".into(), kind: Some("work".into()), primary: true }],
            active: Some(true),
            preferred_language: Some("en".into()),
            locale: Some("en-US".into()),
            timezone: Some("Europe/Paris".into()),
            groups: vec![GroupRef::new(sp, "g1", Some("Drivers".into()))],
            enterprise: Some(EnterpriseUser {
                department: Some("Sales".into()),
                manager: Some(Manager::new(sp, "u2", Some("Boss".into()))),
                ..EnterpriseUser::default()
            }),
            fields: BTreeMap::from([
                ("hire.date".to_owned(), FieldValue::Date(NaiveDate::from_ymd_opt(2020, 3, 1).unwrap())),
                ("score".to_owned(), FieldValue::Number(34.0)),
                ("role".to_owned(), FieldValue::Text("Driver".into())),
                ("remote".to_owned(), FieldValue::YesNo(false)),
            ]),
            meta: Some(sp.meta(ResourceKind::User, "u1", t, t, "3")),
            ..User::new("bjensen")
        }
    }

    #[test]
    fn a_user_writes_all_its_parts() {
        let sp = sp();
        let j = barbara(&sp).to_json(&sp);
        assert_eq!(j["schemas"], json!([urn::USER, urn::ENTERPRISE_USER, urn::ROSTER_USER]));
        assert_eq!(j["userName"], "bjensen");
        assert_eq!(j["name"], json!({"givenName": "Barbara", "familyName": "Jensen"}));
        assert_eq!(j["emails"], json!([{"value": "b@example.com", "type": "work", "primary": true}]));
        assert_eq!(
            j["groups"][0],
            json!({"value": "g1", "$ref": "https://r.example/scim/v2/Groups/g1", "display": "Drivers", "type": "direct"})
        );
        assert_eq!(j[urn::ENTERPRISE_USER]["manager"]["$ref"], "https://r.example/scim/v2/Users/u2");
        assert_eq!(
            j[urn::ROSTER_USER],
            json!({"hire_date": "2020-03-01", "score": 34, "role": "Driver", "remote": false})
        );
        assert_eq!(
            j["meta"],
            json!({"resourceType": "User", "created": "2024-01-31T09:00:00Z", "lastModified": "2024-01-31T09:00:00Z",
                   "location": "https://r.example/scim/v2/Users/u1", "version": "W/\"3\""})
        );
    }

    #[test]
    fn reading_back_drops_only_read_only_attributes() {
        let sp = sp();
        let u = barbara(&sp);
        let back = User::from_json(&u.to_json(&sp), &sp).unwrap();
        let mut expected = u.clone();
        expected.id = None;
        expected.groups.clear();
        expected.meta = None;
        if let Some(m) = expected.enterprise.as_mut().and_then(|e| e.manager.as_mut()) {
            m.display_name = None;
        }
        assert_eq!(back, expected);
    }

    #[test]
    fn reading_is_case_insensitive_and_lenient_with_id_provider_habits() {
        let sp = sp();
        let body = json!({
            "SCHEMAS": ["urn:ietf:params:scim:schemas:core:2.0:user"],
            "USERNAME": " alice ",
            "Active": "False",
            "nickName": "ignored",
            "id": "ignored",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Manager": "u9"},
            "urn:roster:params:scim:schemas:extension:roster:2.0:User": {
                "HIRE_DATE": "2021-06-01T23:30:00-05:00", "score": "12.5", "role": "clerk", "remote": "TRUE", "unknown": 1
            }
        });
        let u = User::from_json(&body, &sp).unwrap();
        assert_eq!(u.user_name, "alice");
        assert_eq!(u.active, Some(false));
        assert_eq!(u.id, None);
        assert_eq!(u.enterprise.unwrap().manager.unwrap().value, "u9");
        assert_eq!(u.fields["hire.date"], FieldValue::Date(NaiveDate::from_ymd_opt(2021, 6, 1).unwrap()));
        assert_eq!(u.fields["score"], FieldValue::Number(12.5));
        assert_eq!(u.fields["role"], FieldValue::Text("Clerk".into()));
        assert_eq!(u.fields["remote"], FieldValue::YesNo(true));
    }

    #[test]
    fn invalid_bodies_are_refused_with_the_right_scim_type() {
        let sp = sp();
        let t = |body: Value| User::from_json(&body, &sp).unwrap_err();
        assert_eq!(t(json!({"userName": "a"})).scim_type(), Some(crate::ScimType::InvalidSyntax));
        assert_eq!(t(json!([])).scim_type(), Some(crate::ScimType::InvalidSyntax));
        let s = json!([urn::USER]);
        assert!(t(json!({"schemas": s, "userName": " "})).detail().contains("userName"));
        assert!(t(json!({"schemas": s, "userName": 5})).detail().contains("expects a string"));
        assert!(t(json!({"schemas": s, "userName": "a", "emails": [{"type": "work"}]}))
            .detail()
            .contains("needs a \"value\""));
        let two_primaries = json!([{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]);
        assert!(t(json!({"schemas": s, "userName": "a", "emails": two_primaries})).detail().contains("primary"));
        let roster = |v: Value| json!({"schemas": s, "userName": "a", urn::ROSTER_USER: v});
        assert!(t(roster(json!({"role": "Pilot"}))).detail().contains("one of: Driver, Clerk"));
        assert!(t(roster(json!({"hire_date": "31/01/2024"}))).detail().contains("YYYY-MM-DD"));
        assert!(t(roster(json!({"score": "many"}))).detail().contains("a number"));
        assert_eq!(t(roster(json!({"remote": "maybe"}))).scim_type(), Some(crate::ScimType::InvalidValue));
    }
}
