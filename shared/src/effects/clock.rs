//! The clock the time rules read (chat timeouts, pins, backstage expiry, view time): the system's,
//! which a test moves on instead of sleeping, or holds still to script exact times. Each
//! [`Effects`](super::Effects) has its own, so tests running side by side in one process never
//! move each other's time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::domain::time::{epoch_millis, Timestamp};

/// Not held: the system clock plus the offset.
const RUNNING: i64 = i64::MIN;

/// The system clock plus an offset that only moves forward (zero outside tests), or a time a
/// test holds it at.
#[derive(Clone, Debug)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    held_ms: Arc<AtomicI64>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            offset_ms: Arc::default(),
            held_ms: Arc::new(AtomicI64::new(RUNNING)),
        }
    }
}

impl Clock {
    /// Milliseconds since the Unix epoch, now.
    pub fn millis(&self) -> i64 {
        match self.held_ms.load(Ordering::Relaxed) {
            RUNNING => epoch_millis() + self.offset_ms.load(Ordering::Relaxed),
            held => held,
        }
    }

    /// Now, as we store and show instants.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.millis())
    }

    /// Moves this clock (and every copy of it) `by` into the future: what a test does instead
    /// of waiting for a time rule to pass.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
        let _ = self.held_ms.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
            (h != RUNNING).then_some(h + ms)
        });
    }

    /// Holds this clock at `at` (a test scripting exact times; [`Clock::advance`] moves it on).
    pub fn hold_at(&self, at: Timestamp) {
        self.held_ms.store(at.unix_millis(), Ordering::Relaxed);
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

    #[test]
    fn a_held_clock_moves_only_when_advanced() {
        let clock = Clock::default();
        let at = Timestamp::parse("2026-12-06T20:00:00.000000Z").unwrap();
        clock.hold_at(at);
        assert_eq!(clock.now(), at);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now().to_string(), "2026-12-06T20:00:01.500000Z");
    }
}
