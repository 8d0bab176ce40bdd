//! Process configuration, read once from the environment at cold start.
//!
//! Every variable is listed in the README's configuration table. The deployed functions and the
//! local gateway read the same variables; only the local defaults differ (set by `make dev`).

use std::time::Duration;

use super::economy::Economy;
use super::fanout::FanoutTuning;
use super::rate::RateLimits;

/// How user JWTs are verified.
#[derive(Clone, Debug)]
pub enum JwtKeySource {
    /// HS256 with a shared secret (`JWT_SECRET`).
    Secret(String),
    /// RS256/ES256 keys from a JWKS document (`JWT_JWKS_URL`).
    Jwks(String),
}

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub keys: JwtKeySource,
    /// When set, `iss` is required and must equal it (`JWT_ISSUER`).
    pub issuer: Option<String>,
    /// When set, `aud` is required and must contain it (`JWT_AUDIENCE`).
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf` (`JWT_LEEWAY_SECONDS`, default 30).
    pub leeway_seconds: u64,
    /// Minimum time between two JWKS refetches triggered by unknown `kid`s.
    pub jwks_refetch_cooldown: Duration,
    /// The claim and value that make a token a server token (`SERVICE_ROLE_CLAIM`, default
    /// `role`; `SERVICE_ROLE_VALUE`, default `service_role`: Supabase's convention): only server
    /// tokens may credit wallets.
    pub service_role: (String, String),
}

impl JwtConfig {
    /// The default server-token claim: `"role": "service_role"`.
    pub fn default_service_role() -> (String, String) {
        ("role".into(), "service_role".into())
    }
}

#[derive(Clone, Debug)]
pub struct SfuConfig {
    /// URL clients connect to (`LIVEKIT_URL`), also used for server API calls.
    pub url: String,
    pub api_key: String,
    pub api_secret: String,
    /// Lifetime of minted SFU tokens (`SFU_TOKEN_TTL_SECONDS`, default [`SfuConfig::DEFAULT_TOKEN_TTL`]).
    pub token_ttl: Duration,
    /// ICE servers handed to clients verbatim (`ICE_SERVERS_JSON`, a JSON array; default `[]`).
    pub ice_servers: serde_json::Value,
    /// Where composite recordings go (LiveKit Egress).
    pub recording: RecordingConfig,
}

/// Where LiveKit Egress writes a session's composite recording (an MP4 file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingConfig {
    /// The file's path, with Egress's templates (`{room_name}`, `{time}`)
    /// (`RECORDING_FILEPATH`, default [`RecordingConfig::DEFAULT_FILEPATH`]).
    pub filepath: String,
    /// An S3 bucket to upload to (`RECORDING_S3_BUCKET`) in `RECORDING_S3_REGION`, with the
    /// egress worker's own credentials; unset: the egress worker's configured storage.
    pub s3_bucket: Option<String>,
    pub s3_region: Option<String>,
}

impl RecordingConfig {
    pub const DEFAULT_FILEPATH: &'static str = "recordings/{room_name}-{time}.mp4";
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            filepath: Self::DEFAULT_FILEPATH.into(),
            s3_bucket: None,
            s3_region: None,
        }
    }
}

impl SfuConfig {
    /// Five minutes: LiveKit checks a token only when a client connects and cannot revoke one, so
    /// a token outlives a kick or a leave by at most this long (the webhook removes such a client
    /// at once; README, "Why SFU tokens are short-lived").
    pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The single DynamoDB table (`TABLE_NAME`, default `trendke-live`).
    pub table_name: String,
    pub jwt: JwtConfig,
    pub sfu: SfuConfig,
    /// The WebSocket API's management endpoint (`WEBSOCKET_API_ENDPOINT`); unset: no pushes.
    pub websocket_endpoint: Option<String>,
    /// The fan-out's queues; unset: no pushes.
    pub queues: QueueUrls,
    pub tunables: Tunables,
}

/// The fan-out's queues (`docs/scale.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueUrls {
    /// Every pushed event, one FIFO message group per session (`EVENTS_QUEUE_URL`).
    pub events: Option<String>,
    /// One message per shard of a window (`FANOUT_QUEUE_URL`).
    pub fanout: Option<String>,
    /// Aggregate pushes due at the end of their coalescing window, delivered after a delay
    /// (`AGGREGATES_QUEUE_URL`).
    pub aggregates: Option<String>,
}

/// The limits and durations the rules apply that an operator may tune.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tunables {
    /// How long an invitation to the stage can be accepted (`INVITATION_TTL_SECONDS`, default
    /// 300, 30..=86400).
    pub invitation_ttl: Duration,
    /// How long an `Idempotency-Key` and its answer are remembered (`IDEMPOTENCY_TTL_SECONDS`,
    /// default 86400, 3600..=604800).
    pub idempotency_ttl: Duration,
    /// Per-user rate limits (`RATE_LIMITS`, see [`RateLimits`]).
    pub rates: RateLimits,
    /// How long a host may be gone from the SFU before their live session ends by itself
    /// (`HOST_GONE_END_SECONDS`, default 120, 10..=86400).
    pub host_gone_grace: Duration,
    /// How long a session may stay backstage before it ends by itself (`BACKSTAGE_MAX_SECONDS`,
    /// default 3600, 60..=86400).
    pub backstage_max: Duration,
    /// Frame windows, shards and the chat cap of the fan-out (`FANOUT`, see [`FanoutTuning`]).
    pub fanout: FanoutTuning,
    /// The gift catalogue (`GIFT_CATALOGUE_JSON`) and the recipients' revenue share
    /// (`REVENUE_SHARE_PERCENT`, default 70, 0..=100).
    pub economy: Economy,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            invitation_ttl: Duration::from_secs(300),
            idempotency_ttl: Duration::from_secs(86_400),
            rates: RateLimits::default(),
            host_gone_grace: Duration::from_secs(120),
            backstage_max: Duration::from_secs(3_600),
            fanout: FanoutTuning::default(),
            economy: Economy::default(),
        }
    }
}

/// A configuration error is fatal at init: the function must not start half-configured.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// A non-empty environment variable.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The variables the secrets can come from instead (SSM SecureString parameter names, read at
/// init by `App::from_env`), and the variable each stands in for.
pub const SECRET_PARAMETERS: [(&str, &str); 2] = [
    ("JWT_SECRET_PARAMETER", "JWT_SECRET"),
    ("LIVEKIT_API_SECRET_PARAMETER", "LIVEKIT_API_SECRET"),
];

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(env_var)
    }

    /// Reads the configuration through `var` (the environment, with fetched secrets laid over it).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &str| {
            var(name).ok_or_else(|| {
                let also = SECRET_PARAMETERS
                    .iter()
                    .find(|(_, stands_for)| *stands_for == name)
                    .map(|(parameter, _)| format!(" (or {parameter})"))
                    .unwrap_or_default();
                ConfigError(format!("{name}{also} is required"))
            })
        };
        let parse_var = |name: &str, default: u64| -> Result<u64, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError(format!("{name} must be a number, got {v:?}"))),
            }
        };
        let keys = match (var("JWT_SECRET"), var("JWT_JWKS_URL")) {
            (Some(secret), None) => JwtKeySource::Secret(secret),
            // Keys from an identity provider's JWKS sign tokens for every app of that provider:
            // only its issuer and this API's audience make a token one for us.
            (None, Some(_)) if var("JWT_ISSUER").is_none() || var("JWT_AUDIENCE").is_none() => {
                return Err(ConfigError(
                    "with JWT_JWKS_URL, both JWT_ISSUER and JWT_AUDIENCE are required".into(),
                ))
            }
            (None, Some(url)) => JwtKeySource::Jwks(url),
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "set exactly one of JWT_SECRET (or JWT_SECRET_PARAMETER) and JWT_JWKS_URL".into(),
                ))
            }
            (None, None) => {
                return Err(ConfigError(
                    "one of JWT_SECRET, JWT_SECRET_PARAMETER or JWT_JWKS_URL is required".into(),
                ))
            }
        };
        let ice_servers = match var("ICE_SERVERS_JSON") {
            None => serde_json::json!([]),
            Some(raw) => {
                let v: serde_json::Value = serde_json::from_str(&raw)
                    .map_err(|e| ConfigError(format!("ICE_SERVERS_JSON is not JSON: {e}")))?;
                if !v.is_array() {
                    return Err(ConfigError("ICE_SERVERS_JSON must be a JSON array".into()));
                }
                v
            }
        };
        let ttl = parse_var("SFU_TOKEN_TTL_SECONDS", SfuConfig::DEFAULT_TOKEN_TTL.as_secs())?;
        if !(60..=86_400).contains(&ttl) {
            return Err(ConfigError("SFU_TOKEN_TTL_SECONDS must be within 60..=86400".into()));
        }
        let invitation_ttl = parse_var("INVITATION_TTL_SECONDS", 300)?;
        if !(30..=86_400).contains(&invitation_ttl) {
            return Err(ConfigError("INVITATION_TTL_SECONDS must be within 30..=86400".into()));
        }
        let idempotency_ttl = parse_var("IDEMPOTENCY_TTL_SECONDS", 86_400)?;
        if !(3_600..=604_800).contains(&idempotency_ttl) {
            return Err(ConfigError(
                "IDEMPOTENCY_TTL_SECONDS must be within 3600..=604800".into(),
            ));
        }
        let revenue_share = parse_var("REVENUE_SHARE_PERCENT", 70)?;
        if revenue_share > 100 {
            return Err(ConfigError("REVENUE_SHARE_PERCENT must be within 0..=100".into()));
        }
        let revenue_share = u8::try_from(revenue_share).map_err(|e| ConfigError(e.to_string()))?;
        let host_gone = parse_var("HOST_GONE_END_SECONDS", 120)?;
        if !(10..=86_400).contains(&host_gone) {
            return Err(ConfigError("HOST_GONE_END_SECONDS must be within 10..=86400".into()));
        }
        let backstage_max = parse_var("BACKSTAGE_MAX_SECONDS", 3_600)?;
        if !(60..=86_400).contains(&backstage_max) {
            return Err(ConfigError("BACKSTAGE_MAX_SECONDS must be within 60..=86400".into()));
        }
        Ok(Config {
            table_name: var("TABLE_NAME").unwrap_or_else(|| "trendke-live".into()),
            websocket_endpoint: var("WEBSOCKET_API_ENDPOINT"),
            queues: QueueUrls {
                events: var("EVENTS_QUEUE_URL"),
                fanout: var("FANOUT_QUEUE_URL"),
                aggregates: var("AGGREGATES_QUEUE_URL"),
            },
            tunables: Tunables {
                invitation_ttl: Duration::from_secs(invitation_ttl),
                idempotency_ttl: Duration::from_secs(idempotency_ttl),
                rates: RateLimits::parse(&var("RATE_LIMITS").unwrap_or_default())
                    .map_err(|e| ConfigError(format!("RATE_LIMITS: {e}")))?,
                host_gone_grace: Duration::from_secs(host_gone),
                backstage_max: Duration::from_secs(backstage_max),
                fanout: match var("FANOUT") {
                    Some(v) => FanoutTuning::parse(&v).map_err(|e| ConfigError(format!("FANOUT: {e}")))?,
                    None => FanoutTuning::default(),
                },
                economy: Economy {
                    gifts: match var("GIFT_CATALOGUE_JSON") {
                        Some(v) => Economy::parse_catalogue(&v)
                            .map_err(|e| ConfigError(format!("GIFT_CATALOGUE_JSON: {e}")))?,
                        None => Economy::default().gifts,
                    },
                    revenue_share_percent: revenue_share,
                },
            },
            jwt: JwtConfig {
                keys,
                issuer: var("JWT_ISSUER"),
                audience: var("JWT_AUDIENCE"),
                leeway_seconds: parse_var("JWT_LEEWAY_SECONDS", 30)?,
                jwks_refetch_cooldown: Duration::from_secs(parse_var("JWT_JWKS_COOLDOWN_SECONDS", 30)?),
                service_role: (
                    var("SERVICE_ROLE_CLAIM").unwrap_or_else(|| JwtConfig::default_service_role().0),
                    var("SERVICE_ROLE_VALUE").unwrap_or_else(|| JwtConfig::default_service_role().1),
                ),
            },
            // No defaults: `make dev` sets the local SFU's; anywhere else a missing one is a
            // mistake that must not run with the dev key.
            sfu: SfuConfig {
                url: required("LIVEKIT_URL")?,
                api_key: required("LIVEKIT_API_KEY")?,
                api_secret: required("LIVEKIT_API_SECRET")?,
                token_ttl: Duration::from_secs(ttl),
                ice_servers,
                recording: RecordingConfig {
                    filepath: var("RECORDING_FILEPATH")
                        .filter(|p| !p.trim().is_empty())
                        .unwrap_or_else(|| RecordingConfig::DEFAULT_FILEPATH.into()),
                    s3_bucket: var("RECORDING_S3_BUCKET").filter(|b| !b.trim().is_empty()),
                    s3_region: var("RECORDING_S3_REGION").filter(|r| !r.trim().is_empty()),
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    const SFU: [(&str, &str); 3] = [
        ("LIVEKIT_URL", "wss://sfu.example"),
        ("LIVEKIT_API_KEY", "key"),
        ("LIVEKIT_API_SECRET", "secret-of-the-sfu"),
    ];

    #[test]
    fn nothing_fails_open() {
        let jwks = [SFU.as_slice(), &[("JWT_JWKS_URL", "https://idp.example/jwks.json")]].concat();
        let err = from(&jwks).unwrap_err();
        assert!(err.0.contains("JWT_ISSUER") && err.0.contains("JWT_AUDIENCE"), "{err}");
        let complete = [
            jwks.as_slice(),
            &[("JWT_ISSUER", "https://idp.example"), ("JWT_AUDIENCE", "live")],
        ]
        .concat();
        assert!(from(&complete).is_ok());

        for missing in ["LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"] {
            let vars: Vec<(&str, &str)> = SFU
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .chain([("JWT_SECRET", "s")])
                .collect();
            let err = from(&vars).unwrap_err();
            assert!(err.0.starts_with(missing), "{err}");
        }
        let err = from(&[("JWT_SECRET", "s"), SFU[0], SFU[1]]).unwrap_err();
        assert!(
            err.0.contains("LIVEKIT_API_SECRET_PARAMETER"),
            "the SSM alternative is named: {err}"
        );
    }
}
