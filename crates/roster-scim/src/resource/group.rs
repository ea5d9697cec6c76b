//! The typed Group: name, members, and Roster's policy and rule.

use serde_json::{json, Map, Value};

use super::{put, text, writable_attributes, Meta};
use crate::error::ScimError;
use crate::provider::ServiceProvider;
use crate::schema::ResourceKind;
use crate::urn;

/// A SCIM Group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// The service provider's id; `None` in a request.
    pub id: Option<String>,
    /// The provisioning client's id for the group.
    pub external_id: Option<String>,
    /// The group's unique name.
    pub display_name: String,
    /// The members, each once.
    pub members: Vec<Member>,
    /// Manual or automatic (readOnly: written, never read).
    pub policy: Option<GroupPolicy>,
    /// An automatic group's rule text (readOnly: written, never read).
    pub rule: Option<String>,
    /// Metadata (readOnly: written, never read).
    pub meta: Option<Meta>,
}

/// How a group's membership is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupPolicy {
    /// Members are managed by hand (and through SCIM).
    Manual,
    /// Members follow a rule; SCIM cannot change them.
    Automatic,
}

impl GroupPolicy {
    /// The value of the `policy` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Automatic => "automatic",
        }
    }
}

/// One of `members`: a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user's id.
    pub value: String,
    /// The user's URL.
    pub reference: Option<String>,
    /// The user's display name.
    pub display: Option<String>,
}

impl Member {
    /// Member user `id`, with its URL.
    pub fn user(sp: &ServiceProvider, id: &str, display: Option<String>) -> Self {
        Self { value: id.to_owned(), reference: Some(sp.location(ResourceKind::User, id)), display }
    }
}

impl Group {
    /// A group with only a display name.
    pub fn new(display_name: impl Into<String>) -> Self {
        Self { display_name: display_name.into(), ..Self::default() }
    }

    /// The ids of the members.
    pub fn member_ids(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.value.as_str())
    }

    /// The Group's JSON representation.
    pub fn to_json(&self) -> Value {
        let mut g = Map::new();
        let mut schemas = vec![json!(urn::GROUP)];
        put(&mut g, "id", self.id.clone());
        put(&mut g, "externalId", self.external_id.clone());
        g.insert("displayName".into(), json!(self.display_name));
        if !self.members.is_empty() {
            let members = self.members.iter().map(|m| {
                let mut member = Map::new();
                member.insert("value".into(), json!(m.value));
                put(&mut member, "$ref", m.reference.clone());
                put(&mut member, "display", m.display.clone());
                member.insert("type".into(), json!("User"));
                Value::Object(member)
            });
            g.insert("members".into(), Value::Array(members.collect()));
        }
        if self.policy.is_some() || self.rule.is_some() {
            schemas.push(json!(urn::ROSTER_GROUP));
            let mut ext = Map::new();
            put(&mut ext, "policy", self.policy.map(GroupPolicy::as_str));
            put(&mut ext, "rule", self.rule.clone());
            g.insert(urn::ROSTER_GROUP.into(), Value::Object(ext));
        }
        if let Some(m) = &self.meta {
            g.insert("meta".into(), m.to_json());
        }
        g.insert("schemas".into(), Value::Array(schemas));
        Value::Object(g)
    }

    /// Reads a Group from a request body (POST, PUT) or a patched representation.
    /// Members listed twice are kept once; members of another type than `User` are refused.
    pub fn from_json(body: &Value, sp: &ServiceProvider) -> Result<Self, ScimError> {
        let a = writable_attributes(body, sp.groups())?;
        let display_name = text(&a, "displayName")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ScimError::invalid_value("\"displayName\" is required"))?;
        let mut members: Vec<Member> = Vec::new();
        for m in a.get("members").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object) {
            let value =
                text(m, "value").ok_or_else(|| ScimError::invalid_value("each of \"members\" needs a \"value\""))?;
            if let Some(kind) = text(m, "type").filter(|k| !k.eq_ignore_ascii_case("User")) {
                return Err(ScimError::invalid_value(format!(
                    "member \"{value}\" is a {kind}: Roster groups hold users only"
                )));
            }
            if !members.iter().any(|x| x.value == value) {
                members.push(Member { value, reference: text(m, "$ref"), display: None });
            }
        }
        Ok(Self {
            id: None,
            external_id: text(&a, "externalId"),
            display_name,
            members,
            policy: None,
            rule: None,
            meta: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Limits;

    fn sp() -> ServiceProvider {
        ServiceProvider::new(
            "https://r.example/scim/v2",
            Limits { max_results: 10, bulk_max_operations: 1, bulk_max_payload_size: 1 },
            &[],
        )
    }

    #[test]
    fn a_group_writes_members_and_its_roster_extension() {
        let sp = sp();
        let g = Group {
            id: Some("g1".into()),
            members: vec![Member::user(&sp, "u1", Some("Alice".into()))],
            policy: Some(GroupPolicy::Automatic),
            rule: Some("status = active".into()),
            ..Group::new("Drivers")
        };
        assert_eq!(
            g.to_json(),
            json!({
                "schemas": [urn::GROUP, urn::ROSTER_GROUP],
                "id": "g1",
                "displayName": "Drivers",
                "members": [{"value": "u1", "$ref": "https://r.example/scim/v2/Users/u1", "display": "Alice", "type": "User"}],
                urn::ROSTER_GROUP: {"policy": "automatic", "rule": "status = active"}
            })
        );
    }

    #[test]
    fn reading_ignores_read_only_policy_and_dedupes_members() {
        let sp = sp();
        let body = json!({
            "schemas": [urn::GROUP, urn::ROSTER_GROUP],
            "displayName": "Drivers",
            "members": [{"value": "u1", "display": "x"}, {"value": "u1"}, "u2"],
            urn::ROSTER_GROUP: {"policy": "automatic"}
        });
        let g = Group::from_json(&body, &sp).unwrap();
        assert_eq!(g.member_ids().collect::<Vec<_>>(), ["u1", "u2"]);
        assert_eq!(g.policy, None);
        assert_eq!(g.members[0].display, None);
    }

    #[test]
    fn nested_groups_and_missing_names_are_refused() {
        let sp = sp();
        let body = json!({"schemas": [urn::GROUP], "displayName": "A", "members": [{"value": "g2", "type": "Group"}]});
        assert!(Group::from_json(&body, &sp).unwrap_err().detail().contains("users only"));
        let body = json!({"schemas": [urn::GROUP]});
        assert!(Group::from_json(&body, &sp).unwrap_err().detail().contains("displayName"));
    }
}
