//! Access pattern of idempotency keys (`docs/data-model.md`, P24): a key is taken by one request
//! at a time, keeps that request's answer once it succeeded, and is forgotten after its TTL.
//!
//! A request that dies before it finishes (a Lambda timeout) leaves its key in progress: the key
//! is taken again once its lease, longer than any function's timeout, has passed.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::error::StoreResult;
use super::item::{db_err, failed, key_item, n, s, text};
use super::Store;
use crate::domain::idempotency::{IdempotencyKey, StoredAnswer};
use crate::domain::ids::UserId;
use crate::domain::keys::{self, Key};

/// What taking a key found.
#[derive(Debug)]
pub enum KeyTaken {
    /// This request holds the key: it runs, then finishes it with its answer ([`Store::keep_answer`])
    /// or releases it ([`Store::release_key`]).
    Fresh(KeyClaim),
    /// An earlier request holds the key: the `fingerprint` of its request, and its `answer` once
    /// it has one (`None`: still in progress).
    Held {
        fingerprint: String,
        answer: Option<StoredAnswer>,
    },
}

/// A key this request holds; `token` tells its own hold from a later one taken after its lease.
#[derive(Debug)]
pub struct KeyClaim {
    key: Key,
    token: String,
}

/// When a key is taken (`now_ms`), and for how long: in progress until `lease_ms` later, then
/// remembered until `ttl_s` seconds later.
#[derive(Clone, Copy, Debug)]
pub struct KeyTerms {
    pub now_ms: i64,
    pub lease_ms: i64,
    pub ttl_s: i64,
}

impl Store {
    /// P24: takes `user`'s `key` for a request whose content hashes to `fingerprint`, unless a
    /// live record holds it: one that has not expired and either has an answer or is in progress
    /// within its lease. Expired records are ignored here whether or not TTL has deleted them.
    pub async fn take_key(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        fingerprint: &str,
        terms: KeyTerms,
    ) -> StoreResult<KeyTaken> {
        let key = keys::idempotency(user, key);
        let token = uuid::Uuid::new_v4().to_string();
        let now_s = terms.now_ms.div_euclid(1000);
        let update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&key)))
            .update_expression("SET fingerprint = :fp, claim = :token, lease_until = :lease, expires_at = :exp REMOVE answer")
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now_s OR (attribute_not_exists(answer) AND lease_until <= :now_ms)",
            )
            .expression_attribute_values(":fp", s(fingerprint))
            .expression_attribute_values(":token", s(&token))
            .expression_attribute_values(":lease", n(terms.now_ms + terms.lease_ms))
            .expression_attribute_values(":exp", n(now_s + terms.ttl_s))
            .expression_attribute_values(":now_s", n(now_s))
            .expression_attribute_values(":now_ms", n(terms.now_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let Some(old) = self.conditional_update(update).await? else {
            return Ok(KeyTaken::Fresh(KeyClaim { key, token }));
        };
        let answer = old
            .get("answer")
            .cloned()
            .map(serde_dynamo::from_attribute_value)
            .transpose()
            .map_err(failed)?;
        Ok(KeyTaken::Held {
            fingerprint: text(&old, "fingerprint").unwrap_or_default().to_string(),
            answer,
        })
    }

    /// P24: keeps the answer of the request holding `claim`, for its retries to replay. `false`
    /// when the claim was lost (its lease passed and a retry took the key).
    pub async fn keep_answer(&self, claim: &KeyClaim, answer: &StoredAnswer) -> StoreResult<bool> {
        let update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&claim.key)))
            .update_expression("SET answer = :answer")
            .condition_expression("claim = :token")
            .expression_attribute_values(":answer", serde_dynamo::to_attribute_value(answer).map_err(failed)?)
            .expression_attribute_values(":token", s(&claim.token));
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(db_err(other)),
            },
        }
    }

    /// P24: forgets the key of a request that changed nothing (refused or failed), so that its
    /// retry runs; a key another request took since is left alone.
    pub async fn release_key(&self, claim: &KeyClaim) -> StoreResult<()> {
        let delete = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&claim.key)))
            .condition_expression("claim = :token")
            .expression_attribute_values(":token", s(&claim.token));
        match delete.send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                DeleteItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(db_err(other)),
            },
        }
    }
}
