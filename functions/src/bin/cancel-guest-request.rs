//! Lambda entry point: `Endpoint::CancelGuestRequest` (routes in template.yaml).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_http(shared::api::Endpoint::CancelGuestRequest).await
}
