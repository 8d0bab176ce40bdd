//! The rules of the session endpoints, one function each, readable top to bottom: going live,
//! joining, leaving, ending, and reading sessions and their participants.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::{self, Need};
use super::after_kept;
use super::analytics;
use super::events::{self, kind};
use super::rates;
use crate::domain::economy::{Gifter, TICKET_PRICE, TOP_GIFTERS};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::Audience;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::page::{Listing, PageRequest};
use crate::domain::rate::Limited;
use crate::domain::text::{check_text, folded};
use crate::domain::time::Timestamp;
use crate::domain::{
    limits, Access, Participant, ParticipantStatus, PinnedMessage, Recording, RecordingStatus, Role, Session,
    SessionStatus, SessionType, Settings, User,
};
use crate::effects::deadline;
use crate::effects::sfu::{Allowed, TokenSubject};
use crate::effects::store::analytics::Happening;
use crate::effects::store::{JoinOutcome, LeaveOutcome, Refusal, StoreError};
use crate::effects::Effects;

/// `POST /live/start` body. Every setting is optional but the title; defaults are documented.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// `public` (default), `paid` (joining needs a ticket, `POST /live/buy-ticket`) or
    /// `subscribers` (the users `PUT /live/access/{session_id}` lists).
    #[serde(default)]
    pub access: Option<Access>,
    /// A `paid` session's ticket, 1..=1,000,000 coins (required with `paid`, refused otherwise).
    #[serde(default)]
    pub ticket_price: Option<u64>,
    /// Open backstage (default false): the host and the guests they invite join and test their
    /// media, unlisted and without viewers, until `POST /live/go-live/{session_id}`.
    #[serde(default)]
    pub backstage: Option<bool>,
}

/// `PUT /live/access/{session_id}` body: the whole list, replacing the last one.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessList {
    /// At most 10,000 user ids.
    pub user_ids: Vec<UserId>,
}

/// `PUT /live/access/{session_id}` answer.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessListSet {
    pub session_id: SessionId,
    /// Distinct users the session now admits (besides its host and stage).
    pub admitted: usize,
}

/// Users one access list may name.
pub const ACCESS_LIST_MAX: usize = 10_000;

/// `POST /live/join` and `POST /live/leave` body.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionRef {
    pub session_id: SessionId,
}

/// A session as the API shows it: the stored fields with the settings flattened beside them.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub id: SessionId,
    pub room_name: String,
    pub host_id: UserId,
    pub host_username: String,
    pub host_avatar_url: Option<String>,
    pub title: String,
    pub description: String,
    pub session_type: SessionType,
    pub status: SessionStatus,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub duration_seconds: Option<i64>,
    pub viewer_count: u32,
    pub peak_viewers: u32,
    pub guest_count: u32,
    /// Coins paid in gifts in this session.
    pub gift_revenue: u64,
    /// Coins paid in tips in this session.
    pub tip_revenue: u64,
    /// Coins paid for tickets to this session.
    pub ticket_revenue: u64,
    #[serde(flatten)]
    pub settings: Settings,
    /// Reaction totals by type (session detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<serde_json::Value>,
    /// The top 10 gifters by coins given in gifts and tips (session detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_gifters: Option<Vec<Gifter>>,
    /// The message pinned above the chat (`PUT /live/pin/{session_id}`), while it shows.
    pub pinned_message: Option<Box<PinnedMessage>>,
    /// The last recording started (`POST /live/recording/{session_id}`), stopped at the latest
    /// with the session; its `location` and `egress_id` for the host and cohosts only.
    pub recording: Option<Box<Recording>>,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        let status = s.shown_status();
        SessionView {
            id: s.id,
            room_name: s.room_name,
            host_id: s.host_id,
            host_username: s.host_username,
            host_avatar_url: s.host_avatar_url,
            title: s.title,
            description: s.description,
            session_type: s.session_type,
            status,
            started_at: s.started_at,
            ended_at: s.ended_at,
            duration_seconds: s.duration_seconds,
            viewer_count: s.viewer_count,
            peak_viewers: s.peak_viewers,
            guest_count: s.guest_count,
            gift_revenue: s.gift_revenue,
            tip_revenue: s.tip_revenue,
            ticket_revenue: s.ticket_revenue,
            settings: s.settings,
            reactions: None,
            top_gifters: None,
            pinned_message: s.pinned,
            // A session's end deletes its room, which stops its recording.
            recording: s.recording.map(|mut r| {
                if s.status == SessionStatus::Ended && r.status != RecordingStatus::Stopped {
                    r.status = RecordingStatus::Stopped;
                    r.stopped_at = r.stopped_at.or(s.ended_at);
                }
                r
            }),
        }
    }
}

/// What a client needs to connect to the SFU.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebrtcConfig {
    pub server_url: String,
    pub room_name: String,
    pub participant_token: String,
    pub ice_servers: serde_json::Value,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartResponse {
    #[serde(flatten)]
    pub session: SessionView,
    pub session_id: SessionId,
    /// The host's SFU token (also in `webrtc_config.participant_token`).
    pub access_token: String,
    pub webrtc_config: WebrtcConfig,
    pub role: Role,
    pub token_ttl_seconds: u64,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JoinResponse {
    pub session_id: SessionId,
    pub room_name: String,
    pub access_token: String,
    pub webrtc_config: WebrtcConfig,
    pub role: Role,
    pub can_request_guest: bool,
    /// False when the caller was already present (nothing was counted again).
    pub joined: bool,
    pub token_ttl_seconds: u64,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaveResponse {
    pub message: &'static str,
    pub session_id: SessionId,
    pub status: ParticipantStatus,
    /// False when the caller was not present (nothing changed).
    pub left: bool,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndResponse {
    pub message: &'static str,
    pub session_id: SessionId,
    pub duration_seconds: i64,
    pub ended_at: Timestamp,
}

/// What one run of [`end_abandoned`] did.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Abandoned {
    /// Sessions ended because their host was gone from the SFU too long.
    pub ended: Vec<SessionId>,
    /// Hosts listed as gone that were looked at (ended, back, or their session already over).
    pub checked: usize,
}

/// Hosts gone looked at per run: each may end a session (a few SFU and table calls); the next
/// run, a minute later, takes the rest.
const ABANDONED_PER_RUN: i32 = 50;
/// What an end needs left of the invocation to be started by the sweep.
const END_RESERVE: Duration = Duration::from_secs(4);

/// `value` of `field` if within `range`, else the validation error naming both.
pub(crate) fn within(field: &str, value: u32, range: std::ops::RangeInclusive<u32>) -> ApiResult<u32> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::validation(
            field,
            format!("must be between {} and {} (got {value})", range.start(), range.end()),
        ))
    }
}

/// Blocked words are stored folded as the texts they are matched against (`text::folded`),
/// trimmed and de-duplicated.
pub(crate) fn blocked_words(words: &[String]) -> ApiResult<Vec<String>> {
    if words.len() > limits::BLOCKED_WORDS_MAX {
        return Err(ApiError::validation(
            "blocked_words",
            format!("at most {} words", limits::BLOCKED_WORDS_MAX),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let field = format!("blocked_words[{i}]");
        let w = folded(w.trim());
        if w.is_empty() {
            return Err(ApiError::validation(field, "must not be empty"));
        }
        check_text(&field, &w, limits::BLOCKED_WORD_MAX_CHARS, false)?;
        if !out.contains(&w) {
            out.push(w);
        }
    }
    Ok(out)
}

impl StartRequest {
    /// Applies defaults and bounds; the first violation is reported with its field.
    pub fn settings(&self) -> ApiResult<(String, String, SessionType, Settings)> {
        let title = self.title.trim().to_string();
        if title.is_empty() {
            return Err(ApiError::validation("title", "must not be empty"));
        }
        check_text("title", &title, limits::TITLE_MAX_CHARS, false)?;
        let description = self.description.as_deref().unwrap_or("").trim().to_string();
        check_text("description", &description, limits::DESCRIPTION_MAX_CHARS, true)?;
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
            access: self.access.unwrap_or_default(),
            ticket_price: match (self.access.unwrap_or_default(), self.ticket_price) {
                (Access::Paid, Some(price)) if TICKET_PRICE.contains(&price) => Some(price),
                (Access::Paid, _) => {
                    return Err(ApiError::validation(
                        "ticket_price",
                        "a paid session needs a ticket_price of 1..=1000000 coins",
                    ))
                }
                (Access::Public | Access::Subscribers, None) => None,
                (Access::Public | Access::Subscribers, Some(_)) => {
                    return Err(ApiError::validation(
                        "ticket_price",
                        "only a paid session has a ticket price",
                    ))
                }
            },
        };
        Ok((
            title,
            description,
            self.session_type.unwrap_or(SessionType::Camera),
            settings,
        ))
    }
}

fn webrtc(fx: &Effects, room: &str, token: &str) -> WebrtcConfig {
    WebrtcConfig {
        server_url: fx.sfu.url().to_string(),
        room_name: room.to_string(),
        participant_token: token.to_string(),
        ice_servers: fx.sfu.ice_servers().clone(),
    }
}

/// A token with exactly what the participant's role and the host's controls allow now.
pub fn sfu_token(fx: &Effects, user: &User, session: &Session, p: &Participant) -> ApiResult<String> {
    Ok(fx.sfu.token(&TokenSubject {
        user_id: &user.id,
        display_name: &user.username,
        room: &session.room_name,
        role: p.role,
        session_type: session.session_type,
        allowed: Allowed::of(p),
    })?)
}

/// A session as it opens with id `id` at `now`, hosted by `user`, and its host participant
/// (validated settings; nothing stored).
pub fn opening(id: SessionId, user: &User, req: &StartRequest, now: Timestamp) -> ApiResult<(Session, Participant)> {
    let (title, description, session_type, settings) = req.settings()?;
    let session = Session {
        id,
        room_name: id.room_name(),
        host_id: user.id.clone(),
        host_username: user.username.clone(),
        host_avatar_url: user.avatar_url.clone(),
        title,
        description,
        session_type,
        status: SessionStatus::Live,
        started_at: now,
        ended_at: None,
        duration_seconds: None,
        viewer_count: 0,
        peak_viewers: 0,
        guest_count: 0,
        gift_revenue: 0,
        tip_revenue: 0,
        ticket_revenue: 0,
        settings,
        cohosts: Vec::new(),
        recording: None,
        backstage: req.backstage.unwrap_or(false),
        pinned: None,
    };
    let host = Participant {
        audio_enabled: true,
        video_enabled: session_type != SessionType::Voice,
        screen_share_allowed: true,
        ..Participant::entering(id, user, Role::Host, now)
    };
    Ok((session, host))
}

/// `POST /live/start`: the caller goes live as host.
pub async fn start(fx: &Effects, user: &User, req: StartRequest) -> ApiResult<StartResponse> {
    let (session, host) = opening(SessionId::new(), user, &req, fx.clock.now())?;
    let token = sfu_token(fx, user, &session, &host)?;
    fx.store.create_session(&session, &host).await?;
    tracing::info!(session_id = %session.id, host = %user.id, "session started");
    Ok(StartResponse {
        session_id: session.id,
        access_token: token.clone(),
        webrtc_config: webrtc(fx, &session.room_name, &token),
        role: Role::Host,
        token_ttl_seconds: fx.sfu.token_ttl().as_secs(),
        session: session.into(),
    })
}

/// `POST /live/join`: the caller joins as a viewer, or gets a fresh token for the role they hold.
pub async fn join(fx: &Effects, user: &User, req: SessionRef) -> ApiResult<JoinResponse> {
    let session_id = req.session_id;
    let session = access::existing_session(fx, &session_id).await?;
    if session.status != SessionStatus::Live {
        return Err(ApiError::session_ended());
    }
    rates::count(fx, &user.id, &session_id, Limited::Presence).await?;
    access::admits(fx, &session, &user.id).await?;
    let viewer = Participant::entering(session_id, user, Role::Viewer, fx.clock.now());
    let (me, joined) = match fx.store.join(&viewer).await? {
        JoinOutcome::Joined => (viewer, true),
        JoinOutcome::AlreadyPresent(p) => (p, false),
    };
    if joined {
        let at = me.joined_at.unix_millis();
        // Viewers' comings and goings go to the stage; the audience sees the coalesced count.
        // The count and the push are independent: one round trip, not two.
        let viewers = Some(session.viewer_count + 1);
        futures::join!(
            analytics::count(fx, &session, &user.id, Happening::Joined, at),
            arrival_or_departure(fx, &me, "joined", Audience::Stage, viewers)
        );
    }
    let token = sfu_token(fx, user, &session, &me)?;
    Ok(JoinResponse {
        session_id,
        room_name: session.room_name.clone(),
        access_token: token.clone(),
        webrtc_config: webrtc(fx, &session.room_name, &token),
        role: me.role,
        can_request_guest: me.role == Role::Viewer && session.settings.allow_guests,
        joined,
        token_ttl_seconds: fx.sfu.token_ttl().as_secs(),
    })
}

/// `POST /live/leave`: the caller leaves; counts drop exactly once.
pub async fn leave(fx: &Effects, user: &User, req: SessionRef) -> ApiResult<LeaveResponse> {
    let session_id = req.session_id;
    let s = access::existing_session(fx, &session_id).await?;
    rates::count(fx, &user.id, &session_id, Limited::Presence).await?;
    let now = fx.clock.now();
    let outcome = match fx.store.leave(&session_id, &user.id, &now).await {
        Err(StoreError::Refused(Refusal::Absent)) => {
            return Err(ApiError::NotFound("you are not a participant of this session".into()))
        }
        other => other?,
    };
    let (p, left) = match outcome {
        LeaveOutcome::Left(p) => (p, true),
        LeaveOutcome::NotPresent(p) => (p, false),
        LeaveOutcome::Hosting => {
            return Err(ApiError::conflict(
                "host-cannot-leave",
                "the host ends the session with POST /live/end/{session_id}",
            ))
        }
    };
    if left {
        analytics::count(fx, &s, &user.id, Happening::Left, now.unix_millis()).await;
        if p.role.is_guest_slot() {
            analytics::count(fx, &s, &user.id, Happening::OffStage, now.unix_millis()).await;
        }
        // A stage member leaving changes what everyone sees; a viewer leaving concerns the stage.
        let audience = if p.role == Role::Viewer {
            Audience::Stage
        } else {
            Audience::Session
        };
        arrival_or_departure(fx, &p, "left", audience, None).await;
    }
    if p.connected {
        // Leaving ends the media connection too (a guest who left must not keep publishing). A
        // connection our table does not know of yet is the webhook's to remove: it removes
        // anyone who reaches the room without being present.
        fx.sfu
            .remove(&s.room_name, &user.id)
            .await
            .map_err(after_kept("you left the session"))?;
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

/// Tells `audience` that `p` `joined` or `left` (an event and a system message) and the session
/// its new counts.
async fn arrival_or_departure(
    fx: &Effects,
    p: &Participant,
    what: &'static str,
    audience: Audience,
    viewers: Option<u32>,
) {
    let kind = if what == "joined" {
        kind::PARTICIPANT_JOINED
    } else {
        kind::PARTICIPANT_LEFT
    };
    events::publish(fx, audience.clone(), kind, &p.session_id, events::participant_data(p)).await;
    let note = json!({"event": what, "user_id": p.user_id});
    events::system_message(fx, &p.session_id, format!("{} {what}", p.username), audience, note).await;
    events::viewer_count(fx, &p.session_id, viewers).await;
}

/// `POST /live/end/{session_id}`: the host ends the session. Idempotent: a repeat returns the
/// same result and finishes anything an interrupted earlier call left undone.
pub async fn end(fx: &Effects, user: &User, session_id: SessionId) -> ApiResult<EndResponse> {
    let session = access::existing_session(fx, &session_id).await?;
    if session.host_id != user.id {
        return Err(ApiError::Forbidden("only the host can end this session".into()));
    }
    finish(fx, session, Room::Open).await
}

/// Whether the SFU room of a session that ends is still there to delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    Open,
    /// The SFU closed it (`room_finished`).
    Finished,
}

/// Ends a session (the host's `end`, or the SFU's `room_finished`), or finishes an interrupted
/// earlier end: marks it ended, sweeps the participants, deletes the SFU room, tells everyone once.
pub async fn finish(fx: &Effects, session: Session, room: Room) -> ApiResult<EndResponse> {
    let session_id = session.id;
    let now = fx.clock.now();
    let was_live = session.status != SessionStatus::Ended;
    let ended = match session.status {
        SessionStatus::Ended => session,
        SessionStatus::Live | SessionStatus::Backstage => {
            let duration = session.started_at.seconds_until(&now);
            fx.store.end_session(&session, &now, duration).await?
        }
    };
    let ended_at = ended.ended_at.unwrap_or(now);
    let swept = fx.store.sweep_participants(&session_id, &ended_at).await?;
    if was_live {
        let data =
            json!({"session_id": session_id, "ended_at": ended.ended_at, "duration_seconds": ended.duration_seconds});
        let text = "The live session has ended".to_string();
        events::system_message(fx, &session_id, text, Audience::Session, data.clone()).await;
        events::publish(fx, Audience::Session, kind::SESSION_ENDED, &session_id, data).await;
    }
    // Every socket is closed by the fan-out right after it posts `session.ended` to it: the
    // request never walks the audience.
    tracing::info!(%session_id, swept, "session ended");
    // The room holds everyone's media until deleted; a failure is the caller's to retry (a
    // repeated end runs all of this again, each step a no-op once done).
    if room == Room::Open {
        fx.sfu
            .delete_room(&ended.room_name)
            .await
            .map_err(after_kept("the session ended"))?;
    }
    Ok(EndResponse {
        message: "Live session ended successfully",
        session_id,
        duration_seconds: ended.duration_seconds.unwrap_or(0),
        ended_at,
    })
}

/// The scheduled sweep (`EndAbandoned`, every minute): ends each live session whose host the SFU
/// has reported gone (P27) for `HOST_GONE_END_SECONDS` at `now_ms`, and is still gone — as if
/// the host had ended it, so that no host is blocked (`409 already-live`) and no audience waits
/// on a session nobody will come back to. Hosts listed but back, or whose session is over, are
/// unlisted. A session whose room the SFU could not delete has ended all the same.
pub async fn end_abandoned(fx: &Effects, now_ms: i64) -> ApiResult<Abandoned> {
    let grace_ms = i64::try_from(fx.tunables.host_gone_grace.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_ms.saturating_sub(grace_ms);
    let gone = fx.store.hosts_gone_since(cutoff, ABANDONED_PER_RUN).await?;
    let mut ended = Vec::new();
    let mut checked = 0;
    // An end can take seconds (a large audience to sweep): none starts without time to finish;
    // the hosts not looked at stay listed for the next run.
    let stop = deadline::leaving(END_RESERVE);
    for g in &gone {
        if stop.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        checked += 1;
        let session = fx.store.session(&g.session_id).await?;
        let host = fx.store.participant(&g.session_id, &g.host).await?;
        let still_gone = host.is_some_and(|h| !h.connected && h.status.is_present());
        match session {
            Some(s) if s.status == SessionStatus::Live && s.host_id == g.host && still_gone => {
                tracing::info!(session_id = %s.id, since_ms = g.since_ms, "host gone from the SFU too long; ending");
                match finish(fx, s, Room::Open).await {
                    Ok(_) => {}
                    Err(e @ ApiError::UpstreamAfter { .. }) => {
                        tracing::warn!(session_id = %g.session_id, error = %e, "ended; the SFU room stays until it empties")
                    }
                    Err(e) => return Err(e),
                }
                ended.push(g.session_id);
            }
            _ => {}
        }
        fx.store.forget_host_gone(g).await?;
    }
    Ok(Abandoned { ended, checked })
}

impl SessionView {
    /// The view at `now_ms` (epoch ms): an expired pin no longer shows.
    pub(crate) fn at(mut self, now_ms: i64) -> Self {
        self.pinned_message = self.pinned_message.filter(|p| p.shows_at(now_ms));
        self
    }

    /// The view everyone may see: without the blocked words, which only the host and cohosts
    /// read (a list of what is filtered tells how to get around it).
    pub(crate) fn public(mut self) -> Self {
        self.settings.blocked_words.clear();
        if let Some(r) = self.recording.as_mut() {
            r.location = None;
            r.egress_id = None;
        }
        self
    }
}

/// `GET /live/session/{session_id}`: the detail of a live or ended session, for anyone; with the
/// blocked words for its host and present cohosts.
pub async fn detail(fx: &Effects, caller: Option<User>, session_id: SessionId) -> ApiResult<SessionView> {
    let detail = fx
        .store
        .session_detail(&session_id, caller.as_ref().map(|u| &u.id))
        .await?
        .ok_or_else(|| ApiError::session_not_found(&session_id))?;
    let moderates = caller.is_some_and(|user| user.id == detail.session.host_id)
        || detail
            .caller
            .is_some_and(|p| p.role == Role::Cohost && p.status.is_present());
    let mut view = SessionView::from(detail.session).at(fx.clock.millis());
    if !moderates {
        view = view.public();
    }
    view.reactions = Some(events::totals_json(&detail.reactions));
    // Nobody has given anything yet: no ranking to read.
    view.top_gifters = Some(if view.gift_revenue + view.tip_revenue > 0 {
        fx.store.top_gifters(&session_id, TOP_GIFTERS).await?
    } else {
        Vec::new()
    });
    Ok(view)
}

/// `GET /live/active`: live sessions, newest first, paged by an opaque cursor.
pub async fn active(fx: &Effects, page: PageRequest) -> ApiResult<Listing<SessionView>> {
    Ok(fx
        .store
        .live_sessions(&page)
        .await?
        .map(|s| SessionView::from(s).public().at(fx.clock.millis())))
}

/// `GET /live/participants/{session_id}`: present participants, for any signed-in user
/// except those barred from the session.
pub async fn participants(
    fx: &Effects,
    user: &User,
    session_id: SessionId,
    page: PageRequest,
) -> ApiResult<Listing<Participant>> {
    access::admit(fx, &session_id, &user.id, Need::READER).await?;
    Ok(fx.store.present_participants(&session_id, &page).await?)
}

/// `PUT /live/access/{session_id}`: the host replaces who a subscribers-only session admits (the
/// embedding app keeps subscriptions in its own billing and mirrors them here).
pub async fn set_access_list(
    fx: &Effects,
    user: &User,
    session_id: SessionId,
    req: AccessList,
) -> ApiResult<AccessListSet> {
    if req.user_ids.len() > ACCESS_LIST_MAX {
        return Err(ApiError::validation(
            "user_ids",
            format!("at most {ACCESS_LIST_MAX} user ids"),
        ));
    }
    let session = access::existing_session(fx, &session_id).await?;
    if session.host_id != user.id {
        return Err(ApiError::Forbidden("only the host sets who may join".into()));
    }
    if session.settings.access != Access::Subscribers {
        return Err(ApiError::conflict(
            "not-subscribers-only",
            "this live session is not for subscribers only (access: subscribers at start)",
        ));
    }
    let users: std::collections::BTreeSet<UserId> = req.user_ids.into_iter().collect();
    fx.store.replace_admitted(&session_id, &users).await?;
    Ok(AccessListSet {
        session_id,
        admitted: users.len(),
    })
}
