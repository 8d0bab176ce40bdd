//! Access pattern of recordings (`docs/data-model.md`, P45): one recording at a time per
//! session, claimed before Egress is asked, so two starts never record twice.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::error::{Refusal, StoreResult};
use super::item::{failed, from_item, key_item, s, text};
use super::Store;
use crate::domain::ids::SessionId;
use crate::domain::keys;
use crate::domain::time::Timestamp;
use crate::domain::{Recording, Session};

/// Why a recording could not be claimed or moved on.
#[derive(Debug, PartialEq, Eq)]
pub enum RecordingRefusal {
    Session(Refusal),
    /// One is starting or recording already.
    Busy(Box<Recording>),
    /// None is recording (nothing to stop).
    Idle,
}

impl Store {
    /// P45: claims the session's recording for `r` (`starting`) if the session is live and no
    /// recording is starting or active.
    pub async fn claim_recording(
        &self,
        session_id: &SessionId,
        r: &Recording,
    ) -> StoreResult<Result<(), RecordingRefusal>> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(r).map_err(failed)?;
        let update = self
            .update_session(session_id)
            .update_expression("SET recording = :r")
            .condition_expression("#st = :live AND (attribute_not_exists(recording) OR recording.#rs = :stopped)")
            .expression_attribute_values(":r", value)
            .expression_attribute_values(":stopped", s("stopped"));
        self.recording_change(update).await
    }

    /// P45: the claimed recording started (`active`, with Egress's id and the file's location).
    pub async fn recording_started(
        &self,
        session_id: &SessionId,
        egress_id: &str,
        location: &str,
    ) -> StoreResult<Result<Session, RecordingRefusal>> {
        let update = self
            .update_session(session_id)
            .update_expression("SET recording.#rs = :active, recording.egress_id = :id, recording.#loc = :loc")
            .condition_expression("#st = :live AND recording.#rs = :starting")
            .expression_attribute_names("#loc", "location")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":starting", s("starting"))
            .expression_attribute_values(":id", s(egress_id))
            .expression_attribute_values(":loc", s(location));
        self.recording_change_returning(update).await
    }

    /// P45: gives up a claim Egress refused (only while it is still `starting`).
    pub async fn release_recording(&self, session_id: &SessionId) -> StoreResult<()> {
        let update = self
            .update_session(session_id)
            .update_expression("REMOVE recording")
            .condition_expression("#st = :live AND recording.#rs = :starting")
            .expression_attribute_values(":starting", s("starting"));
        self.recording_change(update).await.map(|_| ())
    }

    /// P45: the recording `egress_id` stopped at `at` (a session that ended stopped it with its
    /// room: the detail shows it stopped then).
    pub async fn recording_stopped(
        &self,
        session_id: &SessionId,
        egress_id: &str,
        at: &Timestamp,
    ) -> StoreResult<Result<Session, RecordingRefusal>> {
        let update = self
            .update_session(session_id)
            .update_expression("SET recording.#rs = :stopped, recording.stopped_at = :at")
            .condition_expression("#st = :live AND recording.#rs = :active AND recording.egress_id = :id")
            .expression_attribute_values(":stopped", s("stopped"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":id", s(egress_id))
            .expression_attribute_values(":at", s(at));
        self.recording_change_returning(update).await
    }

    fn update_session(
        &self,
        session_id: &SessionId,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(session_id))))
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#rs", "status")
            .expression_attribute_values(":live", s("live"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    async fn recording_change(
        &self,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> StoreResult<Result<(), RecordingRefusal>> {
        Ok(self.recording_change_returning(update).await?.map(|_| ()))
    }

    async fn recording_change_returning(
        &self,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> StoreResult<Result<Session, RecordingRefusal>> {
        let update = update.return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let old = match self.conditional_update_returning(update).await? {
            Ok(after) => return Ok(Ok(from_item(after)?)),
            Err(old) => old,
        };
        if old.is_empty() {
            return Ok(Err(RecordingRefusal::Session(Refusal::SessionMissing)));
        }
        if text(&old, "status") != Some("live") {
            return Ok(Err(RecordingRefusal::Session(Refusal::SessionEnded)));
        }
        let session: Session = from_item(old)?;
        Ok(Err(match session.recording {
            Some(r) if r.status != crate::domain::RecordingStatus::Stopped => RecordingRefusal::Busy(r),
            _ => RecordingRefusal::Idle,
        }))
    }
}
