//! Access patterns of chat: store a message once (with slow mode), page the history without loss
//! (`docs/data-model.md`, P11, P13).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use super::error::{Refusal, StoreResult};
use super::item::{db_err, failed, key_item, n, number, s, to_item};
use super::{page, Store};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::page::{Listing, PageRequest};
use crate::domain::time::epoch_millis;
use crate::domain::ChatMessage;

impl Store {
    /// P11 + P13: stores a chat message. With `slow_mode_ms`, the author's next-allowed time is
    /// advanced in the same transaction, conditionally: inside the window nothing is stored and
    /// the refusal says how long to wait.
    pub async fn put_chat_message(&self, m: &ChatMessage, slow_mode_ms: Option<i64>) -> StoreResult<()> {
        let item = to_item(&keys::chat_message(&m.session_id, &m.created_at, &m.id), m)?;
        let (Some(window), Some(user)) = (slow_mode_ms, m.user_id.as_ref()) else {
            return self
                .db
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
                .map(|_| ())
                .map_err(db_err);
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(failed)?;
        let now = epoch_millis();
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
            .map_err(failed)?;
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
                let wait_ms = (next_at - epoch_millis()).max(1);
                Err(Refusal::SlowMode { wait_ms }.into())
            }
            Err(_) => Err(failed("chat message id collision")),
        }
    }

    /// P13: when the user may next chat (epoch ms; 0 when never limited).
    async fn slow_mode_next(&self, session_id: &SessionId, user_id: &UserId) -> StoreResult<i64> {
        let item: Option<HashMap<String, serde_json::Value>> = self.get(keys::slow_mode(session_id, user_id)).await?;
        Ok(item
            .and_then(|i| i.get("next_at").and_then(|v| v.as_i64()))
            .unwrap_or(0))
    }

    /// P11: one page of a session's chat, newest first, after the page's cursor or, with
    /// `before_sk`, below that sort key (messages older than a time).
    pub async fn chat_page(
        &self,
        session_id: &SessionId,
        page_request: &PageRequest,
        before_sk: Option<String>,
    ) -> StoreResult<Listing<ChatMessage>> {
        let within = |sk: &str| match &before_sk {
            Some(b) => sk < b.as_str(),
            None => sk.starts_with(keys::CHAT_PREFIX),
        };
        let q = self
            .partition_page(&keys::chat_pk(session_id), &within, page_request)?
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
}
