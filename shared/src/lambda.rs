//! Lambda runtime glue shared by every function binary: JSON logs under Lambda's log controls,
//! the app built once per process, then the endpoint served for every invocation.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Request};

use crate::api::Endpoint;
use crate::app::App;

/// Runs one HTTP endpoint as a Lambda function (API Gateway HTTP API, payload 2.0).
pub async fn run_http(endpoint: Endpoint) -> Result<(), lambda_http::Error> {
    // Honours AWS_LAMBDA_LOG_FORMAT (JSON in our template) and AWS_LAMBDA_LOG_LEVEL.
    lambda_http::tracing::init_default_subscriber();
    let app = Arc::new(App::from_env().await?);
    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(endpoint.handle(&app, req).await) }
    }))
    .await
}
