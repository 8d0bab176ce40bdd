//! The per-process state every handler borrows: configuration, SDK clients and caches, built once
//! at cold start (outside the handler, so warm invocations reuse connections and the JWKS cache).

use aws_config::BehaviorVersion;

use crate::auth::Authenticator;
use crate::config::{Config, ConfigError};
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
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
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
