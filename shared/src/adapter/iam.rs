//! What each function may call in AWS, declared once in the endpoint table ([`Policy`]) and
//! granted exactly so by `template.yaml` (a drift test compares the two).
//!
//! Nothing enforces IAM locally (moto accepts every call), so a forgotten action would only show
//! in AWS. The local gateway and the end-to-end tests therefore run the app with
//! [`App::enforcing_policies`](super::app::App::enforcing_policies): an SDK interceptor refuses,
//! like IAM would, every DynamoDB, SQS or `@connections` call that the policy of the endpoint being
//! served does not allow, and says which action to declare.

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// What a function may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// DynamoDB actions on the table (`GetItem`, `Query`, …).
    pub dynamodb: &'static [&'static str],
    /// Whether the table's indexes are also a resource (a Query on GSI1).
    pub indexes: bool,
    /// `execute-api:ManageConnections` methods on the WebSocket API: `POST` (push), `DELETE`
    /// (close a socket).
    pub connections: &'static [&'static str],
    /// Queues (logical ids in `template.yaml`) the function sends messages to
    /// (`sqs:SendMessage`).
    pub queues: &'static [&'static str],
}

impl Policy {
    /// Only the secrets at cold start (every function may read those).
    pub const NOTHING: Policy = Policy {
        dynamodb: &[],
        indexes: false,
        connections: &[],
        queues: &[],
    };
}

/// The function a request is served by, for the length of its handling.
#[derive(Clone, Copy, Debug)]
pub struct Serving {
    /// Its `Handler`.
    pub name: &'static str,
    pub function_id: &'static str,
    pub policy: &'static Policy,
}

tokio::task_local! {
    /// The function serving the current request (set by `table::serve`).
    pub static SERVING: Serving;
}

/// A DynamoDB client whose calls are checked against the serving function's policy.
pub fn enforced_dynamodb(db: &aws_sdk_dynamodb::Client) -> aws_sdk_dynamodb::Client {
    let conf = db.config().to_builder().interceptor(Enforce).build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// An SQS client whose calls are checked against the serving function's policy.
pub fn enforced_queues(sqs: &aws_sdk_sqs::Client) -> aws_sdk_sqs::Client {
    let conf = sqs.config().to_builder().interceptor(Enforce).build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// A management API client whose calls are checked against the serving function's policy.
pub fn enforced_connections(api: &aws_sdk_apigatewaymanagement::Client) -> aws_sdk_apigatewaymanagement::Client {
    let conf = api.config().to_builder().interceptor(Enforce).build();
    aws_sdk_apigatewaymanagement::Client::from_conf(conf)
}

/// Refuses the calls the serving function's policy does not allow. Calls made outside a request
/// (set-up, tests seeding the table) are not a function's and pass.
#[derive(Debug)]
struct Enforce;

impl Intercept for Enforce {
    fn name(&self) -> &'static str {
        "EnforcePolicy"
    }

    // Not `read_before_execution`: a client's interceptors run that before the operation's own
    // configuration, which is where the operation's name is stored.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let Ok(serving) = SERVING.try_with(|s| *s) else {
            return Ok(());
        };
        let op = cfg
            .load::<Metadata>()
            .ok_or("IAM emulation: an AWS call without its operation's name")?;
        let refused = match op.service() {
            "DynamoDB" => {
                let on_index = context
                    .input()
                    .downcast_ref::<aws_sdk_dynamodb::operation::query::QueryInput>()
                    .is_some_and(|q| q.index_name().is_some());
                if !serving.policy.dynamodb.contains(&op.name()) {
                    Some(format!("dynamodb:{}", op.name()))
                } else if on_index && !serving.policy.indexes {
                    Some(format!("dynamodb:{} on the table's indexes", op.name()))
                } else {
                    None
                }
            }
            // Sends need the queue in the policy; a queue's consumer may change the visibility of
            // the messages it received (Lambda's SQS execution role grants it).
            "SQS" => match op.name() {
                "SendMessage" | "SendMessageBatch" if serving.policy.queues.is_empty() => {
                    Some(format!("sqs:{}", op.name()))
                }
                _ => None,
            },
            _ => {
                let method = match op.name() {
                    "PostToConnection" => "POST",
                    "DeleteConnection" => "DELETE",
                    _ => "GET",
                };
                (!serving.policy.connections.contains(&method))
                    .then(|| format!("execute-api:ManageConnections ({method} @connections)"))
            }
        };
        match refused {
            None => Ok(()),
            Some(action) => {
                let message = format!(
                    "AccessDenied (IAM emulation): {} ({}) is not allowed {action}; add it to the endpoint's policy \
                     in shared/src/adapter/endpoints.rs and to the function in template.yaml",
                    serving.function_id, serving.name
                );
                tracing::error!("{message}");
                Err(message.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    const READS_TABLE: Policy = Policy {
        dynamodb: &["GetItem", "Query"],
        ..Policy::NOTHING
    };

    fn serving(policy: &'static Policy) -> Serving {
        Serving {
            name: "probe",
            function_id: "ProbeFunction",
            policy,
        }
    }

    #[tokio::test]
    async fn calls_beyond_the_serving_policy_are_refused_like_iam() {
        let get = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        let query = mock!(Client::query).then_output(|| QueryOutput::builder().build());
        let db = enforced_dynamodb(&mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get, &query]));
        let get_item = || db.get_item().table_name("t").key("pk", s("k")).send();
        let on_index = || db.query().table_name("t").index_name("gsi1").send();

        // Outside a request (set-up, seeding), nothing is refused.
        assert!(get_item().await.is_ok());
        SERVING
            .scope(serving(&READS_TABLE), async {
                assert!(get_item().await.is_ok(), "declared");
                let denied = on_index().await.unwrap_err();
                let text = format!("{:?}", denied);
                assert!(
                    text.contains("is not allowed dynamodb:Query on the table's indexes"),
                    "{text}"
                );
                assert!(text.contains("ProbeFunction (probe)"), "{text}");
            })
            .await;
        SERVING
            .scope(serving(&Policy::NOTHING), async {
                let text = format!("{:?}", get_item().await.unwrap_err());
                assert!(
                    text.contains("AccessDenied (IAM emulation)") && text.contains("dynamodb:GetItem"),
                    "{text}"
                );
            })
            .await;
    }

    fn s(v: &str) -> aws_sdk_dynamodb::types::AttributeValue {
        aws_sdk_dynamodb::types::AttributeValue::S(v.into())
    }
}
