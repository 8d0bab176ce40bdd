//! Access patterns of push coalescing: the leading and trailing edges of an aggregate event's
//! window (`docs/data-model.md`, P16).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::error::StoreResult;
use super::item::{key_item, n, number};
use super::Store;
use crate::domain::ids::SessionId;
use crate::domain::keys;

impl Store {
    /// P16: claims the leading edge of an event's push window at `now` (epoch ms): `Ok(None)` when
    /// this caller opened a new window, ending exactly at `now + window_ms` (and pushes now),
    /// `Ok(Some(end))` when a window ending at `end` is open. The caller's `now` is the one the
    /// window is written with, so that the end it remembers is the end the trailer is claimed for.
    pub async fn claim_push_window(
        &self,
        session_id: &SessionId,
        event_type: &str,
        now: i64,
        window_ms: i64,
    ) -> StoreResult<Option<i64>> {
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

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::effects::store::testing::session_id;

    /// A window opened at `now` ends at `now + window`, to the millisecond: the end the opener
    /// remembers is the one its trailer is claimed for (an end computed from another clock
    /// reading would miss it, and that window's last state would never be pushed).
    #[tokio::test]
    async fn a_window_ends_exactly_window_after_the_callers_now() {
        let claim = mock!(Client::update_item)
            .match_requests(|r| {
                let value = |k: &str| {
                    r.expression_attribute_values()
                        .and_then(|v| v.get(k))
                        .and_then(|v| v.as_n().ok())
                        .cloned()
                };
                value(":now").as_deref() == Some("1000") && value(":end").as_deref() == Some("2000")
            })
            .then_output(|| UpdateItemOutput::builder().build());
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&claim]), "t");
        let opened = store
            .claim_push_window(&session_id(), "reactions", 1000, 1000)
            .await
            .unwrap();
        assert_eq!(opened, None, "opened by this caller");
        assert_eq!(claim.num_calls(), 1);
    }
}
