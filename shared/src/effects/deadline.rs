//! The invocation's deadline. Lambda stops a function at its `Timeout` wherever it is, so work
//! that waits on others (SFU calls, pushes) stops early enough for what must follow it (undoing a
//! write, answering) to run.

use std::time::{Duration, Instant};

use crate::domain::time::epoch_millis;

tokio::task_local! {
    /// The invocation's deadline (from the Lambda context), set by the adapter for each request.
    pub static DEADLINE: Instant;
}

/// The `Instant` of a Lambda context deadline (epoch milliseconds).
pub fn instant_of_epoch_millis(deadline_ms: u64) -> Instant {
    let left = deadline_ms.saturating_sub(epoch_millis().max(0) as u64);
    Instant::now() + Duration::from_millis(left)
}

/// When work that leaves `reserve` to what follows it must stop: `reserve` before the deadline of
/// the invocation it runs in (`None` outside one).
pub fn leaving(reserve: Duration) -> Option<Instant> {
    DEADLINE.try_with(|d| d.checked_sub(reserve).unwrap_or(*d)).ok()
}

/// The invocation's deadline as epoch milliseconds (`None` outside one).
pub fn epoch_millis_of_deadline() -> Option<i64> {
    DEADLINE
        .try_with(|d| {
            let left = d.saturating_duration_since(Instant::now());
            epoch_millis().saturating_add(i64::try_from(left.as_millis()).unwrap_or(i64::MAX))
        })
        .ok()
}
