//! Values of the domain for unit tests across the layers: a live session with default settings,
//! users and their participations.

use super::ids::{SessionId, UserId};
use super::time::Timestamp;
use super::{Access, Participant, ParticipantStatus, Role, Session, SessionStatus, SessionType, Settings, User};

pub fn user(id: &str) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        username: id.into(),
        avatar_url: None,
    }
}

/// The settings `POST /live/start` applies when none is given.
pub fn settings() -> Settings {
    Settings {
        max_participants: 1000,
        allow_guests: true,
        require_approval: true,
        max_guests: 8,
        enable_chat: true,
        enable_gifts: true,
        chat_slow_mode: 0,
        guest_audio_default: true,
        guest_video_default: true,
        blocked_words: vec![],
        access: Access::Public,
        ticket_price: None,
    }
}

/// A camera session `id` hosted by `h`, started at `started_at`, nobody in it yet.
pub fn session(id: SessionId, status: SessionStatus, started_at: Timestamp) -> Session {
    Session {
        id,
        room_name: id.room_name(),
        host_id: UserId::parse("h").unwrap(),
        host_username: "h".into(),
        host_avatar_url: None,
        title: "t".into(),
        description: String::new(),
        session_type: SessionType::Camera,
        status,
        started_at,
        ended_at: None,
        duration_seconds: None,
        viewer_count: 0,
        peak_viewers: 0,
        guest_count: 0,
        gift_revenue: 0,
        tip_revenue: 0,
        ticket_revenue: 0,
        settings: settings(),
        cohosts: vec![],
        recording: None,
        backstage: false,
        pinned: None,
    }
}

/// User `id` in session `s` as `role`, with `status`; on stage, allowed to publish.
pub fn participant(s: SessionId, id: &str, role: Role, status: ParticipantStatus) -> Participant {
    let on_stage = role != Role::Viewer;
    Participant {
        status,
        audio_enabled: on_stage,
        video_enabled: on_stage,
        ..Participant::entering(s, &user(id), role, Timestamp::now())
    }
}
