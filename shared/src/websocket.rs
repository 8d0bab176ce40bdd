//! The WebSocket API's routes: `$connect`, `$disconnect` and `$default` (route selection on the
//! body's `action`). API Gateway authorises only at `$connect` (browsers cannot set headers, so
//! the user JWT comes in the `token` query parameter); later frames are attributed through the
//! connection item written there.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::App;
use crate::auth::User;
use crate::chat::{self, SendMessage};
use crate::domain::{Connection, Role, SessionStatus};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, kind};
use crate::push::Audience;
use crate::reactions::{self, React};
use crate::sessions::check_session_id;

/// Connection items outlive API Gateway's 2 h connection limit a little, then TTL removes them.
pub const CONNECTION_TTL_SECONDS: i64 = 2 * 3600 + 10 * 60;

fn connection_id(req: &Request) -> ApiResult<String> {
    match req.request_context_ref() {
        Some(RequestContext::WebSocket(ctx)) => ctx
            .connection_id
            .clone()
            .ok_or_else(|| ApiError::internal("WebSocket event without connectionId")),
        _ => Err(ApiError::internal("not a WebSocket event")),
    }
}

/// `$connect`: verifies the token, the session (live) and the user (not barred), then records the
/// connection. Any error refuses the handshake with its status. Nothing is pushed from here: API
/// Gateway rejects posts to a connection that is not yet established.
pub async fn connect(app: &App, req: &Request) -> ApiResult<()> {
    let query = req.query_string_parameters();
    let token = query
        .first("token")
        .ok_or_else(|| ApiError::Unauthorized("missing `token` query parameter".into()))?;
    let user = app.auth.verify(token).await?;
    let session_id = check_session_id(
        "session_id",
        query
            .first("session_id")
            .ok_or_else(|| ApiError::validation("session_id", "query parameter is required"))?,
    )?;
    let session = app
        .store
        .session(&session_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no session {session_id}")))?;
    if session.status != SessionStatus::Live {
        return Err(ApiError::conflict("session-ended", "this live session has ended"));
    }
    let role = match app.store.participant(&session_id, &user.id).await? {
        Some(p) if p.status.is_barred() => {
            return Err(ApiError::Forbidden("you were removed from this session".into()))
        }
        Some(p) if p.status.is_present() => p.role,
        _ => Role::Viewer,
    };
    let connection = Connection {
        connection_id: connection_id(req)?,
        session_id,
        user_id: user.id,
        username: user.username,
        avatar_url: user.avatar_url,
        role,
        connected_at: crate::clock::now(),
        expires_at: crate::clock::epoch_seconds() + CONNECTION_TTL_SECONDS,
    };
    app.store.put_connection(&connection).await
}

/// `$disconnect`: best effort; the TTL and 410 cleanup cover what this misses.
pub async fn disconnect(app: &App, req: &Request) -> ApiResult<()> {
    app.store.delete_connection(&connection_id(req)?).await
}

#[derive(Deserialize)]
struct Frame {
    action: String,
}

#[derive(Deserialize)]
struct ChatFrame {
    message: String,
    #[serde(default)]
    message_type: Option<crate::domain::MessageType>,
    #[serde(default)]
    metadata: Option<Value>,
}

#[derive(Deserialize)]
struct ReactFrame {
    reaction_type: crate::domain::ReactionType,
}

/// The `action`s `$default` takes (documented in `docs/events.md`).
pub const ACTIONS: [&str; 3] = ["ping", "chat", "react"];

/// `$default`: `ping` → `pong`; `chat` and `react` run the HTTP endpoints' rules; anything else
/// gets an `error` frame. Answers go to this connection only, as frames.
pub async fn message(app: &App, req: &Request) -> ApiResult<()> {
    let id = connection_id(req)?;
    let to_me = Audience::Connection(id.clone());
    let Some(conn) = app.store.connection(&id).await? else {
        // Not (or no longer) recorded: nothing to attribute the frame to.
        return Err(ApiError::Forbidden("unknown connection".into()));
    };
    let result = handle_frame(app, &conn, req).await;
    let (kind, data) = match result {
        Ok(Some((kind, data))) => (kind, data),
        Ok(None) => return Ok(()),
        Err(e) => (kind::ERROR, e.problem_json()),
    };
    events::publish(app, to_me, kind, &conn.session_id, data).await;
    Ok(())
}

async fn handle_frame(app: &App, conn: &Connection, req: &Request) -> ApiResult<Option<(&'static str, Value)>> {
    let frame: Frame = crate::api::body(req)?;
    let user = User {
        id: conn.user_id.clone(),
        username: conn.username.clone(),
        avatar_url: conn.avatar_url.clone(),
    };
    match frame.action.as_str() {
        "ping" => Ok(Some((kind::PONG, json!({})))),
        "chat" => {
            let f: ChatFrame = crate::api::body(req)?;
            let req = SendMessage {
                session_id: conn.session_id.clone(),
                message: f.message,
                message_type: f.message_type,
                metadata: f.metadata,
            };
            // The message reaches this connection too, as `chat.message`, like every other.
            chat::send(app, &user, req).await.map(|_| None)
        }
        "react" => {
            let f: ReactFrame = crate::api::body(req)?;
            let req = React {
                session_id: conn.session_id.clone(),
                reaction_type: f.reaction_type,
            };
            reactions::react(app, &user, req).await.map(|_| None)
        }
        other => Err(ApiError::validation(
            "action",
            format!("unknown action `{other}`; use ping, chat or react"),
        )),
    }
}
