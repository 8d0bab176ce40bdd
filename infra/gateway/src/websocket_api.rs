//! The WebSocket API side of the local gateway, emulating API Gateway WebSocket APIs (which SAM
//! cannot emulate): `$connect` / `$disconnect` / `$default` events with API Gateway's
//! `requestContext`, run through the same handlers the Lambdas run, and the `@connections`
//! management API on the same port (POST sends a frame, GET describes, DELETE closes; an unknown or
//! closed connection answers 410 with `x-amzn-ErrorType: GoneException`, so the real SDK raises
//! `GoneException`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use base64::Engine;
use futures::{SinkExt, StreamExt};
use lambda_http::request::LambdaRequest;
use lambda_http::Body;
use serde_json::{json, Value};
use shared::adapter::app::App;
use shared::adapter::endpoints::Endpoint;
use tokio::sync::mpsc;

use crate::lambda::{self, Timeouts};

/// API Gateway's limits: 32 KB frames, 128 KB messages (also the PostToConnection payload limit).
pub const MAX_FRAME: usize = 32 * 1024;
pub const MAX_MESSAGE: usize = 128 * 1024;
const STAGE: &str = "local";

struct Conn {
    tx: mpsc::UnboundedSender<Message>,
    /// Ends the connection from the server side (DeleteConnection), whatever the client does.
    kill: Arc<tokio::sync::Notify>,
    connected_at: i64,
    last_active_at: i64,
    source_ip: String,
    user_agent: String,
}

pub struct WsState {
    pub app: Arc<App>,
    pub timeouts: Timeouts,
    pub api_id: String,
    pub domain: String,
    conns: Mutex<HashMap<String, Conn>>,
    /// Connections whose `@connections` POSTs answer 500 (a fault a test injects: API Gateway
    /// answers 5xx now and then).
    failing: Mutex<std::collections::HashSet<String>>,
}

impl WsState {
    pub fn new(app: Arc<App>, timeouts: Timeouts, api_id: String, domain: String) -> Self {
        Self {
            app,
            timeouts,
            api_id,
            domain,
            conns: Mutex::new(HashMap::new()),
            failing: Mutex::new(Default::default()),
        }
    }

    /// From now on, POSTs to `connection_id` answer 500 (`failing`) or are delivered again.
    pub fn fail_posts_to(&self, connection_id: &str, failing: bool) {
        let mut set = self.failing.lock().expect("fault set");
        if failing {
            set.insert(connection_id.to_string());
        } else {
            set.remove(connection_id);
        }
    }

    fn touch(&self, id: &str) {
        if let Some(c) = self.conns.lock().expect("connection map").get_mut(id) {
            c.last_active_at = now_ms();
        }
    }
}

pub fn router(state: Arc<WsState>) -> Router {
    Router::new()
        .route("/", get(upgrade))
        .route("/@connections/{id}", any(manage))
        .with_state(state)
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn request_time() -> String {
    let fmt = time::macros::format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    time::OffsetDateTime::now_utc().format(&fmt).unwrap_or_default()
}

/// API Gateway connection ids look like `L0SM9cOFvHcCIhw=`: 12 random bytes, base64.
fn new_connection_id() -> String {
    let bytes: [u8; 12] = rand_bytes();
    format!("{}=", &URL_SAFE_NO_PAD.encode(bytes)[..15])
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    for chunk in b.chunks_mut(16) {
        let r = uuid::Uuid::new_v4().into_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    b
}

/// The `requestContext` API Gateway sends for a route.
fn context(
    state: &WsState,
    route_key: &str,
    event_type: &str,
    id: &str,
    connected_at: i64,
    ip: &str,
    ua: &str,
) -> Value {
    let mut ctx = json!({
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": uuid::Uuid::new_v4().to_string(),
        "requestTime": request_time(),
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": connected_at,
        "requestTimeEpoch": now_ms(),
        "identity": {"sourceIp": ip, "userAgent": ua},
        "requestId": uuid::Uuid::new_v4().to_string(),
        "domainName": state.domain,
        "connectionId": id,
        "apiId": state.api_id,
    });
    if event_type == "MESSAGE" {
        ctx["messageId"] = json!(uuid::Uuid::new_v4().simple().to_string()[..16].to_string());
    }
    ctx
}

/// Runs a route's handler on an event, as the Lambda runtime would; returns its status and body.
async fn invoke(state: &WsState, endpoint: Endpoint, event: Value) -> (u16, String) {
    let request: LambdaRequest = match serde_json::from_value(event) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "WebSocket event did not deserialize as the runtime would");
            return (500, String::new());
        }
    };
    let Some(response) = lambda::invoke(&state.app, &state.timeouts, endpoint, request.into()).await else {
        return (500, String::new());
    };
    let status = response.status().as_u16();
    let body = match response.into_body() {
        Body::Text(t) => t,
        Body::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    (status, body)
}

fn header_maps(headers: &HeaderMap) -> (Value, Value) {
    let mut single = serde_json::Map::new();
    let mut multi: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in headers {
        let v = String::from_utf8_lossy(v.as_bytes()).to_string();
        single.insert(k.as_str().to_string(), json!(v));
        multi.entry(k.as_str().to_string()).or_default().push(v);
    }
    (Value::Object(single), json!(multi))
}

async fn upgrade(
    State(state): State<Arc<WsState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return (StatusCode::UPGRADE_REQUIRED, "WebSocket upgrade required").into_response();
    };
    let id = new_connection_id();
    let connected_at = now_ms();
    let ip = peer.ip().to_string();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut query = serde_json::Map::new();
    let mut multi_query: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned() {
        query.insert(k.clone(), json!(v));
        multi_query.entry(k).or_default().push(v);
    }
    let (h, mh) = header_maps(&headers);
    let event = json!({
        "headers": h,
        "multiValueHeaders": mh,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "multiValueQueryStringParameters": if multi_query.is_empty() { Value::Null } else { json!(multi_query) },
        "requestContext": context(&state, "$connect", "CONNECT", &id, connected_at, &ip, &ua),
        "isBase64Encoded": false,
    });
    let (status, body) = invoke(&state, Endpoint::WsConnect, event).await;
    if status != 200 {
        // API Gateway refuses the handshake with the `$connect` integration's status.
        tracing::info!(status, "ws $connect refused");
        let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN), body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        return r;
    }
    // As in API Gateway, the connection exists for `@connections` once `$connect` accepted it —
    // before the client has even read the handshake's answer: what is posted (or a DELETE)
    // meanwhile waits in its queue.
    let (tx, rx) = mpsc::unbounded_channel::<Message>();
    let kill = Arc::new(tokio::sync::Notify::new());
    state.conns.lock().expect("connection map").insert(
        id.clone(),
        Conn {
            tx,
            kill: Arc::clone(&kill),
            connected_at,
            last_active_at: connected_at,
            source_ip: ip.clone(),
            user_agent: ua.clone(),
        },
    );
    let (failed_state, failed_id) = (Arc::clone(&state), id.clone());
    let opened = Opened {
        id,
        rx,
        kill,
        connected_at,
        ip,
        ua,
    };
    ws.max_frame_size(MAX_FRAME)
        .max_message_size(MAX_MESSAGE)
        .on_failed_upgrade(move |_| {
            failed_state.conns.lock().expect("connection map").remove(&failed_id);
        })
        .on_upgrade(move |socket| run(state, socket, opened))
}

/// A connection `$connect` accepted, registered for `@connections`, not yet upgraded.
struct Opened {
    id: String,
    rx: mpsc::UnboundedReceiver<Message>,
    kill: Arc<tokio::sync::Notify>,
    connected_at: i64,
    ip: String,
    ua: String,
}

async fn run(state: Arc<WsState>, socket: WebSocket, opened: Opened) {
    let Opened {
        id,
        mut rx,
        kill,
        connected_at,
        ip,
        ua,
    } = opened;
    let (mut sink, mut stream) = socket.split();
    tracing::info!(connection = %id, "ws connected");
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let closing = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || closing {
                break;
            }
        }
    });
    let (mut code, mut reason) = (1005u16, String::new());
    loop {
        let frame = tokio::select! {
            f = stream.next() => match f {
                Some(f) => f,
                None => break,
            },
            _ = kill.notified() => {
                (code, reason) = (1000, "deleted through @connections".to_string());
                break;
            }
        };
        let (body, base64) = match frame {
            Ok(Message::Text(t)) => (t.to_string(), false),
            Ok(Message::Binary(b)) => (B64.encode(&b), true),
            Ok(Message::Close(c)) => {
                if let Some(c) = c {
                    (code, reason) = (c.code, c.reason.to_string());
                }
                break;
            }
            Ok(_) => continue,
            Err(e) => {
                (code, reason) = (1006, e.to_string());
                break;
            }
        };
        state.touch(&id);
        // Route selection on `$request.body.action`: a route for the action, else `$default`.
        let action = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("action").and_then(Value::as_str).map(str::to_string));
        let endpoint = action
            .as_deref()
            .and_then(Endpoint::for_route_key)
            .unwrap_or(Endpoint::WsDefault);
        let route_key = if endpoint == Endpoint::WsDefault {
            "$default".to_string()
        } else {
            action.unwrap_or_default()
        };
        let event = json!({
            "requestContext": context(&state, &route_key, "MESSAGE", &id, connected_at, &ip, &ua),
            "body": body,
            "isBase64Encoded": base64,
        });
        // API Gateway invokes the integration for each message independently (concurrently).
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let (status, _) = invoke(&state, endpoint, event).await;
            if status >= 500 {
                tracing::warn!(status, "ws message handler failed");
            }
        });
    }
    let removed = state.conns.lock().expect("connection map").remove(&id);
    drop(removed);
    // Let the writer flush what was queued (a DELETE's close frame) before it ends.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), writer).await;
    let mut ctx = context(&state, "$disconnect", "DISCONNECT", &id, connected_at, &ip, &ua);
    ctx["disconnectStatusCode"] = json!(code);
    ctx["disconnectReason"] = json!(reason);
    let event = json!({"headers": {}, "multiValueHeaders": {}, "requestContext": ctx, "isBase64Encoded": false});
    invoke(&state, Endpoint::WsDisconnect, event).await;
    tracing::info!(connection = %id, code, "ws disconnected");
}

fn gone() -> Response {
    let mut r = (StatusCode::GONE, r#"{"message":null}"#).into_response();
    r.headers_mut()
        .insert("x-amzn-errortype", header::HeaderValue::from_static("GoneException"));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| shared::domain::time::Timestamp::from(t).to_string())
        .unwrap_or_default()
}

/// `@connections/{id}`: POST sends `body` as one frame, GET describes, DELETE closes. Requests must
/// be SigV4-signed (the emulator checks the scheme, not the signature).
async fn manage(
    State(state): State<Arc<WsState>>,
    Path(id): Path<String>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signed = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256"));
    if !signed {
        let mut r = (StatusCode::FORBIDDEN, r#"{"message":"Missing Authentication Token"}"#).into_response();
        r.headers_mut().insert(
            "x-amzn-errortype",
            header::HeaderValue::from_static("ForbiddenException"),
        );
        return r;
    }
    if method == axum::http::Method::POST && state.failing.lock().expect("fault set").contains(&id) {
        let mut r = (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal server error"}"#,
        )
            .into_response();
        r.headers_mut().insert(
            "x-amzn-errortype",
            header::HeaderValue::from_static("InternalServerErrorException"),
        );
        return r;
    }
    let mut conns = state.conns.lock().expect("connection map");
    let Some(conn) = conns.get_mut(&id) else { return gone() };
    match method.as_str() {
        "POST" => {
            if body.len() > MAX_MESSAGE {
                let mut r = (StatusCode::PAYLOAD_TOO_LARGE, r#"{"message":"Message too long"}"#).into_response();
                r.headers_mut().insert(
                    "x-amzn-errortype",
                    header::HeaderValue::from_static("PayloadTooLargeException"),
                );
                return r;
            }
            let frame = match std::str::from_utf8(&body) {
                Ok(text) => Message::Text(text.to_string().into()),
                Err(_) => Message::Binary(body),
            };
            if conn.tx.send(frame).is_err() {
                conns.remove(&id);
                return gone();
            }
            conn.last_active_at = now_ms();
            StatusCode::OK.into_response()
        }
        "GET" => axum::Json(json!({
            "connectedAt": iso(conn.connected_at),
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
            "lastActiveAt": iso(conn.last_active_at),
        }))
        .into_response(),
        "DELETE" => {
            let _ = conn.tx.send(Message::Close(Some(CloseFrame {
                code: 1000,
                reason: "".into(),
            })));
            conn.kill.notify_one();
            conns.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}
