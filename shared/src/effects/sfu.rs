//! The SFU (LiveKit): access tokens with exact grants per role, and server-side room calls.
//!
//! Tokens are short-lived (`SFU_TOKEN_TTL_SECONDS`, default 10 min): LiveKit checks `exp` only
//! when a client connects, and `RemoveParticipant` does not revoke a token, so a long-lived token
//! would let a removed user reconnect. Clients get a fresh token from `POST /live/join`
//! (idempotent) whenever they (re)connect; we never mint one for a barred user.

use std::time::{Duration, Instant};

use livekit_api::access_token::{AccessToken, TokenVerifier, VideoGrants};
use livekit_api::services::egress::{EgressClient, EgressOutput, RoomCompositeOptions};
use livekit_api::services::room::{RemoveParticipantOptions, RoomClient, UpdateParticipantOptions};
use livekit_api::services::{ServerError, ServiceError};
use livekit_api::webhooks::{WebhookError, WebhookReceiver};

use livekit_protocol::{ParticipantPermission, TrackSource};

use super::deadline;
use crate::domain::config::SfuConfig;
use crate::domain::ids::UserId;
use crate::domain::{Participant, Role, SessionType};

/// What an SFU call answers when it does not do what was asked. The rules choose what the client
/// is told (a failed control is a 502 and is rolled back).
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    /// The SFU did not apply a call after every attempt.
    #[error("SFU call failed: {0}")]
    Unreachable(String),
    /// A webhook whose body is not a LiveKit event.
    #[error("not a LiveKit webhook event: {0}")]
    MalformedWebhook(String),
    /// A webhook whose signature does not verify (forged, tampered with, expired).
    #[error("webhook signature rejected: {0}")]
    ForgedWebhook(String),
    /// A token could not be minted (a bug, never the caller's fault).
    #[error("token not minted: {0}")]
    Token(String),
    /// The SFU has no egress worker to record with (a local `--dev` server never has one).
    #[error("no egress worker: {0}")]
    NoEgress(String),
    /// The room to record has nobody in it yet (the SFU opens a room with its first client).
    #[error("no such room: {0}")]
    NoRoom(String),
}

pub type SfuResult<T> = Result<T, SfuError>;

/// LiveKit track source names, as `can_publish_sources` expects them.
pub mod source {
    pub const CAMERA: &str = "camera";
    pub const MICROPHONE: &str = "microphone";
    pub const SCREEN_SHARE: &str = "screen_share";
    pub const SCREEN_SHARE_AUDIO: &str = "screen_share_audio";
}

pub struct Sfu {
    config: SfuConfig,
    /// RoomService's client, built at the first call: its TLS client costs a cold start
    /// milliseconds that functions minting tokens or reading the table never need.
    rooms: std::sync::OnceLock<RoomClient>,
    /// Egress's client, built at the first recording.
    egress: std::sync::OnceLock<EgressClient>,
    webhooks: WebhookReceiver,
}

/// A composite recording Egress has started: its id and where the file goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    pub egress_id: String,
    pub location: String,
}

/// Who a token is for.
pub struct TokenSubject<'a> {
    pub user_id: &'a UserId,
    pub display_name: &'a str,
    pub room: &'a str,
    pub role: Role,
    pub session_type: SessionType,
    pub allowed: Allowed,
}

/// What the host's controls leave a participant allowed to publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub audio: bool,
    pub video: bool,
    pub screen: bool,
}

impl Allowed {
    pub const ALL: Allowed = Allowed {
        audio: true,
        video: true,
        screen: true,
    };

    pub fn of(p: &Participant) -> Allowed {
        Allowed {
            audio: p.audio_enabled,
            video: p.video_enabled,
            screen: p.screen_share_allowed,
        }
    }
}

/// The sources a participant may publish: none for viewers; otherwise what the session type
/// offers (voice: microphone only) and the host's controls allow.
pub fn publish_sources(role: Role, session_type: SessionType, allowed: Allowed) -> Vec<String> {
    use source::*;
    if role == Role::Viewer {
        return Vec::new();
    }
    let visual = session_type != SessionType::Voice;
    [
        (CAMERA, visual && allowed.video),
        (MICROPHONE, allowed.audio),
        (SCREEN_SHARE, visual && allowed.screen),
        (SCREEN_SHARE_AUDIO, visual && allowed.screen),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(s, _)| s.to_string())
    .collect()
}

/// The exact grants for a participant. Every permission is set explicitly: `VideoGrants::default()`
/// would otherwise let a viewer publish and send data.
pub fn grants(room: &str, role: Role, session_type: SessionType, allowed: Allowed) -> VideoGrants {
    let sources = publish_sources(role, session_type, allowed);
    let on_stage = role != Role::Viewer;
    VideoGrants {
        room_join: true,
        room: room.to_string(),
        // Room admin is scoped to this room by `room`; only the host holds it.
        room_admin: role == Role::Host,
        can_subscribe: Some(true),
        can_publish: Some(!sources.is_empty()),
        can_publish_data: Some(on_stage),
        can_publish_sources: sources,
        can_update_own_metadata: Some(false),
        ..VideoGrants::default()
    }
}

/// The same permissions as `grants`, in the form `UpdateParticipant` takes for a connected client.
pub fn permission(role: Role, session_type: SessionType, allowed: Allowed) -> ParticipantPermission {
    let sources: Vec<i32> = publish_sources(role, session_type, allowed)
        .iter()
        .map(|s| match s.as_str() {
            source::CAMERA => TrackSource::Camera as i32,
            source::MICROPHONE => TrackSource::Microphone as i32,
            source::SCREEN_SHARE => TrackSource::ScreenShare as i32,
            _ => TrackSource::ScreenShareAudio as i32,
        })
        .collect();
    ParticipantPermission {
        can_subscribe: true,
        can_publish: !sources.is_empty(),
        can_publish_data: role != Role::Viewer,
        can_publish_sources: sources,
        ..Default::default()
    }
}

impl Sfu {
    pub fn new(config: SfuConfig) -> Self {
        let webhooks = WebhookReceiver::new(TokenVerifier::with_api_key(&config.api_key, &config.api_secret));
        Self {
            config,
            rooms: std::sync::OnceLock::new(),
            egress: std::sync::OnceLock::new(),
            webhooks,
        }
    }

    fn rooms(&self) -> &RoomClient {
        self.rooms.get_or_init(|| {
            RoomClient::with_api_key(&self.config.url, &self.config.api_key, &self.config.api_secret)
                .with_failover(false)
        })
    }

    fn egress(&self) -> &EgressClient {
        self.egress.get_or_init(|| {
            EgressClient::with_api_key(&self.config.url, &self.config.api_key, &self.config.api_secret)
                .with_failover(false)
        })
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
    pub fn token(&self, who: &TokenSubject<'_>) -> SfuResult<String> {
        AccessToken::with_api_key(&self.config.api_key, &self.config.api_secret)
            .with_identity(who.user_id.as_str())
            .with_name(who.display_name)
            .with_ttl(self.config.token_ttl)
            .with_grants(grants(who.room, who.role, who.session_type, who.allowed))
            .to_jwt()
            .map_err(|e| SfuError::Token(e.to_string()))
    }

    /// Verifies a LiveKit webhook: `authorization` is a JWT signed with our API secret, issued by our
    /// API key, unexpired, whose `sha256` claim is the hash of exactly these body bytes.
    pub fn verify_webhook(&self, body: &str, authorization: &str) -> SfuResult<livekit_protocol::WebhookEvent> {
        self.webhooks.receive(body, authorization).map_err(|e| match e {
            WebhookError::InvalidData(e) => SfuError::MalformedWebhook(e.to_string()),
            other => SfuError::ForgedWebhook(other.to_string()),
        })
    }

    /// Deletes the room, disconnecting everyone (a room that does not exist is deleted).
    pub async fn delete_room(&self, room: &str) -> SfuResult<()> {
        match retried(|| self.rooms().delete_room(room)).await? {
            Applied::Done(()) => tracing::info!(room, "SFU room deleted"),
            Applied::NotConnected => tracing::debug!(room, "SFU room did not exist"),
        }
        Ok(())
    }

    /// Applies a participant's permissions to their live connection (`UpdateParticipant`): a
    /// viewer brought on stage publishes without reconnecting; revoked sources stop publishing.
    pub async fn update_permissions(&self, room: &str, p: &Participant, session_type: SessionType) -> SfuResult<()> {
        let options = UpdateParticipantOptions {
            permission: Some(permission(p.role, session_type, Allowed::of(p))),
            ..Default::default()
        };
        retried(|| {
            self.rooms()
                .update_participant(room, p.user_id.as_str(), options.clone())
        })
        .await
        .map(|_| ())
    }

    /// Mutes (or unmutes) the participant's published tracks of one source (`MutePublishedTrack`).
    pub async fn mute_source(&self, room: &str, identity: &UserId, source: TrackSource, muted: bool) -> SfuResult<()> {
        let identity = identity.as_str();
        let info = match retried(|| self.rooms().get_participant(room, identity)).await? {
            Applied::Done(info) => info,
            Applied::NotConnected => return Ok(()),
        };
        for track in info
            .tracks
            .iter()
            .filter(|t| t.source == source as i32 && t.muted != muted)
        {
            retried(|| self.rooms().mute_published_track(room, identity, &track.sid, muted)).await?;
        }
        Ok(())
    }

    /// Disconnects a participant and revokes the tokens issued to them so far (`RemoveParticipant`).
    pub async fn remove(&self, room: &str, identity: &UserId) -> SfuResult<()> {
        let options = RemoveParticipantOptions {
            revoke_token_ts: crate::domain::time::epoch_millis(),
        };
        retried(|| {
            self.rooms()
                .remove_participant_with_options(room, identity.as_str(), options.clone())
        })
        .await
        .map(|_| ())
    }
}

impl Sfu {
    /// Starts a composite recording of `room` (`StartRoomCompositeEgress`, grid layout, one MP4
    /// file at `RECORDING_FILEPATH`, uploaded to `RECORDING_S3_BUCKET` when set). Not retried: a
    /// second attempt after a lost answer could start a second recording.
    pub async fn start_recording(&self, room: &str) -> SfuResult<Started> {
        let rec = &self.config.recording;
        let output = livekit_protocol::EncodedFileOutput {
            file_type: livekit_protocol::EncodedFileType::Mp4 as i32,
            filepath: rec.filepath.clone(),
            output: rec.s3_bucket.as_ref().map(|bucket| {
                livekit_protocol::encoded_file_output::Output::S3(livekit_protocol::S3Upload {
                    bucket: bucket.clone(),
                    region: rec.s3_region.clone().unwrap_or_default(),
                    ..Default::default()
                })
            }),
            ..Default::default()
        };
        let options = RoomCompositeOptions {
            layout: "grid".into(),
            ..Default::default()
        };
        let call = self
            .egress()
            .start_room_composite_egress(room, vec![EgressOutput::File(output)], options);
        // A server without an egress worker holds the request until its own timeout, past the
        // function's: a start not answered in time is taken as no worker (LiveKit Cloud answers
        // in about a second).
        let now = Instant::now();
        let until = deadline::leaving(ROLLBACK_RESERVE)
            .map_or(now + EGRESS_START_TIMEOUT, |d| d.min(now + EGRESS_START_TIMEOUT));
        let info = match tokio::time::timeout_at(until.into(), call).await {
            Ok(Ok(info)) => info,
            Ok(Err(e)) => return Err(egress_error(e)),
            Err(_) => {
                return Err(SfuError::NoEgress(format!(
                    "no egress worker answered within {} ms",
                    (until - now).as_millis()
                )))
            }
        };
        let location = match (&rec.s3_bucket, info.file_results.first()) {
            (_, Some(file)) if !file.location.is_empty() => file.location.clone(),
            (Some(bucket), _) => format!("s3://{bucket}/{}", rec.filepath),
            (None, _) => rec.filepath.clone(),
        };
        Ok(Started {
            egress_id: info.egress_id,
            location,
        })
    }

    /// Stops a recording (`StopEgress`); one that has ended already is stopped.
    pub async fn stop_recording(&self, egress_id: &str) -> SfuResult<()> {
        match tokio::time::timeout(EGRESS_TIMEOUT, self.egress().stop_egress(egress_id)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(ServiceError::Twirp(ServerError::Twirp(code))))
                if code.code == "not_found" || code.code == "failed_precondition" =>
            {
                Ok(())
            }
            Ok(Err(e)) => Err(egress_error(e)),
            Err(_) => Err(SfuError::Unreachable("Egress did not answer".into())),
        }
    }
}

/// How long starting a recording may wait for an egress worker.
const EGRESS_START_TIMEOUT: Duration = Duration::from_secs(5);
/// How long stopping one may take.
const EGRESS_TIMEOUT: Duration = Duration::from_secs(5);

/// An Egress failure: the SFU's "no egress worker" (its twirp `unavailable`, or an
/// `egress not connected` message) apart from any other.
fn egress_error(e: ServiceError) -> SfuError {
    let text = e.to_string();
    match &e {
        ServiceError::Twirp(ServerError::Twirp(code))
            if code.code == "unavailable" || code.msg.to_lowercase().contains("egress not connected") =>
        {
            SfuError::NoEgress(text)
        }
        ServiceError::Twirp(ServerError::Twirp(code)) if code.code == "not_found" => SfuError::NoRoom(text),
        _ if text.to_lowercase().contains("egress not connected") => SfuError::NoEgress(text),
        _ => SfuError::Unreachable(text),
    }
}

/// What an SFU call did.
enum Applied<T> {
    Done(T),
    /// The participant (or room) is not connected: nothing to change at the SFU; the next token
    /// minted from our table carries the right permissions.
    NotConnected,
}

/// Attempts of an SFU call before the change is reported as failed (502).
const SFU_ATTEMPTS: u32 = 3;
/// How long one attempt may wait for the SFU's answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// What SFU calls leave of an invocation, however many a request makes: time to undo the table
/// write they follow, push, and answer, before Lambda stops the function.
pub const ROLLBACK_RESERVE: Duration = Duration::from_secs(2);

async fn retried<T, F, Fut>(call: F) -> SfuResult<Applied<T>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let stop = deadline::leaving(ROLLBACK_RESERVE);
    let mut last = String::from("no time left before the function's deadline");
    for attempt in 0..SFU_ATTEMPTS {
        let now = Instant::now();
        let until = stop.map_or(now + ATTEMPT_TIMEOUT, |s| s.min(now + ATTEMPT_TIMEOUT));
        if until <= now {
            break;
        }
        match tokio::time::timeout_at(until.into(), call()).await {
            Ok(Ok(v)) => return Ok(Applied::Done(v)),
            Ok(Err(ServiceError::Twirp(ServerError::Twirp(code)))) if code.code == "not_found" => {
                return Ok(Applied::NotConnected)
            }
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("no answer within {} ms", (until - now).as_millis()),
        }
        if attempt + 1 < SFU_ATTEMPTS {
            let pause = Instant::now() + Duration::from_millis(100 << attempt);
            tokio::time::sleep_until(stop.map_or(pause, |s| s.min(pause)).into()).await;
        }
    }
    Err(SfuError::Unreachable(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_subscribes_only() {
        let g = grants("r", Role::Viewer, SessionType::Camera, Allowed::ALL);
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
            grants("r", Role::Host, SessionType::Voice, Allowed::ALL).can_publish_sources,
            vec!["microphone"]
        );
        let g = grants("r", Role::Host, SessionType::Studio, Allowed::ALL);
        assert_eq!(
            g.can_publish_sources,
            vec!["camera", "microphone", "screen_share", "screen_share_audio"]
        );
        assert!(g.room_admin && g.can_publish == Some(true) && !g.room_create && !g.room_list);
    }

    #[test]
    fn controls_narrow_a_guests_sources() {
        let muted = Allowed {
            audio: false,
            video: true,
            screen: false,
        };
        let g = grants("r", Role::Guest, SessionType::Camera, muted);
        assert_eq!(g.can_publish_sources, vec!["camera"]);
        assert!(!g.room_admin && g.can_publish_data == Some(true));
        let none = Allowed {
            audio: false,
            video: false,
            screen: false,
        };
        let g = grants("r", Role::Cohost, SessionType::Camera, none);
        assert_eq!((g.can_publish, g.can_publish_sources.len()), (Some(false), 0));
        let p = permission(Role::Guest, SessionType::Studio, Allowed::ALL);
        assert_eq!(p.can_publish_sources, vec![1, 2, 3, 4]);
        assert!(permission(Role::Viewer, SessionType::Studio, Allowed::ALL)
            .can_publish_sources
            .is_empty());
    }
}
