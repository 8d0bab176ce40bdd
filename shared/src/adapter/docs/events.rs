//! The events of `events/`, generated from the endpoint table: one per function, in API Gateway's
//! real shapes (HTTP API payload 2.0; WebSocket `$connect` / `$default` / `$disconnect`) and
//! LiveKit's signed webhook delivery, built from each endpoint's example request. They are for
//! `sam local invoke`, and the drift tests replay every one through the Lambda artifact.
//!
//! Tokens are signed with the local dev secrets (`make dev`'s `JWT_SECRET` and livekit-server
//! `--dev`'s key) and expire in 2100: they are useless anywhere else.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{Auth, Documented, Example};
use crate::adapter::table::Route;

/// The dev secrets the events are signed with (`make dev`'s defaults).
pub const DEV_JWT_SECRET: &str = "dev-secret-change-me";
pub const DEV_LIVEKIT_KEY: &str = "devkey";
pub const DEV_LIVEKIT_SECRET: &str = "secret";
/// 2100-01-01: the events are for local runs with the dev secrets only.
const EXPIRES: u64 = 4_102_444_800;
/// 2026-11-25T19:00:00Z, the events' time.
const T: i64 = 1_795_633_200_000;
const CONNECTION: &str = "Xk3Lq0AbIAMCJpQ=";

fn sign(claims: &Value, secret: &str) -> String {
    encode(&Header::default(), claims, &EncodingKey::from_secret(secret.as_bytes())).expect("HS256 signs")
}

fn user_token(sub: &str) -> String {
    sign(&json!({"sub": sub, "username": sub, "exp": EXPIRES}), DEV_JWT_SECRET)
}

fn object(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

/// An HTTP API (payload 2.0) event.
fn http(method: &str, template: &str, e: &Example, webhook: bool) -> Value {
    let (method, path) = e.line.unwrap_or((method, template));
    let mut path = path.to_string();
    for (k, v) in &e.path {
        path = path.replace(&format!("{{{k}}}"), v);
    }
    let route_key = format!("{} {template}", if e.line.is_some() { "ANY" } else { method });
    let mut headers = json!({
        "accept": "application/json", "host": "abc123def4.execute-api.us-east-1.amazonaws.com",
        "user-agent": "curl/8.5.0", "x-forwarded-for": "203.0.113.10", "x-forwarded-port": "443",
        "x-forwarded-proto": "https", "x-amzn-trace-id": "Root=1-67450a30-0123456789abcdef01234567"
    });
    if let Some(user) = e.user {
        let token = if e.service {
            sign(
                &json!({"sub": user, "username": user, "exp": EXPIRES, "role": "service_role"}),
                DEV_JWT_SECRET,
            )
        } else {
            user_token(user)
        };
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    for (name, value) in &e.headers {
        headers[*name] = json!(value);
    }
    let raw_query: Vec<String> = e.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut ev = json!({
        "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": raw_query.join("&"),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123def4",
            "domainName": "abc123def4.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123def4",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0"},
            "requestId": "dGVzdC1yZXF1ZXN0LWlk", "routeKey": route_key, "stage": "$default",
            "time": "25/Nov/2026:19:00:00 +0000", "timeEpoch": T
        },
        "isBase64Encoded": false
    });
    if !e.query.is_empty() {
        ev["queryStringParameters"] = object(&e.query);
    }
    if !e.path.is_empty() {
        ev["pathParameters"] = object(&e.path);
    } else if e.line.is_some() {
        ev["pathParameters"] = json!({"proxy": path.trim_start_matches('/')});
    }
    if let Some(body) = &e.body {
        let text = body.to_string();
        ev["headers"]["content-type"] = json!("application/json");
        if webhook {
            // LiveKit signs the exact body bytes: a JWT of our key whose `sha256` is their hash.
            let digest = STANDARD.encode(Sha256::digest(text.as_bytes()));
            let claims =
                json!({"iss": DEV_LIVEKIT_KEY, "exp": EXPIRES, "nbf": 0, "sub": "", "video": {}, "sha256": digest});
            ev["headers"]["content-type"] = json!("application/webhook+json");
            ev["headers"]["authorization"] = json!(sign(&claims, DEV_LIVEKIT_SECRET));
        }
        ev["body"] = json!(text);
    }
    ev
}

/// A WebSocket API event of route `key`.
fn websocket(key: &str, e: &Example) -> Value {
    let event_type = match key {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    let mut ctx = json!({
        "routeKey": key, "eventType": event_type, "extendedRequestId": "Xk3LrFnRIAMFxyA=",
        "requestTime": "25/Nov/2026:19:00:00 +0000", "messageDirection": "IN", "stage": "live",
        "connectedAt": T, "requestTimeEpoch": T, "identity": {"sourceIp": "203.0.113.10", "userAgent": "Mozilla/5.0"},
        "requestId": "Xk3LrFnRIAMFxyA=", "domainName": "wxyz987654.execute-api.us-east-1.amazonaws.com",
        "connectionId": CONNECTION, "apiId": "wxyz987654"
    });
    let mut ev = json!({"requestContext": ctx.clone(), "isBase64Encoded": false});
    let host = json!({"Host": "wxyz987654.execute-api.us-east-1.amazonaws.com"});
    match event_type {
        "CONNECT" => {
            let mut query: Vec<(&str, String)> = e.user.map(|u| ("token", user_token(u))).into_iter().collect();
            query.extend(e.query.iter().map(|(k, v)| (*k, v.to_string())));
            let headers = json!({"Host": "wxyz987654.execute-api.us-east-1.amazonaws.com", "Sec-WebSocket-Version": "13",
                                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "User-Agent": "Mozilla/5.0"});
            ev["multiValueHeaders"] = multi(&headers);
            ev["headers"] = headers;
            let single: Map<String, Value> = query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            ev["multiValueQueryStringParameters"] = multi(&Value::Object(single.clone()));
            ev["queryStringParameters"] = Value::Object(single);
        }
        "DISCONNECT" => {
            ctx["disconnectStatusCode"] = json!(1000);
            ctx["disconnectReason"] = json!("Client-side close frame status not set");
            ev["requestContext"] = ctx;
            ev["multiValueHeaders"] = multi(&host);
            ev["headers"] = host;
        }
        _ => {
            ctx["messageId"] = json!("Xk3MdcnQIAMCJpQ=");
            ev["requestContext"] = ctx;
            ev["body"] = json!(e.body.as_ref().map(Value::to_string).unwrap_or_default());
        }
    }
    ev
}

/// `{k: [v]}` of `{k: v}`.
fn multi(single: &Value) -> Value {
    let map = single.as_object().cloned().unwrap_or_default();
    Value::Object(map.into_iter().map(|(k, v)| (k, json!([v]))).collect())
}

/// Every endpoint's event: its file name in `events/` (the handler name) and its JSON.
pub fn all(endpoints: &[impl Documented]) -> Vec<(&'static str, Value)> {
    endpoints
        .iter()
        .map(|&e| {
            let example = e.example();
            let signed = e.described().auth == Auth::LiveKit;
            let event = match e.route() {
                Route::Http { method, path } => http(method, path, &example, signed),
                Route::WebSocket(key) => websocket(key, &example),
                Route::Schedule(_) => {
                    let rule = format!("arn:aws:events:us-east-1:123456789012:rule/trendke-live-{}", e.name());
                    let at = crate::domain::time::Timestamp::parse("2026-11-25T19:00:00Z").expect("RFC 3339");
                    crate::adapter::scheduled::scheduled_event("5e8f8a1c-3b2d-4c6e-9f0a-1b2c3d4e5f60", &rule, &at)
                }
                // The example's body is the whole SQS event.
                Route::Queue(_) => example.body.clone().unwrap_or_default(),
            };
            (e.name(), event)
        })
        .collect()
}

/// An event as committed: pretty JSON with a final newline.
pub fn to_file(event: &Value) -> String {
    let mut text = serde_json::to_string_pretty(event).expect("JSON serializes");
    text.push('\n');
    text
}
