//! The rules of the session endpoints, one function each, readable top to bottom. They take a
//! verified [`User`] and a validated request and return a response value; HTTP parsing and
//! serialization live in `api`, storage in `store`.

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth::User;
use crate::clock;
use crate::domain::{limits, Participant, ParticipantStatus, Role, Session, SessionStatus, SessionType, Settings};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, kind};
use crate::push::Audience;
use crate::sfu::{Allowed, TokenSubject};
use crate::store::{JoinOutcome, LeaveOutcome};
use serde_json::json;

/// `POST /live/start` body. Every setting is optional but the title; defaults are documented.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StartRequest {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub session_type: Option<SessionType>,
    pub max_participants: Option<u32>,
    pub allow_guests: Option<bool>,
    pub require_approval: Option<bool>,
    pub max_guests: Option<u32>,
    pub enable_chat: Option<bool>,
    pub enable_gifts: Option<bool>,
    pub chat_slow_mode: Option<u32>,
    pub guest_audio_default: Option<bool>,
    pub guest_video_default: Option<bool>,
    pub blocked_words: Option<Vec<String>>,
}

/// `POST /live/join` and `POST /live/leave` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SessionRef {
    pub session_id: String,
}

/// A session as the API shows it: the stored fields with the settings flattened beside them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub room_name: String,
    pub host_id: String,
    pub host_username: String,
    pub host_avatar_url: Option<String>,
    pub title: String,
    pub description: String,
    pub session_type: SessionType,
    pub status: SessionStatus,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_seconds: Option<i64>,
    pub viewer_count: u32,
    pub peak_viewers: u32,
    pub guest_count: u32,
    #[serde(flatten)]
    pub settings: Settings,
    /// Reaction totals by type (session detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<serde_json::Value>,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        SessionView {
            id: s.id,
            room_name: s.room_name,
            host_id: s.host_id,
            host_username: s.host_username,
            host_avatar_url: s.host_avatar_url,
            title: s.title,
            description: s.description,
            session_type: s.session_type,
            status: s.status,
            started_at: s.started_at,
            ended_at: s.ended_at,
            duration_seconds: s.duration_seconds,
            viewer_count: s.viewer_count,
            peak_viewers: s.peak_viewers,
            guest_count: s.guest_count,
            settings: s.settings,
            reactions: None,
        }
    }
}

/// What a client needs to connect to the SFU.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebrtcConfig {
    pub server_url: String,
    pub room_name: String,
    pub participant_token: String,
    pub ice_servers: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StartResponse {
    #[serde(flatten)]
    pub session: SessionView,
    pub session_id: String,
    /// The host's SFU token (also in `webrtc_config.participant_token`).
    pub access_token: String,
    pub webrtc_config: WebrtcConfig,
    pub role: Role,
    pub token_ttl_seconds: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JoinResponse {
    pub session_id: String,
    pub room_name: String,
    pub access_token: String,
    pub webrtc_config: WebrtcConfig,
    pub role: Role,
    pub can_request_guest: bool,
    /// False when the caller was already present (nothing was counted again).
    pub joined: bool,
    pub token_ttl_seconds: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeaveResponse {
    pub message: &'static str,
    pub session_id: String,
    pub status: ParticipantStatus,
    /// False when the caller was not present (nothing changed).
    pub left: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndResponse {
    pub message: &'static str,
    pub session_id: String,
    pub duration_seconds: i64,
    pub ended_at: String,
}

fn within(field: &str, value: u32, range: std::ops::RangeInclusive<u32>) -> ApiResult<u32> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::validation(
            field,
            format!("must be between {} and {} (got {value})", range.start(), range.end()),
        ))
    }
}

/// Blocked words are matched case-insensitively; stored lower-cased, trimmed and de-duplicated.
fn blocked_words(words: &[String]) -> ApiResult<Vec<String>> {
    if words.len() > limits::BLOCKED_WORDS_MAX {
        return Err(ApiError::validation(
            "blocked_words",
            format!("at most {} words", limits::BLOCKED_WORDS_MAX),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let field = format!("blocked_words[{i}]");
        let w = w.trim().to_lowercase();
        if w.is_empty() {
            return Err(ApiError::validation(field, "must not be empty"));
        }
        crate::domain::check_text(&field, &w, limits::BLOCKED_WORD_MAX_CHARS, false)?;
        if !out.contains(&w) {
            out.push(w);
        }
    }
    Ok(out)
}

/// Session ids are UUIDs; anything else cannot name a session.
/// The session whose SFU room this is (room names are derived from session ids at start).
pub fn session_id_of_room(room_name: &str) -> Option<String> {
    let simple = room_name.strip_prefix("live_")?;
    uuid::Uuid::try_parse(simple).ok().map(|u| u.hyphenated().to_string())
}

pub fn check_session_id(field: &str, id: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| ApiError::validation(field, "must be a UUID"))
}

impl StartRequest {
    /// Applies defaults and bounds; the first violation is reported with its field.
    pub fn settings(&self) -> ApiResult<(String, String, SessionType, Settings)> {
        let title = self.title.trim().to_string();
        if title.is_empty() {
            return Err(ApiError::validation("title", "must not be empty"));
        }
        crate::domain::check_text("title", &title, limits::TITLE_MAX_CHARS, false)?;
        let description = self.description.as_deref().unwrap_or("").trim().to_string();
        crate::domain::check_text("description", &description, limits::DESCRIPTION_MAX_CHARS, true)?;
        let settings = Settings {
            max_participants: within(
                "max_participants",
                self.max_participants.unwrap_or(limits::DEFAULT_MAX_PARTICIPANTS),
                limits::MAX_PARTICIPANTS,
            )?,
            allow_guests: self.allow_guests.unwrap_or(true),
            require_approval: self.require_approval.unwrap_or(true),
            max_guests: within(
                "max_guests",
                self.max_guests.unwrap_or(limits::DEFAULT_MAX_GUESTS),
                limits::MAX_GUESTS,
            )?,
            enable_chat: self.enable_chat.unwrap_or(true),
            enable_gifts: self.enable_gifts.unwrap_or(true),
            chat_slow_mode: within(
                "chat_slow_mode",
                self.chat_slow_mode.unwrap_or(0),
                limits::CHAT_SLOW_MODE_SECONDS,
            )?,
            guest_audio_default: self.guest_audio_default.unwrap_or(true),
            guest_video_default: self.guest_video_default.unwrap_or(true),
            blocked_words: blocked_words(self.blocked_words.as_deref().unwrap_or_default())?,
        };
        Ok((
            title,
            description,
            self.session_type.unwrap_or(SessionType::Camera),
            settings,
        ))
    }
}

fn webrtc(app: &App, room: &str, token: &str) -> WebrtcConfig {
    WebrtcConfig {
        server_url: app.sfu.url().to_string(),
        room_name: room.to_string(),
        participant_token: token.to_string(),
        ice_servers: app.sfu.ice_servers().clone(),
    }
}

/// A token with exactly what the participant's role and the host's controls allow now.
pub fn sfu_token(app: &App, user: &User, session: &Session, p: &Participant) -> ApiResult<String> {
    app.sfu.token(&TokenSubject {
        user_id: &user.id,
        display_name: &user.username,
        room: &session.room_name,
        role: p.role,
        session_type: session.session_type,
        allowed: Allowed::of(p),
    })
}

async fn existing_session(app: &App, session_id: &str) -> ApiResult<Session> {
    app.store
        .session(session_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no session {session_id}")))
}

/// A session as it opens with id `id` at `now`, hosted by `user`, and its host participant
/// (validated settings; nothing stored).
pub fn opening(id: uuid::Uuid, user: &User, req: &StartRequest, now: &str) -> ApiResult<(Session, Participant)> {
    let (title, description, session_type, settings) = req.settings()?;
    let session = Session {
        id: id.hyphenated().to_string(),
        // Derived from the session id: unique by construction, and not guessable from the title.
        room_name: format!("live_{}", id.simple()),
        host_id: user.id.clone(),
        host_username: user.username.clone(),
        host_avatar_url: user.avatar_url.clone(),
        title,
        description,
        session_type,
        status: SessionStatus::Live,
        started_at: now.to_string(),
        ended_at: None,
        duration_seconds: None,
        viewer_count: 0,
        peak_viewers: 0,
        guest_count: 0,
        settings,
        cohosts: Vec::new(),
    };
    let host = Participant {
        avatar_url: user.avatar_url.clone(),
        audio_enabled: true,
        video_enabled: session_type != SessionType::Voice,
        screen_share_allowed: true,
        ..Participant::entering(&session.id, &user.id, &user.username, Role::Host, now)
    };
    Ok((session, host))
}

/// `POST /live/start`: the caller goes live as host.
pub async fn start(app: &App, user: &User, req: StartRequest) -> ApiResult<StartResponse> {
    let (session, host) = opening(uuid::Uuid::new_v4(), user, &req, &clock::now())?;
    let token = sfu_token(app, user, &session, &host)?;
    app.store.create_session(&session, &host).await?;
    tracing::info!(session_id = %session.id, host = %user.id, "session started");
    Ok(StartResponse {
        session_id: session.id.clone(),
        access_token: token.clone(),
        webrtc_config: webrtc(app, &session.room_name, &token),
        role: Role::Host,
        token_ttl_seconds: app.sfu.token_ttl().as_secs(),
        session: session.into(),
    })
}

/// `POST /live/join`: the caller joins as a viewer, or gets a fresh token for the role they hold.
pub async fn join(app: &App, user: &User, req: SessionRef) -> ApiResult<JoinResponse> {
    let session_id = check_session_id("session_id", &req.session_id)?;
    let session = existing_session(app, &session_id).await?;
    if session.status != SessionStatus::Live {
        return Err(ApiError::conflict("session-ended", "this live session has ended"));
    }
    let viewer = Participant {
        avatar_url: user.avatar_url.clone(),
        ..Participant::entering(&session_id, &user.id, &user.username, Role::Viewer, &clock::now())
    };
    let (me, joined) = match app.store.join(&session_id, &viewer).await? {
        JoinOutcome::Joined => (viewer.clone(), true),
        JoinOutcome::AlreadyPresent(p) => (p, false),
    };
    let role = me.role;
    if joined {
        // Viewers' comings and goings go to the stage; the audience sees the coalesced count.
        events::publish(
            app,
            Audience::Stage,
            kind::PARTICIPANT_JOINED,
            &session_id,
            events::participant_data(&viewer),
        )
        .await;
        let note = json!({"event": "joined", "user_id": user.id});
        events::system_message(
            app,
            &session_id,
            format!("{} joined", user.username),
            Audience::Stage,
            note,
        )
        .await;
        events::viewer_count(app, &session_id).await;
    }
    let token = sfu_token(app, user, &session, &me)?;
    Ok(JoinResponse {
        session_id,
        room_name: session.room_name.clone(),
        access_token: token.clone(),
        webrtc_config: webrtc(app, &session.room_name, &token),
        role,
        can_request_guest: role == Role::Viewer && session.settings.allow_guests,
        joined,
        token_ttl_seconds: app.sfu.token_ttl().as_secs(),
    })
}

/// `POST /live/leave`: the caller leaves; counts drop exactly once.
pub async fn leave(app: &App, user: &User, req: SessionRef) -> ApiResult<LeaveResponse> {
    let session_id = check_session_id("session_id", &req.session_id)?;
    existing_session(app, &session_id).await?;
    let (p, left) = match app.store.leave(&session_id, &user.id, &clock::now()).await? {
        LeaveOutcome::Left(p) => (p, true),
        LeaveOutcome::NotPresent(p) => (p, false),
    };
    if left {
        // A stage member leaving changes what everyone sees; a viewer leaving concerns the stage.
        let audience = if p.role == Role::Viewer {
            Audience::Stage
        } else {
            Audience::Session
        };
        events::publish(
            app,
            audience.clone(),
            kind::PARTICIPANT_LEFT,
            &session_id,
            events::participant_data(&p),
        )
        .await;
        let note = json!({"event": "left", "user_id": user.id});
        events::system_message(app, &session_id, format!("{} left", user.username), audience, note).await;
        events::viewer_count(app, &session_id).await;
    }
    Ok(LeaveResponse {
        message: if left {
            "Left the live session"
        } else {
            "Not present in the live session"
        },
        session_id,
        status: p.status,
        left,
    })
}

/// `POST /live/end/{session_id}`: the host ends the session. Idempotent: a repeat returns the
/// same result and finishes anything an interrupted earlier call left undone.
pub async fn end(app: &App, user: &User, session_id: &str) -> ApiResult<EndResponse> {
    let session_id = check_session_id("session_id", session_id)?;
    let session = existing_session(app, &session_id).await?;
    if session.host_id != user.id {
        return Err(ApiError::Forbidden("only the host can end this session".into()));
    }
    finish(app, session).await
}

/// Ends a session (the host's `end`, or the SFU's `room_finished`), or finishes an interrupted
/// earlier end: marks it ended, sweeps the participants, deletes the SFU room, tells everyone once.
pub async fn finish(app: &App, session: Session) -> ApiResult<EndResponse> {
    let session_id = session.id.clone();
    let now = clock::now();
    let was_live = session.status == SessionStatus::Live;
    let ended = match session.status {
        SessionStatus::Ended => session,
        SessionStatus::Live => {
            let duration = clock::seconds_between(&session.started_at, &now)?;
            app.store.end_session(&session, &now, duration).await?
        }
    };
    let swept = app
        .store
        .sweep_participants(&session_id, ended.ended_at.as_deref().unwrap_or(&now))
        .await?;
    app.sfu.delete_room(&ended.room_name).await;
    if was_live {
        let data =
            json!({"session_id": session_id, "ended_at": ended.ended_at, "duration_seconds": ended.duration_seconds});
        let text = "The live session has ended".to_string();
        events::system_message(app, &session_id, text, Audience::Session, data.clone()).await;
        events::publish(app, Audience::Session, kind::SESSION_ENDED, &session_id, data).await;
    }
    tracing::info!(session_id, swept, "session ended");
    Ok(EndResponse {
        message: "Live session ended successfully",
        session_id,
        duration_seconds: ended.duration_seconds.unwrap_or(0),
        ended_at: ended.ended_at.unwrap_or(now),
    })
}

/// `GET /live/session/{session_id}`: public detail of a live or ended session.
pub async fn detail(app: &App, session_id: &str) -> ApiResult<SessionView> {
    let session_id = check_session_id("session_id", session_id)?;
    let mut view = SessionView::from(existing_session(app, &session_id).await?);
    view.reactions = Some(events::totals_json(&app.store.reaction_totals(&session_id).await?));
    Ok(view)
}

/// Page size bounds of the list endpoints.
pub fn page_limit(raw: Option<&str>, default: i32, max: i32) -> ApiResult<i32> {
    match raw {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::validation(
                "limit",
                format!("must be an integer between 1 and {max}"),
            )),
        },
    }
}

/// `GET /live/active`: live sessions, newest first, paged by an opaque cursor.
pub async fn active(app: &App, limit: i32, cursor: Option<&str>) -> ApiResult<(Vec<SessionView>, Option<String>)> {
    let (list, next) = app.store.live_sessions(limit, cursor).await?;
    Ok((list.into_iter().map(SessionView::from).collect(), next))
}

/// `GET /live/participants/{session_id}`: present participants, for any signed-in user
/// except those barred from the session.
pub async fn participants(
    app: &App,
    user: &User,
    session_id: &str,
    limit: i32,
    cursor: Option<&str>,
) -> ApiResult<(Vec<Participant>, Option<String>)> {
    let session_id = check_session_id("session_id", session_id)?;
    existing_session(app, &session_id).await?;
    if let Some(me) = app.store.participant(&session_id, &user.id).await? {
        if me.status.is_barred() {
            return Err(ApiError::Forbidden("you were removed from this session".into()));
        }
    }
    app.store.present_participants(&session_id, limit, cursor).await
}
