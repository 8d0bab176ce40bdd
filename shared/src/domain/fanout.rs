//! The shape of audience-scale fan-out (`docs/scale.md`), as pure functions: who an event is for,
//! how long a session's frame window is, how its sockets are spread over shards, and how a
//! window's events become the frames each socket receives (per-session sequence numbers, at most
//! 32 KB each, aggregates coalesced, chat capped per viewer).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::{SessionId, UserId};

/// Who receives an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Audience {
    /// Everyone connected to the session.
    Session,
    /// The session's hosts and cohosts.
    Stage,
    /// One user (all of their sockets to the session).
    User { user_id: UserId },
}

impl Audience {
    pub fn user(user_id: UserId) -> Self {
        Audience::User { user_id }
    }

    /// Whether a socket of `user`, who is a moderator or not, receives it.
    pub fn includes(&self, user: &str, moderator: bool) -> bool {
        match self {
            Audience::Session => true,
            Audience::Stage => moderator,
            Audience::User { user_id } => user_id.as_str() == user,
        }
    }
}

/// Sockets are spread over this many buckets by a hash of their connection id; a shard is a
/// contiguous range of buckets, so the shard count can change per window without moving anyone.
pub const BUCKETS: u32 = 1024;

/// The bucket of a connection (FNV-1a: stable across processes and releases).
pub fn bucket_of(connection_id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in connection_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % BUCKETS
}

/// The buckets `[first, last]` shard `shard` of `shards` covers.
pub fn shard_buckets(shard: u32, shards: u32) -> (u32, u32) {
    let shards = shards.clamp(1, BUCKETS);
    let first = shard * BUCKETS / shards;
    let last = (shard + 1) * BUCKETS / shards - 1;
    (first, last)
}

/// How the fan-out is sized (`FANOUT` in the README: `window_min_ms,window_max_ms,shard_size,
/// chat_per_second`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FanoutTuning {
    /// The shortest window (a small room).
    pub window_min: Duration,
    /// The longest window (a huge room).
    pub window_max: Duration,
    /// Sockets one fan-out invocation serves: at AWS's ~25 ms per post and 32 posts in flight,
    /// 250 take about 0.2 s.
    pub shard_size: u32,
    /// Users' chat messages a socket receives per second at most; beyond it they are sampled
    /// evenly (system messages and the viewer's own always pass). `GET /live/messages` keeps
    /// them all.
    pub chat_per_second: u32,
}

impl Default for FanoutTuning {
    fn default() -> Self {
        FanoutTuning {
            window_min: Duration::from_millis(100),
            window_max: Duration::from_millis(1000),
            shard_size: 250,
            chat_per_second: 20,
        }
    }
}

impl FanoutTuning {
    /// Reads `min_ms,max_ms,shard_size,chat_per_second`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let [min, max, shard, chat] = parts.as_slice() else {
            return Err(format!(
                "{text:?}: expected window_min_ms,window_max_ms,shard_size,chat_per_second"
            ));
        };
        let num = |v: &str, lo: u64, hi: u64| -> Result<u64, String> {
            v.parse::<u64>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| format!("{v:?} must be a whole number in {lo}..={hi}"))
        };
        let (min, max) = (num(min, 20, 5_000)?, num(max, 20, 5_000)?);
        if min > max {
            return Err(format!("window_min_ms {min} is above window_max_ms {max}"));
        }
        Ok(FanoutTuning {
            window_min: Duration::from_millis(min),
            window_max: Duration::from_millis(max),
            shard_size: num(shard, 10, 10_000)? as u32,
            chat_per_second: num(chat, 1, 1_000)? as u32,
        })
    }

    /// The frame window for a room of `viewers`: 250 ms × (viewers / 1,000)^0.7 within the
    /// bounds — 100 ms up to 270 viewers, 250 ms at 1,000 (4 frames a second), 771 ms at 5,000,
    /// 1 s from 10,000. A frame is what API Gateway bills and counts against its request quota:
    /// longer windows in bigger rooms keep the cost per viewer-hour and the account's posts per
    /// second down, at the price of a later first event (`docs/scale.md`).
    pub fn window(&self, viewers: u64) -> Duration {
        let ms = 250.0 * (viewers as f64 / 1000.0).powf(0.7);
        Duration::from_millis(ms as u64).clamp(self.window_min, self.window_max)
    }

    /// How often an aggregate (`viewer_count`, `reactions`) is pushed at most in a room of
    /// `viewers`: every second up to 1,000 viewers, then a millisecond per viewer, at most every
    /// 5 s. Each push is a frame to every socket: at 5,000 viewers a join storm's counts would
    /// otherwise cost 5,000 posts a second on their own (`docs/scale.md`). `None`: not known
    /// (a reaction does not read the session): every second.
    pub fn aggregate_window(&self, viewers: Option<u64>) -> Duration {
        Duration::from_millis(viewers.unwrap_or(0).clamp(1_000, 5_000))
    }

    /// Shards for a room of `viewers` (each holds up to 3 sockets: most hold one).
    pub fn shards(&self, viewers: u64) -> u32 {
        (viewers.div_ceil(u64::from(self.shard_size)) as u32).clamp(1, BUCKETS)
    }

    /// Users' chat messages one socket receives in a window of `window`: the per-second cap
    /// over the window, and never below half a second's worth, so a burst in a short window of
    /// a small room is not sampled.
    pub fn chat_cap(&self, window: Duration) -> usize {
        let over_window = (self.chat_per_second as u128 * window.as_millis()).div_ceil(1000) as usize;
        over_window.max((self.chat_per_second as usize).div_ceil(2)).max(1)
    }
}

/// One sequenced event as the fan-out reads it back.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequenced {
    pub seq: u64,
    pub audience: Audience,
    /// The event envelope (`type`, `session_id`, `data`, `ts`, `id`), with `seq` added.
    pub event: Value,
}

impl Sequenced {
    fn kind(&self) -> &str {
        self.event.get("type").and_then(Value::as_str).unwrap_or_default()
    }

    /// A chat message of a user (not a system message): the only kind sampled.
    fn samplable(&self) -> bool {
        self.kind() == "chat.message"
            && self.event.pointer("/data/message_type").and_then(Value::as_str) != Some("system")
    }
}

/// Aggregates of which only the last in a window is worth sending: it carries the whole state.
const AGGREGATES: [&str; 2] = ["viewer_count", "reactions"];

/// A socket's view of a window: the events it receives, in sequence order, or why not.
pub struct WindowView<'a> {
    pub events: Vec<&'a Sequenced>,
}

/// The events of a window (in sequence order) that a socket of `user` receives: those addressed
/// to them, aggregates coalesced to the last of each type, viewers' chat sampled evenly down to
/// How long the sending of a window's events took: from the first one's `ts` to the last one's
/// (zero for one event, or when none carries a readable `ts`).
pub fn published_span(window: &[Sequenced]) -> Duration {
    let published: Vec<i64> = window
        .iter()
        .filter_map(|e| e.event.get("ts").and_then(Value::as_str))
        .filter_map(|ts| crate::domain::time::Timestamp::parse(ts).ok())
        .map(|t| t.unix_millis())
        .collect();
    match (published.iter().min(), published.iter().max()) {
        (Some(first), Some(last)) => Duration::from_millis((last - first) as u64),
        _ => Duration::ZERO,
    }
}

/// `chat_cap` (a viewer always sees their own messages).
pub fn view<'a>(window: &'a [Sequenced], user: &str, moderator: bool, chat_cap: usize) -> WindowView<'a> {
    let mine: Vec<&Sequenced> = window.iter().filter(|e| e.audience.includes(user, moderator)).collect();
    let last_of = |kind: &str| mine.iter().rev().find(|e| e.kind() == kind).map(|e| e.seq);
    let last_aggregates: Vec<Option<u64>> = AGGREGATES.iter().map(|k| last_of(k)).collect();
    let samplable = mine.iter().filter(|e| e.samplable()).count();
    let mut kept_chat = 0usize;
    let mut seen_chat = 0usize;
    let events = mine
        .into_iter()
        .filter(|e| {
            if let Some(i) = AGGREGATES.iter().position(|k| *k == e.kind()) {
                return last_aggregates[i] == Some(e.seq);
            }
            if !e.samplable() {
                return true;
            }
            let own = e.event.pointer("/data/user_id").and_then(Value::as_str) == Some(user);
            seen_chat += 1;
            // Even sampling: keep the message when it crosses the next multiple of the share.
            let due = seen_chat * chat_cap / samplable.max(1) > kept_chat;
            if own || samplable <= chat_cap || due {
                kept_chat += 1;
                true
            } else {
                false
            }
        })
        .collect();
    WindowView { events }
}

/// The largest frame API Gateway carries (a WebSocket frame is at most 32 KB).
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// The frames of `view` for one socket: `{"type": "events", "session_id", "from", "to",
/// "events": [...]}`, consecutive ranges covering `[from, to]` exactly, each at most
/// [`MAX_FRAME_BYTES`]. A range with no events for this socket still gets a frame when it is
/// posted to it: a socket's next frame starts at most at its last `to` + 1, so a client tells a
/// gap from a quiet window.
pub fn frames(session_id: &SessionId, from: u64, to: u64, view: &WindowView<'_>) -> Vec<String> {
    let frame = |lo: u64, hi: u64, events: &[&Sequenced]| -> String {
        let events: Vec<&Value> = events.iter().map(|e| &e.event).collect();
        serde_json::json!({"type": "events", "session_id": session_id, "from": lo, "to": hi, "events": events})
            .to_string()
    };
    let mut out = Vec::new();
    let mut lo = from;
    let mut chunk: Vec<&Sequenced> = Vec::new();
    let mut size = 0usize;
    // Room for the envelope around the events.
    const ENVELOPE: usize = 160;
    for e in &view.events {
        let len = e.event.to_string().len() + 1;
        if !chunk.is_empty() && ENVELOPE + size + len > MAX_FRAME_BYTES {
            let hi = e.seq - 1;
            out.push(frame(lo, hi, &chunk));
            lo = hi + 1;
            chunk.clear();
            size = 0;
        }
        size += len;
        chunk.push(e);
    }
    out.push(frame(lo, to, &chunk));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn chat(seq: u64, user: &str) -> Sequenced {
        Sequenced {
            seq,
            audience: Audience::Session,
            event: json!({"seq": seq, "type": "chat.message", "data": {"user_id": user, "message_type": "text", "message": "x".repeat(100)}}),
        }
    }

    fn of(seq: u64, kind: &str, audience: Audience) -> Sequenced {
        Sequenced {
            seq,
            audience,
            event: json!({"seq": seq, "type": kind, "data": {}}),
        }
    }

    #[test]
    fn windows_and_shards_grow_with_the_audience() {
        let t = FanoutTuning::default();
        assert_eq!(t.window(10), Duration::from_millis(100));
        assert_eq!(t.window(1_000), Duration::from_millis(250));
        assert_eq!(t.window(5_000).as_millis(), 771);
        assert_eq!(t.window(10_000), Duration::from_millis(1000));
        assert_eq!(t.shards(0), 1);
        assert_eq!(t.shards(250), 1);
        assert_eq!(t.shards(5_000), 20);
        assert_eq!(t.shards(10_000_000), BUCKETS);
        assert_eq!(t.aggregate_window(None), Duration::from_secs(1));
        assert_eq!(t.aggregate_window(Some(300)), Duration::from_secs(1));
        assert_eq!(t.aggregate_window(Some(2_500)), Duration::from_millis(2_500));
        assert_eq!(t.aggregate_window(Some(50_000)), Duration::from_secs(5));
        assert_eq!(t.chat_cap(Duration::from_millis(250)), 10);
        assert_eq!(t.chat_cap(Duration::from_millis(1000)), 20);
        assert_eq!(FanoutTuning::parse("100,1000,250,20"), Ok(FanoutTuning::default()));
        assert!(FanoutTuning::parse("1000,100,500,20").is_err());
        assert!(FanoutTuning::parse("100,1000,500").is_err());
    }

    #[test]
    fn a_window_filled_from_a_backlog_covers_the_time_its_events_were_sent() {
        let sent = |seq: u64, ts: &str| Sequenced {
            seq,
            audience: Audience::Session,
            event: json!({"seq": seq, "type": "chat.message", "ts": ts, "data": {}}),
        };
        let window = [
            sent(1, "2026-11-26T18:00:00.100000Z"),
            sent(2, "2026-11-26T18:00:01.000000Z"),
            sent(3, "2026-11-26T18:00:00.400000Z"),
        ];
        assert_eq!(published_span(&window), Duration::from_millis(900));
        assert_eq!(published_span(&window[..1]), Duration::ZERO);
        assert_eq!(published_span(&[chat(4, "bob")]), Duration::ZERO, "no ts: no span");
    }

    #[test]
    fn shards_cover_every_bucket_once() {
        for shards in [1, 3, 10, 1000, BUCKETS] {
            let mut next = 0;
            for s in 0..shards {
                let (first, last) = shard_buckets(s, shards);
                assert_eq!(first, next);
                assert!(last >= first);
                next = last + 1;
            }
            assert_eq!(next, BUCKETS);
        }
        assert_eq!(bucket_of("abc"), bucket_of("abc"));
    }

    #[test]
    fn a_view_keeps_what_is_addressed_coalesces_aggregates_and_samples_chat() {
        let window = vec![
            of(1, "viewer_count", Audience::Session),
            of(2, "participant.joined", Audience::Stage),
            of(
                3,
                "guest_request.updated",
                Audience::user(UserId::parse("bob").unwrap()),
            ),
            of(4, "viewer_count", Audience::Session),
            chat(5, "a"),
            chat(6, "b"),
            chat(7, "bob"),
            chat(8, "c"),
            chat(9, "d"),
        ];
        let seqs = |v: WindowView| v.events.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(view(&window, "host", true, 10)), vec![2, 4, 5, 6, 7, 8, 9]);
        assert_eq!(seqs(view(&window, "bob", false, 10)), vec![3, 4, 5, 6, 7, 8, 9]);
        // Sampled to 2 of 5, evenly; bob's own message always reaches him.
        let bob = seqs(view(&window, "bob", false, 2));
        assert!(bob.contains(&7) && bob.contains(&4));
        assert_eq!(bob.iter().filter(|s| **s >= 5).count(), 2, "his own counts in the cap");
        assert_eq!(seqs(view(&window, "eve", false, 2)).len(), 1 + 2);
    }

    #[test]
    fn frames_cover_the_window_contiguously_within_32_kb() {
        let session = SessionId::new();
        let window: Vec<Sequenced> = (10..410).map(|s| chat(s, "a")).collect();
        let v = view(&window, "a", false, 1000);
        let frames = frames(&session, 10, 412, &v);
        assert!(frames.len() > 1);
        let mut next = 10;
        let mut seen = 0;
        for f in &frames {
            assert!(f.len() <= MAX_FRAME_BYTES, "{}", f.len());
            let f: Value = serde_json::from_str(f).unwrap();
            assert_eq!(f["from"], next);
            seen += f["events"].as_array().unwrap().len();
            next = f["to"].as_u64().unwrap() + 1;
        }
        assert_eq!(next, 413);
        assert_eq!(seen, 400);
        let empty = view(&window[..0], "a", false, 10);
        let only = frames_of(&session, &empty);
        assert_eq!(only["events"], json!([]));
    }

    fn frames_of(session: &SessionId, v: &WindowView<'_>) -> Value {
        serde_json::from_str(&frames(session, 5, 9, v)[0]).unwrap()
    }
}
