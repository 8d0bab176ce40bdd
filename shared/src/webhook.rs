//! `POST /livekit/webhook`: what the SFU tells us, kept true in our table.
//!
//! LiveKit signs each webhook with a JWT (our API key and secret) carrying the SHA-256 of the raw
//! body; anything else is refused with 401 before it is read. LiveKit retries deliveries and may
//! send one twice, so each event id is taken once (P22); a duplicate is answered 200 and changes
//! nothing. When processing fails the id is released and the error answered 5xx, so that LiveKit's
//! retry is taken: no accepted event is lost.
//!
//! | event | effect |
//! |---|---|
//! | `participant_joined` | `connected = true`; a barred user (kicked, banned) is removed from the room again |
//! | `participant_left` | `connected = false`, nothing published |
//! | `track_published` / `track_unpublished` | `audio_published` / `video_published` / `screen_sharing` by track source |
//! | `room_finished` | a session still live is ended, as if its host had ended it |
//!
//! Participant flags change only on present participants, and a report older than the last one
//! applied is ignored (webhooks can arrive out of order). Each change is pushed as
//! `participant.updated` to the session.

use livekit_protocol::{TrackSource, WebhookEvent};
use serde::Serialize;

use crate::app::App;
use crate::domain::SessionStatus;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, kind};
use crate::push::Audience;
use crate::sessions;
use crate::store::MediaState;

/// The answer to LiveKit (it only looks at the status).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    pub id: String,
    pub event: String,
    /// The event id was seen before: nothing was done.
    pub duplicate: bool,
}

/// Verifies, deduplicates and applies one webhook delivery.
pub async fn receive(app: &App, body: &str, authorization: Option<&str>) -> ApiResult<Received> {
    let token = authorization
        .map(|h| h.strip_prefix("Bearer ").unwrap_or(h).trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("a signed LiveKit webhook is required".into()))?;
    let event = app.sfu.verify_webhook(body, token)?;
    if event.id.is_empty() {
        return Err(ApiError::validation("id", "a webhook event needs an id"));
    }
    let mut received = Received {
        id: event.id.clone(),
        event: event.event.clone(),
        duplicate: false,
    };
    if !app.store.claim_webhook(&event.id).await? {
        tracing::info!(id = %event.id, event = %event.event, "duplicate webhook ignored");
        received.duplicate = true;
        return Ok(received);
    }
    if let Err(e) = apply(app, &event).await {
        if let Err(release) = app.store.release_webhook(&event.id).await {
            tracing::error!(error = %release, id = %event.id, "webhook claim not released");
        }
        return Err(e);
    }
    Ok(received)
}

async fn apply(app: &App, event: &WebhookEvent) -> ApiResult<()> {
    let room = event.room.as_ref().map(|r| r.name.as_str()).unwrap_or_default();
    let Some(session_id) = sessions::session_id_of_room(room) else {
        tracing::debug!(room, event = %event.event, "webhook for a room that is not ours");
        return Ok(());
    };
    let identity = event
        .participant
        .as_ref()
        .map(|p| p.identity.as_str())
        .unwrap_or_default();
    let source = event.track.as_ref().map(|t| t.source).unwrap_or_default();
    let state = match event.event.as_str() {
        "participant_joined" => MediaState {
            connected: Some(true),
            ..MediaState::default()
        },
        "participant_left" => MediaState {
            connected: Some(false),
            audio_published: Some(false),
            video_published: Some(false),
            screen_sharing: Some(false),
        },
        "track_published" | "track_unpublished" => {
            let on = Some(event.event == "track_published");
            match TrackSource::try_from(source) {
                Ok(TrackSource::Microphone) => MediaState {
                    audio_published: on,
                    ..MediaState::default()
                },
                Ok(TrackSource::Camera) => MediaState {
                    video_published: on,
                    ..MediaState::default()
                },
                Ok(TrackSource::ScreenShare) => MediaState {
                    screen_sharing: on,
                    ..MediaState::default()
                },
                _ => return Ok(()),
            }
        }
        "room_finished" => return room_finished(app, &session_id).await,
        _ => return Ok(()),
    };
    if identity.is_empty() {
        return Err(ApiError::validation(
            "participant.identity",
            "is required for this event",
        ));
    }
    if event.event == "participant_joined" {
        if let Some(p) = app.store.participant(&session_id, identity).await? {
            if p.status.is_barred() {
                // A token minted before the kick can still connect once; it is removed again.
                tracing::warn!(session_id, identity, "barred participant reached the SFU; removing");
                return app.sfu.remove(room, identity).await;
            }
        }
    }
    let at_ms = event.created_at.saturating_mul(1000);
    if let Some(p) = app.store.set_media_state(&session_id, identity, &state, at_ms).await? {
        events::publish(
            app,
            Audience::Session,
            kind::PARTICIPANT_UPDATED,
            &session_id,
            events::participant_data(&p),
        )
        .await;
    }
    Ok(())
}

/// The SFU closed the room (empty past its timeout, or deleted): a session still live ends.
async fn room_finished(app: &App, session_id: &str) -> ApiResult<()> {
    match app.store.session(session_id).await? {
        Some(s) if s.status == SessionStatus::Live => {
            tracing::info!(session_id, "SFU room finished; ending the session");
            sessions::finish(app, s).await.map(|_| ())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_map_to_sessions() {
        let id = "0b7c2f0e-59a4-4a39-9a0f-6f1f3c2b8a11";
        let room = format!("live_{}", id.replace('-', ""));
        assert_eq!(sessions::session_id_of_room(&room).as_deref(), Some(id));
        assert_eq!(sessions::session_id_of_room("other_room"), None);
        assert_eq!(sessions::session_id_of_room("live_nothex"), None);
    }
}
