//! Access patterns of sessions: read one, create one with its host and live lock, list the live
//! ones, end one (`docs/data-model.md`, P1, P2, P7, P8).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::cursor;
use super::error::{Refusal, StoreResult};
use super::item::{db_err, failed, from_item, key_item, n, s, text, to_item, Item};
use super::reactions::{reaction_shard_keys, reaction_totals};
use super::Store;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys::{self, Key};
use crate::domain::page::{Listing, PageRequest};
use crate::domain::time::Timestamp;
use crate::domain::{Participant, ReactionType, Session, SessionStatus};

/// What `GET /live/session/{id}` shows: the session, its reaction totals (P15) and, for a
/// signed-in caller, their participant (whether they moderate).
pub struct SessionDetail {
    pub session: Session,
    pub caller: Option<Participant>,
    pub reactions: HashMap<ReactionType, i64>,
}

impl Store {
    /// P1 with P15 (and P3 for a caller): a session's detail in one consistent BatchGetItem.
    pub async fn session_detail(
        &self,
        session_id: &SessionId,
        caller: Option<&UserId>,
    ) -> StoreResult<Option<SessionDetail>> {
        let session_key = keys::session(session_id);
        let caller_key = caller.map(|user| keys::participant(session_id, user));
        let mut wanted = reaction_shard_keys(session_id);
        wanted.extend([&session_key].into_iter().chain(&caller_key).map(key_item));
        let items = self.batch_get_items(wanted, "session detail", true).await?;
        let is =
            |item: &Item, key: &Key| text(item, keys::PK) == Some(&key.pk) && text(item, keys::SK) == Some(&key.sk);
        let (mut session, mut participant, mut shards) = (None, None, Vec::new());
        for item in items {
            if is(&item, &session_key) {
                session = Some(from_item::<Session>(item)?);
            } else if caller_key.as_ref().is_some_and(|k| is(&item, k)) {
                participant = Some(from_item::<Participant>(item)?);
            } else {
                shards.push(item);
            }
        }
        Ok(session.map(|session| SessionDetail {
            session,
            caller: participant,
            reactions: reaction_totals(&shards),
        }))
    }

    /// P1: a session by id.
    pub async fn session(&self, session_id: &SessionId) -> StoreResult<Option<Session>> {
        self.get(keys::session(session_id)).await
    }

    /// P2: creates a session (with its settings), its host participant and the host's live lock
    /// in one transaction. A host who already has a live session: `AlreadyLive`.
    pub async fn create_session(&self, session: &Session, host: &Participant) -> StoreResult<()> {
        let key = keys::session(&session.id);
        let mut item = to_item(&key, session)?;
        // Listed live at once, or backstage (P44) until it goes live.
        let (index_pk, index_sk) = if session.backstage {
            let opened_ms = session.started_at.unix_millis();
            (
                keys::BACKSTAGE_INDEX_PK,
                keys::backstage_index_sk(opened_ms, &session.id),
            )
        } else {
            (
                keys::LIVE_INDEX_PK,
                keys::live_index_sk(&session.started_at, &session.id),
            )
        };
        item.insert(keys::GSI1_PK.into(), s(index_pk));
        item.insert(keys::GSI1_SK.into(), s(index_sk));
        let mut lock = key_item(&keys::host_lock(&session.host_id));
        lock.insert("session_id".into(), s(session.id));
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(failed)
        };
        // The host's list of sessions hosted (P48), by the time it opened.
        let mut hosted = key_item(&keys::hosted(&session.host_id, &session.started_at, &session.id));
        hosted.insert("session_id".into(), s(session.id));
        let items = vec![
            put(lock)?,
            put(item)?,
            put(to_item(&keys::participant(&session.id, &host.user_id), host)?)?,
            put(hosted)?,
        ];
        match self.transact_settled(items, "create_session").await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(0) => Err(Refusal::AlreadyLive.into()),
            Err(_) => Err(failed("session id collision")),
        }
    }

    /// P8: ends a live session (status, end time, counts to zero, out of the live index) and
    /// releases the host's live lock, in one transaction. Returns the session as stored after;
    /// ending an ended session changes nothing.
    pub async fn end_session(
        &self,
        session: &Session,
        ended_at: &Timestamp,
        duration_seconds: i64,
    ) -> StoreResult<Session> {
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
            .map_err(failed)?;
        let unlock = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::host_lock(&session.host_id))))
            .condition_expression("attribute_not_exists(pk) OR session_id = :sid")
            .expression_attribute_values(":sid", s(session.id))
            .build()
            .map_err(failed)?;
        let items = vec![
            TransactWriteItem::builder().update(end).build(),
            TransactWriteItem::builder().delete(unlock).build(),
        ];
        match self.transact_settled(items, "end_session").await? {
            Ok(()) => {}
            Err(c) if c.failed(0) => {} // already ended
            Err(_) => return Err(failed("host lock held by another session")),
        }
        self.session(&session.id)
            .await?
            .filter(|s| s.status == SessionStatus::Ended)
            .ok_or_else(|| failed("an ended session is not marked ended"))
    }

    /// P7: live sessions, newest first, one page. GSI1 projects keys only (so counter updates never
    /// write to it); the sessions themselves come from one BatchGetItem.
    pub async fn live_sessions(&self, page: &PageRequest) -> StoreResult<Listing<Session>> {
        let start = page
            .cursor
            .as_deref()
            .map(|c| {
                cursor::decode(
                    page.cursor_param,
                    c,
                    &[keys::PK, keys::SK, keys::GSI1_PK, keys::GSI1_SK],
                    (keys::GSI1_PK, keys::LIVE_INDEX_PK),
                    (keys::GSI1_SK, &|_| true),
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
            .limit(page.limit)
            .send()
            .await
            .map_err(db_err)?;
        let next_cursor = out.last_evaluated_key.as_ref().map(cursor::encode);
        let order: Vec<String> = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| text(i, keys::PK).map(str::to_string))
            .collect();
        let mut found = self.batch_get(&order).await?;
        // The index is eventually consistent: keep its order, drop what ended in the meantime.
        let items = order
            .iter()
            .filter_map(|pk| found.remove(pk))
            .map(from_item::<Session>)
            .filter(|r| r.as_ref().map_or(true, |s| s.status == SessionStatus::Live))
            .collect::<StoreResult<_>>()?;
        Ok(Listing { items, next_cursor })
    }

    /// P7: BatchGetItem of session items by partition key.
    async fn batch_get(&self, pks: &[String]) -> StoreResult<HashMap<String, Item>> {
        let keys = pks
            .iter()
            .map(|pk| {
                key_item(&Key {
                    pk: pk.clone(),
                    sk: "META".into(),
                })
            })
            .collect();
        Ok(self
            .batch_get_items(keys, "batch get", false)
            .await?
            .into_iter()
            .filter_map(|item| Some((text(&item, keys::PK)?.to_string(), item)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::transact_write_items::{TransactWriteItemsError, TransactWriteItemsOutput};
    use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::effects::store::testing::{at, session, viewer};
    use crate::effects::store::transact::MAX_ATTEMPTS;
    use crate::effects::store::StoreError;

    #[tokio::test]
    async fn end_retries_throttling_then_gives_up_with_busy() {
        let ended = to_item(
            &keys::session(&session(0, 3, 10).id),
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
        let out = store.end_session(&session(0, 3, 10), &at(10), 10).await.unwrap();
        assert_eq!(out.status, SessionStatus::Ended);
        assert_eq!(throttled.num_calls(), 3);

        let always = mock!(Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder().build(),
            )
        });
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&always]), "t");
        let err = store.join(&viewer()).await.err().unwrap();
        assert!(matches!(err, StoreError::Busy(_)), "{err:?}");
        assert_eq!(always.num_calls(), MAX_ATTEMPTS as usize);
    }
}
