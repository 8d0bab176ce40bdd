//! Access patterns of guest requests and invitations: open one, find one by id, list a session's,
//! close one, approve one with its stage change in one transaction (`docs/data-model.md`, P9, P10,
//! P19, P20).

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::changes::{change_actions, change_refusal};
use super::error::{Refusal, StoreError, StoreResult};
use super::item::{db_err, failed, key_item, n, present_values, s, text, to_item};
use super::{page, Store};
use crate::domain::change::ParticipantChange;
use crate::domain::ids::{RequestId, SessionId, UserId};
use crate::domain::keys::{self, Key};
use crate::domain::page::{Listing, PageRequest};
use crate::domain::time::{epoch_seconds, Timestamp};
use crate::domain::{GuestRequest, RequestStatus, SessionStatus};

/// What opens a request or invitation, and so what its write checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// A viewer asks: the session is live and allows guests; the user is a present viewer.
    Request,
    /// A host or cohost invites: the session is live; the user is a present viewer.
    Invitation,
    /// A host or cohost invites backstage: the session is backstage; the user need not have
    /// joined (they are admitted by the invitation), only not be barred or on stage.
    BackstageInvitation,
}

impl Store {
    /// P19: records a pending request or invitation as `opening` requires, and nothing else
    /// pending for the user.
    pub async fn create_guest_request(&self, r: &GuestRequest, opening: Opening) -> StoreResult<()> {
        let mut live = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(&r.session_id))))
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":live", s("live"));
        live = match opening {
            Opening::Request => live
                .condition_expression("#st = :live AND #settings.allow_guests = :yes")
                .expression_attribute_names("#settings", "settings")
                .expression_attribute_values(":yes", AttributeValue::Bool(true)),
            Opening::Invitation => live.condition_expression("#st = :live"),
            Opening::BackstageInvitation => live
                .condition_expression("#st = :live AND backstage = :yes")
                .expression_attribute_values(":yes", AttributeValue::Bool(true)),
        };
        let mut viewer = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(&r.session_id, &r.user_id))))
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":viewer", s("viewer"));
        viewer = if opening == Opening::BackstageInvitation {
            viewer
                .condition_expression(
                    "attribute_not_exists(pk) OR (#role = :viewer AND #st IN (:active, :muted, :left))",
                )
                .expression_attribute_values(":left", s("left"))
        } else {
            viewer.condition_expression("#st IN (:active, :muted) AND #role = :viewer")
        };
        for (k, v) in present_values() {
            viewer = viewer.expression_attribute_values(k, v);
        }
        // The user's hold: absent, or left by an invitation that expired.
        let lock = Put::builder()
            .table_name(&self.table)
            .set_item(Some(pending_lock(r)))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(epoch_seconds()))
            .build()
            .map_err(failed)?;
        let mut item = to_item(&keys::guest_request(&r.session_id, &r.id), r)?;
        item.insert(keys::GSI1_PK.into(), s(keys::guest_request_index_pk(&r.id)));
        item.insert(keys::GSI1_SK.into(), s("GREQ"));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(failed)?;
        let items = vec![
            TransactWriteItem::builder()
                .condition_check(live.build().map_err(failed)?)
                .build(),
            TransactWriteItem::builder()
                .condition_check(viewer.build().map_err(failed)?)
                .build(),
            TransactWriteItem::builder().put(lock).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        let c = match self.transact_settled(items, "guest request").await? {
            Ok(()) => return Ok(()),
            Err(c) => c,
        };
        let refusal = if c.failed(0) {
            match self.session(&r.session_id).await? {
                None => Refusal::SessionMissing,
                Some(s) if s.status != SessionStatus::Live => Refusal::SessionEnded,
                Some(_) => Refusal::GuestsNotAllowed,
            }
        } else if c.failed(1) {
            match self.participant(&r.session_id, &r.user_id).await? {
                Some(p) if p.status.is_present() => Refusal::NotAViewer,
                Some(p) if p.status.is_barred() => Refusal::Barred,
                _ => Refusal::Absent,
            }
        } else if c.failed(2) {
            Refusal::RequestPending
        } else {
            return Err(failed("guest request id collision"));
        };
        Err(refusal.into())
    }

    /// P9: a guest request by id alone (GSI1 gives its key).
    pub async fn guest_request(&self, request_id: &RequestId) -> StoreResult<Option<GuestRequest>> {
        // GSI1 is eventually consistent: a request written a moment ago may not be found yet
        // (`guest_request_in`, with the session, reads it directly and consistently).
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(keys::guest_request_index_pk(request_id)))
            .send()
            .await
            .map_err(db_err)?;
        let Some(found) = out.items.unwrap_or_default().into_iter().next() else {
            return Ok(None);
        };
        let (Some(pk), Some(sk)) = (text(&found, keys::PK), text(&found, keys::SK)) else {
            return Ok(None);
        };
        self.get(Key {
            pk: pk.to_string(),
            sk: sk.to_string(),
        })
        .await
    }

    /// P9: a request of a known session, by id: one consistent GetItem.
    pub async fn guest_request_in(
        &self,
        session_id: &SessionId,
        request_id: &RequestId,
    ) -> StoreResult<Option<GuestRequest>> {
        self.get(keys::guest_request(session_id, request_id)).await
    }

    /// P10: requests of a session, newest first, optionally of one status.
    pub async fn guest_requests_page(
        &self,
        session_id: &SessionId,
        status: Option<RequestStatus>,
        page_request: &PageRequest,
    ) -> StoreResult<Listing<GuestRequest>> {
        let mut q = self
            .partition_page(
                &keys::session_pk(session_id),
                &|sk| sk.starts_with(keys::GUEST_REQUEST_PREFIX),
                page_request,
            )?
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":prefix", s(keys::GUEST_REQUEST_PREFIX))
            .scan_index_forward(false);
        if let Some(st) = status {
            q = q
                .filter_expression("#st = :status")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":status", s(st.as_str()));
        }
        page(q).await
    }

    /// P19: closes a pending request without approval (rejected, cancelled) and frees the user to
    /// ask again. A second answer: `AlreadyAnswered`.
    pub async fn close_guest_request(
        &self,
        r: &GuestRequest,
        status: RequestStatus,
        by: &UserId,
        at: &Timestamp,
    ) -> StoreResult<()> {
        let items = vec![
            TransactWriteItem::builder()
                .update(self.answer(r, status, by, at)?)
                .build(),
            TransactWriteItem::builder().delete(self.unlock(r)?).build(),
        ];
        match self.transact_settled(items, "closing a guest request").await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(0) => Err(Refusal::AlreadyAnswered.into()),
            Err(_) => Err(Refusal::InvitationExpired.into()),
        }
    }

    /// P19: closes a pending invitation that was not accepted in time, and frees the user's hold
    /// when it is still this invitation's (a newer request may have taken it already).
    pub async fn expire_invitation(&self, r: &GuestRequest, at: &Timestamp) -> StoreResult<()> {
        let answer = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::guest_request(&r.session_id, &r.id))))
            .update_expression("SET #st = :expired, responded_at = :at")
            .condition_expression("#st = :pending")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":expired", s(RequestStatus::Expired.as_str()))
            .expression_attribute_values(":pending", s(RequestStatus::Pending.as_str()))
            .expression_attribute_values(":at", s(at));
        if self.conditional_update(answer).await?.is_some() {
            return Err(Refusal::AlreadyAnswered.into());
        }
        let release = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::pending_request(&r.session_id, &r.user_id))))
            .condition_expression("request_id = :rid")
            .expression_attribute_values(":rid", s(r.id))
            .send()
            .await;
        match release {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                DeleteItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(db_err(other)),
            },
        }
    }

    /// P20: approval as ONE transaction: the request (still pending) becomes approved, the viewer
    /// (still a present viewer) goes on stage with the session's defaults, the guest count grows on
    /// the condition that it stays within `max_guests`, and the pending lock goes. Full:
    /// `StageFull`, and the request stays pending.
    pub async fn approve_guest_request(
        &self,
        r: &GuestRequest,
        stage: &ParticipantChange,
        by: &UserId,
    ) -> StoreResult<()> {
        let mut items = vec![TransactWriteItem::builder()
            .update(self.answer(r, RequestStatus::Approved, by, &stage.at)?)
            .build()];
        items.extend(change_actions(self, stage)?);
        items.push(TransactWriteItem::builder().delete(self.unlock(r)?).build());
        let unlock = items.len() - 1;
        match self.transact_settled(items, "approval").await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(0) => Err(Refusal::AlreadyAnswered.into()),
            Err(c) if c.failed(unlock) => Err(Refusal::InvitationExpired.into()),
            // The change's own actions start at index 1.
            Err(c) => Err(change_refusal(self, stage, &c.skip(1)).await?.into()),
        }
    }

    /// P20 (undone): an approval whose SFU update failed: back to a viewer, slot freed, request
    /// pending again.
    pub async fn revert_approval(&self, r: &GuestRequest, undo: &ParticipantChange) -> StoreResult<()> {
        self.change_participant(undo).await?;
        let reopen = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::guest_request(&r.session_id, &r.id))))
            .update_expression("SET #st = :pending REMOVE responded_at, responded_by")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":pending", s("pending"))
            .build()
            .map_err(failed)?;
        let relock = Put::builder()
            .table_name(&self.table)
            .set_item(Some(pending_lock(r)))
            .build()
            .map_err(failed)?;
        self.transact(vec![
            TransactWriteItem::builder().update(reopen).build(),
            TransactWriteItem::builder().put(relock).build(),
        ])
        .await
        .map_err(|_| StoreError::Busy("reverting an approval".into()))
    }

    /// The request update that answers a pending request (cond: still pending).
    fn answer(&self, r: &GuestRequest, status: RequestStatus, by: &UserId, at: &Timestamp) -> StoreResult<Update> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::guest_request(&r.session_id, &r.id))))
            .update_expression("SET #st = :status, responded_at = :at, responded_by = :by")
            .condition_expression("#st = :pending")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":by", s(by))
            .build()
            .map_err(failed)
    }

    /// Frees the user's hold, on the condition that it is still `r`'s.
    fn unlock(&self, r: &GuestRequest) -> StoreResult<Delete> {
        Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::pending_request(&r.session_id, &r.user_id))))
            .condition_expression("request_id = :rid")
            .expression_attribute_values(":rid", s(r.id))
            .build()
            .map_err(failed)
    }
}

/// The one-pending-request lock of `r`'s user, naming `r`; an invitation's lock expires with it
/// (its `expires_at` is also the item's TTL).
fn pending_lock(r: &GuestRequest) -> super::item::Item {
    let mut lock = key_item(&keys::pending_request(&r.session_id, &r.user_id));
    lock.insert("request_id".into(), s(r.id));
    if let Some(until) = r.expires_at {
        lock.insert("expires_at".into(), n(until.unix_millis() / 1000));
    }
    lock
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::domain::time::Timestamp;
    use crate::domain::{RequestOrigin, RequestType};
    use crate::effects::store::item::to_item;
    use crate::effects::store::testing::session_id;

    fn pending_request() -> GuestRequest {
        GuestRequest {
            id: RequestId::new(),
            session_id: session_id(),
            user_id: UserId::parse("bob").unwrap(),
            username: "bob".into(),
            avatar_url: None,
            request_type: RequestType::Guest,
            origin: RequestOrigin::Request,
            status: RequestStatus::Pending,
            message: None,
            invited_by: None,
            expires_at: None,
            created_at: Timestamp::now(),
            responded_at: None,
            responded_by: None,
        }
    }

    /// Right after a request is written, GSI1 may not list it yet (DynamoDB's indexes are
    /// eventually consistent; moto's are not, so this is shown with a mock): by id alone it is
    /// not found, with its session it is, by a consistent read of its own key.
    #[tokio::test]
    async fn a_request_of_a_known_session_is_read_without_the_lagging_index() {
        let r = pending_request();
        let item = to_item(&keys::guest_request(&r.session_id, &r.id), &r).unwrap();
        let lagging = mock!(Client::query).then_output(|| QueryOutput::builder().set_items(Some(vec![])).build());
        let read = mock!(Client::get_item)
            .match_requests(|g| g.consistent_read == Some(true))
            .then_output(move || GetItemOutput::builder().set_item(Some(item.clone())).build());
        let store = Store::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&lagging, &read]),
            "t",
        );
        assert!(store.guest_request(&r.id).await.unwrap().is_none(), "the index lags");
        let found = store
            .guest_request_in(&r.session_id, &r.id)
            .await
            .unwrap()
            .expect("read");
        assert_eq!((found.id, found.status), (r.id, RequestStatus::Pending));
        assert_eq!((lagging.num_calls(), read.num_calls()), (1, 1));
    }
}
