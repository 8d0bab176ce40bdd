//! What the store answers when a write does not happen: a [`Refusal`] (a condition of the write
//! failed: a fact about the table, in the domain's words) or a failure. The store never chooses an
//! HTTP answer; the rules turn these into `ApiError`s.

use crate::domain::rate::{Limited, Rate};

/// A condition of a write failed; each variant is a fact the failed condition established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such session.
    SessionMissing,
    /// The session has ended.
    SessionEnded,
    /// The session's audience is at `max_participants`.
    SessionFull,
    /// The host already has a live session.
    AlreadyLive,
    /// The session does not take guests (`allow_guests` is false).
    GuestsNotAllowed,
    /// The user was kicked or banned from the session.
    Barred,
    /// The user is not present in the session (never joined, or left).
    Absent,
    /// The user is present, but on stage already (not a viewer).
    NotAViewer,
    /// A request or invitation is already pending for the user.
    RequestPending,
    /// The request is no longer pending.
    AlreadyAnswered,
    /// The invitation expired: its hold on the user went to a newer request or invitation.
    InvitationExpired,
    /// Every guest slot is taken.
    StageFull,
    /// The participant is no longer present, or their role changed since the rule decided.
    ParticipantChanged,
    /// The acting host or cohost is no longer present with the role that entitled them.
    ActorChanged,
    /// The session changed under the write (neither ended nor full): the caller may retry.
    SessionChanged,
    /// The session does not take gifts or tips now (`enable_gifts` is false).
    GiftsDisabled,
    /// The named recipient is not on stage (nor hosting).
    RecipientOffStage,
    /// The wallet holds `balance` coins; the payment needed `needed`.
    InsufficientCoins { balance: u64, needed: u64 },
    /// Slow mode: the author may chat again in this many milliseconds.
    SlowMode { wait_ms: i64 },
    /// The user's `rate` of `what` is used up; the next window opens in `retry_after_ms`.
    RateLimited {
        what: Limited,
        rate: Rate,
        retry_after_ms: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// A cursor this list did not hand out (or of another partition), in request parameter `0`.
    #[error("not a cursor of this list: {0}")]
    BadCursor(&'static str),
    /// Lost races (transaction conflicts, throttling) did not end within the retries.
    #[error("{0}: retries exhausted")]
    Busy(String),
    /// DynamoDB failed, or an item did not (de)serialize: a bug or an outage. Logged, never shown.
    #[error("{0}")]
    Failed(String),
}

impl From<Refusal> for StoreError {
    fn from(r: Refusal) -> Self {
        StoreError::Refused(r)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
