//! A real LiveKit client per simulated user: `tests/sfu_client.py` (the PyPI `livekit` package,
//! whose native core is LiveKit's Rust SDK) in its own process, driven line by line over its
//! stdin/stdout. Replies come in command order; room events are kept as they arrive.

use std::process::Stdio;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::{repo_root, spawn_owned_cmd, venv_python, EVENT_TIMEOUT};

pub struct MediaClient {
    who: String,
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    /// Every room event seen so far, in order.
    pub events: Vec<Value>,
    /// Events before this index have been matched by [`MediaClient::until`].
    matched: usize,
}

impl MediaClient {
    /// A client process for `who` (a label for failure messages), not yet connected.
    pub fn start(who: &str) -> MediaClient {
        let mut child = spawn_owned_cmd(
            Command::new(venv_python())
                .arg(repo_root().join("tests/sfu_client.py"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        );
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        MediaClient {
            who: who.to_string(),
            _child: child,
            stdin,
            lines,
            events: Vec::new(),
            matched: 0,
        }
    }

    /// The next line from the client, or `None` when it exited or said nothing in time.
    async fn next_line(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(EVENT_TIMEOUT, self.lines.next_line())
            .await
            .ok()?
            .ok()??;
        Some(serde_json::from_str(&line).expect("the client writes JSON lines"))
    }

    /// Sends a command and returns its reply (events read meanwhile are kept).
    pub async fn command(&mut self, cmd: Value) -> Value {
        let name = cmd["cmd"].as_str().unwrap().to_string();
        self.stdin.write_all(format!("{cmd}\n").as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
        loop {
            match self.next_line().await {
                Some(v) if v.get("reply").is_some() => {
                    assert_eq!(v["reply"], name.as_str(), "{}: replies come in order", self.who);
                    return v;
                }
                Some(v) => self.events.push(v),
                None => panic!("{}: no reply to {name}; events: {:?}", self.who, self.events),
            }
        }
    }

    /// Connects to the SFU with an access token our API minted; panics if the SFU refuses.
    pub async fn connect(&mut self, url: &str, token: &str) {
        let r = self
            .command(json!({"cmd": "connect", "url": url, "token": token}))
            .await;
        assert_eq!(r["ok"], true, "{} could not connect: {r}", self.who);
    }

    /// Publishes a live track of `source` (microphone, camera); the reply says whether the SFU
    /// accepted it (`ok`) or why not (`error`).
    pub async fn publish(&mut self, source: &str) -> Value {
        self.command(json!({"cmd": "publish", "source": source})).await
    }

    /// Waits for a room event satisfying `pred`, after the last one matched; returns it.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            if let Some(i) = self.events[self.matched..].iter().position(&pred) {
                self.matched += i + 1;
                return self.events[self.matched - 1].clone();
            }
            match self.next_line().await {
                Some(v) => self.events.push(v),
                None => panic!("{}: no event {what}; events: {:?}", self.who, self.events),
            }
        }
    }

    /// Waits for `kind` (e.g. `track_published`) of `identity`'s `source` track.
    pub async fn until_track(&mut self, kind: &str, identity: &str, source: &str) -> Value {
        self.until(&format!("{kind} of {identity}'s {source}"), |e| {
            e["event"] == kind && e["identity"] == identity && e["source"] == source
        })
        .await
    }
}
