//! Lambda functions run as Lambda runs them: a bootstrap under the runtime interface emulator that
//! the SAM CLI package ships (`aws-lambda-rie`, no Docker), with its `Handler` in `_HANDLER`. The
//! emulator starts the bootstrap at the first invocation (a cold start) and keeps it for the next
//! ones (warm), one invocation at a time, as a Lambda execution environment does.
//!
//! Also the fixture the files in `events/` are written against ([`seed`]): one session and its
//! people (see `shared/src/adapter/docs/examples.rs`), against moto and a livekit-server with the
//! local dev keys. `tests/tests/events.rs` replays every file; `make bench` times them.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::adapter::app::App;
use shared::domain::ids::{stamped_millis, RequestId};
use shared::domain::time::Timestamp;
use shared::domain::{
    ChatMessage, GuestRequest, MessageType, Participant, RequestOrigin, RequestStatus, RequestType, Role, User,
};
use shared::effects::store::requests::Opening;
use shared::rules::sessions::StartRequest;
use tokio::process::{Child, Command};

use crate::{free_port, repo_root, sid, uid, LiveKit, Moto};

pub const SESSION: &str = "5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30";
pub const R_BOB: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2b";
pub const R_FRANK: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2c";
pub const I_HANK: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2d";
/// bob's seeded chat message (a stamped id: the examples' `MESSAGE`).
pub const MESSAGE: &str = "01a21419-b9c0-7000-8000-000000000001";
pub const CONNECTION: &str = "Xk3Lq0AbIAMCJpQ=";
/// The local dev secrets the event files are signed with (`make dev`'s defaults).
pub const DEV_JWT_SECRET: &str = "dev-secret-change-me";
pub const DEV_LIVEKIT: (&str, &str) = ("devkey", "secret");
/// The one artifact's binary (`functions/`, `[[bin]]`).
pub const ARTIFACT: &str = "trendke-live";

/// The emulator from the SAM CLI package in the project's .venv (installed by `make test`).
pub fn emulator() -> PathBuf {
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

/// A binary built beside the running one (a test's or the bench's: same target directory and
/// profile), e.g. [`ARTIFACT`].
pub fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    // Test binaries live one level down, in deps/.
    let dir = if dir.ends_with("deps") {
        dir.parent().unwrap()
    } else {
        dir
    };
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} missing: build it first (make test and make bench do)",
        bin.display()
    );
    bin
}

/// Where the emulator's (and the function's) output goes.
pub struct Log {
    pub stdout: Stdio,
    pub stderr: Stdio,
}

impl Log {
    pub fn quiet() -> Log {
        Log {
            stdout: Stdio::null(),
            stderr: Stdio::null(),
        }
    }

    /// Both streams into `path`.
    pub fn to_file(path: &Path) -> Log {
        let file = std::fs::File::create(path).unwrap();
        Log {
            stdout: Stdio::from(file.try_clone().unwrap()),
            stderr: Stdio::from(file),
        }
    }
}

/// One execution environment: the emulator, ready for invocations.
pub struct Function {
    emulator: Child,
    url: String,
    http: reqwest::Client,
}

impl Function {
    /// Starts the emulator for `bootstrap` as function `handler` with exactly `env` (plus the
    /// variables Lambda sets); the bootstrap itself starts at the first invocation.
    pub async fn start(bootstrap: &Path, handler: &str, env: &[(&str, String)], log: Log) -> Function {
        let (port, api_port) = (free_port(), free_port());
        let mut cmd = Command::new(emulator());
        cmd.arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{api_port}"))
            .arg(bootstrap)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("AWS_LAMBDA_FUNCTION_NAME", handler)
            .env("_HANDLER", handler)
            .stdout(log.stdout)
            .stderr(log.stderr)
            .kill_on_drop(true);
        let emulator = cmd.spawn().expect("start aws-lambda-rie");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{handler}: the emulator did not listen");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Function {
            emulator,
            url: format!("http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"),
            http: reqwest::Client::new(),
        }
    }

    /// Invokes the function once: the emulator's status and the function's result (for HTTP and
    /// WebSocket events: `statusCode`, `headers`, `body`) or the emulator's error, and how long
    /// the invocation took from request to response.
    pub async fn invoke(&self, event: &Value) -> (u16, Value, Duration) {
        let t0 = Instant::now();
        let resp = self.http.post(&self.url).json(event).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let took = t0.elapsed();
        let result = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, result, took)
    }

    /// The bootstrap's peak resident memory so far (`VmHWM`, KiB): the emulator's child process.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        let pid = self.emulator.id()?;
        // The emulator is multi-threaded: its child is listed by whichever thread started it.
        let child = std::fs::read_dir(format!("/proc/{pid}/task"))
            .ok()?
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
            .find_map(|children| children.split_whitespace().next().map(str::to_string))?;
        let status = std::fs::read_to_string(format!("/proc/{child}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Stops the emulator and the bootstrap (before a log is read, so that everything they wrote
    /// is in it).
    pub async fn stop(mut self) {
        let _ = self.emulator.kill().await;
    }
}

/// The event file `events/{name}.json`.
pub fn event(name: &str) -> Value {
    let path = repo_root().join(format!("events/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (UPDATE_DOCS=1 cargo test -p e2e --test drift writes it)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// A function's environment against `moto` and `sfu` with the dev secrets the events are signed
/// with; `log_level` as `AWS_LAMBDA_LOG_LEVEL`.
pub fn function_env(moto: &Moto, sfu: &LiveKit, log_level: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TABLE_NAME", "trendke-live".to_string()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("JWT_SECRET", DEV_JWT_SECRET.into()),
        ("LIVEKIT_URL", sfu.url.clone()),
        ("LIVEKIT_API_KEY", DEV_LIVEKIT.0.into()),
        ("LIVEKIT_API_SECRET", DEV_LIVEKIT.1.into()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("AWS_LAMBDA_LOG_LEVEL", log_level.into()),
    ]
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

fn user(id: &str) -> User {
    User {
        id: uid(id),
        username: id.into(),
        avatar_url: None,
    }
}

/// The state the events expect: alice's live session, six viewers, bob's and frank's pending
/// requests, and an invitation for hank.
pub async fn seed(app: &App) {
    let start: StartRequest = serde_json::from_value(json!({"title": "Alice live"})).unwrap();
    let now = Timestamp::now();
    let (session, host) = shared::rules::sessions::opening(sid(SESSION), &user("alice"), &start, now).unwrap();
    let store = &app.fx.store;
    store.create_session(&session, &host).await.unwrap();
    for viewer in ["bob", "dan", "erin", "frank", "gina", "hank"] {
        let p = Participant::entering(sid(SESSION), &user(viewer), Role::Viewer, now);
        store.join(&p).await.unwrap();
    }
    let said = ChatMessage {
        id: MESSAGE.into(),
        session_id: sid(SESSION),
        user_id: Some(uid("bob")),
        username: Some("bob".into()),
        avatar_url: None,
        message: "Hello everyone!".into(),
        message_type: MessageType::Text,
        metadata: None,
        created_at: Timestamp::from_millis(stamped_millis(MESSAGE).unwrap()),
    };
    store.put_chat_message(&said, None).await.unwrap();
    for r in [
        request(R_BOB, "bob", RequestOrigin::Request),
        request(R_FRANK, "frank", RequestOrigin::Request),
        request(I_HANK, "hank", RequestOrigin::Invitation),
    ] {
        let by_viewer = r.origin == RequestOrigin::Request;
        let opening = if by_viewer {
            Opening::Request
        } else {
            Opening::Invitation
        };
        store.create_guest_request(&r, opening).await.unwrap();
    }
}
