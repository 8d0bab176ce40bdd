//! The one error type of the API, and its single mapping to HTTP.
//!
//! Every rule returns [`ApiError`]; [`ApiError::status`], [`ApiError::problem_json`] and
//! [`ApiError::headers`] are the only place a status code, a problem body or an error header is
//! chosen (the adapter writes them out). Bodies follow RFC 9457 (`application/problem+json`).
//! Internal failures are logged with their cause and answered with a generic 500/502/503 body: no
//! SDK or database message ever reaches a client. Refusals that several rules give are named
//! constructors here, so that each is written once.

use std::fmt::Display;

use http::{header, HeaderName, StatusCode};
use serde::Serialize;

use super::ids::{RequestId, SessionId};

/// Base of the `type` URI of every problem.
pub const PROBLEM_BASE: &str = "https://trendke.live/problems/";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Input that fails parsing or a rule; `field` names the offending field (JSON path).
    #[error("invalid field {field}: {detail}")]
    Validation { field: String, detail: String },
    /// The body is not JSON at all, or missing.
    #[error("malformed request: {0}")]
    MalformedBody(String),
    /// Missing, expired or badly signed credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed (wrong role, banned).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A moderator timed the caller out of the session's chat for `seconds_left` more seconds.
    #[error("timed out of chat for {seconds_left} s")]
    ChatTimedOut { seconds_left: u64 },
    /// A named resource does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// No route for this path.
    #[error("no route for {0}")]
    RouteNotFound(String),
    /// The path exists, the method does not.
    #[error("method {method} not allowed; allowed: {allowed}")]
    MethodNotAllowed { method: String, allowed: String },
    /// The request conflicts with current state; `code` is a stable machine-readable reason.
    #[error("conflict ({code}): {detail}")]
    Conflict { code: &'static str, detail: String },
    /// Well-formed, but not something we can process as sent; `code` is a stable reason.
    #[error("unprocessable ({code}): {detail}")]
    Unprocessable { code: &'static str, detail: String },
    /// A payment the caller's coins do not cover, or access that must be bought first. Boxed:
    /// every `ApiResult` carries this enum, and its size is every async frame's.
    #[error("payment required ({}): {}", .0.code, .0.detail)]
    PaymentRequired(Box<PaymentRequired>),
    /// Body larger than we accept.
    #[error("payload too large")]
    PayloadTooLarge,
    /// A rate or slow-mode limit; the client may retry after the given seconds.
    #[error("too many requests: {detail}")]
    TooManyRequests { retry_after_seconds: u64, detail: String },
    /// A dependency (the SFU) failed; the change was not made.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// A dependency (the SFU) failed after a change that stands (`kept`, e.g. "you left the
    /// session"); repeating the request finishes it.
    #[error("upstream failure after a kept change: {cause}")]
    UpstreamAfter { kept: &'static str, cause: String },
    /// The media server has no egress worker to record with (LiveKit Cloud has one; a
    /// self-hosted server needs the egress service; the local `--dev` server has none).
    #[error("recording unavailable: no egress worker")]
    RecordingUnavailable,
    /// DynamoDB throttled or a transaction conflicted; safe to retry.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected dependency answer. The text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a `402` says: `code` a stable reason (`insufficient-coins`, `ticket-required`), the
/// wallet's `balance` and what the payment `needed`, where known.
#[derive(Debug)]
pub struct PaymentRequired {
    pub code: &'static str,
    pub detail: String,
    pub balance: Option<u64>,
    pub needed: Option<u64>,
}

/// An RFC 9457 problem document: every error the API answers with (`application/problem+json`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem<'a> {
    /// A URI naming the kind of problem (`https://trendke.live/problems/<slug>`).
    #[serde(rename = "type")]
    kind: String,
    /// A short summary of the kind of problem.
    title: &'a str,
    /// The HTTP status.
    status: u16,
    /// What went wrong with this request, for people.
    detail: String,
    /// The offending field (validation errors), as a JSON path of the body, or a parameter name.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// A stable, machine-readable reason (conflicts, unprocessable requests), e.g. `already-live`,
    /// `stage-full`, `idempotency-key-reused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    /// Seconds to wait before trying again (`429`), or until a chat timeout passes (`403
    /// chat-timeout`): the `Retry-After` header's value, also here for socket `error` frames,
    /// which have no headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    /// Coins in the caller's wallet (`402 insufficient-coins`).
    #[serde(skip_serializing_if = "Option::is_none")]
    balance: Option<u64>,
    /// Coins the refused payment needed (`402 insufficient-coins`).
    #[serde(skip_serializing_if = "Option::is_none")]
    needed: Option<u64>,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn internal(cause: impl Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// 404: no such session.
    pub fn session_not_found(id: &SessionId) -> Self {
        Self::NotFound(format!("no session {id}"))
    }

    /// 404: no such guest request or invitation.
    pub fn request_not_found(id: &RequestId) -> Self {
        Self::NotFound(format!("no guest request {id}"))
    }

    /// 409 `session-ended`: the session is over; nothing more happens in it.
    pub fn session_ended() -> Self {
        Self::conflict("session-ended", "this live session has ended")
    }

    /// 403: the caller was kicked or banned from the session.
    pub fn removed() -> Self {
        Self::Forbidden("you were removed from this session".into())
    }

    /// 403: the caller is not present in the session.
    pub fn join_first() -> Self {
        Self::Forbidden("join the session first (POST /live/join)".into())
    }

    /// 403: the caller is not a present host or cohost.
    pub fn moderators_only() -> Self {
        Self::Forbidden("only the host and cohosts can do this".into())
    }

    /// 409 `stage-full`: every guest slot is taken.
    pub fn stage_full() -> Self {
        Self::conflict("stage-full", "every guest slot is taken")
    }

    /// 409 `already-answered`: the request (or invitation) is no longer pending.
    pub fn already_answered(what: &str) -> Self {
        Self::conflict("already-answered", format!("this {what} is no longer pending"))
    }

    /// 409 `invitation-expired`: the invitation can no longer be accepted.
    pub fn invitation_expired() -> Self {
        Self::conflict(
            "invitation-expired",
            "this invitation has expired; ask to be invited again",
        )
    }

    /// 409 `participant-changed`: a concurrent change to the participant won.
    pub fn participant_changed() -> Self {
        Self::conflict(
            "participant-changed",
            "the participant is not present or their role changed; reload and retry",
        )
    }

    /// 409 `idempotency-in-progress`: an earlier request with this `Idempotency-Key` has not
    /// finished yet.
    pub fn idempotency_in_progress() -> Self {
        Self::conflict(
            "idempotency-in-progress",
            "a request with this Idempotency-Key is still in progress; retry when it has finished",
        )
    }

    /// 422 `idempotency-key-reused`: this `Idempotency-Key` was used for a different request.
    pub fn idempotency_key_reused() -> Self {
        Self::Unprocessable {
            code: "idempotency-key-reused",
            detail: "this Idempotency-Key was used for a different request (method, path or body); use a new key"
                .into(),
        }
    }

    /// 402 `insufficient-coins`: the wallet holds `balance` coins, the payment needs `needed`.
    pub fn insufficient_coins(balance: u64, needed: u64) -> Self {
        Self::PaymentRequired(Box::new(PaymentRequired {
            code: "insufficient-coins",
            detail: format!("this needs {needed} coins and your wallet holds {balance}"),
            balance: Some(balance),
            needed: Some(needed),
        }))
    }

    /// 402 `ticket-required`: a paid session admits ticket holders; the ticket costs `price`.
    pub fn ticket_required(price: u64) -> Self {
        Self::PaymentRequired(Box::new(PaymentRequired {
            code: "ticket-required",
            detail: format!("this live session needs a ticket of {price} coins (POST /live/buy-ticket)"),
            balance: None,
            needed: Some(price),
        }))
    }

    /// 400: a cursor that this list did not hand out.
    pub fn bad_cursor(param: &str) -> Self {
        Self::validation(param, "is not a cursor returned by this endpoint")
    }

    /// Status, problem slug and title: the whole mapping, in one table.
    fn classify(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            Validation { .. } => (StatusCode::BAD_REQUEST, "validation-error", "Invalid request field"),
            MalformedBody(_) => (StatusCode::BAD_REQUEST, "malformed-request", "Malformed request body"),
            Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ChatTimedOut { .. } => (StatusCode::FORBIDDEN, "chat-timeout", "Timed out of chat"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Resource not found"),
            RouteNotFound(_) => (StatusCode::NOT_FOUND, "route-not-found", "No such route"),
            MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict with current state"),
            Unprocessable { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Request cannot be processed",
            ),
            PaymentRequired(_) => (StatusCode::PAYMENT_REQUIRED, "payment-required", "Payment required"),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate-limited", "Too many requests"),
            Upstream(_) | UpstreamAfter { .. } => {
                (StatusCode::BAD_GATEWAY, "upstream-failure", "Media server unavailable")
            }
            Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
            ),
            RecordingUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "recording-unavailable",
                "Recording unavailable",
            ),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal-error", "Internal error"),
        }
    }

    /// The status this error maps to.
    pub fn status(&self) -> StatusCode {
        self.classify().0
    }

    /// The RFC 9457 problem document for this error (also the `data` of WebSocket `error` frames).
    /// Server-side causes are logged here, once.
    pub fn problem_json(&self) -> serde_json::Value {
        let (status, slug, title) = self.classify();
        let detail = match self {
            ApiError::Validation { detail, .. } => detail.clone(),
            ApiError::MalformedBody(d) | ApiError::Unauthorized(d) | ApiError::Forbidden(d) | ApiError::NotFound(d) => {
                d.clone()
            }
            ApiError::RouteNotFound(path) => format!("no route matches {path}"),
            ApiError::MethodNotAllowed { method, allowed } => {
                format!("{method} is not allowed here; use {allowed}")
            }
            ApiError::Conflict { detail, .. }
            | ApiError::Unprocessable { detail, .. }
            | ApiError::TooManyRequests { detail, .. } => detail.clone(),
            ApiError::PaymentRequired(p) => p.detail.clone(),
            ApiError::ChatTimedOut { seconds_left } => {
                format!("a moderator timed you out of this chat: {seconds_left} s left")
            }
            ApiError::PayloadTooLarge => "the request body exceeds the accepted size".into(),
            ApiError::Upstream(cause) => {
                tracing::error!(error = %cause, "upstream failure");
                "the media server could not apply the change; nothing was changed, retry later".into()
            }
            ApiError::UpstreamAfter { kept, cause } => {
                tracing::error!(error = %cause, "upstream failure after a kept change");
                format!("{kept}, but the media server could not be told; repeat the request to finish")
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "temporarily unavailable");
                "the service is busy; retry shortly".into()
            }
            ApiError::RecordingUnavailable => "the media server has no egress worker to record with: recording needs LiveKit Cloud or a self-hosted LiveKit Egress service (README, Recording); nothing was started".into(),
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                "an unexpected error occurred".into()
            }
        };
        let (field, code) = match self {
            ApiError::Validation { field, .. } => (Some(field.as_str()), None),
            ApiError::Conflict { code, .. } | ApiError::Unprocessable { code, .. } => (None, Some(*code)),
            ApiError::PaymentRequired(p) => (None, Some(p.code)),
            ApiError::ChatTimedOut { .. } => (None, Some("chat-timeout")),
            ApiError::RecordingUnavailable => (None, Some("recording-unavailable")),
            _ => (None, None),
        };
        serde_json::to_value(Problem {
            kind: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: status.as_u16(),
            detail,
            field,
            code,
            retry_after: match self {
                ApiError::TooManyRequests {
                    retry_after_seconds, ..
                } => Some(*retry_after_seconds),
                ApiError::ChatTimedOut { seconds_left } => Some(*seconds_left),
                _ => None,
            },
            balance: match self {
                ApiError::PaymentRequired(p) => p.balance,
                _ => None,
            },
            needed: match self {
                ApiError::PaymentRequired(p) => p.needed,
                _ => None,
            },
        })
        .unwrap_or_default()
    }

    /// The headers that go with this error's answer: `Allow` (405), `WWW-Authenticate` (401),
    /// `Retry-After` (429, 503, 403 `chat-timeout`).
    pub fn headers(&self) -> Vec<(HeaderName, String)> {
        match self {
            ApiError::MethodNotAllowed { allowed, .. } => vec![(header::ALLOW, allowed.clone())],
            ApiError::Unauthorized(_) => vec![(header::WWW_AUTHENTICATE, "Bearer".into())],
            ApiError::Unavailable(_) => vec![(header::RETRY_AFTER, "1".into())],
            ApiError::TooManyRequests {
                retry_after_seconds, ..
            } => vec![(header::RETRY_AFTER, retry_after_seconds.to_string())],
            ApiError::ChatTimedOut { seconds_left } => vec![(header::RETRY_AFTER, seconds_left.to_string())],
            _ => Vec::new(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
