//! What the rules publish: the event types of `docs/events.md`, system chat messages, and the
//! coalesced aggregate events (`viewer_count`, `reactions`).
//!
//! Aggregates are pushed at most about once per second per session: the first change of a window
//! pushes at once (leading edge), the second leaves a message on the aggregates queue that is
//! received once the window has ended, when `PublishAggregates` reads the state and pushes it
//! (trailing edge); every other change is covered by those two. A join storm or a reaction flood
//! therefore costs each viewer one or two pushes per second, the last state is always delivered,
//! and no request waits for a window to end.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::batch::{BatchResult, QueueMessage};
use crate::domain::error::ApiResult;
use crate::domain::fanout::Audience;
use crate::domain::ids::{stamped_id, SessionId, UserId};
use crate::domain::time::epoch_millis;
use crate::domain::{AuditEntry, ChatMessage, MessageType, Participant, ReactionType};
use crate::effects::push::Event;
use crate::effects::store::StoreResult;
use crate::effects::Effects;

/// Event type names (the `type` of the envelope).
pub mod kind {
    pub const CHAT_MESSAGE: &str = "chat.message";
    pub const REACTIONS: &str = "reactions";
    pub const VIEWER_COUNT: &str = "viewer_count";
    pub const PARTICIPANT_JOINED: &str = "participant.joined";
    pub const PARTICIPANT_LEFT: &str = "participant.left";
    pub const PARTICIPANT_UPDATED: &str = "participant.updated";
    pub const GUEST_REQUEST_CREATED: &str = "guest_request.created";
    pub const GUEST_REQUEST_UPDATED: &str = "guest_request.updated";
    pub const SESSION_ENDED: &str = "session.ended";
    pub const GIFT_SENT: &str = "gift.sent";
    pub const TIP_SENT: &str = "tip.sent";
    pub const CHAT_DELETED: &str = "chat.deleted";
    pub const CHAT_PINNED: &str = "chat.pinned";
    pub const CHAT_UNPINNED: &str = "chat.unpinned";
    pub const CHAT_TIMEOUT: &str = "chat.timeout";
    pub const SETTINGS_UPDATED: &str = "settings.updated";
    pub const SESSION_LIVE: &str = "session.live";
    pub const RECORDING_STARTED: &str = "recording.started";
    pub const RECORDING_STOPPED: &str = "recording.stopped";
    pub const ERROR: &str = "error";
    pub const PONG: &str = "pong";

    /// Every event type, each documented in `docs/events.md`.
    pub const ALL: [&str; 21] = [
        CHAT_MESSAGE,
        REACTIONS,
        VIEWER_COUNT,
        PARTICIPANT_JOINED,
        PARTICIPANT_LEFT,
        PARTICIPANT_UPDATED,
        GUEST_REQUEST_CREATED,
        GUEST_REQUEST_UPDATED,
        SESSION_ENDED,
        GIFT_SENT,
        TIP_SENT,
        CHAT_DELETED,
        CHAT_PINNED,
        CHAT_UNPINNED,
        CHAT_TIMEOUT,
        SETTINGS_UPDATED,
        SESSION_LIVE,
        RECORDING_STARTED,
        RECORDING_STOPPED,
        ERROR,
        PONG,
    ];
}

/// Publishes an event to `audience`: one message on the session's ordered events queue; the
/// fan-out numbers it and delivers it within the session's window (`rules::fanout`). Publishing
/// never fails the request that caused it: the change is already durable, and a client that
/// misses the event resyncs (a failure to publish is logged).
pub async fn publish(fx: &Effects, audience: Audience, kind: &'static str, session_id: &SessionId, data: Value) {
    let event = Event::new(kind, session_id, data);
    let body = serde_json::json!({"audience": audience, "event": event}).to_string();
    if let Err(e) = fx.queues.publish(&session_id.to_string(), &event.id, body).await {
        tracing::error!(error = %e, kind, %session_id, "event not published");
    }
}

/// Replies to one socket at once (`pong`, `error`), outside the session's sequence.
pub async fn reply(fx: &Effects, connection_id: &str, kind: &'static str, session_id: &SessionId, data: Value) {
    fx.push
        .reply(&fx.store, connection_id, &Event::new(kind, session_id, data))
        .await;
}

/// The public view of a participant in events.
pub fn participant_data(p: &Participant) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// Writes one host or moderator action to the audit trail (P21): `target`, the user it concerned.
/// A failure is logged: the action has happened and must not be undone for want of its record.
pub async fn audit(
    fx: &Effects,
    session_id: &SessionId,
    actor: &UserId,
    action: &str,
    target: Option<&UserId>,
    details: Value,
) {
    let entry = AuditEntry {
        id: uuid::Uuid::now_v7().to_string(),
        session_id: *session_id,
        actor_id: actor.clone(),
        action: action.to_string(),
        target_id: target.cloned(),
        at: fx.clock.now(),
        details: Some(details),
    };
    if let Err(e) = fx.store.put_audit(&entry).await {
        tracing::error!(error = %e, %session_id, action, "audit entry not stored");
    }
}

/// Stores a system chat message and pushes it as `chat.message` to `audience`. A failure to store
/// is logged: system messages narrate a change that has already happened and must not undo it.
pub async fn system_message(fx: &Effects, session_id: &SessionId, text: String, audience: Audience, metadata: Value) {
    let (id, created_at) = stamped_id(fx.clock.now());
    let message = ChatMessage {
        id,
        session_id: *session_id,
        user_id: None,
        username: None,
        avatar_url: None,
        message: text,
        message_type: MessageType::System,
        metadata: Some(metadata),
        created_at,
    };
    if let Err(e) = fx.store.put_chat_message(&message, None).await {
        tracing::warn!(error = %e, %session_id, "system message not stored");
        return;
    }
    publish(
        fx,
        audience,
        kind::CHAT_MESSAGE,
        session_id,
        serde_json::to_value(&message).unwrap_or_default(),
    )
    .await;
}

/// What this process knows of a push window: its end, and whether its trailer is taken. It saves
/// the table writes of a claim that is bound to fail; the table's conditional writes still decide.
#[derive(Clone, Copy)]
struct KnownWindow {
    end_ms: i64,
    trailer_taken: bool,
}

static WINDOWS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<(SessionId, &'static str), KnownWindow>>,
> = std::sync::LazyLock::new(Default::default);

fn known(session_id: &SessionId, event_type: &'static str, now: i64) -> Option<KnownWindow> {
    let mut map = WINDOWS.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() > 10_000 {
        map.retain(|_, w| w.end_ms > now);
    }
    map.get(&(*session_id, event_type)).copied().filter(|w| w.end_ms > now)
}

fn remember(session_id: &SessionId, event_type: &'static str, w: KnownWindow) {
    WINDOWS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert((*session_id, event_type), w);
}

/// Whether this caller pushes the aggregate now (`Some(0)`), after waiting until the window end
/// (`Some(end)`), or not at all.
async fn turn(
    fx: &Effects,
    session_id: &SessionId,
    event_type: &'static str,
    window: Duration,
) -> StoreResult<Option<i64>> {
    let now = epoch_millis();
    let window = window.as_millis() as i64;
    let end = match known(session_id, event_type, now) {
        Some(w) if w.trailer_taken => return Ok(None),
        Some(w) => w.end_ms,
        None => match fx.store.claim_push_window(session_id, event_type, now, window).await? {
            None => {
                remember(
                    session_id,
                    event_type,
                    KnownWindow {
                        end_ms: now + window,
                        trailer_taken: false,
                    },
                );
                return Ok(Some(0));
            }
            Some(end) => end,
        },
    };
    let mine = fx.store.claim_push_trailer(session_id, event_type, end).await?;
    remember(
        session_id,
        event_type,
        KnownWindow {
            end_ms: end,
            trailer_taken: true,
        },
    );
    Ok(mine.then_some(end))
}

/// Pushes an aggregate to the whole session, coalesced per window of the audience's length
/// (`FanoutTuning::aggregate_window`; see the module docs).
async fn coalesced(fx: &Effects, session_id: &SessionId, event_type: &'static str, viewers: Option<u64>) {
    let window = fx.tunables.fanout.aggregate_window(viewers);
    let wait = match turn(fx, session_id, event_type, window).await {
        Ok(None) => return,
        Ok(Some(at_ms)) => (at_ms - epoch_millis()).clamp(0, window.as_millis() as i64),
        Err(e) => {
            tracing::warn!(error = %e, event_type, "push window not claimed; skipping");
            return;
        }
    };
    if wait > 0 {
        // The trailing edge: the state is read once the window has ended, so that it includes
        // every change made inside it — by `PublishAggregates`, not by this request.
        let due = Due {
            session_id: *session_id,
            event_type: event_type.to_string(),
        };
        let body = serde_json::to_string(&due).unwrap_or_default();
        if let Err(e) = fx.queues.later(body, Duration::from_millis(wait as u64)).await {
            tracing::warn!(error = %e, event_type, "trailing aggregate push not queued");
        }
        return;
    }
    if let Err(e) = push_aggregate(fx, session_id, event_type).await {
        tracing::warn!(error = %e, event_type, "aggregate not read; skipping push");
    }
}

/// Reads an aggregate's state now and publishes it.
async fn push_aggregate(fx: &Effects, session_id: &SessionId, event_type: &'static str) -> StoreResult<()> {
    let data = match event_type {
        kind::VIEWER_COUNT => fx.store.session(session_id).await?.map_or(
            Value::Null,
            |s| json!({"viewer_count": s.viewer_count, "peak_viewers": s.peak_viewers, "guest_count": s.guest_count}),
        ),
        _ => json!({"totals": totals_json(&fx.store.reaction_totals(session_id).await?)}),
    };
    publish(fx, Audience::Session, event_type, session_id, data).await;
    Ok(())
}

/// An aggregate push due at the end of its window (a message on the aggregates queue).
#[derive(Serialize, Deserialize)]
struct Due {
    session_id: SessionId,
    #[serde(rename = "type")]
    event_type: String,
}

/// The coalesced aggregates.
const AGGREGATES: [&str; 2] = [kind::VIEWER_COUNT, kind::REACTIONS];

/// `PublishAggregates`: the trailing edges whose windows have ended, each read now and published.
/// A read that fails is delivered again (the queue's redrive bounds it).
pub async fn publish_due(fx: &Effects, batch: Vec<QueueMessage>) -> ApiResult<BatchResult> {
    let mut failed = Vec::new();
    for m in batch {
        let due = serde_json::from_str::<Due>(&m.body).ok();
        let Some((due, event_type)) =
            due.and_then(|d| AGGREGATES.into_iter().find(|k| *k == d.event_type).map(|k| (d, k)))
        else {
            // Nothing we queue fails to parse: a foreign message is dropped, not retried forever.
            tracing::error!(message_id = %m.message_id, "aggregates: unreadable message dropped");
            continue;
        };
        if let Err(e) = push_aggregate(fx, &due.session_id, event_type).await {
            tracing::warn!(error = %e, event_type, "aggregate not read; delivered again");
            failed.push(m.message_id);
        }
    }
    Ok(BatchResult::failed(failed))
}

/// `viewer_count`: the session's counters, coalesced; `viewers`: about how many watch (when the
/// caller read the session), which sets how often.
pub async fn viewer_count(fx: &Effects, session_id: &SessionId, viewers: Option<u32>) {
    coalesced(fx, session_id, kind::VIEWER_COUNT, viewers.map(u64::from)).await
}

/// `reactions`: the session's reaction totals, coalesced every second (a reaction does not read
/// the session).
pub async fn reactions(fx: &Effects, session_id: &SessionId) {
    coalesced(fx, session_id, kind::REACTIONS, None).await
}

pub fn totals_json(totals: &std::collections::HashMap<ReactionType, i64>) -> Value {
    let map: serde_json::Map<String, Value> = ReactionType::ALL
        .iter()
        .map(|t| (t.as_str().to_string(), json!(totals.get(t).copied().unwrap_or(0))))
        .collect();
    Value::Object(map)
}
