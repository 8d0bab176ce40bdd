//! Lambda entry point: `Endpoint::RequestGuest` (routes in template.yaml).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_http(shared::api::Endpoint::RequestGuest).await
}
