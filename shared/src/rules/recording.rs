//! Recording: the host starts and stops a composite recording of the session's room through
//! LiveKit Egress (`POST /live/recording/{session_id}`); its state (and, for the host and
//! cohosts, the file's location) is in the session detail, and viewers are told.

use serde::Deserialize;
use serde_json::json;

use super::access;
use super::events::{self, kind};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::Audience;
use crate::domain::ids::SessionId;
use crate::domain::{Recording, RecordingStatus, Session, SessionStatus, User};
use crate::effects::store::recordings::RecordingRefusal;
use crate::effects::Effects;

/// `POST /live/recording/{session_id}` body.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingAction {
    pub action: Action,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Start,
    Stop,
}

/// The recording a write has just kept on the session.
fn kept(after: Session) -> ApiResult<Recording> {
    after
        .recording
        .map(|r| *r)
        .ok_or_else(|| ApiError::internal("recording not kept"))
}

fn refused(r: RecordingRefusal) -> ApiError {
    match r {
        RecordingRefusal::Session(r) => r.into(),
        RecordingRefusal::Busy(_) => ApiError::conflict("already-recording", "this session is being recorded already"),
        RecordingRefusal::Idle => ApiError::conflict("not-recording", "this session is not being recorded"),
    }
}

/// `POST /live/recording/{session_id}`: the host starts (one at a time, claimed before Egress is
/// asked) or stops the session's recording; `recording.started` / `recording.stopped` tell
/// everyone. Egress refusing (no egress worker: the local server) is `503
/// recording-unavailable`, and nothing stays claimed.
pub async fn record(fx: &Effects, user: &User, session_id: SessionId, req: RecordingAction) -> ApiResult<Recording> {
    let session = access::existing_session(fx, &session_id).await?;
    if session.host_id != user.id {
        return Err(ApiError::Forbidden("only the host records the session".into()));
    }
    if session.status == SessionStatus::Ended {
        return Err(ApiError::session_ended());
    }
    match req.action {
        Action::Start => {
            let claim = Recording {
                status: RecordingStatus::Starting,
                egress_id: None,
                location: None,
                started_by: user.id.clone(),
                started_at: fx.clock.now(),
                stopped_at: None,
            };
            fx.store.claim_recording(&session_id, &claim).await?.map_err(refused)?;
            let started = match fx.sfu.start_recording(&session.room_name).await {
                Ok(s) => s,
                Err(e) => {
                    fx.store.release_recording(&session_id).await?;
                    return Err(e.into());
                }
            };
            let after = fx
                .store
                .recording_started(&session_id, &started.egress_id, &started.location)
                .await?
                .map_err(refused)?;
            let recording = kept(after)?;
            let data = json!({"status": recording.status, "started_at": recording.started_at});
            events::publish(fx, Audience::Session, kind::RECORDING_STARTED, &session_id, data).await;
            let details = json!({"egress_id": started.egress_id, "location": started.location});
            events::audit(fx, &session_id, &user.id, "recording.start", None, details).await;
            Ok(recording)
        }
        Action::Stop => {
            let active = session
                .recording
                .filter(|r| r.status == RecordingStatus::Active)
                .ok_or_else(|| refused(RecordingRefusal::Idle))?;
            let egress_id = active.egress_id.clone().unwrap_or_default();
            fx.sfu.stop_recording(&egress_id).await?;
            let after = fx
                .store
                .recording_stopped(&session_id, &egress_id, &fx.clock.now())
                .await?
                .map_err(refused)?;
            let recording = kept(after)?;
            let data = json!({"status": recording.status, "started_at": recording.started_at, "stopped_at": recording.stopped_at});
            events::publish(fx, Audience::Session, kind::RECORDING_STOPPED, &session_id, data).await;
            events::audit(
                fx,
                &session_id,
                &user.id,
                "recording.stop",
                None,
                json!({"egress_id": egress_id}),
            )
            .await;
            Ok(recording)
        }
    }
}
