//! `make bench`: the audience-scale load driver. For each audience size it starts the local
//! stack in process (moto, the gateway's HTTP and WebSocket APIs, the SQS event sources), brings
//! that many viewers into one session (join + socket each, measuring what each join costs), then
//! sends chat at each rate through `POST /live/send-message` and measures what every client
//! receives. In the same run, the baseline: the inline push of AWS's simple-websockets-chat-app
//! (store the message, query the session's connections, post to each) driven against the same
//! clients. It writes `BENCHMARKS.md`.
//!
//! First, the function figures (`functions.rs`): every function's cold and warm start under
//! `aws-lambda-rie` beside an empty and a minimal DynamoDB function, sizes, memory and DynamoDB
//! calls per invocation.
//!
//! Settings (environment): `BENCH_CLIENTS` (default `1000,5000`; empty: none), `BENCH_RATES`
//! (messages per second, default `1,10,50`), `BENCH_SECONDS` (per rate, default 10),
//! `BENCH_FUNCTIONS` (`0`: skip the function figures), `BENCH_OUT` (default `BENCHMARKS.md`).

mod cpu;
mod functions;
mod report;
mod stats;

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::{test_config, token, Env};
use futures::{stream, SinkExt, StreamExt};
use serde_json::json;
use shared::domain::fanout::BUCKETS;
use shared::domain::ids::{SessionId, UserId};
use shared::domain::rate::RateLimits;
use shared::domain::time::Timestamp;
use shared::domain::{ChatMessage, MessageType};
use shared::effects::push::deadline_within;
use tokio_tungstenite::tungstenite::Message;

use report::{Integrity, JoinCost, Phase, Run};

/// Baseline messages per rate at most: the inline push of one message to 5,000 sockets takes
/// seconds locally, and its point is made by a few.
const BASELINE_MESSAGES: usize = 10;
/// How long the fan-out may take to catch up after a phase before the bench gives up.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);
/// Joins (and sockets) in flight at once while the audience comes in: a steady rate the local
/// emulator (one request at a time) keeps up with.
const JOINS_IN_FLIGHT: usize = 8;
/// Attempts per join before the bench gives up.
const JOIN_ATTEMPTS: usize = 3;

fn list(var: &str, default: &str) -> Vec<usize> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

/// What one client received.
#[derive(Default)]
pub struct Log {
    /// Frames of events: (from, to, when).
    pub frames: Vec<(u64, u64, Instant)>,
    /// Every sequence number received.
    pub seqs: Vec<u64>,
    /// Bench messages received: (phase, index, when).
    pub chats: Vec<(u16, u32, Instant)>,
    /// Messages that were not frames (the baseline's posts, one event each).
    pub plain: Vec<Instant>,
}

impl Log {
    fn record(&mut self, text: &str, at: Instant) {
        // Typed and borrowed: thousands of clients parse every frame on the same cores as the
        // system they measure, so the driver reads only what it counts.
        let Ok(m) = serde_json::from_str::<Wire>(text) else {
            return;
        };
        let single;
        let events: &[WireEvent] = if m.kind == "events" {
            self.frames.push((m.from.unwrap_or(0), m.to.unwrap_or(0), at));
            &m.events
        } else {
            self.plain.push(at);
            single = [WireEvent {
                kind: m.kind,
                seq: m.seq,
                data: m.data,
            }];
            &single
        };
        for e in events {
            if let Some(seq) = e.seq {
                self.seqs.push(seq);
            }
            if e.kind == "chat.message" {
                if let Some((phase, i)) = e.data.message.as_deref().and_then(bench_message) {
                    self.chats.push((phase, i, at));
                }
            }
        }
    }
}

/// A message a client receives: a frame of events (`type` = `events`), or one event.
#[derive(serde::Deserialize)]
struct Wire<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    from: Option<u64>,
    to: Option<u64>,
    #[serde(borrow, default)]
    events: Vec<WireEvent<'a>>,
    seq: Option<u64>,
    #[serde(borrow, default)]
    data: WireData<'a>,
}

#[derive(serde::Deserialize)]
struct WireEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    seq: Option<u64>,
    #[serde(borrow, default)]
    data: WireData<'a>,
}

/// Any JSON value, skimmed: a string is kept (`text`), a map's `message` is kept when it is a
/// string, everything else is skipped unparsed. An event's `data` is read so: only a chat
/// message's text is counted.
#[derive(Default)]
struct WireData<'a> {
    text: Option<Cow<'a, str>>,
    message: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for WireData<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Skim<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Skim<'a> {
            type Value = WireData<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(WireData::text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(WireData::text(Cow::Owned(v.to_string())))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut data = WireData::default();
                while let Some(key) = map.next_key::<WireData<'a>>()? {
                    if key.text.as_deref() == Some("message") {
                        data.message = map.next_value::<WireData<'a>>()?.text;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(data)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(WireData::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(WireData::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(WireData::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(WireData::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(WireData::default())
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(WireData::default())
            }
        }
        d.deserialize_any(Skim(std::marker::PhantomData))
    }
}

impl<'a> WireData<'a> {
    fn text(text: Cow<'a, str>) -> Self {
        WireData {
            text: Some(text),
            message: None,
        }
    }
}

fn bench_text(phase: u16, i: u32) -> String {
    format!("bench {phase} {i}")
}

fn bench_message(text: &str) -> Option<(u16, u32)> {
    let mut parts = text.strip_prefix("bench ")?.split(' ');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The stack, with limits that let one sender and thousands of joins through (the bench measures
/// the fan-out, not the rate limits).
async fn stack() -> Env {
    let mut config = test_config("trendke-live", "http://127.0.0.1:9");
    config.tunables.rates =
        RateLimits::parse("chat=100000/1,presence=100000/1,frames=100000/1,stage=100000/1,reactions=100000/1")
            .expect("bench limits");
    Env::start_with(config).await
}

/// Viewers join and open a socket each, `JOINS_IN_FLIGHT` at a time; what each took, in order.
async fn audience(env: &Env, session: &str, n: usize) -> (Vec<Duration>, Vec<Arc<Mutex<Log>>>) {
    let done = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let (done, started) = (&done, started);
    let joined: Vec<(usize, Duration, Arc<Mutex<Log>>)> = stream::iter(0..n)
        .map(|i| async move {
            let user = format!("viewer{i}");
            let t0 = Instant::now();
            // A 5xx (the function timed out behind the saturated emulator) is retried as a client
            // would: a join is idempotent. The time counts every attempt.
            let mut attempts = 0;
            let r = loop {
                let r = env
                    .post("/live/join", token(&user), json!({"session_id": session}))
                    .await;
                attempts += 1;
                if r.status < 500 || attempts == JOIN_ATTEMPTS {
                    break r;
                }
            };
            assert_eq!(r.status, 200, "join: {}", r.body);
            let url = format!("{}/?token={}&session_id={session}", env.ws_url, token(&user));
            let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("socket");
            let took = t0.elapsed();
            let log = Arc::new(Mutex::new(Log::default()));
            let (mut tx, mut rx) = socket.split();
            let sink = log.clone();
            tokio::spawn(async move {
                while let Some(Ok(m)) = rx.next().await {
                    if let Message::Text(t) = m {
                        sink.lock().unwrap().record(&t, Instant::now());
                    }
                }
            });
            // Keep the sending half alive (and the socket open) for the run.
            tokio::spawn(async move {
                futures::future::pending::<()>().await;
                let _ = tx.send(Message::Close(None)).await;
            });
            let count = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if count % 500 == 0 {
                eprintln!("bench: {count} joined after {:.0}s", started.elapsed().as_secs_f64());
            }
            (i, took, log)
        })
        .buffer_unordered(JOINS_IN_FLIGHT)
        .collect()
        .await;
    let mut joined = joined;
    joined.sort_by_key(|j| j.0);
    (
        joined.iter().map(|j| j.1).collect(),
        joined.into_iter().map(|j| j.2).collect(),
    )
}

/// Sends `count` messages at `rate` per second, open loop (each send its own task, as each would
/// be its own Lambda invocation): when each started, how long its sender waited, and whether it
/// was accepted.
async fn open_loop<F, Fut>(rate: usize, count: usize, send: F) -> Vec<(Instant, Duration, bool)>
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = Vec::new();
    for i in 0..count {
        tokio::time::sleep_until((start + period * i as u32).into()).await;
        let fut = send(i as u32);
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let accepted = fut.await;
            (t0, t0.elapsed(), accepted)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("sender"));
    }
    out
}

/// The chat path as it is: `POST /live/send-message`, the fan-out delivers.
async fn fan_out_phase(
    env: &Arc<Env>,
    session: &str,
    logs: &[Arc<Mutex<Log>>],
    phase: u16,
    rate: usize,
    seconds: usize,
) -> Phase {
    let count = rate * seconds;
    let cpu = processes(env).now();
    let started = Instant::now();
    let sends = open_loop(rate, count, |i| {
        let (env, session) = (env.clone(), session.to_string());
        async move {
            let r = env
                .post(
                    "/live/send-message",
                    token("host"),
                    json!({"session_id": session, "message": bench_text(phase, i)}),
                )
                .await;
            // Refused or failed (the emulator fell behind past the function's timeout): counted.
            r.status == 201
        }
    })
    .await;
    env.drain.wait_within(DRAIN_LIMIT).await;
    // Posts done; what is still in the sockets' buffers lands within moments.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut measured = Phase::measure(phase, rate, count, logs, &sends, started, Instant::now());
    measured.cpu = processes(env).since(cpu);
    measured
}

/// The processes whose CPU a phase reports.
fn processes(env: &Env) -> cpu::Processes {
    cpu::Processes {
        dynamodb: env.moto.pid(),
        sqs: env.sqs_moto.pid(),
    }
}

/// The baseline: AWS's simple-websockets-chat-app pattern, inline in the sender's invocation —
/// store the message, query every connection of the session, post it to each (32 at a time, as
/// the push did before the fan-out).
async fn inline_phase(
    env: &Arc<Env>,
    session: &str,
    logs: &[Arc<Mutex<Log>>],
    phase: u16,
    rate: usize,
    seconds: usize,
) -> Phase {
    let count = (rate * seconds).min(BASELINE_MESSAGES);
    let cpu = processes(env).now();
    let started = Instant::now();
    let sid = SessionId::parse(session).expect("session id");
    let sends = open_loop(rate, count, |i| {
        let env = env.clone();
        async move {
            let fx = &env.app.fx;
            let message = ChatMessage {
                id: uuid::Uuid::now_v7().to_string(),
                session_id: sid,
                user_id: Some(UserId::parse("host").expect("user id")),
                username: Some("host".into()),
                avatar_url: None,
                message: bench_text(phase, i),
                message_type: MessageType::Text,
                metadata: None,
                created_at: Timestamp::now(),
            };
            fx.store.put_chat_message(&message, None).await.expect("stored");
            let to = fx
                .store
                .shard_connections(&sid, 0, BUCKETS - 1)
                .await
                .expect("connections");
            let body =
                json!({"type": "chat.message", "session_id": sid, "data": message, "ts": Timestamp::now()}).to_string();
            fx.push
                .post_all(
                    &fx.store,
                    &to,
                    |_| vec![body.clone()],
                    false,
                    deadline_within(Duration::from_secs(600)),
                )
                .await;
            true
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut measured = Phase::measure(phase, rate, count, logs, &sends, started, Instant::now());
    measured.cpu = processes(env).since(cpu);
    measured
}

fn raise_open_files() {
    // Two ends of every socket live in this process: the gateway's and the client's.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to an rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[tokio::main]
async fn main() {
    raise_open_files();
    let clients = list("BENCH_CLIENTS", "1000,5000");
    let rates = list("BENCH_RATES", "1,10,50");
    let seconds = list("BENCH_SECONDS", "10").first().copied().unwrap_or(10);
    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| "BENCHMARKS.md".into());
    let began = Instant::now();
    let figures = match std::env::var("BENCH_FUNCTIONS").as_deref() {
        Ok("0") => None,
        _ => Some(functions::measure().await),
    };
    let write = |runs: &[Run]| {
        let text = report::markdown(runs, figures.as_ref(), seconds, began.elapsed());
        std::fs::write(&out, text).expect("BENCHMARKS.md written");
        eprintln!("bench: wrote {out} in {:.0}s", began.elapsed().as_secs_f64());
    };
    write(&[]);
    let mut runs = Vec::new();
    for &n in &clients {
        eprintln!("bench: {n} clients");
        let env = Arc::new(stack().await);
        let session = env.start_session("host", json!({"max_participants": 10_000})).await["id"]
            .as_str()
            .expect("session id")
            .to_string();
        let sid = SessionId::parse(&session).expect("session id");
        let (t0, cpu) = (Instant::now(), processes(&env).now());
        let (joins, logs) = audience(&env, &session, n).await;
        let joining = t0.elapsed();
        let joining_cpu = processes(&env).since(cpu);
        env.drain.wait_within(DRAIN_LIMIT).await;
        eprintln!("bench: {n} joined in {:.1}s", joining.as_secs_f64());
        let mut phases = Vec::new();
        let mut baseline = Vec::new();
        for (k, &rate) in rates.iter().enumerate() {
            let next = env.app.fx.store.stream(&sid).await.expect("stream").next_seq;
            eprintln!("bench: {n} clients, fan-out at {rate}/s from sequence number {next}");
            phases.push(fan_out_phase(&env, &session, &logs, k as u16, rate, seconds).await);
        }
        for (k, &rate) in rates.iter().enumerate() {
            eprintln!("bench: {n} clients, inline baseline at {rate}/s");
            baseline.push(inline_phase(&env, &session, &logs, (100 + k) as u16, rate, seconds).await);
        }
        let integrity = Integrity::of(&logs, env.drain.dead_letters().await);
        runs.push(Run {
            clients: n,
            join: JoinCost::of(&joins, joining, joining_cpu),
            phases,
            baseline,
            integrity,
        });
        drop(env);
        // Written after each audience: a long run keeps what it measured so far.
        write(&runs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_counts_the_frames_sequence_numbers_and_bench_chat_it_receives() {
        let mut log = Log::default();
        let at = Instant::now();
        let frame = json!({"type": "events", "session_id": "s", "from": 7, "to": 11, "events": [
            {"seq": 7, "type": "chat.message", "data": {"user_id": "u", "message": "bench 2 41", "metadata": {"message": 1}}},
            {"seq": 8, "type": "viewer_count", "data": {"count": 5}},
            {"seq": 9, "type": "chat.message", "data": {"message": {"not": "text"}}},
            {"seq": 10, "type": "chat.message", "data": {"message": "bench 2 \u{0042}42 \"quoted\""}},
            {"seq": 11, "type": "reactions", "data": [1, 2, {"message": "x"}], "extra": null},
        ]});
        log.record(&frame.to_string(), at);
        log.record(
            r#"{"type":"chat.message","seq":12,"data":{"message":"bench 3 \u0030"}}"#,
            at,
        );
        log.record("not json", at);
        assert_eq!(log.frames.iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(), [(7, 11)]);
        assert_eq!(log.seqs, [7, 8, 9, 10, 11, 12]);
        assert_eq!(
            log.chats.iter().map(|c| (c.0, c.1)).collect::<Vec<_>>(),
            [(2, 41), (3, 0)]
        );
        assert_eq!(log.plain.len(), 1);
    }
}
