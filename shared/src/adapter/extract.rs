//! Extractors: how an endpoint's arguments come out of an API Gateway request. The endpoint table
//! names them in each entry (`|fx, user: User, body: Json<StartRequest>|`); the dispatch runs them
//! in that order, so the first refusal wins, and the OpenAPI document describes the same types.
//! Every refusal is a problem that names its field or parameter.

use std::future::Future;
use std::marker::PhantomData;

use http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::app::App;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::idempotency::{IdempotencyKey, HEADER};
use crate::domain::ids::{MessageId, SessionId};
use crate::domain::page::PageRequest;
use crate::domain::time::Timestamp;
use crate::domain::User;

/// Largest request body we read (API Gateway allows 10 MB). The largest request we take is a
/// subscribers-only session's access list: 10,000 user ids of up to 128 bytes, as JSON.
pub const MAX_BODY_BYTES: usize = 1536 * 1024;

/// A value taken from a request.
pub trait Extract: Sized {
    fn extract(app: &App, req: &Request) -> impl Future<Output = ApiResult<Self>> + Send;

    /// The signed-in caller this value is, if it is one (whose `Idempotency-Key` a request carries).
    fn caller(&self) -> Option<&User> {
        None
    }
}

/// The caller, from `Authorization: Bearer <JWT>` (401 otherwise).
impl Extract for User {
    async fn extract(app: &App, req: &Request) -> ApiResult<Self> {
        let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        app.auth.authenticate(header).await
    }

    fn caller(&self) -> Option<&User> {
        Some(self)
    }
}

/// The caller when the request is signed (`Authorization: Bearer <JWT>`, 401 when it is not
/// valid), `None` when it is anonymous.
impl Extract for Option<User> {
    async fn extract(app: &App, req: &Request) -> ApiResult<Self> {
        match req.headers().get(header::AUTHORIZATION) {
            None => Ok(None),
            Some(_) => User::extract(app, req).await.map(Some),
        }
    }

    fn caller(&self) -> Option<&User> {
        self.as_ref()
    }
}

/// A JSON object body, also the answer of most endpoints (`super::answer`).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send> Extract for Json<T> {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        parse_json(req.body().as_ref()).map(Json)
    }
}

/// A path parameter (`{session_id}`).
pub struct Path<T>(pub T);

/// A type that is named by a path parameter.
pub trait PathParam: Sized {
    /// The parameter's name in the route template.
    const NAME: &'static str;
    /// What it names (documentation).
    const DESCRIPTION: &'static str;
    fn parse(text: &str) -> Result<Self, String>;
}

impl PathParam for SessionId {
    const NAME: &'static str = "session_id";
    const DESCRIPTION: &'static str = "The session.";
    fn parse(text: &str) -> Result<Self, String> {
        SessionId::parse(text).map_err(|e| e.to_string())
    }
}

impl PathParam for MessageId {
    const NAME: &'static str = "message_id";
    const DESCRIPTION: &'static str = "The chat message (its `id`).";
    fn parse(text: &str) -> Result<Self, String> {
        uuid::Uuid::try_parse(text)
            .map(|_| MessageId(text.to_string()))
            .map_err(|_| "must be a chat message's id (a UUID)".into())
    }
}

impl<T: PathParam + Send> Extract for Path<T> {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        let params = req.path_parameters();
        let raw = params
            .first(T::NAME)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::validation(T::NAME, "path parameter is required"))?;
        T::parse(raw).map(Path).map_err(|e| ApiError::validation(T::NAME, e))
    }
}

/// Query parameters read as a struct (each a string or an enum); unknown parameters are ignored.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> Extract for Query<T> {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        let params = req.query_string_parameters();
        let object: serde_json::Map<String, serde_json::Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        serde_path_to_error::deserialize(serde_json::Value::Object(object))
            .map(Query)
            .map_err(named)
    }
}

/// A page of a list: `limit` (1..=`MAX`, default `DEFAULT`) and the cursor parameter `C` names.
/// These bounds are the only ones: the OpenAPI document reads them from this type too.
pub struct Page<C, const DEFAULT: i32, const MAX: i32>(pub PageRequest, PhantomData<C>);

/// The name of a list's cursor parameter, and what it takes.
pub trait CursorParam {
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
}

/// `cursor`: the `X-Next-Cursor` header of the previous page.
pub struct Cursor;

impl CursorParam for Cursor {
    const NAME: &'static str = "cursor";
    const DESCRIPTION: &'static str = "The `X-Next-Cursor` of the previous page.";
}

/// `before`: the `next_cursor` of the previous page.
pub struct Before;

impl CursorParam for Before {
    const NAME: &'static str = "before";
    const DESCRIPTION: &'static str = "`next_cursor` of the previous page.";
}

/// `before` of the chat history: a `next_cursor`, or a time.
pub struct BeforeOrTime;

impl CursorParam for BeforeOrTime {
    const NAME: &'static str = "before";
    const DESCRIPTION: &'static str = "`next_cursor` of the previous page, or an RFC 3339 timestamp.";
}

impl<C: CursorParam, const DEFAULT: i32, const MAX: i32> Page<C, DEFAULT, MAX> {
    /// The page `limit` and `cursor` ask for.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> ApiResult<PageRequest> {
        let limit = match limit {
            None => DEFAULT,
            Some(v) => match v.trim().parse::<i32>() {
                Ok(n) if (1..=MAX).contains(&n) => n,
                _ => return Err(Self::bad_limit()),
            },
        };
        Ok(PageRequest {
            limit,
            cursor: cursor.map(str::to_string),
            cursor_param: C::NAME,
        })
    }

    pub fn bad_limit() -> ApiError {
        ApiError::validation("limit", format!("must be an integer between 1 and {MAX}"))
    }
}

impl<C: CursorParam + Send, const DEFAULT: i32, const MAX: i32> Extract for Page<C, DEFAULT, MAX> {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        let params = req.query_string_parameters();
        Self::parse(params.first("limit"), params.first(C::NAME)).map(|p| Page(p, PhantomData))
    }
}

/// A signed delivery (LiveKit's webhooks): the exact body bytes, as text, and `Authorization`.
/// The signature covers those bytes: they are never re-encoded.
pub struct Signed {
    pub body: String,
    pub authorization: Option<String>,
}

impl Extract for Signed {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        let raw: &[u8] = req.body().as_ref();
        if raw.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        let body = std::str::from_utf8(raw).map_err(|_| ApiError::MalformedBody("body is not UTF-8".into()))?;
        Ok(Signed {
            body: body.to_string(),
            authorization: req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        })
    }
}

/// The WebSocket connection an event belongs to (its `requestContext.connectionId`).
pub struct Socket(pub String);

impl Extract for Socket {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        match req.request_context_ref() {
            Some(RequestContext::WebSocket(ctx)) => ctx
                .connection_id
                .clone()
                .map(Socket)
                .ok_or_else(|| ApiError::internal("WebSocket event without connectionId")),
            _ => Err(ApiError::internal("not a WebSocket event")),
        }
    }
}

/// The caller of a WebSocket `$connect`, from the `token` query parameter (browsers cannot set
/// headers on a WebSocket handshake; API Gateway authorises only there).
pub struct TokenUser(pub User);

impl Extract for TokenUser {
    async fn extract(app: &App, req: &Request) -> ApiResult<Self> {
        let params = req.query_string_parameters();
        let token = params
            .first("token")
            .ok_or_else(|| ApiError::Unauthorized("missing `token` query parameter".into()))?;
        app.auth.verify(token).await.map(TokenUser)
    }
}

/// A server token's caller (`Authorization: Bearer <JWT>` whose `role` claim is `service_role`,
/// both configurable): 401 without a valid token, 403 with any other.
pub struct Service(pub User);

impl Extract for Service {
    async fn extract(app: &App, req: &Request) -> ApiResult<Self> {
        let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        app.auth.authenticate_service(header).await.map(Service)
    }

    fn caller(&self) -> Option<&User> {
        Some(&self.0)
    }
}

/// The `Idempotency-Key` of a request that moves money: required (400 without one). Its replays
/// are answered before the rule runs (`super::idempotency`); the rule records the key with the
/// payment itself, so that nothing is paid twice even after that record is gone.
pub struct PaymentKey(pub IdempotencyKey);

impl Extract for PaymentKey {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        let raw = req
            .headers()
            .get(HEADER)
            .ok_or_else(|| ApiError::validation(HEADER, "is required: payments are retried safely only with one"))?;
        raw.to_str()
            .map_err(|_| ApiError::validation(HEADER, "must be visible ASCII characters"))
            .and_then(|text| IdempotencyKey::parse(text).map_err(|why| ApiError::validation(HEADER, why)))
            .map(PaymentKey)
    }
}

/// The raw body (a WebSocket frame, parsed by its route).
pub struct RawBody(pub Vec<u8>);

impl Extract for RawBody {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        Ok(RawBody(req.body().as_ref().to_vec()))
    }
}

/// When an EventBridge scheduled event fired (its `time`), in epoch milliseconds: the clock of a
/// scheduled function, which tests set.
pub struct Tick(pub i64);

impl Extract for Tick {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        #[derive(Deserialize)]
        struct Scheduled {
            time: Timestamp,
        }
        let event: Scheduled = parse_json(req.body().as_ref())?;
        Ok(Tick(event.time.unix_millis()))
    }
}

/// The messages of an SQS event (`Records`), as Lambda hands a batch to a queue's function.
pub struct Messages(pub Vec<crate::rules::batch::QueueMessage>);

impl Extract for Messages {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Record {
            message_id: String,
            receipt_handle: String,
            body: String,
            #[serde(default)]
            attributes: std::collections::HashMap<String, String>,
        }
        #[derive(Deserialize)]
        struct Event {
            #[serde(rename = "Records")]
            records: Vec<Record>,
        }
        let event: Event = parse_json(req.body().as_ref())?;
        Ok(Messages(
            event
                .records
                .into_iter()
                .map(|r| crate::rules::batch::QueueMessage {
                    message_id: r.message_id,
                    receipt_handle: r.receipt_handle,
                    body: r.body,
                    receive_count: r
                        .attributes
                        .get("ApproximateReceiveCount")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                })
                .collect(),
        ))
    }
}

/// The method and path of a request (for the catch-all route's answer).
pub struct RequestLine {
    pub method: String,
    pub path: String,
}

impl Extract for RequestLine {
    async fn extract(_: &App, req: &Request) -> ApiResult<Self> {
        Ok(RequestLine {
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
        })
    }
}

/// Parses a JSON object, naming the offending field on any error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
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
    serde_path_to_error::deserialize(de).map_err(named)
}

/// A deserialization error as a problem naming its field (its JSON path).
fn named(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
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
}
