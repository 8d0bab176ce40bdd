//! Local API Gateway emulator. SAM cannot emulate our APIs without Docker (and has no WebSocket
//! emulation at all), so this process stands in for API Gateway locally and in tests: it serves
//! the HTTP API from `template.yaml`'s routes and CORS, building the same payload 2.0 events API
//! Gateway sends, and runs the same handlers the Lambdas run, in process.

pub mod http_api;
pub mod lambda;
pub mod queues;
pub mod schedules;
pub mod template;
pub mod web;
pub mod websocket_api;

use std::net::SocketAddr;
use std::sync::Arc;

use shared::adapter::app::App;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use lambda::Timeouts;
pub use queues::{ensure_queues, serve_queues, Queues};
pub use schedules::serve_schedules;
pub use template::Template;

/// A running API (HTTP or WebSocket).
pub struct HttpServer {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

/// Serves the HTTP API on an already-bound listener (tests bind port 0; `make dev` a fixed port).
/// Each function runs within its `Timeouts` (from the template: `Timeouts::of`).
pub fn serve_http(
    app: Arc<App>,
    template: &Template,
    timeouts: Timeouts,
    listener: TcpListener,
) -> std::io::Result<HttpServer> {
    serve_http_with_web(app, template, timeouts, listener, web::Web::default())
}

/// [`serve_http`], serving the browser client (`web`) beside the API as `make dev` does.
pub fn serve_http_with_web(
    app: Arc<App>,
    template: &Template,
    timeouts: Timeouts,
    listener: TcpListener,
    web: web::Web,
) -> std::io::Result<HttpServer> {
    let addr = listener.local_addr()?;
    let state = Arc::new(http_api::HttpState {
        app,
        timeouts,
        cors: template.cors.clone(),
        api_id: "local".into(),
        domain: addr.to_string(),
        web,
    });
    let router = http_api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "HTTP API server stopped");
        }
    });
    Ok(HttpServer { addr, task })
}

/// Serves the WebSocket API and its `@connections` management API on an already-bound listener.
/// The app's pushes must point at this listener (`WEBSOCKET_API_ENDPOINT`).
pub fn serve_websocket(app: Arc<App>, timeouts: Timeouts, listener: TcpListener) -> std::io::Result<HttpServer> {
    serve_websocket_with_state(app, timeouts, listener).map(|(server, _)| server)
}

/// [`serve_websocket`], with the API's state (tests inject faults through it).
pub fn serve_websocket_with_state(
    app: Arc<App>,
    timeouts: Timeouts,
    listener: TcpListener,
) -> std::io::Result<(HttpServer, Arc<websocket_api::WsState>)> {
    let addr = listener.local_addr()?;
    let state = Arc::new(websocket_api::WsState::new(
        app,
        timeouts,
        "local-ws".into(),
        addr.to_string(),
    ));
    let router = websocket_api::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "WebSocket API server stopped");
        }
    });
    Ok((HttpServer { addr, task }, state))
}
