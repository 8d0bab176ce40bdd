//! `POST /livekit/webhook`: what the SFU tells us, kept true in our table.
//!
//! LiveKit signs each webhook with a JWT (our API key and secret) carrying the SHA-256 of the raw
//! body; anything else is refused with 401 before it is read. LiveKit retries deliveries and may
//! send one twice, so each event id is claimed once (P22) and marked done when applied; a
//! duplicate of a done event is answered 200 and changes nothing. When processing fails the id is
//! released and the error answered 5xx, so that LiveKit's retry is taken; an invocation that dies
//! mid-way holds its claim only until its deadline, and a delivery meanwhile is answered 503 (to
//! be retried), never 200: no accepted event is lost.
//!
//! | event | effect |
//! |---|---|
//! | `participant_joined` | `connected = true`; anyone not present in our table (left, kicked, banned, never joined) is removed from the room |
//! | `participant_left` | `connected = false`, nothing published |
//! | `track_published` / `track_unpublished` | `audio_published` / `video_published` / `screen_sharing` by track source; a publisher not present is removed |
//! | `room_finished` | a session still live is ended, as if its host had ended it |
//!
//! A host's `participant_joined` / `participant_left` also (un)lists them as gone from the SFU: a
//! session whose host stays gone for `HOST_GONE_END_SECONDS` ends by itself ([`sessions::end_abandoned`]).
//!
//! Participant flags change only on present participants, and a report older than the last one
//! applied is ignored (webhooks can arrive out of order). Each change is pushed as
//! `participant.updated` to the session.

use livekit_protocol::{participant_info, TrackSource, WebhookEvent};
use serde::Serialize;

use super::events::{self, kind};
use super::sessions;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::Audience;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::time::epoch_millis;
use crate::domain::{Role, SessionStatus};
use crate::effects::deadline;
use crate::effects::store::{MediaState, WebhookClaim};
use crate::effects::Effects;

/// A claim's lease outside a Lambda invocation (no deadline to hold it until).
const CLAIM_LEASE_MS: i64 = 30_000;

/// The answer to LiveKit (it only looks at the status).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Received {
    pub id: String,
    pub event: String,
    /// The event id was seen before: nothing was done.
    pub duplicate: bool,
}

/// Verifies, deduplicates and applies one webhook delivery.
pub async fn receive(fx: &Effects, body: &str, authorization: Option<&str>) -> ApiResult<Received> {
    let token = authorization
        .map(|h| h.strip_prefix("Bearer ").unwrap_or(h).trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("a signed LiveKit webhook is required".into()))?;
    let event = fx.sfu.verify_webhook(body, token)?;
    if event.id.is_empty() {
        return Err(ApiError::validation("id", "a webhook event needs an id"));
    }
    let mut received = Received {
        id: event.id.clone(),
        event: event.event.clone(),
        duplicate: false,
    };
    // Held until this invocation's deadline: if it dies mid-way, a later delivery takes it over.
    let lease = deadline::epoch_millis_of_deadline().unwrap_or_else(|| epoch_millis() + CLAIM_LEASE_MS);
    match fx.store.claim_webhook(&event.id, lease).await? {
        WebhookClaim::Taken => {}
        WebhookClaim::Done => {
            tracing::info!(id = %event.id, event = %event.event, "duplicate webhook ignored");
            received.duplicate = true;
            return Ok(received);
        }
        // Not answered 200: if that invocation fails, LiveKit's next retry must still find it.
        WebhookClaim::Running => {
            return Err(ApiError::Unavailable(format!(
                "webhook {} is being processed",
                event.id
            )))
        }
    }
    if let Err(e) = apply(fx, &event).await {
        if let Err(release) = fx.store.release_webhook(&event.id).await {
            tracing::error!(error = %release, id = %event.id, "webhook claim not released");
        }
        return Err(e);
    }
    fx.store.complete_webhook(&event.id).await?;
    Ok(received)
}

async fn apply(fx: &Effects, event: &WebhookEvent) -> ApiResult<()> {
    let room = event.room.as_ref().map(|r| r.name.as_str()).unwrap_or_default();
    let Some(session_id) = SessionId::of_room(room) else {
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
        "room_finished" => return room_finished(fx, &session_id).await,
        _ => return Ok(()),
    };
    if identity.is_empty() {
        return Err(ApiError::validation(
            "participant.identity",
            "is required for this event",
        ));
    }
    let Ok(user_id) = UserId::parse(identity) else {
        tracing::debug!(identity, "webhook for an identity that is not one of our users");
        return Ok(());
    };
    let standard = event
        .participant
        .as_ref()
        .is_some_and(|p| p.kind == participant_info::Kind::Standard as i32);
    if standard && matches!(event.event.as_str(), "participant_joined" | "track_published") {
        let present = fx
            .store
            .participant(&session_id, &user_id)
            .await?
            .is_some_and(|p| p.status.is_present());
        if !present {
            // A token outlives a leave, a kick or a ban (LiveKit cannot revoke it, and refreshes
            // it for connected clients): whoever is in the room without being present in our
            // table is removed, whatever token got them there.
            tracing::warn!(%session_id, identity, event = %event.event, "participant not present reached the SFU; removing");
            return Ok(fx.sfu.remove(room, &user_id).await?);
        }
    }
    let at_ms = event.created_at.saturating_mul(1000);
    if let Some(p) = fx.store.set_media_state(&session_id, &user_id, &state, at_ms).await? {
        if let (Role::Host, Some(connected)) = (p.role, state.connected) {
            // A host gone from the SFU is listed, so that a session they left behind ends by
            // itself (`sessions::end_abandoned`); back, they are unlisted.
            fx.store
                .index_host_presence(&session_id, &user_id, connected, at_ms)
                .await?;
        }
        events::publish(
            fx,
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
async fn room_finished(fx: &Effects, session_id: &SessionId) -> ApiResult<()> {
    match fx.store.session(session_id).await? {
        Some(s) if s.status == SessionStatus::Live => {
            tracing::info!(%session_id, "SFU room finished; ending the session");
            sessions::finish(fx, s, sessions::Room::Finished).await.map(|_| ())
        }
        _ => Ok(()),
    }
}
