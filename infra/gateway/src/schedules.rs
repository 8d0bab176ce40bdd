//! EventBridge schedules, for the gateway: each function with a `Schedule` event in the template
//! is invoked at its rate with the scheduled event EventBridge sends (`rate(...)` expressions;
//! `cron(...)` is not emulated and refused at start).

use std::sync::Arc;
use std::time::Duration;

use shared::adapter::app::App;
use shared::adapter::endpoints::Endpoint;
use shared::adapter::scheduled::{scheduled_event, scheduled_request};
use shared::domain::time::Timestamp;
use tokio::task::JoinHandle;

use crate::lambda::{invoke, Timeouts};
use crate::template::{Template, TemplateError};

/// The period of an EventBridge `rate(<n> <unit>)` expression.
pub fn rate_period(expression: &str) -> Result<Duration, TemplateError> {
    let bad = || {
        TemplateError(format!(
            "{expression:?}: only rate(<n> minute[s]|hour[s]|day[s]) is emulated"
        ))
    };
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (n, unit) = inner.trim().split_once(' ').ok_or_else(bad)?;
    let n: u64 = n.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(n * seconds))
}

/// Invokes a scheduled endpoint once, as EventBridge would at `at`; the answer's body, or `None`
/// when the function failed (5xx) or ran past its deadline.
pub async fn fire(app: &App, timeouts: &Timeouts, endpoint: Endpoint, at: &Timestamp) -> Option<serde_json::Value> {
    let rule = format!("arn:aws:events:us-east-1:000000000000:rule/{}", endpoint.function_id());
    let event = scheduled_event(&uuid::Uuid::new_v4().to_string(), &rule, at);
    let answer = invoke(app, timeouts, endpoint, scheduled_request(&event)).await?;
    let body = serde_json::from_slice(answer.body().as_ref()).unwrap_or_default();
    if answer.status().is_server_error() {
        tracing::error!(function = endpoint.function_id(), %body, "scheduled invocation failed");
        return None;
    }
    Some(body)
}

/// Runs every schedule of the template (the first tick one period after start, as EventBridge's
/// first does after a deploy).
pub fn serve_schedules(
    app: Arc<App>,
    template: &Template,
    timeouts: Timeouts,
) -> Result<Vec<JoinHandle<()>>, TemplateError> {
    let mut tasks = Vec::new();
    for (expression, function_id) in &template.schedules {
        let period = rate_period(expression)?;
        let endpoint = Endpoint::from_function_id(function_id)
            .ok_or_else(|| TemplateError(format!("{function_id}: no endpoint runs it")))?;
        let (app, timeouts) = (app.clone(), timeouts.clone());
        tasks.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                ticks.tick().await;
                if let Some(body) = fire(&app, &timeouts, endpoint, &Timestamp::now()).await {
                    tracing::info!(function = endpoint.function_id(), %body, "scheduled invocation");
                }
            }
        }));
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_as_eventbridge_writes_them() {
        assert_eq!(rate_period("rate(1 minute)").unwrap(), Duration::from_secs(60));
        assert_eq!(rate_period("rate(5 minutes)").unwrap(), Duration::from_secs(300));
        assert_eq!(rate_period("rate(2 hours)").unwrap(), Duration::from_secs(7200));
        for bad in [
            "rate(0 minutes)",
            "cron(0 12 * * ? *)",
            "rate(1 fortnight)",
            "rate(minute)",
        ] {
            assert!(rate_period(bad).is_err(), "{bad}");
        }
    }
}
