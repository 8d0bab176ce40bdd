//! The asynchronous fan-out end to end (`docs/scale.md`): the request answers once its event is
//! queued; the sequencer numbers a session's events; each shard's delivery posts every socket one
//! frame per window, with contiguous sequence ranges; a delivery that fails mid-shard is
//! redelivered to the sockets it missed only; a client that missed frames catches up over HTTP.

use std::collections::HashSet;

use e2e::*;
use futures::future::join_all;
use serde_json::json;

async fn session_with_viewers(env: &Env, viewers: &[&str]) -> String {
    env.live_with_viewers("host", json!({}), viewers).await
}

async fn say(env: &Env, id: &str, who: &str, text: &str) {
    let r = env.send_message(who, id, text).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// The texts of the users' chat messages a socket received, in order.
fn said(s: &Socket) -> Vec<String> {
    s.of_type("chat.message")
        .iter()
        .filter(|e| e["data"]["message_type"] == "text")
        .map(|e| e["data"]["message"].as_str().unwrap().to_string())
        .collect()
}

/// The client's rule holds for every frame a socket received: it continues the last one (its
/// `from` is at most the last `to` + 1: no gap) and moves on (its `to` is beyond it), and its
/// events are within its range, ascending, each number once.
fn assert_contiguous(s: &Socket) {
    let mut last_to: Option<u64> = None;
    let mut seen = HashSet::new();
    let mut last_seq = 0;
    for f in &s.frames {
        let (from, to) = (f["from"].as_u64().unwrap(), f["to"].as_u64().unwrap());
        assert!(from <= to, "{f}");
        if let Some(last) = last_to {
            assert!(
                from <= last + 1 && to > last,
                "frames follow each other: {:?}",
                s.frames
            );
        }
        for e in f["events"].as_array().unwrap() {
            let seq = e["seq"].as_u64().unwrap();
            assert!(
                seq >= from && seq <= to && seq > last_seq,
                "events ascend within the frame's range: {f}"
            );
            assert!(seen.insert(seq), "seq {seq} received twice");
            last_seq = seq;
        }
        last_to = Some(to);
    }
}

#[tokio::test]
async fn events_reach_every_client_in_order_with_sequence_numbers() {
    // Twenty messages as fast as the requests answer: on a loaded machine a late delivery holds
    // a window open until it carries more than half a second's chat cap (10), and sampling
    // (`chat_per_second`, tested in `domain::fanout`) would drop some for everyone but their
    // senders. This test is about order and numbering: no cap within reach.
    let mut config = test_config("trendke-live", "http://127.0.0.1:9");
    config.tunables.fanout.chat_per_second = 1_000;
    let env = Env::start_with(config).await;
    let id = session_with_viewers(&env, &["ann", "ben", "cat"]).await;
    let mut sockets = Vec::new();
    for u in ["host", "ann", "ben", "cat"] {
        sockets.push(env.connect(u, &id).await.unwrap());
    }
    // Messages from four people, some at once: one order for everyone, the sequence's.
    for round in 0..5 {
        join_all(["host", "ann", "ben", "cat"].iter().map(|u| {
            let (env, id) = (&env, &id);
            async move { say(env, id, u, &format!("{u} {round}")).await }
        }))
        .await;
    }
    let mut orders = Vec::new();
    for s in &mut sockets {
        s.sync().await;
        assert_eq!(said(s).len(), 20, "every message, once: {:?}", said(s));
        assert_contiguous(s);
        assert!(s
            .received
            .iter()
            .filter(|e| e["type"] != "pong")
            .all(|e| e["seq"].is_u64()));
        orders.push(said(s));
    }
    assert!(orders.windows(2).all(|w| w[0] == w[1]), "one order: {orders:?}");
    // Per sender, the order they sent in.
    for u in ["host", "ann", "ben", "cat"] {
        let mine: Vec<&String> = orders[0].iter().filter(|m| m.starts_with(u)).collect();
        let sent: Vec<String> = (0..5).map(|r| format!("{u} {r}")).collect();
        assert_eq!(mine, sent.iter().collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn a_send_answers_before_its_fan_out_and_nothing_waits_on_it() {
    let mut env = Env::start().await;
    let id = session_with_viewers(&env, &["ann"]).await;
    let mut ann = env.connect("ann", &id).await.unwrap();
    ann.sync().await;
    // No fan-out runs (its functions' pollers stopped, as if Lambda were throttled): the send
    // is answered, the message is in the history, and nothing has reached the socket.
    for p in env.pollers.drain(..) {
        p.abort();
    }
    say(&env, &id, "host", "while nobody delivers").await;
    let history = env.get(&format!("/live/messages/{id}"), Some(&token("ann"))).await.body;
    assert!(history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["message"] == "while nobody delivers"));
    ann.send(json!({"action": "ping"})).await;
    ann.until("pong", |e| e["type"] == "pong").await;
    assert!(said(&ann).is_empty(), "delivered without a fan-out: {:?}", ann.received);
    // The queue kept it: once the fan-out runs again, it arrives.
    env.restart_pollers();
    ann.until("the message", |e| e["data"]["message"] == "while nobody delivers")
        .await;
    ann.sync().await;
    assert_eq!(said(&ann), vec!["while nobody delivers"]);
    assert_contiguous(&ann);
}

#[tokio::test]
async fn a_fan_out_that_fails_mid_shard_is_redelivered_and_nobody_sees_an_event_twice() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, &["ann", "ben", "cat"]).await;
    let mut sockets = Vec::new();
    for u in ["host", "ann", "ben", "cat"] {
        let mut s = env.connect(u, &id).await.unwrap();
        s.sync().await;
        sockets.push(s);
    }
    // API Gateway answers 500 for ben's connection: the shard's delivery reaches the others,
    // records that it owes ben, and fails; SQS delivers it again.
    let store = &env.app.fx.store;
    let ben = store.user_connections(&sid(&id), &uid("ben")).await.unwrap();
    assert_eq!(ben.len(), 1);
    env.ws_state.fail_posts_to(&ben[0].connection_id, true);
    say(&env, &id, "host", "through a fault").await;
    for i in [0, 1, 3] {
        sockets[i]
            .until("the message", |e| e["data"]["message"] == "through a fault")
            .await;
    }
    let window = store.stream(&sid(&id)).await.unwrap().window_from;
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let checkpoint = store.checkpoint(&sid(&id), window, 0).await.unwrap();
        if let Some(owed) = checkpoint.owed {
            assert_eq!(
                owed,
                vec![format!("{}#ben", ben[0].connection_id)],
                "only ben is owed it"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the failed delivery was never recorded"
        );
        tokio::task::yield_now().await;
    }
    env.ws_state.fail_posts_to(&ben[0].connection_id, false);
    sockets[2]
        .until("the redelivered message", |e| e["data"]["message"] == "through a fault")
        .await;
    say(&env, &id, "ann", "after it").await;
    for s in &mut sockets {
        s.sync().await;
        assert_eq!(said(s), vec!["through a fault", "after it"], "{:?}", s.received);
        assert_contiguous(s);
    }
    assert!(store.checkpoint(&sid(&id), window, 0).await.unwrap().done);
}

#[tokio::test]
async fn a_client_that_reconnects_after_a_gap_resyncs() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, &["ann"]).await;
    let mut ann = env.connect("ann", &id).await.unwrap();
    say(&env, &id, "host", "one").await;
    ann.until("one", |e| e["data"]["message"] == "one").await;
    ann.sync().await;
    let last_to = ann.frames.last().unwrap()["to"].as_u64().unwrap();
    drop(ann);

    // Missed while away.
    say(&env, &id, "host", "two").await;
    say(&env, &id, "host", "three").await;
    env.drain.wait().await;
    let mut ann = env.connect("ann", &id).await.unwrap();
    say(&env, &id, "host", "four").await;
    ann.until("four", |e| e["data"]["message"] == "four").await;
    let first = &ann.frames[0];
    let from = first["from"].as_u64().unwrap();
    assert!(from > last_to + 1, "a gap the client can see: {last_to} then {first}");

    // The client asks for what it missed, from its last `to`.
    let r = env
        .get(&format!("/live/events/{id}?after={last_to}"), Some(&token("ann")))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let texts: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "chat.message" && e["data"]["message_type"] == "text")
        .map(|e| e["data"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(texts[..2], ["two", "three"], "{}", r.body);
    let seqs: Vec<u64> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > last_to);
    assert!(r.body["to"].as_u64().unwrap() >= from - 1, "covers the gap: {}", r.body);

    // Bad input changes nothing and says why; a stranger to the session reads nothing of it.
    let bad = env
        .get(&format!("/live/events/{id}?after=minus"), Some(&token("ann")))
        .await;
    assert_eq!((bad.status, bad.body["field"].clone()), (400, json!("after")));
    let none = env.get(&format!("/live/events/{id}"), Some(&token("ann"))).await;
    assert_eq!(none.status, 400, "{}", none.body);
}

/// Events for the stage or one user reach only them, in the same sequence as everyone's.
#[tokio::test]
async fn targeted_events_reach_only_their_audience() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, &["ann", "ben"]).await;
    let mut host = env.connect("host", &id).await.unwrap();
    let mut ann = env.connect("ann", &id).await.unwrap();
    let mut ben = env.connect("ben", &id).await.unwrap();
    // Each request is for the stage and for its user; each is delivered before the next, so
    // ann's window follows windows that were not posted to her: her frame still continues her
    // last one (it starts after the last window posted to everyone, not at its own start).
    // The sockets' `viewer_count` first, so that no window for everyone comes between.
    host.sync().await;
    for who in ["ben", "ann"] {
        let r = env
            .post(
                "/live/request-guest",
                token(who),
                json!({"session_id": id, "message": "me!"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        host.sync().await;
    }
    say(&env, &id, "ben", "hello").await;
    for s in [&mut host, &mut ann, &mut ben] {
        s.sync().await;
        assert_contiguous(s);
        assert_eq!(said(s), vec!["hello"]);
    }
    let created = |s: &Socket| s.of_type("guest_request.created").len();
    // The hosts see both requests; each user sees their own, once.
    assert_eq!((created(&host), created(&ann), created(&ben)), (2, 1, 1));
}

#[tokio::test]
async fn a_socket_that_comes_or_goes_between_windows_is_seen_by_the_next_one() {
    // A warm fan-out reuses a shard's sockets while the session's connection epoch stands still
    // (P12): every socket opened or forgotten must move it on, or the next window would miss the
    // newcomer and post to the leaver.
    let env = Env::start().await;
    let id = session_with_viewers(&env, &["ann", "ben"]).await;
    let mut host = env.connect("host", &id).await.unwrap();
    let mut ann = env.connect("ann", &id).await.unwrap();
    for round in 0..3 {
        say(&env, &id, "host", &format!("steady {round}")).await;
        ann.until("a steady message", |e| {
            e["data"]["message"] == format!("steady {round}")
        })
        .await;
    }
    let mut ben = env.connect("ben", &id).await.unwrap();
    say(&env, &id, "host", "after ben came").await;
    ben.until("the message after he came", |e| {
        e["data"]["message"] == "after ben came"
    })
    .await;
    drop(ann);
    // Ann's $disconnect has run once her connection is gone from the session's sockets.
    let mut waited = 0;
    while env.connections(&id).await.iter().any(|c| c.user_id == "ann") {
        assert!(waited < 200, "ann's connection was never forgotten");
        waited += 1;
        host.send(json!({"action": "ping"})).await;
        host.until("pong", |e| e["type"] == "pong").await;
    }
    say(&env, &id, "host", "after ann left").await;
    ben.until("the message after ann left", |e| {
        e["data"]["message"] == "after ann left"
    })
    .await;
    host.sync().await;
    ben.sync().await;
    assert_contiguous(&ben);
    assert_eq!(said(&ben), vec!["after ben came", "after ann left"]);
}
