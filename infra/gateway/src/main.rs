//! `local-gateway`: the HTTP API on 127.0.0.1:3000 (GATEWAY_HTTP_PORT) and the WebSocket API with
//! its `@connections` management API on 127.0.0.1:3001 (GATEWAY_WS_PORT), in front of the same
//! handlers the Lambdas run. Reads template.yaml (TEMPLATE_PATH) for routes, CORS and the table,
//! which it creates in the DynamoDB emulator (AWS_ENDPOINT_URL_DYNAMODB) when missing, and runs
//! the template's scheduled functions at their rates and its queue-fed functions from their queues.
//! Serves the built browser client (WEB_ROOT, default web/dist) at `/` with dev sign-in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use local_gateway::web::{DevSigner, Web};
use local_gateway::{
    ensure_queues, serve_http_with_web, serve_queues, serve_schedules, serve_websocket, Template, Timeouts,
};
use tracing_subscriber::EnvFilter;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let template = Template::load(&PathBuf::from(env_or("TEMPLATE_PATH", "template.yaml")))?;
    // CloudFormation's part: the template's queues exist, and the functions' EVENTS_QUEUE_URL,
    // FANOUT_QUEUE_URL and AGGREGATES_QUEUE_URL (`!Ref`s in the template) name them. Set before
    // anything else reads the environment.
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queues = ensure_queues(&sqs, &template).await?;
    let urls = queues.urls();
    for (var, url) in [
        ("EVENTS_QUEUE_URL", &urls.events),
        ("FANOUT_QUEUE_URL", &urls.fanout),
        ("AGGREGATES_QUEUE_URL", &urls.aggregates),
    ] {
        if let Some(url) = url {
            std::env::set_var(var, url);
        }
    }
    // Locally nothing enforces IAM: the app refuses what each function's policy would. Its
    // sends wake the SQS pollers (long polling's part).
    let config = shared::adapter::app::load_config(&sdk, shared::domain::config::env_var).await?;
    let push = config
        .websocket_endpoint
        .as_deref()
        .map(|url| shared::adapter::app::management_client(&sdk, url));
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    let app = shared::adapter::app::App::new(config, db, push, Some(local_gateway::queues::waking(&sqs)));
    let app = Arc::new(app.enforcing_policies());
    let store = &app.fx.store;
    if template.table.ensure(store.client(), store.table()).await? {
        tracing::info!(table = store.table(), "created table from template.yaml");
    }
    let host = env_or("GATEWAY_HOST", "127.0.0.1");
    let http_addr: SocketAddr = format!("{host}:{}", env_or("GATEWAY_HTTP_PORT", "3000")).parse()?;
    let ws_addr: SocketAddr = format!("{host}:{}", env_or("GATEWAY_WS_PORT", "3001")).parse()?;
    let timeouts = Timeouts::of(&template);
    // The browser client (built by `make dev` into web/dist) and its dev sign-in.
    let web_root = PathBuf::from(env_or("WEB_ROOT", "web/dist"));
    let web = Web {
        root: web_root.join("index.html").is_file().then_some(web_root),
        ws_port: ws_addr.port(),
        dev_sign_in: DevSigner::from_env(),
    };
    if web.root.is_none() {
        tracing::warn!("no built web client (WEB_ROOT, default web/dist): serving the API only");
    }
    let http = serve_http_with_web(
        app.clone(),
        &template,
        timeouts.clone(),
        tokio::net::TcpListener::bind(http_addr).await?,
        web,
    )?;
    let ws = serve_websocket(
        app.clone(),
        timeouts.clone(),
        tokio::net::TcpListener::bind(ws_addr).await?,
    )?;
    // EventBridge's part: the template's scheduled functions run at their rates.
    let _schedules = serve_schedules(app.clone(), &template, timeouts.clone())?;
    // Lambda's SQS event source mappings: the fan-out's functions are fed from their queues.
    let _pollers = serve_queues(app, &template, timeouts, sqs, &queues)?;
    tracing::info!(url = %format!("http://{}", http.addr), routes = template.routes.len(), "HTTP API listening");
    tracing::info!(url = %format!("ws://{}", ws.addr), management = %format!("http://{}/@connections", ws.addr), "WebSocket API listening");
    println!("HTTP API: http://{}", http.addr);
    println!("WebSocket API: ws://{}", ws.addr);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
        r = http.task => tracing::error!(result = ?r, "HTTP API task ended"),
        r = ws.task => tracing::error!(result = ?r, "WebSocket API task ended"),
    }
    Ok(())
}
