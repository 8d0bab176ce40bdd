//! The rules of the WebSocket API's connection routes: who may open a socket to a session, and
//! the connection items that let the fan-out find it (`$connect`, `$disconnect`). What a socket
//! sends afterwards runs the HTTP endpoints' rules (`adapter::websocket`).

use super::access::{self, Need};
use crate::domain::error::ApiResult;
use crate::domain::ids::SessionId;
use crate::domain::time::{epoch_seconds, Timestamp};
use crate::domain::{Connection, Role, User};
use crate::effects::Effects;

/// What `$connect` takes besides the caller: the session the socket listens to.
#[derive(Debug, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectQuery {
    pub session_id: SessionId,
}

/// Connection items outlive API Gateway's 2 h connection limit a little, then TTL removes them.
pub const CONNECTION_TTL_SECONDS: i64 = 2 * 3600 + 10 * 60;

/// `$connect`: the session is live and the user not barred from it; then the connection is
/// recorded. Nothing is pushed from here: API Gateway rejects posts to a connection that is not
/// yet established.
pub async fn connect(fx: &Effects, user: &User, session_id: SessionId, connection_id: String) -> ApiResult<()> {
    let (_, me) = access::admit(fx, &session_id, &user.id, Need::LISTENER).await?;
    let role = me.filter(|p| p.status.is_present()).map_or(Role::Viewer, |p| p.role);
    let connection = Connection {
        connection_id,
        session_id,
        user_id: user.id.clone(),
        username: user.username.clone(),
        avatar_url: user.avatar_url.clone(),
        role,
        connected_at: Timestamp::now(),
        expires_at: epoch_seconds() + CONNECTION_TTL_SECONDS,
    };
    Ok(fx.store.put_connection(&connection).await?)
}

/// `$disconnect`: best effort; the TTL and 410 cleanup cover what this misses.
pub async fn disconnect(fx: &Effects, connection_id: &str) -> ApiResult<()> {
    Ok(fx.store.delete_connection(connection_id).await?)
}
