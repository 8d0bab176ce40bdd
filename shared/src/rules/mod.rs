//! The rules: what may happen, decided here and done through the effects. One function per
//! endpoint, readable top to bottom; each takes the [`Effects`](crate::effects::Effects), the verified caller and a
//! validated request, and answers a value or an [`ApiError`].
//!
//! - [`access`]: the one guard of who may act in a session (present, not barred, moderator).
//! - [`sessions`], [`backstage`], [`settings`], [`recording`], [`chat`], [`moderation`], [`reactions`], [`stage`], [`webhook`],
//!   [`realtime`], [`economy`]: the endpoints.
//! - [`analytics`]: counted as things happen, read per session and across a host's sessions.
//! - [`events`]: what the rules publish (event types, system messages, coalesced aggregates).
//! - [`fanout`]: the sequencer and the per-shard fan-out that deliver what is published;
//!   [`batch`]: the SQS batches they (and the aggregates' trailing edges) are fed.
//! - [`idempotency`]: what a retried request's `Idempotency-Key` means (replay, 409, 422).
//! - [`rates`]: per-user rate limits (429).
//!
//! The effects answer in their own terms; [`From`] below turns what they refuse into the answer
//! a client gets, where a rule does not name a more precise one.

use crate::domain::error::ApiError;
use crate::effects::sfu::SfuError;
use crate::effects::store::{Refusal, StoreError};

pub mod access;
pub mod analytics;
pub mod backstage;
pub mod batch;
pub mod chat;
pub mod economy;
pub mod events;
pub mod fanout;
pub mod idempotency;
pub mod moderation;
pub mod rates;
pub mod reactions;
pub mod realtime;
pub mod recording;
pub mod sessions;
pub mod settings;
pub mod stage;
pub mod webhook;

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::SessionMissing => ApiError::NotFound("no such session".into()),
            Refusal::SessionEnded => ApiError::session_ended(),
            Refusal::SessionFull => ApiError::conflict("session-full", "this live session is full"),
            Refusal::AlreadyLive => ApiError::conflict(
                "already-live",
                "you already have a live session; end it before starting another",
            ),
            Refusal::GuestsNotAllowed => ApiError::Forbidden("this session does not take guests".into()),
            Refusal::Barred => ApiError::removed(),
            Refusal::Absent => ApiError::join_first(),
            Refusal::NotAViewer => ApiError::conflict("not-a-viewer", "only a present viewer can go on stage"),
            Refusal::RequestPending => {
                ApiError::conflict("request-pending", "a request or invitation is already pending")
            }
            Refusal::AlreadyAnswered => ApiError::already_answered("request"),
            Refusal::InvitationExpired => ApiError::invitation_expired(),
            Refusal::StageFull => ApiError::stage_full(),
            Refusal::ParticipantChanged => ApiError::participant_changed(),
            Refusal::ActorChanged => ApiError::Forbidden("your role in this session changed".into()),
            Refusal::SessionChanged => ApiError::conflict("session-changed", "the session changed; retry"),
            Refusal::GiftsDisabled => ApiError::Forbidden("gifts and tips are turned off in this session".into()),
            Refusal::RecipientOffStage => ApiError::conflict(
                "recipient-not-on-stage",
                "gifts and tips go to the host or a guest or cohost on stage",
            ),
            Refusal::InsufficientCoins { balance, needed } => ApiError::insufficient_coins(balance, needed),
            Refusal::SlowMode { wait_ms } => ApiError::TooManyRequests {
                retry_after_seconds: seconds_after(wait_ms),
                detail: "slow mode: wait before sending another message".into(),
            },
            Refusal::RateLimited {
                what,
                rate,
                retry_after_ms,
            } => ApiError::TooManyRequests {
                retry_after_seconds: seconds_after(retry_after_ms),
                detail: format!("at most {} {} per {}", rate.count, what.noun(), rate.per()),
            },
        }
    }
}

/// Whole seconds to wait for `ms` milliseconds (at least 1: `Retry-After: 0` invites a storm).
fn seconds_after(ms: i64) -> u64 {
    u64::try_from((ms.max(1) + 999) / 1000).unwrap_or(1)
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(r) => r.into(),
            StoreError::BadCursor(param) => ApiError::bad_cursor(param),
            StoreError::Busy(what) => ApiError::Unavailable(format!("{what}: retries exhausted")),
            StoreError::Failed(cause) => ApiError::Internal(cause),
        }
    }
}

/// An SFU failure after a change that stands (`kept`: a leave, a kick): `502` saying what was
/// kept, so the caller repeats the request to finish it.
pub(crate) fn after_kept(kept: &'static str) -> impl FnOnce(SfuError) -> ApiError {
    move |e| match e {
        SfuError::Unreachable(cause) => ApiError::UpstreamAfter { kept, cause },
        other => other.into(),
    }
}

impl From<SfuError> for ApiError {
    fn from(e: SfuError) -> Self {
        match e {
            SfuError::Unreachable(cause) => ApiError::Upstream(cause),
            SfuError::MalformedWebhook(_) => ApiError::MalformedBody(e.to_string()),
            SfuError::ForgedWebhook(_) => ApiError::Unauthorized(e.to_string()),
            SfuError::Token(_) => ApiError::internal(e),
            SfuError::NoRoom(_) => ApiError::conflict(
                "room-empty",
                "nobody is connected to the media room yet: connect, then record",
            ),
            SfuError::NoEgress(cause) => {
                tracing::warn!(error = %cause, "recording unavailable");
                ApiError::RecordingUnavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_races_are_503_and_refusals_keep_their_codes() {
        let busy = ApiError::from(StoreError::Busy("join".into()));
        assert_eq!(busy.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(busy
            .headers()
            .iter()
            .any(|(h, v)| h == http::header::RETRY_AFTER && v == "1"));
        let full = ApiError::from(StoreError::Refused(Refusal::SessionFull));
        assert!(matches!(
            full,
            ApiError::Conflict {
                code: "session-full",
                ..
            }
        ));
        let slow = ApiError::from(Refusal::SlowMode { wait_ms: 1001 });
        assert!(matches!(
            slow,
            ApiError::TooManyRequests {
                retry_after_seconds: 2,
                ..
            }
        ));
        assert_eq!(ApiError::from(StoreError::BadCursor("before")).status(), 400);
    }
}
