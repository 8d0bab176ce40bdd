//! Access patterns of participants: read one, list the present ones, join and leave with exact
//! counts, sweep a session that ended (`docs/data-model.md`, P3–P6). A leave is a
//! [`ParticipantChange`] (P18, `changes`).

use aws_sdk_dynamodb::types::{ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use futures::{stream, StreamExt, TryStreamExt};

use super::changes::{actor_check, ban_entry};
use super::error::{Refusal, StoreError, StoreResult};
use super::item::{failed, from_item, key_item, n, present_values, s, to_item};
use super::transact::{backoff, TxError, MAX_ATTEMPTS};
use super::{page, Store};
use crate::domain::change::ParticipantChange;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::page::{Listing, PageRequest};
use crate::domain::time::Timestamp;
use crate::domain::{Participant, ParticipantStatus, Role, Session, SessionStatus};

/// Concurrency of the per-participant writes when a session ends.
const SWEEP_CONCURRENCY: usize = 16;

/// What `join` did.
pub enum JoinOutcome {
    /// A new presence was recorded and counted.
    Joined,
    /// The user was already present: nothing changed (joining is idempotent).
    AlreadyPresent(Participant),
}

/// What `leave` did.
pub enum LeaveOutcome {
    Left(Participant),
    /// Not present any more (left, kicked, banned, or swept by `end`): nothing changed.
    NotPresent(Participant),
    /// The user hosts the session: a host's presence ends with the session, not by leaving.
    Hosting,
}

impl Store {
    /// P3: one participant of a session.
    pub async fn participant(&self, session_id: &SessionId, user_id: &UserId) -> StoreResult<Option<Participant>> {
        self.get(keys::participant(session_id, user_id)).await
    }

    /// P4: present participants of a session, one page in key order.
    pub async fn present_participants(
        &self,
        session_id: &SessionId,
        page_request: &PageRequest,
    ) -> StoreResult<Listing<Participant>> {
        let mut q = self
            .partition_page(
                &keys::session_pk(session_id),
                &|sk| sk.starts_with(keys::PARTICIPANT_PREFIX),
                page_request,
            )?
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression("#st IN (:active, :muted)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":prefix", s(keys::PARTICIPANT_PREFIX));
        for (k, v) in present_values() {
            q = q.expression_attribute_values(k, v);
        }
        page(q).await
    }

    /// P4 (all pages) + P8: after the session ended, every still-present participant is marked
    /// left; kicked and banned keep their status. Each write is conditional, so a repeated end
    /// finishes an interrupted sweep. Returns how many were marked.
    pub async fn sweep_participants(&self, session_id: &SessionId, now: &Timestamp) -> StoreResult<usize> {
        let items = self
            .query_prefix(keys::session_pk(session_id), keys::PARTICIPANT_PREFIX)
            .await?;
        let present: Vec<UserId> = items
            .into_iter()
            .map(from_item::<Participant>)
            .collect::<StoreResult<Vec<_>>>()?
            .into_iter()
            .filter(|p| p.status.is_present())
            .map(|p| p.user_id)
            .collect();
        let results: Vec<bool> = stream::iter(present)
            .map(|user_id| async move { self.mark_left(session_id, &user_id, now).await })
            .buffer_unordered(SWEEP_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(results.into_iter().filter(|x| *x).count())
    }

    /// P5: records a viewer's presence and counts it, atomically, within `max_participants`.
    /// `peak_viewers` moves with `viewer_count` exactly when the count is at its peak (two
    /// condition branches), so the peak is the true maximum without a read.
    pub async fn join(&self, viewer: &Participant) -> StoreResult<JoinOutcome> {
        let session_id = &viewer.session_id;
        let part_key = keys::participant(session_id, &viewer.user_id);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&part_key, viewer)?))
            .condition_expression("attribute_not_exists(pk) OR #st = :left")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":left", s(ParticipantStatus::Left.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(failed)?;
        let mut at_peak = true;
        for attempt in 0..MAX_ATTEMPTS {
            let (set, peak_cond) = if at_peak {
                (
                    "SET viewer_count = viewer_count + :one, peak_viewers = peak_viewers + :one",
                    "viewer_count = peak_viewers",
                )
            } else {
                ("SET viewer_count = viewer_count + :one", "viewer_count < peak_viewers")
            };
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(&keys::session(session_id))))
                .update_expression(set)
                .condition_expression(format!(
                    "#st = :live AND viewer_count < #settings.max_participants AND {peak_cond}"
                ))
                .expression_attribute_names("#st", "status")
                .expression_attribute_names("#settings", "settings")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":live", s("live"))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(failed)?;
            let items = vec![
                TransactWriteItem::builder().put(put.clone()).build(),
                TransactWriteItem::builder().update(update).build(),
            ];
            match self.transact(items).await {
                Ok(()) => return Ok(JoinOutcome::Joined),
                Err(TxError::Cancelled(c)) if c.failed(0) => {
                    let existing: Participant = match c.item(0) {
                        Some(item) => from_item(item)?,
                        None => match self.participant(session_id, &viewer.user_id).await? {
                            Some(p) => p,
                            None => continue,
                        },
                    };
                    if existing.status.is_barred() {
                        return Err(Refusal::Barred.into());
                    }
                    if existing.status.is_present() {
                        return Ok(JoinOutcome::AlreadyPresent(existing));
                    }
                    // It was `left` when the condition ran and changed since: decide again.
                }
                Err(TxError::Cancelled(c)) if c.failed(1) => {
                    let session: Session = match c.item(1) {
                        Some(item) => from_item(item)?,
                        None => self.session(session_id).await?.ok_or(Refusal::SessionMissing)?,
                    };
                    if session.status != SessionStatus::Live {
                        return Err(Refusal::SessionEnded.into());
                    }
                    if session.viewer_count >= session.settings.max_participants {
                        return Err(Refusal::SessionFull.into());
                    }
                    at_peak = session.viewer_count >= session.peak_viewers;
                }
                Err(TxError::Cancelled(c)) if c.transient() => backoff(attempt).await,
                Err(TxError::Cancelled(_)) => {}
                Err(TxError::Retry) => backoff(attempt).await,
                Err(TxError::Fatal(e)) => return Err(e),
            }
        }
        Err(StoreError::Busy("join".into()))
    }

    /// P6: marks a present participant as left and uncounts them (audience, stage slot, cohost
    /// list), atomically. A second leave changes nothing. No participant: `Absent`.
    pub async fn leave(&self, session_id: &SessionId, user_id: &UserId, now: &Timestamp) -> StoreResult<LeaveOutcome> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(p) = self.participant(session_id, user_id).await? else {
                return Err(Refusal::Absent.into());
            };
            if !p.status.is_present() {
                return Ok(LeaveOutcome::NotPresent(p));
            }
            if p.role == Role::Host {
                return Ok(LeaveOutcome::Hosting);
            }
            let change = ParticipantChange::leaving(&p, ParticipantStatus::Left, *now);
            let left = match self.change_participant(&change).await {
                Ok(()) => true,
                // The session ended (its counts were zeroed there): record the leave alone.
                Err(StoreError::Refused(Refusal::SessionEnded)) => self.mark_left(session_id, user_id, now).await?,
                // Role or status moved under us: decide again.
                Err(StoreError::Refused(Refusal::ParticipantChanged)) => continue,
                Err(e) => return Err(e),
            };
            if left {
                let left = Participant {
                    status: ParticipantStatus::Left,
                    left_at: Some(*now),
                    ..p
                };
                return Ok(LeaveOutcome::Left(left));
            }
        }
        Err(StoreError::Busy("leave".into()))
    }

    /// P26: bars a user who is not present — a kick or ban of someone who left, a ban of someone
    /// kicked, a ban of a user id never seen — by `c` (its `status`, `actor` and `ban`): the
    /// participant's status alone if it is still `target`'s (`seen`), or a new item for `target`
    /// if none exists; with P18's actor check and ban-list entry, and the session live, in one
    /// transaction. No counter moves: the user left the audience before, or never entered it.
    pub async fn bar_absent(&self, c: &ParticipantChange, target: &Participant, seen: bool) -> StoreResult<()> {
        let status = c.status.ok_or_else(|| failed("a bar without a status"))?;
        let key = keys::participant(&c.session_id, &c.target);
        let participant = if seen {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(&key)))
                .update_expression("SET #st = :status, left_at = if_not_exists(left_at, :at)")
                .condition_expression("#st = :was")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":status", s(status.as_str()))
                .expression_attribute_values(":was", s(target.status.as_str()))
                .expression_attribute_values(":at", s(c.at))
                .build()
                .map_err(failed)?;
            TransactWriteItem::builder().update(update).build()
        } else {
            let barred = Participant {
                status,
                left_at: Some(c.at),
                ..target.clone()
            };
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&key, &barred)?))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(failed)?;
            TransactWriteItem::builder().put(put).build()
        };
        let live = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(&c.session_id))))
            .condition_expression("#st = :live")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":live", s("live"))
            .build()
            .map_err(failed)?;
        let mut items = vec![participant, TransactWriteItem::builder().condition_check(live).build()];
        if let Some(actor) = &c.actor {
            items.push(actor_check(self, &c.session_id, actor)?);
        }
        if c.ban {
            items.push(ban_entry(self, c)?);
        }
        match self.transact_settled(items, "bar").await? {
            Ok(()) => Ok(()),
            Err(why) if why.failed(0) => Err(Refusal::ParticipantChanged.into()),
            Err(why) if why.failed(1) => Err(Refusal::SessionEnded.into()),
            Err(why) if why.failed(2) => Err(Refusal::ActorChanged.into()),
            Err(_) => Err(StoreError::Busy("bar".into())),
        }
    }

    /// P6 (after an end): marks one participant left if still present, without touching the
    /// counts; `false` when it was not present.
    async fn mark_left(&self, session_id: &SessionId, user_id: &UserId, now: &Timestamp) -> StoreResult<bool> {
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(session_id, user_id))))
            .update_expression("SET #st = :left, left_at = :now")
            .condition_expression("#st IN (:active, :muted)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":left", s(ParticipantStatus::Left.as_str()))
            .expression_attribute_values(":now", s(now));
        for (k, v) in present_values() {
            update = update.expression_attribute_values(k, v);
        }
        Ok(self.conditional_update(update).await?.is_none())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::effects::store::testing::{cancelled, reason, session, viewer};

    #[tokio::test]
    async fn join_retries_transaction_conflicts() {
        let rule = mock!(Client::transact_write_items)
            .sequence()
            .error(|| cancelled(vec![reason("None", None), reason("TransactionConflict", None)]))
            .times(3)
            .output(|| TransactWriteItemsOutput::builder().build())
            .build();
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]), "t");
        assert!(matches!(store.join(&viewer()).await, Ok(JoinOutcome::Joined)));
        assert_eq!(rule.num_calls(), 4);
    }

    #[tokio::test]
    async fn join_reads_the_failed_condition_from_the_all_old_image() {
        let full = to_item(&keys::session(&viewer().session_id), &session(5, 7, 5)).unwrap();
        let rule = mock!(Client::transact_write_items).then_error(move || {
            cancelled(vec![
                reason("None", None),
                reason("ConditionalCheckFailed", Some(full.clone())),
            ])
        });
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]), "t");
        match store.join(&viewer()).await {
            Err(StoreError::Refused(r)) => assert_eq!(r, Refusal::SessionFull),
            other => panic!("expected session-full, got {:?}", other.err()),
        }
        assert_eq!(rule.num_calls(), 1, "no read was needed to classify");
    }

    #[tokio::test]
    async fn join_switches_peak_branch_and_refuses_barred_users() {
        // Below the peak: the first (at-peak) branch fails, the second succeeds.
        let below = to_item(&keys::session(&viewer().session_id), &session(2, 7, 50)).unwrap();
        let rule = mock!(Client::transact_write_items)
            .sequence()
            .error(move || {
                cancelled(vec![
                    reason("None", None),
                    reason("ConditionalCheckFailed", Some(below.clone())),
                ])
            })
            .output(|| TransactWriteItemsOutput::builder().build())
            .build();
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]), "t");
        assert!(matches!(store.join(&viewer()).await, Ok(JoinOutcome::Joined)));

        let v = viewer();
        let kicked = to_item(
            &keys::participant(&v.session_id, &v.user_id),
            &Participant {
                status: ParticipantStatus::Kicked,
                ..viewer()
            },
        )
        .unwrap();
        let rule = mock!(Client::transact_write_items).then_error(move || {
            cancelled(vec![
                reason("ConditionalCheckFailed", Some(kicked.clone())),
                reason("None", None),
            ])
        });
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]), "t");
        assert!(matches!(
            store.join(&viewer()).await,
            Err(StoreError::Refused(Refusal::Barred))
        ));
    }
}
