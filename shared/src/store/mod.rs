//! DynamoDB access: one function per access pattern of `docs/data-model.md`.
//!
//! Limits and counters are enforced by the conditions of the writes themselves (conditional
//! updates, transactions), never by reading a value and writing a decision back. Reads here only
//! serve responses and the classification of an already-failed write.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use futures::{stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cursor;
use crate::domain::{Participant, ParticipantStatus, Session, SessionStatus};
use crate::error::{ApiError, ApiResult};
use crate::keys::{self, Key};

mod media;
mod realtime;
mod stage;
pub use media::MediaState;
pub use realtime::{ConnectionRef, REACTION_SHARDS};
pub use stage::ParticipantChange;

type Item = HashMap<String, AttributeValue>;

/// Attempts for a write that lost a race (transaction conflict, throttling, a counter branch
/// that moved under us) before answering 503.
const MAX_ATTEMPTS: u32 = 12;
/// Concurrency of the per-participant writes when a session ends.
const SWEEP_CONCURRENCY: usize = 16;

#[derive(Clone)]
pub struct Store {
    db: Client,
    table: String,
}

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
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key_item(key: &Key) -> Item {
    HashMap::from([(keys::PK.to_string(), s(&key.pk)), (keys::SK.to_string(), s(&key.sk))])
}

fn to_item<T: Serialize>(key: &Key, value: &T) -> ApiResult<Item> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(ApiError::internal)?;
    item.extend(key_item(key));
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Item) -> ApiResult<T> {
    serde_dynamo::from_item(item).map_err(ApiError::internal)
}

/// Runs one page of a query: the items as `T`, and the opaque cursor of the next page.
async fn page<T: DeserializeOwned>(
    q: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let out = q.send().await.map_err(db_err)?;
    let next = out.last_evaluated_key.as_ref().map(cursor::encode);
    let list = out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(from_item)
        .collect::<ApiResult<_>>()?;
    Ok((list, next))
}

/// An unexpected DynamoDB failure, with the SDK's whole error chain for the log.
fn db_err(e: impl std::error::Error) -> ApiError {
    ApiError::Internal(DisplayErrorContext(e).to_string())
}

/// Why a transaction was cancelled, per action, as DynamoDB reports it.
struct Cancelled(Vec<CancellationReason>);

impl Cancelled {
    fn failed(&self, i: usize) -> bool {
        self.0.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
    }
    fn item(&self, i: usize) -> Option<Item> {
        self.0.get(i).and_then(|r| r.item()).filter(|m| !m.is_empty()).cloned()
    }
    fn transient(&self) -> bool {
        self.0.iter().any(|r| {
            matches!(
                r.code(),
                Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
            )
        })
    }
}

enum TxError {
    Cancelled(Cancelled),
    Retry,
    Fatal(ApiError),
}

fn classify_tx(e: SdkError<TransactWriteItemsError>) -> TxError {
    match e.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(t) => {
            TxError::Cancelled(Cancelled(t.cancellation_reasons.unwrap_or_default()))
        }
        TransactWriteItemsError::TransactionInProgressException(t) => {
            tracing::debug!(error = %t, "retryable transaction error");
            TxError::Retry
        }
        TransactWriteItemsError::ProvisionedThroughputExceededException(t) => {
            tracing::debug!(error = %t, "retryable transaction error");
            TxError::Retry
        }
        TransactWriteItemsError::RequestLimitExceeded(t) => {
            tracing::debug!(error = %t, "retryable transaction error");
            TxError::Retry
        }
        other => TxError::Fatal(db_err(other)),
    }
}

/// Full-jitter exponential backoff between retries of a lost race.
async fn backoff(attempt: u32) {
    let cap_ms = (5u64 << attempt.min(6)).min(250);
    let ms = rand::random_range(0..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn present_values() -> [(String, AttributeValue); 2] {
    [
        (":active".into(), s(ParticipantStatus::Active.as_str())),
        (":muted".into(), s(ParticipantStatus::Muted.as_str())),
    ]
}

impl Store {
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.db
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get<T: DeserializeOwned>(&self, key: Key) -> ApiResult<Option<T>> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        out.item.map(from_item).transpose()
    }

    /// An unconditional PutItem (items whose keys are unique by construction).
    async fn put(&self, item: Item) -> ApiResult<()> {
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(db_err)
    }

    /// Applies a conditional UpdateItem: `Ok(None)` when it applied, `Ok(Some(image))` when its
    /// condition failed (`image`: the item as it was, empty when DynamoDB returned none).
    async fn conditional_update(
        &self,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> ApiResult<Option<Item>> {
        match update.send().await {
            Ok(_) => Ok(None),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(c) => Ok(Some(c.item.unwrap_or_default())),
                other => Err(db_err(other)),
            },
        }
    }

    /// Every item of a partition whose sort key starts with `prefix`, following pages.
    async fn query_prefix(&self, pk: String, prefix: &str) -> ApiResult<Vec<Item>> {
        self.db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(db_err)
    }

    /// A paged Query of partition `pk` (bound as `:pk`), continued after `cursor` (an opaque
    /// cursor of this partition; a foreign one is a 400 naming `field`), at most `limit` items.
    fn partition_page(
        &self,
        pk: &str,
        field: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> ApiResult<aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder> {
        let start = cursor
            .map(|c| cursor::decode(field, c, &[keys::PK, keys::SK], (keys::PK, pk)))
            .transpose()?;
        Ok(self
            .db
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(pk))
            .set_exclusive_start_key(start)
            .limit(limit))
    }

    /// P1: a session by id.
    pub async fn session(&self, session_id: &str) -> ApiResult<Option<Session>> {
        self.get(keys::session(session_id)).await
    }

    /// P3: one participant of a session.
    pub async fn participant(&self, session_id: &str, user_id: &str) -> ApiResult<Option<Participant>> {
        self.get(keys::participant(session_id, user_id)).await
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
        self.db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(classify_tx)
    }

    /// Runs a transaction, retrying lost races (conflicts, throttling) with jittered backoff.
    /// `Ok(Err(why))`: a condition failed, for the caller to name; 503 when the races never end.
    async fn transact_settled(&self, items: Vec<TransactWriteItem>, what: &str) -> ApiResult<Result<(), Cancelled>> {
        for attempt in 0..MAX_ATTEMPTS {
            match self.transact(items.clone()).await {
                Ok(()) => return Ok(Ok(())),
                Err(TxError::Cancelled(c)) if c.transient() => backoff(attempt).await,
                Err(TxError::Cancelled(c)) => return Ok(Err(c)),
                Err(TxError::Retry) => backoff(attempt).await,
                Err(TxError::Fatal(e)) => return Err(e),
            }
        }
        Err(ApiError::Unavailable(format!("{what}: retries exhausted")))
    }

    /// P2 + P5 + P6: creates a session (with its settings), its host participant and the host's
    /// live lock in one transaction. A host who already has a live session gets 409.
    pub async fn create_session(&self, session: &Session, host: &Participant) -> ApiResult<()> {
        let key = keys::session(&session.id);
        let mut item = to_item(&key, session)?;
        item.insert(keys::GSI1_PK.into(), s(keys::LIVE_INDEX_PK));
        item.insert(
            keys::GSI1_SK.into(),
            s(keys::live_index_sk(&session.started_at, &session.id)),
        );
        let mut lock = key_item(&keys::host_lock(&session.host_id));
        lock.insert("session_id".into(), s(&session.id));
        let not_exists = "attribute_not_exists(pk)";
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(not_exists)
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(ApiError::internal)
        };
        let items = vec![
            put(lock)?,
            put(item)?,
            put(to_item(&keys::participant(&session.id, &host.user_id), host)?)?,
        ];
        match self.transact_settled(items, "create_session").await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(0) => Err(ApiError::conflict(
                "already-live",
                "you already have a live session; end it before starting another",
            )),
            Err(_) => Err(ApiError::internal("session id collision")),
        }
    }

    /// P3 + P1 counters: records a viewer's presence and counts it, atomically, within
    /// `max_participants`. `peak_viewers` moves with `viewer_count` exactly when the count is at
    /// its peak (two condition branches), so the peak is the true maximum without a read.
    pub async fn join(&self, session_id: &str, viewer: &Participant) -> ApiResult<JoinOutcome> {
        let part_key = keys::participant(session_id, &viewer.user_id);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&part_key, viewer)?))
            .condition_expression("attribute_not_exists(pk) OR #st = :left")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":left", s(ParticipantStatus::Left.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
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
                .map_err(ApiError::internal)?;
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
                        return Err(ApiError::Forbidden("you were removed from this session".into()));
                    }
                    if existing.status.is_present() {
                        return Ok(JoinOutcome::AlreadyPresent(existing));
                    }
                    // It was `left` when the condition ran and changed since: decide again.
                }
                Err(TxError::Cancelled(c)) if c.failed(1) => {
                    let session: Session = match c.item(1) {
                        Some(item) => from_item(item)?,
                        None => self
                            .session(session_id)
                            .await?
                            .ok_or_else(|| ApiError::NotFound("no such session".into()))?,
                    };
                    if session.status != SessionStatus::Live {
                        return Err(ApiError::conflict("session-ended", "this live session has ended"));
                    }
                    if session.viewer_count >= session.settings.max_participants {
                        return Err(ApiError::conflict("session-full", "this live session is full"));
                    }
                    at_peak = session.viewer_count >= session.peak_viewers;
                }
                Err(TxError::Cancelled(c)) if c.transient() => backoff(attempt).await,
                Err(TxError::Cancelled(_)) => {}
                Err(TxError::Retry) => backoff(attempt).await,
                Err(TxError::Fatal(e)) => return Err(e),
            }
        }
        Err(ApiError::Unavailable("join retries exhausted".into()))
    }

    /// P3 + P1 counters: marks a present participant as left and uncounts them (audience, stage
    /// slot, cohost list), atomically. A second leave changes nothing. Hosts end their session
    /// instead of leaving it.
    pub async fn leave(&self, session_id: &str, user_id: &str, now: &str) -> ApiResult<LeaveOutcome> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(p) = self.participant(session_id, user_id).await? else {
                return Err(ApiError::NotFound("you are not a participant of this session".into()));
            };
            if !p.status.is_present() {
                return Ok(LeaveOutcome::NotPresent(p));
            }
            if p.role == crate::domain::Role::Host {
                return Err(ApiError::conflict(
                    "host-cannot-leave",
                    "the host ends the session with POST /live/end/{session_id}",
                ));
            }
            let mut change = ParticipantChange::new(session_id, user_id, p.role, now);
            change.status = Some(ParticipantStatus::Left);
            change.viewer_delta = -1;
            change.guest_delta = if p.role.is_guest_slot() { -1 } else { 0 };
            change.cohost = (p.role == crate::domain::Role::Cohost).then_some(false);
            let left = match self.change_participant(&change).await {
                Ok(()) => true,
                // The session ended (its counts were zeroed there): record the leave alone.
                Err(ApiError::Conflict {
                    code: "session-ended", ..
                }) => self.mark_left(session_id, user_id, now).await?,
                // Role or status moved under us: decide again.
                Err(ApiError::Conflict {
                    code: "participant-changed",
                    ..
                }) => continue,
                Err(e) => return Err(e),
            };
            if left {
                let left = Participant {
                    status: ParticipantStatus::Left,
                    left_at: Some(now.to_string()),
                    ..p
                };
                return Ok(LeaveOutcome::Left(left));
            }
        }
        Err(ApiError::Unavailable("leave retries exhausted".into()))
    }

    /// `SET status = left` on a present participant.
    fn mark_left_update(&self, session_id: &str, user_id: &str, now: &str) -> ApiResult<Update> {
        let mut b = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(session_id, user_id))))
            .update_expression("SET #st = :left, left_at = :now")
            .condition_expression("#st IN (:active, :muted)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":left", s(ParticipantStatus::Left.as_str()))
            .expression_attribute_values(":now", s(now));
        for (k, v) in present_values() {
            b = b.expression_attribute_values(k, v);
        }
        b.build().map_err(ApiError::internal)
    }

    /// Marks one participant left if still present; `false` when it was not present.
    async fn mark_left(&self, session_id: &str, user_id: &str, now: &str) -> ApiResult<bool> {
        let u = self.mark_left_update(session_id, user_id, now)?;
        let update = self
            .db
            .update_item()
            .table_name(u.table_name())
            .set_key(Some(u.key().clone()))
            .update_expression(u.update_expression())
            .set_condition_expression(u.condition_expression().map(str::to_string))
            .set_expression_attribute_names(u.expression_attribute_names().cloned())
            .set_expression_attribute_values(u.expression_attribute_values().cloned());
        Ok(self.conditional_update(update).await?.is_none())
    }

    /// P1 + P6: ends a live session (status, end time, counts to zero, out of the live index) and
    /// releases the host's live lock, in one transaction. Returns the session as stored after;
    /// ending an ended session changes nothing.
    pub async fn end_session(&self, session: &Session, ended_at: &str, duration_seconds: i64) -> ApiResult<Session> {
        let end = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(&session.id))))
            .update_expression(
                "SET #st = :ended, ended_at = :at, duration_seconds = :dur, viewer_count = :zero, guest_count = :zero \
                 REMOVE gsi1pk, gsi1sk",
            )
            .condition_expression("#st = :live")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":ended", s("ended"))
            .expression_attribute_values(":live", s("live"))
            .expression_attribute_values(":at", s(ended_at))
            .expression_attribute_values(":dur", n(duration_seconds))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(ApiError::internal)?;
        let unlock = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::host_lock(&session.host_id))))
            .condition_expression("attribute_not_exists(pk) OR session_id = :sid")
            .expression_attribute_values(":sid", s(&session.id))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            TransactWriteItem::builder().update(end).build(),
            TransactWriteItem::builder().delete(unlock).build(),
        ];
        match self.transact_settled(items, "end_session").await? {
            Ok(()) => {}
            Err(c) if c.failed(0) => {} // already ended
            Err(_) => return Err(ApiError::internal("host lock held by another session")),
        }
        self.session(&session.id)
            .await?
            .filter(|s| s.status == SessionStatus::Ended)
            .ok_or_else(|| ApiError::internal("an ended session is not marked ended"))
    }

    /// P4 (all): every participant item of a session, following pages.
    async fn all_participants(&self, session_id: &str) -> ApiResult<Vec<Participant>> {
        let items = self
            .query_prefix(keys::session_pk(session_id), keys::PARTICIPANT_PREFIX)
            .await?;
        items.into_iter().map(from_item).collect()
    }

    /// After `end`: every still-present participant is marked left; kicked and banned keep their
    /// status. Each write is conditional, so a repeated `end` finishes an interrupted sweep.
    pub async fn sweep_participants(&self, session_id: &str, now: &str) -> ApiResult<usize> {
        let present: Vec<String> = self
            .all_participants(session_id)
            .await?
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

    /// P4: present participants of a session, one page in key order.
    pub async fn present_participants(
        &self,
        session_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> ApiResult<(Vec<Participant>, Option<String>)> {
        let mut q = self
            .partition_page(&keys::session_pk(session_id), "cursor", cursor, limit)?
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression("#st IN (:active, :muted)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":prefix", s(keys::PARTICIPANT_PREFIX));
        for (k, v) in present_values() {
            q = q.expression_attribute_values(k, v);
        }
        page(q).await
    }

    /// P7: live sessions, newest first, one page. GSI1 projects keys only (so counter updates never
    /// write to it); the sessions themselves come from one BatchGetItem.
    pub async fn live_sessions(&self, limit: i32, cursor: Option<&str>) -> ApiResult<(Vec<Session>, Option<String>)> {
        let start = cursor
            .map(|c| {
                cursor::decode(
                    "cursor",
                    c,
                    &[keys::PK, keys::SK, keys::GSI1_PK, keys::GSI1_SK],
                    (keys::GSI1_PK, keys::LIVE_INDEX_PK),
                )
            })
            .transpose()?;
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :live")
            .expression_attribute_values(":live", s(keys::LIVE_INDEX_PK))
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(db_err)?;
        let next = out.last_evaluated_key.as_ref().map(cursor::encode);
        let order: Vec<String> = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i.get(keys::PK).and_then(|v| v.as_s().ok()).cloned())
            .collect();
        let mut found = self.batch_get(&order).await?;
        // The index is eventually consistent: keep its order, drop what ended in the meantime.
        let list = order
            .iter()
            .filter_map(|pk| found.remove(pk))
            .map(from_item::<Session>)
            .filter(|r| r.as_ref().map_or(true, |s| s.status == SessionStatus::Live))
            .collect::<ApiResult<_>>()?;
        Ok((list, next))
    }

    /// BatchGetItem of session items by partition key, retrying unprocessed keys.
    async fn batch_get(&self, pks: &[String]) -> ApiResult<HashMap<String, Item>> {
        let mut found = HashMap::new();
        for chunk in pks.chunks(100) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .map(|pk| {
                    key_item(&Key {
                        pk: pk.clone(),
                        sk: "META".into(),
                    })
                })
                .collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                let req = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .build()
                    .map_err(ApiError::internal)?;
                let out = self
                    .db
                    .batch_get_item()
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(db_err)?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    if let Some(pk) = item.get(keys::PK).and_then(|v| v.as_s().ok()).cloned() {
                        found.insert(pk, item);
                    }
                }
                pending = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.table)
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
                        return Err(ApiError::Unavailable("batch get retries exhausted".into()));
                    }
                    backoff(attempt).await;
                }
            }
        }
        Ok(found)
    }
}

/// Paths the emulator cannot produce (it never raises `TransactionConflict` or throttling, and may
/// omit `ALL_OLD` images), driven with `aws-smithy-mocks` against the real SDK client.
#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
    use aws_sdk_dynamodb::types::error::{ProvisionedThroughputExceededException, TransactionCanceledException};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::domain::{Role, SessionType, Settings};

    fn viewer() -> Participant {
        Participant::entering("s", "u", "u", Role::Viewer, "2026-01-01T00:00:00.000000Z")
    }

    fn session(viewers: u32, peak: u32, max: u32) -> Session {
        Session {
            id: "s".into(),
            room_name: "live_s".into(),
            host_id: "h".into(),
            host_username: "h".into(),
            host_avatar_url: None,
            title: "t".into(),
            description: String::new(),
            session_type: SessionType::Camera,
            status: SessionStatus::Live,
            started_at: "2026-01-01T00:00:00.000000Z".into(),
            ended_at: None,
            duration_seconds: None,
            viewer_count: viewers,
            peak_viewers: peak,
            guest_count: 0,
            settings: Settings {
                max_participants: max,
                allow_guests: true,
                require_approval: true,
                max_guests: 8,
                enable_chat: true,
                enable_gifts: true,
                chat_slow_mode: 0,
                guest_audio_default: true,
                guest_video_default: true,
                blocked_words: vec![],
            },
            cohosts: vec![],
        }
    }

    fn cancelled(reasons: Vec<CancellationReason>) -> TransactWriteItemsError {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .set_cancellation_reasons(Some(reasons))
                .build(),
        )
    }

    fn reason(code: &str, item: Option<Item>) -> CancellationReason {
        CancellationReason::builder().code(code).set_item(item).build()
    }

    #[tokio::test]
    async fn join_retries_transaction_conflicts() {
        let rule = mock!(Client::transact_write_items)
            .sequence()
            .error(|| cancelled(vec![reason("None", None), reason("TransactionConflict", None)]))
            .times(3)
            .output(|| TransactWriteItemsOutput::builder().build())
            .build();
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]), "t");
        assert!(matches!(store.join("s", &viewer()).await, Ok(JoinOutcome::Joined)));
        assert_eq!(rule.num_calls(), 4);
    }

    #[tokio::test]
    async fn join_reads_the_failed_condition_from_the_all_old_image() {
        let full = to_item(&keys::session("s"), &session(5, 7, 5)).unwrap();
        let rule = mock!(Client::transact_write_items).then_error(move || {
            cancelled(vec![
                reason("None", None),
                reason("ConditionalCheckFailed", Some(full.clone())),
            ])
        });
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]), "t");
        match store.join("s", &viewer()).await {
            Err(ApiError::Conflict { code, .. }) => assert_eq!(code, "session-full"),
            other => panic!("expected session-full, got {:?}", other.err()),
        }
        assert_eq!(rule.num_calls(), 1, "no read was needed to classify");
    }

    #[tokio::test]
    async fn join_switches_peak_branch_and_refuses_barred_users() {
        // Below the peak: the first (at-peak) branch fails, the second succeeds.
        let below = to_item(&keys::session("s"), &session(2, 7, 50)).unwrap();
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
        assert!(matches!(store.join("s", &viewer()).await, Ok(JoinOutcome::Joined)));

        let kicked = to_item(
            &keys::participant("s", "u"),
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
        assert!(matches!(store.join("s", &viewer()).await, Err(ApiError::Forbidden(_))));
    }

    #[tokio::test]
    async fn end_retries_throttling_then_gives_up_with_503() {
        let ended = to_item(
            &keys::session("s"),
            &Session {
                status: SessionStatus::Ended,
                ..session(0, 3, 10)
            },
        )
        .unwrap();
        let throttled = mock!(Client::transact_write_items)
            .sequence()
            .error(|| {
                TransactWriteItemsError::ProvisionedThroughputExceededException(
                    ProvisionedThroughputExceededException::builder().build(),
                )
            })
            .times(2)
            .output(|| TransactWriteItemsOutput::builder().build())
            .build();
        let read =
            mock!(Client::get_item).then_output(move || GetItemOutput::builder().set_item(Some(ended.clone())).build());
        let store = Store::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&throttled, &read]),
            "t",
        );
        let out = store
            .end_session(&session(0, 3, 10), "2026-01-01T00:00:10.000000Z", 10)
            .await
            .unwrap();
        assert_eq!(out.status, SessionStatus::Ended);
        assert_eq!(throttled.num_calls(), 3);

        let always = mock!(Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder().build(),
            )
        });
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&always]), "t");
        let err = store.join("s", &viewer()).await.err().unwrap();
        assert_eq!(err.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(always.num_calls(), MAX_ATTEMPTS as usize);
    }
}
