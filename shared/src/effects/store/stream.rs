//! Access patterns of the asynchronous fan-out (`docs/data-model.md`, P28–P30; `docs/scale.md`):
//! a session's event sequence and open frame window (`STREAM`), its sequenced events (`EVT#`),
//! and what each shard's fan-out of a window did (`FANOUT#`).
//!
//! The sequencer is the only writer of a session's sequence: it runs per session in order (an SQS
//! FIFO message group), so it reads `STREAM`, writes the events under the numbers it read, then
//! moves the sequence on a condition that it is still where it read it. A redelivered batch finds
//! its message ids in `last_batch` and is not numbered twice. Fan-out invocations close the window
//! they serve (the sequencer then opens the next): a window's events are exactly those numbered
//! into it before its close.

use std::future::Future;
use std::sync::Arc;

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};
use tokio::sync::OnceCell;

use super::error::StoreResult;
use super::item::{db_err, failed, key_item, n, number, s, text, Item};
use super::per_process::PerProcess;
use super::{query_all, Store};
use crate::domain::fanout::{Audience, Sequenced};
use crate::domain::ids::SessionId;
use crate::domain::keys;
use crate::domain::time::epoch_seconds;

/// How long sequenced events (and fan-out checkpoints) are kept: for resync over HTTP and for
/// redelivered fan-out; a client gone longer reloads the session instead.
pub const EVENTS_TTL_SECONDS: i64 = 3_600;

/// A session's sequence as the sequencer reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamState {
    /// The number the next event gets (1 for a session's first).
    pub next_seq: u64,
    /// The window events are numbered into, unless it is closed.
    pub window_from: u64,
    pub window_to: u64,
    /// When the open window ends (epoch ms).
    pub window_end_ms: i64,
    /// Whether the window holds an event for the whole session (else only for the stage or
    /// single users: then it is not posted to everyone).
    pub window_broadcast: bool,
    /// Where the frames of this window to sockets that only get the session's events start:
    /// after the last window that was posted to everyone.
    pub plain_from: u64,
    /// The window's length and shard count, as it was opened.
    pub window_ms: u64,
    pub window_shards: u32,
    pub closed: bool,
    /// Whether the session has a window at all (its first event opens one).
    pub exists: bool,
    /// Message ids of the last batch numbered (a redelivery of them is skipped).
    pub last_batch: Vec<String>,
    /// The session's connection epoch (P12): moved on by every socket opened or forgotten.
    pub conn_epoch: u64,
}

/// A window the sequencer opens.
#[derive(Clone, Copy, Debug)]
pub struct NewWindow {
    /// When it ends (epoch ms), and its length.
    pub end_ms: i64,
    pub window_ms: u64,
    pub shards: u32,
    /// Whether its first events include one for the whole session.
    pub broadcast: bool,
    /// An open window that ended before this (epoch ms) lost its deliveries: it is given up.
    pub stale_before: i64,
}

/// How a window served by a fan-out invocation ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowEnd {
    /// Closed at `to` (by this call or an earlier one); `broadcast`: it holds an event for the
    /// whole session; `plain_from`: where its frames to everyone start; `conn_epoch`: the
    /// session's connection epoch (P12) as the window closed, after every socket whose events it
    /// holds had opened.
    Closed {
        to: u64,
        broadcast: bool,
        plain_from: u64,
        conn_epoch: u64,
    },
    /// The sequence moved past it (a later window is open, from `next_from`): its events are
    /// those numbered into it, below `next_from`.
    Passed { next_from: u64, conn_epoch: u64 },
    /// Not opened yet (its opener has not recorded it): try again later.
    NotOpen,
}

/// A window as its shards post it: how it closed, its events and the session's moderators then
/// (user ids).
#[derive(Clone, Debug)]
pub struct ClosedWindow {
    pub to: u64,
    pub broadcast: bool,
    pub plain_from: u64,
    pub conn_epoch: u64,
    pub events: Arc<Vec<Sequenced>>,
    pub moderators: Arc<Vec<String>>,
}

/// The windows this process closed and read, for the other shards of each: every shard of a
/// window closes it and reads the same events and moderators, so the first shard served here
/// does and the others wait for its answer. In AWS each shard is an invocation of its own and a
/// warm container serves another shard of the same window now and then; the local gateway runs
/// them all in one process. Bounded, and emptied when full.
pub type ClosedWindows = PerProcess<(SessionId, u64), OnceCell<Arc<ClosedWindow>>>;

pub(super) fn closed_windows() -> Arc<ClosedWindows> {
    Arc::new(PerProcess::new(CLOSED_WINDOWS_MAX))
}

/// Windows kept at most by one process (the ones being delivered now, and a little history for
/// late shards).
const CLOSED_WINDOWS_MAX: usize = 1_024;

/// What one shard's fan-out of one window has done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub done: bool,
    /// Sockets still owed the window's frames (set when an invocation could not reach them).
    pub owed: Option<Vec<String>>,
}

impl StreamState {
    /// Where the frames to everyone of the next window opened after this state start: frames to
    /// everyone skip the windows that were not posted to everyone, so from the first window
    /// after the last one that was.
    pub fn next_plain_from(&self) -> u64 {
        if !self.exists || self.window_broadcast {
            self.next_seq
        } else {
            self.plain_from.max(1)
        }
    }
}

impl Store {
    /// P28, P29: the window of `session_id` opened at `from` as `close` closes it and reads its
    /// events, once per process: a failed `close` is not kept, and the next shard tries again.
    pub async fn closed_window<E, Fut>(
        &self,
        session_id: &SessionId,
        from: u64,
        close: impl FnOnce() -> Fut,
    ) -> Result<Arc<ClosedWindow>, E>
    where
        Fut: Future<Output = Result<ClosedWindow, E>>,
    {
        self.windows
            .entry((*session_id, from))
            .get_or_try_init(|| async { close().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// P28: the session's sequence and window (consistent).
    pub async fn stream(&self, session_id: &SessionId) -> StoreResult<StreamState> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::stream(session_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        let Some(item) = out.item else {
            return Ok(StreamState {
                next_seq: 1,
                ..Default::default()
            });
        };
        Ok(StreamState {
            next_seq: number(&item, "next_seq").max(1) as u64,
            window_from: number(&item, "window_from") as u64,
            window_to: number(&item, "window_to") as u64,
            window_end_ms: number(&item, "window_end"),
            window_broadcast: item
                .get("window_broadcast")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(true),
            plain_from: number(&item, "plain_from") as u64,
            window_ms: number(&item, "window_ms") as u64,
            window_shards: number(&item, "window_shards").max(1) as u32,
            closed: item
                .get("closed")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(true),
            // Only sockets may have written it yet (their epoch): no window then.
            exists: item.contains_key("next_seq"),
            conn_epoch: number(&item, "conn_epoch") as u64,
            last_batch: item
                .get("last_batch")
                .and_then(|v| v.as_l().ok())
                .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
                .unwrap_or_default(),
        })
    }

    /// P29: writes events numbered `first..` (BatchWriteItem, 25 at a time; rewriting one is
    /// harmless: the same number always carries the same event of the same window).
    pub async fn put_events(&self, session_id: &SessionId, window_from: u64, events: &[Sequenced]) -> StoreResult<()> {
        let expires = epoch_seconds() + EVENTS_TTL_SECONDS;
        let requests: Vec<WriteRequest> = events
            .iter()
            .map(|e| {
                let mut item = key_item(&keys::event(session_id, e.seq));
                item.insert("seq".into(), n(e.seq));
                item.insert("window".into(), n(window_from));
                item.insert(
                    "audience".into(),
                    s(serde_json::to_string(&e.audience).map_err(failed)?),
                );
                item.insert("event".into(), s(e.event.to_string()));
                item.insert("expires_at".into(), n(expires));
                let put = PutRequest::builder().set_item(Some(item)).build().map_err(failed)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<StoreResult<_>>()?;
        self.batch_write(requests, "writing events").await
    }

    /// P28: numbers `ids.len()` more events into the open window (`broadcast`: one of them is for
    /// the whole session); false when the window was closed meanwhile (or the sequence is not
    /// where `read` saw it): read again and decide anew.
    pub async fn append_to_window(
        &self,
        session_id: &SessionId,
        read: &StreamState,
        ids: &[String],
        broadcast: bool,
    ) -> StoreResult<bool> {
        let numbering = self.numbering(session_id, read, ids);
        let update = if broadcast {
            numbering
                .update_expression("SET next_seq = :next, window_to = :to, last_batch = :ids, window_broadcast = :true")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
        } else {
            numbering.update_expression("SET next_seq = :next, window_to = :to, last_batch = :ids")
        }
        .condition_expression("next_seq = :read AND closed = :false AND window_from = :from")
        .expression_attribute_values(":from", n(read.window_from));
        Ok(self.conditional_update(update).await?.is_none())
    }

    /// P28: opens the window `w` at `read.next_seq` holding `ids.len()` events; false when the
    /// sequence moved or the current window is still open (and not stale).
    pub async fn open_window(
        &self,
        session_id: &SessionId,
        read: &StreamState,
        ids: &[String],
        w: &NewWindow,
    ) -> StoreResult<bool> {
        let plain_from = read.next_plain_from();
        let update = self
            .numbering(session_id, read, ids)
            .update_expression(
                "SET next_seq = :next, window_from = :from, window_to = :to, window_end = :end, closed = :false, last_batch = :ids, window_broadcast = :broadcast, plain_from = :plain, window_ms = :ms, window_shards = :shards",
            )
            .expression_attribute_values(":broadcast", AttributeValue::Bool(w.broadcast))
            .expression_attribute_values(":plain", n(plain_from))
            .expression_attribute_values(":ms", n(w.window_ms))
            .expression_attribute_values(":shards", n(w.shards))
            .condition_expression(
                "attribute_not_exists(next_seq) OR (next_seq = :read AND (closed = :true OR window_end < :stale))",
            )
            .expression_attribute_values(":stale", n(w.stale_before))
            .expression_attribute_values(":from", n(read.next_seq))
            .expression_attribute_values(":end", n(w.end_ms))
            .expression_attribute_values(":true", AttributeValue::Bool(true));
        Ok(self.conditional_update(update).await?.is_none())
    }

    /// An update of the session's `STREAM` that numbers `ids` after `read`: its values `:read`,
    /// `:next`, `:to` (the last number given), `:ids` and `:false` are bound.
    fn numbering(&self, session_id: &SessionId, read: &StreamState, ids: &[String]) -> UpdateItemFluentBuilder {
        let next = read.next_seq + ids.len() as u64;
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::stream(session_id))))
            .expression_attribute_values(":read", n(read.next_seq))
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":to", n(next - 1))
            .expression_attribute_values(":ids", ids_value(ids))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
    }

    /// P28: closes the window that opened at `from` (idempotent: every shard's invocation calls
    /// it), so the sequencer numbers later events into the next one.
    pub async fn close_window(&self, session_id: &SessionId, from: u64) -> StoreResult<WindowEnd> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::stream(session_id))))
            .update_expression("SET closed = :true")
            .condition_expression("window_from = :from")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":from", n(from))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match out {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                Ok(WindowEnd::Closed {
                    to: number(&item, "window_to") as u64,
                    broadcast: item
                        .get("window_broadcast")
                        .and_then(|v| v.as_bool().ok())
                        .copied()
                        .unwrap_or(true),
                    plain_from: (number(&item, "plain_from") as u64).min(from).max(1),
                    conn_epoch: number(&item, "conn_epoch") as u64,
                })
            }
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_) => {
                    let now = self.stream(session_id).await?;
                    Ok(if now.exists && now.window_from > from {
                        WindowEnd::Passed {
                            next_from: now.window_from,
                            conn_epoch: now.conn_epoch,
                        }
                    } else {
                        WindowEnd::NotOpen
                    })
                }
                other => Err(db_err(other)),
            },
        }
    }

    /// P29: the events numbered `from..=to` into the window that opened at `window`, in order.
    pub async fn window_events(
        &self,
        session_id: &SessionId,
        window: u64,
        from: u64,
        to: u64,
    ) -> StoreResult<Vec<Sequenced>> {
        let items = self.events_between(session_id, from, to, None).await?;
        Ok(items
            .into_iter()
            .filter(|i| number(i, "window") as u64 == window)
            .filter_map(sequenced)
            .collect())
    }

    /// P29: up to `limit` events after `after`, in order (resync).
    pub async fn events_after(&self, session_id: &SessionId, after: u64, limit: i32) -> StoreResult<Vec<Sequenced>> {
        let items = self
            .events_between(session_id, after + 1, u64::MAX / 2, Some(limit))
            .await?;
        Ok(items.into_iter().filter_map(sequenced).collect())
    }

    async fn events_between(
        &self,
        session_id: &SessionId,
        from: u64,
        to: u64,
        limit: Option<i32>,
    ) -> StoreResult<Vec<Item>> {
        let q = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(keys::events_pk(session_id)))
            .expression_attribute_values(":from", s(keys::event_sk(from)))
            .expression_attribute_values(":to", s(keys::event_sk(to.min(999_999_999_999))))
            .consistent_read(true);
        match limit {
            Some(l) => Ok(q.limit(l).send().await.map_err(db_err)?.items.unwrap_or_default()),
            None => query_all(q).await,
        }
    }

    /// P30: what the fan-out of `shard` did for the window opened at `from`.
    pub async fn checkpoint(&self, session_id: &SessionId, from: u64, shard: u32) -> StoreResult<Checkpoint> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::fanout_checkpoint(session_id, from, shard))))
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        let Some(item) = out.item.filter(|i| number(i, "expires_at") > epoch_seconds()) else {
            return Ok(Checkpoint::default());
        };
        Ok(Checkpoint {
            done: item
                .get("done")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            owed: item
                .get("owed")
                .and_then(|v| v.as_l().ok())
                .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect()),
        })
    }

    /// P30: records that `shard`'s fan-out of the window is done, or which sockets it still owes.
    pub async fn put_checkpoint(
        &self,
        session_id: &SessionId,
        from: u64,
        shard: u32,
        owed: &[String],
    ) -> StoreResult<()> {
        let mut item = key_item(&keys::fanout_checkpoint(session_id, from, shard));
        item.insert("done".into(), AttributeValue::Bool(owed.is_empty()));
        if !owed.is_empty() {
            item.insert("owed".into(), ids_value(owed));
        }
        item.insert("expires_at".into(), n(epoch_seconds() + EVENTS_TTL_SECONDS));
        self.put(item).await
    }
}

fn ids_value(ids: &[String]) -> AttributeValue {
    AttributeValue::L(ids.iter().map(s).collect())
}

fn sequenced(item: Item) -> Option<Sequenced> {
    Some(Sequenced {
        seq: number(&item, "seq") as u64,
        audience: serde_json::from_str::<Audience>(text(&item, "audience")?).ok()?,
        event: serde_json::from_str(text(&item, "event")?).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::effects::store::testing::session_id;

    fn closed(to: u64) -> ClosedWindow {
        ClosedWindow {
            to,
            broadcast: true,
            plain_from: 1,
            conn_epoch: 3,
            events: Default::default(),
            moderators: Default::default(),
        }
    }

    #[tokio::test]
    async fn the_shards_of_a_window_in_one_process_close_and_read_it_once() {
        let unused = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&unused]), "t");
        let (sid, closes) = (session_id(), AtomicUsize::new(0));
        let close = |to| {
            let closes = &closes;
            move || async move {
                closes.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok::<_, String>(closed(to))
            }
        };
        // Twenty shards at once: one close, the same answer for all.
        let shards = futures::future::join_all((0..20).map(|_| store.closed_window(&sid, 7, close(9)))).await;
        assert_eq!(closes.load(Ordering::SeqCst), 1);
        assert!(shards.iter().all(|w| w.as_ref().unwrap().to == 9));
        // Another window is its own.
        store.closed_window(&sid, 10, close(12)).await.unwrap();
        assert_eq!(closes.load(Ordering::SeqCst), 2);
        // A close that failed is not kept: the next shard closes it.
        let failed = store
            .closed_window(&sid, 13, || async { Err::<ClosedWindow, _>("throttled".to_string()) })
            .await;
        assert!(failed.is_err());
        assert_eq!(store.closed_window(&sid, 13, close(14)).await.unwrap().to, 14);
        assert_eq!(closes.load(Ordering::SeqCst), 3);
        assert_eq!(unused.num_calls(), 0);
    }
}
