//! The clock the time rules read (chat timeouts, pins, backstage expiry, view time): the system's,
//! which a test moves on instead of sleeping. Each [`Effects`](super::Effects) has its own, so
//! tests running side by side in one process never move each other's time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::domain::time::{epoch_millis, Timestamp};

/// The system clock plus an offset that only moves forward (zero outside tests).
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, now.
    pub fn millis(&self) -> i64 {
        epoch_millis() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Now, as we store and show instants.
    pub fn now(&self) -> Timestamp {
        Timestamp::now().plus_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every copy of it) `by` into the future: what a test does instead
    /// of waiting for a time rule to pass.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_copy_and_only_forward_in_time() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = clock.millis();
        clock.advance(Duration::from_secs(90));
        assert!(copy.millis() >= before + 90_000);
        assert!(copy.now().unix_millis() >= before + 90_000);
        assert!(
            Clock::default().millis() < before + 90_000,
            "another clock keeps its own time"
        );
    }
}
