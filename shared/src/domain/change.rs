//! [`ParticipantChange`]: what a rule asks of one participant and of the session counters it
//! moves, as one value. The rules compute it (a host control's plan, an approval, a leave); the
//! store applies it in one conditional transaction (P18); [`ParticipantChange::undo`] restores the
//! participant when the SFU cannot follow.

use super::ids::{SessionId, UserId};
use super::time::Timestamp;
use super::{Participant, ParticipantStatus, Role};

/// A change to one participant, with the session counters it moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantChange {
    pub session_id: SessionId,
    pub target: UserId,
    /// The target's role when the rule was decided; the write fails if it changed since.
    pub expected_role: Role,
    /// The acting user and the role that entitled them; checked in the same transaction.
    pub actor: Option<(UserId, Role)>,
    pub role: Option<Role>,
    pub status: Option<ParticipantStatus>,
    pub audio_enabled: Option<bool>,
    pub video_enabled: Option<bool>,
    pub screen_share_allowed: Option<bool>,
    /// +1: takes a stage slot (fails when the stage is full); -1: frees one.
    pub guest_delta: i32,
    /// -1 when the participant leaves the audience (leave, kick, ban).
    pub viewer_delta: i32,
    /// Some(true): add to the session's cohost list; Some(false): remove from it.
    pub cohost: Option<bool>,
    /// Also list the user in the session's ban list.
    pub ban: bool,
    pub at: Timestamp,
}

impl ParticipantChange {
    /// A change of `target` (whose role is `expected_role`) that changes nothing yet.
    pub fn new(session_id: SessionId, target: UserId, expected_role: Role, at: Timestamp) -> Self {
        ParticipantChange {
            session_id,
            target,
            expected_role,
            actor: None,
            role: None,
            status: None,
            audio_enabled: None,
            video_enabled: None,
            screen_share_allowed: None,
            guest_delta: 0,
            viewer_delta: 0,
            cohost: None,
            ban: false,
            at,
        }
    }

    /// `p` leaves the session (leave, kick, ban): out of the audience, off the stage.
    pub fn leaving(p: &Participant, status: ParticipantStatus, at: Timestamp) -> Self {
        ParticipantChange {
            status: Some(status),
            viewer_delta: -1,
            guest_delta: if p.role.is_guest_slot() { -1 } else { 0 },
            cohost: (p.role == Role::Cohost).then_some(false),
            ..Self::new(p.session_id, p.user_id.clone(), p.role, at)
        }
    }

    /// The change that restores `before` after `self` was applied and left `after` (for an SFU
    /// failure). A status change is not undone: leaving and barring are never rolled back.
    pub fn undo(&self, before: &Participant, after: &Participant, at: Timestamp) -> ParticipantChange {
        ParticipantChange {
            role: self.role.map(|_| before.role),
            audio_enabled: self.audio_enabled.map(|_| before.audio_enabled),
            video_enabled: self.video_enabled.map(|_| before.video_enabled),
            screen_share_allowed: self.screen_share_allowed.map(|_| before.screen_share_allowed),
            guest_delta: -self.guest_delta,
            cohost: self.cohost.map(|added| !added),
            ..Self::new(self.session_id, self.target.clone(), after.role, at)
        }
    }

    /// Whether the session's counters move (then a `viewer_count` event follows).
    pub fn moves_counts(&self) -> bool {
        self.guest_delta != 0 || self.viewer_delta != 0
    }
}
