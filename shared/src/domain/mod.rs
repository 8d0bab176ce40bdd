//! The domain: the vocabulary every layer above speaks, with no IO. Roles, statuses, settings and
//! the items we store with their validation rules; the ids and timestamps they carry
//! ([`ids`], [`time`]); the table's keys ([`keys`]); the one error type ([`error`]); the
//! configuration ([`config`]); the change a rule asks of a participant ([`change`]); pages of
//! lists ([`page`]); the checks of what users write ([`text`]); idempotency keys and the answers
//! they replay ([`idempotency`]); per-user rate limits ([`rate`]).

pub mod change;
pub mod config;
pub mod economy;
pub mod error;
pub mod fanout;
#[cfg(test)]
pub mod fixtures;
pub mod idempotency;
pub mod ids;
pub mod keys;
pub mod page;
pub mod rate;
pub mod text;
pub mod time;

use serde::{Deserialize, Serialize};

use self::ids::{RequestId, SessionId, UserId};
use self::time::Timestamp;

/// The caller, as established from a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// JWT `sub`: our user id, the SFU identity.
    pub id: UserId,
    /// From `username`, `preferred_username` or `name` (in that order), else the id.
    pub username: String,
    /// From `avatar_url` or `picture`.
    pub avatar_url: Option<String>,
}

/// A participant's role in a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Host,
    Cohost,
    Guest,
    Viewer,
}

impl Role {
    /// On stage (counted in `guest_count`, bounded by `max_guests`).
    pub fn is_guest_slot(self) -> bool {
        matches!(self, Role::Guest | Role::Cohost)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Cohost => "cohost",
            Role::Guest => "guest",
            Role::Viewer => "viewer",
        }
    }
}

/// Whether a participant is in the session now. `kicked` and `banned` are terminal for the
/// session: such a user can never rejoin it, and ending the session does not overwrite them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ParticipantStatus {
    Active,
    Muted,
    Kicked,
    Banned,
    Left,
}

impl ParticipantStatus {
    pub const PRESENT: [ParticipantStatus; 2] = [ParticipantStatus::Active, ParticipantStatus::Muted];

    pub fn is_present(self) -> bool {
        Self::PRESENT.contains(&self)
    }

    pub fn is_barred(self) -> bool {
        matches!(self, ParticipantStatus::Kicked | ParticipantStatus::Banned)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantStatus::Active => "active",
            ParticipantStatus::Muted => "muted",
            ParticipantStatus::Kicked => "kicked",
            ParticipantStatus::Banned => "banned",
            ParticipantStatus::Left => "left",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SessionType {
    /// Audio only (like Twitter Spaces).
    Voice,
    Camera,
    Studio,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Opened with `backstage: true` and not live yet: the host and the guests they invite
    /// join and test their media; not listed, no viewers (`POST /live/go-live/{session_id}`).
    /// Shown, never stored: a backstage session is stored `live` with [`Session::backstage`], so
    /// every rule of a live session (the stage, chat, controls) holds backstage too.
    Backstage,
    Live,
    Ended,
}

/// Bounds of the settings accepted by `POST /live/start` (documented in the README and OpenAPI).
pub mod limits {
    pub const TITLE_MAX_CHARS: usize = 255;
    pub const DESCRIPTION_MAX_CHARS: usize = 2000;
    pub const MAX_GUESTS: std::ops::RangeInclusive<u32> = 1..=20;
    pub const MAX_PARTICIPANTS: std::ops::RangeInclusive<u32> = 1..=10_000;
    pub const CHAT_SLOW_MODE_SECONDS: std::ops::RangeInclusive<u32> = 0..=300;
    pub const DEFAULT_MAX_GUESTS: u32 = 8;
    pub const DEFAULT_MAX_PARTICIPANTS: u32 = 1000;
    pub const BLOCKED_WORDS_MAX: usize = 100;
    pub const BLOCKED_WORD_MAX_CHARS: usize = 50;
    pub const CHAT_MESSAGE_MAX_CHARS: usize = 500;
    /// A guest request's or invitation's message.
    pub const REQUEST_MESSAGE_MAX_CHARS: usize = 200;
    /// Serialized size and nesting depth of a chat message's `metadata`.
    pub const CHAT_METADATA_MAX_BYTES: usize = 2048;
    pub const CHAT_METADATA_MAX_DEPTH: usize = 4;
    /// Sockets one user holds open to one session; another closes the oldest.
    pub const SOCKETS_PER_USER: usize = 3;
    /// A chat timeout (`POST /live/chat-timeout`; `0` lifts one) and a pin's expiry, in seconds.
    pub const CHAT_TIMEOUT_SECONDS: std::ops::RangeInclusive<u32> = 0..=86_400;
    pub const PIN_SECONDS: std::ops::RangeInclusive<u32> = 1..=86_400;
}

/// Per-session settings (the spec's `live_session_settings`). They live inside the session item
/// because the limits must sit beside the counters they bound: a DynamoDB condition sees one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    pub max_participants: u32,
    pub allow_guests: bool,
    pub require_approval: bool,
    pub max_guests: u32,
    pub enable_chat: bool,
    pub enable_gifts: bool,
    pub chat_slow_mode: u32,
    pub guest_audio_default: bool,
    pub guest_video_default: bool,
    /// Who may join (`public` by default; `paid`: ticket holders; `subscribers`: the listed users;
    /// the host and the stage always).
    #[serde(default)]
    pub access: Access,
    /// Coins a ticket costs (`paid` sessions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_price: Option<u64>,
    /// Chat messages containing one of these words (folded: `text::folded`) are refused. Shown
    /// to the host and cohosts only (absent for everyone else, and when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_words: Vec<String>,
}

/// Who may join a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone not barred.
    #[default]
    Public,
    /// Holders of a ticket (`POST /live/buy-ticket`), besides the host and the stage.
    Paid,
    /// The users the embedding app lists (`PUT /live/access/{session_id}`), besides the host and
    /// the stage.
    Subscribers,
}

/// The session item (`SESSION#<id>` / `META`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub room_name: String,
    pub host_id: UserId,
    pub host_username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_avatar_url: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub session_type: SessionType,
    pub status: SessionStatus,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
    /// Present audience: every present participant but the host (viewers, guests, cohosts).
    pub viewer_count: u32,
    /// The true maximum `viewer_count` has ever reached.
    pub peak_viewers: u32,
    /// Present guests and cohosts (the stage, bounded by `max_guests`).
    pub guest_count: u32,
    pub settings: Settings,
    /// Coins paid in gifts in this session (before the recipients' share).
    #[serde(default)]
    pub gift_revenue: u64,
    /// Coins paid in tips in this session.
    #[serde(default)]
    pub tip_revenue: u64,
    /// Coins paid for tickets to this session.
    #[serde(default)]
    pub ticket_revenue: u64,
    /// User ids of the cohosts (kept here so that pushes to the stage read one item).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cohosts: Vec<UserId>,
    /// The session's composite recording (LiveKit Egress), the last one started. Boxed, as
    /// `pinned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Box<Recording>>,
    /// Opened backstage and not live yet (its `status` is then shown as `backstage`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backstage: bool,
    /// The one pinned chat message, until it is unpinned, deleted or expires (`pinned_message`).
    /// Boxed: a session is in many async frames, and a message would double its size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<Box<PinnedMessage>>,
}

/// Where a session's recording is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RecordingStatus {
    /// Asked of Egress, not confirmed yet.
    Starting,
    /// Recording.
    Active,
    /// Stopped by the host, or with the session's end.
    Stopped,
}

/// A session's composite recording (`POST /live/recording/{session_id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recording {
    pub status: RecordingStatus,
    /// Egress's id of it (absent while starting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_id: Option<String>,
    /// Where the file is written (the host and cohosts see it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub started_by: UserId,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Timestamp>,
}

/// A chat message pinned above the chat by a host or cohost (`PUT /live/pin/{session_id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PinnedMessage {
    pub message: ChatMessage,
    pub pinned_by: UserId,
    pub pinned_at: Timestamp,
    /// When it stops showing (absent: until unpinned or the session ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl PinnedMessage {
    /// Whether it still shows at `now_ms` (epoch milliseconds).
    pub fn shows_at(&self, now_ms: i64) -> bool {
        self.expires_at.is_none_or(|e| e.unix_millis() > now_ms)
    }
}

impl Session {
    /// The status the API shows: `backstage` until it goes live.
    pub fn shown_status(&self) -> SessionStatus {
        if self.backstage && self.status == SessionStatus::Live {
            SessionStatus::Backstage
        } else {
            self.status
        }
    }

    /// The host and the cohosts: who receives what concerns the stage.
    pub fn moderators(&self) -> Vec<UserId> {
        std::iter::once(self.host_id.clone())
            .chain(self.cohosts.iter().cloned())
            .collect()
    }
}

/// A participant item (`SESSION#<id>` / `PART#<user>`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Participant {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    pub role: Role,
    pub status: ParticipantStatus,
    /// Allowed to publish audio (the host's `mute_audio`/`unmute_audio`).
    pub audio_enabled: bool,
    /// Allowed to publish video (`mute_video`/`unmute_video`).
    pub video_enabled: bool,
    /// Publishing a screen share now (from the SFU's webhooks).
    pub screen_sharing: bool,
    /// Allowed to share the screen (`allow_screen_share`/`disallow_screen_share`).
    #[serde(default)]
    pub screen_share_allowed: bool,
    /// Connected to the SFU's room now (from the SFU's webhooks).
    #[serde(default)]
    pub connected: bool,
    /// Publishing a microphone track now (from the SFU's webhooks).
    #[serde(default)]
    pub audio_published: bool,
    /// Publishing a camera track now (from the SFU's webhooks).
    #[serde(default)]
    pub video_published: bool,
    pub joined_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_at: Option<Timestamp>,
}

impl Participant {
    /// A present participant as they enter: no permission to publish, nothing at the SFU yet.
    pub fn entering(session_id: SessionId, user: &User, role: Role, joined_at: Timestamp) -> Participant {
        Participant {
            session_id,
            user_id: user.id.clone(),
            username: user.username.clone(),
            avatar_url: user.avatar_url.clone(),
            role,
            status: ParticipantStatus::Active,
            audio_enabled: false,
            video_enabled: false,
            screen_sharing: false,
            screen_share_allowed: false,
            connected: false,
            audio_published: false,
            video_published: false,
            joined_at,
            left_at: None,
        }
    }
}

/// What a guest asked for, or was invited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RequestType {
    Guest,
    Cohost,
}

impl RequestType {
    pub fn role(self) -> Role {
        match self {
            RequestType::Guest => Role::Guest,
            RequestType::Cohost => Role::Cohost,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
    /// An invitation not accepted in time.
    Expired,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Cancelled => "cancelled",
            RequestStatus::Expired => "expired",
        }
    }
}

/// Who started a stage request: the viewer (request) or a host/cohost (invitation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RequestOrigin {
    Request,
    Invitation,
}

/// A guest request or invitation (`SESSION#<id>` / `GREQ#<request id>`; ids are time-ordered).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GuestRequest {
    pub id: RequestId,
    pub session_id: SessionId,
    /// The viewer who would go on stage.
    pub user_id: UserId,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    pub request_type: RequestType,
    pub origin: RequestOrigin,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The host or cohost who invited (invitations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<UserId>,
    /// Until when the invitation can be accepted (invitations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_by: Option<UserId>,
}

/// One host action, for the audit trail (`AUDIT#<session>` / `<at>#<id>`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    pub session_id: SessionId,
    pub actor_id: UserId,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<UserId>,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Who wrote a chat message. Clients may send `text` and `sticker`; `gift` and `system` messages
/// are written by the server alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Text,
    Sticker,
    Gift,
    System,
}

/// A stored chat message (`CHAT#<session>` / `MSG#<created_at>#<id>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatMessage {
    pub id: String,
    pub session_id: SessionId,
    /// Absent on system messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    pub message: String,
    pub message_type: MessageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    pub created_at: Timestamp,
}

/// Reaction kinds; `like` is accepted as `heart` for old clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ReactionType {
    #[serde(alias = "like")]
    Heart,
    Fire,
    Clap,
    Wow,
    Sad,
}

impl ReactionType {
    pub const ALL: [ReactionType; 5] = [
        ReactionType::Heart,
        ReactionType::Fire,
        ReactionType::Clap,
        ReactionType::Wow,
        ReactionType::Sad,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReactionType::Heart => "heart",
            ReactionType::Fire => "fire",
            ReactionType::Clap => "clap",
            ReactionType::Wow => "wow",
            ReactionType::Sad => "sad",
        }
    }
}

/// A WebSocket connection item (`CONN#<connection id>` / `META`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Connection {
    pub connection_id: String,
    pub session_id: SessionId,
    pub user_id: UserId,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// The role when the socket connected (roles can change later; rules re-read the participant).
    pub role: Role,
    pub connected_at: Timestamp,
    /// TTL (epoch seconds).
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert!(ParticipantStatus::Muted.is_present());
        assert!(!ParticipantStatus::Kicked.is_present());
        assert!(ParticipantStatus::Banned.is_barred());
        assert!(Role::Cohost.is_guest_slot());
        assert!(!Role::Host.is_guest_slot());
    }
}
