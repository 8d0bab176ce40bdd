//! Posts to WebSocket clients through API Gateway's management API (PostToConnection), and
//! closes sockets (DeleteConnection).
//!
//! Events reach a session's audience through the fan-out (`rules::fanout`, `docs/scale.md`),
//! which posts each shard's frames here; only a reply to a socket's own frame (`pong`, `error`)
//! is posted at once by the function that answers it. Posts run with bounded concurrency; a
//! `410 GoneException` deletes that connection item and does not fail the rest; throttling and
//! 5xx answers are retried within the time the caller allows, and what still failed is reported
//! for the caller to retry.

use std::time::{Duration, Instant};

use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures::{stream, StreamExt};
use serde::Serialize;
use serde_json::Value;

use super::deadline::leaving;
use super::store::{ConnectionRef, Store};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::time::Timestamp;

/// Posts in flight at once.
const CONCURRENCY: usize = 32;
/// How long one push may keep retrying throttled posts.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(3);
/// Time kept in reserve before the Lambda's deadline for the function to answer.
const DEADLINE_RESERVE: Duration = Duration::from_millis(500);

/// When retries must stop: `budget` from now, cut short by the Lambda's deadline.
pub fn deadline_within(budget: Duration) -> Instant {
    let budget = Instant::now() + budget;
    leaving(DEADLINE_RESERVE).map_or(budget, |d| d.min(budget))
}

/// The envelope of every event:
/// `{"type": "...", "session_id": "...", "data": {...}, "ts": "<RFC 3339>", "id": "<uuid>"}`; the
/// fan-out adds `seq`.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub session_id: SessionId,
    pub data: Value,
    pub ts: Timestamp,
    /// Unique per event (UUIDv7): a published event is numbered once however often it is sent.
    pub id: String,
}

impl Event {
    pub fn new(kind: &'static str, session_id: &SessionId, data: Value) -> Self {
        Event {
            kind,
            session_id: *session_id,
            data,
            ts: Timestamp::now(),
            id: uuid::Uuid::now_v7().to_string(),
        }
    }
}

/// What a round of posts did; `failed`: the connections still owed their frames.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub posts: usize,
    pub gone: usize,
    pub failed: Vec<String>,
}

pub struct Pusher {
    api: Option<aws_sdk_apigatewaymanagement::Client>,
}

enum PostOutcome {
    Sent,
    Gone,
    Failed,
}

impl Pusher {
    /// `api` is the management API client (`None`: no WebSocket API configured, pushes are skipped).
    pub fn new(api: Option<aws_sdk_apigatewaymanagement::Client>) -> Self {
        Self { api }
    }

    /// The management API client, when a WebSocket API is configured.
    pub fn api(&self) -> Option<&aws_sdk_apigatewaymanagement::Client> {
        self.api.as_ref()
    }

    /// Replies to one socket at once (`pong`, `error`: answers to its own frames, not session
    /// events, so they carry no sequence number).
    pub async fn reply(&self, store: &Store, connection_id: &str, event: &Event) {
        let Ok(body) = serde_json::to_string(event) else {
            return;
        };
        let to = [ConnectionRef {
            connection_id: connection_id.to_string(),
            user_id: String::new(),
        }];
        self.post_all(
            store,
            &to,
            |_| vec![body.clone()],
            false,
            deadline_within(DEFAULT_BUDGET),
        )
        .await;
    }

    /// Posts to each connection the frames `frames_for` gives it, in order, until `deadline`;
    /// then closes it when `close_after` (the session ended). A connection that is gone is
    /// forgotten; one that could not be reached is reported in `failed`.
    pub async fn post_all(
        &self,
        store: &Store,
        to: &[ConnectionRef],
        frames_for: impl Fn(&ConnectionRef) -> Vec<String>,
        close_after: bool,
        deadline: Instant,
    ) -> Delivery {
        let Some(api) = &self.api else {
            return Delivery::default();
        };
        let frames_for = &frames_for;
        // Owned items: futures over borrowed ones trip rustc's `Send` inference in the handler.
        let outcomes: Vec<(String, usize, PostOutcome)> = stream::iter(to.iter().cloned())
            .map(|c| async move {
                let frames = frames_for(&c);
                let mut posts = 0;
                for body in &frames {
                    posts += 1;
                    match post(api, &c.connection_id, body.as_bytes(), deadline).await {
                        PostOutcome::Sent => continue,
                        PostOutcome::Gone => {
                            if let Err(e) = store.delete_gone_connection(&c.connection_id).await {
                                tracing::warn!(error = %e, connection = %c.connection_id, "push: stale connection not deleted");
                            }
                            return (c.connection_id, posts, PostOutcome::Gone);
                        }
                        PostOutcome::Failed => return (c.connection_id, posts, PostOutcome::Failed),
                    }
                }
                if close_after {
                    self.close(store, &c.connection_id).await;
                }
                (c.connection_id, posts, PostOutcome::Sent)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut d = Delivery::default();
        for (connection, posts, o) in outcomes {
            d.posts += posts;
            match o {
                PostOutcome::Sent => d.sent += 1,
                PostOutcome::Gone => d.gone += 1,
                PostOutcome::Failed => d.failed.push(connection),
            }
        }
        d
    }

    /// Closes every socket a user has open to a session (DeleteConnection) and forgets them: a
    /// kicked user's clients stop receiving the session's events at once. Their sockets are a
    /// key lookup, whatever the audience.
    pub async fn disconnect_user(&self, store: &Store, session_id: &SessionId, user_id: &UserId) {
        let conns = match store.user_connections(session_id, user_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "disconnect: could not list connections");
                return;
            }
        };
        for c in conns {
            self.close(store, &c.connection_id).await;
        }
    }

    /// Forgets one socket and closes it (DeleteConnection): forgotten first, so that nothing is
    /// pushed to it once it is closed (a socket left open is closed at its next frame).
    pub async fn close(&self, store: &Store, connection_id: &str) {
        if let Err(e) = store.delete_connection(connection_id).await {
            tracing::warn!(error = %e, connection = connection_id, "connection item not deleted");
        }
        if let Some(api) = &self.api {
            if let Err(e) = api.delete_connection().connection_id(connection_id).send().await {
                tracing::debug!(error = %e, connection = connection_id, "DeleteConnection failed (likely gone)");
            }
        }
    }
}

async fn post(
    api: &aws_sdk_apigatewaymanagement::Client,
    connection_id: &str,
    body: &[u8],
    deadline: Instant,
) -> PostOutcome {
    let mut attempt = 0u32;
    loop {
        let res = api
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(body.to_vec()))
            .send()
            .await;
        let retryable = match res {
            Ok(_) => return PostOutcome::Sent,
            Err(SdkError::ServiceError(e)) => match e.err() {
                PostToConnectionError::GoneException(_) => return PostOutcome::Gone,
                PostToConnectionError::LimitExceededException(_) => true,
                _ => e.raw().status().is_server_error(),
            },
            Err(SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)) => true,
            Err(_) => false,
        };
        attempt += 1;
        let pause = Duration::from_millis((20u64 << attempt.min(5)).min(500));
        if !retryable || Instant::now() + pause >= deadline {
            tracing::warn!(connection = connection_id, attempt, "push: post failed");
            return PostOutcome::Failed;
        }
        tokio::time::sleep(pause).await;
    }
}

/// Retry and cleanup paths, with `aws-smithy-mocks` standing in for API Gateway's throttling (the
/// local gateway never throttles) and for DynamoDB.
#[cfg(test)]
mod tests {
    use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionOutput;
    use aws_sdk_apigatewaymanagement::types::error::{GoneException, LimitExceededException};
    use aws_sdk_apigatewaymanagement::Client as Api;
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::Client as Db;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::effects::deadline::DEADLINE;

    fn to(id: &str) -> Vec<ConnectionRef> {
        vec![ConnectionRef {
            connection_id: id.into(),
            user_id: "u".into(),
        }]
    }

    fn frame(_: &ConnectionRef) -> Vec<String> {
        vec!["{}".into()]
    }

    #[tokio::test]
    async fn throttled_posts_are_retried_within_the_budget() {
        let post = mock!(Api::post_to_connection)
            .sequence()
            .error(|| PostToConnectionError::LimitExceededException(LimitExceededException::builder().build()))
            .times(2)
            .output(|| PostToConnectionOutput::builder().build())
            .build();
        let pusher = Pusher::new(Some(mock_client!(
            aws_sdk_apigatewaymanagement,
            RuleMode::Sequential,
            [&post]
        )));
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, []), "t");
        let d = pusher
            .post_all(&store, &to("c1"), frame, false, deadline_within(DEFAULT_BUDGET))
            .await;
        assert_eq!((d.sent, d.gone, d.failed.len(), d.posts), (1, 0, 0, 1));
        assert_eq!(post.num_calls(), 3);
    }

    #[tokio::test]
    async fn gone_connections_are_deleted_and_retries_stop_at_the_deadline() {
        let post = mock!(Api::post_to_connection)
            .then_error(|| PostToConnectionError::GoneException(GoneException::builder().build()));
        let delete = mock!(Db::delete_item)
            .match_requests(|r| {
                r.key().and_then(|k| k.get("pk")).and_then(|v| v.as_s().ok()) == Some(&"CONN#c1".to_string())
            })
            .then_output(|| DeleteItemOutput::builder().build());
        let pusher = Pusher::new(Some(mock_client!(
            aws_sdk_apigatewaymanagement,
            RuleMode::Sequential,
            [&post]
        )));
        let store = Store::new(mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&delete]), "t");
        let d = pusher
            .post_all(&store, &to("c1"), frame, false, deadline_within(DEFAULT_BUDGET))
            .await;
        assert_eq!((d.sent, d.gone, d.failed.len()), (0, 1, 0));
        assert_eq!(delete.num_calls(), 1);

        let throttled = mock!(Api::post_to_connection)
            .then_error(|| PostToConnectionError::LimitExceededException(LimitExceededException::builder().build()));
        let pusher = Pusher::new(Some(mock_client!(
            aws_sdk_apigatewaymanagement,
            RuleMode::MatchAny,
            [&throttled]
        )));
        let started = Instant::now();
        let soon = Instant::now() + Duration::from_millis(700);
        let d = DEADLINE
            .scope(soon, async {
                pusher
                    .post_all(&store, &to("c2"), frame, false, deadline_within(DEFAULT_BUDGET))
                    .await
            })
            .await;
        assert_eq!((d.sent, d.gone), (0, 0));
        assert_eq!(d.failed, vec!["c2".to_string()], "reported for the caller to retry");
        assert!(
            started.elapsed() < Duration::from_millis(700),
            "stopped before the Lambda deadline"
        );
        assert!(throttled.num_calls() > 1, "retried before giving up");
    }
}
