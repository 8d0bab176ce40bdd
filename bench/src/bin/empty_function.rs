//! The bench's floor: an empty `lambda_runtime` function, built like the artifact (same profile,
//! same dependency versions), answering every event with `null`. Its cold start is the runtime's
//! own: process start, the Runtime API's first `next`, the answer.
use lambda_http::lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(Value::Null)
    }))
    .await
}
