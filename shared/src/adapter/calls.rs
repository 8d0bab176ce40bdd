//! Which DynamoDB calls an invocation made: an SDK interceptor records every call (retries
//! included: each attempt is billed and waited for) made while a request is served, and
//! `table::serve` writes their count and names into the invocation's `served` log line, where
//! CloudWatch Logs Insights (and `make bench`) read them per function.

use std::cell::RefCell;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;

tokio::task_local! {
    /// The calls made so far by the request being served, by operation (set by `table::serve`).
    pub(crate) static DYNAMODB_CALLS: RefCell<Vec<&'static str>>;
}

/// A DynamoDB client that records its calls into the serving request's [`DYNAMODB_CALLS`].
pub fn counted_dynamodb(db: &aws_sdk_dynamodb::Client) -> aws_sdk_dynamodb::Client {
    let conf = db.config().to_builder().interceptor(CountCalls).build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

#[derive(Debug)]
struct CountCalls;

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountDynamoDbCalls"
    }

    // Before each transmission: once per attempt, as DynamoDB sees (and bills) them.
    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let op = cfg.load::<Metadata>().map_or("unknown", |m| operation(m.name()));
        // Calls made outside a request (set-up, tests seeding the table) are nobody's.
        let _ = DYNAMODB_CALLS.try_with(|calls| calls.borrow_mut().push(op));
        Ok(())
    }
}

/// The operation's name as a static string (the metadata's is borrowed from the request's bag).
fn operation(name: &str) -> &'static str {
    const KNOWN: [&str; 10] = [
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
    ];
    KNOWN.into_iter().find(|k| *k == name).unwrap_or("other")
}

/// How many calls the request being served has made.
pub(crate) fn count() -> usize {
    DYNAMODB_CALLS
        .try_with(|calls| calls.borrow().len())
        .unwrap_or_default()
}

/// Which, in order (`GetItem,TransactWriteItems`).
pub(crate) fn ops() -> String {
    DYNAMODB_CALLS
        .try_with(|calls| calls.borrow().join(","))
        .unwrap_or_default()
}
