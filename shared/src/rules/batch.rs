//! An SQS batch as the queue-fed rules see it (`SequenceEvents`, `FanOut`, `PublishAggregates`):
//! its messages, and the answer that names the ones to deliver again.

use serde::Serialize;

/// One SQS message of a batch, as the function reads it.
#[derive(Clone, Debug)]
pub struct QueueMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// How many times SQS has handed it out (`ApproximateReceiveCount`): 1 the first time.
    pub receive_count: u32,
}

/// The answer to an SQS batch: the messages to deliver again (`batchItemFailures`, with
/// `ReportBatchItemFailures` on the event source); the rest are deleted.
#[derive(Debug, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchResult {
    #[serde(rename = "batchItemFailures")]
    pub failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl BatchResult {
    pub(crate) fn failed(ids: impl IntoIterator<Item = String>) -> Self {
        BatchResult {
            failures: ids
                .into_iter()
                .map(|item_identifier| ItemFailure { item_identifier })
                .collect(),
        }
    }
}
