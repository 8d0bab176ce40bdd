//! Access patterns of the SFU's webhooks: deduplication by event id, what the SFU says a
//! participant is doing in the room, and which hosts it reports gone (`docs/data-model.md`, P22,
//! P23, P27).

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::error::StoreResult;
use super::item::{db_err, from_item, key_item, n, present_values, s, text};
use super::Store;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::time::{epoch_millis, epoch_seconds};
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
    /// P22: takes a webhook event id to process it, until `lease_until_ms` (epoch ms: the end of
    /// the invocation, after which nobody is processing it any more): if it was never taken, or
    /// taken by an invocation whose lease ran out without completing it (it died mid-way).
    pub async fn claim_webhook(&self, event_id: &str, lease_until_ms: i64) -> StoreResult<WebhookClaim> {
        let update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::webhook(event_id))))
            .update_expression("SET lease_until = :lease, expires_at = :expires REMOVE done")
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at < :now_s OR (attribute_not_exists(done) AND lease_until <= :now_ms)",
            )
            .expression_attribute_values(":lease", n(lease_until_ms))
            .expression_attribute_values(":expires", n(epoch_seconds() + WEBHOOK_MEMORY_SECONDS))
            .expression_attribute_values(":now_s", n(epoch_seconds()))
            .expression_attribute_values(":now_ms", n(epoch_millis()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        Ok(match self.conditional_update(update).await? {
            None => WebhookClaim::Taken,
            Some(old) if old.contains_key("done") => WebhookClaim::Done,
            Some(_) => WebhookClaim::Running,
        })
    }

    /// P22: marks a claimed webhook processed: every later delivery of it is a duplicate.
    pub async fn complete_webhook(&self, event_id: &str) -> StoreResult<()> {
        let update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::webhook(event_id))))
            .update_expression("SET done = :yes")
            .expression_attribute_values(":yes", AttributeValue::Bool(true));
        update.send().await.map_err(db_err).map(|_| ())
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

    /// P27: lists (or unlists) the host of a session in GSI1's `HOSTGONE` partition, as gone
    /// from the SFU since `at_ms`, if that report (P23's `media_at`) is still the latest applied.
    pub async fn index_host_presence(
        &self,
        session_id: &SessionId,
        host: &UserId,
        connected: bool,
        at_ms: i64,
    ) -> StoreResult<()> {
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(session_id, host))))
            .condition_expression("media_at = :at")
            .expression_attribute_values(":at", n(at_ms));
        update = if connected {
            update.update_expression(format!("REMOVE {}, {}", keys::GSI1_PK, keys::GSI1_SK))
        } else {
            update
                .update_expression(format!("SET {} = :gone, {} = :since", keys::GSI1_PK, keys::GSI1_SK))
                .expression_attribute_values(":gone", s(keys::HOST_GONE_INDEX_PK))
                .expression_attribute_values(":since", s(keys::host_gone_index_sk(at_ms, session_id)))
        };
        // A newer report won: it indexed the host as it wants.
        self.conditional_update(update).await.map(|_| ())
    }

    /// P27: up to `limit` hosts gone from the SFU since `cutoff_ms` or earlier, longest gone
    /// first: (session, host, gone since ms).
    pub async fn hosts_gone_since(&self, cutoff_ms: i64, limit: i32) -> StoreResult<Vec<HostGone>> {
        let items = self.index_upto(keys::HOST_GONE_INDEX_PK, cutoff_ms, limit).await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let (since, session) = text(i, keys::GSI1_SK)?.split_once('#')?;
                let host = text(i, keys::SK)?.strip_prefix(keys::PARTICIPANT_PREFIX)?;
                Some(HostGone {
                    session_id: SessionId::parse(session).ok()?,
                    host: UserId::parse(host).ok()?,
                    since_ms: since.parse().ok()?,
                })
            })
            .collect())
    }

    /// P27: unlists a host gone since `since_ms` (handled: the session ended, or was over).
    pub async fn forget_host_gone(&self, gone: &HostGone) -> StoreResult<()> {
        let update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(&gone.session_id, &gone.host))))
            .update_expression(format!("REMOVE {}, {}", keys::GSI1_PK, keys::GSI1_SK))
            .condition_expression("#sk = :since")
            .expression_attribute_names("#sk", keys::GSI1_SK)
            .expression_attribute_values(":since", s(keys::host_gone_index_sk(gone.since_ms, &gone.session_id)));
        self.conditional_update(update).await.map(|_| ())
    }
}

/// What claiming a webhook event id found (P22).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookClaim {
    /// Ours to process.
    Taken,
    /// Processed before: a duplicate delivery.
    Done,
    /// Another invocation is processing it now (its lease has not run out).
    Running,
}

/// A host the SFU reported gone (P27).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostGone {
    pub session_id: SessionId,
    pub host: UserId,
    pub since_ms: i64,
}
