//! Idempotency keys: a retry of a state-changing request replays the first answer and does
//! nothing again. The adapter scopes a request's key (`adapter::idempotency`); this decides what a
//! key's record means, and keeps or forgets it when the request is done.

use std::time::Duration;

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::idempotency::{IdempotencyKey, StoredAnswer};
use crate::domain::ids::UserId;
use crate::domain::time::epoch_millis;
use crate::effects::store::{KeyClaim, KeyTaken, KeyTerms};
use crate::effects::Effects;

/// How long a key stays in progress when its request never finishes (the function died): longer
/// than any function's timeout (`template.yaml`, `Timeout`), so that a live request is never
/// run twice; after it, a retry runs.
pub const IN_PROGRESS_LEASE: Duration = Duration::from_secs(30);

/// What a request with a key does.
#[derive(Debug)]
pub enum Begun {
    /// Run, then [`finish`] with the answer.
    Run(KeyClaim),
    /// Answer this, the first request's answer, and do nothing else.
    Replay(StoredAnswer),
}

/// Takes `user`'s `key` for a request whose method, path and body hash to `fingerprint`: `409
/// idempotency-in-progress` while an earlier request with it runs, `422 idempotency-key-reused`
/// when the earlier request was a different one.
pub async fn begin(fx: &Effects, user: &UserId, key: &IdempotencyKey, fingerprint: &str) -> ApiResult<Begun> {
    let terms = KeyTerms {
        now_ms: epoch_millis(),
        lease_ms: IN_PROGRESS_LEASE.as_millis() as i64,
        ttl_s: i64::try_from(fx.tunables.idempotency_ttl.as_secs()).unwrap_or(i64::MAX),
    };
    match fx.store.take_key(user, key, fingerprint, terms).await? {
        KeyTaken::Fresh(claim) => Ok(Begun::Run(claim)),
        KeyTaken::Held { fingerprint: held, .. } if held != fingerprint => Err(ApiError::idempotency_key_reused()),
        KeyTaken::Held {
            answer: Some(answer), ..
        } => Ok(Begun::Replay(answer)),
        KeyTaken::Held { answer: None, .. } => Err(ApiError::idempotency_in_progress()),
    }
}

/// Ends the request holding `claim`: a success's `answer` is kept for the key's retries; without
/// one (the request was refused or failed, and changed nothing) the key is forgotten so that a
/// retry runs. The request's own answer stands either way: failing to record it is logged, and
/// the key frees itself when its lease passes.
pub async fn finish(fx: &Effects, claim: KeyClaim, answer: Option<StoredAnswer>) {
    let outcome = match &answer {
        Some(answer) => fx.store.keep_answer(&claim, answer).await.map(|kept| {
            if !kept {
                tracing::warn!("idempotency key taken by a retry before its answer was kept");
            }
        }),
        None => fx.store.release_key(&claim).await,
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "idempotency key not finished; it frees itself when its lease passes");
    }
}
