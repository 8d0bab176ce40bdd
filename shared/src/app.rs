//! The per-process state every handler borrows: configuration, SDK clients and caches, built once
//! at cold start (outside the handler, so warm invocations reuse connections and the JWKS cache).

use aws_config::BehaviorVersion;

use crate::auth::Authenticator;
use crate::config::{Config, ConfigError};
use crate::sfu::Sfu;
use crate::store::Store;

pub struct App {
    pub store: Store,
    pub auth: Authenticator,
    pub sfu: Sfu,
}

impl App {
    /// Builds the app from the environment (the standard AWS variables, e.g.
    /// `AWS_ENDPOINT_URL_DYNAMODB`, point the SDK at a local emulator).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Ok(Self::new(config, aws_sdk_dynamodb::Client::new(&sdk)))
    }

    pub fn new(config: Config, db: aws_sdk_dynamodb::Client) -> Self {
        install_crypto_provider();
        Self {
            store: Store::new(db, config.table_name.clone()),
            auth: Authenticator::new(config.jwt.clone()),
            sfu: Sfu::new(config.sfu.clone()),
        }
    }
}

/// The AWS SDK (aws-lc-rs) and LiveKit's client (ring) both link rustls providers; with two
/// compiled in, rustls needs a process default or every TLS client build fails.
fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
