//! The Lambda runtime glue of the one artifact every function runs: JSON logs under Lambda's log
//! controls, the app built once per process, then the endpoint the function's `Handler` names
//! (`_HANDLER`, set by Lambda for custom runtimes) served for every invocation.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::{service_fn, Request, RequestExt};
use serde_json::Value;

use super::app::App;
use super::endpoints::Endpoint;
use super::scheduled::scheduled_request;
use super::table::Route;

/// Serves one scheduled event or SQS batch: the endpoint's answer (for a batch, the messages to
/// deliver again), or an error for a 5xx (which Lambda records: EventBridge's next tick retries,
/// SQS delivers the whole batch again).
async fn run_scheduled(app: &App, endpoint: Endpoint, event: LambdaEvent<Value>) -> Result<Value, lambda_http::Error> {
    let req = scheduled_request(&event.payload).with_lambda_context(event.context);
    let answer = endpoint.handle(app, req).await;
    let body: Value = serde_json::from_slice(answer.body().as_ref()).unwrap_or_default();
    if answer.status().is_server_error() {
        return Err(format!("{}: {body}", answer.status()).into());
    }
    Ok(body)
}

/// Serves the endpoint named by `_HANDLER` (API Gateway HTTP API payload 2.0, WebSocket events,
/// EventBridge scheduled events or SQS batches).
pub async fn run() -> Result<(), lambda_http::Error> {
    // Honours AWS_LAMBDA_LOG_FORMAT (JSON in our template) and AWS_LAMBDA_LOG_LEVEL.
    lambda_http::tracing::init_default_subscriber();
    let handler = std::env::var("_HANDLER").unwrap_or_default();
    let endpoint = Endpoint::from_name(&handler).ok_or_else(|| {
        let known: Vec<&str> = Endpoint::ALL.iter().map(|e| e.name()).collect();
        format!(
            "_HANDLER {handler:?} names no endpoint; the handlers are {}",
            known.join(", ")
        )
    })?;
    let app = App::from_env().await.inspect_err(|e| {
        tracing::error!(error = %e, "cold start refused: the function's configuration is incomplete");
    })?;
    let app = Arc::new(app);
    if let Route::Schedule(_) | Route::Queue(_) = endpoint.route() {
        return lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
            let app = Arc::clone(&app);
            async move { run_scheduled(&app, endpoint, event).await }
        }))
        .await;
    }
    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(endpoint.handle(&app, req).await) }
    }))
    .await
}
