//! Access patterns of moderation (`docs/data-model.md`, P39–P41): a chat message found by its id
//! and deleted, chat timeouts, the session's pinned message.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::error::{Refusal, StoreResult};
use super::item::{db_err, failed, from_item, key_item, n, number, s};
use super::Store;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::{ChatMessage, PinnedMessage, Session};

impl Store {
    /// P39: the chat message `message_id` of a session: one consistent GetItem by the key its id
    /// gives (`keys::chat_message_of`); `None` for an id that is none of ours.
    pub async fn chat_message(&self, session_id: &SessionId, message_id: &str) -> StoreResult<Option<ChatMessage>> {
        match keys::chat_message_of(session_id, message_id) {
            Some(key) => self.get(key).await,
            None => Ok(None),
        }
    }

    /// P39: deletes a chat message from the history; false when it was gone already (a repeat,
    /// or a concurrent delete: one of them deletes it).
    pub async fn delete_chat_message(&self, m: &ChatMessage) -> StoreResult<bool> {
        let out = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::chat_message(&m.session_id, &m.created_at, &m.id))))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                DeleteItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(db_err(other)),
            },
        }
    }

    /// P40: times `user_id` out of the session's chat until `until_ms` (epoch ms), or lifts the
    /// timeout (`None`). The item expires a minute after the timeout (TTL), which only tidies:
    /// the rule compares `until` with its clock.
    pub async fn set_chat_timeout(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        until_ms: Option<i64>,
        by: &UserId,
    ) -> StoreResult<()> {
        let key = keys::chat_timeout(session_id, user_id);
        let Some(until) = until_ms else {
            return self.delete(key).await;
        };
        let mut item = key_item(&key);
        item.insert("until".into(), n(until));
        item.insert("by".into(), s(by));
        item.insert("expires_at".into(), n(until / 1000 + 60));
        self.put(item).await
    }

    /// P40: until when (epoch ms) `user_id` is timed out of the session's chat; `None` when never
    /// timed out or lifted (consistent: a timeout holds from its answer on).
    pub async fn chat_timeout_until(&self, session_id: &SessionId, user_id: &UserId) -> StoreResult<Option<i64>> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::chat_timeout(session_id, user_id))))
            .projection_expression("#u")
            .expression_attribute_names("#u", "until")
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        Ok(out.item.map(|i| number(&i, "until")))
    }

    /// P41: pins `pin` on the live session, replacing any pin before it; refused when the
    /// session is missing or has ended.
    pub async fn pin(&self, session_id: &SessionId, pin: &PinnedMessage) -> StoreResult<()> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(pin).map_err(failed)?;
        let update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(session_id))))
            .update_expression("SET pinned = :pin")
            .condition_expression("#st = :live")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":pin", value)
            .expression_attribute_values(":live", s("live"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match self.conditional_update(update).await? {
            None => Ok(()),
            Some(old) if old.is_empty() => Err(Refusal::SessionMissing.into()),
            Some(_) => Err(Refusal::SessionEnded.into()),
        }
    }

    /// P41: unpins the session's message — only `message_id` when named (a deleted message takes
    /// its pin with it, never another's) — and answers the pin removed (`None`: nothing was).
    pub async fn unpin(
        &self,
        session_id: &SessionId,
        message_id: Option<&str>,
    ) -> StoreResult<Option<Box<PinnedMessage>>> {
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(session_id))))
            .update_expression("REMOVE pinned")
            .return_values(ReturnValue::AllOld);
        update = match message_id {
            Some(id) => update
                .condition_expression("pinned.message.id = :id")
                .expression_attribute_values(":id", s(id)),
            None => update.condition_expression("attribute_exists(pinned)"),
        };
        match self.conditional_update_returning(update).await? {
            Ok(before) => Ok(from_item::<Session>(before)?.pinned),
            Err(_) => Ok(None),
        }
    }
}
