//! User authentication: `Authorization: Bearer <JWT>` verified in our code.
//!
//! API Gateway's built-in JWT authorizer only supports RSA keys (and Cognito access tokens carry
//! no `aud`), so verification lives here. The algorithm always comes from configuration (HS256
//! for `JWT_SECRET`) or from the key itself (RS256/ES256 for a JWKS key), never from the token
//! header. `exp` and `sub` are required; `iss`/`aud` are required and checked when configured.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::domain::config::{JwtConfig, JwtKeySource};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::ids::UserId;
use crate::domain::text::forbidden_char;
use crate::domain::User;

#[derive(Deserialize)]
struct Claims {
    // Defaulted so that a missing `sub` is reported by the required-claims check, by name.
    #[serde(default)]
    sub: String,
    username: Option<String>,
    preferred_username: Option<String>,
    name: Option<String>,
    avatar_url: Option<String>,
    picture: Option<String>,
}

/// JWKS documents are refreshed at least this often, even when every `kid` is known.
const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// Largest token read: real ones are a few hundred bytes; a huge one is only work for us.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Largest JWKS document read (providers publish a handful of keys, a few KB).
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Longest display name taken from a token.
const MAX_USERNAME_CHARS: usize = 64;
/// Longest avatar URL taken from a token.
const MAX_AVATAR_URL_BYTES: usize = 2048;

pub struct Authenticator {
    config: JwtConfig,
    hs_key: Option<DecodingKey>,
    jwks: RwLock<JwksCache>,
    /// For fetching the JWKS; built at the first fetch (building a TLS client costs a cold start
    /// milliseconds that HS256 functions never need).
    http: std::sync::OnceLock<reqwest::Client>,
}

#[derive(Default)]
struct JwksCache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched_at: Option<Instant>,
    last_kid_refetch: Option<Instant>,
    last_failure: Option<Instant>,
}

impl Authenticator {
    pub fn new(config: JwtConfig) -> Self {
        let hs_key = match &config.keys {
            JwtKeySource::Secret(s) => Some(DecodingKey::from_secret(s.as_bytes())),
            JwtKeySource::Jwks(_) => None,
        };
        Self {
            config,
            hs_key,
            jwks: RwLock::new(JwksCache::default()),
            http: std::sync::OnceLock::new(),
        }
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("reqwest client with static settings")
        })
    }

    /// Verifies an `Authorization` header value and returns the caller.
    pub async fn authenticate(&self, authorization: Option<&str>) -> ApiResult<User> {
        self.verify(bearer(authorization)?).await
    }

    /// Verifies a raw JWT (also used for WebSocket `$connect`, where the token is in the query).
    pub async fn verify(&self, token: &str) -> ApiResult<User> {
        user_from_claims(self.claims(token).await?)
    }

    /// Verifies a server token (the embedding app's backend): a token verified like any other
    /// whose configured claim (`role`) holds the configured value (`service_role`); 403 for any
    /// other valid token.
    pub async fn authenticate_service(&self, authorization: Option<&str>) -> ApiResult<User> {
        // Every claim, to read the configurable one; then the user's, from the same claims.
        let all: serde_json::Map<String, serde_json::Value> = self.claims(bearer(authorization)?).await?;
        let (claim, value) = &self.config.service_role;
        if all.get(claim).and_then(|v| v.as_str()) != Some(value.as_str()) {
            return Err(ApiError::Forbidden("only a server token may do this".into()));
        }
        let claims = serde_json::from_value(serde_json::Value::Object(all))
            .map_err(|e| ApiError::Unauthorized(format!("token claims: {e}")))?;
        user_from_claims(claims)
    }

    /// A token's verified claims, as `T`.
    async fn claims<T: serde::de::DeserializeOwned>(&self, token: &str) -> ApiResult<T> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(ApiError::Unauthorized(format!(
                "token is larger than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let (key, alg) = match &self.hs_key {
            Some(k) => (k.clone(), Algorithm::HS256),
            None => self.jwks_key(token).await?,
        };
        decode::<T>(token, &key, &self.validation(alg))
            .map(|data| data.claims)
            .map_err(|e| ApiError::Unauthorized(describe(&e)))
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &self.config.issuer {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.config.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v.validate_nbf = true;
        v.leeway = self.config.leeway_seconds;
        v
    }

    async fn jwks_key(&self, token: &str) -> ApiResult<(DecodingKey, Algorithm)> {
        let header = decode_header(token).map_err(|e| ApiError::Unauthorized(describe(&e)))?;
        let kid = header.kid.unwrap_or_default();
        {
            let cache = self.jwks.read().await;
            let fresh = cache.fetched_at.is_some_and(|t| t.elapsed() < JWKS_MAX_AGE);
            if let (true, Some(found)) = (fresh, lookup(&cache.keys, &kid)) {
                return Ok(found);
            }
        }
        let mut cache = self.jwks.write().await;
        let cooldown = self.config.jwks_refetch_cooldown;
        let cooled = |t: Option<Instant>| t.is_none_or(|t| t.elapsed() >= cooldown);
        let stale = cache.fetched_at.is_none_or(|t| t.elapsed() >= JWKS_MAX_AGE);
        let unknown = lookup(&cache.keys, &kid).is_none();
        // Refetch when the document is old, or when a kid is unknown (key rotation) but at most
        // once per cooldown, so a flood of tokens with made-up kids cannot hammer the identity
        // provider; after a failed fetch, wait a cooldown too.
        if (stale || (unknown && cooled(cache.last_kid_refetch))) && cooled(cache.last_failure) {
            if !stale {
                cache.last_kid_refetch = Some(Instant::now());
            }
            match self.fetch_jwks().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched_at = Some(Instant::now());
                    cache.last_failure = None;
                }
                // Serve the keys we have: an identity provider outage must not log everyone out.
                Err(e) => {
                    cache.last_failure = Some(Instant::now());
                    tracing::warn!(error = %e, "JWKS fetch failed; using cached keys");
                }
            }
        }
        lookup(&cache.keys, &kid).ok_or_else(|| ApiError::Unauthorized("token signed by an unknown key".into()))
    }

    async fn fetch_jwks(&self) -> Result<HashMap<String, (DecodingKey, Algorithm)>, String> {
        let JwtKeySource::Jwks(url) = &self.config.keys else {
            return Err("no JWKS URL configured".into());
        };
        let mut response = self
            .http()
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?;
        // Read with a bound: a misbehaving endpoint cannot make us hold an unbounded document.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err(format!("JWKS document larger than {MAX_JWKS_BYTES} bytes"));
            }
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(alg) = key_algorithm(jwk) else { continue };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(jwk.common.key_id.clone().unwrap_or_default(), (key, alg));
                }
                Err(e) => tracing::warn!(error = %e, "skipping unusable JWK"),
            }
        }
        Ok(keys)
    }
}

/// A token without `kid` is accepted only when the set holds exactly one key.
fn lookup(keys: &HashMap<String, (DecodingKey, Algorithm)>, kid: &str) -> Option<(DecodingKey, Algorithm)> {
    if kid.is_empty() && keys.len() == 1 {
        return keys.values().next().cloned();
    }
    keys.get(kid).cloned()
}

/// The algorithm a JWK may be used with: RS256 for RSA keys, ES256 for P-256 keys; anything else
/// (symmetric keys in a JWKS, other curves, an `alg` that disagrees) is ignored.
fn key_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(by_type),
        Some(KeyAlgorithm::RS256) if by_type == Algorithm::RS256 => Some(by_type),
        Some(KeyAlgorithm::ES256) if by_type == Algorithm::ES256 => Some(by_type),
        Some(_) => None,
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(authorization: Option<&str>) -> ApiResult<&str> {
    let header = authorization.ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("expected `Authorization: Bearer <token>`".into()))
}

fn user_from_claims(c: Claims) -> ApiResult<User> {
    let sub = UserId::parse(c.sub.trim())
        .map_err(|_| ApiError::Unauthorized("token `sub` is empty, too long or has forbidden characters".into()))?;
    let username = [c.username, c.preferred_username, c.name]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| sub.to_string());
    // The name and avatar are shown to everyone in the session: nothing that could disguise them.
    if username.chars().count() > MAX_USERNAME_CHARS || forbidden_char(&username, false).is_some() {
        return Err(ApiError::Unauthorized(format!(
            "token name claim must be at most {MAX_USERNAME_CHARS} characters without control or bidi characters"
        )));
    }
    let avatar_url = [c.avatar_url, c.picture]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty());
    if let Some(url) = &avatar_url {
        let safe = url.len() <= MAX_AVATAR_URL_BYTES
            && url.starts_with("https://")
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !safe {
            return Err(ApiError::Unauthorized(format!(
                "token avatar claim must be an https URL of at most {MAX_AVATAR_URL_BYTES} bytes"
            )));
        }
    }
    Ok(User {
        id: sub,
        username,
        avatar_url,
    })
}

/// A client-safe description of why a token was refused.
fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind::*;
    match e.kind() {
        ExpiredSignature => "token expired".into(),
        ImmatureSignature => "token not yet valid (nbf)".into(),
        InvalidSignature => "token signature is invalid".into(),
        InvalidIssuer => "token issuer is not accepted".into(),
        InvalidAudience => "token audience is not accepted".into(),
        InvalidAlgorithm => "token algorithm is not accepted".into(),
        MissingRequiredClaim(c) => format!("token lacks required claim `{c}`"),
        InvalidClaimFormat(c) => format!("token claim `{c}` has the wrong type"),
        _ => "token is malformed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    fn hs(issuer: Option<&str>, audience: Option<&str>) -> Authenticator {
        Authenticator::new(JwtConfig {
            keys: JwtKeySource::Secret("s3cret".into()),
            issuer: issuer.map(Into::into),
            audience: audience.map(Into::into),
            leeway_seconds: 0,
            jwks_refetch_cooldown: Duration::from_secs(30),
            service_role: JwtConfig::default_service_role(),
        })
    }

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    fn sign(claims: serde_json::Value, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    async fn status(auth: &Authenticator, claims: serde_json::Value) -> Result<User, String> {
        auth.verify(&sign(claims, "s3cret")).await.map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn accepts_valid_token_and_reads_profile_claims() {
        let user = status(
            &hs(None, None),
            json!({"sub": "u1", "exp": now() + 60, "preferred_username": "alice", "picture": "https://p/a.png"}),
        )
        .await
        .unwrap();
        assert_eq!(
            user,
            User {
                id: UserId::parse("u1").unwrap(),
                username: "alice".into(),
                avatar_url: Some("https://p/a.png".into())
            }
        );
    }

    #[tokio::test]
    async fn refuses_missing_exp_sub_expired_and_future_nbf() {
        let a = hs(None, None);
        assert!(status(&a, json!({"sub": "u1"})).await.unwrap_err().contains("exp"));
        assert!(status(&a, json!({"exp": now() + 60}))
            .await
            .unwrap_err()
            .contains("sub"));
        assert!(status(&a, json!({"sub": "u1", "exp": now() - 10}))
            .await
            .unwrap_err()
            .contains("expired"));
        assert!(status(&a, json!({"sub": "u1", "exp": now() + 60, "nbf": now() + 600}))
            .await
            .unwrap_err()
            .contains("nbf"));
        // CVE-2026-25537: a string-typed exp must not be treated as absent.
        assert!(status(&a, json!({"sub": "u1", "exp": "9999999999"})).await.is_err());
    }

    #[tokio::test]
    async fn refuses_wrong_secret_and_other_algorithms() {
        let a = hs(None, None);
        let forged = sign(json!({"sub": "u1", "exp": now() + 60}), "other");
        assert!(a.verify(&forged).await.unwrap_err().to_string().contains("signature"));
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &json!({"sub": "u1", "exp": now() + 60}),
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        assert!(a.verify(&hs512).await.is_err());
    }

    #[tokio::test]
    async fn issuer_and_audience_are_required_when_configured() {
        let a = hs(Some("https://idp"), Some("trendke"));
        let ok = json!({"sub": "u1", "exp": now() + 60, "iss": "https://idp", "aud": "trendke"});
        assert!(status(&a, ok).await.is_ok());
        assert!(status(&a, json!({"sub": "u1", "exp": now() + 60, "aud": "trendke"}))
            .await
            .is_err());
        assert!(
            status(&a, json!({"sub": "u1", "exp": now() + 60, "iss": "https://idp"}))
                .await
                .is_err()
        );
        assert!(status(
            &a,
            json!({"sub": "u1", "exp": now() + 60, "iss": "https://evil", "aud": "trendke"})
        )
        .await
        .is_err());
    }

    #[tokio::test]
    async fn bearer_header_is_required() {
        let a = hs(None, None);
        assert!(matches!(a.authenticate(None).await, Err(ApiError::Unauthorized(_))));
        assert!(matches!(
            a.authenticate(Some("Basic abc")).await,
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            a.authenticate(Some("Bearer ")).await,
            Err(ApiError::Unauthorized(_))
        ));
    }
}
