//! Access patterns of backstage (`docs/data-model.md`, P43, P44): a session opened backstage
//! goes live (listed from then on), or is found by the sweep once it has waited too long.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::error::{Refusal, StoreResult};
use super::item::{db_err, from_item, key_item, s, text};
use super::Store;
use crate::domain::ids::SessionId;
use crate::domain::keys;
use crate::domain::time::Timestamp;
use crate::domain::Session;

impl Store {
    /// P43: a backstage session goes live at `now`: `started_at` then, listed live (GSI1 `LIVE`),
    /// no longer backstage; the session after. `Ok(None)`: it was live already (a repeat).
    pub async fn go_live(&self, session_id: &SessionId, now: &Timestamp) -> StoreResult<Option<Session>> {
        let update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(session_id))))
            .update_expression("SET started_at = :now, gsi1pk = :live_pk, gsi1sk = :live_sk REMOVE backstage")
            .condition_expression("#st = :live AND backstage = :true")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":live", s("live"))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":live_pk", s(keys::LIVE_INDEX_PK))
            .expression_attribute_values(":live_sk", s(keys::live_index_sk(now, session_id)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match self.conditional_update_returning(update).await? {
            Ok(live) => Ok(Some(from_item(live)?)),
            Err(old) => match text(&old, "status") {
                None => Err(Refusal::SessionMissing.into()),
                Some("live") => Ok(None),
                Some(_) => Err(Refusal::SessionEnded.into()),
            },
        }
    }

    /// P44: sessions opened backstage before `before_ms` (epoch ms) and not live yet, oldest
    /// first, at most `limit`.
    pub async fn backstage_since(&self, before_ms: i64, limit: i32) -> StoreResult<Vec<SessionId>> {
        let items = self.index_upto(keys::BACKSTAGE_INDEX_PK, before_ms, limit).await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let (_, session) = text(i, keys::GSI1_SK)?.split_once('#')?;
                SessionId::parse(session).ok()
            })
            .collect())
    }

    /// Whether `user_id` holds an invitation to the session's stage that can still be accepted
    /// (P19's pending lock, with its expiry: a backstage session admits its invited guests).
    pub async fn has_pending_invitation(
        &self,
        session_id: &SessionId,
        user_id: &crate::domain::ids::UserId,
        now_s: i64,
    ) -> StoreResult<bool> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::pending_request(session_id, user_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        Ok(out.item.is_some_and(|i| super::item::number(&i, "expires_at") > now_s))
    }
}
