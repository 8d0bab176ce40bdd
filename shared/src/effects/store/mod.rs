//! DynamoDB access: one function per access pattern of `docs/data-model.md`, each named on the
//! function by its P-number, in one file per entity.
//!
//! Limits and counters are enforced by the conditions of the writes themselves (conditional
//! updates, transactions), never by reading a value and writing a decision back. Reads here only
//! serve responses and the classification of an already-failed write. A write that does not
//! happen answers a [`Refusal`] (the fact its condition established) or a [`StoreError`]; the
//! rules choose what the client is told.
//!
//! - [`item`]: attribute values, keys and items; [`transact`]: transactions and lost races;
//!   [`cursor`]: opaque page cursors; [`error`]: refusals and failures.
//! - [`sessions`] (P1, P2, P7, P8), [`participants`] (P3–P6), [`changes`] (P18), [`requests`]
//!   (P9, P10, P19, P20), [`audit`] (P21), [`chat`] (P11, P13), [`reactions`] (P14, P15),
//!   [`connections`] (P12, P17), [`push_windows`] (P16), [`webhooks`] (P22, P23), [`idempotency`]
//!   (P24), [`rates`] (P25), [`stream`] (P28–P30), [`wallets`] (P31–P37), [`admissions`] (P38),
//!   [`moderation`] (P39–P41), [`settings`] (P42), [`backstage`] (P43, P44), [`recordings`] (P45),
//!   [`analytics`] (P46–P48).

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{KeysAndAttributes, WriteRequest};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;

use crate::domain::keys::{self, Key};
use crate::domain::page::{Listing, PageRequest};

pub mod admissions;
pub mod analytics;
pub mod audit;
pub mod backstage;
pub mod changes;
pub mod chat;
pub mod connections;
pub mod cursor;
pub mod error;
pub mod idempotency;
pub mod item;
pub mod moderation;
pub mod participants;
mod per_process;
pub mod push_windows;
pub mod rates;
pub mod reactions;
pub mod recordings;
pub mod requests;
pub mod sessions;
pub mod settings;
pub mod stream;
#[cfg(test)]
mod testing;
pub mod transact;
pub mod wallets;
pub mod webhooks;

pub use connections::ConnectionRef;
pub use error::{Refusal, StoreError, StoreResult};
pub use idempotency::{KeyClaim, KeyTaken, KeyTerms};
pub use participants::{JoinOutcome, LeaveOutcome};
pub use reactions::REACTION_SHARDS;
pub use stream::{Checkpoint, ClosedWindow, NewWindow, StreamState, WindowEnd};
pub use wallets::{Combo, ComboSend, Earlier, EarlierCredit, Paid, Payment, TicketSale, Ticketed};
pub use webhooks::{HostGone, MediaState, WebhookClaim};

use item::{db_err, from_item, key_item, s, Item};

#[derive(Clone)]
pub struct Store {
    db: Client,
    table: String,
    /// The fan-out's view of its sessions' sockets, per connection epoch (P12).
    sockets: std::sync::Arc<connections::SocketViews>,
    /// The fan-out's windows closed and read, for their other shards.
    windows: std::sync::Arc<stream::ClosedWindows>,
}

impl Store {
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
            sockets: connections::socket_views(),
            windows: stream::closed_windows(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.db
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A consistent GetItem.
    async fn get<T: DeserializeOwned>(&self, key: Key) -> StoreResult<Option<T>> {
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
    async fn put(&self, item: Item) -> StoreResult<()> {
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(db_err)
    }

    /// A DeleteItem.
    async fn delete(&self, key: Key) -> StoreResult<()> {
        self.db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&key)))
            .send()
            .await
            .map(|_| ())
            .map_err(db_err)
    }

    /// Applies a conditional UpdateItem: `Ok(None)` when it applied, `Ok(Some(image))` when its
    /// condition failed (`image`: the item as it was, empty when DynamoDB returned none).
    async fn conditional_update(&self, update: UpdateItemFluentBuilder) -> StoreResult<Option<Item>> {
        Ok(self.conditional_update_returning(update).await?.err())
    }

    /// [`Store::conditional_update`], keeping what the update returns when it applied (the item
    /// its `ReturnValues` asks for): `Ok(Ok(returned))`, or `Ok(Err(image))` when its condition
    /// failed.
    async fn conditional_update_returning(&self, update: UpdateItemFluentBuilder) -> StoreResult<Result<Item, Item>> {
        match update.send().await {
            Ok(out) => Ok(Ok(out.attributes.unwrap_or_default())),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(c) => Ok(Err(c.item.unwrap_or_default())),
                other => Err(db_err(other)),
            },
        }
    }

    /// BatchGetItem of `keys` (any number: sent 100 at a time), retrying unprocessed keys with
    /// backoff; `what` names the read in the `Busy` error when they stay unprocessed. Items that
    /// do not exist are simply not returned. `consistent`: strongly consistent reads (twice the
    /// read units), for what a caller must see right after changing it.
    async fn batch_get_items(&self, keys: Vec<Item>, what: &str, consistent: bool) -> StoreResult<Vec<Item>> {
        self.until_processed(keys, 100, what, |pending| async move {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(consistent)
                .build()
                .map_err(item::failed)?;
            let out = self
                .db
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(db_err)?;
            let found = out
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default();
            let left = out
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.table)
                .map(|k| k.keys)
                .unwrap_or_default();
            Ok((found, left))
        })
        .await
    }

    /// BatchWriteItem of `requests` (any number: sent 25 at a time), retrying unprocessed items
    /// with backoff; `what` names the write in the `Busy` error when they stay unprocessed.
    async fn batch_write(&self, requests: Vec<WriteRequest>, what: &str) -> StoreResult<()> {
        self.until_processed(requests, 25, what, |pending| async move {
            let out = self
                .db
                .batch_write_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(db_err)?;
            let left = out
                .unprocessed_items
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default();
            Ok((Vec::new(), left))
        })
        .await
        .map(|_| ())
    }

    /// The batch calls' loop: `entries` sent `chunk` at a time by `send`, which answers the items
    /// it read and the entries DynamoDB left unprocessed; those are sent again with backoff, up to
    /// `transact::MAX_ATTEMPTS` times per chunk (then `Busy`, naming `what`).
    async fn until_processed<T, F, Fut>(
        &self,
        entries: Vec<T>,
        chunk: usize,
        what: &str,
        send: F,
    ) -> StoreResult<Vec<Item>>
    where
        T: Clone,
        F: Fn(Vec<T>) -> Fut,
        Fut: std::future::Future<Output = StoreResult<(Vec<Item>, Vec<T>)>>,
    {
        let mut found = Vec::new();
        for part in entries.chunks(chunk) {
            let mut pending = part.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let (items, left) = send(pending).await?;
                found.extend(items);
                pending = left;
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt >= transact::MAX_ATTEMPTS {
                        return Err(StoreError::Busy(what.into()));
                    }
                    transact::backoff(attempt).await;
                }
            }
        }
        Ok(found)
    }

    /// Up to `limit` items of the GSI1 partition `pk`, whose sort keys start with an epoch ms
    /// (`<13 digits>#…`: hosts gone, sessions backstage), of `at_ms` or earlier, oldest first.
    async fn index_upto(&self, pk: &str, at_ms: i64, limit: i32) -> StoreResult<Vec<Item>> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :pk AND gsi1sk < :upto")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":upto", s(keys::index_upto_ms(at_ms)))
            .limit(limit)
            .send()
            .await
            .map_err(db_err)?;
        Ok(out.items.unwrap_or_default())
    }

    /// Every item of a partition whose sort key starts with `prefix`, following pages.
    async fn query_prefix(&self, pk: String, prefix: &str) -> StoreResult<Vec<Item>> {
        query_all(
            self.db
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true),
        )
        .await
    }

    /// A paged Query of partition `pk` (bound as `:pk`), continued after the page's cursor (an
    /// opaque cursor of this partition; a foreign one is refused naming the page's parameter).
    fn partition_page(
        &self,
        pk: &str,
        sk_within: &dyn Fn(&str) -> bool,
        page: &PageRequest,
    ) -> StoreResult<QueryFluentBuilder> {
        let start = page
            .cursor
            .as_deref()
            .map(|c| {
                cursor::decode(
                    page.cursor_param,
                    c,
                    &[keys::PK, keys::SK],
                    (keys::PK, pk),
                    (keys::SK, sk_within),
                )
            })
            .transpose()?;
        Ok(self
            .db
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(pk))
            .set_exclusive_start_key(start)
            .limit(page.limit))
    }
}

/// Every item `q` matches, following pages.
async fn query_all(q: QueryFluentBuilder) -> StoreResult<Vec<Item>> {
    q.into_paginator().items().send().try_collect().await.map_err(db_err)
}

/// Runs one page of a query: the items as `T`, and the opaque cursor of the next page.
async fn page<T: DeserializeOwned>(q: QueryFluentBuilder) -> StoreResult<Listing<T>> {
    let out = q.send().await.map_err(db_err)?;
    let next_cursor = out.last_evaluated_key.as_ref().map(cursor::encode);
    let items = out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(from_item)
        .collect::<StoreResult<_>>()?;
    Ok(Listing { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
    use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    fn delete(n: u32) -> WriteRequest {
        let key = key_item(&Key {
            pk: format!("P{n}"),
            sk: "S".into(),
        });
        WriteRequest::builder()
            .delete_request(DeleteRequest::builder().set_key(Some(key)).build().unwrap())
            .build()
    }

    /// What DynamoDB leaves unprocessed (throttled: moto never does) is sent again until it is
    /// taken, and 30 entries go as a batch of 25 and one of 5.
    #[tokio::test]
    async fn unprocessed_entries_are_sent_again() {
        let left_once = mock!(aws_sdk_dynamodb::Client::batch_write_item)
            .sequence()
            .output(|| {
                BatchWriteItemOutput::builder()
                    .set_unprocessed_items(Some(HashMap::from([("t".to_string(), vec![delete(0)])])))
                    .build()
            })
            .output(|| BatchWriteItemOutput::builder().build())
            .output(|| BatchWriteItemOutput::builder().build())
            .build();
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&left_once]), "t");
        store.batch_write((0..30).map(delete).collect(), "test").await.unwrap();
        assert_eq!(
            left_once.num_calls(),
            3,
            "the first 25, their one left again, the last 5"
        );
    }

    /// Entries DynamoDB keeps leaving unprocessed end in `Busy`, after `MAX_ATTEMPTS` sends.
    #[tokio::test]
    async fn entries_left_every_time_are_busy() {
        let always = mock!(aws_sdk_dynamodb::Client::batch_write_item).then_output(|| {
            BatchWriteItemOutput::builder()
                .set_unprocessed_items(Some(HashMap::from([("t".to_string(), vec![delete(0)])])))
                .build()
        });
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&always]), "t");
        let err = store.batch_write(vec![delete(0)], "test").await.unwrap_err();
        assert!(matches!(err, StoreError::Busy(ref what) if what == "test"), "{err:?}");
        assert_eq!(always.num_calls(), transact::MAX_ATTEMPTS as usize);
    }
}
