//! Moderation of a session's chat by its host and cohosts: deleting messages (authors may delete
//! their own), timing users out of chat, pinning one message. Every moderator action is on the
//! audit trail; the blocked words are a live setting (`settings`).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::{self, Need};
use super::events::{self, kind};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::Audience;
use crate::domain::ids::{MessageId, SessionId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{limits, ChatMessage, Participant, PinnedMessage, Role, Session, User};
use crate::effects::Effects;

/// `DELETE /live/messages/{session_id}/{message_id}` answer.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageDeleted {
    pub session_id: SessionId,
    pub message_id: String,
    pub deleted_by: UserId,
    /// Whether the message was the pinned one (it is unpinned with it).
    pub unpinned: bool,
}

/// `POST /live/chat-timeout` body.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatTimeout {
    pub session_id: SessionId,
    pub user_id: UserId,
    /// 1..=86,400 seconds from now; `0` lifts the user's timeout.
    pub seconds: u32,
}

/// `POST /live/chat-timeout` answer.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatTimeoutSet {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub seconds: u32,
    /// When the user may chat again (absent: the timeout was lifted).
    pub until: Option<Timestamp>,
}

/// `PUT /live/pin/{session_id}` body.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pin {
    pub message_id: String,
    /// 1..=86,400: the pin shows this long (absent: until unpinned or the session ends).
    #[serde(default)]
    pub expires_in_seconds: Option<u32>,
}

/// `DELETE /live/pin/{session_id}` answer.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unpinned {
    pub session_id: SessionId,
    /// The message that was pinned (absent: none was).
    pub message_id: Option<String>,
}

/// Whether `me` moderates `session`: its host, or a present cohost.
fn moderates(session: &Session, user_id: &UserId, me: Option<&Participant>) -> bool {
    *user_id == session.host_id || me.is_some_and(|p| p.role == Role::Cohost && p.status.is_present())
}

/// `DELETE /live/messages/{session_id}/{message_id}`: a moderator deletes any message, an author
/// their own; it is gone from the history and every socket is told (`chat.deleted`). A pinned
/// message is unpinned with it.
pub async fn delete_message(
    fx: &Effects,
    user: &User,
    session_id: SessionId,
    message_id: MessageId,
) -> ApiResult<MessageDeleted> {
    let (session, me) = access::admit(fx, &session_id, &user.id, Need::READER).await?;
    let not_found = || ApiError::NotFound(format!("no message {} in this session", message_id.0));
    let message = fx
        .store
        .chat_message(&session_id, &message_id.0)
        .await?
        .ok_or_else(not_found)?;
    let moderator = moderates(&session, &user.id, me.as_ref());
    let author = message.user_id.as_ref() == Some(&user.id);
    if !moderator && !author {
        return Err(ApiError::Forbidden(
            "only the host, the cohosts and its author can delete a message".into(),
        ));
    }
    if !fx.store.delete_chat_message(&message).await? {
        return Err(not_found());
    }
    // The session read above says whether this message is the pinned one.
    let was_pinned = session.pinned.as_ref().is_some_and(|p| p.message.id == message.id);
    let unpinned = was_pinned && fx.store.unpin(&session_id, Some(&message.id)).await?.is_some();
    if !author {
        let details = json!({"message_id": message.id, "message": message.message});
        events::audit(
            fx,
            &session_id,
            &user.id,
            "chat.delete",
            message.user_id.as_ref(),
            details,
        )
        .await;
    }
    let data = json!({"message_id": message.id, "deleted_by": user.id});
    events::publish(fx, Audience::Session, kind::CHAT_DELETED, &session_id, data).await;
    if unpinned {
        unpinned_event(fx, &session_id, &message.id, &user.id).await;
    }
    Ok(MessageDeleted {
        session_id,
        message_id: message.id,
        deleted_by: user.id.clone(),
        unpinned,
    })
}

/// `POST /live/chat-timeout`: a moderator keeps a user out of the chat for `seconds` (or lifts
/// it with `0`); their messages are refused with `403 chat-timeout` and the time left. The host
/// cannot be timed out, a cohost only by the host.
pub async fn chat_timeout(fx: &Effects, user: &User, req: ChatTimeout) -> ApiResult<ChatTimeoutSet> {
    if !limits::CHAT_TIMEOUT_SECONDS.contains(&req.seconds) {
        return Err(ApiError::validation(
            "seconds",
            "must be between 0 (lifts the timeout) and 86400",
        ));
    }
    let session_id = req.session_id;
    let (_, me) = access::admit_present(fx, &session_id, &user.id, Need::LIVE_MODERATOR).await?;
    if req.user_id == user.id {
        return Err(ApiError::validation("user_id", "you cannot time yourself out"));
    }
    let target = fx
        .store
        .participant(&session_id, &req.user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{} has not joined this session", req.user_id)))?;
    if target.role == Role::Host || (target.role == Role::Cohost && me.role != Role::Host) {
        return Err(ApiError::Forbidden(
            "the host cannot be timed out, and a cohost only by the host".into(),
        ));
    }
    let now_ms = fx.clock.millis();
    let until_ms = (req.seconds > 0).then(|| now_ms + i64::from(req.seconds) * 1000);
    fx.store
        .set_chat_timeout(&session_id, &req.user_id, until_ms, &user.id)
        .await?;
    let until = until_ms.map(Timestamp::from_millis);
    let details = json!({"seconds": req.seconds, "until": until});
    events::audit(fx, &session_id, &user.id, "chat.timeout", Some(&req.user_id), details).await;
    // The user is told (and why their messages are refused); the stage sees it too.
    let data = json!({"user_id": req.user_id, "seconds": req.seconds, "until": until, "by": user.id});
    let audience = Audience::User {
        user_id: req.user_id.clone(),
    };
    events::publish(fx, audience, kind::CHAT_TIMEOUT, &session_id, data.clone()).await;
    events::publish(fx, Audience::Stage, kind::CHAT_TIMEOUT, &session_id, data).await;
    Ok(ChatTimeoutSet {
        session_id,
        user_id: req.user_id,
        seconds: req.seconds,
        until,
    })
}

/// The refusal of a message by a user timed out of the session's chat, if they are.
pub async fn check_not_timed_out(fx: &Effects, session_id: &SessionId, user_id: &UserId) -> ApiResult<()> {
    let Some(until) = fx.store.chat_timeout_until(session_id, user_id).await? else {
        return Ok(());
    };
    let left_ms = until - fx.clock.millis();
    if left_ms <= 0 {
        return Ok(());
    }
    Err(ApiError::ChatTimedOut {
        seconds_left: u64::try_from((left_ms + 999) / 1000).unwrap_or(1),
    })
}

/// `PUT /live/pin/{session_id}`: a moderator pins one of the session's messages above the chat
/// (replacing the pin before it), for `expires_in_seconds` or until unpinned.
pub async fn pin(fx: &Effects, user: &User, session_id: SessionId, req: Pin) -> ApiResult<PinnedMessage> {
    if let Some(s) = req.expires_in_seconds {
        if !limits::PIN_SECONDS.contains(&s) {
            return Err(ApiError::validation(
                "expires_in_seconds",
                "must be between 1 and 86400",
            ));
        }
    }
    access::admit_present(fx, &session_id, &user.id, Need::LIVE_MODERATOR).await?;
    let message: ChatMessage = fx
        .store
        .chat_message(&session_id, &req.message_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no message {} in this session", req.message_id)))?;
    let now = fx.clock.now();
    let pinned = PinnedMessage {
        message,
        pinned_by: user.id.clone(),
        pinned_at: now,
        expires_at: req.expires_in_seconds.map(|s| now.plus_seconds(i64::from(s))),
    };
    fx.store.pin(&session_id, &pinned).await?;
    let details = json!({"message_id": pinned.message.id, "expires_at": pinned.expires_at});
    let author = pinned.message.user_id.clone();
    events::audit(fx, &session_id, &user.id, "chat.pin", author.as_ref(), details).await;
    let data = serde_json::to_value(&pinned).map_err(ApiError::internal)?;
    events::publish(fx, Audience::Session, kind::CHAT_PINNED, &session_id, data).await;
    Ok(pinned)
}

/// `DELETE /live/pin/{session_id}`: a moderator unpins the pinned message (a repeat finds none
/// and changes nothing).
pub async fn unpin(fx: &Effects, user: &User, session_id: SessionId) -> ApiResult<Unpinned> {
    access::admit_present(fx, &session_id, &user.id, Need::LIVE_MODERATOR).await?;
    let removed = fx.store.unpin(&session_id, None).await?;
    if let Some(p) = &removed {
        let details = json!({"message_id": p.message.id});
        events::audit(
            fx,
            &session_id,
            &user.id,
            "chat.unpin",
            p.message.user_id.as_ref(),
            details,
        )
        .await;
        unpinned_event(fx, &session_id, &p.message.id, &user.id).await;
    }
    Ok(Unpinned {
        session_id,
        message_id: removed.map(|p| p.message.id),
    })
}

async fn unpinned_event(fx: &Effects, session_id: &SessionId, message_id: &str, by: &UserId) {
    let data = json!({"message_id": message_id, "unpinned_by": by});
    events::publish(fx, Audience::Session, kind::CHAT_UNPINNED, session_id, data).await;
}
