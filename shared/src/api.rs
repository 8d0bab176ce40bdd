//! HTTP ⇄ rules. Each [`Endpoint`] is one Lambda; the local gateway and the tests call
//! [`Endpoint::handle`] exactly as the Lambda runtime does, with an API Gateway HTTP API
//! (payload 2.0) request. Errors become problem+json here, through [`ApiError::to_response`].

use http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::app::App;
use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::{chat, reactions, sessions, stage, webhook, websocket};

/// Largest request body we read (API Gateway allows 10 MB; none of our requests come close).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Response header carrying the cursor of the next page of a list (absent on the last page).
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";

/// Where API Gateway routes a function: an HTTP API route, or a WebSocket API route key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Http { method: &'static str, path: &'static str },
    WebSocket(&'static str),
}

/// Every endpoint, one Lambda function each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    StartSession,
    JoinSession,
    LeaveSession,
    EndSession,
    ListActive,
    GetSession,
    ListParticipants,
    SendMessage,
    ListMessages,
    React,
    RequestGuest,
    CancelGuestRequest,
    RespondGuestRequest,
    ListGuestRequests,
    InviteGuest,
    RespondInvite,
    ManageParticipant,
    AuditTrail,
    LiveKitWebhook,
    /// API Gateway's `ANY /{proxy+}` catch-all: 404 for unknown paths, 405 for wrong methods.
    Fallback,
    WsConnect,
    WsDisconnect,
    WsDefault,
}

impl Endpoint {
    pub const ALL: [Endpoint; 23] = [
        Endpoint::StartSession,
        Endpoint::JoinSession,
        Endpoint::LeaveSession,
        Endpoint::EndSession,
        Endpoint::ListActive,
        Endpoint::GetSession,
        Endpoint::ListParticipants,
        Endpoint::SendMessage,
        Endpoint::ListMessages,
        Endpoint::React,
        Endpoint::RequestGuest,
        Endpoint::CancelGuestRequest,
        Endpoint::RespondGuestRequest,
        Endpoint::ListGuestRequests,
        Endpoint::InviteGuest,
        Endpoint::RespondInvite,
        Endpoint::ManageParticipant,
        Endpoint::AuditTrail,
        Endpoint::LiveKitWebhook,
        Endpoint::Fallback,
        Endpoint::WsConnect,
        Endpoint::WsDisconnect,
        Endpoint::WsDefault,
    ];

    /// The route, as `template.yaml` declares it (API Gateway syntax).
    pub fn route(self) -> Route {
        let http = |method, path| Route::Http { method, path };
        match self {
            Endpoint::StartSession => http("POST", "/live/start"),
            Endpoint::JoinSession => http("POST", "/live/join"),
            Endpoint::LeaveSession => http("POST", "/live/leave"),
            Endpoint::EndSession => http("POST", "/live/end/{session_id}"),
            Endpoint::ListActive => http("GET", "/live/active"),
            Endpoint::GetSession => http("GET", "/live/session/{session_id}"),
            Endpoint::ListParticipants => http("GET", "/live/participants/{session_id}"),
            Endpoint::SendMessage => http("POST", "/live/send-message"),
            Endpoint::ListMessages => http("GET", "/live/messages/{session_id}"),
            Endpoint::React => http("POST", "/live/react"),
            Endpoint::RequestGuest => http("POST", "/live/request-guest"),
            Endpoint::CancelGuestRequest => http("POST", "/live/cancel-guest-request"),
            Endpoint::RespondGuestRequest => http("POST", "/live/respond-guest-request"),
            Endpoint::ListGuestRequests => http("GET", "/live/guest-requests/{session_id}"),
            Endpoint::InviteGuest => http("POST", "/live/invite-guest"),
            Endpoint::RespondInvite => http("POST", "/live/respond-invite"),
            Endpoint::ManageParticipant => http("POST", "/live/manage-participant"),
            Endpoint::AuditTrail => http("GET", "/live/audit/{session_id}"),
            Endpoint::LiveKitWebhook => http("POST", "/livekit/webhook"),
            Endpoint::Fallback => http("ANY", "/{proxy+}"),
            Endpoint::WsConnect => Route::WebSocket("$connect"),
            Endpoint::WsDisconnect => Route::WebSocket("$disconnect"),
            Endpoint::WsDefault => Route::WebSocket("$default"),
        }
    }

    /// The function's logical id in `template.yaml`.
    pub fn function_id(self) -> &'static str {
        match self {
            Endpoint::StartSession => "StartSessionFunction",
            Endpoint::JoinSession => "JoinSessionFunction",
            Endpoint::LeaveSession => "LeaveSessionFunction",
            Endpoint::EndSession => "EndSessionFunction",
            Endpoint::ListActive => "ListActiveFunction",
            Endpoint::GetSession => "GetSessionFunction",
            Endpoint::ListParticipants => "ListParticipantsFunction",
            Endpoint::SendMessage => "SendMessageFunction",
            Endpoint::ListMessages => "ListMessagesFunction",
            Endpoint::React => "ReactFunction",
            Endpoint::RequestGuest => "RequestGuestFunction",
            Endpoint::CancelGuestRequest => "CancelGuestRequestFunction",
            Endpoint::RespondGuestRequest => "RespondGuestRequestFunction",
            Endpoint::ListGuestRequests => "ListGuestRequestsFunction",
            Endpoint::InviteGuest => "InviteGuestFunction",
            Endpoint::RespondInvite => "RespondInviteFunction",
            Endpoint::ManageParticipant => "ManageParticipantFunction",
            Endpoint::AuditTrail => "AuditTrailFunction",
            Endpoint::LiveKitWebhook => "LiveKitWebhookFunction",
            Endpoint::Fallback => "FallbackFunction",
            Endpoint::WsConnect => "WsConnectFunction",
            Endpoint::WsDisconnect => "WsDisconnectFunction",
            Endpoint::WsDefault => "WsDefaultFunction",
        }
    }

    pub fn from_function_id(id: &str) -> Option<Endpoint> {
        Self::ALL.into_iter().find(|e| e.function_id() == id)
    }

    /// The endpoint serving a WebSocket route key.
    pub fn for_route_key(route_key: &str) -> Option<Endpoint> {
        Self::ALL
            .into_iter()
            .find(|e| matches!(e.route(), Route::WebSocket(k) if k == route_key))
    }

    /// Runs the endpoint; never fails: every error is already a problem+json response. Work that
    /// retries (pushes) stops before the Lambda's deadline when the request carries one.
    pub async fn handle(self, app: &App, req: Request) -> Response<Body> {
        let deadline = req
            .lambda_context_ref()
            .map(|c| crate::push::instant_of_epoch_millis(c.deadline))
            .unwrap_or_else(|| std::time::Instant::now() + std::time::Duration::from_secs(30));
        crate::push::DEADLINE.scope(deadline, self.respond(app, req)).await
    }

    async fn respond(self, app: &App, req: Request) -> Response<Body> {
        match self.run(app, &req).await {
            Ok(resp) => resp,
            Err(e) => {
                if e.status().is_client_error() {
                    tracing::info!(endpoint = ?self, status = e.status().as_u16(), error = %e, "request refused");
                }
                e.to_response()
            }
        }
    }

    async fn run(self, app: &App, req: &Request) -> ApiResult<Response<Body>> {
        match self {
            Endpoint::StartSession => {
                let user = user(app, req).await?;
                let out = sessions::start(app, &user, body(req)?).await?;
                json(StatusCode::CREATED, &out, None)
            }
            Endpoint::JoinSession => {
                let user = user(app, req).await?;
                json(StatusCode::OK, &sessions::join(app, &user, body(req)?).await?, None)
            }
            Endpoint::LeaveSession => {
                let user = user(app, req).await?;
                json(StatusCode::OK, &sessions::leave(app, &user, body(req)?).await?, None)
            }
            Endpoint::EndSession => {
                let user = user(app, req).await?;
                json(
                    StatusCode::OK,
                    &sessions::end(app, &user, &path(req, "session_id")?).await?,
                    None,
                )
            }
            Endpoint::ListActive => {
                let limit = sessions::page_limit(query(req, "limit").as_deref(), 20, 100)?;
                let (list, next) = sessions::active(app, limit, query(req, "cursor").as_deref()).await?;
                json(StatusCode::OK, &list, next)
            }
            Endpoint::GetSession => json(
                StatusCode::OK,
                &sessions::detail(app, &path(req, "session_id")?).await?,
                None,
            ),
            Endpoint::ListParticipants => {
                let user = user(app, req).await?;
                let limit = sessions::page_limit(query(req, "limit").as_deref(), 100, 500)?;
                let id = path(req, "session_id")?;
                let (list, next) =
                    sessions::participants(app, &user, &id, limit, query(req, "cursor").as_deref()).await?;
                json(StatusCode::OK, &list, next)
            }
            Endpoint::SendMessage => {
                let user = user(app, req).await?;
                json(StatusCode::CREATED, &chat::send(app, &user, body(req)?).await?, None)
            }
            Endpoint::ListMessages => {
                let user = user(app, req).await?;
                let limit = sessions::page_limit(query(req, "limit").as_deref(), 50, 100)?;
                let id = path(req, "session_id")?;
                let page = chat::history(app, &user, &id, limit, query(req, "before").as_deref()).await?;
                json(StatusCode::OK, &page, None)
            }
            Endpoint::React => {
                let user = user(app, req).await?;
                json(StatusCode::OK, &reactions::react(app, &user, body(req)?).await?, None)
            }
            Endpoint::RequestGuest => {
                let user = user(app, req).await?;
                json(
                    StatusCode::CREATED,
                    &stage::request_guest(app, &user, body(req)?).await?,
                    None,
                )
            }
            Endpoint::CancelGuestRequest => {
                let user = user(app, req).await?;
                json(
                    StatusCode::OK,
                    &stage::cancel_guest_request(app, &user, body(req)?).await?,
                    None,
                )
            }
            Endpoint::RespondGuestRequest => {
                let user = user(app, req).await?;
                json(
                    StatusCode::OK,
                    &stage::respond_guest_request(app, &user, body(req)?).await?,
                    None,
                )
            }
            Endpoint::ListGuestRequests => {
                let user = user(app, req).await?;
                let limit = sessions::page_limit(query(req, "limit").as_deref(), 50, 100)?;
                let id = path(req, "session_id")?;
                let status = query(req, "status");
                let before = query(req, "before");
                let page =
                    stage::list_guest_requests(app, &user, &id, status.as_deref(), limit, before.as_deref()).await?;
                json(StatusCode::OK, &page, None)
            }
            Endpoint::InviteGuest => {
                let user = user(app, req).await?;
                json(
                    StatusCode::CREATED,
                    &stage::invite_guest(app, &user, body(req)?).await?,
                    None,
                )
            }
            Endpoint::RespondInvite => {
                let user = user(app, req).await?;
                json(
                    StatusCode::OK,
                    &stage::respond_invite(app, &user, body(req)?).await?,
                    None,
                )
            }
            Endpoint::ManageParticipant => {
                let user = user(app, req).await?;
                json(StatusCode::OK, &stage::manage(app, &user, body(req)?).await?, None)
            }
            Endpoint::AuditTrail => {
                let user = user(app, req).await?;
                let limit = sessions::page_limit(query(req, "limit").as_deref(), 50, 100)?;
                let id = path(req, "session_id")?;
                let page = stage::audit_trail(app, &user, &id, limit, query(req, "before").as_deref()).await?;
                json(StatusCode::OK, &page, None)
            }
            Endpoint::LiveKitWebhook => {
                // The signature covers the exact bytes LiveKit sent: read them raw, never re-encoded.
                let raw: &[u8] = req.body().as_ref();
                if raw.len() > MAX_BODY_BYTES {
                    return Err(ApiError::PayloadTooLarge);
                }
                let body = std::str::from_utf8(raw).map_err(|_| ApiError::MalformedBody("body is not UTF-8".into()))?;
                let auth = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
                json(StatusCode::OK, &webhook::receive(app, body, auth).await?, None)
            }
            Endpoint::Fallback => Err(crate::routes::unmatched(req.method().as_str(), req.uri().path())),
            Endpoint::WsConnect => websocket::connect(app, req).await.map(|()| empty()),
            Endpoint::WsDisconnect => websocket::disconnect(app, req).await.map(|()| empty()),
            Endpoint::WsDefault => websocket::message(app, req).await.map(|()| empty()),
        }
    }
}

fn empty() -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .body(Body::Empty)
        .expect("static response")
}

async fn user(app: &App, req: &Request) -> ApiResult<User> {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    app.auth.authenticate(header).await
}

fn path(req: &Request, name: &str) -> ApiResult<String> {
    req.path_parameters()
        .first(name)
        .map(str::to_string)
        .ok_or_else(|| ApiError::validation(name, "path parameter is required"))
}

fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters().first(name).map(str::to_string)
}

/// Parses a JSON body, naming the offending field on any error.
pub fn body<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::MalformedBody("a JSON object body is required".into())),
        // serde would accept a struct written as an array; the API takes objects only.
        Some(b'{') => {}
        Some(_) => return Err(ApiError::validation("body", "must be a JSON object")),
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::MalformedBody(format!("body is not valid JSON: {inner}"));
        }
        let message = inner.to_string();
        // serde reports a missing field at its parent; name the field itself.
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            Some(missing) if path == "." => missing.to_string(),
            Some(missing) => format!("{path}.{missing}"),
            None if path == "." => "body".to_string(),
            None => path,
        };
        let detail = message.split(" at line ").next().unwrap_or(&message).to_string();
        ApiError::validation(field, detail)
    })
}

fn json<T: Serialize>(status: StatusCode, value: &T, next_cursor: Option<String>) -> ApiResult<Response<Body>> {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(cursor) = next_cursor {
        builder = builder.header(NEXT_CURSOR_HEADER, cursor);
    }
    builder.body(Body::Text(body)).map_err(ApiError::internal)
}

/// Handler tests without a network: the rules that answer before any storage call, driven through
/// `Endpoint::handle` with requests shaped by `lambda_http::RequestExt`, as the runtime builds them.
#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::{json, Value};

    use super::*;
    use crate::config::{Config, JwtConfig, JwtKeySource, SfuConfig};

    fn app() -> App {
        // Nothing listens on port 9: a test that reached DynamoDB would fail loudly.
        let db = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url("http://127.0.0.1:9")
                .credentials_provider(Credentials::new("k", "s", None, None, "test"))
                .build(),
        );
        let config = Config {
            table_name: "t".into(),
            jwt: JwtConfig {
                keys: JwtKeySource::Secret("unit".into()),
                issuer: None,
                audience: None,
                leeway_seconds: 0,
                jwks_refetch_cooldown: Duration::from_secs(30),
            },
            sfu: SfuConfig {
                url: "ws://127.0.0.1:9".into(),
                api_key: "k".into(),
                api_secret: "s".into(),
                token_ttl: Duration::from_secs(600),
                ice_servers: json!([]),
            },
            websocket_endpoint: None,
        };
        App::new(config, db, None)
    }

    fn bearer() -> String {
        let exp = jsonwebtoken::get_current_timestamp() + 600;
        let t = encode(
            &Header::default(),
            &json!({"sub": "u", "exp": exp}),
            &EncodingKey::from_secret(b"unit"),
        );
        format!("Bearer {}", t.unwrap())
    }

    fn request(method: &str, path: &str, body: &str, auth: bool) -> Request {
        let mut b = http::Request::builder().method(method).uri(path);
        if auth {
            b = b.header(header::AUTHORIZATION, bearer());
        }
        b.body(Body::from(body)).unwrap()
    }

    async fn call(endpoint: Endpoint, req: Request) -> (u16, Value, http::HeaderMap) {
        let resp = endpoint.handle(&app(), req).await;
        let (parts, body) = resp.into_parts();
        let json = serde_json::from_slice(body.as_ref()).unwrap_or(Value::Null);
        if parts.status.is_client_error() {
            assert_eq!(parts.headers[header::CONTENT_TYPE], "application/problem+json");
        }
        (parts.status.as_u16(), json, parts.headers)
    }

    #[tokio::test]
    async fn start_requires_a_token() {
        let (status, body, headers) = call(Endpoint::StartSession, request("POST", "/live/start", "{}", false)).await;
        assert_eq!(status, 401);
        assert_eq!(body["type"], "https://trendke.live/problems/unauthorized");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[tokio::test]
    async fn start_validates_before_touching_storage() {
        for (body, field) in [
            (r#"{"title": "t", "max_guests": 21}"#, "max_guests"),
            (r#"{"title": "t", "session_type": "tv"}"#, "session_type"),
            (r#"{"title": "t", "chat_slow_mode": 301}"#, "chat_slow_mode"),
            (r#"{"description": "no title"}"#, "title"),
            (r#"[]"#, "body"),
        ] {
            let (status, problem, _) = call(Endpoint::StartSession, request("POST", "/live/start", body, true)).await;
            assert_eq!((status, problem["field"].as_str()), (400, Some(field)), "{body}");
        }
        let (status, problem, _) = call(Endpoint::StartSession, request("POST", "/live/start", "{oops", true)).await;
        assert_eq!(
            (status, problem["title"].as_str()),
            (400, Some("Malformed request body"))
        );
    }

    #[tokio::test]
    async fn path_and_query_parameters_are_checked() {
        let req = request("GET", "/live/session/x", "", false)
            .with_path_parameters(HashMap::from([("session_id".to_string(), "x".to_string())]));
        let (status, problem, _) = call(Endpoint::GetSession, req).await;
        assert_eq!((status, problem["field"].as_str()), (400, Some("session_id")));
        let req = request("GET", "/live/active", "", false)
            .with_query_string_parameters(HashMap::from([("limit".to_string(), "500".to_string())]));
        let (status, problem, _) = call(Endpoint::ListActive, req).await;
        assert_eq!((status, problem["field"].as_str()), (400, Some("limit")));
        let (status, problem, _) = call(Endpoint::EndSession, request("POST", "/live/end/", "", true)).await;
        assert_eq!((status, problem["field"].as_str()), (400, Some("session_id")));
    }

    #[tokio::test]
    async fn fallback_answers_404_and_405() {
        let (status, _, headers) = call(Endpoint::Fallback, request("GET", "/live/join", "", false)).await;
        assert_eq!(
            (status, &headers[header::ALLOW]),
            (405, &http::HeaderValue::from_static("POST"))
        );
        let (status, problem, _) = call(Endpoint::Fallback, request("POST", "/nope", "", false)).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (404, Some("https://trendke.live/problems/route-not-found"))
        );
    }
}
