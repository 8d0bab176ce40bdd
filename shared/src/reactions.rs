//! Reactions: the rule of `POST /live/react` (also the WebSocket `react` action).

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth::User;
use crate::domain::{limits, ReactionType};
use crate::error::ApiResult;
use crate::events;
use crate::sessions::check_session_id;

/// `POST /live/react` body. `reaction_type`: heart, fire, clap, wow, sad (`like` = heart).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct React {
    pub session_id: String,
    pub reaction_type: ReactionType,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reacted {
    pub session_id: String,
    pub reaction_type: ReactionType,
}

/// Counts one reaction of a present participant, within the per-user rate limit (429 beyond),
/// without a per-reaction item; the totals reach clients as coalesced `reactions` events.
pub async fn react(app: &App, user: &User, req: React) -> ApiResult<Reacted> {
    let session_id = check_session_id("session_id", &req.session_id)?;
    // Presence and liveness are conditions of the counting transaction itself.
    app.store
        .add_reaction(&session_id, &user.id, req.reaction_type, limits::REACTIONS_PER_SECOND)
        .await?;
    events::reactions(app, &session_id).await;
    Ok(Reacted {
        session_id,
        reaction_type: req.reaction_type,
    })
}
