//! Push to WebSocket clients through API Gateway's management API (PostToConnection).
//!
//! Every function that pushes holds a [`Pusher`]. Recipients come from the connection items
//! (`store`): a whole session, its hosts and cohosts, or one user. Posts run with bounded
//! concurrency; a `410 GoneException` deletes that connection item and does not fail the rest;
//! throttling and 5xx answers are retried within the time the caller allows. Pushing never fails
//! the request that caused it: what could not be delivered is logged (clients resync from the
//! HTTP API when they reconnect).

use std::time::{Duration, Instant};

use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures::{stream, StreamExt};
use serde::Serialize;
use serde_json::Value;

use super::deadline::leaving;
use super::store::{ConnectionRef, Store, StoreResult};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::time::Timestamp;

/// Posts in flight at once per push.
const CONCURRENCY: usize = 32;
/// How long one push may keep retrying throttled posts.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(3);
/// Time kept in reserve before the Lambda's deadline for the function to answer.
const DEADLINE_RESERVE: Duration = Duration::from_millis(500);

/// When retries of this push must stop: the default budget, cut short by the Lambda's deadline.
fn deadline() -> Instant {
    let budget = Instant::now() + DEFAULT_BUDGET;
    leaving(DEADLINE_RESERVE).map_or(budget, |d| d.min(budget))
}

/// Who receives an event.
#[derive(Clone, Debug)]
pub enum Audience {
    /// Everyone connected to the session.
    Session,
    /// The session's hosts and cohosts.
    Stage,
    /// One user (all of their connections to the session).
    User(UserId),
    /// One connection.
    Connection(String),
}

/// The envelope every client receives:
/// `{"type": "...", "session_id": "...", "data": {...}, "ts": "<RFC 3339>"}`.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub session_id: SessionId,
    pub data: Value,
    pub ts: Timestamp,
}

impl Event {
    pub fn new(kind: &'static str, session_id: &SessionId, data: Value) -> Self {
        Event {
            kind,
            session_id: *session_id,
            data,
            ts: Timestamp::now(),
        }
    }
}

/// What a push did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub gone: usize,
    pub failed: usize,
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

    /// Sends `event` to `audience`.
    pub async fn send(&self, store: &Store, audience: Audience, event: &Event) -> Delivery {
        let Some(api) = &self.api else {
            return Delivery::default();
        };
        let recipients = match recipients(store, &audience, &event.session_id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, kind = event.kind, "push: could not list connections");
                return Delivery::default();
            }
        };
        let body = match serde_json::to_vec(event) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "push: event did not serialize");
                return Delivery::default();
            }
        };
        let deadline = deadline();
        let outcomes: Vec<PostOutcome> = stream::iter(recipients)
            .map(|c| {
                let body = &body;
                async move {
                    let outcome = post(api, &c.connection_id, body, deadline).await;
                    if matches!(outcome, PostOutcome::Gone) {
                        if let Err(e) = store.delete_gone_connection(&c.connection_id).await {
                            tracing::warn!(error = %e, connection = %c.connection_id, "push: stale connection not deleted");
                        }
                    }
                    outcome
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut d = Delivery::default();
        for o in outcomes {
            match o {
                PostOutcome::Sent => d.sent += 1,
                PostOutcome::Gone => d.gone += 1,
                PostOutcome::Failed => d.failed += 1,
            }
        }
        tracing::debug!(kind = event.kind, session_id = %event.session_id, ?d, "pushed");
        d
    }

    /// Closes every socket a user has open to a session (DeleteConnection) and forgets them: a
    /// kicked user's clients stop receiving the session's events at once.
    pub async fn disconnect_user(&self, store: &Store, session_id: &SessionId, user_id: &UserId) {
        self.disconnect(store, session_id, Some(user_id)).await
    }

    /// Closes every socket of a session and forgets them (the session ended).
    pub async fn disconnect_everyone(&self, store: &Store, session_id: &SessionId) {
        self.disconnect(store, session_id, None).await
    }

    async fn disconnect(&self, store: &Store, session_id: &SessionId, user_id: Option<&UserId>) {
        let conns = match store.session_connections(session_id, user_id).await {
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

    /// Closes one socket (DeleteConnection) and forgets it.
    pub async fn close(&self, store: &Store, connection_id: &str) {
        if let Some(api) = &self.api {
            if let Err(e) = api.delete_connection().connection_id(connection_id).send().await {
                tracing::debug!(error = %e, connection = connection_id, "DeleteConnection failed (likely gone)");
            }
        }
        if let Err(e) = store.delete_connection(connection_id).await {
            tracing::warn!(error = %e, connection = connection_id, "connection item not deleted");
        }
    }
}

async fn recipients(store: &Store, audience: &Audience, session_id: &SessionId) -> StoreResult<Vec<ConnectionRef>> {
    Ok(match audience {
        Audience::Session => store.session_connections(session_id, None).await?,
        Audience::User(u) => store.session_connections(session_id, Some(u)).await?,
        // The host's and cohosts' own connections, a key lookup each (at most 21): never the
        // audience's, so what a join costs does not grow with it.
        Audience::Stage => {
            let stage = store.moderators(session_id).await?;
            let theirs = stage.iter().map(|m| store.session_connections(session_id, Some(m)));
            futures::future::try_join_all(theirs)
                .await?
                .into_iter()
                .flatten()
                .collect()
        }
        Audience::Connection(id) => vec![ConnectionRef {
            connection_id: id.clone(),
            user_id: String::new(),
        }],
    })
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

    fn event() -> Event {
        Event::new("pong", &SessionId::new(), serde_json::json!({}))
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
        let d = pusher.send(&store, Audience::Connection("c1".into()), &event()).await;
        assert_eq!(
            d,
            Delivery {
                sent: 1,
                gone: 0,
                failed: 0
            }
        );
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
        let d = pusher.send(&store, Audience::Connection("c1".into()), &event()).await;
        assert_eq!(
            d,
            Delivery {
                sent: 0,
                gone: 1,
                failed: 0
            }
        );
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
            .scope(soon, pusher.send(&store, Audience::Connection("c2".into()), &event()))
            .await;
        assert_eq!(
            d,
            Delivery {
                sent: 0,
                gone: 0,
                failed: 1
            }
        );
        assert!(
            started.elapsed() < Duration::from_millis(700),
            "stopped before the Lambda deadline"
        );
        assert!(throttled.num_calls() > 1, "retried before giving up");
    }

    /// A push to the stage reads the session item and each moderator's own connections (a
    /// prefix query per user), never the list of everyone's.
    #[tokio::test]
    async fn the_stage_is_found_without_listing_the_audience() {
        use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
        use aws_sdk_dynamodb::operation::query::QueryOutput;

        use crate::domain::fixtures::session;
        use crate::domain::keys;
        use crate::domain::time::Timestamp;
        use crate::domain::SessionStatus;
        use crate::effects::store::item::to_item;

        let id = SessionId::new();
        let mut live = session(id, SessionStatus::Live, Timestamp::now());
        live.cohosts = vec![UserId::parse("co").unwrap()];
        let item = to_item(&keys::session(&id), &live).unwrap();
        let read =
            mock!(Db::get_item).then_output(move || GetItemOutput::builder().set_item(Some(item.clone())).build());
        let per_user = mock!(Db::query)
            .match_requests(|q| q.key_condition_expression().is_some_and(|k| k.contains("begins_with")))
            .then_output(|| QueryOutput::builder().set_items(Some(vec![])).build());
        let everyone = mock!(Db::query).then_output(|| QueryOutput::builder().set_items(Some(vec![])).build());
        let store = Store::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&read, &per_user, &everyone]),
            "t",
        );
        let to = recipients(&store, &Audience::Stage, &id).await.unwrap();
        assert!(to.is_empty());
        assert_eq!(per_user.num_calls(), 2, "the host's and the cohost's connections");
        assert_eq!(everyone.num_calls(), 0, "the audience is never listed");
    }
}
