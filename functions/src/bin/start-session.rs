//! Lambda entry point: `Endpoint::StartSession` (routes in template.yaml).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_http(shared::api::Endpoint::StartSession).await
}
