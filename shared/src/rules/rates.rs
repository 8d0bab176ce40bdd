//! Per-user rate limits (`RATE_LIMITS`): every chat message, guest request or cancellation, join
//! or leave, reaction and socket frame is counted here (reactions by their own store write, which
//! also checks presence), the same for the HTTP API and the sockets; beyond the rate, `429` with
//! `Retry-After` (an `error` frame on a socket).

use crate::domain::error::ApiResult;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::rate::Limited;
use crate::effects::Effects;

/// Counts one action of `what` by `user` in `session`: `429` when the user's rate is used up.
pub async fn count(fx: &Effects, user: &UserId, session: &SessionId, what: Limited) -> ApiResult<()> {
    Ok(fx
        .store
        .count_action(session, user, what, fx.tunables.rates.of(what))
        .await?)
}
