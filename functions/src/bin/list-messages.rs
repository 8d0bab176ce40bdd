//! Lambda entry point: `Endpoint::ListMessages` (routes in template.yaml).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_http(shared::api::Endpoint::ListMessages).await
}
