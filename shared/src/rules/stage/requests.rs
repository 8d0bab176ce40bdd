//! Guest requests and invitations: a present viewer asks to go on stage (or is invited), the
//! request is answered once, and an approval puts the viewer on stage in one transaction (P20),
//! then at the SFU.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::access::{self, Need};
use super::super::analytics;
use super::super::events::{self, kind};
use super::super::rates;
use super::{on_stage_changed, publish_request};
use crate::domain::change::ParticipantChange;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::ids::{RequestId, SessionId, UserId};
use crate::domain::page::PageRequest;
use crate::domain::rate::Limited;
use crate::domain::text::{check_blocked, check_text};
use crate::domain::time::Timestamp;
use crate::domain::{
    limits, GuestRequest, Participant, RequestOrigin, RequestStatus, RequestType, Role, Session, User,
};
use crate::effects::store::analytics::Happening;
use crate::effects::store::requests::Opening;
use crate::effects::store::{Refusal, StoreError};
use crate::effects::Effects;

/// Longest message that goes with a request or an invitation.

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestGuest {
    pub session_id: SessionId,
    #[serde(default)]
    pub request_type: Option<RequestType>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestRef {
    pub request_id: RequestId,
    /// The request's session (in every request and `guest_request.*` event): the request is then
    /// read directly and consistently. Without it, it is found through an index that lags its
    /// writes by a moment, so a request answered right after it was pushed may be `404`.
    #[serde(default)]
    pub session_id: Option<SessionId>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Approved,
    Rejected,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RespondGuestRequest {
    pub request_id: RequestId,
    pub action: Answer,
    /// The request's session (in every request and `guest_request.*` event): the request is then
    /// read directly and consistently. Without it, it is found through an index that lags its
    /// writes by a moment, so a request answered right after it was pushed may be `404`.
    #[serde(default)]
    pub session_id: Option<SessionId>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteGuest {
    pub session_id: SessionId,
    pub user_id: UserId,
    #[serde(default)]
    pub request_type: Option<RequestType>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum InviteAnswer {
    Accepted,
    Declined,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RespondInvite {
    pub request_id: RequestId,
    pub action: InviteAnswer,
    /// The request's session (in every request and `guest_request.*` event): the request is then
    /// read directly and consistently. Without it, it is found through an index that lags its
    /// writes by a moment, so a request answered right after it was pushed may be `404`.
    #[serde(default)]
    pub session_id: Option<SessionId>,
}

/// `GET /live/guest-requests/{session_id}` filter: only requests in this status.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestFilter {
    /// Only requests in this status.
    #[serde(default)]
    pub status: Option<RequestStatus>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestPage {
    pub requests: Vec<GuestRequest>,
    pub next_cursor: Option<String>,
}

/// A request's or invitation's message: trimmed, checked, free of the session's blocked words.
fn clean_message(raw: Option<String>, s: &Session) -> ApiResult<Option<String>> {
    let Some(m) = raw.map(|m| m.trim().to_string()).filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    check_text("message", &m, limits::REQUEST_MESSAGE_MAX_CHARS, false)?;
    check_blocked("message", &m, &s.settings.blocked_words)?;
    Ok(Some(m))
}

/// The request `request_id`: read directly when its session is known, else found by id (P9).
async fn request_by_id(
    fx: &Effects,
    request_id: &RequestId,
    session_id: Option<&SessionId>,
) -> ApiResult<GuestRequest> {
    let found = match session_id {
        Some(s) => fx.store.guest_request_in(s, request_id).await?,
        None => fx.store.guest_request(request_id).await?,
    };
    found.ok_or_else(|| ApiError::request_not_found(request_id))
}

/// A pending request (or invitation) of `user` in `session_id`, created now.
fn pending(session_id: SessionId, user: &User, request_type: RequestType, message: Option<String>) -> GuestRequest {
    GuestRequest {
        id: RequestId::new(),
        session_id,
        user_id: user.id.clone(),
        username: user.username.clone(),
        avatar_url: user.avatar_url.clone(),
        request_type,
        origin: RequestOrigin::Request,
        status: RequestStatus::Pending,
        message,
        invited_by: None,
        expires_at: None,
        created_at: Timestamp::now(),
        responded_at: None,
        responded_by: None,
    }
}

/// `POST /live/request-guest`: a present viewer asks to go on stage. A guest request is approved
/// at once, in the host's name and on the audit trail, when the session does not require approval
/// and a slot is free; a cohost request always waits for the host, who alone makes cohosts.
pub async fn request_guest(fx: &Effects, user: &User, req: RequestGuest) -> ApiResult<GuestRequest> {
    let s = access::existing_session(fx, &req.session_id).await?;
    let message = clean_message(req.message, &s)?;
    rates::count(fx, &user.id, &s.id, Limited::StageRequests).await?;
    let mut r = pending(s.id, user, req.request_type.unwrap_or(RequestType::Guest), message);
    fx.store
        .create_guest_request(&r, Opening::Request)
        .await
        .map_err(|e| match e {
            StoreError::Refused(Refusal::SessionMissing) => ApiError::session_not_found(&s.id),
            other => other.into(),
        })?;
    publish_request(fx, kind::GUEST_REQUEST_CREATED, &r).await;
    analytics::count(fx, &s, &user.id, Happening::Asked, fx.clock.millis()).await;
    if !s.settings.require_approval && r.request_type == RequestType::Guest {
        match approve(fx, &s, &r, &s.host_id, None).await {
            Ok(approved) => r = approved,
            Err(Approval::Refused(Refusal::StageFull)) => return Ok(r), // pending until a slot frees
            Err(other) => return Err(other.into()),
        }
        let details = json!({"request_id": r.id, "automatic": true});
        events::audit(
            fx,
            &s.id,
            &s.host_id,
            "guest_request.approved",
            Some(&r.user_id),
            details,
        )
        .await;
    }
    Ok(r)
}

/// `POST /live/cancel-guest-request`: the requester withdraws a pending request.
pub async fn cancel_guest_request(fx: &Effects, user: &User, req: RequestRef) -> ApiResult<GuestRequest> {
    let r = request_by_id(fx, &req.request_id, req.session_id.as_ref()).await?;
    if r.user_id != user.id || r.origin != RequestOrigin::Request {
        return Err(ApiError::Forbidden("only the requester can cancel a request".into()));
    }
    rates::count(fx, &user.id, &r.session_id, Limited::StageRequests).await?;
    close(fx, r, RequestStatus::Cancelled, &user.id).await
}

/// Answers a pending request without approving it (rejected, cancelled).
async fn close(fx: &Effects, mut r: GuestRequest, status: RequestStatus, by: &UserId) -> ApiResult<GuestRequest> {
    let at = Timestamp::now();
    fx.store.close_guest_request(&r, status, by, &at).await?;
    (r.status, r.responded_at, r.responded_by) = (status, Some(at), Some(by.clone()));
    publish_request(fx, kind::GUEST_REQUEST_UPDATED, &r).await;
    Ok(r)
}

/// Why an approval did not happen: what the table refused (the caller may name some, e.g. a full
/// stage), or another failure.
enum Approval {
    Refused(Refusal),
    Failed(ApiError),
}

impl From<Approval> for ApiError {
    fn from(a: Approval) -> Self {
        match a {
            Approval::Refused(r) => r.into(),
            Approval::Failed(e) => e,
        }
    }
}

impl From<ApiError> for Approval {
    fn from(e: ApiError) -> Self {
        Approval::Failed(e)
    }
}

impl From<StoreError> for Approval {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(r) => Approval::Refused(r),
            other => Approval::Failed(other.into()),
        }
    }
}

/// What an approval changes: the viewer goes on stage with the session's guest defaults, taking
/// a slot.
pub fn on_stage(r: &GuestRequest, s: &Session, actor: Option<(UserId, Role)>, at: Timestamp) -> ParticipantChange {
    let role = r.request_type.role();
    ParticipantChange {
        actor,
        role: Some(role),
        audio_enabled: Some(s.settings.guest_audio_default),
        video_enabled: Some(s.settings.guest_video_default),
        screen_share_allowed: Some(false),
        guest_delta: 1,
        cohost: (role == Role::Cohost).then_some(true),
        ..ParticipantChange::new(r.session_id, r.user_id.clone(), Role::Viewer, at)
    }
}

/// The approval of a request or acceptance of an invitation: one transaction in our table, then
/// the new permissions at the SFU (rolled back if the SFU cannot take them).
async fn approve(
    fx: &Effects,
    s: &Session,
    r: &GuestRequest,
    by: &UserId,
    actor: Option<(UserId, Role)>,
) -> Result<GuestRequest, Approval> {
    let change = on_stage(r, s, actor, fx.clock.now());
    fx.store.approve_guest_request(r, &change, by).await?;
    let p = fx
        .store
        .participant(&r.session_id, &r.user_id)
        .await?
        .ok_or_else(|| ApiError::internal("approved participant vanished"))?;
    if let Err(e) = fx.sfu.update_permissions(&s.room_name, &p, s.session_type).await {
        let viewer = Participant {
            role: Role::Viewer,
            audio_enabled: false,
            video_enabled: false,
            screen_share_allowed: false,
            ..p.clone()
        };
        fx.store
            .revert_approval(r, &change.undo(&viewer, &p, Timestamp::now()))
            .await?;
        return Err(ApiError::from(e).into());
    }
    let mut done = r.clone();
    (done.status, done.responded_at, done.responded_by) = (RequestStatus::Approved, Some(change.at), Some(by.clone()));
    publish_request(fx, kind::GUEST_REQUEST_UPDATED, &done).await;
    analytics::count(fx, s, &p.user_id, Happening::OnStage, change.at.unix_millis()).await;
    let text = format!("{} joined the stage as {}", p.username, p.role.as_str());
    on_stage_changed(fx, &p, text).await;
    events::viewer_count(fx, &r.session_id, Some(s.viewer_count)).await;
    Ok(done)
}

/// `POST /live/respond-guest-request`: a host or cohost approves or rejects a pending request.
pub async fn respond_guest_request(fx: &Effects, user: &User, req: RespondGuestRequest) -> ApiResult<GuestRequest> {
    let r = request_by_id(fx, &req.request_id, req.session_id.as_ref()).await?;
    let (s, me) = access::admit_present(fx, &r.session_id, &user.id, Need::MODERATOR).await?;
    if r.origin != RequestOrigin::Request {
        return Err(ApiError::conflict(
            "is-invitation",
            "invitations are answered by the invited user",
        ));
    }
    if r.status != RequestStatus::Pending {
        return Err(ApiError::already_answered("request"));
    }
    let done = match req.action {
        Answer::Approved => {
            if r.request_type == RequestType::Cohost && me.role != Role::Host {
                return Err(ApiError::Forbidden("only the host can make cohosts".into()));
            }
            approve(fx, &s, &r, &user.id, Some((user.id.clone(), me.role))).await?
        }
        Answer::Rejected => close(fx, r, RequestStatus::Rejected, &user.id).await?,
    };
    let action = format!("guest_request.{}", done.status.as_str());
    events::audit(
        fx,
        &done.session_id,
        &user.id,
        &action,
        Some(&done.user_id),
        json!({"request_id": done.id}),
    )
    .await;
    Ok(done)
}

/// `GET /live/guest-requests/{session_id}?status=&limit=&before=`: hosts and cohosts only.
pub async fn list_guest_requests(
    fx: &Effects,
    user: &User,
    session_id: SessionId,
    filter: RequestFilter,
    page: PageRequest,
) -> ApiResult<RequestPage> {
    access::admit(fx, &session_id, &user.id, Need::MODERATOR).await?;
    let listing = fx.store.guest_requests_page(&session_id, filter.status, &page).await?;
    Ok(RequestPage {
        requests: listing.items,
        next_cursor: listing.next_cursor,
    })
}

/// `POST /live/invite-guest`: a host or cohost invites a present viewer on stage; backstage, any
/// user not barred (the invitation admits them: they join, accept and test their media).
pub async fn invite_guest(fx: &Effects, user: &User, req: InviteGuest) -> ApiResult<GuestRequest> {
    let (s, me) = access::admit_present(fx, &req.session_id, &user.id, Need::MODERATOR).await?;
    let message = clean_message(req.message, &s)?;
    let request_type = req.request_type.unwrap_or(RequestType::Guest);
    if request_type == RequestType::Cohost && me.role != Role::Host {
        return Err(ApiError::Forbidden("only the host can invite cohosts".into()));
    }
    let target = fx
        .store
        .participant(&s.id, &req.user_id)
        .await?
        .filter(|p| p.status.is_present());
    let invited = match target {
        Some(p) => User {
            id: p.user_id,
            username: p.username,
            avatar_url: p.avatar_url,
        },
        // Backstage, the invitation comes first: their name is their id until they join.
        None if s.backstage => User {
            username: req.user_id.to_string(),
            id: req.user_id.clone(),
            avatar_url: None,
        },
        None => return Err(ApiError::NotFound("that user is not present in this session".into())),
    };
    let opening = if s.backstage {
        Opening::BackstageInvitation
    } else {
        Opening::Invitation
    };
    let r = pending(s.id, &invited, request_type, message);
    let ttl = i64::try_from(fx.tunables.invitation_ttl.as_secs()).unwrap_or(i64::MAX);
    let r = GuestRequest {
        origin: RequestOrigin::Invitation,
        invited_by: Some(user.id.clone()),
        expires_at: Some(r.created_at.plus_seconds(ttl)),
        ..r
    };
    fx.store.create_guest_request(&r, opening).await?;
    publish_request(fx, kind::GUEST_REQUEST_CREATED, &r).await;
    events::audit(
        fx,
        &s.id,
        &user.id,
        "invite",
        Some(&r.user_id),
        json!({"request_id": r.id}),
    )
    .await;
    Ok(r)
}

/// `POST /live/respond-invite`: the invited viewer accepts (same transaction as an approval) or
/// declines. An invitation past its `expires_at` is closed as expired instead; an acceptance
/// needs the inviter still entitled to invite (a present host, or a present cohost for a guest),
/// checked in the approval's own transaction.
pub async fn respond_invite(fx: &Effects, user: &User, req: RespondInvite) -> ApiResult<GuestRequest> {
    let r = request_by_id(fx, &req.request_id, req.session_id.as_ref()).await?;
    if r.user_id != user.id || r.origin != RequestOrigin::Invitation {
        return Err(ApiError::Forbidden(
            "only the invited user can answer an invitation".into(),
        ));
    }
    if r.status != RequestStatus::Pending {
        return Err(ApiError::already_answered("invitation"));
    }
    let now = Timestamp::now();
    if r.expires_at.is_some_and(|until| until <= now) {
        fx.store.expire_invitation(&r, &now).await?;
        return Err(ApiError::invitation_expired());
    }
    match req.action {
        InviteAnswer::Accepted => {
            let s = access::existing_session(fx, &r.session_id).await?;
            let inviter = entitled_inviter(fx, &r).await?.ok_or_else(withdrawn)?;
            match approve(fx, &s, &r, &user.id, Some(inviter)).await {
                Err(Approval::Refused(Refusal::ActorChanged)) => Err(withdrawn()),
                other => Ok(other?),
            }
        }
        InviteAnswer::Declined => close(fx, r, RequestStatus::Rejected, &user.id).await,
    }
}

/// The inviter of `r` and the role that entitles them to it now, if they still are entitled.
async fn entitled_inviter(fx: &Effects, r: &GuestRequest) -> ApiResult<Option<(UserId, Role)>> {
    let Some(inviter) = &r.invited_by else {
        return Ok(None);
    };
    let p = fx.store.participant(&r.session_id, inviter).await?;
    Ok(p.filter(|p| p.status.is_present())
        .filter(|p| p.role == Role::Host || (p.role == Role::Cohost && r.request_type == RequestType::Guest))
        .map(|p| (p.user_id, p.role)))
}

fn withdrawn() -> ApiError {
    ApiError::conflict(
        "invitation-withdrawn",
        "whoever invited you is no longer a host or cohost of this session",
    )
}
