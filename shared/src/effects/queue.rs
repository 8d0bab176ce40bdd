//! The fan-out's queues (SQS): the session-ordered events queue (FIFO, one message group per
//! session) that every push is published to, the fan-out queue of per-shard deliveries, and the
//! aggregates queue of pushes due later (`docs/scale.md`).

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

use crate::domain::config::QueueUrls;

/// A queue call that failed, with the SDK's whole error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QueueError(pub String);

fn queue_err(e: impl std::error::Error) -> QueueError {
    QueueError(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
}

pub struct Queues {
    sqs: Option<Client>,
    urls: QueueUrls,
}

impl Queues {
    /// `sqs`: `None` when no queues are configured (pushes are then skipped, as without a
    /// WebSocket API).
    pub fn new(sqs: Option<Client>, urls: QueueUrls) -> Self {
        Self { sqs, urls }
    }

    pub fn client(&self) -> Option<&Client> {
        self.sqs.as_ref()
    }

    pub fn urls(&self) -> &QueueUrls {
        &self.urls
    }

    fn events(&self) -> Option<(&Client, &str)> {
        Some((self.sqs.as_ref()?, self.urls.events.as_deref()?))
    }

    fn fanout(&self) -> Option<(&Client, &str)> {
        Some((self.sqs.as_ref()?, self.urls.fanout.as_deref()?))
    }

    fn aggregates(&self) -> Option<(&Client, &str)> {
        Some((self.sqs.as_ref()?, self.urls.aggregates.as_deref()?))
    }

    /// Sends `body` to the aggregates queue, to be received after `delay` (SQS counts whole
    /// seconds: rounded up, at most 900). `Ok(false)`: no queue configured.
    pub async fn later(&self, body: String, delay: std::time::Duration) -> Result<bool, QueueError> {
        let Some((sqs, url)) = self.aggregates() else {
            return Ok(false);
        };
        let seconds = delay.as_millis().div_ceil(1000).min(900) as i32;
        sqs.send_message()
            .queue_url(url)
            .delay_seconds(seconds)
            .message_body(body)
            .send()
            .await
            .map_err(queue_err)?;
        Ok(true)
    }

    /// Publishes an event to its session's message group; `id` deduplicates a retried send
    /// (SQS keeps a FIFO deduplication id for 5 minutes). `Ok(false)`: no queue configured.
    pub async fn publish(&self, group: &str, id: &str, body: String) -> Result<bool, QueueError> {
        let Some((sqs, url)) = self.events() else {
            return Ok(false);
        };
        sqs.send_message()
            .queue_url(url)
            .message_group_id(group)
            .message_deduplication_id(id)
            .message_body(body)
            .send()
            .await
            .map_err(queue_err)?;
        Ok(true)
    }

    /// Queues one delivery per body on the fan-out queue (10 per call, SQS's batch bound);
    /// every entry the queue refused is sent again before this returns.
    pub async fn deliver(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        let Some((sqs, url)) = self.fanout() else {
            return Ok(());
        };
        for (chunk_no, chunk) in bodies.chunks(10).enumerate() {
            let mut entries: Vec<SendMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("{chunk_no}-{i}"))
                        .message_body(body)
                        .build()
                        .map_err(queue_err)
                })
                .collect::<Result<_, _>>()?;
            for _ in 0..5 {
                let out = sqs
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries.clone()))
                    .send()
                    .await
                    .map_err(queue_err)?;
                let failed: Vec<&str> = out.failed.iter().map(|f| f.id.as_str()).collect();
                entries.retain(|e| failed.contains(&e.id.as_str()));
                if entries.is_empty() {
                    break;
                }
            }
            if !entries.is_empty() {
                return Err(QueueError(format!("{} deliveries refused by the queue", entries.len())));
            }
        }
        Ok(())
    }

    /// Makes a message received from `queue` visible again after `seconds`: a quick redelivery
    /// of what an invocation could not finish, instead of the queue's whole visibility timeout
    /// (60 s; on the events queue it would hold the session's whole FIFO group that long). The
    /// event source's poller grants (`sqs:ChangeMessageVisibility`) allow it.
    pub async fn retry_after(&self, queue: Received, receipt_handle: &str, seconds: i32) -> Result<(), QueueError> {
        let target = match queue {
            Received::Events => self.events(),
            Received::Fanout => self.fanout(),
        };
        let Some((sqs, url)) = target else {
            return Ok(());
        };
        sqs.change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map(|_| ())
            .map_err(queue_err)
    }
}

/// A queue whose messages a function receives (and may hand back for a quick redelivery).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    Events,
    Fanout,
}
