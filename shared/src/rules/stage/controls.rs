//! Host controls (`POST /live/manage-participant`) and the audit trail they leave.
//!
//! Who may do what ([`allowed`]):
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
//! Nobody acts on the host, nor on themselves; guests and viewers act on nobody. A user who is not
//! present can be kicked or banned if they were ever in the session (judged as the viewer they
//! would come back as), and banned by id before they ever join ([`bar_absent`]); nothing else. What a control
//! changes is [`plan`]ned without IO, written in one transaction, then [`enforce`]d at the SFU.

use livekit_protocol::TrackSource;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::access::{self, Need};
use super::super::after_kept;
use super::super::analytics;
use super::super::events::{self, kind};
use super::on_stage_changed;
use crate::domain::change::ParticipantChange;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::Audience;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::page::PageRequest;
use crate::domain::time::Timestamp;
use crate::domain::{AuditEntry, Participant, ParticipantStatus, Role, Session, Settings, User};
use crate::effects::store::analytics::Happening;
use crate::effects::Effects;

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    pub fn as_str(self) -> &'static str {
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

    /// Kick and ban: the target leaves and is barred; never rolled back.
    pub fn bars(self) -> bool {
        matches!(self, Action::Kick | Action::Ban)
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManageParticipant {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub action: Action,
}

/// The answer to a host control: the participant as it is now.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Managed {
    pub session_id: SessionId,
    pub action: Action,
    pub participant: Participant,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
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

/// What `action` changes of `target` (present, and `allowed`) and of the session's counters, under
/// the session's `settings`.
pub fn plan(action: Action, target: &Participant, settings: &Settings, at: Timestamp) -> ParticipantChange {
    let none = ParticipantChange::new(target.session_id, target.user_id.clone(), target.role, at);
    match action {
        Action::MuteAudio | Action::UnmuteAudio => ParticipantChange {
            audio_enabled: Some(action == Action::UnmuteAudio),
            ..none
        },
        Action::MuteVideo | Action::UnmuteVideo => ParticipantChange {
            video_enabled: Some(action == Action::UnmuteVideo),
            ..none
        },
        Action::AllowScreenShare | Action::DisallowScreenShare => ParticipantChange {
            screen_share_allowed: Some(action == Action::AllowScreenShare),
            ..none
        },
        Action::Kick => ParticipantChange::leaving(target, ParticipantStatus::Kicked, at),
        Action::Ban => ParticipantChange {
            ban: true,
            ..ParticipantChange::leaving(target, ParticipantStatus::Banned, at)
        },
        // A viewer promoted takes a slot with the session's guest defaults; a guest keeps hers.
        Action::PromoteCohost if target.role == Role::Viewer => ParticipantChange {
            role: Some(Role::Cohost),
            cohost: Some(true),
            guest_delta: 1,
            audio_enabled: Some(settings.guest_audio_default),
            video_enabled: Some(settings.guest_video_default),
            ..none
        },
        Action::PromoteCohost => ParticipantChange {
            role: Some(Role::Cohost),
            cohost: Some(true),
            ..none
        },
        Action::Demote if target.role == Role::Cohost => ParticipantChange {
            role: Some(Role::Guest),
            cohost: Some(false),
            ..none
        },
        // A guest demoted is a viewer again: off the stage, nothing to publish.
        Action::Demote => ParticipantChange {
            role: Some(Role::Viewer),
            guest_delta: -1,
            audio_enabled: Some(false),
            video_enabled: Some(false),
            screen_share_allowed: Some(false),
            ..none
        },
    }
}

/// `POST /live/manage-participant`: a host control (see the module docs for who may do what).
pub async fn manage(fx: &Effects, user: &User, req: ManageParticipant) -> ApiResult<Managed> {
    let (s, me) = access::admit_present(fx, &req.session_id, &user.id, Need::LIVE_MODERATOR).await?;
    if req.user_id == user.id {
        return Err(ApiError::Forbidden("you cannot apply host controls to yourself".into()));
    }
    let action = req.action;
    let target = match fx.store.participant(&s.id, &req.user_id).await? {
        Some(t) if t.status.is_present() => t,
        // Kicked and kicked again, or banned: repeating it finishes what an SFU failure left undone.
        Some(t)
            if action.bars()
                && (t.status == ParticipantStatus::Banned
                    || t.status == ParticipantStatus::Kicked && action == Action::Kick) =>
        {
            disconnect_barred(fx, &s, &t.user_id).await?;
            return Ok(Managed {
                session_id: s.id,
                action,
                participant: t,
            });
        }
        Some(t) if action.bars() => return bar_absent(fx, &s, user, &me, action, t, true).await,
        None if action == Action::Ban => {
            let never_seen = User {
                id: req.user_id.clone(),
                username: req.user_id.to_string(),
                avatar_url: None,
            };
            let t = Participant::entering(s.id, &never_seen, Role::Viewer, Timestamp::now());
            return bar_absent(fx, &s, user, &me, action, t, false).await;
        }
        None => {
            return Err(ApiError::NotFound(
                "that user is not a participant of this session".into(),
            ))
        }
        Some(_) => {
            return Err(ApiError::conflict(
                "not-present",
                "that user is not present in this session",
            ))
        }
    };
    if !allowed(me.role, target.role, action) {
        return Err(ApiError::Forbidden(format!(
            "a {} cannot {} a {}",
            me.role.as_str(),
            action.as_str(),
            target.role.as_str()
        )));
    }
    let change = ParticipantChange {
        actor: Some((user.id.clone(), me.role)),
        ..plan(action, &target, &s.settings, fx.clock.now())
    };
    fx.store.change_participant(&change).await?;
    let at = change.at.unix_millis();
    if matches!(action, Action::Kick | Action::Ban) {
        analytics::count(fx, &s, &target.user_id, Happening::Left, at).await;
    }
    let off_stage = matches!(action, Action::Kick | Action::Ban | Action::Demote);
    if off_stage && target.role.is_guest_slot() {
        analytics::count(fx, &s, &target.user_id, Happening::OffStage, at).await;
    }
    let after = fx
        .store
        .participant(&s.id, &target.user_id)
        .await?
        .ok_or_else(|| ApiError::internal("participant vanished"))?;
    enforce(fx, &s, action, &change, &target, &after).await?;
    let details = json!({"role_before": target.role, "role_after": after.role});
    events::audit(fx, &s.id, &user.id, action.as_str(), Some(&target.user_id), details).await;
    publish(fx, &after, action).await;
    if change.moves_counts() {
        events::viewer_count(fx, &s.id, Some(s.viewer_count)).await;
    }
    Ok(Managed {
        session_id: s.id,
        action,
        participant: after,
    })
}

/// What a kick or ban keeps when the SFU cannot be told.
const BARRED: &str = "the user is barred from the session";

/// Closes a barred user's sockets and removes them from the SFU room (`502` if the SFU cannot be
/// told: the bar stands, repeating the control finishes it).
async fn disconnect_barred(fx: &Effects, s: &Session, user_id: &UserId) -> ApiResult<()> {
    fx.push.disconnect_user(&fx.store, &s.id, user_id).await;
    fx.sfu.remove(&s.room_name, user_id).await.map_err(after_kept(BARRED))
}

/// A kick or ban of a user who is not present: who left (barred as the viewer they would come
/// back as, whatever role they had), who was kicked (a ban), or who never joined (`seen` false: a
/// ban by id, before they come). No counts move; they are still removed from the SFU room, which
/// a client that left may not have left.
async fn bar_absent(
    fx: &Effects,
    s: &Session,
    user: &User,
    me: &Participant,
    action: Action,
    target: Participant,
    seen: bool,
) -> ApiResult<Managed> {
    if !allowed(me.role, Role::Viewer, action) {
        return Err(ApiError::Forbidden(format!(
            "a {} cannot {} a user",
            me.role.as_str(),
            action.as_str()
        )));
    }
    let at = Timestamp::now();
    let status = if action == Action::Ban {
        ParticipantStatus::Banned
    } else {
        ParticipantStatus::Kicked
    };
    let change = ParticipantChange {
        actor: Some((user.id.clone(), me.role)),
        status: Some(status),
        ban: action == Action::Ban,
        ..ParticipantChange::new(s.id, target.user_id.clone(), target.role, at)
    };
    fx.store.bar_absent(&change, &target, seen).await?;
    let before = target.status;
    let after = Participant {
        status,
        left_at: target.left_at.or(Some(at)),
        ..target
    };
    disconnect_barred(fx, s, &after.user_id).await?;
    let details = json!({"status_before": if seen { before.as_str() } else { "absent" }});
    events::audit(fx, &s.id, &user.id, action.as_str(), Some(&after.user_id), details).await;
    let data = events::participant_data(&after);
    events::publish(fx, Audience::Stage, kind::PARTICIPANT_UPDATED, &s.id, data).await;
    Ok(Managed {
        session_id: s.id,
        action,
        participant: after,
    })
}

/// Applies a control written to our table at the SFU. A barring control closes the user's sockets
/// and removes them from the room; any other updates the live connection, and is undone in our
/// table when the SFU cannot take it.
async fn enforce(
    fx: &Effects,
    s: &Session,
    action: Action,
    change: &ParticipantChange,
    before: &Participant,
    after: &Participant,
) -> ApiResult<()> {
    if action.bars() {
        return disconnect_barred(fx, s, &after.user_id).await;
    }
    if let Err(e) = apply_at_sfu(fx, s, after, action).await {
        let undo = change.undo(before, after, Timestamp::now());
        fx.store.change_participant(&undo).await?;
        return Err(e.into());
    }
    Ok(())
}

/// The SFU side of a non-barring control. A mute first mutes the published track (everyone sees
/// it muted), then the permission update takes the source away: LiveKit unpublishes a track whose
/// source is no longer allowed and refuses to publish it again, so the client cannot unmute itself.
async fn apply_at_sfu(
    fx: &Effects,
    s: &Session,
    p: &Participant,
    action: Action,
) -> Result<(), crate::effects::sfu::SfuError> {
    let muted = match action {
        Action::MuteAudio => Some(TrackSource::Microphone),
        Action::MuteVideo => Some(TrackSource::Camera),
        _ => None,
    };
    if let Some(source) = muted {
        fx.sfu.mute_source(&s.room_name, &p.user_id, source, true).await?;
    }
    fx.sfu.update_permissions(&s.room_name, p, s.session_type).await
}

/// Tells the session what a control did.
async fn publish(fx: &Effects, p: &Participant, action: Action) {
    match action {
        Action::Kick | Action::Ban => {
            let data = events::participant_data(p);
            events::publish(fx, Audience::Session, kind::PARTICIPANT_LEFT, &p.session_id, data).await;
            let text = format!("{} was removed", p.username);
            let note = json!({"event": action.as_str(), "user_id": p.user_id});
            events::system_message(fx, &p.session_id, text, Audience::Session, note).await;
        }
        Action::PromoteCohost | Action::Demote => {
            on_stage_changed(fx, p, format!("{} is now {}", p.username, p.role.as_str())).await
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
            events::publish(fx, Audience::Session, kind::PARTICIPANT_UPDATED, &p.session_id, data).await;
        }
    }
}

/// `GET /live/audit/{session_id}`: the host's audit trail of host actions, newest first.
pub async fn audit_trail(fx: &Effects, user: &User, session_id: SessionId, page: PageRequest) -> ApiResult<AuditPage> {
    let s = access::existing_session(fx, &session_id).await?;
    if s.host_id != user.id {
        return Err(ApiError::Forbidden("only the host can read the audit trail".into()));
    }
    let listing = fx.store.audit_page(&session_id, &page).await?;
    Ok(AuditPage {
        entries: listing.items,
        next_cursor: listing.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;
    use Action::*;
    use Role::*;

    #[test]
    fn the_rules_table() {
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

    fn settings(audio: bool, video: bool) -> Settings {
        Settings {
            guest_audio_default: audio,
            guest_video_default: video,
            ..fixtures::settings()
        }
    }

    fn target(role: Role) -> Participant {
        fixtures::participant(SessionId::new(), "t", role, ParticipantStatus::Active)
    }

    #[test]
    fn plans_move_exactly_what_each_control_changes() {
        let at = Timestamp::now();
        let s = settings(true, false);
        let mute = plan(MuteAudio, &target(Guest), &s, at);
        assert_eq!(
            (mute.audio_enabled, mute.video_enabled, mute.role),
            (Some(false), None, None)
        );
        assert!(!mute.moves_counts() && mute.expected_role == Guest);

        let kick = plan(Kick, &target(Cohost), &s, at);
        assert_eq!(kick.status, Some(ParticipantStatus::Kicked));
        assert_eq!(
            (kick.viewer_delta, kick.guest_delta, kick.cohost, kick.ban),
            (-1, -1, Some(false), false)
        );
        let ban = plan(Ban, &target(Viewer), &s, at);
        assert_eq!(
            (ban.viewer_delta, ban.guest_delta, ban.cohost, ban.ban),
            (-1, 0, None, true)
        );

        let promoted = plan(PromoteCohost, &target(Viewer), &s, at);
        assert_eq!(
            (promoted.role, promoted.guest_delta, promoted.cohost),
            (Some(Cohost), 1, Some(true))
        );
        assert_eq!(
            (promoted.audio_enabled, promoted.video_enabled),
            (Some(true), Some(false))
        );
        let promoted = plan(PromoteCohost, &target(Guest), &s, at);
        assert_eq!((promoted.guest_delta, promoted.audio_enabled), (0, None));

        let down = plan(Demote, &target(Cohost), &s, at);
        assert_eq!(
            (down.role, down.cohost, down.guest_delta),
            (Some(Guest), Some(false), 0)
        );
        let down = plan(Demote, &target(Guest), &s, at);
        assert_eq!((down.role, down.guest_delta), (Some(Viewer), -1));
        assert_eq!(
            (down.audio_enabled, down.video_enabled, down.screen_share_allowed),
            (Some(false), Some(false), Some(false))
        );
    }

    #[test]
    fn an_undo_restores_what_the_plan_changed() {
        let at = Timestamp::now();
        let before = target(Viewer);
        let change = plan(PromoteCohost, &before, &settings(true, true), at);
        let after = Participant {
            role: Cohost,
            audio_enabled: true,
            video_enabled: true,
            ..before.clone()
        };
        let undo = change.undo(&before, &after, at);
        assert_eq!(undo.expected_role, Cohost);
        assert_eq!(
            (undo.role, undo.guest_delta, undo.cohost),
            (Some(Viewer), -1, Some(false))
        );
        assert_eq!((undo.audio_enabled, undo.video_enabled), (Some(false), Some(false)));
        assert_eq!((undo.screen_share_allowed, undo.status), (None, None));
    }
}
