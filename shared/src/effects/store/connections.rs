//! Access patterns of WebSocket connections and the audiences of pushes (`docs/data-model.md`,
//! P12, P17).

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::error::{Refusal, StoreError, StoreResult};
use super::item::{db_err, failed, from_item, key_item, n, present_values, s, text, to_item, Item};
use super::transact::{backoff, MAX_ATTEMPTS};
use super::Store;
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
    item.insert(
        keys::GSI1_SK.into(),
        s(keys::connections_index_sk(
            fanout::bucket_of(&c.connection_id),
            &c.user_id,
            &c.connection_id,
        )),
    );
    Ok(item)
}

/// `c` in its user's set of sockets: oldest first in text order.
fn socket_entry(c: &Connection) -> String {
    format!("{:013}#{}", c.connected_at.unix_millis(), c.connection_id)
}

/// One shard's sockets as a fan-out invocation last read them, with the session's connection
/// epoch (P12) they were read at. A window opened at the same epoch reuses them: nothing
/// connected or disconnected since, so the index would answer the same. Per process (a warm
/// Lambda keeps it); bounded, and emptied when full.
#[derive(Default)]
pub struct ShardCache(std::sync::Mutex<HashMap<ShardKey, ReadAt>>);

/// A session's shard `shard` of `shards`.
type ShardKey = (SessionId, u32, u32);

/// A shard's sockets and the connection epoch they were read at.
type ReadAt = (u64, Arc<Vec<ConnectionRef>>);

/// Shards kept at most by one process (a few hundred sessions of huge audiences).
const SHARD_CACHE_MAX: usize = 4_096;

/// How long after `$connect` recorded a connection a `410` for it means "still opening", not
/// gone: longer than any `$connect` invocation runs.
pub const HANDSHAKE_GRACE_SECONDS: i64 = 30;

impl Store {
    /// P12: records a connection item (with its TTL) as it is, whoever its user, and moves the
    /// session's connection epoch on like any socket opened.
    pub async fn put_connection(&self, c: &Connection) -> StoreResult<()> {
        self.put(connection_item(c)?).await?;
        self.bump_connection_epoch(&c.session_id).await
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
                    self.bump_connection_epoch(&c.session_id).await?;
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
        self.bump_connection_epoch(&c.session_id).await
    }

    /// P12: moves the session's connection epoch on (`ADD conn_epoch 1` on `STREAM`, after the
    /// connection's own write and outside its transaction, so a socket storm never conflicts on
    /// it): the fan-out reads its shards' sockets again for windows opened from then on.
    async fn bump_connection_epoch(&self, session_id: &SessionId) -> StoreResult<()> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::stream(session_id))))
            .update_expression("ADD conn_epoch :one")
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map(|_| ())
            .map_err(db_err)
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

    /// P12: the sockets of a session in fan-out buckets `first..=last` (one shard), every page.
    pub async fn shard_connections(
        &self,
        session_id: &SessionId,
        first: u32,
        last: u32,
    ) -> StoreResult<Vec<ConnectionRef>> {
        let (from, to) = keys::connections_index_buckets(first, last);
        let items: Vec<Item> = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(keys::connections_index_pk(session_id)))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(db_err)?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let (rest, conn) = text(i, keys::GSI1_SK)?.rsplit_once('#')?;
                let (_bucket, user) = rest.split_once('#')?;
                Some(ConnectionRef {
                    connection_id: conn.to_string(),
                    user_id: user.to_string(),
                })
            })
            .collect())
    }

    /// P12: one shard's sockets for a window opened at connection epoch `epoch`: as last read by
    /// this process when that was at the same epoch, else read again (`0`, an epoch not known:
    /// always read).
    pub async fn shard_connections_at(
        &self,
        session_id: &SessionId,
        shard: u32,
        shards: u32,
        epoch: u64,
    ) -> StoreResult<Arc<Vec<ConnectionRef>>> {
        let key = (*session_id, shard, shards);
        if epoch > 0 {
            let cache = self.shards.0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, sockets)) = cache.get(&key) {
                if *at == epoch {
                    return Ok(sockets.clone());
                }
            }
        }
        let (first, last) = fanout::shard_buckets(shard, shards);
        let sockets = Arc::new(self.shard_connections(session_id, first, last).await?);
        if epoch > 0 {
            let mut cache = self.shards.0.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= SHARD_CACHE_MAX {
                cache.clear();
            }
            // A newer epoch already stored by a later window stays.
            if cache.get(&key).is_none_or(|(at, _)| *at < epoch) {
                cache.insert(key, (epoch, sockets.clone()));
            }
        }
        Ok(sockets)
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
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    fn socket(bucket: u32, user: &str, conn: &str) -> Item {
        let mut item = Item::new();
        let user = UserId::parse(user).unwrap();
        item.insert(keys::GSI1_SK.into(), s(keys::connections_index_sk(bucket, &user, conn)));
        item
    }

    #[tokio::test]
    async fn a_shards_sockets_are_read_again_only_when_the_epoch_moved() {
        let query = mock!(Client::query).then_output(|| {
            QueryOutput::builder()
                .items(socket(3, "bob", "c1"))
                .items(socket(4, "eve", "c2"))
                .build()
        });
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&query]), "t");
        let session = SessionId::parse("5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30").unwrap();
        let first = store.shard_connections_at(&session, 0, 4, 7).await.unwrap();
        assert_eq!(
            first
                .iter()
                .map(|c| (c.user_id.as_str(), c.connection_id.as_str()))
                .collect::<Vec<_>>(),
            [("bob", "c1"), ("eve", "c2")]
        );
        // The same epoch: the same sockets, no read.
        let again = store.shard_connections_at(&session, 0, 4, 7).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(query.num_calls(), 1);
        // Another shard, or another shard count, is its own entry.
        store.shard_connections_at(&session, 1, 4, 7).await.unwrap();
        store.shard_connections_at(&session, 0, 8, 7).await.unwrap();
        assert_eq!(query.num_calls(), 3);
        // A socket came or went: read again, and an older window's epoch does not replace it.
        store.shard_connections_at(&session, 0, 4, 8).await.unwrap();
        store.shard_connections_at(&session, 0, 4, 7).await.unwrap();
        store.shard_connections_at(&session, 0, 4, 8).await.unwrap();
        assert_eq!(query.num_calls(), 5);
        // No epoch known: never cached.
        store.shard_connections_at(&session, 2, 4, 0).await.unwrap();
        store.shard_connections_at(&session, 2, 4, 0).await.unwrap();
        assert_eq!(query.num_calls(), 7);
    }
}
