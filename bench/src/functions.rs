//! Function figures: every function of the one artifact under `aws-lambda-rie` as Lambda runs it
//! (a fresh execution environment per cold start), invoked with its file in `events/` against the
//! fixture those files are written for (moto, a livekit-server with the dev keys); beside two
//! functions built the same way in the same run (`bench/src/bin/`): an empty `lambda_runtime`
//! function, and a minimal one that makes the same first DynamoDB call with `aws-sdk-dynamodb`.
//! Also each bootstrap's zipped size, each function's peak memory, and its DynamoDB calls per
//! invocation as the SDK interceptor counted them (`served` log lines), beside the minimum each
//! endpoint needs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::rie::{event, function_env, seed, sibling_binary, Function, Log, ARTIFACT, DEV_LIVEKIT, SESSION};
use e2e::{repo_root, sid, test_config, venv_python, LiveKit, Moto};
use serde_json::Value;
use shared::adapter::endpoints::Endpoint;
use shared::domain::keys;

use crate::stats::percentile;

/// Rounds: fresh execution environments per function (cold starts); warm invocations in each.
pub const ENVIRONMENTS: usize = 7;
pub const WARM: usize = 5;

pub const EMPTY: &str = "empty_function";
pub const MINIMAL: &str = "minimal_dynamodb_function";

/// What one function measured.
pub struct Figures {
    pub name: String,
    /// Median and worst of the cold invocations (process start → first response).
    pub cold: (Duration, Duration),
    /// Median of the warm invocations.
    pub warm: Duration,
    /// The first cold invocation's status, and the other invocations' when they differ (the
    /// event replayed on the state the first left: a second start is refused, …).
    pub statuses: Vec<u16>,
    /// Peak resident memory of the bootstrap, KiB (largest over the environments).
    pub peak_kib: Option<u64>,
    /// DynamoDB calls of the first invocation, and of a warm one on the state it left.
    pub calls: Option<(u32, u32)>,
    /// The first invocation's calls, in order.
    pub ops: String,
}

pub struct Report {
    pub functions: Vec<Figures>,
    pub empty: Figures,
    pub minimal: Figures,
    /// (binary, bytes, zipped bytes)
    pub sizes: Vec<(&'static str, u64, u64)>,
}

/// The fewest DynamoDB calls each endpoint needs for the event it is measured with, and why: what
/// it must read and write that no single call could do for it. Calls beyond these are our cost.
pub const MINIMUM: &[(&str, u32, &str)] = &[
    ("start-session", 1, "one transaction: the session, its host and the host's one-live lock"),
    ("join-session", 2, "the session (what the answer shows), then one transaction: the participant, the viewer counter under the cap and the presence rate window (liveness and bans are its conditions); the analytics counts (the user's and the minute's `ADD`) are extra by design"),
    ("leave-session", 2, "the participant (its role says which counter falls), then one transaction: presence, counter, rate window; the `left` system message, the coalesced `viewer_count` push and the analytics counts are extra by design"),
    ("list-active", 1, "one Query of the live index, were the listing's fields projected on it; the index keeps keys only (small index writes), hence a BatchGetItem of the page"),
    ("get-session", 1, "one BatchGetItem: the session, its reaction shards and the caller"),
    ("list-participants", 2, "the session and the caller in one BatchGetItem (404, barred), then one Query"),
    ("send-message", 2, "the session, the sender and their chat timeout in one BatchGetItem (chat on, slow mode, blocked words; present, not barred, not timed out), then one transaction: the message and the rate window; the minute's chat count is extra by design"),
    ("pin-message", 3, "the session and the caller in one BatchGetItem (a present moderator), the message by its key, the pin on the session; the audit entry is extra by design"),
    ("unpin-message", 2, "the session and the caller in one BatchGetItem, then the pin's removal; the audit entry is extra by design"),
    ("chat-timeout", 2, "the session, the caller and the target in one BatchGetItem, then the timeout's put; the audit entry is extra by design"),
    ("delete-message", 3, "the session and the caller in one BatchGetItem, the message by its key, its delete; the audit entry (a moderator's delete) and the unpin (the pinned message) are extra by design"),
    ("list-messages", 2, "the session and the caller in one BatchGetItem, then one Query"),
    ("list-events", 2, "the session and the caller in one BatchGetItem, then one Query of the events after the sequence"),
    ("react", 2, "the rate window's update on the participant (presence is its condition), the `ADD` on a shard; the coalesced totals push (claim the window, read the totals) is extra by design"),
    ("go-live", 2, "the session (the host's, backstage), then one conditional update that lists it live; the system message and the audit entry are extra by design"),
    ("record", 3, "the session (the host's), the claim of its recording, then the recording's start recorded after Egress answers; the audit entry is extra by design (the event replayed locally is refused: no egress worker)"),
    ("session-analytics", 3, "the session (the host's), its counters' partition in one Query, its reaction shards in one BatchGetItem (beside the Query); the top gifters' Query once anyone has given"),
    ("host-analytics", 1, "one Query of the caller's sessions in the range; each session found adds its own reads (the event's range holds none)"),
    ("update-settings", 2, "the session (the host's), then one conditional update of its settings; the audit entry and the system message are extra by design"),
    ("request-guest", 2, "the session and the requester in one BatchGetItem, then one transaction: the request, its one-pending lock, the rate window; the analytics mark of who asked is extra by design"),
    ("cancel-guest-request", 2, "the request, then one transaction: its status and its lock"),
    ("respond-guest-request", 2, "the request and the responder in one BatchGetItem, then one transaction: request, role, guest counter under the cap; the system message and the pushes' reads are extra by design"),
    ("list-guest-requests", 2, "the caller's role, then one Query of the pending requests"),
    ("invite-guest", 2, "the inviter and the invitee in one BatchGetItem, then one transaction: the invitation and its lock"),
    ("respond-invite", 2, "the invitation, then one transaction: invitation, role, counter"),
    ("manage-participant", 2, "the actor and the target in one BatchGetItem, then one transaction: the change and its audit entry"),
    ("audit-trail", 2, "the session (the host's only), then one Query of the audit entries"),
    ("livekit-webhook", 2, "the participant, then one transaction: the webhook's dedup record and the presence change"),
    ("fallback", 0, "no route: nothing to read"),
    ("ws-connect", 2, "the session and the caller in one BatchGetItem (present, not barred), then one transaction: the connection and its socket index"),
    ("ws-default", 3, "the connection (whose socket), the session and the sender in one BatchGetItem, then one transaction: the message and the rate window; the minute's chat count is extra by design"),
    ("ws-disconnect", 1, "one delete of the connection (a socket index, if any, in the same transaction)"),
    ("end-session", 2, "the session (the host's?), then one transaction: status, counters, the host's lock; the participants' sweep is extra by design"),
    ("end-abandoned", 2, "one Query of the host-gone index and one of the backstage index; each session it ends is one more transaction"),
    ("sequence-events", 3, "the session's stream head, the numbered events in one BatchWriteItem, the head moved on a condition"),
    ("publish-aggregates", 1, "the aggregate's state in one read (the session's counters, or its reaction shards in one BatchGetItem); publishing is SQS"),
    ("fan-out", 2, "the shard's connections (one index Query) and the window's events (one Query); posts are not DynamoDB calls"),
    ("list-gifts", 0, "the catalogue is configuration: nothing to read"),
    ("get-wallet", 1, "one GetItem of the wallet"),
    ("list-ledger", 1, "one Query of the wallet's ledger"),
    ("credit-wallet", 1, "one transaction: the reference's record, the balance and the ledger entry; the Idempotency-Key's record (take, keep) is extra by design"),
    ("send-gift", 2, "the session and the sender in one BatchGetItem (gifts on, present, the host to pay), then one transaction: key record, revenue, presence checks, debit, credit, both ledger entries, the ranking; the combo, the chat line and the key's record are extra by design"),
    ("send-tip", 2, "as send-gift, without the combo"),
    ("buy-ticket", 1, "one transaction: key record, ticket, revenue under the session's conditions, debit, credit, both ledger entries (the event replayed is refused: the session is free)"),
    ("set-access-list", 2, "the session (the host's, subscribers only), then the list's Query; the writes that differ follow"),
];

/// The artifact's functions, the end of the session last (the events build on each other).
fn order() -> Vec<Endpoint> {
    let mut order: Vec<Endpoint> = Endpoint::ALL.to_vec();
    order.sort_by_key(|e| *e == Endpoint::EndSession);
    order
}

/// Runs every function, then the two baselines, once per round (interleaved, so that the
/// machine's drift touches them alike), each in a fresh environment: one cold invocation, then
/// `WARM` warm ones. Every round starts from the freshly seeded fixture, and every cold invocation
/// comes before the replays, so each takes the event's real path.
pub async fn measure() -> Report {
    let moto = Moto::start().await;
    let sfu = LiveKit::start_with_keys(None, DEV_LIVEKIT.0, DEV_LIVEKIT.1).await;
    let db = moto.client().await;
    let template = local_gateway::Template::load(&repo_root().join("template.yaml")).expect("template.yaml");
    let app = shared::adapter::app::App::new(test_config(TABLE, &sfu.url), db.clone(), None, None);
    // INFO: the artifact's `served` line per invocation carries its DynamoDB calls.
    let env = function_env(&moto, &sfu, "INFO");
    // The baselines answer any event; the session's key is the minimal one's one read.
    let key = keys::session(&sid(SESSION));
    let mut base = env.clone();
    base.extend([("KEY_PK", key.pk), ("KEY_SK", key.sk)]);

    let artifact = sibling_binary(ARTIFACT);
    let get = event(Endpoint::GetSession.name());
    let mut functions: Vec<Runs> = order().into_iter().map(|e| Runs::named(e.name())).collect();
    let (mut empty, mut minimal) = (Runs::named(EMPTY), Runs::named(MINIMAL));
    for round in 0..ENVIRONMENTS {
        eprintln!("bench: functions, round {} of {ENVIRONMENTS}", round + 1);
        let _ = db.delete_table().table_name(TABLE).send().await;
        template.table.ensure(&db, TABLE).await.expect("table");
        seed(&app).await;
        // Every function's cold invocation first, in the events' order: each takes its event's
        // real path, as `tests/tests/events.rs` checks it. The warm replays come after.
        let mut warming = Vec::new();
        for runs in &mut functions {
            warming.push(runs.cold(&artifact, &event(&runs.name), &env).await);
        }
        let empty_warming = empty.cold(&sibling_binary(EMPTY), &get, &base).await;
        let minimal_warming = minimal.cold(&sibling_binary(MINIMAL), &get, &base).await;
        for (runs, w) in functions.iter_mut().zip(warming) {
            runs.warm(w).await;
        }
        empty.warm(empty_warming).await;
        minimal.warm(minimal_warming).await;
    }
    let sizes = [ARTIFACT, EMPTY, MINIMAL]
        .into_iter()
        .map(|b| {
            let path = sibling_binary(b);
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            (b, bytes, zipped(&path))
        })
        .collect();
    Report {
        functions: functions.into_iter().map(Runs::figures).collect(),
        empty: empty.figures(),
        minimal: minimal.figures(),
        sizes,
    }
}

const TABLE: &str = "trendke-live";

/// A function's environment between its cold invocation and its warm ones.
struct Warming {
    function: Function,
    log: PathBuf,
    event: Value,
}

/// What one function's environments measured so far.
#[derive(Default)]
struct Runs {
    name: String,
    colds: Vec<Duration>,
    warms: Vec<Duration>,
    statuses: Vec<u16>,
    peak: Option<u64>,
    calls: Option<(u32, u32)>,
    ops: String,
}

impl Runs {
    fn named(name: &str) -> Runs {
        Runs {
            name: name.into(),
            ..Runs::default()
        }
    }

    /// A fresh environment and its cold invocation.
    async fn cold(&mut self, bootstrap: &Path, event: &Value, env: &[(&str, String)]) -> Warming {
        let log = std::env::temp_dir().join(format!("bench-rie-{}.log", uuid::Uuid::new_v4()));
        let function = Function::start(bootstrap, &self.name, env, Log::to_file(&log)).await;
        let (emulated, result, cold) = function.invoke(event).await;
        assert_eq!(emulated, 200, "{}: the invocation failed: {result}", self.name);
        self.colds.push(cold);
        self.statuses.push(status_of(&result));
        Warming {
            function,
            log,
            event: event.clone(),
        }
    }

    /// `WARM` more invocations in the environment, which then stops.
    async fn warm(&mut self, w: Warming) {
        for _ in 0..WARM {
            let (_, result, warm) = w.function.invoke(&w.event).await;
            self.warms.push(warm);
            self.statuses.push(status_of(&result));
        }
        self.peak = self.peak.max(w.function.peak_memory_kib());
        w.function.stop().await;
        let served = served_calls(&std::fs::read_to_string(&w.log).unwrap_or_default());
        let _ = std::fs::remove_file(&w.log);
        if self.calls.is_none() {
            self.calls = served.first().zip(served.get(1)).map(|(a, b)| (a.0, b.0));
            self.ops = served.first().map(|s| s.1.clone()).unwrap_or_default();
        }
    }

    fn figures(mut self) -> Figures {
        // The order they first appeared in: the real path's first, then the replays'.
        let mut seen = Vec::new();
        self.statuses.retain(|s| {
            let new = !seen.contains(s);
            seen.push(*s);
            new
        });
        Figures {
            name: self.name,
            cold: (
                percentile(&self.colds, 50.0).unwrap_or_default(),
                percentile(&self.colds, 100.0).unwrap_or_default(),
            ),
            warm: percentile(&self.warms, 50.0).unwrap_or_default(),
            statuses: self.statuses,
            peak_kib: self.peak,
            calls: self.calls,
            ops: self.ops,
        }
    }
}

/// An HTTP or WebSocket result's `statusCode`; 200 for the other events' answers.
fn status_of(result: &Value) -> u16 {
    result["statusCode"].as_u64().map_or(200, |s| s as u16)
}

/// The `dynamodb_calls` and `dynamodb_ops` of each `served` line of a function's JSON log, in
/// order.
fn served_calls(log: &str) -> Vec<(u32, String)> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            let fields = if v["fields"].is_object() { &v["fields"] } else { &v };
            let calls = (fields["message"] == "served").then(|| fields["dynamodb_calls"].as_u64())??;
            Some((
                calls as u32,
                fields["dynamodb_ops"].as_str().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// `GetItem,GetItem,TransactWriteItems` as `GetItem ×2, TransactWriteItems`.
fn compact(ops: &str) -> String {
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for op in ops.split(',').filter(|o| !o.is_empty()) {
        match runs.last_mut() {
            Some((last, n)) if *last == op => *n += 1,
            _ => runs.push((op, 1)),
        }
    }
    let runs: Vec<String> = runs
        .into_iter()
        .map(|(op, n)| if n > 1 { format!("{op} ×{n}") } else { op.to_string() })
        .collect();
    runs.join(", ")
}

/// The bootstrap's size as Lambda receives it: alone in a deflated zip, named `bootstrap`.
fn zipped(path: &Path) -> u64 {
    let out: PathBuf = std::env::temp_dir().join(format!("bench-{}.zip", uuid::Uuid::new_v4()));
    let script = "import sys, zipfile\n\
                  with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[1], 'bootstrap')";
    let ok = std::process::Command::new(venv_python())
        .args(["-c", script])
        .arg(path)
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    let size = if ok {
        std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0)
    } else {
        0
    };
    let _ = std::fs::remove_file(&out);
    size
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

impl Report {
    /// Cold start ÷ the minimal DynamoDB function's, for the endpoint whose work is the minimal
    /// function's one call (`get-session`: one read, nothing else). Other functions' cold starts
    /// add their own calls (and SFU calls) to the same start-up: the table shows each.
    pub fn cold_ratio(&self) -> f64 {
        let base = self.minimal.cold.0.as_secs_f64().max(1e-9);
        self.functions
            .iter()
            .find(|f| f.name == Endpoint::GetSession.name())
            .map_or(f64::NAN, |f| f.cold.0.as_secs_f64() / base)
    }

    pub fn markdown(&self, s: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            s,
            "## Functions (`aws-lambda-rie`, release build of this commit)
"
        );
        let _ = writeln!(
            s,
            "Each function is the one artifact (`trendke-live`) with its `Handler`, run under the runtime \
             interface emulator the SAM CLI ships. {ENVIRONMENTS} rounds, each from the freshly seeded fixture \
             (moto and a livekit-server on loopback), run every function with its file in `events/` and then \
             the baselines, each in a fresh execution environment: cold = the first invocation (the \
             emulator starts the bootstrap then: process start → Runtime API → first response; every \
             function's comes first, in the events' order, so each takes its event's real path), warm = \
             {WARM} more in the same environment afterwards, replaying the event on the state the round \
             left (a second `start-session` is refused: the statuses after the first are listed). The baselines, \
             built the same way in the same run: an empty `lambda_runtime` function, and a minimal one \
             that loads the SDK's configuration and makes one `GetItem` (the session read that \
             `get-session` needs). DynamoDB calls are counted per invocation by an SDK interceptor \
             (`shared/src/adapter/calls.rs`) and read from each invocation's `served` log \
             line; the minimum is what the endpoint cannot do with fewer (`bench/src/functions.rs`).\n"
        );
        let _ = writeln!(
            s,
            "| function | cold p50 / max ms | warm p50 ms | cold ÷ minimal | peak MiB | statuses | DynamoDB calls (first; replay) | the first's calls | minimum | why the minimum |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
        let base = self.minimal.cold.0.as_secs_f64().max(1e-9);
        for f in self.functions.iter().chain([&self.empty, &self.minimal]) {
            let minimum = MINIMUM.iter().find(|m| m.0 == f.name);
            let statuses: Vec<String> = f.statuses.iter().map(u16::to_string).collect();
            let _ = writeln!(
                s,
                "| {} | {} / {} | {} | {:.2} | {} | {} | {} | {} | {} | {} |",
                f.name,
                ms(f.cold.0),
                ms(f.cold.1),
                ms(f.warm),
                f.cold.0.as_secs_f64() / base,
                mib(f.peak_kib),
                statuses.join(", "),
                f.calls.map_or("–".into(), |(a, b)| format!("{a}; {b}")),
                compact(&f.ops),
                minimum.map_or("–".into(), |m| m.1.to_string()),
                minimum.map_or("", |m| m.2),
            );
        }
        let _ = writeln!(s, "\n| bootstrap | size | zipped (deflate, as Lambda receives it) |");
        let _ = writeln!(s, "|---|---|---|");
        for (name, bytes, zipped) in &self.sizes {
            let _ = writeln!(
                s,
                "| {name} | {:.1} MiB | {:.1} MiB |",
                *bytes as f64 / 1048576.0,
                *zipped as f64 / 1048576.0
            );
        }
        let _ = writeln!(
            s,
            "\nThe deployed build is `cargo lambda` for arm64 (`template.yaml`); sizes here are this machine's \
             x86_64 release build with the workspace's release profile.\n"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_its_minimum_and_every_minimum_an_endpoint() {
        for e in Endpoint::ALL {
            assert!(MINIMUM.iter().any(|m| m.0 == e.name()), "no minimum for {}", e.name());
        }
        for m in MINIMUM {
            assert!(
                Endpoint::from_name(m.0).is_some(),
                "a minimum for {}, which no endpoint is",
                m.0
            );
        }
    }

    #[test]
    fn served_lines_are_read_from_lambda_json_logs() {
        let log = r#"{"level":"INFO","fields":{"message":"served","endpoint":"get-session","status":200,"dynamodb_calls":3}}
not json
{"level":"INFO","fields":{"message":"session started"}}
{"level":"INFO","fields":{"message":"served","dynamodb_calls":0}}"#;
        let calls: Vec<u32> = served_calls(log).into_iter().map(|c| c.0).collect();
        assert_eq!(calls, vec![3, 0]);
        assert_eq!(
            compact("GetItem,GetItem,TransactWriteItems,GetItem"),
            "GetItem ×2, TransactWriteItems, GetItem"
        );
    }
}
