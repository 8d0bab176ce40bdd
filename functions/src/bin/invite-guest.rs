//! Lambda entry point: `Endpoint::InviteGuest` (routes in template.yaml).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_http(shared::api::Endpoint::InviteGuest).await
}
