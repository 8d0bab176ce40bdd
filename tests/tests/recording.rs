//! Recording end to end. The local livekit-server has no egress worker: there the endpoint must
//! answer `503 recording-unavailable` and keep nothing claimed. What we ask of Egress is checked
//! against a fake LiveKit server that decodes and records each Twirp request (the protobuf
//! messages LiveKit's API documents) and answers as Egress does.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine;
use e2e::{test_config, token, Env, Reply};
use livekit_protocol as proto;
use prost::Message;
use serde_json::{json, Value};

/// What the fake LiveKit server received: (Twirp method, decoded request as JSON, the bearer
/// token's claims).
type Calls = Arc<Mutex<Vec<(String, Value, Value)>>>;

fn claims(headers: &HeaderMap) -> Value {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let payload = token.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

async fn twirp(
    State(calls): State<Calls>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let (seen, answer): (Value, Vec<u8>) = match method.as_str() {
        "livekit.Egress/StartRoomCompositeEgress" => {
            let r = proto::RoomCompositeEgressRequest::decode(body).expect("a RoomCompositeEgressRequest");
            let file = r.file_outputs.first().cloned().unwrap_or_default();
            let s3 = match file.output {
                Some(proto::encoded_file_output::Output::S3(s3)) => json!({"bucket": s3.bucket, "region": s3.region}),
                _ => Value::Null,
            };
            let seen = json!({
                "room_name": r.room_name, "layout": r.layout, "audio_only": r.audio_only,
                "files": r.file_outputs.len(), "file_type": file.file_type, "filepath": file.filepath, "s3": s3,
                "streams": r.stream_outputs.len(), "segments": r.segment_outputs.len(),
            });
            let info = proto::EgressInfo {
                egress_id: "EG_fake1".into(),
                room_name: r.room_name,
                status: proto::EgressStatus::EgressStarting as i32,
                ..Default::default()
            };
            (seen, info.encode_to_vec())
        }
        "livekit.Egress/StopEgress" => {
            let r = proto::StopEgressRequest::decode(body).expect("a StopEgressRequest");
            let info = proto::EgressInfo {
                egress_id: r.egress_id.clone(),
                status: proto::EgressStatus::EgressEnding as i32,
                ..Default::default()
            };
            (json!({"egress_id": r.egress_id}), info.encode_to_vec())
        }
        // The session's end deletes its room.
        "livekit.RoomService/DeleteRoom" => (Value::Null, proto::DeleteRoomResponse::default().encode_to_vec()),
        other => panic!("unexpected call {other}"),
    };
    calls.lock().unwrap().push((method, seen, claims(&headers)));
    (StatusCode::OK, [("content-type", "application/protobuf")], answer)
}

/// A fake LiveKit server's URL, and what it receives.
async fn fake_livekit() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let app = axum::Router::new()
        .route("/twirp/{*method}", axum::routing::post(twirp))
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

async fn record(env: &Env, by: &str, id: &str, action: &str) -> Reply {
    env.post(&format!("/live/recording/{id}"), token(by), json!({"action": action}))
        .await
}

async fn recording_seen_by(env: &Env, user: &str, id: &str) -> Value {
    let r = env.get(&format!("/live/session/{id}"), Some(&token(user))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["recording"].clone()
}

#[tokio::test]
async fn the_egress_request_is_the_documented_one_and_everyone_is_told() {
    let (url, calls) = fake_livekit().await;
    let env = Env::start_with(test_config("trendke-live", &url)).await;
    let id = env.live_with_viewers("host", json!({}), &["v1"]).await;
    let room = env.get(&format!("/live/session/{id}"), None).await.body["room_name"].clone();
    let mut viewer = env.connect("v1", &id).await.unwrap();

    assert_eq!(record(&env, "v1", &id, "start").await.status, 403, "only the host");
    assert_eq!(record(&env, "host", &id, "stop").await.body["code"], "not-recording");
    let bad = env
        .post(
            &format!("/live/recording/{id}"),
            token("host"),
            json!({"action": "pause"}),
        )
        .await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("action")));

    let started = record(&env, "host", &id, "start").await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(
        (started.body["status"].as_str(), started.body["egress_id"].as_str()),
        (Some("active"), Some("EG_fake1"))
    );
    assert_eq!(started.body["location"], "recordings/{room_name}-{time}.mp4");
    {
        let calls = calls.lock().unwrap();
        assert_eq!(calls.len(), 1, "{calls:?}");
        let (method, seen, claims) = &calls[0];
        assert_eq!(method, "livekit.Egress/StartRoomCompositeEgress");
        assert_eq!(
            seen,
            &json!({
                "room_name": room, "layout": "grid", "audio_only": false, "files": 1,
                "file_type": proto::EncodedFileType::Mp4 as i32, "filepath": "recordings/{room_name}-{time}.mp4",
                "s3": null, "streams": 0, "segments": 0,
            })
        );
        assert_eq!(
            claims["video"]["roomRecord"], true,
            "Egress needs the roomRecord grant: {claims}"
        );
        assert_eq!(claims["iss"], "devkey", "signed with our API key");
    }
    let e = viewer
        .until("recording.started", |e| e["type"] == "recording.started")
        .await;
    assert_eq!(e["data"]["status"], "active");
    let public = recording_seen_by(&env, "v1", &id).await;
    assert_eq!(public["status"], "active");
    assert!(
        public.get("location").is_none() && public.get("egress_id").is_none(),
        "{public}"
    );
    assert_eq!(recording_seen_by(&env, "host", &id).await["egress_id"], "EG_fake1");

    let twice = record(&env, "host", &id, "start").await;
    assert_eq!(
        (twice.status, twice.body["code"].as_str()),
        (409, Some("already-recording"))
    );
    assert_eq!(calls.lock().unwrap().len(), 1, "Egress not asked twice");

    let stopped = record(&env, "host", &id, "stop").await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    assert_eq!(stopped.body["status"], "stopped");
    assert!(stopped.body["stopped_at"].is_string());
    let (method, seen, _) = calls.lock().unwrap()[1].clone();
    assert_eq!(
        (method.as_str(), seen),
        ("livekit.Egress/StopEgress", json!({"egress_id": "EG_fake1"}))
    );
    viewer
        .until("recording.stopped", |e| e["type"] == "recording.stopped")
        .await;
    assert_eq!(record(&env, "host", &id, "stop").await.body["code"], "not-recording");

    // Again, then the session's end stops it with its room.
    assert_eq!(record(&env, "host", &id, "start").await.status, 200);
    let ended = env.post(&format!("/live/end/{id}"), token("host"), json!({})).await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_eq!(recording_seen_by(&env, "host", &id).await["status"], "stopped");
    let actions: Vec<Value> = env.get(&format!("/live/audit/{id}"), Some(&token("host"))).await.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(
        actions,
        [
            json!("recording.start"),
            json!("recording.stop"),
            json!("recording.start")
        ]
    );
}

#[tokio::test]
async fn recordings_upload_to_the_configured_bucket() {
    let (url, calls) = fake_livekit().await;
    let mut config = test_config("trendke-live", &url);
    config.sfu.recording.s3_bucket = Some("trendke-recordings".into());
    config.sfu.recording.s3_region = Some("eu-west-1".into());
    config.sfu.recording.filepath = "live/{room_name}.mp4".into();
    let env = Env::start_with(config).await;
    let id = env.live_with_viewers("host", json!({}), &[]).await;
    let started = record(&env, "host", &id, "start").await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.body["location"], "s3://trendke-recordings/live/{room_name}.mp4");
    let seen = calls.lock().unwrap()[0].1.clone();
    assert_eq!(
        (seen["filepath"].clone(), seen["s3"].clone()),
        (
            json!("live/{room_name}.mp4"),
            json!({"bucket": "trendke-recordings", "region": "eu-west-1"})
        )
    );
}

#[tokio::test]
async fn without_an_egress_worker_recording_is_503_and_nothing_is_claimed() {
    let (sfu, env) = Env::with_sfu().await;
    let id = env.live_with_viewers("host", json!({}), &[]).await;
    // Nobody in the media room yet: there is nothing to record.
    let empty = record(&env, "host", &id, "start").await;
    assert_eq!(
        (empty.status, empty.body["code"].as_str()),
        (409, Some("room-empty")),
        "{}",
        empty.body
    );
    // The room exists once its host connects; created here as the SFU does then.
    let room = env.get(&format!("/live/session/{id}"), None).await.body["room_name"]
        .as_str()
        .unwrap()
        .to_string();
    let rooms = livekit_api::services::room::RoomClient::with_api_key(&sfu.url, e2e::SFU_KEY, e2e::SFU_SECRET);
    rooms
        .create_room(&room, Default::default())
        .await
        .expect("room created");
    for _ in 0..2 {
        let r = record(&env, "host", &id, "start").await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.body["code"], "recording-unavailable", "{}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains("egress"), "{}", r.body);
    }
    assert!(
        recording_seen_by(&env, "host", &id).await.is_null(),
        "the claim was given up"
    );
}
