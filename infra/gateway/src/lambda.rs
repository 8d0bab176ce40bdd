//! What the Lambda service does around each invocation, for the gateway: the context the runtime
//! hands the function (a request id, the deadline of its `Timeout`), and the end of an invocation
//! that runs past it: the function is stopped where it is, and the caller gets an error.

use std::collections::HashMap;
use std::time::Duration;

use lambda_http::{Body, Context, RequestExt, Response};
use shared::adapter::app::App;
use shared::adapter::endpoints::Endpoint;

use crate::template::Template;

/// Each function's `Timeout`, by endpoint.
#[derive(Clone, Debug, Default)]
pub struct Timeouts(HashMap<&'static str, Duration>);

impl Timeouts {
    pub fn of(template: &Template) -> Self {
        Timeouts(
            template
                .functions
                .iter()
                .filter_map(|f| Endpoint::from_function_id(&f.id).map(|e| (e.function_id(), f.timeout)))
                .collect(),
        )
    }

    /// Every function's timeout set to `timeout` (tests of what happens at the deadline).
    pub fn all(mut self, timeout: Duration) -> Self {
        for (_, t) in self.0.iter_mut() {
            *t = timeout;
        }
        self
    }

    /// The endpoint's function's timeout (Lambda's default, 3 s, if the template has none).
    pub fn of_endpoint(&self, endpoint: Endpoint) -> Duration {
        self.0
            .get(endpoint.function_id())
            .copied()
            .unwrap_or(Duration::from_secs(3))
    }
}

/// Invokes the endpoint's function with `request` as Lambda would: with a context whose deadline
/// is the function's timeout from now; `None` when it ran past that deadline (Lambda stops it:
/// nothing after that point runs).
pub async fn invoke(
    app: &App,
    timeouts: &Timeouts,
    endpoint: Endpoint,
    request: lambda_http::Request,
) -> Option<Response<Body>> {
    let timeout = timeouts.of_endpoint(endpoint);
    let mut context = Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.deadline =
        (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as u64 + timeout.as_millis() as u64;
    context.invoked_function_arn = format!(
        "arn:aws:lambda:us-east-1:000000000000:function:{}",
        endpoint.function_id()
    );
    let request = request.with_lambda_context(context);
    match tokio::time::timeout(timeout, endpoint.handle(app, request)).await {
        Ok(response) => Some(response),
        Err(_) => {
            tracing::error!(
                function = endpoint.function_id(),
                "Task timed out after {:.2} seconds",
                timeout.as_secs_f64()
            );
            None
        }
    }
}
