//! Answers: how a rule's value goes back as an API Gateway response, and how an [`ApiError`]
//! becomes its problem+json answer. The endpoint table names each endpoint's answer type and
//! success status; the OpenAPI document describes the same types.

use http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::extract::Json;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::page::Listing;

/// Response header carrying the cursor of the next page of a list (absent on the last page).
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";

/// A kind of answer, and the value a rule gives it.
pub trait Answer {
    type Value;
    fn respond(value: Self::Value, status: StatusCode) -> ApiResult<Response<Body>>;
}

/// A JSON body.
impl<T: Serialize> Answer for Json<T> {
    type Value = T;
    fn respond(value: T, status: StatusCode) -> ApiResult<Response<Body>> {
        json(status, &value, None)
    }
}

/// A JSON array of one page, the next page's cursor in the `X-Next-Cursor` header.
pub struct Paged<T>(std::marker::PhantomData<T>);

impl<T: Serialize> Answer for Paged<T> {
    type Value = Listing<T>;
    fn respond(value: Listing<T>, status: StatusCode) -> ApiResult<Response<Body>> {
        json(status, &value.items, value.next_cursor)
    }
}

/// No body (the WebSocket routes: API Gateway only looks at the status).
pub struct Empty;

impl Answer for Empty {
    type Value = ();
    fn respond((): (), status: StatusCode) -> ApiResult<Response<Body>> {
        Response::builder()
            .status(status)
            .body(Body::Empty)
            .map_err(ApiError::internal)
    }
}

fn json<T: Serialize>(status: StatusCode, value: &T, next_cursor: Option<String>) -> ApiResult<Response<Body>> {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(cursor) = next_cursor {
        builder = builder.header(NEXT_CURSOR_HEADER, cursor);
    }
    builder.body(Body::Text(body)).map_err(ApiError::internal)
}

/// The problem+json response for an error: its status, body and headers from the one mapping.
pub fn problem(e: &ApiError) -> Response<Body> {
    let body = serde_json::to_string(&e.problem_json()).unwrap_or_else(|_| "{}".into());
    let mut builder = Response::builder()
        .status(e.status())
        .header(header::CONTENT_TYPE, "application/problem+json");
    for (name, value) in e.headers() {
        builder = builder.header(name, value);
    }
    builder.body(Body::Text(body)).expect("static response parts are valid")
}
