//! Per-user rate limits: how often one user may do one kind of thing in one session. Each is a
//! fixed window (`count` actions per `window`, windows aligned to the epoch), counted by a
//! conditional write (`effects::store::rates`), the same for the HTTP API and the sockets.

use std::time::Duration;

/// At most `count` actions in each window of `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub window: Duration,
}

impl Rate {
    pub const fn per_seconds(count: u32, seconds: u64) -> Rate {
        Rate {
            count,
            window: Duration::from_secs(seconds),
        }
    }

    pub fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX).max(1)
    }

    /// The window, for people: `second`, `10 seconds`.
    pub fn per(&self) -> String {
        match self.window.as_secs() {
            1 => "second".into(),
            s => format!("{s} seconds"),
        }
    }

    /// `<count>/<seconds>`, e.g. `5/10`: a count of at least 1, a window of 1 to 3600 seconds.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let (count, seconds) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not <count>/<seconds>"))?;
        let count: u32 = count.trim().parse().map_err(|_| format!("{text:?}: bad count"))?;
        let seconds: u64 = seconds.trim().parse().map_err(|_| format!("{text:?}: bad seconds"))?;
        if count == 0 || !(1..=3600).contains(&seconds) {
            return Err(format!("{text:?}: count ≥ 1 and 1..=3600 seconds"));
        }
        Ok(Rate::per_seconds(count, seconds))
    }
}

/// What a user's rate is counted for, in one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limited {
    /// Chat messages (HTTP and socket).
    Chat,
    /// Guest requests and their cancellations.
    StageRequests,
    /// Joins and leaves (each writes a system message everyone reads).
    Presence,
    /// Socket frames of any action.
    Frames,
    /// Reactions (HTTP and socket).
    Reactions,
}

impl Limited {
    pub const ALL: [Limited; 5] = [
        Limited::Chat,
        Limited::StageRequests,
        Limited::Presence,
        Limited::Frames,
        Limited::Reactions,
    ];

    /// Its name in `RATE_LIMITS` and in the table's keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Limited::Chat => "chat",
            Limited::StageRequests => "stage",
            Limited::Presence => "presence",
            Limited::Frames => "frames",
            Limited::Reactions => "reactions",
        }
    }

    /// What is counted, for people ("at most 5 chat messages per 10 seconds").
    pub fn noun(self) -> &'static str {
        match self {
            Limited::Chat => "chat messages",
            Limited::StageRequests => "guest requests and cancellations",
            Limited::Presence => "joins and leaves",
            Limited::Frames => "socket frames",
            Limited::Reactions => "reactions",
        }
    }
}

/// Every rate limit (`RATE_LIMITS`: `kind=<count>/<seconds>` pairs, comma-separated; kinds not
/// named keep their defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub chat: Rate,
    pub stage_requests: Rate,
    pub presence: Rate,
    pub frames: Rate,
    pub reactions: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            chat: Rate::per_seconds(5, 5),
            stage_requests: Rate::per_seconds(6, 60),
            presence: Rate::per_seconds(10, 60),
            // Above the reaction rate: a socket's reactions meet their own limit first.
            frames: Rate::per_seconds(30, 1),
            reactions: Rate::per_seconds(25, 1),
        }
    }
}

impl RateLimits {
    pub fn of(&self, what: Limited) -> Rate {
        match what {
            Limited::Chat => self.chat,
            Limited::StageRequests => self.stage_requests,
            Limited::Presence => self.presence,
            Limited::Frames => self.frames,
            Limited::Reactions => self.reactions,
        }
    }

    pub fn set(&mut self, what: Limited, rate: Rate) {
        *match what {
            Limited::Chat => &mut self.chat,
            Limited::StageRequests => &mut self.stage_requests,
            Limited::Presence => &mut self.presence,
            Limited::Frames => &mut self.frames,
            Limited::Reactions => &mut self.reactions,
        } = rate;
    }

    /// The defaults, with the overrides of `text` (`chat=5/10,frames=20/1`).
    pub fn parse(text: &str) -> Result<RateLimits, String> {
        let mut limits = RateLimits::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, rate) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not <kind>=<count>/<seconds>"))?;
            let what = Limited::ALL
                .into_iter()
                .find(|l| l.as_str() == name.trim())
                .ok_or_else(|| {
                    let kinds: Vec<&str> = Limited::ALL.iter().map(|l| l.as_str()).collect();
                    format!("unknown kind {name:?}; one of {}", kinds.join(", "))
                })?;
            limits.set(what, Rate::parse(rate)?);
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_over_the_defaults() {
        let limits = RateLimits::parse("chat=2/60, frames=10/1").unwrap();
        assert_eq!(limits.chat, Rate::per_seconds(2, 60));
        assert_eq!(limits.frames, Rate::per_seconds(10, 1));
        assert_eq!(limits.presence, RateLimits::default().presence);
        assert_eq!(RateLimits::parse("").unwrap(), RateLimits::default());
        for bad in ["chat", "chat=0/5", "chat=5/0", "chat=5/3601", "typing=1/1", "chat=x/1"] {
            assert!(RateLimits::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Rate::per_seconds(25, 1).per(), "second");
        assert_eq!(Rate::per_seconds(5, 10).per(), "10 seconds");
    }
}
