//! SQS events: their shape, as Lambda's event source mapping hands a batch of messages to a
//! function with an `SQS` event (the local gateway builds the same from the messages it receives).

use serde_json::{json, Value};

/// One received message.
pub struct Received<'a> {
    pub message_id: &'a str,
    pub receipt_handle: &'a str,
    pub body: &'a str,
    /// The message's system attributes as SQS returns them (`ApproximateReceiveCount`,
    /// `SentTimestamp`, `MessageGroupId`, …).
    pub attributes: Value,
    pub md5_of_body: &'a str,
}

/// The ARN of queue `name` in the account and region the local stack pretends to be in.
pub fn local_queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:000000000000:{name}")
}

/// An SQS event of `messages` from the queue `queue_arn`.
pub fn sqs_event(queue_arn: &str, messages: &[Received<'_>]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": m.attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({ "Records": records })
}
