//! The one error type of the API, and its single mapping to HTTP.
//!
//! Every rule returns [`ApiError`]; [`ApiError::to_response`] is the only place a status code or a
//! problem body is chosen. Bodies follow RFC 9457 (`application/problem+json`). Internal failures
//! are logged with their cause and answered with a generic 500/502/503 body: no SDK or database
//! message ever reaches a client.

use http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

/// Base of the `type` URI of every problem; `docs/errors.md`-style anchors live under it.
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
    /// Body larger than we accept.
    #[error("payload too large")]
    PayloadTooLarge,
    /// A rate or slow-mode limit; the client may retry after the given seconds.
    #[error("too many requests: {detail}")]
    TooManyRequests { retry_after_seconds: u64, detail: String },
    /// A dependency (the SFU) failed; the change was not made.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// DynamoDB throttled or a transaction conflicted; safe to retry.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected dependency answer. The text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// An RFC 9457 problem document: every error the API answers with (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
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
    /// A stable, machine-readable reason (conflicts), e.g. `already-live`, `stage-full`.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
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

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// Status, problem slug and title: the whole mapping, in one table.
    fn classify(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            Validation { .. } => (StatusCode::BAD_REQUEST, "validation-error", "Invalid request field"),
            MalformedBody(_) => (StatusCode::BAD_REQUEST, "malformed-request", "Malformed request body"),
            Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Resource not found"),
            RouteNotFound(_) => (StatusCode::NOT_FOUND, "route-not-found", "No such route"),
            MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict with current state"),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate-limited", "Too many requests"),
            Upstream(_) => (StatusCode::BAD_GATEWAY, "upstream-failure", "Media server unavailable"),
            Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
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
            ApiError::Conflict { detail, .. } | ApiError::TooManyRequests { detail, .. } => detail.clone(),
            ApiError::PayloadTooLarge => "the request body exceeds the accepted size".into(),
            ApiError::Upstream(cause) => {
                tracing::error!(error = %cause, "upstream failure");
                "the media server could not apply the change; nothing was changed, retry later".into()
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "temporarily unavailable");
                "the service is busy; retry shortly".into()
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                "an unexpected error occurred".into()
            }
        };
        let (field, code) = match self {
            ApiError::Validation { field, .. } => (Some(field.as_str()), None),
            ApiError::Conflict { code, .. } => (None, Some(*code)),
            _ => (None, None),
        };
        serde_json::to_value(Problem {
            kind: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: status.as_u16(),
            detail,
            field,
            code,
        })
        .unwrap_or_default()
    }

    /// The problem+json response for this error.
    pub fn to_response(&self) -> Response<Body> {
        let status = self.status();
        let problem = self.problem_json();
        let body = serde_json::to_string(&problem).unwrap_or_else(|_| "{}".into());
        let mut builder = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/problem+json");
        if let ApiError::MethodNotAllowed { allowed, .. } = self {
            builder = builder.header(header::ALLOW, allowed.as_str());
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            builder = builder.header(header::WWW_AUTHENTICATE, "Bearer");
        }
        match self {
            ApiError::Unavailable(_) => builder = builder.header(header::RETRY_AFTER, "1"),
            ApiError::TooManyRequests {
                retry_after_seconds, ..
            } => builder = builder.header(header::RETRY_AFTER, retry_after_seconds.to_string()),
            _ => {}
        }
        builder.body(Body::Text(body)).expect("static response parts are valid")
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
