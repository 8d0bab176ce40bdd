//! What the local gateway takes from `template.yaml`: the table definition, the HTTP API's CORS
//! configuration and the declared routes. The template is the one definition; nothing here is a
//! second copy of it.

use std::path::Path;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;
use serde_yaml::Value;

/// The logical id of the table resource.
pub const TABLE_RESOURCE: &str = "LiveTable";
/// The logical id of the HTTP API resource.
pub const HTTP_API_RESOURCE: &str = "HttpApi";

#[derive(Debug)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template.yaml: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub allow_credentials: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttrDef>,
    pub key_schema: Vec<KeyDef>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDef>,
    pub billing_mode: String,
    pub time_to_live_specification: Option<TtlDef>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttrDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlDef {
    pub attribute_name: String,
    pub enabled: bool,
}

/// An HTTP route declared on a function: (method, path, function logical id).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteDef {
    pub method: String,
    pub path: String,
    pub function_id: String,
}

#[derive(Clone, Debug)]
pub struct Template {
    pub table: TableDefinition,
    pub cors: Cors,
    /// HTTP API routes declared on functions.
    pub routes: Vec<RouteDef>,
    /// WebSocket API routes: (route key, function logical id), resolved through their integrations.
    pub ws_routes: Vec<(String, String)>,
    /// `Schedule` events: (schedule expression, function logical id).
    pub schedules: Vec<(String, String)>,
    /// `AWS::SQS::Queue` resources.
    pub queues: Vec<QueueDef>,
    /// `SQS` events: the queues functions are fed from.
    pub queue_events: Vec<QueueEvent>,
    /// Every function: (logical id, the `Binary` it is built from, `Metadata.BuildMethod`).
    pub functions: Vec<FunctionDef>,
}

/// An SQS queue resource.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueDef {
    /// Its logical id (locally also its name; `.fifo` added for a FIFO queue).
    pub id: String,
    pub fifo: bool,
    pub visibility_timeout: u64,
    /// The queue its dead letters go to (`RedrivePolicy.deadLetterTargetArn`) and after how many
    /// receives.
    pub dead_letters: Option<(String, u64)>,
}

impl QueueDef {
    /// The queue's name in the emulator.
    pub fn name(&self) -> String {
        if self.fifo {
            format!("{}.fifo", self.id)
        } else {
            self.id.clone()
        }
    }
}

/// A function's `SQS` event: the queue that feeds it, in batches of up to `batch_size`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueEvent {
    pub function_id: String,
    pub queue_id: String,
    pub batch_size: u64,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: the function names the messages to
    /// deliver again; the others are deleted.
    pub reports_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`: how many invocations the mapping runs at once at most.
    pub max_concurrency: Option<u64>,
}

/// A function resource and how SAM builds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FunctionDef {
    pub id: String,
    /// `Handler` (the one artifact serves the endpoint it names).
    pub handler: Option<String>,
    pub binary: Option<String>,
    pub build_method: Option<String>,
    pub policy: FunctionPolicy,
    /// `Timeout`: its own, else `Globals.Function`'s, else Lambda's default (3 s).
    pub timeout: Duration,
}

/// What a function's `Policies` grant.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FunctionPolicy {
    /// Managed policies referenced (`!Ref SecretsReadPolicy`).
    pub managed: Vec<String>,
    /// `dynamodb:*` actions granted, without the prefix, sorted.
    pub dynamodb: Vec<String>,
    /// Whether the table's indexes are among the DynamoDB resources.
    pub indexes: bool,
    /// The `@connections` methods `execute-api:ManageConnections` is granted on, sorted.
    pub connections: Vec<String>,
    /// Queues (logical ids) `sqs:SendMessage` is granted on, sorted.
    pub queues: Vec<String>,
}

/// The text of a resource reference: `!GetAtt X.Arn` → `X.Arn`, `!Sub "…"` → its text.
fn reference_text(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(items) => items.iter().flat_map(reference_text).collect(),
        Value::Tagged(t) => t.value.as_str().map(str::to_string).into_iter().collect(),
        other => other.as_str().map(str::to_string).into_iter().collect(),
    }
}

fn policy_of(policies: Option<&Value>) -> FunctionPolicy {
    let mut p = FunctionPolicy::default();
    for entry in policies.and_then(Value::as_sequence).into_iter().flatten() {
        if let Value::Tagged(t) = entry {
            if t.tag == "!Ref" {
                p.managed.extend(t.value.as_str().map(str::to_string));
            }
            continue;
        }
        for statement in entry
            .get("Statement")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let actions: Vec<String> = match statement.get("Action") {
                Some(Value::Sequence(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                Some(a) => a.as_str().map(str::to_string).into_iter().collect(),
                None => Vec::new(),
            };
            let resources = statement.get("Resource").map(reference_text).unwrap_or_default();
            for action in actions {
                if let Some(a) = action.strip_prefix("dynamodb:") {
                    p.dynamodb.push(a.to_string());
                    p.indexes |= resources.iter().any(|r| r.contains("/index/"));
                } else if action == "sqs:SendMessage" {
                    p.queues
                        .extend(resources.iter().map(|r| r.split('.').next().unwrap_or(r).to_string()));
                } else if action == "execute-api:ManageConnections" {
                    for r in &resources {
                        if let Some(before) = r.split("/@connections").next().filter(|_| r.contains("/@connections")) {
                            p.connections.extend(before.rsplit('/').next().map(str::to_string));
                        }
                    }
                }
            }
        }
    }
    p.dynamodb.sort();
    p.dynamodb.dedup();
    p.connections.sort();
    p.connections.dedup();
    p.queues.sort();
    p.queues.dedup();
    p
}

/// The text inside `!Sub "..."` (or a plain string).
fn sub_text(v: &Value) -> Option<&str> {
    match v {
        Value::Tagged(t) if t.tag == "!Sub" => t.value.as_str(),
        other => other.as_str(),
    }
}

/// The first `${Name}` or `${Name.Attr}` reference in a `!Sub` text that matches `pick`.
fn sub_ref(text: &str, pick: impl Fn(&str) -> bool) -> Option<&str> {
    text.split("${")
        .skip(1)
        .filter_map(|r| r.split('}').next())
        .map(|r| r.split('.').next().unwrap_or(r))
        .find(|r| pick(r))
}

fn err(msg: impl Into<String>) -> TemplateError {
    TemplateError(msg.into())
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| err(e.to_string()))?;
        let resources = doc.get("Resources").ok_or_else(|| err("no Resources"))?;
        let props = |id: &str| {
            resources
                .get(id)
                .and_then(|r| r.get("Properties"))
                .cloned()
                .ok_or_else(|| err(format!("no resource {id} with Properties")))
        };
        let table: TableDefinition =
            serde_yaml::from_value(props(TABLE_RESOURCE)?).map_err(|e| err(format!("{TABLE_RESOURCE}: {e}")))?;
        let cors = match props(HTTP_API_RESOURCE)?.get("CorsConfiguration") {
            Some(v) => serde_yaml::from_value(v.clone()).map_err(|e| err(format!("CorsConfiguration: {e}")))?,
            None => Cors::default(),
        };
        let seconds = |v: Option<&Value>| v.and_then(|t| t.get("Timeout")).and_then(Value::as_u64);
        let default_timeout = seconds(doc.get("Globals").and_then(|g| g.get("Function"))).unwrap_or(3);
        let mut routes = Vec::new();
        let mut schedules = Vec::new();
        let mut queue_events = Vec::new();
        let mut queues = Vec::new();
        let mut functions = Vec::new();
        if let Value::Mapping(map) = resources {
            for (id, resource) in map {
                if let (Some(id), Some("AWS::SQS::Queue")) = (id.as_str(), resource.get("Type").and_then(Value::as_str))
                {
                    let p = resource.get("Properties");
                    let redrive = p.and_then(|p| p.get("RedrivePolicy"));
                    queues.push(QueueDef {
                        id: id.to_string(),
                        fifo: p
                            .and_then(|p| p.get("FifoQueue"))
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        visibility_timeout: p
                            .and_then(|p| p.get("VisibilityTimeout"))
                            .and_then(Value::as_u64)
                            .unwrap_or(30),
                        dead_letters: redrive.and_then(|r| {
                            let target = reference_text(r.get("deadLetterTargetArn")?).into_iter().next()?;
                            let receives = r.get("maxReceiveCount").and_then(Value::as_u64).unwrap_or(5);
                            Some((target.split('.').next().unwrap_or(&target).to_string(), receives))
                        }),
                    });
                    continue;
                }
                let (Some(id), Some("AWS::Serverless::Function")) =
                    (id.as_str(), resource.get("Type").and_then(Value::as_str))
                else {
                    continue;
                };
                let metadata = resource.get("Metadata");
                let properties = resource.get("Properties");
                let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
                functions.push(FunctionDef {
                    id: id.to_string(),
                    handler: text(properties.and_then(|p| p.get("Handler"))),
                    policy: policy_of(properties.and_then(|p| p.get("Policies"))),
                    // Where SAM reads it: `Metadata.BuildProperties.Binary` (cargo lambda's `--bin`).
                    binary: text(
                        metadata
                            .and_then(|m| m.get("BuildProperties"))
                            .and_then(|b| b.get("Binary")),
                    ),
                    build_method: text(metadata.and_then(|m| m.get("BuildMethod"))),
                    timeout: Duration::from_secs(seconds(properties).unwrap_or(default_timeout)),
                });
                let events = resource.get("Properties").and_then(|p| p.get("Events"));
                for event in events.and_then(Value::as_mapping).into_iter().flat_map(|m| m.values()) {
                    if event.get("Type").and_then(Value::as_str) == Some("Schedule") {
                        let expression = event
                            .get("Properties")
                            .and_then(|p| p.get("Schedule"))
                            .and_then(Value::as_str)
                            .ok_or_else(|| err(format!("{id}: Schedule event without Properties.Schedule")))?;
                        schedules.push((expression.to_string(), id.to_string()));
                        continue;
                    }
                    if event.get("Type").and_then(Value::as_str) == Some("SQS") {
                        let p = event.get("Properties");
                        let queue = p
                            .and_then(|p| p.get("Queue"))
                            .map(reference_text)
                            .and_then(|r| r.into_iter().next())
                            .ok_or_else(|| err(format!("{id}: SQS event without Properties.Queue")))?;
                        queue_events.push(QueueEvent {
                            function_id: id.to_string(),
                            queue_id: queue.split('.').next().unwrap_or(&queue).to_string(),
                            batch_size: p.and_then(|p| p.get("BatchSize")).and_then(Value::as_u64).unwrap_or(10),
                            reports_failures: p
                                .and_then(|p| p.get("FunctionResponseTypes"))
                                .and_then(Value::as_sequence)
                                .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures"))),
                            max_concurrency: p
                                .and_then(|p| p.get("ScalingConfig"))
                                .and_then(|s| s.get("MaximumConcurrency"))
                                .and_then(Value::as_u64),
                        });
                        continue;
                    }
                    if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                        continue;
                    }
                    let p = event
                        .get("Properties")
                        .ok_or_else(|| err(format!("{id}: HttpApi event without Properties")))?;
                    let get = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
                    routes.push(RouteDef {
                        method: get("Method")
                            .ok_or_else(|| err(format!("{id}: route without Method")))?
                            .to_uppercase(),
                        path: get("Path").ok_or_else(|| err(format!("{id}: route without Path")))?,
                        function_id: id.to_string(),
                    });
                }
            }
        }
        routes.sort();
        let mut ws_routes = Vec::new();
        let get = |id: &str| resources.get(id);
        if let Value::Mapping(map) = resources {
            for (id, resource) in map {
                if resource.get("Type").and_then(Value::as_str) != Some("AWS::ApiGatewayV2::Route") {
                    continue;
                }
                let id = id.as_str().unwrap_or_default();
                let p = resource
                    .get("Properties")
                    .ok_or_else(|| err(format!("{id}: no Properties")))?;
                let key = p
                    .get("RouteKey")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(format!("{id}: no RouteKey")))?;
                let target = p
                    .get("Target")
                    .and_then(sub_text)
                    .ok_or_else(|| err(format!("{id}: no Target")))?;
                let integration = sub_ref(target, |r| get(r).is_some())
                    .ok_or_else(|| err(format!("{id}: Target names no integration")))?;
                let uri = get(integration)
                    .and_then(|i| i.get("Properties"))
                    .and_then(|p| p.get("IntegrationUri"))
                    .and_then(sub_text)
                    .ok_or_else(|| err(format!("{integration}: no IntegrationUri")))?;
                let function = sub_ref(uri, |r| {
                    get(r).and_then(|f| f.get("Type")).and_then(Value::as_str) == Some("AWS::Serverless::Function")
                })
                .ok_or_else(|| err(format!("{integration}: IntegrationUri names no function")))?;
                ws_routes.push((key.to_string(), function.to_string()));
            }
        }
        ws_routes.sort();
        schedules.sort();
        queues.sort();
        queue_events.sort();
        functions.sort();
        Ok(Template {
            table,
            cors,
            routes,
            ws_routes,
            schedules,
            queues,
            queue_events,
            functions,
        })
    }
}

fn key_schema(defs: &[KeyDef]) -> Result<Vec<KeySchemaElement>, TemplateError> {
    defs.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| err(e.to_string()))
        })
        .collect()
}

impl TableDefinition {
    /// Creates the table as declared (and its TTL setting) unless it exists. Idempotent.
    pub async fn ensure(
        &self,
        db: &Client,
        table_name: &str,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        let existing = db.list_tables().send().await?.table_names.unwrap_or_default();
        if existing.iter().any(|t| t == table_name) {
            return Ok(false);
        }
        let mut req = db
            .create_table()
            .table_name(table_name)
            .billing_mode(BillingMode::from(self.billing_mode.as_str()))
            .set_key_schema(Some(key_schema(&self.key_schema)?));
        for a in &self.attribute_definitions {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()?,
            );
        }
        for g in &self.global_secondary_indexes {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(g.projection.projection_type.as_str()))
                .set_non_key_attributes(
                    (!g.projection.non_key_attributes.is_empty()).then(|| g.projection.non_key_attributes.clone()),
                )
                .build();
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&g.index_name)
                    .set_key_schema(Some(key_schema(&g.key_schema)?))
                    .projection(projection)
                    .build()?,
            );
        }
        req.send().await?;
        if let Some(ttl) = &self.time_to_live_specification {
            db.update_time_to_live()
                .table_name(table_name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(&ttl.attribute_name)
                        .enabled(ttl.enabled)
                        .build()?,
                )
                .send()
                .await?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_project_template() {
        let t = Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")).unwrap();
        assert_eq!(t.table.key_schema.len(), 2);
        assert_eq!(
            t.table.global_secondary_indexes[0].index_name,
            shared::domain::keys::GSI1
        );
        assert!(t.cors.allow_headers.iter().any(|h| h == "authorization"));
        assert!(t.routes.iter().any(|r| r.method == "POST" && r.path == "/live/start"));
        // The fan-out's shards run at once, up to the mapping's MaximumConcurrency.
        let fan_out = t
            .queue_events
            .iter()
            .find(|e| e.function_id == "FanOutFunction")
            .unwrap();
        assert_eq!((fan_out.batch_size, fan_out.max_concurrency), (1, Some(1000)));
    }

    #[test]
    fn reads_what_policies_grant() {
        let yaml = r#"
- !Ref SecretsReadPolicy
- Statement:
    - Effect: Allow
      Action: [dynamodb:Query, dynamodb:GetItem]
      Resource: [!GetAtt LiveTable.Arn, !Sub "${LiveTable.Arn}/index/*"]
    - Effect: Allow
      Action: execute-api:ManageConnections
      Resource:
        - !Sub "arn:aws:execute-api:r:a:${WebSocketApi}/live/POST/@connections/*"
        - !Sub "arn:aws:execute-api:r:a:${WebSocketApi}/live/DELETE/@connections/*"
"#;
        let p = policy_of(Some(&serde_yaml::from_str(yaml).unwrap()));
        assert_eq!(p.managed, ["SecretsReadPolicy"]);
        assert_eq!(
            (p.dynamodb, p.indexes),
            (vec!["GetItem".to_string(), "Query".into()], true)
        );
        assert_eq!(p.connections, ["DELETE", "POST"]);
    }
}
