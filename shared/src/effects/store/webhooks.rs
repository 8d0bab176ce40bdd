//! Access patterns of the SFU's webhooks: deduplication by event id, and what the SFU says a
//! participant is doing in the room (`docs/data-model.md`, P22, P23).

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::error::StoreResult;
use super::item::{db_err, from_item, key_item, n, present_values};
use super::Store;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::time::epoch_seconds;
use crate::domain::Participant;

/// How long a processed webhook id is remembered: LiveKit retries for minutes, not days.
const WEBHOOK_MEMORY_SECONDS: i64 = 24 * 3600;

/// What the SFU reported about a participant; `None` leaves a flag as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaState {
    pub connected: Option<bool>,
    pub audio_published: Option<bool>,
    pub video_published: Option<bool>,
    pub screen_sharing: Option<bool>,
}

impl Store {
    /// P22: takes a webhook event id once; `false` when it was already taken (a duplicate).
    pub async fn claim_webhook(&self, event_id: &str) -> StoreResult<bool> {
        let mut item = key_item(&keys::webhook(event_id));
        item.insert("expires_at".into(), n(epoch_seconds() + WEBHOOK_MEMORY_SECONDS));
        let put = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(epoch_seconds()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(db_err(other)),
            },
        }
    }

    /// P22: forgets a claimed webhook whose processing failed, so that LiveKit's retry is taken.
    pub async fn release_webhook(&self, event_id: &str) -> StoreResult<()> {
        self.delete(keys::webhook(event_id)).await
    }

    /// P23: records what the SFU reported at `at_ms` (its event time) on a present participant.
    /// Webhooks can arrive out of order: a report older than the last one applied changes nothing.
    /// Returns the participant as it is now, or `None` when nothing was applied.
    pub async fn set_media_state(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        state: &MediaState,
        at_ms: i64,
    ) -> StoreResult<Option<Participant>> {
        let mut sets = vec!["media_at = :at".to_string()];
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(session_id, user_id))))
            .condition_expression("#st IN (:active, :muted) AND (attribute_not_exists(media_at) OR media_at <= :at)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":at", n(at_ms))
            .return_values(ReturnValue::AllNew);
        for (k, v) in present_values() {
            update = update.expression_attribute_values(k, v);
        }
        for (name, value) in [
            ("connected", state.connected),
            ("audio_published", state.audio_published),
            ("video_published", state.video_published),
            ("screen_sharing", state.screen_sharing),
        ] {
            if let Some(v) = value {
                sets.push(format!("{name} = :{name}"));
                update = update.expression_attribute_values(format!(":{name}"), AttributeValue::Bool(v));
            }
        }
        match update
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
        {
            Ok(out) => out.attributes.map(from_item).transpose(),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(None),
                other => Err(db_err(other)),
            },
        }
    }
}
