//! Lambda entry point: `Endpoint::EndSession` (routes in template.yaml).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_http(shared::api::Endpoint::EndSession).await
}
