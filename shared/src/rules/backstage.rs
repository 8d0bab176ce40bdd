//! Backstage: a session opened with `backstage: true` waits, unlisted and without viewers, while
//! its host and the guests they invite join and test their media; going live lists it and opens
//! it to everyone. One left backstage too long ends by itself.

use serde::Serialize;
use serde_json::json;

use super::access;
use super::events::{self, kind};
use super::sessions::{self, Room, SessionView};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::Audience;
use crate::domain::ids::SessionId;
use crate::domain::{SessionStatus, User};
use crate::effects::Effects;

/// Backstage sessions looked at per sweep; the next run, a minute later, takes the rest.
const STALE_PER_RUN: i32 = 50;

/// What one run of the scheduled sweep did.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Swept {
    #[serde(flatten)]
    pub abandoned: sessions::Abandoned,
    /// Sessions ended because they stayed backstage longer than `BACKSTAGE_MAX_SECONDS`.
    pub backstage_ended: Vec<SessionId>,
}

/// `POST /live/go-live/{session_id}`: the host takes a backstage session live: `started_at`
/// now, listed in `/live/active`, open to viewers, `session.live` pushed. Repeating it answers
/// the live session and changes nothing.
pub async fn go_live(fx: &Effects, user: &User, session_id: SessionId) -> ApiResult<SessionView> {
    let session = access::existing_session(fx, &session_id).await?;
    if session.host_id != user.id {
        return Err(ApiError::Forbidden("only the host takes the session live".into()));
    }
    if session.status == SessionStatus::Ended {
        return Err(ApiError::session_ended());
    }
    let Some(live) = fx.store.go_live(&session_id, &fx.clock.now()).await? else {
        return Ok(SessionView::from(session).at(fx.clock.millis()));
    };
    let data = json!({"session_id": session_id, "started_at": live.started_at, "title": live.title});
    events::publish(fx, Audience::Session, kind::SESSION_LIVE, &session_id, data).await;
    let text = format!("{} is live", live.host_username);
    events::system_message(
        fx,
        &session_id,
        text,
        Audience::Session,
        json!({"event": "session.live"}),
    )
    .await;
    events::audit(
        fx,
        &session_id,
        &user.id,
        "session.go_live",
        None,
        json!({"started_at": live.started_at}),
    )
    .await;
    tracing::info!(%session_id, "backstage session went live");
    Ok(SessionView::from(live).at(fx.clock.millis()))
}

/// The scheduled sweep (`EndAbandoned`, every minute) at `now_ms`: live sessions whose host is
/// gone ([`sessions::end_abandoned`]), and sessions backstage for longer than
/// `BACKSTAGE_MAX_SECONDS`, ended as if their host had ended them.
pub async fn sweep(fx: &Effects, now_ms: i64) -> ApiResult<Swept> {
    let abandoned = sessions::end_abandoned(fx, now_ms).await?;
    let max_ms = i64::try_from(fx.tunables.backstage_max.as_millis()).unwrap_or(i64::MAX);
    let stale = fx
        .store
        .backstage_since(now_ms.saturating_sub(max_ms), STALE_PER_RUN)
        .await?;
    let mut backstage_ended = Vec::new();
    for id in stale {
        // Went live or ended since it was listed: no longer backstage, nothing to end.
        let Some(s) = fx
            .store
            .session(&id)
            .await?
            .filter(|s| s.shown_status() == SessionStatus::Backstage)
        else {
            continue;
        };
        tracing::info!(session_id = %id, "backstage too long; ending");
        match sessions::finish(fx, s, Room::Open).await {
            Ok(_) => {}
            Err(e @ ApiError::UpstreamAfter { .. }) => {
                tracing::warn!(session_id = %id, error = %e, "ended; the SFU room stays until it empties")
            }
            Err(e) => return Err(e),
        }
        backstage_ended.push(id);
    }
    Ok(Swept {
        abandoned,
        backstage_ended,
    })
}
