//! The HTTP API side of the local gateway: each real request becomes an API Gateway HTTP API
//! (payload 2.0) event, is turned into the `lambda_http::Request` the Lambda runtime would build
//! from it, and runs through the same `Endpoint::handle` the deployed function runs. The answer
//! is written back the way API Gateway writes a payload 2.0 response, with the template's CORS.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body as AxumBody};
use axum::extract::{ConnectInfo, State};
use axum::response::Response as AxumResponse;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use lambda_http::request::LambdaRequest;
use lambda_http::Body;
use serde_json::json;
use shared::adapter::app::App;
use shared::adapter::endpoints::Endpoint;
use shared::adapter::routes::Matched;

use crate::lambda::{self, Timeouts};
use crate::template::Cors;

/// API Gateway's payload limit for HTTP APIs.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

pub struct HttpState {
    pub app: Arc<App>,
    pub timeouts: Timeouts,
    pub cors: Cors,
    pub api_id: String,
    pub domain: String,
    /// The browser client and dev sign-in (`make dev`); tests of the API alone leave it empty.
    pub web: crate::web::Web,
}

pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/openapi.json", axum::routing::get(openapi))
        .fallback(handle)
        .with_state(state)
}

/// The API's OpenAPI document (`docs/openapi.json`, generated from the code). Served by the local
/// gateway only: in AWS the document ships with the repository, not as a route.
async fn openapi() -> AxumResponse {
    let mut r = AxumResponse::new(AxumBody::from(shared::adapter::docs::openapi::document_json(
        Endpoint::ALL,
    )));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    r
}

async fn handle(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<AxumBody>,
) -> AxumResponse {
    let started = Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let origin = req.headers().get(header::ORIGIN).cloned();
    let req = match state.web.answer(req).await {
        Ok(page) => return page,
        Err(req) => req,
    };
    let resp = if method == Method::OPTIONS && is_preflight(req.headers()) {
        preflight(&state.cors, req.headers())
    } else {
        let mut resp = invoke(&state, peer, req).await;
        if let Some(origin) = origin {
            add_cors(&state.cors, &origin, resp.headers_mut());
        }
        resp
    };
    tracing::info!(
        method = %method, path = %path, status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64, "http"
    );
    resp
}

/// Builds the payload 2.0 event for a request, as API Gateway does.
pub fn event(
    state: &HttpState,
    peer: SocketAddr,
    parts: &http::request::Parts,
    body: &[u8],
    matched: Option<&Matched<Endpoint>>,
) -> serde_json::Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).to_string();
        if name == header::COOKIE {
            cookies.extend(v.split(';').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()));
            continue;
        }
        headers
            .entry(name.as_str().to_string())
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert(v);
    }
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()).into_owned() {
        query
            .entry(k)
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert(v);
    }
    let now = time::OffsetDateTime::now_utc();
    let route_key = matched.map_or("ANY /{proxy+}".to_string(), |m| m.route_key.clone());
    let path_parameters = match matched {
        Some(m) => json!(m.path_parameters),
        None => json!({ "proxy": parts.uri.path().trim_start_matches('/') }),
    };
    let (body, is_b64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (serde_json::Value::Null, false),
        Ok(text) => (json!(text), false),
        Err(_) => (json!(B64.encode(body)), true),
    };
    let time_fmt = time::macros::format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "cookies": if cookies.is_empty() { serde_json::Value::Null } else { json!(cookies) },
        "headers": headers,
        "queryStringParameters": if query.is_empty() { serde_json::Value::Null } else { json!(query) },
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": state.api_id,
            "domainName": state.domain,
            "domainPrefix": state.api_id,
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": format!("{:?}", parts.version),
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format(&time_fmt).unwrap_or_default(),
            "timeEpoch": (now.unix_timestamp_nanos() / 1_000_000) as i64,
        },
        "body": body,
        "isBase64Encoded": is_b64,
    })
}

async fn invoke(state: &HttpState, peer: SocketAddr, req: Request<AxumBody>) -> AxumResponse {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PAYLOAD).await else {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            r#"{"message":"Request Entity Too Large"}"#,
        );
    };
    let matched = Endpoint::resolve(parts.method.as_str(), parts.uri.path()).ok();
    let event = event(state, peer, &parts, &bytes, matched.as_ref());
    let lambda_request: LambdaRequest = match serde_json::from_value(event) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "event did not deserialize as the runtime would");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"message":"Internal Server Error"}"#,
            );
        }
    };
    let request: lambda_http::Request = lambda_request.into();
    let endpoint = matched.map_or(Endpoint::Fallback, |m| m.endpoint);
    match lambda::invoke(&state.app, &state.timeouts, endpoint, request).await {
        Some(response) => to_wire(response),
        // The function ran past its timeout: API Gateway answers its invocation error.
        None => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal Server Error"}"#,
        ),
    }
}

/// Writes a handler response as API Gateway writes a payload 2.0 response.
pub(crate) fn to_wire(response: lambda_http::Response<Body>) -> AxumResponse {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    let mut out = AxumResponse::new(AxumBody::from(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    out
}

fn plain(status: StatusCode, body: &'static str) -> AxumResponse {
    let mut r = AxumResponse::new(AxumBody::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn is_preflight(h: &HeaderMap) -> bool {
    h.contains_key(header::ORIGIN) && h.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn origin_allowed(cors: &Cors, origin: &HeaderValue) -> Option<HeaderValue> {
    if cors.allow_origins.iter().any(|o| o == "*") {
        return Some(HeaderValue::from_static("*"));
    }
    let o = origin.to_str().ok()?;
    cors.allow_origins
        .iter()
        .any(|a| a.eq_ignore_ascii_case(o))
        .then(|| origin.clone())
}

fn add_cors(cors: &Cors, origin: &HeaderValue, headers: &mut HeaderMap) {
    let Some(allowed) = origin_allowed(cors, origin) else {
        return;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    if !cors.expose_headers.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&cors.expose_headers.join(",")) {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
        }
    }
    if cors.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// API Gateway answers CORS preflights itself, without invoking a function.
fn preflight(cors: &Cors, req: &HeaderMap) -> AxumResponse {
    let mut resp = AxumResponse::new(AxumBody::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let origin = req.get(header::ORIGIN).cloned().unwrap_or(HeaderValue::from_static(""));
    let method_ok = req
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| cors.allow_methods.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(m)));
    if !method_ok || origin_allowed(cors, &origin).is_none() {
        return resp;
    }
    let h = resp.headers_mut();
    add_cors(cors, &origin, h);
    if let Ok(v) = HeaderValue::from_str(&cors.allow_methods.join(",")) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cors.allow_headers.join(",")) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    if let Some(age) = cors.max_age {
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
    }
    resp
}
