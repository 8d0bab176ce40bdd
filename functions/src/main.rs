//! The one Lambda artifact. Every function of `template.yaml` runs this binary; Lambda passes the
//! function's `Handler` in `_HANDLER`, and the endpoint it names in the endpoint table
//! (`shared/src/adapter/endpoints.rs`) is served for every invocation.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::adapter::lambda::run().await
}
