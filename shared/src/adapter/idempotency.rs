//! `Idempotency-Key` on the wire: which requests take one, how a request is told from another
//! under the same key, and how an answer is kept and replayed. What a key's record means is the
//! rules' (`rules::idempotency`).

use std::collections::BTreeMap;
use std::future::Future;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::HeaderValue;
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use super::table::Route;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::idempotency::{IdempotencyKey, StoredAnswer, HEADER, REPLAYED_HEADER};
use crate::domain::ids::UserId;
use crate::domain::User;
use crate::effects::Effects;
use crate::rules::idempotency::{self, Begun};

/// Whether a route takes an `Idempotency-Key`: every state-changing `POST` of a signed-in caller
/// (keys are scoped to the caller; LiveKit's webhooks have their own event ids).
pub fn takes_key(route: Route, signed_in: bool) -> bool {
    matches!(route, Route::Http { method: "POST", .. }) && signed_in
}

/// A request that carries a key: whose key, and what request it names.
pub struct Keyed {
    user: UserId,
    key: IdempotencyKey,
    fingerprint: String,
}

impl Keyed {
    /// The key of `req` to `route` by `caller`, when the route takes one and the request has one;
    /// a malformed key is refused (400, naming the header).
    pub fn of(route: Route, req: &Request, caller: Option<&User>) -> ApiResult<Option<Keyed>> {
        let Some(caller) = caller.filter(|_| takes_key(route, true)) else {
            return Ok(None);
        };
        let Some(raw) = req.headers().get(HEADER) else {
            return Ok(None);
        };
        let key = raw
            .to_str()
            .map_err(|_| ApiError::validation(HEADER, "must be visible ASCII characters"))
            .and_then(|text| IdempotencyKey::parse(text).map_err(|why| ApiError::validation(HEADER, why)))?;
        Ok(Some(Keyed {
            user: caller.id.clone(),
            key,
            fingerprint: fingerprint(req),
        }))
    }
}

/// What a request is, for telling a retry from another request under the same key: its method,
/// path and exact body bytes.
fn fingerprint(req: &Request) -> String {
    let mut hash = Sha256::new();
    for part in [
        req.method().as_str().as_bytes(),
        b"\n",
        req.uri().path().as_bytes(),
        b"\n",
    ] {
        hash.update(part);
    }
    hash.update(req.body().as_ref());
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

/// Answers a request through its key, if it has one: the first request with the key runs
/// `answer` (and a success is kept); its retries get that answer again, with
/// `Idempotent-Replayed: true`, and run nothing.
pub async fn answer_once(
    fx: &Effects,
    keyed: Option<Keyed>,
    answer: impl Future<Output = ApiResult<Response<Body>>>,
) -> ApiResult<Response<Body>> {
    let Some(keyed) = keyed else {
        return answer.await;
    };
    match idempotency::begin(fx, &keyed.user, &keyed.key, &keyed.fingerprint).await? {
        Begun::Replay(stored) => replay(stored),
        Begun::Run(claim) => {
            let answer = answer.await;
            let kept = answer.as_ref().ok().and_then(stored);
            idempotency::finish(fx, claim, kept).await;
            answer
        }
    }
}

/// A successful answer as kept for replays (`None`: not kept, the key is released).
fn stored(response: &Response<Body>) -> Option<StoredAnswer> {
    if !response.status().is_success() {
        return None;
    }
    let body = match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        // No endpoint answers binary; were one to, it would run again rather than replay wrong.
        _ => return None,
    };
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| value.to_str().map(|v| (name.as_str().to_string(), v.to_string())))
        .collect::<Result<BTreeMap<_, _>, _>>()
        .ok()?;
    Some(StoredAnswer {
        status: response.status().as_u16(),
        headers,
        body,
    })
}

fn replay(stored: StoredAnswer) -> ApiResult<Response<Body>> {
    let mut builder = Response::builder().status(stored.status);
    for (name, value) in &stored.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = if stored.body.is_empty() {
        Body::Empty
    } else {
        Body::Text(stored.body)
    };
    builder
        .header(REPLAYED_HEADER, HeaderValue::from_static("true"))
        .body(body)
        .map_err(ApiError::internal)
}
