//! The browser client's side of the local gateway (never deployed): the built `web/` app at `/`,
//! its runtime configuration at `/config.json`, and the dev sign-in route `POST /dev/token`, which
//! mints a user JWT for a chosen name with the local HS256 secret. Deployed, the app's assets live
//! in a bucket behind a CDN (README, "The web client") with a `config.json` naming the real APIs,
//! and the embedding app's identity provider issues the tokens.

use std::path::PathBuf;

use axum::body::Body as AxumBody;
use axum::response::{IntoResponse, Response as AxumResponse};
use http::{header, HeaderMap, HeaderValue, Method, Request};
use serde_json::json;
use shared::domain::error::ApiError;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Names that sign in through `POST /dev/token` become the token's `sub` and `username` as typed
/// (trimmed): `make token USER=alice` and "alice" in the browser are the same user.
const MAX_NAME: usize = 40;

/// How long a dev token lasts (`POST /dev/token`, and `make token` unless told otherwise).
pub const DEV_TOKEN_TTL_SECONDS: u64 = 12 * 3600;

/// What the gateway serves for the browser client.
#[derive(Clone, Debug, Default)]
pub struct Web {
    /// The built app (`web/dist`); `None` serves no pages.
    pub root: Option<PathBuf>,
    /// The WebSocket API's port, for `config.json` (the browser reaches it on the host it used
    /// for the page).
    pub ws_port: u16,
    /// Mints dev tokens at `POST /dev/token` (only with a local HS256 secret).
    pub dev_sign_in: Option<DevSigner>,
}

/// Signs dev tokens: HS256 with the secret the functions verify, plus `iss`/`aud` when they check
/// them.
#[derive(Clone)]
pub struct DevSigner {
    secret: String,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for DevSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevSigner").finish_non_exhaustive()
    }
}

impl DevSigner {
    /// From `JWT_SECRET` (and `JWT_ISSUER`, `JWT_AUDIENCE`); `None` without a secret (a JWKS
    /// set-up cannot mint tokens).
    pub fn from_env() -> Option<DevSigner> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Some(DevSigner {
            secret: var("JWT_SECRET")?,
            issuer: var("JWT_ISSUER"),
            audience: var("JWT_AUDIENCE"),
        })
    }

    /// A user JWT for `user`, valid `ttl_seconds`.
    pub fn sign(&self, user: &str, ttl_seconds: u64) -> String {
        self.sign_claims(user, ttl_seconds, None)
    }

    /// A server token (the embedding app's backend, which credits wallets): a user JWT for
    /// `name` with the server-token claim (`SERVICE_ROLE_CLAIM` = `SERVICE_ROLE_VALUE`, by default
    /// `role` = `service_role`).
    pub fn sign_service(&self, name: &str, ttl_seconds: u64) -> String {
        let var = |n: &str, default: &str| {
            std::env::var(n)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or(default.into())
        };
        let claim = (
            var("SERVICE_ROLE_CLAIM", "role"),
            var("SERVICE_ROLE_VALUE", "service_role"),
        );
        self.sign_claims(name, ttl_seconds, Some(claim))
    }

    fn sign_claims(&self, user: &str, ttl_seconds: u64, extra: Option<(String, String)>) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let mut claims = json!({"sub": user, "username": user, "iat": now, "exp": now + ttl_seconds});
        if let Some((claim, value)) = extra {
            claims[claim] = json!(value);
        }
        if let Some(iss) = &self.issuer {
            claims["iss"] = json!(iss);
        }
        if let Some(aud) = &self.audience {
            claims["aud"] = json!(aud);
        }
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(self.secret.as_bytes()),
        )
        .expect("HS256 signing with a byte secret cannot fail")
    }
}

impl Web {
    /// Answers what belongs to the client: `None` leaves the request to the API (its routes, and
    /// API Gateway's 404 for everything under `/live`).
    pub async fn answer(&self, req: Request<AxumBody>) -> Result<AxumResponse, Request<AxumBody>> {
        let path = req.uri().path();
        if path == "/dev/token" {
            return Ok(match &self.dev_sign_in {
                Some(signer) if req.method() == Method::POST => dev_token(signer, req).await,
                Some(_) => problem(ApiError::MethodNotAllowed {
                    method: req.method().to_string(),
                    allowed: "POST".into(),
                }),
                None => problem(ApiError::NotFound(
                    "dev sign-in needs a local JWT_SECRET (make dev sets one)".into(),
                )),
            });
        }
        let Some(root) = &self.root else { return Err(req) };
        let is_page = matches!(*req.method(), Method::GET | Method::HEAD)
            && !path.starts_with("/live")
            && !path.starts_with("/livekit");
        if !is_page {
            return Err(req);
        }
        if path == "/config.json" {
            return Ok(self.config(req.headers()));
        }
        // Unknown paths get the app (it reads its state from the query string).
        let index = root.join("index.html");
        let files = ServeDir::new(root).fallback(ServeFile::new(&index));
        Ok(match files.oneshot(req).await {
            Ok(resp) => resp.into_response(),
            Err(e) => problem(ApiError::internal(format!("serving {root:?}: {e}"))),
        })
    }

    /// The app's runtime configuration: the HTTP API is this origin; the WebSocket API is the
    /// same host on its own port.
    fn config(&self, headers: &HeaderMap) -> AxumResponse {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name))
            .unwrap_or("127.0.0.1");
        let body = json!({
            "api_url": "",
            "ws_url": format!("ws://{host}:{}", self.ws_port),
            "sign_in": if self.dev_sign_in.is_some() { "dev" } else { "token" },
        });
        let mut resp = axum::Json(body).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

/// `POST /dev/token` `{"name": "alice"}` → `{"token", "user_id", "username"}`.
async fn dev_token(signer: &DevSigner, req: Request<AxumBody>) -> AxumResponse {
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), 4096).await else {
        return problem(ApiError::PayloadTooLarge);
    };
    let name = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(|n| n.trim().to_string()));
    let Some(name) = name.filter(|n| shared::domain::ids::UserId::parse(n).is_ok() && n.chars().count() <= MAX_NAME)
    else {
        return problem(ApiError::validation(
            "name",
            format!("`name` must be 1 to {MAX_NAME} characters, without control characters or '#'"),
        ));
    };
    let token = signer.sign(&name, DEV_TOKEN_TTL_SECONDS);
    axum::Json(json!({"token": token, "user_id": name, "username": name})).into_response()
}

/// A refusal as the API writes every one: the project's one error mapping to problem+json.
fn problem(e: ApiError) -> AxumResponse {
    crate::http_api::to_wire(shared::adapter::answer::problem(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use http_body_util::BodyExt;

    fn signer() -> DevSigner {
        DevSigner {
            secret: "test-secret".into(),
            issuer: None,
            audience: Some("trendke".into()),
        }
    }

    /// A built client: an index page and one asset, in a directory of this test's own.
    fn site(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("trendke-web-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<div id=\"root\"></div>").unwrap();
        std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
        dir
    }

    fn request(method: Method, path: &str, body: &str) -> Request<AxumBody> {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "192.168.1.20:3000")
            .body(AxumBody::from(body.to_string()))
            .unwrap()
    }

    async fn text(resp: AxumResponse) -> (StatusCode, String, String) {
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, ct, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn dev_token_is_a_jwt_the_functions_accept() {
        let web = Web {
            dev_sign_in: Some(signer()),
            ..Web::default()
        };
        let resp = web
            .answer(request(Method::POST, "/dev/token", r#"{"name": " alice "}"#))
            .await
            .unwrap();
        let (status, _, body) = text(resp).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["user_id"], "alice");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&["trendke"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            body["token"].as_str().unwrap(),
            &jsonwebtoken::DecodingKey::from_secret(b"test-secret"),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(
            (claims["sub"].as_str(), claims["username"].as_str()),
            (Some("alice"), Some("alice"))
        );
    }

    #[tokio::test]
    async fn dev_token_refuses_bad_names_and_runs_only_with_a_secret() {
        let web = Web {
            dev_sign_in: Some(signer()),
            ..Web::default()
        };
        for body in [r#"{"name": ""}"#, r#"{"name": "a#b"}"#, r#"{"nom": "x"}"#, "not json"] {
            let resp = web.answer(request(Method::POST, "/dev/token", body)).await.unwrap();
            let (status, ct, _) = text(resp).await;
            assert_eq!(
                (status, ct.as_str()),
                (StatusCode::BAD_REQUEST, "application/problem+json"),
                "{body}"
            );
        }
        let long = format!(r#"{{"name": "{}"}}"#, "x".repeat(MAX_NAME + 1));
        let resp = web.answer(request(Method::POST, "/dev/token", &long)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let resp = web.answer(request(Method::GET, "/dev/token", "")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        let resp = Web::default()
            .answer(request(Method::POST, "/dev/token", r#"{"name": "alice"}"#))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn pages_assets_and_the_app_for_unknown_paths_but_never_the_api() {
        let root = site("pages");
        let web = Web {
            root: Some(root.clone()),
            ws_port: 3001,
            dev_sign_in: None,
        };
        for path in ["/", "/?session=x", "/some/deep/link"] {
            let resp = web.answer(request(Method::GET, path, "")).await.unwrap();
            let (status, ct, body) = text(resp).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(ct.starts_with("text/html"), "{path}: {ct}");
            assert!(body.contains("id=\"root\""), "{path}");
        }
        let (status, ct, _) = text(web.answer(request(Method::GET, "/assets/app.js", "")).await.unwrap()).await;
        assert_eq!((status, ct.contains("javascript")), (StatusCode::OK, true), "{ct}");
        // The API keeps its own paths, 404s included, and every other method.
        for (method, path) in [
            (Method::GET, "/live/active"),
            (Method::GET, "/live/nothing-here"),
            (Method::POST, "/livekit/webhook"),
            (Method::POST, "/"),
        ] {
            assert!(
                web.answer(request(method.clone(), path, "")).await.is_err(),
                "{method} {path}"
            );
        }
        // Without a built client, pages are the API's (API Gateway's 404).
        assert!(Web::default().answer(request(Method::GET, "/", "")).await.is_err());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn config_names_the_websocket_api_on_the_host_the_page_came_from() {
        let root = site("config");
        let web = Web {
            root: Some(root.clone()),
            ws_port: 4001,
            dev_sign_in: Some(signer()),
        };
        let (status, _, body) = text(web.answer(request(Method::GET, "/config.json", "")).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let config: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(config["ws_url"], "ws://192.168.1.20:4001");
        assert_eq!(
            (config["api_url"].as_str(), config["sign_in"].as_str()),
            (Some(""), Some("dev"))
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}
