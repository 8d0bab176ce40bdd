//! Effects: the clients of everything outside the process, each doing what it is told and
//! answering in its own terms (outcomes, typed errors), never deciding what a client is told.
//!
//! - [`store`]: DynamoDB, one function per access pattern (`docs/data-model.md`).
//! - [`sfu`]: LiveKit: access tokens with exact grants, RoomService calls, webhook verification.
//! - [`push`]: API Gateway WebSockets: PostToConnection with retries, 410 cleanup, socket closing.
//! - [`queue`]: SQS: the events queue every push is published to, the fan-out queue of shards.
//! - [`auth`]: user JWT verification (HS256 secret or a JWKS), with its JWKS cache.
//! - [`deadline`]: the invocation's deadline, which waiting work leaves room before.
//! - [`clock`]: the time the time rules read, which tests move on instead of sleeping.

pub mod auth;
pub mod clock;
pub mod deadline;
pub mod push;
pub mod queue;
pub mod sfu;
pub mod store;

/// The effects the rules act through, built once per process and borrowed by every request, and
/// the tunables the rules apply.
pub struct Effects {
    pub store: store::Store,
    pub sfu: sfu::Sfu,
    pub push: push::Pusher,
    pub queues: queue::Queues,
    pub tunables: crate::domain::config::Tunables,
    pub clock: clock::Clock,
}

#[cfg(test)]
impl Effects {
    /// Effects for a unit test: `store` and `queues` as the test stages them, an SFU nobody
    /// listens on, no pushes, the default tunables.
    pub fn for_test(store: store::Store, queues: queue::Queues) -> Effects {
        Effects {
            store,
            sfu: sfu::Sfu::new(crate::domain::config::SfuConfig {
                url: "http://127.0.0.1:9".into(),
                api_key: "k".into(),
                api_secret: "s".into(),
                token_ttl: crate::domain::config::SfuConfig::DEFAULT_TOKEN_TTL,
                ice_servers: serde_json::json!([]),
                recording: Default::default(),
            }),
            push: push::Pusher::new(None),
            queues,
            tunables: Default::default(),
            clock: Default::default(),
        }
    }
}
