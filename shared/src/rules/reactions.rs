//! Reactions: the rule of `POST /live/react` (also the WebSocket `react` action).

use serde::{Deserialize, Serialize};

use super::events;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::ids::SessionId;
use crate::domain::{ReactionType, User};
use crate::effects::store::{Refusal, StoreError};
use crate::effects::Effects;

/// `POST /live/react` body. `reaction_type`: heart, fire, clap, wow, sad (`like` = heart).
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct React {
    pub session_id: SessionId,
    pub reaction_type: ReactionType,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reacted {
    pub session_id: SessionId,
    pub reaction_type: ReactionType,
}

/// Counts one reaction of a present participant, within the per-user rate limit (429 beyond),
/// without a per-reaction item; the totals reach clients as coalesced `reactions` events.
pub async fn react(fx: &Effects, user: &User, req: React) -> ApiResult<Reacted> {
    let session_id = req.session_id;
    // Presence and liveness are conditions of the counting transaction itself.
    let counted = fx
        .store
        .add_reaction(&session_id, &user.id, req.reaction_type, fx.tunables.rates.reactions)
        .await;
    match counted {
        Err(StoreError::Refused(Refusal::SessionMissing)) => return Err(ApiError::session_not_found(&session_id)),
        other => other?,
    }
    events::reactions(fx, &session_id).await;
    Ok(Reacted {
        session_id,
        reaction_type: req.reaction_type,
    })
}
