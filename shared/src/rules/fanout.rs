//! The asynchronous fan-out (`docs/scale.md`): what the sequencer and the fan-out functions do
//! with the messages SQS hands them.
//!
//! 1. A rule publishes an event ([`events::publish`](super::events::publish)): one SQS message
//!    in the session's FIFO group, and the request answers.
//! 2. The sequencer ([`sequence`]) receives a session's events in order, numbers them (P28),
//!    writes them (P29), and numbers them into the session's open window, or opens one: then it
//!    queues one delivery per shard, sized from the audience.
//! 3. Each shard's fan-out ([`deliver`]) waits for the window's end, closes it, reads its events
//!    and posts every socket of the shard its frames. What it could not post is recorded (P30)
//!    and redelivered; a window already delivered is never posted again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::batch::{BatchResult, QueueMessage};
use super::events::kind;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::{self, Audience, Sequenced};
use crate::domain::ids::SessionId;
use crate::domain::time::epoch_millis;
use crate::effects::push::deadline_within;
use crate::effects::queue::Received;
use crate::effects::store::{ClosedWindow, ConnectionRef, NewWindow, StoreError, StoreResult, WindowEnd};
use crate::effects::Effects;

/// A published event as the events queue carries it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Published {
    pub audience: Audience,
    /// The envelope (`type`, `session_id`, `data`, `ts`, `id`).
    pub event: Value,
}

/// One shard's delivery of one window, as the fan-out queue carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardDelivery {
    pub session_id: SessionId,
    /// The window's first sequence number (its id).
    pub from: u64,
    /// When the window ends (epoch ms): its events are posted then.
    pub end_ms: i64,
    pub window_ms: u64,
    pub shard: u32,
    pub shards: u32,
    /// Where the window's frames to everyone start (`StreamState::plain_from`, fixed when the
    /// window opens): a delivery that finds its window passed still knows it. `0` in messages
    /// queued before it was carried: the window's own start.
    #[serde(default)]
    pub plain_from: u64,
}

/// How long a shard's posts may retry before what failed is handed to a redelivery.
const POST_BUDGET: Duration = Duration::from_secs(3);
/// How soon a message that could not be handled (a fan-out not finished, a session's events
/// not numbered) is delivered again.
const RETRY_SECONDS: i32 = 1;
/// How often (50 ms apart) a delivery looks for its window before it is delivered again later.
const NOT_OPEN_CHECKS: u32 = 20;
/// A window still open this long after its end lost its deliveries (they went to the
/// dead-letter queue): the sequencer opens the next one instead of feeding it forever.
const STALE_WINDOW_MS: i64 = 30_000;

/// The sequencer: numbers each session's events in order and opens windows (see the module
/// docs). A session whose events could not be numbered reports all of its messages in the batch
/// as failures: FIFO delivers them again, in order, before any later one of that session.
pub async fn sequence(fx: &Effects, batch: Vec<QueueMessage>) -> ApiResult<BatchResult> {
    let mut sessions: Vec<(SessionId, Vec<(String, Published)>)> = Vec::new();
    let receipts: HashMap<String, String> = batch
        .iter()
        .map(|m| (m.message_id.clone(), m.receipt_handle.clone()))
        .collect();
    let receipts = &receipts;
    for m in batch {
        let published: Published = match serde_json::from_str(&m.body) {
            Ok(p) => p,
            Err(e) => {
                // Nothing we publish fails to parse: a foreign message is dropped, not retried forever.
                tracing::error!(error = %e, message_id = %m.message_id, "sequencer: unreadable message dropped");
                continue;
            }
        };
        let Some(session_id) = published
            .event
            .get("session_id")
            .and_then(Value::as_str)
            .and_then(|s| SessionId::parse(s).ok())
        else {
            tracing::error!(message_id = %m.message_id, "sequencer: event without a session dropped");
            continue;
        };
        match sessions.iter_mut().find(|(id, _)| *id == session_id) {
            Some((_, list)) => list.push((m.message_id, published)),
            None => sessions.push((session_id, vec![(m.message_id, published)])),
        }
    }
    let results = futures::future::join_all(sessions.into_iter().map(|(session_id, messages)| async move {
        let ids: Vec<String> = messages.iter().map(|(id, _)| id.clone()).collect();
        match sequence_session(fx, &session_id, messages).await {
            Ok(()) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, %session_id, "sequencer: events not numbered; redelivered");
                // In a second, in order: FIFO holds the session's later events behind these.
                for id in &ids {
                    let Some(receipt) = receipts.get(id) else { continue };
                    if let Err(e) = fx.queues.retry_after(Received::Events, receipt, RETRY_SECONDS).await {
                        tracing::warn!(error = %e, "sequencer: quick redelivery not set; the queue's visibility timeout applies");
                    }
                }
                ids
            }
        }
    }))
    .await;
    Ok(BatchResult::failed(results.into_iter().flatten()))
}

async fn sequence_session(fx: &Effects, session_id: &SessionId, messages: Vec<(String, Published)>) -> StoreResult<()> {
    for _ in 0..crate::effects::store::transact::MAX_ATTEMPTS {
        let read = fx.store.stream(session_id).await?;
        // A redelivery of the batch last numbered: those already have their numbers.
        let fresh: Vec<&(String, Published)> = messages
            .iter()
            .filter(|(id, _)| !read.last_batch.contains(id))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = fresh.iter().map(|(id, _)| id.clone()).collect();
        let events: Vec<Sequenced> = fresh
            .iter()
            .enumerate()
            .map(|(i, (_, p))| {
                let seq = read.next_seq + i as u64;
                let mut event = p.event.clone();
                if let Some(o) = event.as_object_mut() {
                    o.insert("seq".into(), seq.into());
                }
                Sequenced {
                    seq,
                    audience: p.audience.clone(),
                    event,
                }
            })
            .collect();
        let broadcast = events.iter().any(|e| e.audience == Audience::Session);
        let stale = read.window_end_ms + STALE_WINDOW_MS < epoch_millis();
        if read.exists && !read.closed && !stale {
            // The events are written before the window holds them: a window's reader finds
            // every event it was given.
            fx.store.put_events(session_id, read.window_from, &events).await?;
            if broadcast && !read.window_broadcast {
                // Opened for the stage or single users, only its first shard was queued: now it
                // goes to everyone.
                let window = ShardDelivery {
                    session_id: *session_id,
                    from: read.window_from,
                    end_ms: read.window_end_ms,
                    window_ms: read.window_ms,
                    shard: 0,
                    shards: read.window_shards,
                    plain_from: read.plain_from,
                };
                queue_deliveries(fx, &window, 1..read.window_shards).await?;
            }
            if fx.store.append_to_window(session_id, &read, &ids, broadcast).await? {
                return Ok(());
            }
            continue;
        }
        let viewers = fx
            .store
            .session(session_id)
            .await?
            .map_or(0, |s| u64::from(s.viewer_count) + 1);
        let tuning = fx.tunables.fanout;
        let length = tuning.window(viewers);
        let window = NewWindow {
            end_ms: epoch_millis() + length.as_millis() as i64,
            window_ms: length.as_millis() as u64,
            shards: tuning.shards(viewers),
            broadcast,
            stale_before: epoch_millis() - STALE_WINDOW_MS,
        };
        fx.store.put_events(session_id, read.next_seq, &events).await?;
        // Queued before the window is recorded: an open window always has its deliveries coming.
        // A crash between the two queues them again on redelivery: each shard's delivery of a
        // window is done once (P30), and a socket that still gets a window twice drops it by its
        // range. A window for the stage or single users only needs its first shard.
        let delivery = ShardDelivery {
            session_id: *session_id,
            from: read.next_seq,
            end_ms: window.end_ms,
            window_ms: window.window_ms,
            shard: 0,
            shards: window.shards,
            plain_from: read.next_plain_from(),
        };
        let queued = if broadcast { window.shards } else { 1 };
        queue_deliveries(fx, &delivery, 0..queued).await?;
        if fx.store.open_window(session_id, &read, &ids, &window).await? {
            return Ok(());
        }
    }
    Err(StoreError::Busy("numbering events".into()))
}

/// Queues the deliveries of `shards` of `window` (each a copy of it with its shard).
async fn queue_deliveries(fx: &Effects, window: &ShardDelivery, shards: std::ops::Range<u32>) -> StoreResult<()> {
    let bodies: Vec<String> = shards
        .map(|shard| {
            serde_json::to_string(&ShardDelivery {
                shard,
                ..window.clone()
            })
            .unwrap_or_default()
        })
        .collect();
    fx.queues
        .deliver(bodies)
        .await
        .map_err(|e| StoreError::Failed(format!("queueing deliveries: {e}")))
}

/// The fan-out: each message is one shard's delivery of one window (see the module docs). A
/// delivery that could not reach every socket records which it owes and is redelivered in a
/// second; only those are posted then.
pub async fn deliver(fx: &Effects, batch: Vec<QueueMessage>) -> ApiResult<BatchResult> {
    let results = futures::future::join_all(batch.into_iter().map(|m| async move {
        let delivery: ShardDelivery = match serde_json::from_str(&m.body) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, message_id = %m.message_id, "fan-out: unreadable message dropped");
                return None;
            }
        };
        match deliver_shard(fx, &delivery, m.receive_count > 1).await {
            Ok(true) => None,
            Ok(false) => {
                if let Err(e) = fx.queues.retry_after(Received::Fanout, &m.receipt_handle, RETRY_SECONDS).await {
                    tracing::warn!(error = %e, "fan-out: quick redelivery not set; the queue's visibility timeout applies");
                }
                Some(m.message_id)
            }
            Err(e) => {
                tracing::warn!(error = %e, session_id = %delivery.session_id, "fan-out: shard not delivered; redelivered");
                if let Err(e) = fx.queues.retry_after(Received::Fanout, &m.receipt_handle, RETRY_SECONDS).await {
                    tracing::warn!(error = %e, "fan-out: quick redelivery not set; the queue's visibility timeout applies");
                }
                Some(m.message_id)
            }
        }
    }))
    .await;
    Ok(BatchResult::failed(results.into_iter().flatten()))
}

/// Delivers one shard's window: `Ok(true)` when every socket got it (or it was delivered
/// before), `Ok(false)` when some are still owed it. Only a redelivery (`again`) can find the
/// window's checkpoint; a first delivery does not read it.
async fn deliver_shard(fx: &Effects, d: &ShardDelivery, again: bool) -> ApiResult<bool> {
    // The window's events keep coming until its end: its frames go out then.
    let wait = (d.end_ms - epoch_millis()).clamp(0, fx.tunables.fanout.window_max.as_millis() as i64);
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    let store = &fx.store;
    let checkpoint = if again {
        store.checkpoint(&d.session_id, d.from, d.shard).await?
    } else {
        Default::default()
    };
    if checkpoint.done {
        return Ok(true);
    }
    // Every shard of a window closes it and reads the same: the first served in this process
    // does, the others reuse it.
    let window = store
        .closed_window(&d.session_id, d.from, || close_and_read(fx, d))
        .await?;
    let ClosedWindow {
        to,
        broadcast,
        plain_from,
        conn_epoch: epoch,
        ..
    } = *window;
    // A window with nothing for the whole session goes to the hosts, cohosts and the users it
    // addresses only, found by key by the first shard; the other shards have nothing to post.
    if !broadcast && d.shard != 0 {
        return Ok(true);
    }
    let events = &window.events[..];
    let moderators = &window.moderators[..];
    let to_whom: Arc<Vec<ConnectionRef>> = match &checkpoint.owed {
        Some(owed) => Arc::new(owed.iter().filter_map(|o| owed_connection(o)).collect()),
        None if broadcast => {
            store
                .shard_connections_at(&d.session_id, d.shard, d.shards, epoch)
                .await?
        }
        None => {
            let mut users: Vec<String> = moderators.to_vec();
            users.extend(events.iter().filter_map(|e| match &e.audience {
                Audience::User { user_id } => Some(user_id.to_string()),
                _ => None,
            }));
            users.sort();
            users.dedup();
            let lookups = users
                .iter()
                .filter_map(|u| crate::domain::ids::UserId::parse(u).ok())
                .map(|u| {
                    let session_id = d.session_id;
                    async move { store.user_connections(&session_id, &u).await }
                });
            Arc::new(
                futures::future::try_join_all(lookups)
                    .await?
                    .into_iter()
                    .flatten()
                    .collect(),
            )
        }
    };
    // The cap is per second of chat as it was sent: a window that carries more than its length's
    // worth of sending (held open past its end, or filled from a backlog when the sequencer fell
    // behind) lets as many more pass.
    let covered = Duration::from_millis(d.window_ms).max(fanout::published_span(events));
    let cap = fx.tunables.fanout.chat_cap(covered);
    let ended = events.iter().any(|e| e.event["type"] == kind::SESSION_ENDED);
    // Everyone but the hosts and cohosts skips the windows not posted to everyone: their frames
    // start after the last one that was, also when this window only addresses some of them (a
    // frame from its own start would show them a gap of the stage's windows before it).
    let starts = Starts {
        moderators: d.from,
        others: plain_from,
    };
    let frames = Frames::new(&d.session_id, starts, to, events, moderators, cap);
    let delivery = fx
        .push
        .post_all(
            store,
            &to_whom,
            |c| frames.for_connection(c),
            ended,
            deadline_within(POST_BUDGET),
        )
        .await;
    tracing::info!(
        session_id = %d.session_id, from = d.from, to, shard = d.shard, shards = d.shards,
        events = events.len(), sockets = to_whom.len(), sent = delivery.sent, posts = delivery.posts,
        gone = delivery.gone, failed = delivery.failed.len(), "window delivered"
    );
    let owed: Vec<String> = delivery
        .failed
        .iter()
        .filter_map(|id| to_whom.iter().find(|c| &c.connection_id == id))
        .map(|c| format!("{}#{}", c.connection_id, c.user_id))
        .collect();
    store.put_checkpoint(&d.session_id, d.from, d.shard, &owed).await?;
    Ok(owed.is_empty())
}

/// Closes the window `d` belongs to (idempotent) and reads what every shard of it posts: its
/// events and the session's moderators.
async fn close_and_read(fx: &Effects, d: &ShardDelivery) -> ApiResult<ClosedWindow> {
    let store = &fx.store;
    // The sequencer queues a window's deliveries just before it records the window: one that
    // arrives first finds it opening within moments.
    let mut attempt = 0;
    // The connection epoch comes with the close, not with the delivery: a socket that opened
    // while the window was open and sent into it has moved the epoch on before the close.
    let (to, broadcast, plain_from, conn_epoch, read) = loop {
        match store.close_window(&d.session_id, d.from).await? {
            WindowEnd::Closed {
                to,
                broadcast,
                plain_from,
                conn_epoch,
            } => break (to, broadcast, plain_from, conn_epoch, None),
            // Closed, and a later window open already (this delivery came late): the window's
            // end and kind are its events', its frames to everyone start where it was opened to
            // start them. Frames from its own start would leave a gap of the windows not posted
            // to everyone before it.
            WindowEnd::Passed { next_from, conn_epoch } => {
                let events = store
                    .window_events(&d.session_id, d.from, d.from, next_from - 1)
                    .await?;
                let to = events.last().map_or(d.from, |e| e.seq);
                let broadcast = events.iter().any(|e| e.audience == Audience::Session);
                let plain_from = if d.plain_from > 0 {
                    d.plain_from.min(d.from)
                } else {
                    d.from
                };
                break (to, broadcast, plain_from, conn_epoch, Some(events));
            }
            WindowEnd::NotOpen if attempt < NOT_OPEN_CHECKS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            WindowEnd::NotOpen => {
                return Err(ApiError::Unavailable(format!(
                    "window {} of session {} is not open",
                    d.from, d.session_id
                )))
            }
        }
    };
    let events = match read {
        Some(events) => events,
        None => store.window_events(&d.session_id, d.from, d.from, to).await?,
    };
    let moderators = store
        .moderators(&d.session_id)
        .await?
        .iter()
        .map(|u| u.to_string())
        .collect();
    Ok(ClosedWindow {
        to,
        broadcast,
        plain_from,
        conn_epoch,
        events: Arc::new(events),
        moderators: Arc::new(moderators),
    })
}

/// A connection owed a window, as its checkpoint records it (`<connection>#<user>`).
fn owed_connection(entry: &str) -> Option<ConnectionRef> {
    let (connection_id, user_id) = entry.split_once('#')?;
    Some(ConnectionRef {
        connection_id: connection_id.into(),
        user_id: user_id.into(),
    })
}

/// Where a window's frames start: a host's or cohost's at the window's own start (they get every
/// window); everyone else's after the last window posted to everyone (windows for the stage or
/// for single users only are not posted to everyone, and the next frame covers them).
#[derive(Clone, Copy)]
struct Starts {
    moderators: u64,
    others: u64,
}

impl Starts {
    fn of(self, moderator: bool) -> u64 {
        if moderator {
            self.moderators
        } else {
            self.others
        }
    }
}

/// A window's frames, built once for everyone who sees the window alike (viewers, moderators)
/// and per socket only for the users an event addresses or whose chat is in a sampled window.
struct Frames<'a> {
    session_id: &'a SessionId,
    starts: Starts,
    to: u64,
    events: &'a [Sequenced],
    moderators: &'a [String],
    cap: usize,
    /// Users whose view differs from their class's.
    particular: Vec<&'a str>,
    shared: HashMap<bool, Vec<String>>,
}

impl<'a> Frames<'a> {
    fn new(
        session_id: &'a SessionId,
        starts: Starts,
        to: u64,
        events: &'a [Sequenced],
        moderators: &'a [String],
        cap: usize,
    ) -> Self {
        let chats = events.iter().filter(|e| e.event["type"] == kind::CHAT_MESSAGE).count();
        let mut particular: Vec<&str> = events
            .iter()
            .filter_map(|e| match &e.audience {
                Audience::User { user_id } => Some(user_id.as_str()),
                _ => None,
            })
            .collect();
        if chats > cap {
            particular.extend(events.iter().filter_map(|e| e.event.pointer("/data/user_id")?.as_str()));
        }
        let mut frames = Frames {
            session_id,
            starts,
            to,
            events,
            moderators,
            cap,
            particular,
            shared: HashMap::new(),
        };
        for moderator in [false, true] {
            let v = fanout::view(events, "", moderator, cap);
            let built = fanout::frames(session_id, starts.of(moderator), to, &v);
            frames.shared.insert(moderator, built);
        }
        frames
    }

    fn for_connection(&self, c: &ConnectionRef) -> Vec<String> {
        let moderator = self.moderators.contains(&c.user_id);
        if !self.particular.contains(&c.user_id.as_str()) {
            return self.shared[&moderator].clone();
        }
        let v = fanout::view(self.events, &c.user_id, moderator, self.cap);
        fanout::frames(self.session_id, self.starts.of(moderator), self.to, &v)
    }
}

/// `GET /live/events/{session_id}` takes `after` (the last sequence number the client holds) and
/// `limit`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResyncQuery {
    /// The last sequence number received (`to` of the last frame); `0` for everything kept.
    pub after: String,
    /// Events looked at, 1..=500 (default 500).
    #[serde(default)]
    pub limit: Option<String>,
}

/// The events a client missed, in order.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Resync {
    pub session_id: SessionId,
    /// The events after `after` addressed to the caller, ascending by `seq`, each as frames
    /// carry them.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub events: Vec<Value>,
    /// The sequence number this answer covers up to: continue with `after=<to>` while `to` is
    /// below `last_seq`; frames with `to` at or below it are already covered.
    pub to: u64,
    /// The session's last numbered event now.
    pub last_seq: u64,
}

/// Events are kept an hour (`EVENTS_TTL_SECONDS`): a client gone longer reloads the session.
const RESYNC_MAX: i32 = 500;

/// `GET /live/events/{session_id}?after=`: the events numbered after `after` that the caller
/// receives (everything the session's sockets got, the caller's own and, for a host or cohost,
/// the stage's), unsampled; for a client that saw a gap in the frames' sequence.
pub async fn resync(
    fx: &Effects,
    user: &crate::domain::User,
    session_id: SessionId,
    q: ResyncQuery,
) -> ApiResult<Resync> {
    let after: u64 = q
        .after
        .parse()
        .map_err(|_| ApiError::validation("after", "must be a whole number (the last `to` received)"))?;
    let limit = match q.limit.as_deref() {
        None => RESYNC_MAX,
        Some(l) => l
            .parse::<i32>()
            .ok()
            .filter(|l| (1..=RESYNC_MAX).contains(l))
            .ok_or_else(|| ApiError::validation("limit", format!("must be between 1 and {RESYNC_MAX}")))?,
    };
    let (session, _) = super::access::admit(fx, &session_id, &user.id, super::access::Need::READER).await?;
    let moderator = session.moderators().contains(&user.id);
    let stream = fx.store.stream(&session_id).await?;
    let last_seq = stream.next_seq.saturating_sub(1);
    let found = fx.store.events_after(&session_id, after, limit).await?;
    let to = if (found.len() as i32) < limit {
        last_seq.max(after)
    } else {
        found.last().map_or(after, |e| e.seq)
    };
    let events = found
        .into_iter()
        .filter(|e| e.audience.includes(user.id.as_str(), moderator))
        .map(|e| e.event)
        .collect();
    Ok(Resync {
        session_id,
        events,
        to,
        last_seq,
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::error::ResourceNotFoundException;
    use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::domain::config::QueueUrls;
    use crate::effects::queue::Queues;
    use crate::effects::store::Store;

    /// A session whose events could not be numbered is handed back for a redelivery in a second,
    /// every message of it, not left to the queue's 60 s visibility timeout that would hold the
    /// session's FIFO group (a failure moto cannot produce: staged with mocks).
    #[tokio::test]
    async fn events_not_numbered_come_back_in_a_second() {
        let failing = mock!(aws_sdk_dynamodb::Client::get_item)
            .then_error(|| GetItemError::ResourceNotFoundException(ResourceNotFoundException::builder().build()));
        let db = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&failing]);
        let retried = mock!(aws_sdk_sqs::Client::change_message_visibility)
            .match_requests(|r| r.queue_url() == Some("http://events") && r.visibility_timeout() == Some(RETRY_SECONDS))
            .then_output(|| ChangeMessageVisibilityOutput::builder().build());
        let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&retried]);
        let fx = Effects::for_test(
            Store::new(db, "t"),
            Queues::new(
                Some(sqs),
                QueueUrls {
                    events: Some("http://events".into()),
                    ..Default::default()
                },
            ),
        );
        let session = SessionId::new();
        let message = |n: u32| {
            QueueMessage {
            message_id: format!("m{n}"),
            receipt_handle: format!("r{n}"),
            body: serde_json::json!({
                "audience": {"to": "session"},
                "event": {"type": "chat.message", "session_id": session.to_string(), "data": {}, "ts": "", "id": format!("e{n}")},
            })
            .to_string(),
            receive_count: 1,
        }
        };
        let result = sequence(&fx, vec![message(1), message(2)]).await.unwrap();
        let failed: Vec<&str> = result.failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, ["m1", "m2"]);
        assert_eq!(retried.num_calls(), 2, "each message made visible again in a second");
    }
}
