//! The bench's target for cold starts: the least a function can do to make the first DynamoDB
//! call an endpoint makes — load the SDK's configuration from the environment, build the client
//! once, and per event read one item (`GetItem` of `KEY_PK` / `KEY_SK` in `TABLE_NAME`: the
//! session read that opens most endpoints). What the artifact costs beyond this is its own.
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let (table, pk, sk) = (var("TABLE_NAME")?, var("KEY_PK")?, var("KEY_SK")?);
    run(service_fn(|_: LambdaEvent<Value>| {
        let get = db
            .get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::S(sk.clone()));
        async move {
            let item = get.send().await?.item;
            Ok::<_, Error>(json!({ "found": item.is_some() }))
        }
    }))
    .await
}
