//! The rules of the WebSocket API's connection routes: who may open a socket to a session, and
//! the connection items that let the fan-out find it (`$connect`, `$disconnect`). What a socket
//! sends afterwards runs the HTTP endpoints' rules (`adapter::websocket`).

use super::access::{self, Need};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::ids::SessionId;
use crate::domain::time::{epoch_seconds, Timestamp};
use crate::domain::{limits, Connection, User};
use crate::effects::Effects;

/// What `$connect` takes besides the caller: the session the socket listens to.
#[derive(Debug, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectQuery {
    pub session_id: SessionId,
}

/// Connection items outlive API Gateway's 2 h connection limit a little, then TTL removes them.
pub const CONNECTION_TTL_SECONDS: i64 = 2 * 3600 + 10 * 60;

/// `$connect`: the session is live and the user present in it (joined, not barred); then the
/// connection is recorded, on the condition that the user is still present, among at most
/// `SOCKETS_PER_USER` of theirs: beyond, their oldest socket is closed. Nothing is pushed to the
/// new connection from here: API Gateway rejects posts to a connection not yet established.
pub async fn connect(fx: &Effects, user: &User, session_id: SessionId, connection_id: String) -> ApiResult<()> {
    let (_, me) = access::admit_present(fx, &session_id, &user.id, Need::MEMBER).await?;
    let connection = Connection {
        connection_id,
        session_id,
        user_id: user.id.clone(),
        username: user.username.clone(),
        avatar_url: user.avatar_url.clone(),
        role: me.role,
        connected_at: Timestamp::now(),
        expires_at: epoch_seconds() + CONNECTION_TTL_SECONDS,
    };
    let let_go = fx.store.open_connection(&connection, limits::SOCKETS_PER_USER).await?;
    for old in let_go {
        fx.push.close(&fx.store, &old).await;
    }
    // A kick committed after the write above found this connection while API Gateway had not
    // opened it yet, so closing it did nothing: read again, and refuse the handshake if so.
    let still = fx.store.participant(&connection.session_id, &user.id).await?;
    if !still.is_some_and(|p| p.status.is_present()) {
        fx.store.delete_connection(&connection.connection_id).await?;
        return Err(ApiError::removed());
    }
    Ok(())
}

/// `$disconnect`: best effort; the TTL and 410 cleanup cover what this misses.
pub async fn disconnect(fx: &Effects, connection_id: &str) -> ApiResult<()> {
    Ok(fx.store.delete_connection(connection_id).await?)
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::domain::fixtures::{participant, session, user};
    use crate::domain::{keys, ParticipantStatus, Role, SessionStatus};
    use crate::effects::store::item::to_item;
    use crate::effects::store::Store;

    /// A kick that lands between `$connect`'s recorded connection and the end of the handshake
    /// (it cannot close a socket API Gateway has not opened yet): the handshake is refused and
    /// the connection forgotten. The interleaving is staged with a mock, since a race cannot be
    /// timed against a real table.
    #[tokio::test]
    async fn a_kick_between_the_write_and_the_handshake_refuses_it() {
        let id = SessionId::new();
        let live = to_item(&keys::session(&id), &session(id, SessionStatus::Live, Timestamp::now())).unwrap();
        let me = |status| {
            let p = participant(id, "vic", Role::Viewer, status);
            to_item(&keys::participant(&id, &p.user_id), &p).unwrap()
        };
        let (present, kicked) = (me(ParticipantStatus::Active), me(ParticipantStatus::Kicked));
        let session_read = mock!(Client::get_item)
            .match_requests(|g| {
                g.key().and_then(|k| k.get("sk")).and_then(|v| v.as_s().ok()) == Some(&"META".to_string())
            })
            .then_output(move || GetItemOutput::builder().set_item(Some(live.clone())).build());
        let participant_reads = mock!(Client::get_item)
            .sequence()
            .output(move || GetItemOutput::builder().set_item(Some(present.clone())).build())
            .output(move || GetItemOutput::builder().set_item(Some(kicked.clone())).build())
            .build();
        let recorded = mock!(Client::transact_write_items).then_output(|| TransactWriteItemsOutput::builder().build());
        let forgotten = mock!(Client::delete_item).then_output(|| DeleteItemOutput::builder().build());
        let unlisted = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
        let journaled = mock!(Client::put_item).then_output(|| PutItemOutput::builder().build());
        let db = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [
                &session_read,
                &participant_reads,
                &recorded,
                &forgotten,
                &unlisted,
                &journaled
            ]
        );
        let fx = Effects::for_test(
            Store::new(db, "t"),
            crate::effects::queue::Queues::new(None, Default::default()),
        );
        let refused = connect(&fx, &user("vic"), id, "Conn0=".into()).await;
        assert_eq!(refused.err().map(|e| e.status().as_u16()), Some(403));
        assert_eq!(recorded.num_calls(), 1, "the connection was recorded first");
        assert_eq!(journaled.num_calls(), 1, "and its change, for the fan-out");
        assert_eq!(participant_reads.num_calls(), 2, "and presence read again after");
        assert_eq!(forgotten.num_calls(), 1, "then forgotten");
    }
}
