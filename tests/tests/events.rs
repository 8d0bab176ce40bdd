//! Every file in `events/` replayed through the Lambda Runtime API: the one Lambda artifact
//! (`functions/`, built for this machine by `make test`) runs under the runtime interface emulator
//! that the SAM CLI package ships (`aws-lambda-rie`, no Docker), once per function with its
//! `Handler` in `_HANDLER`, exactly as Lambda runs it; the event is posted to the emulator's
//! invocation endpoint and the status and body the function returns are checked. The list of
//! events is the endpoint table's: a new endpoint's event is replayed without a line here.
//!
//! The events name one session and its people (see `shared/src/adapter/docs/examples.rs`); the
//! table is seeded with them first, against moto and a real livekit-server with the local dev keys.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::{free_port, repo_root, sid, test_config, uid, LiveKit, Moto};
use serde_json::{json, Value};
use shared::adapter::endpoints::Endpoint;
use shared::adapter::table::Route;
use shared::domain::ids::RequestId;
use shared::domain::page::PageRequest;
use shared::domain::time::Timestamp;
use shared::domain::{GuestRequest, Participant, RequestOrigin, RequestStatus, RequestType, Role, User};
use shared::rules::sessions::StartRequest;
use tokio::process::Command;

const SESSION: &str = "5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30";
const R_BOB: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2b";
const R_FRANK: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2c";
const I_HANK: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2d";
const CONNECTION: &str = "Xk3Lq0AbIAMCJpQ=";
/// The local dev secrets the event files are signed with (`make dev`'s defaults).
const DEV_JWT_SECRET: &str = "dev-secret-change-me";
const DEV_LIVEKIT: (&str, &str) = ("devkey", "secret");
/// The one artifact's binary (`functions/`, `[[bin]]`).
const ARTIFACT: &str = "trendke-live";

/// The emulator from the SAM CLI package in the project's .venv (installed by `make test`).
fn rie() -> PathBuf {
    let lib = repo_root().join(".venv/lib");
    std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .map(|d| {
            d.unwrap()
                .path()
                .join("site-packages/samcli/local/rapid/aws-lambda-rie-x86_64")
        })
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("aws-lambda-rie not found under {}: run `make test`", lib.display()))
}

/// The artifact `make test` builds (`cargo build -p functions`), beside this test's own binary.
fn bootstrap() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join(ARTIFACT);
    assert!(
        bin.exists(),
        "{} missing: `make test` builds the artifact first (cargo build -p functions)",
        bin.display()
    );
    bin
}

/// Runs the artifact as function `name` (its `Handler`) under the emulator and invokes it once
/// with `event`; returns the function's result (for HTTP and WebSocket events: `statusCode`,
/// `headers`, `body`).
async fn invoke(name: &str, event: &Value, env: &[(&str, String)]) -> Value {
    let quiet = Log {
        stdout: Stdio::null(),
        stderr: Stdio::null(),
    };
    let (status, result) = invoke_logged(name, event, env, quiet).await;
    assert_eq!(status, 200, "{name}: the invocation itself failed: {result}");
    result
}

/// [`invoke`], answering the emulator's status and what the emulator and the function wrote
/// (their logs), however the invocation went.
async fn invoke_logging(name: &str, event: &Value, env: &[(&str, String)]) -> (u16, String) {
    let log = std::env::temp_dir().join(format!("rie-{}.log", uuid::Uuid::new_v4()));
    let file = std::fs::File::create(&log).unwrap();
    let to_file = Log {
        stdout: Stdio::from(file.try_clone().unwrap()),
        stderr: Stdio::from(file),
    };
    let (status, _) = invoke_logged(name, event, env, to_file).await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (status, text)
}

/// Where the emulator's (and the function's) output goes.
struct Log {
    stdout: Stdio,
    stderr: Stdio,
}

/// The emulator's status, and the function's result (or the emulator's error).
async fn invoke_logged(name: &str, event: &Value, env: &[(&str, String)], log: Log) -> (u16, Value) {
    let (port, api_port) = (free_port(), free_port());
    let mut cmd = Command::new(rie());
    cmd.arg("--runtime-interface-emulator-address")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--runtime-api-address")
        .arg(format!("127.0.0.1:{api_port}"))
        .arg(bootstrap())
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("_HANDLER", name)
        .stdout(log.stdout)
        .stderr(log.stderr)
        .kill_on_drop(true);
    let mut emulator = cmd.spawn().expect("start aws-lambda-rie");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{name}: the emulator did not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = format!("http://127.0.0.1:{port}/2015-03-31/functions/function/invocations");
    let resp = reqwest::Client::new().post(url).json(event).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let result = serde_json::from_str(&text).unwrap_or(Value::String(text));
    // Stopped before its log is read, so that everything it wrote is in it.
    let _ = emulator.kill().await;
    (status, result)
}

fn event(name: &str) -> Value {
    let path = repo_root().join(format!("events/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (UPDATE_DOCS=1 cargo test -p e2e --test drift writes it)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn body(result: &Value) -> Value {
    result["body"]
        .as_str()
        .filter(|b| !b.is_empty())
        .map(|b| serde_json::from_str(b).unwrap())
        .unwrap_or(Value::Null)
}

fn request(id: &str, user: &str, origin: RequestOrigin) -> GuestRequest {
    GuestRequest {
        id: RequestId::parse(id).unwrap(),
        session_id: sid(SESSION),
        user_id: uid(user),
        username: user.into(),
        avatar_url: None,
        request_type: RequestType::Guest,
        origin,
        status: RequestStatus::Pending,
        message: None,
        invited_by: (origin == RequestOrigin::Invitation).then(|| uid("alice")),
        expires_at: None,
        created_at: Timestamp::now(),
        responded_at: None,
        responded_by: None,
    }
}

/// The state the events expect: alice's live session, six viewers, bob's and frank's pending
/// requests, and an invitation for hank.
fn user(id: &str) -> User {
    User {
        id: uid(id),
        username: id.into(),
        avatar_url: None,
    }
}

async fn seed(app: &shared::adapter::app::App) {
    let start: StartRequest = serde_json::from_value(json!({"title": "Alice live"})).unwrap();
    let now = Timestamp::now();
    let (session, host) = shared::rules::sessions::opening(sid(SESSION), &user("alice"), &start, now).unwrap();
    let store = &app.fx.store;
    store.create_session(&session, &host).await.unwrap();
    for viewer in ["bob", "dan", "erin", "frank", "gina", "hank"] {
        let p = Participant::entering(sid(SESSION), &user(viewer), Role::Viewer, now);
        store.join(&p).await.unwrap();
    }
    for r in [
        request(R_BOB, "bob", RequestOrigin::Request),
        request(R_FRANK, "frank", RequestOrigin::Request),
        request(I_HANK, "hank", RequestOrigin::Invitation),
    ] {
        let by_viewer = r.origin == RequestOrigin::Request;
        store.create_guest_request(&r, by_viewer).await.unwrap();
    }
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

    let env = [
        ("TABLE_NAME", "trendke-live".to_string()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("JWT_SECRET", DEV_JWT_SECRET.into()),
        ("LIVEKIT_URL", sfu.url.clone()),
        ("LIVEKIT_API_KEY", DEV_LIVEKIT.0.into()),
        ("LIVEKIT_API_SECRET", DEV_LIVEKIT.1.into()),
        ("RUST_LOG", "warn".into()),
    ];
    // Event file → expected status, and what its body must show. Each event builds on the state
    // the ones before it left, in the table's order, but the session ends last. An endpoint
    // without a check here is held to its table's success status.
    type Check = fn(&Value) -> bool;
    let checks: [(&str, u16, Check); 23] = [
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
        ("react", 200, |b| b.is_object()),
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
