//! Lambda entry point: `Endpoint::ListGuestRequests` (routes in template.yaml).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_http(shared::api::Endpoint::ListGuestRequests).await
}
