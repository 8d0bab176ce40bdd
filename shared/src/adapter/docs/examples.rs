//! The example world of the documentation and of `events/`: alice's live session and its people
//! (bob, dan, erin, frank, gina and hank are viewers; bob and frank have asked to go on stage,
//! hank is invited), and example answers and refusals.

use serde_json::{json, Value};

use crate::domain::error::ApiError;
use crate::domain::ids::{RequestId, SessionId};
use crate::domain::rate::{Limited, RateLimits};
use crate::effects::store::Refusal;

/// Alice's session.
pub const SESSION: &str = "5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30";
pub const ROOM: &str = "live_5b0c2f9e8d1a4c3b9f7e2a6d4e8b1c30";
/// Bob's pending request, frank's, and hank's invitation.
pub const BOBS_REQUEST: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2b";
pub const FRANKS_REQUEST: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2c";
pub const HANKS_INVITATION: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2d";
/// An SFU token, abridged.
/// bob's "Hello everyone!": a stamped id (`ids::stamped_id`) of 2026-11-25T19:06:00Z.
pub const MESSAGE: &str = "01a21419-b9c0-7000-8000-000000000001";

pub const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9...";

pub fn bad_session_id() -> ApiError {
    ApiError::validation("session_id", "must be a UUID")
}

pub fn no_session() -> ApiError {
    ApiError::session_not_found(&SessionId::parse(SESSION).expect("a UUID"))
}

pub fn no_request() -> ApiError {
    ApiError::request_not_found(&RequestId::parse(BOBS_REQUEST).expect("a UUID"))
}

pub fn already_live() -> ApiError {
    ApiError::conflict(
        "already-live",
        "you already have a live session; end it before starting another",
    )
}

pub fn upstream() -> ApiError {
    ApiError::Upstream(String::new())
}

/// An SFU failure after a change that stands.
pub fn upstream_after(kept: &'static str) -> ApiError {
    ApiError::UpstreamAfter {
        kept,
        cause: String::new(),
    }
}

/// The refusal of an action beyond its default rate, a whole window to wait.
pub fn rate_limited(what: Limited) -> ApiError {
    let rate = RateLimits::default().of(what);
    Refusal::RateLimited {
        what,
        rate,
        retry_after_ms: rate.window_ms(),
    }
    .into()
}

pub fn busy() -> ApiError {
    ApiError::Unavailable(String::new())
}

pub fn participant_example(user: &str, role: &str) -> Value {
    json!({
        "session_id": SESSION, "user_id": user, "username": user, "role": role, "status": "active",
        "audio_enabled": role != "viewer", "video_enabled": role != "viewer", "screen_sharing": false,
        "screen_share_allowed": role == "host", "connected": true, "audio_published": role != "viewer",
        "video_published": false, "joined_at": "2026-11-25T19:00:00.000000Z"
    })
}

pub fn session_example() -> Value {
    json!({
        "id": SESSION, "room_name": ROOM, "host_id": "alice",
        "host_username": "alice", "title": "My Amazing Live Stream", "description": "Let's chat about tech!",
        "session_type": "camera", "status": "live", "started_at": "2026-11-25T19:00:00.000000Z",
        "viewer_count": 123, "peak_viewers": 150, "guest_count": 3, "gift_revenue": 1250, "tip_revenue": 300,
        "max_participants": 1000,
        "allow_guests": true, "require_approval": true, "max_guests": 8, "enable_chat": true,
        "enable_gifts": true, "chat_slow_mode": 0, "guest_audio_default": true, "guest_video_default": true,
        "blocked_words": []
    })
}

pub fn session_detail_example() -> Value {
    let mut v = session_example();
    v["reactions"] = json!({"heart": 120, "fire": 30, "clap": 12, "wow": 4, "sad": 0});
    v["top_gifters"] = json!([{"user_id": "bob", "username": "bob", "coins": 900}, {"user_id": "dan", "username": "dan", "coins": 650}]);
    v
}

pub fn webrtc_example() -> Value {
    json!({"server_url": "wss://your-project.livekit.cloud", "room_name": ROOM, "participant_token": TOKEN,
           "ice_servers": []})
}

pub fn start_answer() -> Value {
    let mut v = session_example();
    v["session_id"] = json!(SESSION);
    v["access_token"] = json!(TOKEN);
    v["webrtc_config"] = webrtc_example();
    v["role"] = json!("host");
    v["token_ttl_seconds"] = json!(600);
    v
}

pub fn request_example(status: &str, origin: &str) -> Value {
    json!({
        "id": BOBS_REQUEST, "session_id": SESSION, "user_id": "bob", "username": "bob", "request_type": "guest",
        "origin": origin, "status": status, "message": "Can I join to discuss this topic?",
        "created_at": "2026-11-25T19:05:00.000000Z"
    })
}

pub fn analytics_example() -> Value {
    json!({"sessions": 1, "duration_seconds": 3600, "peak_viewers": 140, "unique_viewers": 210, "average_view_seconds": 912.5,
           "median_view_seconds": 600.0, "viewers_per_minute": [12, 40, 95, 140], "guests_on_stage": 3, "stage_seconds": 1500.0,
           "guest_request_rate": 0.05, "chat_messages": 1020, "chat_per_minute": [30, 51, 44, 60],
           "reactions": {"heart": 500, "fire": 80, "clap": 20, "wow": 5, "sad": 0}, "gift_revenue": 2300, "tips": 150,
           "tickets": 0, "top_gifters": [{"user_id": "bob", "username": "bob", "coins": 900}]})
}

pub fn message_example() -> Value {
    json!({"id": MESSAGE, "session_id": SESSION, "user_id": "bob",
           "username": "bob", "message": "Hello everyone!", "message_type": "text",
           "created_at": "2026-11-25T19:06:00.000000Z"})
}

/// A LiveKit delivery: bob reached the room.
pub fn webhook_example() -> Value {
    json!({"event": "participant_joined", "room": {"sid": "RM_events", "name": ROOM},
           "participant": {"sid": "PA_bob", "identity": "bob", "state": "ACTIVE"},
           "id": "EV_events_participant_joined", "createdAt": "1795633200"})
}

/// The SQS event Lambda hands a function fed by `queue` (its logical id), holding one message.
pub fn queue_event(queue: &str, body: Value) -> Value {
    use crate::adapter::queued::{local_queue_arn, sqs_event, Received};
    let body = body.to_string();
    let attributes = json!({
        "ApproximateReceiveCount": "1", "SentTimestamp": "1795000000000",
        "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1795000000010"
    });
    sqs_event(
        &local_queue_arn(queue),
        &[Received {
            message_id: "9a1c7e0e-9c55-4a5e-9d7b-6a4f4c1d2e3f",
            receipt_handle: "AQEBexample",
            body: &body,
            attributes,
            md5_of_body: "",
        }],
    )
}

pub fn ledger_example() -> Value {
    json!({"id": "01938f8c-6d1e-7b4a-9c3e-4f5a6b7c8d9e", "user_id": "bob", "kind": "gift_sent", "balance_change": -3, "earnings_change": 0, "counterparty_id": "alice", "session_id": SESSION, "gift_id": "rose", "quantity": 3, "created_at": "2026-11-25T18:59:59.000000Z"})
}

pub fn payment_example() -> Value {
    json!({"id": "01938f8c-6d1e-7b4a-9c3e-4f5a6b7c8d9e", "session_id": SESSION, "sender_id": "bob", "recipient_id": "alice", "coins": 3, "split": {"recipient": 2, "platform": 1}, "gift": {"id": "rose", "name": "Rose", "emoji": "🌹", "price": 1}, "quantity": 3, "combo": {"id": "01938f8c-6d1e-7b4a-9c3e-4f5a6b7c8d9e", "count": 3}, "created_at": "2026-11-25T18:59:59.000000Z"})
}
