//! EventBridge scheduled events: their shape, as Lambda hands them to a function with a
//! `Schedule` event, and the request the endpoint table serves for one (its body the event).

use lambda_http::{Body, Request};
use serde_json::{json, Value};

use crate::domain::time::Timestamp;

/// An EventBridge scheduled event (`id`: the event's own), as Lambda hands it to a function with
/// a `Schedule` event.
pub fn scheduled_event(id: &str, rule_arn: &str, time: &Timestamp) -> Value {
    // EventBridge writes whole seconds.
    let time = time.to_string();
    let time = format!("{}Z", &time[..19]);
    json!({
        "version": "0", "id": id, "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": time, "region": "us-east-1",
        "resources": [rule_arn], "detail": {}
    })
}

/// A scheduled event as the request the endpoint table serves: its body is the event.
pub fn scheduled_request(event: &Value) -> Request {
    let mut req = Request::new(Body::Text(event.to_string()));
    *req.method_mut() = http::Method::POST;
    req
}
