//! Access patterns of reactions: count one within the per-user rate, sum a session's totals
//! (`docs/data-model.md`, P14, P15).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ConditionCheck, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use super::error::{Refusal, StoreError, StoreResult};
use super::item::{failed, key_item, n, number, present_values, s, text};
use super::transact::{backoff, TxError, MAX_ATTEMPTS};
use super::Store;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::time::epoch_seconds;
use crate::domain::{ParticipantStatus, ReactionType};

/// Shards of a session's reaction counts: writes spread over them, reads sum them.
pub const REACTION_SHARDS: u32 = 16;

impl Store {
    /// P14: counts one reaction in one transaction: the session is live and the user present
    /// (condition checks, so no reads are needed first), the user's rate window (two condition
    /// branches: a new second, or the same second under the limit), and one random shard of the
    /// session's counts.
    pub async fn add_reaction(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        kind: ReactionType,
        per_second: u32,
    ) -> StoreResult<()> {
        let live = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(session_id))))
            .condition_expression("#st = :live")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":live", s("live"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(failed)?;
        let mut present = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(session_id, user_id))))
            .condition_expression("#st IN (:active, :muted)")
            .expression_attribute_names("#st", "status")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in present_values() {
            present = present.expression_attribute_values(k, v);
        }
        let present = present.build().map_err(failed)?;
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
            .map_err(failed)?;
        // The window last seen in a failed condition; `None`: assume a new second.
        let mut seen_window: Option<i64> = None;
        for attempt in 0..MAX_ATTEMPTS {
            let second = epoch_seconds();
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
            .map_err(failed)?;
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
                    let refusal = if exists {
                        Refusal::SessionEnded
                    } else {
                        Refusal::SessionMissing
                    };
                    return Err(refusal.into());
                }
                Err(TxError::Cancelled(c)) if c.failed(1) => {
                    let barred = match c.item(1) {
                        Some(item) => [ParticipantStatus::Kicked, ParticipantStatus::Banned]
                            .iter()
                            .any(|b| text(&item, "status") == Some(b.as_str())),
                        None => self
                            .participant(session_id, user_id)
                            .await?
                            .is_some_and(|p| p.status.is_barred()),
                    };
                    let refusal = if barred { Refusal::Barred } else { Refusal::Absent };
                    return Err(refusal.into());
                }
                Err(TxError::Cancelled(c)) if c.failed(2) => {
                    let (window, used) = match c.item(2) {
                        Some(old) => (number(&old, "window"), number(&old, "count")),
                        None => (second, i64::from(per_second)), // no image: assume the worst
                    };
                    if window >= second && used >= i64::from(per_second) {
                        return Err(Refusal::RateLimited {
                            what: "reactions",
                            per_second,
                        }
                        .into());
                    }
                    seen_window = Some(window);
                }
                Err(TxError::Cancelled(c)) if c.transient() => backoff(attempt).await,
                Err(TxError::Cancelled(_)) => {}
                Err(TxError::Retry) => backoff(attempt).await,
                Err(TxError::Fatal(e)) => return Err(e),
            }
        }
        Err(StoreError::Busy("reaction".into()))
    }

    /// P15: a session's reaction totals, summed over its shards (one Query).
    pub async fn reaction_totals(&self, session_id: &SessionId) -> StoreResult<HashMap<ReactionType, i64>> {
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
}
