//! The discovery documents (RFC 7644 §4, RFC 7643 §5–7): `/ServiceProviderConfig`,
//! `/Schemas` and `/ResourceTypes`, generated from the same definitions the rest of the
//! crate enforces. Filtering them is not supported (RFC 7644 §4: answer 403 to a filter).

use serde_json::{json, Value};

use crate::list::ListResponse;
use crate::provider::ServiceProvider;
use crate::schema::{ResourceKind, ResourceType, Schema};
use crate::urn;

impl ServiceProvider {
    /// `GET /ServiceProviderConfig`: what this service provider supports.
    pub fn service_provider_config(&self) -> Value {
        let limits = self.limits();
        json!({
            "schemas": [urn::SERVICE_PROVIDER_CONFIG],
            "patch": {"supported": true},
            "bulk": {
                "supported": true,
                "maxOperations": limits.bulk_max_operations,
                "maxPayloadSize": limits.bulk_max_payload_size,
            },
            "filter": {"supported": true, "maxResults": limits.max_results},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token created by a Roster superadmin (roster token create).",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", self.base_url()),
            },
        })
    }

    /// Every schema of every resource type, core schemas first.
    pub fn all_schemas(&self) -> Vec<&Schema> {
        [self.users(), self.groups()]
            .into_iter()
            .flat_map(|rt| std::iter::once(&rt.schema).chain(rt.extensions.iter().map(|e| &e.schema)))
            .collect()
    }

    /// `GET /Schemas`: a ListResponse of every schema.
    pub fn schemas_document(&self) -> Value {
        let resources: Vec<Value> = self.all_schemas().into_iter().map(|s| s.to_json(self.base_url())).collect();
        full_list(resources)
    }

    /// `GET /Schemas/{id}`: one schema by URN (case-insensitively), if it exists.
    pub fn schema_document(&self, id: &str) -> Option<Value> {
        self.all_schemas().into_iter().find(|s| s.id.eq_ignore_ascii_case(id)).map(|s| s.to_json(self.base_url()))
    }

    /// `GET /ResourceTypes`: a ListResponse of User and Group.
    pub fn resource_types_document(&self) -> Value {
        full_list([self.users(), self.groups()].into_iter().map(|rt| rt.to_json(self.base_url())).collect())
    }

    /// `GET /ResourceTypes/{name}`: `User` or `Group`, if it exists.
    pub fn resource_type_document(&self, name: &str) -> Option<Value> {
        [ResourceKind::User, ResourceKind::Group]
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
            .map(|k| ResourceType::to_json(self.resource_type(k), self.base_url()))
    }
}

fn full_list(resources: Vec<Value>) -> Value {
    ListResponse { total_results: resources.len() as u64, start_index: 1, resources }.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Limits;
    use crate::schema::roster::{AdditionalField, FieldKind};

    fn sp() -> ServiceProvider {
        ServiceProvider::new(
            "https://r.example/scim/v2",
            Limits { max_results: 200, bulk_max_operations: 1000, bulk_max_payload_size: 1_048_576 },
            &[
                AdditionalField::new("hire_date", "Hire Date", FieldKind::Date),
                AdditionalField::new("role", "Role", FieldKind::Dropdown(vec!["Driver".into(), "Clerk".into()])),
                AdditionalField::new("level", "Level", FieldKind::Number),
                AdditionalField::new("remote", "Remote", FieldKind::YesNo),
            ],
        )
    }

    #[test]
    fn service_provider_config_publishes_the_limits() {
        let c = sp().service_provider_config();
        assert_eq!(c["schemas"], json!([urn::SERVICE_PROVIDER_CONFIG]));
        assert_eq!(c["bulk"], json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576}));
        assert_eq!(c["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(c["changePassword"]["supported"], false);
        for feature in ["patch", "sort", "etag"] {
            assert_eq!(c[feature]["supported"], true, "{feature}");
        }
        assert_eq!(c["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(c["meta"]["location"], "https://r.example/scim/v2/ServiceProviderConfig");
    }

    fn check_attribute(a: &Value, at: &str) {
        for key in [
            "name",
            "type",
            "multiValued",
            "description",
            "required",
            "caseExact",
            "mutability",
            "returned",
            "uniqueness",
        ] {
            assert!(a.get(key).is_some(), "{at}: {key} missing in {a}");
        }
        let kind = a["type"].as_str().unwrap();
        assert!(
            ["string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"].contains(&kind),
            "{at}"
        );
        assert!(
            ["readOnly", "readWrite", "immutable", "writeOnly"].contains(&a["mutability"].as_str().unwrap()),
            "{at}"
        );
        assert!(["always", "never", "default", "request"].contains(&a["returned"].as_str().unwrap()), "{at}");
        assert!(["none", "server", "global"].contains(&a["uniqueness"].as_str().unwrap()), "{at}");
        assert_eq!(a.get("referenceTypes").is_some(), kind == "reference", "{at}");
        assert_eq!(a.get("subAttributes").is_some(), kind == "complex", "{at}");
        for sub in a.get("subAttributes").and_then(Value::as_array).into_iter().flatten() {
            assert_ne!(sub["type"], "complex", "{at}: sub-attributes are simple");
            check_attribute(sub, &format!("{at}.{}", sub["name"]));
        }
    }

    #[test]
    fn every_published_attribute_has_the_rfc_characteristics() {
        let doc = sp().schemas_document();
        assert_eq!(doc["schemas"], json!([urn::LIST_RESPONSE]));
        assert_eq!(doc["totalResults"], 5);
        for schema in doc["Resources"].as_array().unwrap() {
            assert_eq!(schema["schemas"], json!([urn::SCHEMA]));
            let id = schema["id"].as_str().unwrap();
            assert_eq!(schema["meta"]["location"], format!("https://r.example/scim/v2/Schemas/{id}"));
            assert_eq!(schema["meta"]["resourceType"], "Schema");
            for a in schema["attributes"].as_array().unwrap() {
                check_attribute(a, &format!("{id}:{}", a["name"]));
            }
        }
    }

    #[test]
    fn schemas_hold_what_roster_supports() {
        let sp = sp();
        let user = sp.schema_document(urn::USER).unwrap();
        let names: Vec<&str> =
            user["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "userName",
                "name",
                "displayName",
                "emails",
                "active",
                "preferredLanguage",
                "locale",
                "timezone",
                "groups"
            ]
        );
        assert_eq!(user["attributes"][0]["uniqueness"], "server");
        assert_eq!(user["attributes"][8]["mutability"], "readOnly");
        let group = sp.schema_document(urn::GROUP).unwrap();
        assert_eq!(group["attributes"][1]["name"], "members");
        assert_eq!(group["attributes"][1]["mutability"], "readWrite");
        let ext = sp.schema_document(urn::ROSTER_GROUP).unwrap();
        assert_eq!(ext["attributes"][0]["canonicalValues"], json!(["manual", "automatic"]));
        assert!(ext["attributes"].as_array().unwrap().iter().all(|a| a["mutability"] == "readOnly"));
        let fields = sp.schema_document(urn::ROSTER_USER).unwrap();
        let types: Vec<(&str, &str)> = fields["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["name"].as_str().unwrap(), a["type"].as_str().unwrap()))
            .collect();
        assert_eq!(types, [("hire_date", "string"), ("role", "string"), ("level", "decimal"), ("remote", "boolean")]);
        assert_eq!(fields["attributes"][1]["canonicalValues"], json!(["Driver", "Clerk"]));
        assert!(sp.schema_document("urn:nope").is_none());
        let core_names = user["attributes"].as_array().unwrap();
        assert!(
            core_names.iter().all(|a| a["name"] != "id" && a["name"] != "meta"),
            "common attributes are in no schema"
        );
    }

    #[test]
    fn resource_types_list_their_extensions() {
        let sp = sp();
        let doc = sp.resource_types_document();
        assert_eq!(doc["totalResults"], 2);
        let user = sp.resource_type_document("user").unwrap();
        assert_eq!(
            user,
            json!({
                "schemas": [urn::RESOURCE_TYPE],
                "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
                "schema": urn::USER,
                "schemaExtensions": [{"schema": urn::ENTERPRISE_USER, "required": false}, {"schema": urn::ROSTER_USER, "required": false}],
                "meta": {"resourceType": "ResourceType", "location": "https://r.example/scim/v2/ResourceTypes/User"}
            })
        );
        let group = sp.resource_type_document("Group").unwrap();
        assert_eq!(group["schemaExtensions"], json!([{"schema": urn::ROSTER_GROUP, "required": false}]));
        assert!(sp.resource_type_document("Widget").is_none());
    }
}
