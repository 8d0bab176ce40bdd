//! Lambda entry point: `Endpoint::Fallback`, API Gateway's `ANY /{proxy+}` catch-all (404/405).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_http(shared::api::Endpoint::Fallback).await
}
