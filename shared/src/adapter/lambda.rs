//! The Lambda runtime glue of the one artifact every function runs: JSON logs under Lambda's log
//! controls, the app built once per process, then the endpoint the function's `Handler` names
//! (`_HANDLER`, set by Lambda for custom runtimes) served for every invocation.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Request};

use super::app::App;
use super::endpoints::Endpoint;

/// Serves the endpoint named by `_HANDLER` (API Gateway HTTP API payload 2.0, or WebSocket events).
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
    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(endpoint.handle(&app, req).await) }
    }))
    .await
}
