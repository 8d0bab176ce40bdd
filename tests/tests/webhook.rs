//! `POST /livekit/webhook` over real HTTP: signature checks against the raw body, deduplication by
//! event id, presence flags and `room_finished`. Deliveries are signed here exactly as LiveKit
//! signs them (a JWT from the API key and secret with the body's SHA-256); `media.rs` covers the
//! deliveries of a real livekit-server.

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use e2e::{now, token, Env, Reply, SFU_KEY, SFU_SECRET};
use jsonwebtoken::{encode, EncodingKey, Header};
use livekit_api::access_token::AccessToken;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn body_hash(body: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()))
}

/// LiveKit's `Authorization` for `body`, signed with `secret`.
fn signature(body: &str, secret: &str) -> String {
    AccessToken::with_api_key(SFU_KEY, secret)
        .with_sha256(&body_hash(body))
        .to_jwt()
        .unwrap()
}

async fn deliver(env: &Env, body: &str, authorization: Option<String>) -> Reply {
    let mut req = env
        .client
        .post(format!("{}/livekit/webhook", env.base))
        .header("content-type", "application/webhook+json")
        .body(body.to_string());
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    Reply::from_response(req.send().await.unwrap()).await
}

/// An event as LiveKit writes it (protobuf JSON, camelCase, int64 as a string).
fn event(id: &str, kind: &str, room: &str, identity: Option<&str>, track_source: Option<&str>) -> String {
    let mut e = json!({"id": id, "event": kind, "room": {"name": room}, "createdAt": now().to_string()});
    if let Some(who) = identity {
        e["participant"] = json!({"identity": who, "sid": format!("PA_{who}")});
    }
    if let Some(source) = track_source {
        e["track"] = json!({"sid": "TR_1", "source": source, "type": "AUDIO"});
    }
    e.to_string()
}

async fn ann(env: &Env, id: &str) -> Value {
    env.get(&format!("/live/participants/{id}"), Some(&token("host")))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == "ann")
        .cloned()
        .unwrap()
}

/// A live session of `host` with `ann` joined: its id and SFU room.
async fn live_with_ann(env: &Env) -> (String, String) {
    let started = env.start_session("host", json!({})).await;
    let id = started["id"].as_str().unwrap().to_string();
    let joined = env.post("/live/join", token("ann"), json!({"session_id": id})).await;
    assert_eq!(joined.status, 200);
    (id, started["room_name"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn forged_tampered_expired_and_replayed_webhooks_change_nothing() {
    let env = Env::start().await;
    let (id, room) = live_with_ann(&env).await;

    let joined = event("EV_join", "participant_joined", &room, Some("ann"), None);
    // Forged (another secret), tampered (signature of another body), unsigned, expired.
    let forged = deliver(
        &env,
        &joined,
        Some(signature(&joined, "not-the-secret-not-the-secret!!")),
    )
    .await;
    assert_eq!(
        (forged.status, forged.header("content-type")),
        (401, Some("application/problem+json"))
    );
    let other = event("EV_other", "participant_joined", &room, Some("bob"), None);
    assert_eq!(
        deliver(&env, &joined, Some(signature(&other, SFU_SECRET))).await.status,
        401
    );
    assert_eq!(deliver(&env, &joined, None).await.status, 401);
    let expired = encode(
        &Header::default(),
        &json!({"iss": SFU_KEY, "exp": now() - 600, "nbf": now() - 900, "sha256": body_hash(&joined)}),
        &EncodingKey::from_secret(SFU_SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(deliver(&env, &joined, Some(expired)).await.status, 401);
    assert_eq!(ann(&env, &id).await["connected"], false, "nothing was applied");

    // Genuine: applied once.
    let sig = signature(&joined, SFU_SECRET);
    let ok = deliver(&env, &joined, Some(sig.clone())).await;
    assert_eq!(
        (ok.status, ok.body["duplicate"].clone()),
        (200, json!(false)),
        "{}",
        ok.body
    );
    assert_eq!(ann(&env, &id).await["connected"], true);
    let track = event("EV_mic", "track_published", &room, Some("ann"), Some("MICROPHONE"));
    assert_eq!(
        deliver(&env, &track, Some(signature(&track, SFU_SECRET))).await.status,
        200
    );
    assert_eq!(ann(&env, &id).await["audio_published"], true);
    let left = event("EV_left", "participant_left", &room, Some("ann"), None);
    assert_eq!(
        deliver(&env, &left, Some(signature(&left, SFU_SECRET))).await.status,
        200
    );
    let a = ann(&env, &id).await;
    assert_eq!(
        (a["connected"].clone(), a["audio_published"].clone()),
        (json!(false), json!(false))
    );

    // Replayed: recognised by its id and ignored.
    let replay = deliver(&env, &joined, Some(sig)).await;
    assert_eq!((replay.status, replay.body["duplicate"].clone()), (200, json!(true)));
    assert_eq!(ann(&env, &id).await["connected"], false, "the replay changed nothing");

    // Signed but not an event: 400; a room that is not ours: accepted and ignored.
    let junk = "{\"event\": 5}";
    assert_eq!(deliver(&env, junk, Some(signature(junk, SFU_SECRET))).await.status, 400);
    let foreign = event("EV_foreign", "room_finished", "someone_elses_room", None, None);
    assert_eq!(
        deliver(&env, &foreign, Some(signature(&foreign, SFU_SECRET)))
            .await
            .status,
        200
    );
    assert_eq!(
        env.get(&format!("/live/session/{id}"), None).await.body["status"],
        "live"
    );
}

#[tokio::test]
async fn room_finished_ends_a_live_session_once() {
    let env = Env::start().await;
    let started = env.start_session("host", json!({})).await;
    let (id, room) = (
        started["id"].as_str().unwrap().to_string(),
        started["room_name"].as_str().unwrap().to_string(),
    );
    let mut socket = env.connect("host", &id).await.unwrap();
    let finished = event("EV_fin", "room_finished", &room, None, None);
    let r = deliver(&env, &finished, Some(signature(&finished, SFU_SECRET))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    socket.until("session.ended", |e| e["type"] == "session.ended").await;
    let s = env.get(&format!("/live/session/{id}"), None).await.body;
    assert_eq!(s["status"], "ended");
    // A later room_finished (another id) for the ended session changes nothing.
    let later = event("EV_fin2", "room_finished", &room, None, None);
    assert_eq!(
        deliver(&env, &later, Some(signature(&later, SFU_SECRET))).await.status,
        200
    );
    assert_eq!(
        env.get(&format!("/live/session/{id}"), None).await.body["ended_at"],
        s["ended_at"]
    );
}

#[tokio::test]
async fn a_barred_user_reaching_the_sfu_is_removed_and_failures_are_retried() {
    // No SFU here: the removal fails, so the delivery is answered 5xx and its id released.
    let env = Env::start().await;
    let (id, room) = live_with_ann(&env).await;
    let kick = env
        .post(
            "/live/manage-participant",
            token("host"),
            json!({"session_id": id, "user_id": "ann", "action": "kick"}),
        )
        .await;
    assert_eq!(
        kick.status, 502,
        "the kick stands though the SFU was not told: {}",
        kick.body
    );

    let joined = event("EV_barred", "participant_joined", &room, Some("ann"), None);
    let first = deliver(&env, &joined, Some(signature(&joined, SFU_SECRET))).await;
    assert_eq!(first.status, 502, "the removal was attempted: {}", first.body);
    let retry = deliver(&env, &joined, Some(signature(&joined, SFU_SECRET))).await;
    assert_eq!(
        retry.status, 502,
        "LiveKit's retry is taken, not dropped as a duplicate"
    );
    let list = env
        .get(&format!("/live/participants/{id}"), Some(&token("host")))
        .await
        .body;
    assert!(list.as_array().unwrap().iter().all(|p| p["user_id"] != "ann"));
}

/// A delivery whose processing died mid-way (its invocation stopped at the deadline, the claim
/// neither completed nor released) is taken over once that deadline passed; while an invocation
/// still holds it, a delivery is answered 503 (LiveKit retries), never 200; once applied, a
/// delivery is a duplicate.
#[tokio::test]
async fn a_delivery_that_died_mid_way_is_taken_over() {
    let env = Env::start().await;
    let (id, room) = live_with_ann(&env).await;
    let joined = event("EV_died", "participant_joined", &room, Some("ann"), None);
    let claim = |lease_ms: i64| {
        let env = &env;
        async move {
            // The claim an invocation leaves: taken until its deadline, never completed.
            env.app
                .fx
                .store
                .client()
                .put_item()
                .table_name(env.app.fx.store.table())
                .item("pk", AttributeValue::S("WEBHOOK#EV_died".into()))
                .item("sk", AttributeValue::S("WEBHOOK".into()))
                .item("lease_until", AttributeValue::N(lease_ms.to_string()))
                .item("expires_at", AttributeValue::N((now() + 86_400).to_string()))
                .send()
                .await
                .unwrap();
        }
    };
    claim(now() * 1000 + 60_000).await;
    let running = deliver(&env, &joined, Some(signature(&joined, SFU_SECRET))).await;
    assert_eq!(running.status, 503, "held by a running invocation: {}", running.body);
    assert!(running.header("retry-after").is_some());
    assert_eq!(ann(&env, &id).await["connected"], false, "nothing applied");

    claim(now() * 1000 - 1).await;
    let taken = deliver(&env, &joined, Some(signature(&joined, SFU_SECRET))).await;
    assert_eq!(
        (taken.status, taken.body["duplicate"].clone()),
        (200, json!(false)),
        "{}",
        taken.body
    );
    assert_eq!(
        ann(&env, &id).await["connected"],
        true,
        "applied by the delivery that took it over"
    );
    let again = deliver(&env, &joined, Some(signature(&joined, SFU_SECRET))).await;
    assert_eq!((again.status, again.body["duplicate"].clone()), (200, json!(true)));
}
