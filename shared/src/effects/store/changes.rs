//! Access pattern P18: applying a [`ParticipantChange`] (a host control, an approval, a leave) to
//! a participant and the session counters it moves, in one conditional transaction
//! (`docs/data-model.md`).

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::error::{Refusal, StoreError, StoreResult};
use super::item::{failed, key_item, n, present_values, s};
use super::transact::Cancelled;
use super::Store;
use crate::domain::change::ParticipantChange;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::{Role, SessionStatus};

impl Store {
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
    if let Some(actor) = &c.actor {
        items.push(actor_check(store, &c.session_id, actor)?);
    }
    if c.ban {
        items.push(ban_entry(store, c)?);
    }
    Ok(items)
}

/// P18: the actor is present in the role that entitled them.
pub(super) fn actor_check(
    store: &Store,
    session_id: &SessionId,
    (actor, role): &(UserId, Role),
) -> StoreResult<TransactWriteItem> {
    let mut check = ConditionCheck::builder()
        .table_name(&store.table)
        .set_key(Some(key_item(&keys::participant(session_id, actor))))
        .condition_expression("#st IN (:active, :muted) AND #role = :role")
        .expression_attribute_names("#st", "status")
        .expression_attribute_names("#role", "role")
        .expression_attribute_values(":role", s(role.as_str()));
    for (k, v) in present_values() {
        check = check.expression_attribute_values(k, v);
    }
    Ok(TransactWriteItem::builder()
        .condition_check(check.build().map_err(failed)?)
        .build())
}

/// P18: the target's entry in the session's ban list.
pub(super) fn ban_entry(store: &Store, c: &ParticipantChange) -> StoreResult<TransactWriteItem> {
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
    Ok(TransactWriteItem::builder().put(put).build())
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
