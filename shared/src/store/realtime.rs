//! Access patterns of the realtime side: WebSocket connections, chat, slow mode, reaction counts,
//! rate-limit windows and push coalescing windows (`docs/data-model.md`, P11–P17).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use super::*;
use crate::domain::{ChatMessage, Connection, ReactionType};

/// Shards of a session's reaction counts: writes spread over them, reads sum them.
pub const REACTION_SHARDS: u32 = 16;

/// A connection as the fan-out sees it (from GSI1 keys alone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRef {
    pub connection_id: String,
    pub user_id: String,
}

impl Store {
    /// P12: records a connection (with its TTL) under the session's fan-out index.
    pub async fn put_connection(&self, c: &Connection) -> ApiResult<()> {
        let mut item = to_item(&keys::connection(&c.connection_id), c)?;
        item.insert(keys::GSI1_PK.into(), s(keys::connections_index_pk(&c.session_id)));
        item.insert(
            keys::GSI1_SK.into(),
            s(keys::connections_index_sk(&c.user_id, &c.connection_id)),
        );
        self.put(item).await
    }

    pub async fn connection(&self, connection_id: &str) -> ApiResult<Option<Connection>> {
        let c: Option<Connection> = self.get(keys::connection(connection_id)).await?;
        // TTL deletes lag by up to two days: an expired item is no connection.
        Ok(c.filter(|c| c.expires_at > crate::clock::epoch_seconds()))
    }

    /// Deletes a connection item (on `$disconnect`, or when a push finds it gone).
    pub async fn delete_connection(&self, connection_id: &str) -> ApiResult<()> {
        self.db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::connection(connection_id))))
            .send()
            .await
            .map(|_| ())
            .map_err(db_err)
    }

    /// P12: connections of a session, optionally of one user only, following every page.
    pub async fn session_connections(&self, session_id: &str, user_id: Option<&str>) -> ApiResult<Vec<ConnectionRef>> {
        let mut q = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .expression_attribute_values(":pk", s(keys::connections_index_pk(session_id)));
        q = match user_id {
            Some(u) => q
                .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :user)")
                .expression_attribute_values(":user", s(format!("{u}#"))),
            None => q.key_condition_expression("gsi1pk = :pk"),
        };
        let items: Vec<Item> = q.into_paginator().items().send().try_collect().await.map_err(db_err)?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let sk = i.get(keys::GSI1_SK)?.as_s().ok()?;
                let (user, conn) = sk.split_once('#')?;
                Some(ConnectionRef {
                    connection_id: conn.to_string(),
                    user_id: user.to_string(),
                })
            })
            .collect())
    }

    /// P17: ids of the host and cohosts of a session, from the session item (which keeps the
    /// cohost list, so a push to the stage never reads the audience).
    pub async fn moderators(&self, session_id: &str) -> ApiResult<Vec<String>> {
        Ok(self
            .session(session_id)
            .await?
            .map(|s| std::iter::once(s.host_id).chain(s.cohosts).collect())
            .unwrap_or_default())
    }

    /// P11: stores a chat message. With `slow_mode_ms`, the author's next-allowed time is advanced
    /// in the same transaction, conditionally: inside the window nothing is stored and the answer
    /// is 429 with the seconds left.
    pub async fn put_chat_message(&self, m: &ChatMessage, slow_mode_ms: Option<i64>) -> ApiResult<()> {
        let item = to_item(&keys::chat_message(&m.session_id, &m.created_at, &m.id), m)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let (Some(window), Some(user)) = (slow_mode_ms, m.user_id.as_deref()) else {
            return self
                .db
                .put_item()
                .table_name(&self.table)
                .set_item(Some(put.item().clone()))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
                .map(|_| ())
                .map_err(db_err);
        };
        let now = crate::clock::epoch_millis();
        let slow = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::slow_mode(&m.session_id, user))))
            .update_expression("SET next_at = :next, expires_at = :ttl")
            .condition_expression("attribute_not_exists(next_at) OR next_at <= :now")
            .expression_attribute_values(":next", n(now + window))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":ttl", n((now + window) / 1000 + 60))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            TransactWriteItem::builder().update(slow).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        match self.transact_settled(items, "chat").await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(0) => {
                let next_at = match c.item(0) {
                    Some(old) => number(&old, "next_at"),
                    None => self.slow_mode_next(&m.session_id, user).await?,
                };
                let wait_ms = (next_at - crate::clock::epoch_millis()).max(1);
                Err(ApiError::TooManyRequests {
                    retry_after_seconds: ((wait_ms + 999) / 1000) as u64,
                    detail: "slow mode: wait before sending another message".into(),
                })
            }
            Err(_) => Err(ApiError::internal("chat message id collision")),
        }
    }

    async fn slow_mode_next(&self, session_id: &str, user_id: &str) -> ApiResult<i64> {
        let item: Option<HashMap<String, serde_json::Value>> = self.get(keys::slow_mode(session_id, user_id)).await?;
        Ok(item
            .and_then(|i| i.get("next_at").and_then(|v| v.as_i64()))
            .unwrap_or(0))
    }

    /// P11: one page of a session's chat, newest first. `start` is a decoded cursor; `before` an
    /// exclusive upper bound on the sort key (from a timestamp).
    pub async fn chat_page(
        &self,
        session_id: &str,
        limit: i32,
        cursor: Option<&str>,
        before_sk: Option<String>,
    ) -> ApiResult<(Vec<ChatMessage>, Option<String>)> {
        let q = self
            .partition_page(&keys::chat_pk(session_id), "before", cursor, limit)?
            .scan_index_forward(false);
        let q = match before_sk {
            Some(b) => q
                .key_condition_expression("pk = :pk AND sk < :before")
                .expression_attribute_values(":before", s(b)),
            None => q
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(keys::CHAT_PREFIX)),
        };
        page(q).await
    }

    /// P13 + P14: counts one reaction in one transaction: the session is live and the user present
    /// (condition checks, so no reads are needed first), the user's rate window (two condition
    /// branches: a new second, or the same second under the limit), and one random shard of the
    /// session's counts.
    pub async fn add_reaction(
        &self,
        session_id: &str,
        user_id: &str,
        kind: ReactionType,
        per_second: u32,
    ) -> ApiResult<()> {
        let live = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(session_id))))
            .condition_expression("#st = :live")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":live", s("live"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
        let mut present = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(session_id, user_id))))
            .condition_expression("#st IN (:active, :muted)")
            .expression_attribute_names("#st", "status")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in present_values() {
            present = present.expression_attribute_values(k, v);
        }
        let present = present.build().map_err(ApiError::internal)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::reaction_shard(
                session_id,
                rand::random_range(0..REACTION_SHARDS),
            ))))
            .update_expression("ADD #t :one")
            .expression_attribute_names("#t", kind.as_str())
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(ApiError::internal)?;
        // The window last seen in a failed condition; `None`: assume a new second.
        let mut seen_window: Option<i64> = None;
        for attempt in 0..MAX_ATTEMPTS {
            let second = crate::clock::epoch_seconds();
            let new_window = seen_window.is_none_or(|w| w < second);
            let b = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(&keys::rate_window(session_id, "react", user_id))))
                .expression_attribute_names("#w", "window")
                .expression_attribute_names("#c", "count")
                .expression_attribute_values(":win", n(second))
                .expression_attribute_values(":one", n(1))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
            let rate = if new_window {
                b.update_expression("SET #w = :win, #c = :one, expires_at = :ttl")
                    .condition_expression("attribute_not_exists(#w) OR #w < :win")
                    .expression_attribute_values(":ttl", n(second + 60))
            } else {
                b.update_expression("SET #c = #c + :one")
                    .condition_expression("#w = :win AND #c < :limit")
                    .expression_attribute_values(":limit", n(per_second))
            }
            .build()
            .map_err(ApiError::internal)?;
            let items = vec![
                TransactWriteItem::builder().condition_check(live.clone()).build(),
                TransactWriteItem::builder().condition_check(present.clone()).build(),
                TransactWriteItem::builder().update(rate).build(),
                TransactWriteItem::builder().update(count.clone()).build(),
            ];
            match self.transact(items).await {
                Ok(()) => return Ok(()),
                Err(TxError::Cancelled(c)) if c.failed(0) => {
                    let exists = c.item(0).is_some() || self.session(session_id).await?.is_some();
                    return Err(if exists {
                        ApiError::conflict("session-ended", "this live session has ended")
                    } else {
                        ApiError::NotFound(format!("no session {session_id}"))
                    });
                }
                Err(TxError::Cancelled(c)) if c.failed(1) => {
                    let status = match c.item(1) {
                        Some(item) => item.get("status").and_then(|v| v.as_s().ok()).cloned(),
                        None => self
                            .participant(session_id, user_id)
                            .await?
                            .map(|p| p.status.as_str().to_string()),
                    };
                    return Err(match status.as_deref() {
                        Some("kicked" | "banned") => ApiError::Forbidden("you were removed from this session".into()),
                        _ => ApiError::Forbidden("join the session first (POST /live/join)".into()),
                    });
                }
                Err(TxError::Cancelled(c)) if c.failed(2) => {
                    let (window, used) = match c.item(2) {
                        Some(old) => (number(&old, "window"), number(&old, "count")),
                        None => (second, i64::from(per_second)), // no image: assume the worst
                    };
                    if window >= second && used >= i64::from(per_second) {
                        return Err(ApiError::TooManyRequests {
                            retry_after_seconds: 1,
                            detail: format!("at most {per_second} reactions per second"),
                        });
                    }
                    seen_window = Some(window);
                }
                Err(TxError::Cancelled(c)) if c.transient() => backoff(attempt).await,
                Err(TxError::Cancelled(_)) => {}
                Err(TxError::Retry) => backoff(attempt).await,
                Err(TxError::Fatal(e)) => return Err(e),
            }
        }
        Err(ApiError::Unavailable("reaction retries exhausted".into()))
    }

    /// P13: a session's reaction totals, summed over its shards (one Query).
    pub async fn reaction_totals(&self, session_id: &str) -> ApiResult<HashMap<ReactionType, i64>> {
        let items = self
            .query_prefix(keys::session_pk(session_id), keys::REACTION_PREFIX)
            .await?;
        let mut totals: HashMap<ReactionType, i64> = ReactionType::ALL.iter().map(|t| (*t, 0)).collect();
        for item in &items {
            for t in ReactionType::ALL {
                *totals.entry(t).or_default() += number(item, t.as_str());
            }
        }
        Ok(totals)
    }

    /// P16: claims the leading edge of an event's push window: `Ok(None)` when this caller opened a
    /// new window (and pushes now), `Ok(Some(end))` when a window ending at `end` (epoch ms) is open.
    pub async fn claim_push_window(
        &self,
        session_id: &str,
        event_type: &str,
        window_ms: i64,
    ) -> ApiResult<Option<i64>> {
        let now = crate::clock::epoch_millis();
        let update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::push_window(session_id, event_type))))
            .update_expression("SET window_end = :end")
            .condition_expression("attribute_not_exists(window_end) OR window_end <= :now")
            .expression_attribute_values(":end", n(now + window_ms))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let Some(old) = self.conditional_update(update).await? else {
            return Ok(None);
        };
        if old.contains_key("window_end") {
            return Ok(Some(number(&old, "window_end")));
        }
        let marker: Option<HashMap<String, serde_json::Value>> =
            self.get(keys::push_window(session_id, event_type)).await?;
        Ok(Some(
            marker
                .and_then(|m| m.get("window_end").and_then(|v| v.as_i64()))
                .unwrap_or(now),
        ))
    }

    /// P16: claims the trailing edge of the window ending at `window_end`; false if already taken.
    pub async fn claim_push_trailer(&self, session_id: &str, event_type: &str, window_end: i64) -> ApiResult<bool> {
        let update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::push_window(session_id, event_type))))
            .update_expression("SET trailer_for = :end")
            .condition_expression("window_end = :end AND (attribute_not_exists(trailer_for) OR trailer_for <> :end)")
            .expression_attribute_values(":end", n(window_end));
        Ok(self.conditional_update(update).await?.is_none())
    }
}

/// A numeric attribute of an item, 0 when absent.
fn number(item: &Item, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
