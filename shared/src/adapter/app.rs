//! The per-process state every handler borrows: configuration, SDK clients and caches, built once
//! at cold start (outside the handler, so warm invocations reuse connections and the JWKS cache).

use aws_config::BehaviorVersion;

use crate::domain::config::{env_var, Config, ConfigError, QueueUrls, SECRET_PARAMETERS};
use crate::effects::auth::Authenticator;
use crate::effects::push::Pusher;
use crate::effects::queue::Queues;
use crate::effects::sfu::Sfu;
use crate::effects::store::Store;
use crate::effects::Effects;

/// Everything a request needs: the effects the rules act through, and the authenticator the
/// adapter verifies callers with.
pub struct App {
    pub fx: Effects,
    pub auth: Authenticator,
}

impl App {
    /// Builds the app from the environment (the standard AWS variables, e.g.
    /// `AWS_ENDPOINT_URL_DYNAMODB`, point the SDK at a local emulator).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        let config = load_config(&sdk, env_var).await?;
        let push_api = config
            .websocket_endpoint
            .as_deref()
            .map(|url| management_client(&sdk, url));
        let sqs = (config.queues != QueueUrls::default()).then(|| aws_sdk_sqs::Client::new(&sdk));
        Ok(Self::new(config, aws_sdk_dynamodb::Client::new(&sdk), push_api, sqs))
    }

    /// `push_api`: the API Gateway management client, `sqs`: the fan-out's queues' (`None`:
    /// pushes are skipped).
    pub fn new(
        config: Config,
        db: aws_sdk_dynamodb::Client,
        push_api: Option<aws_sdk_apigatewaymanagement::Client>,
        sqs: Option<aws_sdk_sqs::Client>,
    ) -> Self {
        install_crypto_provider();
        Self {
            fx: Effects {
                store: Store::new(super::calls::counted_dynamodb(&db), config.table_name.clone()),
                sfu: Sfu::new(config.sfu.clone()),
                push: Pusher::new(push_api),
                queues: Queues::new(sqs, config.queues.clone()),
                tunables: config.tunables.clone(),
                clock: Default::default(),
            },
            auth: Authenticator::new(config.jwt.clone()),
        }
    }

    /// The same app, with every AWS call it makes checked against the policy that
    /// `template.yaml` gives the function of the endpoint being served (see [`super::iam`]):
    /// locally, where nothing enforces IAM, a call the deployed function could not make fails.
    pub fn enforcing_policies(self) -> Self {
        let db = super::iam::enforced_dynamodb(self.fx.store.client());
        let push = self.fx.push.api().map(super::iam::enforced_connections);
        let sqs = self.fx.queues.client().map(super::iam::enforced_queues);
        let table = self.fx.store.table().to_string();
        Self {
            fx: Effects {
                store: Store::new(db, table),
                push: Pusher::new(push),
                queues: Queues::new(sqs, self.fx.queues.urls().clone()),
                ..self.fx
            },
            ..self
        }
    }
}

/// The configuration from `var` (the environment in a function). Secrets named by
/// `JWT_SECRET_PARAMETER` / `LIVEKIT_API_SECRET_PARAMETER` are read from SSM Parameter Store
/// (SecureString, decrypted) here, once per cold start: they are never in the template or the
/// function's environment.
pub async fn load_config(
    sdk: &aws_config::SdkConfig,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut fetched = std::collections::HashMap::new();
    for (parameter_var, stands_for) in SECRET_PARAMETERS {
        if let Some(name) = var(parameter_var) {
            fetched.insert(stands_for, secret_parameter(sdk, &name).await?);
        }
    }
    Config::from_vars(|name| fetched.get(name).cloned().or_else(|| var(name)))
}

/// A SecureString parameter's decrypted value; a missing or unreadable one stops the cold start.
async fn secret_parameter(sdk: &aws_config::SdkConfig, name: &str) -> Result<String, ConfigError> {
    let out = aws_sdk_ssm::Client::new(sdk)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            ConfigError(format!(
                "SSM parameter {name}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(e)
            ))
        })?;
    out.parameter
        .and_then(|p| p.value)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError(format!("SSM parameter {name} is empty")))
}

/// The management API client for a WebSocket API stage (`https://{api-id}.execute-api.{region}.
/// amazonaws.com/{stage}` in AWS, the local gateway's WebSocket port locally).
pub fn management_client(sdk: &aws_config::SdkConfig, endpoint: &str) -> aws_sdk_apigatewaymanagement::Client {
    let conf = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
        .endpoint_url(endpoint)
        .build();
    aws_sdk_apigatewaymanagement::Client::from_conf(conf)
}

/// The AWS SDK (aws-lc-rs) and LiveKit's client (ring) both link rustls providers; with two
/// compiled in, rustls needs a process default or every TLS client build fails.
fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
