//! The SFU (LiveKit): access tokens with exact grants per role, and server-side room calls.
//!
//! Tokens are short-lived (`SFU_TOKEN_TTL_SECONDS`, default 10 min): LiveKit checks `exp` only
//! when a client connects, and `RemoveParticipant` does not revoke a token, so a long-lived token
//! would let a removed user reconnect. Clients get a fresh token from `POST /live/join`
//! (idempotent) whenever they (re)connect; we never mint one for a barred user.

use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_api::services::room::RoomClient;
use livekit_api::services::{ServerError, ServiceError};

use crate::config::SfuConfig;
use crate::domain::{Role, SessionType};
use crate::error::{ApiError, ApiResult};

/// LiveKit track source names, as `can_publish_sources` expects them.
pub mod source {
    pub const CAMERA: &str = "camera";
    pub const MICROPHONE: &str = "microphone";
    pub const SCREEN_SHARE: &str = "screen_share";
    pub const SCREEN_SHARE_AUDIO: &str = "screen_share_audio";
}

pub struct Sfu {
    config: SfuConfig,
    rooms: RoomClient,
}

/// Who a token is for.
pub struct TokenSubject<'a> {
    pub user_id: &'a str,
    pub display_name: &'a str,
    pub room: &'a str,
    pub role: Role,
    pub session_type: SessionType,
}

/// The sources a role may publish in a session of this type. Viewers publish nothing; the host
/// publishes everything the session type allows; guests and cohosts (issue 4 refines this with
/// per-participant controls) publish microphone and, outside voice sessions, camera.
pub fn publish_sources(role: Role, session_type: SessionType) -> Vec<String> {
    use source::*;
    let list: &[&str] = match (role, session_type) {
        (Role::Viewer, _) => &[],
        (_, SessionType::Voice) => &[MICROPHONE],
        (Role::Host, _) => &[CAMERA, MICROPHONE, SCREEN_SHARE, SCREEN_SHARE_AUDIO],
        (Role::Cohost | Role::Guest, _) => &[CAMERA, MICROPHONE],
    };
    list.iter().map(|s| s.to_string()).collect()
}

/// The exact grants for a role. Every permission is set explicitly: `VideoGrants::default()`
/// would otherwise let a viewer publish and send data.
pub fn grants(room: &str, role: Role, session_type: SessionType) -> VideoGrants {
    let sources = publish_sources(role, session_type);
    let publishes = !sources.is_empty();
    VideoGrants {
        room_join: true,
        room: room.to_string(),
        // Room admin is scoped to this room by `room`; only the host holds it.
        room_admin: role == Role::Host,
        can_subscribe: Some(true),
        can_publish: Some(publishes),
        can_publish_data: Some(publishes),
        can_publish_sources: sources,
        can_update_own_metadata: Some(false),
        ..VideoGrants::default()
    }
}

impl Sfu {
    pub fn new(config: SfuConfig) -> Self {
        let rooms = RoomClient::with_api_key(&config.url, &config.api_key, &config.api_secret)
            .with_failover(false)
            .with_request_timeout(Duration::from_secs(3));
        Self { config, rooms }
    }

    pub fn url(&self) -> &str {
        &self.config.url
    }

    pub fn ice_servers(&self) -> &serde_json::Value {
        &self.config.ice_servers
    }

    pub fn token_ttl(&self) -> Duration {
        self.config.token_ttl
    }

    /// Mints an access token: identity = our user id (JWT `sub`), never anything the client sent.
    pub fn token(&self, who: &TokenSubject<'_>) -> ApiResult<String> {
        AccessToken::with_api_key(&self.config.api_key, &self.config.api_secret)
            .with_identity(who.user_id)
            .with_name(who.display_name)
            .with_ttl(self.config.token_ttl)
            .with_grants(grants(who.room, who.role, who.session_type))
            .to_jwt()
            .map_err(ApiError::internal)
    }

    /// Deletes the room, disconnecting everyone. Failure is logged, not returned: the session is
    /// already ended in our table, tokens are short-lived, and an empty LiveKit room closes by
    /// itself; a missing local SFU must not turn `end` into a 500.
    pub async fn delete_room(&self, room: &str) {
        match self.rooms.delete_room(room).await {
            Ok(()) => tracing::info!(room, "SFU room deleted"),
            // Nobody ever connected (LiveKit creates rooms on first join): nothing to delete.
            Err(ServiceError::Twirp(ServerError::Twirp(code))) if code.code == "not_found" => {
                tracing::debug!(room, "SFU room did not exist")
            }
            Err(e) => tracing::warn!(room, error = %e, "SFU DeleteRoom failed; room will close when empty"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_subscribes_only() {
        let g = grants("r", Role::Viewer, SessionType::Camera);
        assert_eq!(
            (g.can_publish, g.can_publish_data, g.can_subscribe),
            (Some(false), Some(false), Some(true))
        );
        assert!(g.can_publish_sources.is_empty());
        assert!(!g.room_admin && g.room_join && g.room == "r");
    }

    #[test]
    fn host_sources_follow_session_type() {
        assert_eq!(
            grants("r", Role::Host, SessionType::Voice).can_publish_sources,
            vec!["microphone"]
        );
        let g = grants("r", Role::Host, SessionType::Studio);
        assert_eq!(
            g.can_publish_sources,
            vec!["camera", "microphone", "screen_share", "screen_share_audio"]
        );
        assert!(g.room_admin && g.can_publish == Some(true) && !g.room_create && !g.room_list);
    }
}
