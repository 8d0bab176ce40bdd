//! Access pattern of the live settings (`docs/data-model.md`, P42): a session's settings changed
//! while it runs, each bound kept by the write's own condition.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::error::{Refusal, StoreResult};
use super::item::{failed, from_item, key_item, n, number, s, text};
use super::Store;
use crate::domain::ids::SessionId;
use crate::domain::keys;
use crate::domain::Session;

/// What a settings change sets: top-level attributes (`title`, `description`) and fields of the
/// `settings` map, each with its new value; `max_guests` and `max_participants` are also bounds
/// the session's counters must be within.
#[derive(Debug, Default)]
pub struct SettingsWrite {
    pub top: Vec<(&'static str, AttributeValue)>,
    pub settings: Vec<(&'static str, AttributeValue)>,
    pub max_guests: Option<u32>,
    pub max_participants: Option<u32>,
}

/// Why a settings change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SettingsRefusal {
    /// Refused as any change of the session would be (missing, ended).
    Session(Refusal),
    /// `max_guests` below the guests on stage now (`guest_count`).
    BelowGuests(u32),
    /// `max_participants` below the audience now (`viewer_count`).
    BelowViewers(u32),
}

impl Store {
    /// P42: applies `w` to a session that has not ended, if `guest_count <= max_guests` and
    /// `viewer_count <= max_participants` (the new ones) hold as it writes: the session after.
    pub async fn update_settings(
        &self,
        session_id: &SessionId,
        w: &SettingsWrite,
    ) -> StoreResult<Result<Session, SettingsRefusal>> {
        let mut sets = Vec::new();
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(session_id))))
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#settings", "settings")
            .expression_attribute_values(":ended", s("ended"))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (i, (name, value)) in w.top.iter().enumerate() {
            sets.push(format!("#t{i} = :t{i}"));
            update = update
                .expression_attribute_names(format!("#t{i}"), *name)
                .expression_attribute_values(format!(":t{i}"), value.clone());
        }
        for (i, (name, value)) in w.settings.iter().enumerate() {
            sets.push(format!("#settings.#s{i} = :s{i}"));
            update = update
                .expression_attribute_names(format!("#s{i}"), *name)
                .expression_attribute_values(format!(":s{i}"), value.clone());
        }
        let mut condition = String::from("attribute_exists(pk) AND #st <> :ended");
        if let Some(max) = w.max_guests {
            condition.push_str(" AND guest_count <= :max_guests");
            update = update.expression_attribute_values(":max_guests", n(max));
        }
        if let Some(max) = w.max_participants {
            condition.push_str(" AND viewer_count <= :max_participants");
            update = update.expression_attribute_values(":max_participants", n(max));
        }
        if sets.is_empty() {
            return Err(failed("a settings change with nothing to set"));
        }
        let update = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(condition);
        let old = match self.conditional_update_returning(update).await? {
            Ok(after) => return Ok(Ok(from_item(after)?)),
            Err(old) => old,
        };
        let guests = u32::try_from(number(&old, "guest_count")).unwrap_or(u32::MAX);
        let viewers = u32::try_from(number(&old, "viewer_count")).unwrap_or(u32::MAX);
        Ok(Err(if old.is_empty() {
            SettingsRefusal::Session(Refusal::SessionMissing)
        } else if text(&old, "status") == Some("ended") {
            SettingsRefusal::Session(Refusal::SessionEnded)
        } else if w.max_guests.is_some_and(|m| guests > m) {
            SettingsRefusal::BelowGuests(guests)
        } else {
            SettingsRefusal::BelowViewers(viewers)
        }))
    }
}
