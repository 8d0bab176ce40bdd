//! The stage: guest requests, invitations and host controls, written to our table and enforced at
//! the SFU.
//!
//! Every control is decided here, written in one conditional transaction (`store`), then applied
//! to the participant's live SFU connection. When the SFU cannot be reached after retries, a
//! reversible change (approval, promotion, demotion, mute, screen-share permission) is rolled back
//! in our table and the caller gets 502: table and SFU never silently disagree. A kick or ban is
//! never rolled back — barring is enforced by us (no new token, no rejoin, no socket) — the caller
//! gets 502 and may repeat the kick, which retries the removal at the SFU.
//!
//! Who may do what (`POST /live/manage-participant`):
//!
//! | action | host may act on | cohost may act on | effect |
//! |---|---|---|---|
//! | `mute_audio` / `unmute_audio` | cohost, guest, viewer | guest, viewer | audio permission; muting also mutes the published track |
//! | `mute_video` / `unmute_video` | cohost, guest, viewer | guest, viewer | camera permission; muting also mutes the published track |
//! | `allow_screen_share` / `disallow_screen_share` | cohost, guest, viewer | guest, viewer | screen-share permission |
//! | `promote_cohost` | guest, viewer (if a slot is free) | – | role → cohost |
//! | `demote` | cohost (→ guest), guest (→ viewer, frees the slot) | guest (→ viewer) | role down one step |
//! | `kick` | cohost, guest, viewer | guest, viewer | leaves, barred from the session, disconnected |
//! | `ban` | cohost, guest, viewer | guest, viewer | kick, and listed in the session's ban list |
//!
//! Nobody acts on the host, nor on themselves; guests and viewers act on nobody.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::App;
use crate::auth::User;
use crate::domain::{
    AuditEntry, GuestRequest, Participant, ParticipantStatus, RequestOrigin, RequestStatus, RequestType, Role, Session,
    SessionStatus,
};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, kind};
use crate::push::Audience;
use crate::sessions::check_session_id;
use crate::store::ParticipantChange;
use livekit_protocol::TrackSource;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RequestGuest {
    pub session_id: String,
    #[serde(default)]
    pub request_type: Option<RequestType>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RequestRef {
    pub request_id: String,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Approved,
    Rejected,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RespondGuestRequest {
    pub request_id: String,
    pub action: Answer,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InviteGuest {
    pub session_id: String,
    pub user_id: String,
    #[serde(default)]
    pub request_type: Option<RequestType>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InviteAnswer {
    Accepted,
    Declined,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RespondInvite {
    pub request_id: String,
    pub action: InviteAnswer,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    MuteAudio,
    UnmuteAudio,
    MuteVideo,
    UnmuteVideo,
    AllowScreenShare,
    DisallowScreenShare,
    Kick,
    Ban,
    PromoteCohost,
    Demote,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::MuteAudio => "mute_audio",
            Action::UnmuteAudio => "unmute_audio",
            Action::MuteVideo => "mute_video",
            Action::UnmuteVideo => "unmute_video",
            Action::AllowScreenShare => "allow_screen_share",
            Action::DisallowScreenShare => "disallow_screen_share",
            Action::Kick => "kick",
            Action::Ban => "ban",
            Action::PromoteCohost => "promote_cohost",
            Action::Demote => "demote",
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ManageParticipant {
    pub session_id: String,
    pub user_id: String,
    pub action: Action,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestPage {
    pub requests: Vec<GuestRequest>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// The answer to a host control: the participant as it is now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Managed {
    pub session_id: String,
    pub action: Action,
    pub participant: Participant,
}

const MESSAGE_MAX_CHARS: usize = 200;

async fn session(app: &App, session_id: &str) -> ApiResult<Session> {
    app.store
        .session(session_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no session {session_id}")))
}

/// The caller's present participation, required to be host or cohost.
async fn moderator(app: &App, session_id: &str, user: &User) -> ApiResult<Participant> {
    match app.store.participant(session_id, &user.id).await? {
        Some(p) if p.status.is_present() && matches!(p.role, Role::Host | Role::Cohost) => Ok(p),
        _ => Err(ApiError::Forbidden("only the host and cohosts can do this".into())),
    }
}

fn clean_message(raw: Option<String>) -> ApiResult<Option<String>> {
    let Some(m) = raw.map(|m| m.trim().to_string()).filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    crate::domain::check_text("message", &m, MESSAGE_MAX_CHARS, false)?;
    Ok(Some(m))
}

async fn request_by_id(app: &App, request_id: &str) -> ApiResult<GuestRequest> {
    uuid::Uuid::parse_str(request_id).map_err(|_| ApiError::validation("request_id", "must be a UUID"))?;
    app.store
        .guest_request(request_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no guest request {request_id}")))
}

async fn audit(
    app: &App,
    session_id: &str,
    actor: &str,
    action: &str,
    target: Option<&str>,
    details: serde_json::Value,
) {
    let entry = AuditEntry {
        id: uuid::Uuid::now_v7().to_string(),
        session_id: session_id.to_string(),
        actor_id: actor.to_string(),
        action: action.to_string(),
        target_id: target.map(str::to_string),
        at: crate::clock::now(),
        details: Some(details),
    };
    if let Err(e) = app.store.put_audit(&entry).await {
        tracing::error!(error = %e, session_id, action, "audit entry not stored");
    }
}

/// Tells hosts, cohosts and the user concerned about a request.
async fn publish_request(app: &App, kind: &'static str, r: &GuestRequest) {
    let data = serde_json::to_value(r).unwrap_or_default();
    events::publish(app, Audience::Stage, kind, &r.session_id, data.clone()).await;
    events::publish(app, Audience::User(r.user_id.clone()), kind, &r.session_id, data).await;
}

/// `POST /live/request-guest`: a present viewer asks to go on stage. Approved at once when the
/// session does not require approval and a slot is free.
pub async fn request_guest(app: &App, user: &User, req: RequestGuest) -> ApiResult<GuestRequest> {
    let session_id = check_session_id("session_id", &req.session_id)?;
    let message = clean_message(req.message)?;
    let s = session(app, &session_id).await?;
    let mut r = GuestRequest {
        id: uuid::Uuid::now_v7().to_string(),
        session_id: session_id.clone(),
        user_id: user.id.clone(),
        username: user.username.clone(),
        avatar_url: user.avatar_url.clone(),
        request_type: req.request_type.unwrap_or(RequestType::Guest),
        origin: RequestOrigin::Request,
        status: RequestStatus::Pending,
        message,
        invited_by: None,
        created_at: crate::clock::now(),
        responded_at: None,
        responded_by: None,
    };
    app.store.create_guest_request(&r, true).await?;
    publish_request(app, kind::GUEST_REQUEST_CREATED, &r).await;
    if !s.settings.require_approval {
        match approve(app, &s, &r, &s.host_id, None).await {
            Ok(approved) => r = approved,
            Err(ApiError::Conflict { code: "stage-full", .. }) => {} // stays pending until a slot frees
            Err(e) => return Err(e),
        }
    }
    Ok(r)
}

/// `POST /live/cancel-guest-request`: the requester withdraws a pending request.
pub async fn cancel_guest_request(app: &App, user: &User, req: RequestRef) -> ApiResult<GuestRequest> {
    let r = request_by_id(app, &req.request_id).await?;
    if r.user_id != user.id || r.origin != RequestOrigin::Request {
        return Err(ApiError::Forbidden("only the requester can cancel a request".into()));
    }
    close(app, r, RequestStatus::Cancelled, &user.id).await
}

async fn close(app: &App, mut r: GuestRequest, status: RequestStatus, by: &str) -> ApiResult<GuestRequest> {
    let at = crate::clock::now();
    app.store.close_guest_request(&r, status, by, &at).await?;
    (r.status, r.responded_at, r.responded_by) = (status, Some(at), Some(by.to_string()));
    publish_request(app, kind::GUEST_REQUEST_UPDATED, &r).await;
    Ok(r)
}

/// The approval of a request or acceptance of an invitation: one transaction in our table, then
/// the new permissions at the SFU (rolled back if the SFU cannot take them).
async fn approve(
    app: &App,
    s: &Session,
    r: &GuestRequest,
    by: &str,
    actor: Option<(String, Role)>,
) -> ApiResult<GuestRequest> {
    let at = crate::clock::now();
    let role = r.request_type.role();
    let mut change = ParticipantChange::new(&r.session_id, &r.user_id, Role::Viewer, &at);
    change.actor = actor;
    change.role = Some(role);
    change.audio_enabled = Some(s.settings.guest_audio_default);
    change.video_enabled = Some(s.settings.guest_video_default);
    change.screen_share_allowed = Some(false);
    change.guest_delta = 1;
    change.cohost = (role == Role::Cohost).then_some(true);
    app.store.approve_guest_request(r, &change, by).await?;
    let p = app
        .store
        .participant(&r.session_id, &r.user_id)
        .await?
        .ok_or_else(|| ApiError::internal("approved participant vanished"))?;
    if let Err(e) = app.sfu.update_permissions(&s.room_name, &p, s.session_type).await {
        let mut undo = ParticipantChange::new(&r.session_id, &r.user_id, role, &crate::clock::now());
        undo.role = Some(Role::Viewer);
        undo.audio_enabled = Some(false);
        undo.video_enabled = Some(false);
        undo.guest_delta = -1;
        undo.cohost = (role == Role::Cohost).then_some(false);
        app.store.revert_approval(r, &undo).await?;
        return Err(e);
    }
    let mut done = r.clone();
    (done.status, done.responded_at, done.responded_by) = (RequestStatus::Approved, Some(at), Some(by.to_string()));
    publish_request(app, kind::GUEST_REQUEST_UPDATED, &done).await;
    on_stage_changed(
        app,
        &p,
        &format!("{} joined the stage as {}", p.username, role.as_str()),
    )
    .await;
    events::viewer_count(app, &r.session_id).await;
    Ok(done)
}

/// Tells the session about a stage change: `participant.updated` and a system message.
async fn on_stage_changed(app: &App, p: &Participant, text: &str) {
    events::publish(
        app,
        Audience::Session,
        kind::PARTICIPANT_UPDATED,
        &p.session_id,
        events::participant_data(p),
    )
    .await;
    let note = json!({"event": "stage", "user_id": p.user_id, "role": p.role, "status": p.status});
    events::system_message(app, &p.session_id, text.to_string(), Audience::Session, note).await;
}

/// `POST /live/respond-guest-request`: a host or cohost approves or rejects a pending request.
pub async fn respond_guest_request(app: &App, user: &User, req: RespondGuestRequest) -> ApiResult<GuestRequest> {
    let r = request_by_id(app, &req.request_id).await?;
    let me = moderator(app, &r.session_id, user).await?;
    if r.origin != RequestOrigin::Request {
        return Err(ApiError::conflict(
            "is-invitation",
            "invitations are answered by the invited user",
        ));
    }
    if r.status != RequestStatus::Pending {
        return Err(ApiError::conflict(
            "already-answered",
            "this request is no longer pending",
        ));
    }
    let done = match req.action {
        Answer::Approved => {
            let s = session(app, &r.session_id).await?;
            if r.request_type == RequestType::Cohost && me.role != Role::Host {
                return Err(ApiError::Forbidden("only the host can make cohosts".into()));
            }
            approve(app, &s, &r, &user.id, Some((user.id.clone(), me.role))).await?
        }
        Answer::Rejected => close(app, r, RequestStatus::Rejected, &user.id).await?,
    };
    audit(
        app,
        &done.session_id,
        &user.id,
        &format!("guest_request.{}", done.status.as_str()),
        Some(&done.user_id),
        json!({"request_id": done.id}),
    )
    .await;
    Ok(done)
}

/// `GET /live/guest-requests/{session_id}?status=&limit=&before=`: hosts and cohosts only.
pub async fn list_guest_requests(
    app: &App,
    user: &User,
    session_id: &str,
    status: Option<&str>,
    limit: i32,
    before: Option<&str>,
) -> ApiResult<RequestPage> {
    let session_id = check_session_id("session_id", session_id)?;
    session(app, &session_id).await?;
    moderator(app, &session_id, user).await?;
    let status = status
        .map(|s| serde_json::from_value::<RequestStatus>(json!(s)))
        .transpose()
        .map_err(|_| ApiError::validation("status", "must be pending, approved, rejected or cancelled"))?;
    let (requests, next_cursor) = app
        .store
        .guest_requests_page(&session_id, status, limit, before)
        .await?;
    Ok(RequestPage { requests, next_cursor })
}

/// `POST /live/invite-guest`: a host or cohost invites a present viewer on stage.
pub async fn invite_guest(app: &App, user: &User, req: InviteGuest) -> ApiResult<GuestRequest> {
    let session_id = check_session_id("session_id", &req.session_id)?;
    let message = clean_message(req.message)?;
    session(app, &session_id).await?;
    let me = moderator(app, &session_id, user).await?;
    let request_type = req.request_type.unwrap_or(RequestType::Guest);
    if request_type == RequestType::Cohost && me.role != Role::Host {
        return Err(ApiError::Forbidden("only the host can invite cohosts".into()));
    }
    let target = app
        .store
        .participant(&session_id, &req.user_id)
        .await?
        .filter(|p| p.status.is_present())
        .ok_or_else(|| ApiError::NotFound("that user is not present in this session".into()))?;
    let r = GuestRequest {
        id: uuid::Uuid::now_v7().to_string(),
        session_id: session_id.clone(),
        user_id: target.user_id.clone(),
        username: target.username.clone(),
        avatar_url: target.avatar_url.clone(),
        request_type,
        origin: RequestOrigin::Invitation,
        status: RequestStatus::Pending,
        message,
        invited_by: Some(user.id.clone()),
        created_at: crate::clock::now(),
        responded_at: None,
        responded_by: None,
    };
    app.store.create_guest_request(&r, false).await?;
    publish_request(app, kind::GUEST_REQUEST_CREATED, &r).await;
    audit(
        app,
        &session_id,
        &user.id,
        "invite",
        Some(&r.user_id),
        json!({"request_id": r.id}),
    )
    .await;
    Ok(r)
}

/// `POST /live/respond-invite`: the invited viewer accepts (same transaction as an approval) or
/// declines.
pub async fn respond_invite(app: &App, user: &User, req: RespondInvite) -> ApiResult<GuestRequest> {
    let r = request_by_id(app, &req.request_id).await?;
    if r.user_id != user.id || r.origin != RequestOrigin::Invitation {
        return Err(ApiError::Forbidden(
            "only the invited user can answer an invitation".into(),
        ));
    }
    if r.status != RequestStatus::Pending {
        return Err(ApiError::conflict(
            "already-answered",
            "this invitation is no longer pending",
        ));
    }
    match req.action {
        InviteAnswer::Accepted => {
            let s = session(app, &r.session_id).await?;
            approve(app, &s, &r, &user.id, None).await
        }
        InviteAnswer::Declined => close(app, r, RequestStatus::Rejected, &user.id).await,
    }
}

/// Whether `actor` may apply `action` to `target` (the table in the module docs).
pub fn allowed(actor: Role, target: Role, action: Action) -> bool {
    match (actor, target) {
        (_, Role::Host) => false,
        (Role::Host, _) => match action {
            Action::PromoteCohost => target != Role::Cohost,
            Action::Demote => target != Role::Viewer,
            _ => true,
        },
        (Role::Cohost, Role::Guest | Role::Viewer) => {
            action != Action::PromoteCohost && !(action == Action::Demote && target == Role::Viewer)
        }
        _ => false,
    }
}

/// `POST /live/manage-participant`: a host control (see the module docs for who may do what).
pub async fn manage(app: &App, user: &User, req: ManageParticipant) -> ApiResult<Managed> {
    let session_id = check_session_id("session_id", &req.session_id)?;
    let s = session(app, &session_id).await?;
    if s.status != SessionStatus::Live {
        return Err(ApiError::conflict("session-ended", "this live session has ended"));
    }
    let me = moderator(app, &session_id, user).await?;
    if req.user_id == user.id {
        return Err(ApiError::Forbidden("you cannot apply host controls to yourself".into()));
    }
    let target = app
        .store
        .participant(&session_id, &req.user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("that user is not a participant of this session".into()))?;
    let action = req.action;
    let barring = matches!(action, Action::Kick | Action::Ban);
    if target.status.is_barred() && barring {
        // Repeating a kick finishes what an SFU failure left undone.
        app.sfu.remove(&s.room_name, &target.user_id).await?;
        return Ok(Managed {
            session_id,
            action,
            participant: target,
        });
    }
    if !target.status.is_present() {
        return Err(ApiError::conflict(
            "not-present",
            "that user is not present in this session",
        ));
    }
    if !allowed(me.role, target.role, action) {
        return Err(ApiError::Forbidden(format!(
            "a {} cannot {} a {}",
            me.role.as_str(),
            action.as_str(),
            target.role.as_str()
        )));
    }
    let at = crate::clock::now();
    let mut change = ParticipantChange::new(&session_id, &target.user_id, target.role, &at);
    change.actor = Some((user.id.clone(), me.role));
    let stage = target.role.is_guest_slot();
    match action {
        Action::MuteAudio | Action::UnmuteAudio => change.audio_enabled = Some(action == Action::UnmuteAudio),
        Action::MuteVideo | Action::UnmuteVideo => change.video_enabled = Some(action == Action::UnmuteVideo),
        Action::AllowScreenShare | Action::DisallowScreenShare => {
            change.screen_share_allowed = Some(action == Action::AllowScreenShare)
        }
        Action::Kick | Action::Ban => {
            change.status = Some(if action == Action::Ban {
                ParticipantStatus::Banned
            } else {
                ParticipantStatus::Kicked
            });
            change.viewer_delta = -1;
            change.guest_delta = if stage { -1 } else { 0 };
            change.cohost = (target.role == Role::Cohost).then_some(false);
            change.ban = action == Action::Ban;
        }
        Action::PromoteCohost => {
            change.role = Some(Role::Cohost);
            change.cohost = Some(true);
            if target.role == Role::Viewer {
                change.guest_delta = 1;
                change.audio_enabled = Some(s.settings.guest_audio_default);
                change.video_enabled = Some(s.settings.guest_video_default);
            }
        }
        Action::Demote => {
            if target.role == Role::Cohost {
                change.role = Some(Role::Guest);
                change.cohost = Some(false);
            } else {
                change.role = Some(Role::Viewer);
                change.guest_delta = -1;
                change.audio_enabled = Some(false);
                change.video_enabled = Some(false);
                change.screen_share_allowed = Some(false);
            }
        }
    }
    app.store.change_participant(&change).await?;
    let after = app
        .store
        .participant(&session_id, &target.user_id)
        .await?
        .ok_or_else(|| ApiError::internal("participant vanished"))?;
    let sfu = if barring {
        app.push.disconnect_user(&app.store, &session_id, &target.user_id).await;
        app.sfu.remove(&s.room_name, &target.user_id).await
    } else {
        apply_at_sfu(app, &s, &after, action).await
    };
    if let Err(e) = sfu {
        if !barring {
            app.store.change_participant(&undo(&change, &target, &after)).await?;
        }
        return Err(e);
    }
    audit(
        app,
        &session_id,
        &user.id,
        action.as_str(),
        Some(&target.user_id),
        json!({"role_before": target.role, "role_after": after.role}),
    )
    .await;
    publish_managed(app, &after, action).await;
    if change.guest_delta != 0 || change.viewer_delta != 0 {
        events::viewer_count(app, &session_id).await;
    }
    Ok(Managed {
        session_id,
        action,
        participant: after,
    })
}

/// The SFU side of a non-barring control. A mute first mutes the published track (everyone sees
/// it muted), then the permission update takes the source away: LiveKit unpublishes a track whose
/// source is no longer allowed and refuses to publish it again, so the client cannot unmute itself.
async fn apply_at_sfu(app: &App, s: &Session, p: &Participant, action: Action) -> ApiResult<()> {
    let muted = match action {
        Action::MuteAudio => Some(TrackSource::Microphone),
        Action::MuteVideo => Some(TrackSource::Camera),
        _ => None,
    };
    if let Some(source) = muted {
        app.sfu.mute_source(&s.room_name, &p.user_id, source, true).await?;
    }
    app.sfu.update_permissions(&s.room_name, p, s.session_type).await
}

/// The change that restores `before` after `change` was applied (for an SFU failure).
fn undo(change: &ParticipantChange, before: &Participant, after: &Participant) -> ParticipantChange {
    let mut u = ParticipantChange::new(&change.session_id, &change.target, after.role, &crate::clock::now());
    u.role = change.role.map(|_| before.role);
    u.audio_enabled = change.audio_enabled.map(|_| before.audio_enabled);
    u.video_enabled = change.video_enabled.map(|_| before.video_enabled);
    u.screen_share_allowed = change.screen_share_allowed.map(|_| before.screen_share_allowed);
    u.guest_delta = -change.guest_delta;
    u.cohost = change.cohost.map(|added| !added);
    u
}

async fn publish_managed(app: &App, p: &Participant, action: Action) {
    match action {
        Action::Kick | Action::Ban => {
            events::publish(
                app,
                Audience::Session,
                kind::PARTICIPANT_LEFT,
                &p.session_id,
                events::participant_data(p),
            )
            .await;
            let text = format!("{} was removed", p.username);
            let note = json!({"event": action.as_str(), "user_id": p.user_id});
            events::system_message(app, &p.session_id, text, Audience::Session, note).await;
        }
        Action::PromoteCohost | Action::Demote => {
            on_stage_changed(app, p, &format!("{} is now {}", p.username, p.role.as_str())).await
        }
        _ => {
            let mut data = events::participant_data(p);
            if matches!(action, Action::UnmuteAudio | Action::UnmuteVideo) {
                // LiveKit's remote unmute is off by default: ask the participant to unmute themselves.
                data["unmute_requested"] = json!(if action == Action::UnmuteAudio {
                    "audio"
                } else {
                    "video"
                });
            }
            events::publish(app, Audience::Session, kind::PARTICIPANT_UPDATED, &p.session_id, data).await;
        }
    }
}

/// `GET /live/audit/{session_id}`: the host's audit trail of host actions, newest first.
pub async fn audit_trail(
    app: &App,
    user: &User,
    session_id: &str,
    limit: i32,
    before: Option<&str>,
) -> ApiResult<AuditPage> {
    let session_id = check_session_id("session_id", session_id)?;
    let s = session(app, &session_id).await?;
    if s.host_id != user.id {
        return Err(ApiError::Forbidden("only the host can read the audit trail".into()));
    }
    let (entries, next_cursor) = app.store.audit_page(&session_id, limit, before).await?;
    Ok(AuditPage { entries, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_table() {
        use Action::*;
        use Role::*;
        for a in [MuteAudio, Kick, Ban, Demote, AllowScreenShare] {
            assert!(!allowed(Host, Host, a) && !allowed(Cohost, Host, a));
            assert!(allowed(Host, Cohost, a) && allowed(Host, Guest, a));
            assert!(!allowed(Cohost, Cohost, a));
            assert!(!allowed(Guest, Viewer, a) && !allowed(Viewer, Guest, a));
        }
        assert!(allowed(Cohost, Guest, Kick) && allowed(Cohost, Viewer, Ban) && allowed(Cohost, Guest, Demote));
        assert!(!allowed(Cohost, Viewer, Demote), "a viewer cannot go lower");
        assert!(!allowed(Host, Viewer, Demote));
        assert!(allowed(Host, Guest, PromoteCohost) && allowed(Host, Viewer, PromoteCohost));
        assert!(!allowed(Host, Cohost, PromoteCohost) && !allowed(Cohost, Guest, PromoteCohost));
    }
}
