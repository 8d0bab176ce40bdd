//! The per-process state every handler borrows: configuration, SDK clients and caches, built once
//! at cold start (outside the handler, so warm invocations reuse connections and the JWKS cache).

use aws_config::BehaviorVersion;

use crate::auth::Authenticator;
use crate::config::{env_var, Config, ConfigError, SECRET_PARAMETERS};
use crate::push::Pusher;
use crate::sfu::Sfu;
use crate::store::Store;

pub struct App {
    pub store: Store,
    pub auth: Authenticator,
    pub sfu: Sfu,
    pub push: Pusher,
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
        Ok(Self::new(config, aws_sdk_dynamodb::Client::new(&sdk), push_api))
    }

    /// `push_api`: the API Gateway management client (`None`: pushes are skipped).
    pub fn new(
        config: Config,
        db: aws_sdk_dynamodb::Client,
        push_api: Option<aws_sdk_apigatewaymanagement::Client>,
    ) -> Self {
        install_crypto_provider();
        Self {
            store: Store::new(db, config.table_name.clone()),
            auth: Authenticator::new(config.jwt.clone()),
            sfu: Sfu::new(config.sfu.clone()),
            push: Pusher::new(push_api),
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
