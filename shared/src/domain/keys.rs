//! Every key of the single table, in one place. `docs/data-model.md` lists the access patterns that
//! use them; a key format changes here and nowhere else.
//!
//! Attribute names: `pk`/`sk` (table), `gsi1pk`/`gsi1sk` (GSI1, keys only), `expires_at` (TTL).

use super::idempotency::IdempotencyKey;
use super::ids::{RequestId, SessionId, UserId};
use super::time::Timestamp;

/// Attribute names of the table and its index.
pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";

/// The partition every live session is listed under in GSI1 (sparse: removed when it ends).
/// Only start and end write it, and the index projects keys only, so viewer-count updates never
/// touch it (see data-model.md, "hot keys").
pub const LIVE_INDEX_PK: &str = "LIVE";

/// A table key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

/// `SESSION#<id>` / `META`: the session with its settings and counters.
pub fn session(session_id: &SessionId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: "META".into(),
    }
}

pub fn session_pk(session_id: &SessionId) -> String {
    format!("SESSION#{session_id}")
}

/// `SESSION#<id>` / `PART#<user>`: one participant of a session (present or not).
pub fn participant(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("{PARTICIPANT_PREFIX}{user_id}"),
    }
}

pub const PARTICIPANT_PREFIX: &str = "PART#";

/// `USER#<id>` / `LIVE`: exists while the user hosts a live session; makes "one live session per
/// host" a conditional put instead of a query.
pub fn host_lock(user_id: &UserId) -> Key {
    Key {
        pk: format!("USER#{user_id}"),
        sk: "LIVE".into(),
    }
}

/// The GSI1 partition listing hosts gone from the SFU (sparse: on the host's participant item
/// while the SFU reports them disconnected).
pub const HOST_GONE_INDEX_PK: &str = "HOSTGONE";

/// GSI1 sort key of a host gone from the SFU since `at_ms` (epoch ms, 13 digits: longest gone
/// first); the session id breaks ties.
pub fn host_gone_index_sk(at_ms: i64, session_id: &SessionId) -> String {
    format!("{at_ms:013}#{session_id}")
}

/// The GSI1 sort keys that start with an epoch ms (`<13 digits>#…`: hosts gone, sessions
/// backstage) below this one are of `at_ms` or earlier.
pub fn index_upto_ms(at_ms: i64) -> String {
    format!("{:013}", at_ms.saturating_add(1))
}

/// The GSI1 partition listing sessions backstage (sparse: on the session item until it goes
/// live, when its GSI1 keys move to [`LIVE_INDEX_PK`], or ends).
pub const BACKSTAGE_INDEX_PK: &str = "BACKSTAGE";

/// GSI1 sort key of a session backstage since `opened_ms` (epoch ms, 13 digits: oldest first).
pub fn backstage_index_sk(opened_ms: i64, session_id: &SessionId) -> String {
    format!("{opened_ms:013}#{session_id}")
}

/// GSI1 sort key of a live session: newest first when queried descending; the id breaks ties.
pub fn live_index_sk(started_at: &Timestamp, session_id: &SessionId) -> String {
    format!("{started_at}#{session_id}")
}

/// `CONN#<connection_id>` / `META`: one WebSocket connection (TTL a little over API Gateway's 2 h).
pub fn connection(connection_id: &str) -> Key {
    Key {
        pk: format!("CONN#{connection_id}"),
        sk: "META".into(),
    }
}

/// GSI1 partition of a session's connections (queried for fan-out).
pub fn connections_index_pk(session_id: &SessionId) -> String {
    format!("SESSION#{session_id}#CONN")
}

/// GSI1 sort key of a connection: its fan-out bucket first (4 digits), so a shard's sockets are
/// one range query; then the user (whom a push may address) and the connection.
pub fn connections_index_sk(bucket: u32, user_id: &UserId, connection_id: &str) -> String {
    format!("{bucket:04}#{user_id}#{connection_id}")
}

/// The GSI1 sort keys of the connections in buckets `first..=last`: `(from, to)` for BETWEEN.
pub fn connections_index_buckets(first: u32, last: u32) -> (String, String) {
    (format!("{first:04}#"), format!("{last:04}#\u{10ffff}"))
}

/// `CONNLOG#<session>` / `<epoch, 12 digits>`: the socket opened or forgotten that moved the
/// session's connection epoch (P12) to `epoch`, kept an hour: a warm fan-out applies the changes
/// since the epoch it last saw instead of reading the whole audience again.
pub fn connection_change(session_id: &SessionId, epoch: u64) -> Key {
    Key {
        pk: connection_changes_pk(session_id),
        sk: connection_change_sk(epoch),
    }
}

pub fn connection_changes_pk(session_id: &SessionId) -> String {
    format!("CONNLOG#{session_id}")
}

pub fn connection_change_sk(epoch: u64) -> String {
    format!("{epoch:012}")
}

/// `SESSION#<id>` / `STREAM`: the session's event sequence and its open frame window.
pub fn stream(session_id: &SessionId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: "STREAM".into(),
    }
}

/// `EVT#<session>` / `<seq, 12 digits>`: one sequenced event, kept an hour for fan-out and resync.
pub fn event(session_id: &SessionId, seq: u64) -> Key {
    Key {
        pk: events_pk(session_id),
        sk: event_sk(seq),
    }
}

pub fn events_pk(session_id: &SessionId) -> String {
    format!("EVT#{session_id}")
}

pub fn event_sk(seq: u64) -> String {
    format!("{seq:012}")
}

/// `FANOUT#<session>#<window from>` / `<shard>`: what one shard's fan-out of one window did.
pub fn fanout_checkpoint(session_id: &SessionId, window_from: u64, shard: u32) -> Key {
    Key {
        pk: format!("FANOUT#{session_id}#{window_from}"),
        sk: shard.to_string(),
    }
}

/// `SESSION#<id>` / `SOCKETS#<user>`: the user's open sockets to the session (a string set of
/// `<connected at, ms, 13 digits>#<connection id>`, oldest first in text order), to bound them.
pub fn sockets(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("SOCKETS#{user_id}"),
    }
}

/// `CHAT#<session>` / `MSG#<created_at>#<message_id>`: a chat message. The id makes every sort key
/// unique, so messages sharing a timestamp page without loss.
pub fn chat_message(session_id: &SessionId, created_at: &Timestamp, message_id: &str) -> Key {
    Key {
        pk: chat_pk(session_id),
        sk: format!("{CHAT_PREFIX}{created_at}#{message_id}"),
    }
}

/// The key of the chat message `message_id` (P39): its sort key's time is its id's millisecond
/// (`ids::stamped_id`). `None` for an id that is not one of ours.
pub fn chat_message_of(session_id: &SessionId, message_id: &str) -> Option<Key> {
    let ms = super::ids::stamped_millis(message_id)?;
    Some(chat_message(session_id, &Timestamp::from_millis(ms), message_id))
}

pub fn chat_pk(session_id: &SessionId) -> String {
    format!("CHAT#{session_id}")
}

pub const CHAT_PREFIX: &str = "MSG#";

/// The chat sort keys below this one are the messages strictly older than `t`.
pub fn chat_before(t: &Timestamp) -> String {
    format!("{CHAT_PREFIX}{t}")
}

/// `SESSION#<id>` / `SLOW#<user>`: when the user may next chat (slow mode).
pub fn slow_mode(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("SLOW#{user_id}"),
    }
}

/// `STATS#<session>`: a session's analytics, kept as things happen: one `VIEWER#<user>` item
/// per user who joined, one `MIN#<minute>` item per minute since it started.
pub fn stats_pk(session_id: &SessionId) -> String {
    format!("STATS#{session_id}")
}

pub const VIEWER_PREFIX: &str = "VIEWER#";
pub const MINUTE_PREFIX: &str = "MIN#";

/// `STATS#<session>` / `VIEWER#<user>`: one user's comings and goings and stage time.
pub fn viewer_stats(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: stats_pk(session_id),
        sk: format!("{VIEWER_PREFIX}{user_id}"),
    }
}

/// `STATS#<session>` / `MIN#<minute, 5 digits>`: what happened in one minute of the session.
pub fn minute_stats(session_id: &SessionId, minute: u32) -> Key {
    Key {
        pk: stats_pk(session_id),
        sk: format!("{MINUTE_PREFIX}{minute:05}"),
    }
}

/// `USER#<host>` / `HOSTED#<opened at>#<session>`: a session the user hosted (their analytics
/// across sessions, by time).
pub fn hosted(host: &UserId, opened_at: &Timestamp, session_id: &SessionId) -> Key {
    Key {
        pk: format!("USER#{host}"),
        sk: format!("{HOSTED_PREFIX}{opened_at}#{session_id}"),
    }
}

pub const HOSTED_PREFIX: &str = "HOSTED#";

/// `SESSION#<id>` / `TIMEOUT#<user>`: until when a moderator has timed the user out of chat.
pub fn chat_timeout(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("TIMEOUT#{user_id}"),
    }
}

/// `RATE#<session id>#<user id>` / `<kind>`: a user's rate window of one kind in one session
/// (`rate::Limited`); each user's its own partition, off the session's.
pub fn rate_window(session_id: &SessionId, user_id: &UserId, kind: &str) -> Key {
    Key {
        pk: format!("RATE#{session_id}#{user_id}"),
        sk: kind.into(),
    }
}

/// `REACT#<session id>#<shard>` / `REACT`: one shard of the session's reaction counts. Each shard
/// is its own partition, so the shards' write throughput adds up.
pub fn reaction_shard(session_id: &SessionId, shard: u32) -> Key {
    Key {
        pk: format!("REACT#{session_id}#{shard}"),
        sk: "REACT".into(),
    }
}

/// `SESSION#<id>` / `PUSH#<event type>`: the coalescing window of an aggregated event.
pub fn push_window(session_id: &SessionId, event_type: &str) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("PUSH#{event_type}"),
    }
}

/// `SESSION#<id>` / `GREQ#<request id>`: a guest request or invitation (ids are time-ordered).
pub fn guest_request(session_id: &SessionId, request_id: &RequestId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("{GUEST_REQUEST_PREFIX}{request_id}"),
    }
}

pub const GUEST_REQUEST_PREFIX: &str = "GREQ#";

/// GSI1 partition of a guest request: finds it by id alone (`respond-guest-request` has no session).
pub fn guest_request_index_pk(request_id: &RequestId) -> String {
    format!("GREQ#{request_id}")
}

/// `SESSION#<id>` / `GREQ_PENDING#<user>`: exists while the user has a pending request or
/// invitation; makes "one pending per user" a conditional put.
pub fn pending_request(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("GREQ_PENDING#{user_id}"),
    }
}

/// `SESSION#<id>` / `BAN#<user>`: the session's ban list.
pub fn ban(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("BAN#{user_id}"),
    }
}

/// `AUDIT#<session>` / `<at>#<id>`: one host action.
pub fn audit(session_id: &SessionId, at: &Timestamp, id: &str) -> Key {
    Key {
        pk: audit_pk(session_id),
        sk: format!("{at}#{id}"),
    }
}

pub fn audit_pk(session_id: &SessionId) -> String {
    format!("AUDIT#{session_id}")
}

/// `WEBHOOK#<event id>` / `WEBHOOK`: a LiveKit webhook already taken (deduplication, 24 h TTL).
pub fn webhook(event_id: &str) -> Key {
    Key {
        pk: format!("WEBHOOK#{event_id}"),
        sk: "WEBHOOK".into(),
    }
}

/// `IDEM#<user id>#<key>` / `IDEM`: one idempotency key of a user (user ids have no `#`, so the
/// pair is unambiguous), with the first answer to replay.
pub fn idempotency(user_id: &UserId, key: &IdempotencyKey) -> Key {
    Key {
        pk: format!("IDEM#{user_id}#{}", key.as_str()),
        sk: "IDEM".into(),
    }
}

/// GSI2: a sparse ranking index whose sort key is a number (`gsi2sk`), so that an `ADD` in a
/// transaction keeps an item ranked: top-N is one Query, descending.
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";

/// `WALLET#<user>` / `WALLET`: a user's coins (`balance`) and earnings.
pub fn wallet(user_id: &UserId) -> Key {
    Key {
        pk: wallet_pk(user_id),
        sk: "WALLET".into(),
    }
}

pub fn wallet_pk(user_id: &UserId) -> String {
    format!("WALLET#{user_id}")
}

/// `WALLET#<user>` / `LEDGER#<at>#<entry id>`: one movement of the wallet, newest last in text
/// order (the id, time-ordered too, keeps keys unique).
pub fn ledger_entry(user_id: &UserId, at: &Timestamp, entry_id: &str) -> Key {
    Key {
        pk: wallet_pk(user_id),
        sk: format!("{LEDGER_PREFIX}{at}#{entry_id}"),
    }
}

pub const LEDGER_PREFIX: &str = "LEDGER#";

/// `PAYMENT#<user>#<idempotency key>` / `PAYMENT`: a payment (gift, tip) already made under this
/// key of this user, with its receipt: written in the payment's own transaction, so that a retry
/// can never pay twice, even after the key's record (P24) has expired or was lost.
pub fn payment(user_id: &UserId, key: &IdempotencyKey) -> Key {
    Key {
        pk: format!("PAYMENT#{user_id}#{}", key.as_str()),
        sk: "PAYMENT".into(),
    }
}

/// `CREDITREF#<reference>` / `CREDITREF`: a credit of the embedding app's payment `reference`,
/// written with the credit: a reference credits once.
pub fn credit_reference(reference: &str) -> Key {
    Key {
        pk: format!("CREDITREF#{reference}"),
        sk: "CREDITREF".into(),
    }
}

/// `SESSION#<id>` / `GIFTER#<user>`: what a user gave in a session (ranked in GSI2).
pub fn gifter(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("{GIFTER_PREFIX}{user_id}"),
    }
}

pub const GIFTER_PREFIX: &str = "GIFTER#";

/// GSI2 partition ranking a session's gifters by coins.
pub fn gifters_index_pk(session_id: &SessionId) -> String {
    format!("SESSION#{session_id}#GIFTERS")
}

/// `SESSION#<id>` / `TICKET#<user>`: the user's ticket to a paid session.
pub fn ticket(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("TICKET#{user_id}"),
    }
}

/// `SESSION#<id>` / `ADMIT#<user>`: a user a subscribers-only session admits.
pub fn admitted(session_id: &SessionId, user_id: &UserId) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("{ADMITTED_PREFIX}{user_id}"),
    }
}

pub const ADMITTED_PREFIX: &str = "ADMIT#";

/// `SESSION#<id>` / `COMBO#<user>#<gift>`: the sender's current streak of one gift.
pub fn gift_combo(session_id: &SessionId, user_id: &UserId, gift_id: &str) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("COMBO#{user_id}#{gift_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_message_is_found_by_its_id_alone() {
        let session = SessionId::new();
        let at = Timestamp::parse("2026-12-06T18:30:00.123456Z").unwrap();
        let (id, created_at) = super::super::ids::stamped_id(at);
        assert_eq!(created_at.to_string(), "2026-12-06T18:30:00.123000Z");
        assert_eq!(
            chat_message_of(&session, &id),
            Some(chat_message(&session, &created_at, &id))
        );
        assert_eq!(chat_message_of(&session, "not-an-id"), None);
        assert_eq!(chat_message_of(&session, &uuid::Uuid::new_v4().to_string()), None);
    }

    #[test]
    fn keys_have_the_documented_shapes() {
        let s1 = SessionId::parse("5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30").unwrap();
        let u1 = UserId::parse("u1").unwrap();
        assert_eq!(
            session(&s1),
            Key {
                pk: "SESSION#5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30".into(),
                sk: "META".into()
            }
        );
        assert_eq!(participant(&s1, &u1).sk, "PART#u1");
        assert_eq!(
            host_lock(&u1),
            Key {
                pk: "USER#u1".into(),
                sk: "LIVE".into()
            }
        );
        let t = Timestamp::parse("2026-01-01T00:00:00.000000Z").unwrap();
        assert_eq!(
            live_index_sk(&t, &s1),
            "2026-01-01T00:00:00.000000Z#5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30"
        );
        assert_eq!(chat_before(&t), "MSG#2026-01-01T00:00:00.000000Z");
    }
}
