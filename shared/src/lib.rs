//! TrendKe Live: everything the Lambdas share. Every function of `template.yaml` runs the one
//! artifact (`functions/`), which serves the endpoint its `Handler` names; the rules live here so
//! that tests and the local gateway call them directly.
//!
//! Four layers, each importing only from the layers below it (checked by `layers::tests`):
//!
//! 1. [`adapter`]: HTTP and WebSocket ⇄ rules: the endpoint table, extractors, answers, routes,
//!    the Lambda runtime, the generated documentation.
//! 2. [`rules`]: sessions, chat, reactions, stage, webhook, realtime: what may happen, decided
//!    (pure functions where a decision has no IO: `access::check`, `stage::controls::plan`), then
//!    done through the effects.
//! 3. [`effects`]: store (DynamoDB), sfu (LiveKit), push (API Gateway WebSockets), auth (JWT): each
//!    does what it is told and answers in its own terms, never in HTTP's.
//! 4. [`domain`]: types, ids, time, keys, the one error type, configuration: no IO.

pub mod adapter;
pub mod domain;
pub mod effects;
pub mod rules;

#[cfg(test)]
mod layers;
