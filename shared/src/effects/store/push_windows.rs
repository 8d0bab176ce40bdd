//! Access patterns of push coalescing: the leading and trailing edges of an aggregate event's
//! window (`docs/data-model.md`, P16).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::error::StoreResult;
use super::item::{key_item, n, number};
use super::Store;
use crate::domain::ids::SessionId;
use crate::domain::keys;
use crate::domain::time::epoch_millis;

impl Store {
    /// P16: claims the leading edge of an event's push window: `Ok(None)` when this caller opened a
    /// new window (and pushes now), `Ok(Some(end))` when a window ending at `end` (epoch ms) is open.
    pub async fn claim_push_window(
        &self,
        session_id: &SessionId,
        event_type: &str,
        window_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let now = epoch_millis();
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
    pub async fn claim_push_trailer(
        &self,
        session_id: &SessionId,
        event_type: &str,
        window_end: i64,
    ) -> StoreResult<bool> {
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
