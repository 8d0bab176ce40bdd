//! The stage: guest requests, invitations and host controls, written to our table and enforced at
//! the SFU.
//!
//! Every change is decided here, written in one conditional transaction (`store`), then applied
//! to the participant's live SFU connection. When the SFU cannot be reached after retries, a
//! reversible change (approval, promotion, demotion, mute, screen-share permission) is rolled back
//! in our table and the caller gets 502: table and SFU never silently disagree. A kick or ban is
//! never rolled back — barring is enforced by us (no new token, no rejoin, no socket) — the caller
//! gets 502 and may repeat the kick, which retries the removal at the SFU.
//!
//! - [`requests`]: asking to go on stage, invitations, and their answers (approval included).
//! - [`controls`]: the host controls (who may do what: [`controls::allowed`]; what it changes:
//!   [`controls::plan`]) and the audit trail.

pub mod controls;
pub mod requests;

use serde_json::json;

use super::events::{self, kind};
use crate::domain::fanout::Audience;
use crate::domain::{GuestRequest, Participant};
use crate::effects::Effects;

/// Tells hosts, cohosts and the user concerned about a request.
async fn publish_request(fx: &Effects, kind: &'static str, r: &GuestRequest) {
    let data = serde_json::to_value(r).unwrap_or_default();
    events::publish(fx, Audience::Stage, kind, &r.session_id, data.clone()).await;
    events::publish(fx, Audience::user(r.user_id.clone()), kind, &r.session_id, data).await;
}

/// Tells the session about a stage change: `participant.updated` and a system message.
async fn on_stage_changed(fx: &Effects, p: &Participant, text: String) {
    events::publish(
        fx,
        Audience::Session,
        kind::PARTICIPANT_UPDATED,
        &p.session_id,
        events::participant_data(p),
    )
    .await;
    let note = json!({"event": "stage", "user_id": p.user_id, "role": p.role, "status": p.status});
    events::system_message(fx, &p.session_id, text, Audience::Session, note).await;
}
