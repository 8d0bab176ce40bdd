//! Who may act in a session: the one guard of chat, sockets, the stage and the readers. A
//! [`Need`] says what an action requires; [`check`] decides it from the session and the caller's
//! participation (no IO, unit-tested); [`admit`] loads both and checks.
//!
//! The refusals come in a fixed order, so that one request always gets the same answer: no such
//! session (404), the session has ended (409 `session-ended`), the caller was removed (403), the
//! caller is not present (403), the caller is not a host or cohost (403).

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::{Access, Participant, Role, Session, SessionStatus};
use crate::effects::Effects;

/// What an action requires of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    /// The session is live.
    pub live: bool,
    /// The caller is present in it (not only: not barred).
    pub present: bool,
    /// The caller is its host or a cohost.
    pub moderator: bool,
}

impl Need {
    /// Reading a session's lists (participants, chat history): anyone not removed from it.
    pub const READER: Need = Need {
        live: false,
        present: false,
        moderator: false,
    };
    /// Opening a socket to a live session: anyone not removed from it.
    pub const LISTENER: Need = Need {
        live: true,
        ..Need::READER
    };
    /// Taking part (chat): present in a live session.
    pub const MEMBER: Need = Need {
        live: true,
        present: true,
        moderator: false,
    };
    /// Running the stage (requests, invitations): a present host or cohost.
    pub const MODERATOR: Need = Need {
        live: false,
        present: true,
        moderator: true,
    };
    /// Host controls: a present host or cohost of a live session.
    pub const LIVE_MODERATOR: Need = Need {
        live: true,
        ..Need::MODERATOR
    };
}

/// Whether a caller whose participation is `me` may act in `session` as `need` requires.
pub fn check(session: &Session, me: Option<&Participant>, need: Need) -> ApiResult<()> {
    if need.live && session.status != SessionStatus::Live {
        return Err(ApiError::session_ended());
    }
    if me.is_some_and(|p| p.status.is_barred()) {
        return Err(ApiError::removed());
    }
    let present = me.filter(|p| p.status.is_present());
    if need.moderator && !present.is_some_and(|p| matches!(p.role, Role::Host | Role::Cohost)) {
        return Err(ApiError::moderators_only());
    }
    if need.present && present.is_none() {
        return Err(ApiError::join_first());
    }
    Ok(())
}

/// The session and the caller's participation (`None`: never joined), once `need` is met.
pub async fn admit(
    fx: &Effects,
    session_id: &SessionId,
    user_id: &UserId,
    need: Need,
) -> ApiResult<(Session, Option<Participant>)> {
    let session = existing_session(fx, session_id).await?;
    let me = fx.store.participant(session_id, user_id).await?;
    check(&session, me.as_ref(), need)?;
    Ok((session, me))
}

/// [`admit`] for needs that require presence: the caller's participation is certain.
pub async fn admit_present(
    fx: &Effects,
    session_id: &SessionId,
    user_id: &UserId,
    need: Need,
) -> ApiResult<(Session, Participant)> {
    debug_assert!(need.present, "admit_present needs presence");
    let (session, me) = admit(fx, session_id, user_id, need).await?;
    let me = me.ok_or_else(ApiError::join_first)?;
    Ok((session, me))
}

/// Whether `user_id` may enter `session` (join, and so open sockets and get SFU tokens): anyone
/// in a public session; in a paid or subscribers-only one its host, those who have been on its
/// stage (guests and cohosts coming back), and ticket holders — `402 ticket-required` with the
/// price for anyone else — or the listed users — `403` for anyone else. Backstage, only its
/// host, its stage and the users invited to it: `409 backstage` for anyone else.
pub async fn admits(fx: &Effects, session: &Session, user_id: &UserId) -> ApiResult<()> {
    if *user_id == session.host_id || (session.settings.access == Access::Public && !session.backstage) {
        return Ok(());
    }
    let staged = fx
        .store
        .participant(&session.id, user_id)
        .await?
        .is_some_and(|p| p.role != Role::Viewer);
    if staged {
        return Ok(());
    }
    if session.backstage {
        let now_s = fx.clock.millis() / 1000;
        if fx.store.has_pending_invitation(&session.id, user_id, now_s).await? {
            return Ok(());
        }
        return Err(ApiError::conflict(
            "backstage",
            "this session is backstage: it opens to viewers when the host goes live",
        ));
    }
    match session.settings.access {
        Access::Public => Ok(()),
        Access::Paid if fx.store.has_ticket(&session.id, user_id).await? => Ok(()),
        Access::Paid => Err(ApiError::ticket_required(
            session.settings.ticket_price.unwrap_or_default(),
        )),
        Access::Subscribers if fx.store.is_admitted(&session.id, user_id).await? => Ok(()),
        Access::Subscribers => Err(ApiError::Forbidden(
            "this live session is for its subscribers only".into(),
        )),
    }
}

/// The session, or 404.
pub async fn existing_session(fx: &Effects, session_id: &SessionId) -> ApiResult<Session> {
    fx.store
        .session(session_id)
        .await?
        .ok_or_else(|| ApiError::session_not_found(session_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{participant, session};
    use crate::domain::time::Timestamp;
    use crate::domain::ParticipantStatus;

    fn code(r: ApiResult<()>) -> Option<(u16, String)> {
        r.err().map(|e| {
            let p = e.problem_json();
            (
                e.status().as_u16(),
                p["code"].as_str().unwrap_or(p["detail"].as_str().unwrap()).to_string(),
            )
        })
    }

    #[test]
    fn each_need_refuses_in_order() {
        use ParticipantStatus::*;
        let live = session(SessionId::new(), SessionStatus::Live, Timestamp::now());
        let ended = Session {
            status: SessionStatus::Ended,
            ..live.clone()
        };
        let me = |role, status| participant(live.id, "me", role, status);
        let (viewer, cohost, kicked, left) = (
            me(Role::Viewer, Active),
            me(Role::Cohost, Muted),
            me(Role::Viewer, Kicked),
            me(Role::Guest, Left),
        );

        assert!(check(&ended, Some(&viewer), Need::READER).is_ok());
        assert!(check(&live, None, Need::READER).is_ok());
        assert_eq!(code(check(&live, Some(&kicked), Need::READER)).unwrap().0, 403);

        assert_eq!(
            code(check(&ended, Some(&kicked), Need::LISTENER)).unwrap().1,
            "session-ended"
        );
        assert!(check(&live, Some(&left), Need::LISTENER).is_ok());

        assert!(check(&live, Some(&viewer), Need::MEMBER).is_ok());
        assert_eq!(code(check(&live, Some(&left), Need::MEMBER)).unwrap().0, 403);
        assert_eq!(code(check(&live, None, Need::MEMBER)).unwrap().0, 403);

        assert!(check(&live, Some(&cohost), Need::LIVE_MODERATOR).is_ok());
        assert!(check(&ended, Some(&cohost), Need::MODERATOR).is_ok());
        assert_eq!(
            code(check(&ended, Some(&cohost), Need::LIVE_MODERATOR)).unwrap().1,
            "session-ended"
        );
        assert_eq!(code(check(&live, Some(&viewer), Need::MODERATOR)).unwrap().0, 403);
    }
}
