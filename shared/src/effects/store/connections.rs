//! Access patterns of WebSocket connections and the audiences of pushes (`docs/data-model.md`,
//! P12, P17).

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::error::{Refusal, StoreError, StoreResult};
use super::item::{db_err, failed, from_item, key_item, n, number, present_values, s, text, to_item, Item};
use super::per_process::PerProcess;
use super::stream::EVENTS_TTL_SECONDS;
use super::transact::{backoff, MAX_ATTEMPTS};
use super::{query_all, Store};
use crate::domain::fanout;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::time::{epoch_seconds, Timestamp};
use crate::domain::{Connection, ParticipantStatus};

/// A connection as the fan-out sees it (from GSI1 keys alone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRef {
    pub connection_id: String,
    pub user_id: String,
}

/// The connection item of `c`, under the session's fan-out index.
fn connection_item(c: &Connection) -> StoreResult<Item> {
    let mut item = to_item(&keys::connection(&c.connection_id), c)?;
    item.insert(keys::GSI1_PK.into(), s(keys::connections_index_pk(&c.session_id)));
    item.insert(keys::GSI1_SK.into(), s(socket_key(c)));
    Ok(item)
}

/// `c`'s GSI1 sort key under its session: its fan-out bucket, its user, itself.
fn socket_key(c: &Connection) -> String {
    keys::connections_index_sk(fanout::bucket_of(&c.connection_id), &c.user_id, &c.connection_id)
}

/// The connection a GSI1 sort key names.
fn connection_ref(socket_key: &str) -> Option<ConnectionRef> {
    let (rest, conn) = socket_key.rsplit_once('#')?;
    let (_bucket, user) = rest.split_once('#')?;
    Some(ConnectionRef {
        connection_id: conn.to_string(),
        user_id: user.to_string(),
    })
}

/// `c` in its user's set of sockets: oldest first in text order.
fn socket_entry(c: &Connection) -> String {
    format!("{:013}#{}", c.connected_at.unix_millis(), c.connection_id)
}

/// The sockets of the sessions a fan-out process has served, each at the connection epoch (P12)
/// it reflects. A window closed at a later epoch applies the changes since (`CONNLOG#`, one small
/// Query) instead of reading the whole audience again: a join storm costs each window the joins
/// since the last one, not the audience. Per process (a warm Lambda keeps it); bounded, and
/// emptied when full.
pub type SocketViews = PerProcess<SessionId, tokio::sync::Mutex<SocketView>>;

pub(super) fn socket_views() -> Arc<SocketViews> {
    Arc::new(PerProcess::new(SOCKET_VIEWS_MAX))
}

/// One session's sockets (their GSI1 sort keys: bucket, user, connection, so a shard is a range)
/// as of connection epoch `epoch` (`0`: never read).
#[derive(Default)]
pub struct SocketView {
    epoch: u64,
    sockets: BTreeSet<String>,
}

/// Sessions whose sockets one process keeps at most (a few dozen huge audiences).
const SOCKET_VIEWS_MAX: usize = 64;

/// The most changes a view catches up on; further behind, the audience is read again.
const CHANGES_MAX: u64 = 5_000;

/// Reads of the changes before a view gives up waiting for one still being recorded (it is put
/// just after its epoch moved) and reads the audience again.
const CHANGE_READS: u32 = 3;

/// How long after `$connect` recorded a connection a `410` for it means "still opening", not
/// gone: longer than any `$connect` invocation runs.
pub const HANDSHAKE_GRACE_SECONDS: i64 = 30;

impl Store {
    /// P12: records a connection item (with its TTL) as it is, whoever its user, and moves the
    /// session's connection epoch on like any socket opened.
    pub async fn put_connection(&self, c: &Connection) -> StoreResult<()> {
        self.put(connection_item(c)?).await?;
        self.bump_connection_epoch(c, true).await
    }

    /// P12: opens a socket of a present participant: in one transaction, the participant is still
    /// present (a kick cannot slip between the checks and the write), the connection is recorded
    /// and counted in the user's set of sockets, which holds at most `max`. At the bound, the
    /// user's oldest socket is let go (taken out of the set) and the attempt repeated. Returns the
    /// connection ids let go, for the caller to close.
    pub async fn open_connection(&self, c: &Connection, max: usize) -> StoreResult<Vec<String>> {
        let mut present = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(&c.session_id, &c.user_id))))
            .condition_expression("#st IN (:active, :muted)")
            .expression_attribute_names("#st", "status")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in present_values() {
            present = present.expression_attribute_values(k, v);
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(connection_item(c)?))
            .build()
            .map_err(failed)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::sockets(&c.session_id, &c.user_id))))
            .update_expression("ADD #open :me")
            .condition_expression("attribute_not_exists(#open) OR size(#open) < :max")
            .expression_attribute_names("#open", "open")
            .expression_attribute_values(":me", AttributeValue::Ss(vec![socket_entry(c)]))
            .expression_attribute_values(":max", n(max))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(failed)?;
        let items = vec![
            TransactWriteItem::builder()
                .condition_check(present.build().map_err(failed)?)
                .build(),
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        let mut let_go = Vec::new();
        for attempt in 0..MAX_ATTEMPTS {
            let why = match self.transact_settled(items.clone(), "opening a socket").await? {
                Ok(()) => {
                    self.bump_connection_epoch(c, true).await?;
                    return Ok(let_go);
                }
                Err(why) => why,
            };
            if why.failed(0) {
                let barred = why.item(0).is_some_and(|p| {
                    [ParticipantStatus::Kicked, ParticipantStatus::Banned]
                        .iter()
                        .any(|b| text(&p, "status") == Some(b.as_str()))
                });
                return Err(if barred { Refusal::Barred } else { Refusal::Absent }.into());
            }
            let open = why
                .item(2)
                .and_then(|i| i.get("open").and_then(|v| v.as_ss().ok()).cloned())
                .unwrap_or_default();
            let Some(oldest) = open.iter().min() else {
                backoff(attempt).await;
                continue;
            };
            let leave = self
                .db
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_item(&keys::sockets(&c.session_id, &c.user_id))))
                .update_expression("DELETE #open :it")
                .condition_expression("contains(#open, :one)")
                .expression_attribute_names("#open", "open")
                .expression_attribute_values(":it", AttributeValue::Ss(vec![oldest.clone()]))
                .expression_attribute_values(":one", s(oldest));
            if self.conditional_update(leave).await?.is_none() {
                let_go.extend(oldest.split_once('#').map(|(_, id)| id.to_string()));
            }
        }
        Err(StoreError::Busy("opening a socket".into()))
    }

    /// P12: a connection by id; an expired one is none (TTL deletes lag by up to two days).
    pub async fn connection(&self, connection_id: &str) -> StoreResult<Option<Connection>> {
        let c: Option<Connection> = self.get(keys::connection(connection_id)).await?;
        Ok(c.filter(|c| c.expires_at > epoch_seconds()))
    }

    /// P12: forgets a connection (on `$disconnect`, or when it is let go or closed): its item,
    /// and its place in its user's set of sockets.
    pub async fn delete_connection(&self, connection_id: &str) -> StoreResult<()> {
        self.forget_connection(connection_id, None).await
    }

    /// P12: forgets a connection a push found gone (`410`), unless it was recorded within
    /// `HANDSHAKE_GRACE_SECONDS`: API Gateway answers 410 to a connection whose `$connect` is
    /// still running, and that one is about to open, not stale.
    pub async fn delete_gone_connection(&self, connection_id: &str) -> StoreResult<()> {
        let cutoff = Timestamp::now().plus_seconds(-HANDSHAKE_GRACE_SECONDS);
        self.forget_connection(connection_id, Some(cutoff)).await
    }

    async fn forget_connection(&self, connection_id: &str, older_than: Option<Timestamp>) -> StoreResult<()> {
        let mut delete = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::connection(connection_id))))
            .return_values(ReturnValue::AllOld);
        if let Some(cutoff) = older_than {
            delete = delete
                .condition_expression("connected_at < :cutoff")
                .expression_attribute_values(":cutoff", s(cutoff));
        }
        let out = match delete.send().await {
            Ok(out) => out,
            Err(e) => match e.into_service_error() {
                DeleteItemError::ConditionalCheckFailedException(_) => return Ok(()),
                other => return Err(db_err(other)),
            },
        };
        let Some(old) = out.attributes.filter(|a| !a.is_empty()) else {
            return Ok(());
        };
        let c: Connection = from_item(old)?;
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::sockets(&c.session_id, &c.user_id))))
            .update_expression("DELETE #open :it")
            .expression_attribute_names("#open", "open")
            .expression_attribute_values(":it", AttributeValue::Ss(vec![socket_entry(&c)]))
            .send()
            .await
            .map_err(db_err)?;
        self.bump_connection_epoch(&c, false).await
    }

    /// P12: moves the session's connection epoch on (`ADD conn_epoch 1` on `STREAM`, after the
    /// connection's own write and outside its transaction, so a socket storm never conflicts on
    /// it): the fan-out brings its shards' sockets up to date for windows closed from then on.
    /// Then records the change under the epoch it moved to (`CONNLOG#`), for warm fan-outs to
    /// apply. A change not recorded (the put failed) costs the fan-out one read of the whole
    /// audience, never a socket: it finds the epoch missing and reads the index instead.
    async fn bump_connection_epoch(&self, c: &Connection, opened: bool) -> StoreResult<()> {
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::stream(&c.session_id))))
            .update_expression("ADD conn_epoch :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(db_err)?;
        let epoch = number(&out.attributes.unwrap_or_default(), "conn_epoch") as u64;
        let mut change = key_item(&keys::connection_change(&c.session_id, epoch));
        change.insert("socket".into(), s(socket_key(c)));
        change.insert("opened".into(), AttributeValue::Bool(opened));
        change.insert("expires_at".into(), n(epoch_seconds() + EVENTS_TTL_SECONDS));
        if let Err(e) = self.put(change).await {
            tracing::warn!(error = %e, session_id = %c.session_id, epoch, "connection change not recorded; the fan-out reads the audience again");
        }
        Ok(())
    }

    /// P12: the open sockets of one user in a session: a key lookup of their set of sockets,
    /// whatever the audience.
    pub async fn user_connections(&self, session_id: &SessionId, user_id: &UserId) -> StoreResult<Vec<ConnectionRef>> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::sockets(session_id, user_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        let open = out
            .item
            .and_then(|i| i.get("open").and_then(|v| v.as_ss().ok()).cloned())
            .unwrap_or_default();
        Ok(open
            .iter()
            .filter_map(|entry| entry.split_once('#'))
            .map(|(_, conn)| ConnectionRef {
                connection_id: conn.to_string(),
                user_id: user_id.to_string(),
            })
            .collect())
    }

    /// P12: the GSI1 sort keys of a session's sockets in fan-out buckets `first..=last`, every
    /// page.
    async fn socket_keys(&self, session_id: &SessionId, first: u32, last: u32) -> StoreResult<Vec<String>> {
        let (from, to) = keys::connections_index_buckets(first, last);
        let items = query_all(
            self.db
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI1)
                .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(keys::connections_index_pk(session_id)))
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(to)),
        )
        .await?;
        Ok(items
            .iter()
            .filter_map(|i| text(i, keys::GSI1_SK).map(str::to_string))
            .collect())
    }

    /// P12: the sockets of a session in fan-out buckets `first..=last` (one shard), read from the
    /// index.
    pub async fn shard_connections(
        &self,
        session_id: &SessionId,
        first: u32,
        last: u32,
    ) -> StoreResult<Vec<ConnectionRef>> {
        let sockets = self.socket_keys(session_id, first, last).await?;
        Ok(sockets.iter().filter_map(|k| connection_ref(k)).collect())
    }

    /// P12: one shard's sockets for a window closed at connection epoch `epoch`, from this
    /// process's view of the session brought up to `epoch` (`0`, an epoch not known: read from
    /// the index). A view already past `epoch` serves as it is: like a read of the index, it may
    /// hold sockets opened since, which the window's frames do not harm.
    pub async fn shard_connections_at(
        &self,
        session_id: &SessionId,
        shard: u32,
        shards: u32,
        epoch: u64,
    ) -> StoreResult<Arc<Vec<ConnectionRef>>> {
        let (first, last) = fanout::shard_buckets(shard, shards);
        if epoch == 0 {
            return Ok(Arc::new(self.shard_connections(session_id, first, last).await?));
        }
        let view = self.sockets.entry(*session_id);
        // One reader per session at a time: the shards of a window waiting here find the view
        // brought up to date by the first.
        let mut view = view.lock().await;
        if view.epoch < epoch {
            self.catch_up(session_id, &mut view, epoch).await?;
        }
        let (from, to) = keys::connections_index_buckets(first, last);
        Ok(Arc::new(
            view.sockets
                .range(from..=to)
                .filter_map(|k| connection_ref(k))
                .collect(),
        ))
    }

    /// Brings `view` up to connection epoch `epoch`: the changes since its own, in order, when
    /// every one of them is recorded; else (too far behind, a change lost, or a view never read)
    /// the whole audience from the index.
    async fn catch_up(&self, session_id: &SessionId, view: &mut SocketView, epoch: u64) -> StoreResult<()> {
        if view.epoch > 0 && epoch - view.epoch <= CHANGES_MAX {
            for attempt in 0..CHANGE_READS {
                for (at, socket, opened) in self.connection_changes(session_id, view.epoch + 1, epoch).await? {
                    // A change missing from the run (still being put, or lost) stops it there.
                    if at != view.epoch + 1 {
                        break;
                    }
                    if opened {
                        view.sockets.insert(socket);
                    } else {
                        view.sockets.remove(&socket);
                    }
                    view.epoch = at;
                }
                if view.epoch >= epoch {
                    return Ok(());
                }
                backoff(attempt).await;
            }
        }
        view.sockets = self
            .socket_keys(session_id, 0, fanout::BUCKETS - 1)
            .await?
            .into_iter()
            .collect();
        view.epoch = epoch;
        Ok(())
    }

    /// P12: the connection changes recorded for epochs `from..=to`, in order: (epoch, socket's
    /// GSI1 sort key, opened).
    async fn connection_changes(
        &self,
        session_id: &SessionId,
        from: u64,
        to: u64,
    ) -> StoreResult<Vec<(u64, String, bool)>> {
        let items = query_all(
            self.db
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(keys::connection_changes_pk(session_id)))
                .expression_attribute_values(":from", s(keys::connection_change_sk(from)))
                .expression_attribute_values(":to", s(keys::connection_change_sk(to)))
                .consistent_read(true),
        )
        .await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let at = text(i, keys::SK)?.parse().ok()?;
                let opened = i.get("opened").and_then(|v| v.as_bool().ok()).copied()?;
                Some((at, text(i, "socket")?.to_string(), opened))
            })
            .collect())
    }

    /// P17: ids of the host and cohosts of a session, from the session item (which keeps the
    /// cohost list, so a push to the stage never reads the audience).
    pub async fn moderators(&self, session_id: &SessionId) -> StoreResult<Vec<UserId>> {
        Ok(self
            .session(session_id)
            .await?
            .map(|s| s.moderators())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    fn socket(bucket: u32, user: &str, conn: &str) -> Item {
        let mut item = Item::new();
        let user = UserId::parse(user).unwrap();
        item.insert(keys::GSI1_SK.into(), s(keys::connections_index_sk(bucket, &user, conn)));
        item
    }

    fn change(epoch: u64, socket: Item, opened: bool) -> Item {
        let mut item = key_item(&keys::connection_change(&session(), epoch));
        item.insert("socket".into(), socket[keys::GSI1_SK].clone());
        item.insert("opened".into(), AttributeValue::Bool(opened));
        item
    }

    fn session() -> SessionId {
        SessionId::parse("5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30").unwrap()
    }

    /// The changes Query from epoch `from` on.
    fn changes_from(r: &QueryInput, from: u64) -> bool {
        r.index_name().is_none()
            && r.expression_attribute_values()
                .and_then(|v| v.get(":from"))
                .and_then(|v| v.as_s().ok())
                == Some(&keys::connection_change_sk(from))
    }

    fn users(sockets: &[ConnectionRef]) -> Vec<(&str, &str)> {
        sockets
            .iter()
            .map(|c| (c.user_id.as_str(), c.connection_id.as_str()))
            .collect()
    }

    #[tokio::test]
    async fn a_warm_fan_out_applies_the_connection_changes_since_its_epoch() {
        let index = mock!(Client::query)
            .match_requests(|r| r.index_name().is_some())
            .then_output(|| {
                QueryOutput::builder()
                    .items(socket(3, "bob", "c1"))
                    .items(socket(4, "eve", "c2"))
                    .build()
            });
        // Epoch 8 opened ann's socket, 9 forgot bob's.
        let recorded = mock!(Client::query)
            .match_requests(|r| changes_from(r, 8))
            .then_output(|| {
                QueryOutput::builder()
                    .items(change(8, socket(5, "ann", "c3"), true))
                    .items(change(9, socket(3, "bob", "c1"), false))
                    .build()
            });
        // Epoch 10 is recorded, 11 is not (its put failed).
        let missing = mock!(Client::query)
            .match_requests(|r| changes_from(r, 10) || changes_from(r, 11))
            .then_output(|| {
                QueryOutput::builder()
                    .items(change(10, socket(6, "joe", "c4"), true))
                    .build()
            });
        let store = Store::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&index, &recorded, &missing]),
            "t",
        );
        let sid = session();
        // A view never read: the whole audience from the index, once for every shard.
        let first = store.shard_connections_at(&sid, 0, 4, 7).await.unwrap();
        assert_eq!(users(&first), [("bob", "c1"), ("eve", "c2")]);
        assert!(store.shard_connections_at(&sid, 1, 4, 7).await.unwrap().is_empty());
        assert_eq!(
            users(&store.shard_connections_at(&sid, 0, 8, 7).await.unwrap()),
            [("bob", "c1"), ("eve", "c2")]
        );
        assert_eq!(index.num_calls(), 1);
        // Two sockets came and went: their changes, applied in order, not the audience again.
        let later = store.shard_connections_at(&sid, 0, 4, 9).await.unwrap();
        assert_eq!(users(&later), [("eve", "c2"), ("ann", "c3")]);
        assert_eq!((index.num_calls(), recorded.num_calls()), (1, 1));
        // An older window's epoch reads nothing: the view past it serves.
        store.shard_connections_at(&sid, 0, 4, 8).await.unwrap();
        assert_eq!((index.num_calls(), recorded.num_calls()), (1, 1));
        // A change that stays missing: asked for again a few times, then the audience is read.
        store.shard_connections_at(&sid, 0, 4, 11).await.unwrap();
        assert_eq!(missing.num_calls(), CHANGE_READS as usize);
        assert_eq!(index.num_calls(), 2);
        // No epoch known: the index, every time.
        store.shard_connections_at(&sid, 2, 4, 0).await.unwrap();
        store.shard_connections_at(&sid, 2, 4, 0).await.unwrap();
        assert_eq!(index.num_calls(), 4);
    }
}
