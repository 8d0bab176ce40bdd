//! The shape of the endpoint table (`endpoints.rs`): the [`endpoints!`] macro that turns one entry
//! per endpoint into the `Endpoint` enum and everything derived from it, and what every endpoint
//! shares: its [`Route`], and [`serve`], which serves one request.
//!
//! From each entry the macro derives: the enum variant and `Endpoint::ALL`; the handler name
//! (`Handler` of the function in `template.yaml`, which the one Lambda artifact serves; also the
//! name of its file in `events/`); the function's logical id (`<Variant>Function`); the route; the
//! IAM policy the function needs; the dispatch (extract the arguments in order, run the rule
//! once per `Idempotency-Key`, write the answer); and, with the `openapi` feature, the example
//! request and the documentation the OpenAPI document, the README's API table and `events/` are
//! generated from.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

use super::answer::{problem, Answer};
use super::calls::{self, DYNAMODB_CALLS};
use super::iam::{Serving, SERVING};
use crate::domain::error::{ApiError, ApiResult};
use crate::effects::deadline::{instant_of_epoch_millis, DEADLINE};

/// What invokes a function: an HTTP API route, a WebSocket API route key, an EventBridge
/// schedule (`rate(1 minute)`), or an SQS queue (its logical id in `template.yaml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Http { method: &'static str, path: &'static str },
    WebSocket(&'static str),
    Schedule(&'static str),
    Queue(&'static str),
}

impl Route {
    pub const fn get(path: &'static str) -> Route {
        Route::Http { method: "GET", path }
    }

    pub const fn post(path: &'static str) -> Route {
        Route::Http { method: "POST", path }
    }

    pub const fn put(path: &'static str) -> Route {
        Route::Http { method: "PUT", path }
    }

    pub const fn patch(path: &'static str) -> Route {
        Route::Http { method: "PATCH", path }
    }

    pub const fn delete(path: &'static str) -> Route {
        Route::Http { method: "DELETE", path }
    }

    /// Every method (API Gateway's `ANY`).
    pub const fn any(path: &'static str) -> Route {
        Route::Http { method: "ANY", path }
    }

    pub const fn websocket(route_key: &'static str) -> Route {
        Route::WebSocket(route_key)
    }

    /// A scheduled function (the template's `Schedule` event; `expression` as EventBridge reads it).
    pub const fn schedule(expression: &'static str) -> Route {
        Route::Schedule(expression)
    }

    /// A function fed by an SQS queue (the template's `SQS` event on the queue `queue`).
    pub const fn queue(queue: &'static str) -> Route {
        Route::Queue(queue)
    }
}

/// Declares the endpoint table; see the module docs and `endpoints.rs`.
macro_rules! endpoints {
    ($(
        $(#[doc = $what:literal])*
        $name:ident = $handler:literal {
            route: $route:expr,
            policy: $policy:expr,
            run: |$fx:ident $(, $arg:ident: $ty:ty)*| $call:expr,
            ok: $status:literal $answer:ty,
            example: $example:expr,
            doc: $doc:expr $(,)?
        }
    )*) => {
        /// Every endpoint, one Lambda function each (the table in `endpoints.rs`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Endpoint {
            $($(#[doc = $what])* $name,)*
        }

        impl Endpoint {
            pub const ALL: &'static [Endpoint] = &[$(Endpoint::$name),*];

            /// The function's `Handler` in `template.yaml` (and its event's file in `events/`).
            pub fn name(self) -> &'static str {
                match self { $(Endpoint::$name => $handler,)* }
            }

            /// The function's logical id in `template.yaml`.
            pub fn function_id(self) -> &'static str {
                match self { $(Endpoint::$name => concat!(stringify!($name), "Function"),)* }
            }

            /// The route, as `template.yaml` declares it (API Gateway syntax).
            pub fn route(self) -> $crate::adapter::table::Route {
                match self { $(Endpoint::$name => $route,)* }
            }

            /// What the function may call: `template.yaml` grants exactly this.
            pub fn policy(self) -> &'static $crate::adapter::iam::Policy {
                match self { $(Endpoint::$name => &$policy,)* }
            }

            /// The status of a successful answer.
            pub fn success(self) -> u16 {
                match self { $(Endpoint::$name => $status,)* }
            }

            /// The endpoint that a function's `Handler` names.
            pub fn from_name(name: &str) -> Option<Endpoint> {
                Self::ALL.iter().copied().find(|e| e.name() == name)
            }

            pub fn from_function_id(id: &str) -> Option<Endpoint> {
                Self::ALL.iter().copied().find(|e| e.function_id() == id)
            }

            /// The endpoint serving a WebSocket route key.
            pub fn for_route_key(route_key: &str) -> Option<Endpoint> {
                Self::ALL.iter().copied().find(
                    |e| matches!(e.route(), $crate::adapter::table::Route::WebSocket(k) if k == route_key),
                )
            }

            /// Serves one request exactly as the endpoint's Lambda function does (see `serve`).
            pub async fn handle(
                self,
                app: &$crate::adapter::app::App,
                req: lambda_http::Request,
            ) -> lambda_http::Response<lambda_http::Body> {
                let serving = $crate::adapter::iam::Serving {
                    name: self.name(),
                    function_id: self.function_id(),
                    policy: self.policy(),
                };
                $crate::adapter::table::serve(serving, req, |req| async move { self.run(app, &req).await }).await
            }

            /// Extracts the arguments in order, runs the rule, writes its answer.
            async fn run(
                self,
                app: &$crate::adapter::app::App,
                req: &lambda_http::Request,
            ) -> $crate::domain::error::ApiResult<lambda_http::Response<lambda_http::Body>> {
                // Each endpoint's whole run is boxed: inline, the dispatch would hold every
                // endpoint's extraction and rule futures in one frame, whose size grows with the
                // table (in debug builds past a thread's 2 MiB stack).
                match self {
                    $(Endpoint::$name => Box::pin(async {
                        $(let $arg: $ty = <$ty as $crate::adapter::extract::Extract>::extract(app, req).await?;)*
                        let caller: Option<&$crate::domain::User> =
                            None $(.or(<$ty as $crate::adapter::extract::Extract>::caller(&$arg)))*;
                        let keyed = $crate::adapter::idempotency::Keyed::of(self.route(), req, caller)?;
                        let $fx = &app.fx;
                        let answer = Box::pin(async {
                            let value: <$answer as $crate::adapter::answer::Answer>::Value = $call.await?;
                            $crate::adapter::table::respond::<$answer>(value, $status)
                        });
                        $crate::adapter::idempotency::answer_once(&app.fx, keyed, answer).await
                    }).await,)*
                }
            }
        }

        #[cfg(feature = "openapi")]
        impl $crate::adapter::docs::Documented for Endpoint {
            fn route(self) -> $crate::adapter::table::Route {
                Endpoint::route(self)
            }

            fn name(self) -> &'static str {
                Endpoint::name(self)
            }

            fn success(self) -> u16 {
                Endpoint::success(self)
            }

            fn describe(self, op: &mut $crate::adapter::docs::OperationDoc) {
                match self {
                    $(Endpoint::$name => {
                        $(<$ty as $crate::adapter::docs::Describe>::describe(op);)*
                        <$answer as $crate::adapter::docs::DescribeAnswer>::describe(op, $status);
                    })*
                }
            }

            fn example(self) -> $crate::adapter::docs::Example {
                match self { $(Endpoint::$name => $example,)* }
            }

            fn doc(self) -> Option<$crate::adapter::docs::Doc> {
                match self { $(Endpoint::$name => $doc,)* }
            }
        }
    };
}

pub(crate) use endpoints;

/// Writes a rule's value as the endpoint's answer (`status`: the table's success status).
pub fn respond<A: Answer>(value: A::Value, status: u16) -> ApiResult<Response<Body>> {
    A::respond(value, StatusCode::from_u16(status).map_err(ApiError::internal)?)
}

/// Serves one request with `run` (the table's dispatch); never fails: every error is already a
/// problem+json response. Work that retries (pushes) stops before the Lambda's deadline when the
/// request carries one, and every AWS call is attributed to the function `serving` (see `iam`).
pub async fn serve<F, Fut>(serving: Serving, req: Request, run: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Response<Body>>>,
{
    let deadline = req
        .lambda_context_ref()
        .map(|c| instant_of_epoch_millis(c.deadline))
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(30));
    let started = Instant::now();
    let answer = async {
        let answer = run(req).await.unwrap_or_else(|e| {
            if e.status().is_client_error() {
                tracing::info!(endpoint = serving.name, status = e.status().as_u16(), error = %e, "request refused");
            }
            problem(&e)
        });
        // One line per invocation: what it answered, how long it took and what it cost (the
        // fields are only computed when the line is logged).
        tracing::info!(
            endpoint = serving.name,
            status = answer.status().as_u16(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            dynamodb_calls = calls::count(),
            dynamodb_ops = calls::ops(),
            "served"
        );
        answer
    };
    let counted = DYNAMODB_CALLS.scope(RefCell::default(), answer);
    SERVING.scope(serving, DEADLINE.scope(deadline, counted)).await
}
