//! Chat: the rules of `POST /live/send-message` (also the WebSocket `chat` action) and of
//! `GET /live/messages/{session_id}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use super::access::{self, Need};
use super::analytics;
use super::events::{self, kind};
use super::moderation;
use super::rates;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::Audience;
use crate::domain::ids::{stamped_id, SessionId};
use crate::domain::keys;
use crate::domain::page::PageRequest;
use crate::domain::rate::Limited;
use crate::domain::text::{check_blocked, check_text};
use crate::domain::time::Timestamp;
use crate::domain::{limits, ChatMessage, MessageType, Role, User};
use crate::effects::store::analytics::Happening;
use crate::effects::Effects;

/// `POST /live/send-message` body (and the WebSocket `chat` action's fields).
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessage {
    pub session_id: SessionId,
    pub message: String,
    #[serde(default)]
    pub message_type: Option<MessageType>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// `GET /live/messages/{session_id}` answer: newest first.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    pub messages: Vec<ChatMessage>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// NFC-normalises and checks a client's message text.
pub fn clean_text(raw: &str, blocked: &[String]) -> ApiResult<String> {
    let text: String = raw.nfc().collect::<String>().trim().to_string();
    if text.is_empty() {
        return Err(ApiError::validation("message", "must not be empty"));
    }
    check_text("message", &text, limits::CHAT_MESSAGE_MAX_CHARS, false)?;
    check_blocked("message", &text, blocked)?;
    Ok(text)
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn check_metadata(metadata: Option<Value>) -> ApiResult<Option<Value>> {
    let Some(m) = metadata.filter(|m| !m.is_null()) else {
        return Ok(None);
    };
    if !m.is_object() {
        return Err(ApiError::validation("metadata", "must be a JSON object"));
    }
    let size = serde_json::to_vec(&m).map(|b| b.len()).unwrap_or(usize::MAX);
    if size > limits::CHAT_METADATA_MAX_BYTES {
        return Err(ApiError::validation(
            "metadata",
            format!("must be at most {} bytes as JSON", limits::CHAT_METADATA_MAX_BYTES),
        ));
    }
    if depth(&m) > limits::CHAT_METADATA_MAX_DEPTH {
        return Err(ApiError::validation(
            "metadata",
            format!("must nest at most {} levels", limits::CHAT_METADATA_MAX_DEPTH),
        ));
    }
    Ok(Some(m))
}

/// Sends a chat message: validated, refused to a user timed out of the chat, slow mode enforced
/// atomically (hosts and cohosts exempt), stored once, pushed to the session as `chat.message`.
pub async fn send(fx: &Effects, user: &User, req: SendMessage) -> ApiResult<ChatMessage> {
    let session_id = req.session_id;
    let message_type = match req.message_type.unwrap_or(MessageType::Text) {
        t @ (MessageType::Text | MessageType::Sticker) => t,
        MessageType::Gift | MessageType::System => {
            return Err(ApiError::validation(
                "message_type",
                "only `text` and `sticker` messages may be sent",
            ))
        }
    };
    let metadata = check_metadata(req.metadata)?;
    // A timeout is read beside the admission (one round trip); the admission's refusal comes first.
    let (admitted, timed_out) = futures::join!(
        access::admit_present(fx, &session_id, &user.id, Need::MEMBER),
        moderation::check_not_timed_out(fx, &session_id, &user.id)
    );
    let (session, me) = admitted?;
    timed_out?;
    if !session.settings.enable_chat {
        return Err(ApiError::Forbidden("chat is disabled in this session".into()));
    }
    let text = clean_text(&req.message, &session.settings.blocked_words)?;
    rates::count(fx, &user.id, &session_id, Limited::Chat).await?;
    let exempt = matches!(me.role, Role::Host | Role::Cohost);
    let slow_ms =
        (!exempt && session.settings.chat_slow_mode > 0).then(|| i64::from(session.settings.chat_slow_mode) * 1000);
    let (id, created_at) = stamped_id(fx.clock.now());
    let message = ChatMessage {
        id,
        session_id,
        user_id: Some(user.id.clone()),
        username: Some(user.username.clone()),
        avatar_url: user.avatar_url.clone(),
        message: text,
        message_type,
        metadata,
        created_at,
    };
    fx.store.put_chat_message(&message, slow_ms).await?;
    let at = message.created_at.unix_millis();
    let data = serde_json::to_value(&message).map_err(ApiError::internal)?;
    // The count and the push are independent: one round trip, not two.
    futures::join!(
        analytics::count(fx, &session, &user.id, Happening::Chatted, at),
        events::publish(fx, Audience::Session, kind::CHAT_MESSAGE, &session_id, data)
    );
    Ok(message)
}

/// Chat history, newest first. The page's cursor (`before`) is the previous page's
/// `next_cursor` or, for older clients, an RFC 3339 timestamp (messages strictly older than it).
pub async fn history(fx: &Effects, user: &User, session_id: SessionId, page: PageRequest) -> ApiResult<MessagePage> {
    access::admit(fx, &session_id, &user.id, Need::READER).await?;
    let before_time = page.cursor.as_deref().and_then(|b| Timestamp::parse(b).ok());
    let listing = match before_time {
        Some(t) => {
            let page = PageRequest { cursor: None, ..page };
            fx.store
                .chat_page(&session_id, &page, Some(keys::chat_before(&t)))
                .await?
        }
        None => fx.store.chat_page(&session_id, &page, None).await?,
    };
    Ok(MessagePage {
        messages: listing.items,
        next_cursor: listing.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_normalised_and_checked() {
        assert_eq!(clean_text("  Cafe\u{301}  ", &[]).unwrap(), "Café");
        assert!(clean_text("   ", &[]).is_err());
        assert!(clean_text(&"a".repeat(501), &[]).is_err());
        assert!(clean_text(&"é".repeat(500), &[]).is_ok());
        assert!(clean_text("hi \u{202E}there", &[]).is_err());
        assert!(clean_text("line\nbreak", &[]).is_err());
        let blocked = vec!["spam".to_string(), "buy now".to_string()];
        assert!(clean_text("no SPAM here", &blocked).is_err());
        assert!(clean_text("spammer is fine", &blocked).is_ok());
        assert!(clean_text("please Buy Now!", &blocked).is_err());
    }

    #[test]
    fn metadata_is_bounded() {
        assert!(check_metadata(Some(serde_json::json!({"sticker": "wave"}))).is_ok());
        assert!(check_metadata(Some(serde_json::json!([1]))).is_err());
        assert!(check_metadata(Some(serde_json::json!({"a": {"b": {"c": {"d": {"e": 1}}}}}))).is_err());
        assert!(check_metadata(Some(serde_json::json!({"a": "x".repeat(3000)}))).is_err());
    }
}
