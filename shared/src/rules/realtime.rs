//! The rules of the WebSocket API's connection routes: who may open a socket to a session, and
//! the connection items that let the fan-out find it (`$connect`, `$disconnect`). What a socket
//! sends afterwards runs the HTTP endpoints' rules (`adapter::websocket`).

use super::access::{self, Need};
use crate::domain::error::ApiResult;
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
    Ok(())
}

/// `$disconnect`: best effort; the TTL and 410 cleanup cover what this misses.
pub async fn disconnect(fx: &Effects, connection_id: &str) -> ApiResult<()> {
    Ok(fx.store.delete_connection(connection_id).await?)
}
