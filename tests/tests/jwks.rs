//! JWKS verification (RS256 and ES256) against a real HTTP JWKS endpoint on loopback: key choice
//! by `kid`, algorithm from the key, iss/aud, refetch on unknown `kid` with a cooldown, and stale
//! keys served when the identity provider is down.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use e2e::{now, repo_root};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use shared::domain::config::{JwtConfig, JwtKeySource};
use shared::effects::auth::Authenticator;

struct Idp {
    fetches: AtomicUsize,
    /// Serve only the RSA key until set (key rotation adds the EC key).
    rotated: AtomicBool,
    down: AtomicBool,
    jwks: Value,
}

async fn jwks(State(idp): State<Arc<Idp>>) -> Result<axum::Json<Value>, StatusCode> {
    idp.fetches.fetch_add(1, Ordering::SeqCst);
    if idp.down.load(Ordering::SeqCst) {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    let mut doc = idp.jwks.clone();
    if !idp.rotated.load(Ordering::SeqCst) {
        doc["keys"].as_array_mut().unwrap().retain(|k| k["kid"] == "rsa-1");
    }
    Ok(axum::Json(doc))
}

async fn idp() -> (Arc<Idp>, String) {
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/jwks.json")).unwrap();
    let idp = Arc::new(Idp {
        fetches: AtomicUsize::new(0),
        rotated: AtomicBool::new(false),
        down: AtomicBool::new(false),
        jwks: serde_json::from_str(&text).unwrap(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (idp, url)
}

fn auth(url: &str, cooldown: Duration) -> Authenticator {
    Authenticator::new(JwtConfig {
        keys: JwtKeySource::Jwks(url.into()),
        issuer: Some("https://idp.test".into()),
        audience: Some("trendke".into()),
        leeway_seconds: 0,
        jwks_refetch_cooldown: cooldown,
        service_role: JwtConfig::default_service_role(),
    })
}

fn key(file: &str, alg: Algorithm) -> EncodingKey {
    let pem = std::fs::read(repo_root().join("tests/fixtures").join(file)).unwrap();
    match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        _ => EncodingKey::from_ec_pem(&pem).unwrap(),
    }
}

fn claims(sub: &str) -> Value {
    json!({"sub": sub, "exp": now() + 600, "iss": "https://idp.test", "aud": "trendke", "name": "Ada"})
}

fn signed(alg: Algorithm, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    let file = if alg == Algorithm::RS256 {
        "rsa-private.pem"
    } else {
        "ec-private.pem"
    };
    encode(&header, claims, &key(file, alg)).unwrap()
}

#[tokio::test]
async fn rs256_and_es256_tokens_verify_with_their_keys_only() {
    let (idp, url) = idp().await;
    idp.rotated.store(true, Ordering::SeqCst);
    let a = auth(&url, Duration::from_secs(30));
    let user = a
        .verify(&signed(Algorithm::RS256, "rsa-1", &claims("u1")))
        .await
        .unwrap();
    assert_eq!((user.id.as_str(), user.username.as_str()), ("u1", "Ada"));
    assert_eq!(
        a.verify(&signed(Algorithm::ES256, "ec-1", &claims("u2")))
            .await
            .unwrap()
            .id,
        "u2"
    );
    // A key is used only with its own algorithm: an EC signature under the RSA kid fails.
    assert!(a
        .verify(&signed(Algorithm::ES256, "rsa-1", &claims("u3")))
        .await
        .is_err());
    // Algorithm confusion: HS256 "signed" with the RSA public key material is refused.
    let n = idp.jwks["keys"][0]["n"].as_str().unwrap();
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("rsa-1".into());
    let confused = encode(&h, &claims("evil"), &EncodingKey::from_secret(n.as_bytes())).unwrap();
    assert!(a.verify(&confused).await.is_err());
    // iss and aud are required and checked when configured.
    let mut wrong_aud = claims("u4");
    wrong_aud["aud"] = json!("someone-else");
    assert!(a.verify(&signed(Algorithm::RS256, "rsa-1", &wrong_aud)).await.is_err());
    let mut no_iss = claims("u5");
    no_iss.as_object_mut().unwrap().remove("iss");
    assert!(a.verify(&signed(Algorithm::RS256, "rsa-1", &no_iss)).await.is_err());
    assert_eq!(
        idp.fetches.load(Ordering::SeqCst),
        1,
        "the key set is cached per process"
    );
}

#[tokio::test]
async fn unknown_kid_refetches_once_per_cooldown() {
    let (idp, url) = idp().await;
    let a = auth(&url, Duration::from_secs(3600));
    assert!(a.verify(&signed(Algorithm::RS256, "rsa-1", &claims("u"))).await.is_ok());
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 1);
    // ec-1 is not published yet: one refetch, then the cooldown holds further ones back.
    for _ in 0..5 {
        assert!(a.verify(&signed(Algorithm::ES256, "ec-1", &claims("u"))).await.is_err());
    }
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn rotation_is_picked_up_and_stale_keys_survive_an_outage() {
    let (idp, url) = idp().await;
    let a = auth(&url, Duration::ZERO);
    assert!(a.verify(&signed(Algorithm::RS256, "rsa-1", &claims("u"))).await.is_ok());
    idp.rotated.store(true, Ordering::SeqCst);
    assert!(
        a.verify(&signed(Algorithm::ES256, "ec-1", &claims("u"))).await.is_ok(),
        "new kid after rotation"
    );
    idp.down.store(true, Ordering::SeqCst);
    let before = idp.fetches.load(Ordering::SeqCst);
    assert!(a
        .verify(&signed(Algorithm::RS256, "rsa-9", &claims("u")))
        .await
        .is_err());
    assert_eq!(idp.fetches.load(Ordering::SeqCst), before + 1, "tried the provider");
    assert!(
        a.verify(&signed(Algorithm::RS256, "rsa-1", &claims("u"))).await.is_ok(),
        "cached key still works"
    );
}

/// A JWKS document is read up to a bound (the audit's hole 9): a provider that answers with
/// megabytes verifies nothing (the keys it carries are not taken) instead of filling memory.
#[tokio::test]
async fn an_oversized_key_set_is_not_read() {
    let (idp, _) = idp().await;
    let mut huge = idp.jwks.clone();
    huge["padding"] = json!("x".repeat(300 * 1024));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let app = Router::new().route("/jwks.json", get(move || async move { axum::Json(huge) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let a = auth(&url, Duration::from_secs(30));
    let refused = a.verify(&signed(Algorithm::RS256, "rsa-1", &claims("u"))).await;
    assert!(refused.is_err(), "a key from an oversized document was used");
}
