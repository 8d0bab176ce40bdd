//! Secrets at cold start: the HS256 and LiveKit secrets come from SSM Parameter Store SecureString
//! parameters named in the environment (moto serves SSM as well as DynamoDB).

use std::collections::HashMap;

use e2e::Moto;
use shared::domain::config::JwtKeySource;

async fn sdk(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}

#[tokio::test]
async fn secrets_are_read_from_secure_string_parameters() {
    let moto = Moto::start().await;
    let sdk = sdk(&moto).await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    for (name, value) in [
        ("/trendke/jwt", "jwt-from-ssm"),
        ("/trendke/livekit", "livekit-from-ssm"),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }
    let vars = HashMap::from([
        ("JWT_SECRET_PARAMETER", "/trendke/jwt"),
        ("LIVEKIT_API_SECRET_PARAMETER", "/trendke/livekit"),
        ("LIVEKIT_API_KEY", "key"),
        ("LIVEKIT_URL", "wss://sfu.example"),
    ]);
    let config = shared::adapter::app::load_config(&sdk, |k| vars.get(k).map(|v| v.to_string()))
        .await
        .unwrap();
    assert!(matches!(config.jwt.keys, JwtKeySource::Secret(ref s) if s == "jwt-from-ssm"));
    assert_eq!(config.sfu.api_secret, "livekit-from-ssm");

    // A parameter that does not exist stops the cold start with its name.
    let missing = HashMap::from([("JWT_SECRET_PARAMETER", "/trendke/nope")]);
    let err = shared::adapter::app::load_config(&sdk, |k| missing.get(k).map(|v| v.to_string()))
        .await
        .unwrap_err();
    assert!(err.0.contains("/trendke/nope"), "{err}");
}
