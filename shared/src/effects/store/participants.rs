//! Access patterns of participants: read one, list the present ones, join and leave with exact
//! counts, sweep a session that ended, and apply a [`ParticipantChange`] (`docs/data-model.md`,
//! P3–P6, P18).

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use futures::{stream, StreamExt, TryStreamExt};

use super::error::{Refusal, StoreError, StoreResult};
use super::item::{failed, from_item, key_item, n, present_values, s, to_item};
use super::transact::{backoff, Cancelled, TxError, MAX_ATTEMPTS};
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
            .partition_page(&keys::session_pk(session_id), page_request)?
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

    /// P18: applies a participant change in one transaction (see [`ParticipantChange`]).
    pub async fn change_participant(&self, c: &ParticipantChange) -> StoreResult<()> {
        match self
            .transact_settled(change_actions(self, c)?, "participant change")
            .await?
        {
            Ok(()) => Ok(()),
            Err(why) => Err(change_refusal(self, c, &why).await?.into()),
        }
    }
}

/// P18: the transaction's actions for a participant change: the participant (index 0), the
/// session's counters (1), the actor's check (2, when there is an actor) and the ban list entry.
pub(super) fn change_actions(store: &Store, c: &ParticipantChange) -> StoreResult<Vec<TransactWriteItem>> {
    let mut sets: Vec<String> = Vec::new();
    let mut b = Update::builder()
        .table_name(&store.table)
        .set_key(Some(key_item(&keys::participant(&c.session_id, &c.target))))
        .expression_attribute_names("#st", "status")
        .expression_attribute_names("#role", "role")
        .expression_attribute_values(":expected", s(c.expected_role.as_str()));
    for (k, v) in present_values() {
        b = b.expression_attribute_values(k, v);
    }
    if let Some(r) = c.role {
        sets.push("#role = :role".into());
        b = b.expression_attribute_values(":role", s(r.as_str()));
    }
    if let Some(st) = c.status {
        sets.push("#st = :status".into());
        b = b.expression_attribute_values(":status", s(st.as_str()));
        if !st.is_present() {
            sets.push("left_at = :at".into());
            b = b.expression_attribute_values(":at", s(c.at));
        }
    }
    for (name, value) in [
        ("audio_enabled", c.audio_enabled),
        ("video_enabled", c.video_enabled),
        ("screen_share_allowed", c.screen_share_allowed),
    ] {
        if let Some(v) = value {
            sets.push(format!("{name} = :{name}"));
            b = b.expression_attribute_values(format!(":{name}"), AttributeValue::Bool(v));
        }
    }
    if sets.is_empty() {
        return Err(failed("empty participant change"));
    }
    let participant = b
        .update_expression(format!("SET {}", sets.join(", ")))
        .condition_expression("#st IN (:active, :muted) AND #role = :expected")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(failed)?;
    let mut items = vec![
        TransactWriteItem::builder().update(participant).build(),
        TransactWriteItem::builder().update(session_counters(store, c)?).build(),
    ];
    if let Some((actor, role)) = &c.actor {
        let mut check = ConditionCheck::builder()
            .table_name(&store.table)
            .set_key(Some(key_item(&keys::participant(&c.session_id, actor))))
            .condition_expression("#st IN (:active, :muted) AND #role = :role")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", s(role.as_str()));
        for (k, v) in present_values() {
            check = check.expression_attribute_values(k, v);
        }
        items.push(
            TransactWriteItem::builder()
                .condition_check(check.build().map_err(failed)?)
                .build(),
        );
    }
    if c.ban {
        let mut ban = key_item(&keys::ban(&c.session_id, &c.target));
        ban.insert("user_id".into(), s(&c.target));
        ban.insert("banned_at".into(), s(c.at));
        if let Some((actor, _)) = &c.actor {
            ban.insert("banned_by".into(), s(actor));
        }
        let put = Put::builder()
            .table_name(&store.table)
            .set_item(Some(ban))
            .build()
            .map_err(failed)?;
        items.push(TransactWriteItem::builder().put(put).build());
    }
    Ok(items)
}

/// P18: the session update of a change: counters and cohost list, on the condition that the
/// session is live (and, taking a slot, that the stage has one free).
fn session_counters(store: &Store, c: &ParticipantChange) -> StoreResult<Update> {
    let mut sets = vec!["updated_at = :at".to_string()];
    let mut conds = vec!["#st = :live".to_string()];
    let mut b = Update::builder()
        .table_name(&store.table)
        .set_key(Some(key_item(&keys::session(&c.session_id))))
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":live", s("live"))
        .expression_attribute_values(":at", s(c.at))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    if c.moves_counts() {
        b = b.expression_attribute_values(":one", n(1));
    }
    match c.guest_delta {
        1 => {
            sets.push("guest_count = guest_count + :one".into());
            conds.push("guest_count < #settings.max_guests".into());
            b = b.expression_attribute_names("#settings", "settings");
        }
        -1 => {
            sets.push("guest_count = guest_count - :one".into());
            conds.push("guest_count > :zero".into());
        }
        _ => {}
    }
    if c.viewer_delta == -1 {
        sets.push("viewer_count = viewer_count - :one".into());
        conds.push("viewer_count > :zero".into());
    }
    if conds.iter().any(|c| c.contains(":zero")) {
        b = b.expression_attribute_values(":zero", n(0));
    }
    let mut expr = format!("SET {}", sets.join(", "));
    match c.cohost {
        Some(true) => expr.push_str(" ADD cohosts :me"),
        Some(false) => expr.push_str(" DELETE cohosts :me"),
        None => {}
    }
    if c.cohost.is_some() {
        b = b.expression_attribute_values(":me", AttributeValue::Ss(vec![c.target.to_string()]));
    }
    b.update_expression(expr)
        .condition_expression(conds.join(" AND "))
        .build()
        .map_err(failed)
}

/// P18: why a participant change was refused, from its cancellation reasons.
pub(super) async fn change_refusal(store: &Store, c: &ParticipantChange, why: &Cancelled) -> StoreResult<Refusal> {
    if why.failed(0) {
        return Ok(Refusal::ParticipantChanged);
    }
    if why.failed(1) {
        return Ok(match store.session(&c.session_id).await? {
            Some(s) if s.status != SessionStatus::Live => Refusal::SessionEnded,
            Some(_) if c.guest_delta == 1 => Refusal::StageFull,
            _ => Refusal::SessionChanged,
        });
    }
    if why.failed(2) {
        return Ok(Refusal::ActorChanged);
    }
    Err(StoreError::Busy("participant change".into()))
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
