//! Fixtures of the store's tests: the paths the emulator cannot produce (it never raises
//! `TransactionConflict` or throttling, and may omit `ALL_OLD` images), driven with
//! `aws-smithy-mocks` against the real SDK client.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::CancellationReason;

use super::item::Item;
use crate::domain::fixtures;
use crate::domain::ids::SessionId;
use crate::domain::time::Timestamp;
use crate::domain::{Participant, Role, Session, SessionStatus};

pub fn session_id() -> SessionId {
    SessionId::parse("0b7c2f0e-59a4-4a39-9a0f-6f1f3c2b8a11").unwrap()
}

/// `seconds` after the session's start.
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00.000000Z")
        .unwrap()
        .plus_seconds(seconds)
}

pub fn viewer() -> Participant {
    Participant::entering(session_id(), &fixtures::user("u"), Role::Viewer, at(0))
}

/// The live session with these counters and audience capacity.
pub fn session(viewers: u32, peak: u32, max: u32) -> Session {
    let mut s = fixtures::session(session_id(), SessionStatus::Live, at(0));
    (s.viewer_count, s.peak_viewers, s.settings.max_participants) = (viewers, peak, max);
    s
}

pub fn cancelled(reasons: Vec<CancellationReason>) -> TransactWriteItemsError {
    TransactWriteItemsError::TransactionCanceledException(
        TransactionCanceledException::builder()
            .set_cancellation_reasons(Some(reasons))
            .build(),
    )
}

pub fn reason(code: &str, item: Option<Item>) -> CancellationReason {
    CancellationReason::builder().code(code).set_item(item).build()
}
