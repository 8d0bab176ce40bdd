//! Test harness: real processes on loopback, owned by each test. [`Moto`] is a `moto_server`
//! (DynamoDB emulator) on a free port, killed when dropped (and when the test process dies);
//! [`Env`] adds the local gateway's HTTP API in front of the same handlers the Lambdas run;
//! [`LiveKit`] is a real livekit-server and [`media::MediaClient`] a real LiveKit client.

pub mod media;
pub mod rie;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use local_gateway::{serve_http, HttpServer, Template, Timeouts};
use reqwest::Method;
use serde_json::{json, Value};
use shared::adapter::app::App;
use shared::domain::config::{Config, JwtConfig, JwtKeySource, SfuConfig};
use shared::domain::ids::{SessionId, UserId};
use shared::domain::time::Timestamp;
use tokio::process::{Child, Command};

pub const JWT_SECRET: &str = "e2e-test-secret";
pub const SFU_KEY: &str = "devkey";
pub const SFU_SECRET: &str = "e2e-sfu-secret-of-at-least-32-bytes!";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A session id from the text an answer carried.
pub fn sid(id: &str) -> SessionId {
    SessionId::parse(id).unwrap_or_else(|e| panic!("session id {id:?}: {e}"))
}

/// A user id.
pub fn uid(id: &str) -> UserId {
    UserId::parse(id).unwrap_or_else(|e| panic!("user id {id:?}: {e}"))
}

/// A port that was free a moment ago, for a child process to bind; never one this process handed
/// out before, so two servers started side by side (tests run in parallel) are not given the same
/// port while neither has bound it yet.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap();
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

/// Spawns a process owned by the test: killed when its handle drops, and when the test process
/// dies (`PR_SET_PDEATHSIG`), so no server outlives its test. Output is discarded unless `cmd`
/// says otherwise.
fn spawn_owned_cmd(cmd: &mut Command) -> Child {
    cmd.kill_on_drop(true);
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"))
}

fn spawn_owned(program: &std::path::Path, args: &[&str]) -> Child {
    spawn_owned_cmd(
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// The project's .venv Python (installed by `make test`), with which the test tools run.
pub fn venv_python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run `make test` (it installs the Python test tools)",
        python.display()
    );
    python
}

/// A running DynamoDB emulator.
pub struct Moto {
    _child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts the emulator (`infra/scripts/emulator`, moto with atomic requests) with
    /// the project's .venv Python (installed by `make test`).
    pub async fn start() -> Moto {
        let python = venv_python();
        let script = repo_root().join("infra/scripts/emulator");
        for _ in 0..5 {
            let port = free_port();
            let port_arg = port.to_string();
            let script_arg = script.to_string_lossy();
            let mut child = spawn_owned(&python, &[&script_arg, "--host", "127.0.0.1", "--port", &port_arg]);
            let endpoint = format!("http://127.0.0.1:{port}");
            // moto's dashboard names it: whatever else may have taken the port does not.
            if wait_ready(&format!("{endpoint}/moto-api/"), &mut child, |body| {
                body.contains("moto")
            })
            .await
            {
                return Moto {
                    _child: child,
                    endpoint,
                };
            }
        }
        panic!("the DynamoDB emulator did not start");
    }

    /// The emulator's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self._child.id()
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .test_credentials()
            .load()
            .await
    }

    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk().await)
    }

    /// An SQS client of the same emulator.
    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk().await)
    }
}

/// Polls until `url` answers HTTP with a body that `is_ours` recognises (readiness, not a timed
/// wait); false if the child exited — as it does when another process took its port first, whose
/// answers `is_ours` then refuses.
async fn wait_ready(endpoint: &str, child: &mut Child, is_ours: impl Fn(&str) -> bool) -> bool {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(resp) = http.get(endpoint).send().await {
            let ok = resp.status().is_success();
            if ok && resp.text().await.is_ok_and(|body| is_ours(&body)) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

pub fn test_config(table: &str, sfu_url: &str) -> Config {
    Config {
        table_name: table.into(),
        jwt: JwtConfig {
            keys: JwtKeySource::Secret(JWT_SECRET.into()),
            issuer: None,
            audience: None,
            leeway_seconds: 0,
            jwks_refetch_cooldown: Duration::from_secs(30),
            service_role: JwtConfig::default_service_role(),
        },
        sfu: SfuConfig {
            url: sfu_url.into(),
            api_key: SFU_KEY.into(),
            api_secret: SFU_SECRET.into(),
            token_ttl: SfuConfig::DEFAULT_TOKEN_TTL,
            ice_servers: json!([]),
            recording: Default::default(),
        },
        websocket_endpoint: None,
        queues: Default::default(),
        tunables: Default::default(),
    }
}

/// A whole local system: moto, the table from template.yaml, the gateway's HTTP API.
pub struct Env {
    pub moto: Moto,
    /// The fan-out's queues live in an emulator of their own, as SQS is a service of its own: one
    /// moto process serves one request at a time, and the queues' polls would otherwise wait
    /// behind the table's requests (and the table's behind theirs).
    pub sqs_moto: Moto,
    pub app: Arc<App>,
    pub http: HttpServer,
    pub ws: HttpServer,
    pub base: String,
    /// `ws://` URL of the WebSocket API.
    pub ws_url: String,
    /// The WebSocket API's state (its connections, and the faults a test injects).
    pub ws_state: Arc<local_gateway::websocket_api::WsState>,
    /// The SQS pollers feeding the fan-out's functions.
    pub pollers: Vec<tokio::task::JoinHandle<()>>,
    /// The fan-out's queues, by logical id.
    pub queues: local_gateway::Queues,
    /// Waits for the fan-out's queues to drain ([`Socket::sync`]).
    pub drain: Drain,
    pub client: reqwest::Client,
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(test_config("trendke-live", "http://127.0.0.1:9")).await
    }

    pub async fn start_with(config: Config) -> Env {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(config, listener, None).await
    }

    /// [`Env::start_with`], every function's `Timeout` set to `timeout` (what happens at a
    /// Lambda deadline, without waiting for the template's).
    pub async fn start_with_timeout(config: Config, timeout: Duration) -> Env {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(config, listener, Some(timeout)).await
    }

    /// A whole system with a real livekit-server whose webhooks reach this gateway.
    pub async fn with_sfu() -> (LiveKit, Env) {
        Self::with_sfu_configured(|_| {}).await
    }

    /// [`Env::with_sfu`], with the test configuration changed by `configure` first.
    pub async fn with_sfu_configured(configure: impl FnOnce(&mut Config)) -> (LiveKit, Env) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook = format!("http://{}/livekit/webhook", listener.local_addr().unwrap());
        let sfu = LiveKit::start(Some(&hook)).await;
        let mut config = test_config("trendke-live", &sfu.url);
        configure(&mut config);
        let env = Self::start_on(config, listener, None).await;
        (sfu, env)
    }

    /// `listener`: where the HTTP API is served; `timeout`: every function's, instead of the
    /// template's.
    async fn start_on(config: Config, listener: tokio::net::TcpListener, timeout: Option<Duration>) -> Env {
        // Logs of the handlers show with a failing test's output (RUST_LOG to change the level).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
        let (moto, sqs_moto) = tokio::join!(Moto::start(), Moto::start());
        let db = moto.client().await;
        let template = Template::load(&repo_root().join("template.yaml")).unwrap();
        template.table.ensure(&db, &config.table_name).await.unwrap();
        // The functions push through the gateway's @connections API, as they would through AWS's.
        let ws_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_addr = ws_listener.local_addr().unwrap();
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .test_credentials()
            .load()
            .await;
        let push = shared::adapter::app::management_client(&sdk, &format!("http://{ws_addr}"));
        // The fan-out's queues, fed to their functions as Lambda would.
        let sqs = sqs_moto.sqs().await;
        let queues = local_gateway::ensure_queues(&sqs, &template).await.unwrap();
        let mut config = config;
        config.queues = queues.urls();
        // Nothing enforces IAM locally: the app refuses what each function's policy would.
        let waking = local_gateway::queues::waking(&sqs);
        let app = Arc::new(App::new(config, db, Some(push), Some(waking)).enforcing_policies());
        let timeouts = match timeout {
            Some(t) => Timeouts::of(&template).all(t),
            None => Timeouts::of(&template),
        };
        let http = serve_http(app.clone(), &template, timeouts.clone(), listener).unwrap();
        let (ws, ws_state) =
            local_gateway::serve_websocket_with_state(app.clone(), timeouts.clone(), ws_listener).unwrap();
        let drain = Drain {
            sqs: sqs.clone(),
            urls: queues.0.values().cloned().collect(),
        };
        let pollers = local_gateway::serve_queues(app.clone(), &template, timeouts, sqs, &queues).unwrap();
        let base = format!("http://{}", http.addr);
        Env {
            moto,
            sqs_moto,
            app,
            http,
            ws,
            base,
            ws_url: format!("ws://{ws_addr}"),
            ws_state,
            pollers,
            queues,
            drain,
            client: reqwest::Client::new(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.http.addr
    }

    /// Feeds the fan-out's functions from their queues again (after a test aborted `pollers`).
    pub fn restart_pollers(&mut self) {
        let template = Template::load(&repo_root().join("template.yaml")).unwrap();
        let sqs = self.drain.sqs.clone();
        self.pollers =
            local_gateway::serve_queues(self.app.clone(), &template, Timeouts::of(&template), sqs, &self.queues)
                .unwrap();
    }

    /// Invokes a scheduled function as EventBridge would at `at` (the test's clock); its answer,
    /// or `None` when it failed.
    pub async fn fire(&self, endpoint: shared::adapter::endpoints::Endpoint, at: &Timestamp) -> Option<Value> {
        let template = Template::load(&repo_root().join("template.yaml")).unwrap();
        local_gateway::schedules::fire(&self.app, &Timeouts::of(&template), endpoint, at).await
    }

    /// Sends a request; returns status, headers and the JSON body (Null when empty).
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        Reply::from_response(req.send().await.expect("request")).await
    }

    /// A `POST` with an `Idempotency-Key` (and a JSON body, if any).
    pub async fn post_keyed(&self, path: &str, token: impl AsRef<str>, body: Option<Value>, key: &str) -> Reply {
        let mut req = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(token.as_ref())
            .header("idempotency-key", key);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        Reply::from_response(req.send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, token: impl AsRef<str>, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token.as_ref()), Some(body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    /// The text messages of session `id`'s chat history as `reader` reads it (newest first).
    pub async fn chat_texts(&self, id: &str, reader: &str) -> Vec<String> {
        let r = self.get(&format!("/live/messages/{id}"), Some(&token(reader))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["message_type"] == "text")
            .map(|m| m["message"].as_str().unwrap().to_string())
            .collect()
    }

    /// `POST /live/send-message` of `text` by `user` in session `id`.
    pub async fn send_message(&self, user: &str, id: &str, text: &str) -> Reply {
        self.post(
            "/live/send-message",
            token(user),
            json!({"session_id": id, "message": text}),
        )
        .await
    }

    /// A live session of `host` with `settings`, and `viewers` joined (all at once); its id.
    pub async fn live_with_viewers(&self, host: &str, settings: Value, viewers: &[&str]) -> String {
        let id = self.start_session(host, settings).await["id"]
            .as_str()
            .expect("session id")
            .to_string();
        let joins = viewers
            .iter()
            .map(|v| self.post("/live/join", token(v), json!({"session_id": id})));
        for r in futures::future::join_all(joins).await {
            assert_eq!(r.status, 200, "{}", r.body);
        }
        id
    }

    /// Every connection of a session (all fan-out buckets).
    pub async fn connections(&self, session_id: &str) -> Vec<shared::effects::store::ConnectionRef> {
        self.app
            .fx
            .store
            .shard_connections(&sid(session_id), 0, shared::domain::fanout::BUCKETS - 1)
            .await
            .expect("connections")
    }

    /// Starts a session as `host` with the given settings over HTTP; returns the start response.
    pub async fn start_session(&self, host: &str, settings: Value) -> Value {
        let mut body = json!({"title": format!("{host}'s live"), "session_type": "camera"});
        body.as_object_mut()
            .unwrap()
            .extend(settings.as_object().cloned().unwrap_or_default());
        let r = self.post("/live/start", &token(host), body).await;
        assert_eq!(r.status, 201, "start: {}", r.body);
        r.body
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn from_response(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, headers, body }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a [`Gate`] does with the connections it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Passage {
    /// Held open, never read or written: the client waits for an answer (a hung dependency).
    Hold,
    /// Closed at once, unanswered (a dependency that is down).
    Drop,
    /// Passed through to the upstream (a dependency that works).
    Open,
}

/// A dependency's network path under the test's control: a TCP listener in front of `upstream`
/// (or of nothing) that holds, drops or passes each connection as the test sets it; held
/// connections move on when the passage changes. Point a client at `url`; [`Gate::accepted`]
/// waits until a client has connected.
pub struct Gate {
    pub url: String,
    passage: tokio::sync::watch::Sender<Passage>,
    accepted: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Gate {
    /// A gate in front of `upstream` (`host:port`; `None`: nothing behind it, never `Open`).
    pub async fn start(upstream: Option<String>, passage: Passage) -> Gate {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (passage, watching) = tokio::sync::watch::channel(passage);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let _ = tx.send(());
                let (mut watching, upstream) = (watching.clone(), upstream.clone());
                tokio::spawn(async move {
                    let open = watching.wait_for(|p| *p != Passage::Hold).await.map(|p| *p);
                    if let (Ok(Passage::Open), Some(upstream)) = (open, upstream) {
                        if let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut socket, &mut up).await;
                        }
                    }
                });
            }
        });
        Gate {
            url,
            passage,
            accepted: tokio::sync::Mutex::new(rx),
            task,
        }
    }

    /// A hung dependency: accepts connections and never answers.
    pub async fn silent() -> Gate {
        Self::start(None, Passage::Hold).await
    }

    /// From now on (and for the connections held so far), `passage`.
    pub fn set(&self, passage: Passage) {
        self.passage.send_replace(passage);
    }

    /// Waits for the next connection.
    pub async fn accepted(&self) {
        self.accepted.lock().await.recv().await.expect("the listener runs");
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// A user JWT signed with the test secret, valid for an hour.
pub fn token(user: &str) -> String {
    sign(
        json!({"sub": user, "exp": now() + 3600, "username": format!("{user}-name")}),
        JWT_SECRET,
    )
}

pub fn sign(claims: Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A real livekit-server (`--dev`, loopback only, free ports), killed when dropped.
pub struct LiveKit {
    _child: Child,
    pub url: String,
}

impl LiveKit {
    /// Starts the livekit-server that `infra/scripts/livekit.sh install` provides (`make test`
    /// installs it first), with this harness's API key and secret; `webhook`: where it posts its
    /// webhooks (signed with the same key).
    pub async fn start(webhook: Option<&str>) -> LiveKit {
        Self::start_with_keys(webhook, SFU_KEY, SFU_SECRET).await
    }

    /// `host:port` of its API.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("ws://").to_string()
    }

    /// As [`LiveKit::start`], with another API key and secret (`--dev` accepts short ones).
    pub async fn start_with_keys(webhook: Option<&str>, key: &str, secret: &str) -> LiveKit {
        let out = std::process::Command::new("bash")
            .arg(repo_root().join("infra/scripts/livekit.sh"))
            .arg("install")
            .output()
            .expect("run livekit.sh install");
        assert!(
            out.status.success(),
            "livekit-server unavailable: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = String::from_utf8(out.stdout).unwrap().trim().to_string();
        for _ in 0..5 {
            let (port, tcp, udp) = (free_port(), free_port(), free_port());
            let mut config = format!(
                "port: {port}\nrtc:\n  tcp_port: {tcp}\n  udp_port: {udp}\n  use_external_ip: false\n  stun_servers: []\nkeys:\n  {key}: {secret}\n"
            );
            if let Some(url) = webhook {
                config.push_str(&format!("webhook:\n  api_key: {key}\n  urls:\n    - {url}\n"));
            }
            let args = [
                "--dev",
                "--bind",
                "127.0.0.1",
                "--node-ip",
                "127.0.0.1",
                "--config-body",
                &config,
            ];
            let mut child = spawn_owned(std::path::Path::new(&bin), &args);
            let http = format!("http://127.0.0.1:{port}");
            // livekit-server's health check answers exactly "OK".
            if wait_ready(&format!("{http}/"), &mut child, |body| body.trim() == "OK").await {
                return LiveKit {
                    _child: child,
                    url: format!("ws://127.0.0.1:{port}"),
                };
            }
        }
        panic!("livekit-server did not start");
    }
}

/// A WebSocket client of the local gateway's WebSocket API.
pub struct Socket {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    /// Every event received so far, in order (the events of each frame, and replies).
    pub received: Vec<Value>,
    /// Every frame of events received so far (`{"type": "events", "from", "to", "events"}`).
    pub frames: Vec<Value>,
    /// Events of a frame not yet returned by `next_event`.
    pending: std::collections::VecDeque<Value>,
    drain: Drain,
}

/// The fan-out's queues: drained when every message published so far has been handled.
#[derive(Clone)]
pub struct Drain {
    sqs: aws_sdk_sqs::Client,
    urls: Vec<String>,
}

impl Drain {
    /// Waits until no queue holds a message, visible, in flight or delayed: every event published
    /// before has been numbered and every delivery of it posted (or given up). Polls the queues'
    /// counts (a condition, not a timed wait); panics after `EVENT_TIMEOUT`.
    pub async fn wait(&self) {
        self.wait_within(EVENT_TIMEOUT).await
    }

    /// [`Drain::wait`], panicking after `limit`. Two passes over every queue in a row must find
    /// them empty: a message moving between queues (a function sends it on, then its source
    /// deletes it) can slip between one pass's checks, never between two passes'.
    pub async fn wait_within(&self, limit: Duration) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let deadline = Instant::now() + limit;
        let mut clean_passes = 0;
        'poll: while Instant::now() < deadline {
            for url in &self.urls {
                let out = self
                    .sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(A::All)
                    .send()
                    .await
                    .unwrap();
                let attrs = out.attributes.unwrap_or_default();
                let held = [
                    A::ApproximateNumberOfMessages,
                    A::ApproximateNumberOfMessagesNotVisible,
                    A::ApproximateNumberOfMessagesDelayed,
                ]
                .iter()
                .any(|a| attrs.get(a).is_some_and(|n| n != "0"));
                if held && !url.contains("DeadLetter") {
                    clean_passes = 0;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue 'poll;
                }
            }
            clean_passes += 1;
            if clean_passes == 2 {
                return;
            }
        }
        panic!("the fan-out's queues did not drain within {limit:?}");
    }

    /// How many messages the dead-letter queues hold: deliveries given up after their receives.
    pub async fn dead_letters(&self) -> usize {
        let mut held = 0;
        for url in self.urls.iter().filter(|u| u.contains("DeadLetter")) {
            let out = self
                .sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                .send()
                .await
                .unwrap();
            held += out
                .attributes
                .unwrap_or_default()
                .values()
                .filter_map(|n| n.parse::<usize>().ok())
                .sum::<usize>();
        }
        held
    }
}

/// How long a test waits for an expected event before failing (an upper bound, not a delay).
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

impl Env {
    /// Connects as `user` to `session_id`; `Err(status)` when the handshake is refused.
    pub async fn connect(&self, user: &str, session_id: &str) -> Result<Socket, u16> {
        self.connect_with_token(&token(user), session_id).await
    }

    pub async fn connect_with_token(&self, token: &str, session_id: &str) -> Result<Socket, u16> {
        let url = format!("{}/?token={token}&session_id={session_id}", self.ws_url);
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(Socket {
                drain: self.drain.clone(),
                stream,
                received: Vec::new(),
                frames: Vec::new(),
                pending: Default::default(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("WebSocket connect failed: {e}"),
        }
    }
}

impl Socket {
    pub async fn send(&mut self, frame: Value) {
        use futures::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }

    /// The next event (of a frame, or a reply), or `None` if the server closed the socket or
    /// nothing came within `EVENT_TIMEOUT`.
    pub async fn next_event(&mut self) -> Option<Value> {
        use futures::StreamExt;
        loop {
            if let Some(v) = self.pending.pop_front() {
                self.received.push(v.clone());
                return Some(v);
            }
            let frame = tokio::time::timeout(EVENT_TIMEOUT, self.stream.next())
                .await
                .ok()??
                .ok()?;
            match frame {
                tokio_tungstenite::tungstenite::Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).expect("frames are JSON");
                    if v["type"] == "events" {
                        self.pending.extend(v["events"].as_array().cloned().unwrap_or_default());
                        self.frames.push(v);
                        continue;
                    }
                    self.received.push(v.clone());
                    return Some(v);
                }
                tokio_tungstenite::tungstenite::Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Reads events until one satisfies `pred`; returns it (panics after `EVENT_TIMEOUT`).
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next_event().await {
                Some(v) if pred(&v) => return v,
                Some(_) => continue,
                None => panic!("no event {what}; received: {:?}", self.received),
            }
        }
    }

    /// A barrier: every event published before arrives before this returns. The fan-out's
    /// queues drain first (every delivery posted), then a ping's pong follows everything posted
    /// to this connection before it (posts to one connection are delivered in order).
    pub async fn sync(&mut self) {
        self.drain.wait().await;
        self.send(json!({"action": "ping"})).await;
        self.until("pong", |v| v["type"] == "pong").await;
    }

    /// Events of one type received so far.
    pub fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.received.iter().filter(|v| v["type"] == kind).collect()
    }

    /// True when the server closes the socket (within `EVENT_TIMEOUT`; events before the close
    /// are read and kept); false when nothing closes it in that time.
    pub async fn closed(&mut self) -> bool {
        use futures::StreamExt;
        loop {
            let Ok(frame) = tokio::time::timeout(EVENT_TIMEOUT, self.stream.next()).await else {
                return false;
            };
            match frame {
                None | Some(Err(_)) | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return true,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                    self.received.push(serde_json::from_str(&t).expect("events are JSON"));
                }
                Some(Ok(_)) => {}
            }
        }
    }
}
