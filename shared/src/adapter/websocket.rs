//! What a socket sends after `$connect`: the `$default` route's frames (route selection on the
//! body's `action`). `ping` gets `pong`; `chat` and `react` run the HTTP endpoints' rules with the
//! session of the connection; anything else gets an `error` frame. Answers go to the sending
//! connection only, as frames (`docs/events.md`). Frames are attributed through the connection
//! item `$connect` wrote: API Gateway authorises only the handshake.

use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::parse_json;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::rate::Limited;
use crate::domain::{Connection, MessageType, ReactionType, User};
use crate::effects::Effects;
use crate::rules::chat::{self, SendMessage};
use crate::rules::events::{self, kind};
use crate::rules::rates;
use crate::rules::reactions::{self, React};

/// The `action`s `$default` takes (documented in `docs/events.md`).
pub const ACTIONS: [&str; 3] = ["ping", "chat", "react"];

#[derive(Deserialize)]
struct Frame {
    action: String,
}

#[derive(Deserialize)]
struct ChatFrame {
    message: String,
    #[serde(default)]
    message_type: Option<MessageType>,
    #[serde(default)]
    metadata: Option<Value>,
}

#[derive(Deserialize)]
struct ReactFrame {
    reaction_type: ReactionType,
}

/// `$default`: one frame of connection `connection_id`.
pub async fn frame(fx: &Effects, connection_id: String, body: &[u8]) -> ApiResult<()> {
    let Some(conn) = fx.store.connection(&connection_id).await? else {
        // Not (or no longer) recorded — forgotten after a 410, or a kick that raced its
        // `$connect` — so it receives nothing: close it rather than leave it open.
        fx.push.close(&fx.store, &connection_id).await;
        return Err(ApiError::Forbidden("unknown connection".into()));
    };
    let answered = match rates::count(fx, &conn.user_id, &conn.session_id, Limited::Frames).await {
        Ok(()) => answer(fx, &conn, body).await,
        Err(e) => Err(e),
    };
    let (kind, data) = match answered {
        Ok(Some(answer)) => answer,
        Ok(None) => return Ok(()),
        Err(e) => (kind::ERROR, e.problem_json()),
    };
    events::reply(fx, &connection_id, kind, &conn.session_id, data).await;
    Ok(())
}

/// What a frame asks for, done; the frame to send back, if any.
async fn answer(fx: &Effects, conn: &Connection, body: &[u8]) -> ApiResult<Option<(&'static str, Value)>> {
    let frame: Frame = parse_json(body)?;
    let user = User {
        id: conn.user_id.clone(),
        username: conn.username.clone(),
        avatar_url: conn.avatar_url.clone(),
    };
    match frame.action.as_str() {
        "ping" => Ok(Some((kind::PONG, json!({})))),
        "chat" => {
            let f: ChatFrame = parse_json(body)?;
            let req = SendMessage {
                session_id: conn.session_id,
                message: f.message,
                message_type: f.message_type,
                metadata: f.metadata,
            };
            // The message reaches this connection too, as `chat.message`, like every other.
            chat::send(fx, &user, req).await.map(|_| None)
        }
        "react" => {
            let f: ReactFrame = parse_json(body)?;
            let req = React {
                session_id: conn.session_id,
                reaction_type: f.reaction_type,
            };
            reactions::react(fx, &user, req).await.map(|_| None)
        }
        other => Err(ApiError::validation(
            "action",
            format!("unknown action `{other}`; use ping, chat or react"),
        )),
    }
}
