//! Transactions: running one, reading why it was cancelled, and settling lost races (conflicts,
//! throttling) with jittered retries, so that each access pattern only names its own refusals.

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};

use super::error::{StoreError, StoreResult};
use super::item::{db_err, Item};
use super::Store;

/// Attempts for a write that lost a race (transaction conflict, throttling, a counter branch
/// that moved under us) before answering 503.
pub const MAX_ATTEMPTS: u32 = 12;

/// Why a transaction was cancelled, per action, as DynamoDB reports it.
pub struct Cancelled(pub Vec<CancellationReason>);

impl Cancelled {
    /// Whether action `i`'s condition failed.
    pub fn failed(&self, i: usize) -> bool {
        self.0.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
    }

    /// The item action `i` saw when its condition failed (`ALL_OLD`), when DynamoDB sent it.
    pub fn item(&self, i: usize) -> Option<Item> {
        self.0.get(i).and_then(|r| r.item()).filter(|m| !m.is_empty()).cloned()
    }

    /// A lost race rather than a failed condition: worth another attempt.
    pub fn transient(&self) -> bool {
        self.0.iter().any(|r| {
            matches!(
                r.code(),
                Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
            )
        })
    }

    /// The reasons from action `from` on (for a transaction whose first actions are another's).
    pub fn skip(self, from: usize) -> Cancelled {
        Cancelled(self.0.into_iter().skip(from).collect())
    }
}

pub enum TxError {
    Cancelled(Cancelled),
    Retry,
    Fatal(StoreError),
}

fn classify(e: SdkError<TransactWriteItemsError>) -> TxError {
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
pub(super) async fn backoff(attempt: u32) {
    let cap_ms = (5u64 << attempt.min(6)).min(250);
    let ms = rand::random_range(0..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl Store {
    /// Runs a transaction once.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
        self.db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Runs a transaction, retrying lost races (conflicts, throttling) with jittered backoff.
    /// `Ok(Err(why))`: a condition failed, for the caller to name; `Busy` when the races never end.
    pub(super) async fn transact_settled(
        &self,
        items: Vec<TransactWriteItem>,
        what: &str,
    ) -> StoreResult<Result<(), Cancelled>> {
        for attempt in 0..MAX_ATTEMPTS {
            match self.transact(items.clone()).await {
                Ok(()) => return Ok(Ok(())),
                Err(TxError::Cancelled(c)) if c.transient() => backoff(attempt).await,
                Err(TxError::Cancelled(c)) => return Ok(Err(c)),
                Err(TxError::Retry) => backoff(attempt).await,
                Err(TxError::Fatal(e)) => return Err(e),
            }
        }
        Err(StoreError::Busy(what.to_string()))
    }
}
