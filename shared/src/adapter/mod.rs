//! The adapter: API Gateway requests (and EventBridge schedules, SQS batches) in, answers out. Nothing here decides what may happen (the
//! rules do); everything here is about HTTP and WebSocket shapes.
//!
//! - [`endpoints`]: the endpoint table, every endpoint once; [`table`]: what it derives.
//! - [`extract`]: arguments out of requests; [`answer`]: values and errors back as responses.
//! - [`idempotency`]: `Idempotency-Key`, replays of state-changing requests.
//! - [`routes`]: API Gateway's route matching; [`websocket`]: the frames of a socket.
//! - [`app`]: the per-process state; [`lambda`]: the Lambda runtime of the one artifact;
//!   [`scheduled`]: the EventBridge events of its scheduled functions; [`queued`]: the SQS
//!   events of its queue-fed functions;
//!   [`iam`]: the AWS calls each function may make, enforced locally; [`calls`]: the DynamoDB
//!   calls each invocation made, in its log.
//! - [`docs`] (feature `openapi`): the OpenAPI document, the README's API table and `events/`.

pub mod answer;
pub mod app;
pub mod calls;
#[cfg(feature = "openapi")]
pub mod docs;
pub mod endpoints;
pub mod extract;
pub mod iam;
pub mod idempotency;
pub mod lambda;
pub mod queued;
pub mod routes;
pub mod scheduled;
pub mod table;
pub mod websocket;
