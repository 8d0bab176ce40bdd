//! TrendKe Live: everything the Lambdas share. Each function binary is a thin entry point that
//! picks an [`api::Endpoint`]; the rules live here so that tests and the local gateway call them
//! directly.
//!
//! - [`api`]: HTTP ⇄ rules, one `Endpoint` per Lambda.
//! - [`sessions`]: the rules of the session endpoints.
//! - [`store`]: DynamoDB, one function per access pattern; [`keys`]: every table key.
//! - [`stage`]: guest requests, invitations, host controls; [`webhook`]: the SFU's reports.
//! - [`auth`]: user JWT verification; [`sfu`]: LiveKit tokens and room calls.
//! - [`error`]: the one error type, mapped to problem+json once.

pub mod api;
pub mod app;
pub mod auth;
pub mod chat;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod error;
pub mod events;
pub mod keys;
pub mod lambda;
pub mod openapi;
pub mod push;
pub mod reactions;
pub mod routes;
pub mod sessions;
pub mod sfu;
pub mod stage;
pub mod store;
pub mod webhook;
pub mod websocket;

pub use app::App;
pub use error::{ApiError, ApiResult};
