//! Every file in `events/` replayed through the Lambda Runtime API: the one Lambda artifact
//! (`functions/`, built for this machine by `make test`) runs under the runtime interface emulator
//! that the SAM CLI package ships (`aws-lambda-rie`, no Docker), once per function with its
//! `Handler` in `_HANDLER`, exactly as Lambda runs it; the event is posted to the emulator's
//! invocation endpoint and the status and body the function returns are checked. The list of
//! events is the endpoint table's: a new endpoint's event is replayed without a line here.
//!
//! The events name one session and its people (see `shared/src/adapter/docs/examples.rs`); the
//! table is seeded with them first, against moto and a real livekit-server with the local dev keys.

use e2e::rie::{
    event, function_env, seed, sibling_binary, Function, Log, ARTIFACT, CONNECTION, DEV_JWT_SECRET, DEV_LIVEKIT,
    I_HANK, MESSAGE, R_BOB, R_FRANK, SESSION,
};
use e2e::{repo_root, sid, test_config, uid, LiveKit, Moto};
use serde_json::{json, Value};
use shared::adapter::endpoints::Endpoint;
use shared::adapter::table::Route;
use shared::domain::page::PageRequest;

/// Runs the artifact as function `name` (its `Handler`) under the emulator and invokes it once
/// with `event`; returns the function's result (for HTTP and WebSocket events: `statusCode`,
/// `headers`, `body`).
async fn invoke(name: &str, event: &Value, env: &[(&str, String)]) -> Value {
    let (status, result) = invoke_logged(name, event, env, Log::quiet()).await;
    assert_eq!(status, 200, "{name}: the invocation itself failed: {result}");
    result
}

/// [`invoke`], answering the emulator's status and what the emulator and the function wrote
/// (their logs), however the invocation went.
async fn invoke_logging(name: &str, event: &Value, env: &[(&str, String)]) -> (u16, String) {
    let log = std::env::temp_dir().join(format!("rie-{}.log", uuid::Uuid::new_v4()));
    let (status, _) = invoke_logged(name, event, env, Log::to_file(&log)).await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (status, text)
}

/// The emulator's status, and the function's result (or the emulator's error).
async fn invoke_logged(name: &str, event: &Value, env: &[(&str, String)], log: Log) -> (u16, Value) {
    let function = Function::start(&sibling_binary(ARTIFACT), name, env, log).await;
    let (status, result, _) = function.invoke(event).await;
    function.stop().await;
    (status, result)
}

fn body(result: &Value) -> Value {
    result["body"]
        .as_str()
        .filter(|b| !b.is_empty())
        .map(|b| serde_json::from_str(b).unwrap())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn every_event_file_runs_through_its_bootstrap() {
    let moto = Moto::start().await;
    let sfu = LiveKit::start_with_keys(None, DEV_LIVEKIT.0, DEV_LIVEKIT.1).await;
    let db = moto.client().await;
    let template = local_gateway::Template::load(&repo_root().join("template.yaml")).unwrap();
    template.table.ensure(&db, "trendke-live").await.unwrap();
    let app = shared::adapter::app::App::new(test_config("trendke-live", &sfu.url), db, None, None);
    seed(&app).await;
    let store = &app.fx.store;

    let env = function_env(&moto, &sfu, "WARN");
    // Event file → expected status, and what its body must show. Each event builds on the state
    // the ones before it left, in the table's order, but the session ends last. An endpoint
    // without a check here is held to its table's success status.
    type Check = fn(&Value) -> bool;
    let checks: [(&str, u16, Check); 34] = [
        ("start-session", 201, |b| {
            b["host_username"] == "carol" && b["access_token"].is_string()
        }),
        ("join-session", 200, |b| b["role"] == "viewer" && b["joined"] == false),
        ("leave-session", 200, |b| b["left"] == true),
        ("list-active", 200, |b| {
            b.as_array().is_some_and(|a| a.iter().any(|s| s["id"] == SESSION))
        }),
        ("get-session", 200, |b| b["id"] == SESSION && b["viewer_count"] == 5),
        ("list-participants", 200, |b| {
            b.as_array().is_some_and(|a| a.iter().any(|p| p["user_id"] == "bob"))
        }),
        ("send-message", 201, |b| {
            b["message"] == "Hello everyone!" && b["user_id"] == "bob"
        }),
        ("list-messages", 200, |b| {
            b["messages"][0]["message"] == "Hello everyone!"
        }),
        ("pin-message", 200, |b| {
            b["message"]["id"] == MESSAGE && b["pinned_by"] == "alice" && b["expires_at"].is_string()
        }),
        ("unpin-message", 200, |b| b["message_id"] == MESSAGE),
        ("chat-timeout", 200, |b| b["user_id"] == "dan" && b["until"].is_string()),
        ("delete-message", 200, |b| {
            b["message_id"] == MESSAGE && b["deleted_by"] == "alice"
        }),
        ("react", 200, |b| b.is_object()),
        ("get-wallet", 200, |b| b["user_id"] == "bob" && b["balance"] == 0),
        ("credit-wallet", 200, |b| b["user_id"] == "bob" && b["credited"] == true),
        ("send-gift", 200, |b| {
            b["coins"] == 3 && b["recipient_id"] == "alice" && b["split"]["platform"] == 1
        }),
        ("send-tip", 200, |b| b["coins"] == 50 && b["message"] == "Great set!"),
        ("buy-ticket", 409, |b| b["code"] == "no-ticket-needed"),
        ("set-access-list", 409, |b| b["code"] == "not-subscribers-only"),
        // Nobody is in the example session's media room (no egress worker here either).
        ("record", 409, |b| b["code"] == "room-empty"),
        ("request-guest", 201, |b| {
            b["user_id"] == "erin" && b["status"] == "pending"
        }),
        ("cancel-guest-request", 200, |b| {
            b["id"] == R_FRANK && b["status"] == "cancelled"
        }),
        ("respond-guest-request", 200, |b| {
            b["id"] == R_BOB && b["status"] == "approved"
        }),
        ("list-guest-requests", 200, |b| {
            b["requests"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["user_id"] == "erin"))
        }),
        ("invite-guest", 201, |b| {
            b["user_id"] == "gina" && b["origin"] == "invitation"
        }),
        ("respond-invite", 200, |b| {
            b["id"] == I_HANK && b["status"] == "rejected"
        }),
        ("manage-participant", 200, |b| {
            b["participant"]["user_id"] == "bob" && b["participant"]["audio_enabled"] == false
        }),
        ("audit-trail", 200, |b| {
            b["entries"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["action"] == "mute_audio"))
        }),
        ("livekit-webhook", 200, |b| {
            b["event"] == "participant_joined" && b["duplicate"] == false
        }),
        ("fallback", 404, |b| {
            b["type"] == "https://trendke.live/problems/route-not-found"
        }),
        ("ws-connect", 200, |_| true),
        ("ws-default", 200, |_| true),
        ("ws-disconnect", 200, |_| true),
        ("end-session", 200, |b| {
            b["session_id"] == SESSION && b["duration_seconds"].is_i64()
        }),
    ];
    for (name, _, _) in &checks {
        assert!(
            Endpoint::from_name(name).is_some(),
            "a check for `{name}`, which no endpoint is"
        );
    }
    let mut order: Vec<Endpoint> = Endpoint::ALL.to_vec();
    order.sort_by_key(|e| *e == Endpoint::EndSession);
    for e in order {
        let name = e.name();
        let (status, check) = checks
            .iter()
            .find(|c| c.0 == name)
            .map_or((e.success(), None), |c| (c.1, Some(c.2)));
        let result = invoke(name, &event(name), &env).await;
        if let Route::Queue(_) = e.route() {
            // A queue's function answers with the messages to deliver again: none.
            assert_eq!(result, json!({"batchItemFailures": []}), "{name}");
            match e {
                Endpoint::SequenceEvents => {
                    let stream = store.stream(&sid(SESSION)).await.unwrap();
                    assert_eq!((stream.next_seq, stream.window_from), (2, 1), "{name}: numbered");
                }
                Endpoint::FanOut => {
                    let done = store.checkpoint(&sid(SESSION), 1, 0).await.unwrap();
                    assert!(done.done, "{name}: the window was delivered");
                }
                _ => {}
            }
            continue;
        }
        if let Route::Schedule(_) = e.route() {
            // A scheduled function answers EventBridge with its value, without an HTTP envelope.
            assert!(
                result["checked"].is_u64() && result["ended"].is_array(),
                "{name}: {result}"
            );
            continue;
        }
        let b = body(&result);
        assert_eq!(result["statusCode"], status, "{name}: {result}");
        if status >= 400 {
            assert_eq!(result["headers"]["content-type"], "application/problem+json", "{name}");
        }
        assert!(check.is_none_or(|check| check(&b)), "{name}: unexpected body {b}");
        // The socket routes answer with an empty body; what they did is in the table.
        match name {
            "ws-connect" => assert!(store.connection(CONNECTION).await.unwrap().is_some()),
            "ws-default" => {
                let page = PageRequest {
                    limit: 5,
                    cursor: None,
                    cursor_param: "before",
                };
                let page = store.chat_page(&sid(SESSION), &page, None).await.unwrap().items;
                assert!(page.iter().any(|m| m.message == "Hi from the socket"), "{page:?}");
            }
            "ws-disconnect" => assert!(store.connection(CONNECTION).await.unwrap().is_none()),
            "livekit-webhook" => {
                let bob = store.participant(&sid(SESSION), &uid("bob")).await.unwrap().unwrap();
                assert!(bob.connected, "the webhook's presence was recorded");
            }
            _ => {}
        }
    }
}

/// A cold start refuses a configuration that would fail open (the audit's hole 9): JWKS tokens
/// without a required issuer and audience, an SFU without its key, secret or URL. The function
/// does not serve; its log says which variable is missing.
#[tokio::test]
async fn a_cold_start_refuses_configuration_that_fails_open() {
    let base = [
        ("TABLE_NAME", "trendke-live".to_string()),
        ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("LIVEKIT_URL", "ws://127.0.0.1:9".into()),
        ("LIVEKIT_API_KEY", DEV_LIVEKIT.0.into()),
        ("LIVEKIT_API_SECRET", DEV_LIVEKIT.1.into()),
    ];
    /// Variables added, variables removed, the variable the log must name.
    type Case = (
        &'static [(&'static str, &'static str)],
        &'static [&'static str],
        &'static str,
    );
    let cases: [Case; 2] = [
        (&[("JWT_JWKS_URL", "http://127.0.0.1:9/jwks.json")], &[], "JWT_ISSUER"),
        (
            &[("JWT_SECRET", DEV_JWT_SECRET)],
            &["LIVEKIT_API_SECRET"],
            "LIVEKIT_API_SECRET",
        ),
    ];
    for (add, remove, named) in cases {
        let mut env: Vec<(&str, String)> = base.iter().filter(|(k, _)| !remove.contains(k)).cloned().collect();
        env.extend(add.iter().map(|(k, v)| (*k, v.to_string())));
        let (status, log) = invoke_logging("list-active", &event("list-active"), &env).await;
        assert_ne!(status, 200, "the function served");
        assert!(log.contains(named), "the cold start's log does not name {named}: {log}");
    }
}
