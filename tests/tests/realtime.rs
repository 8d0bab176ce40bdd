//! End-to-end over real sockets: the WebSocket API of the local gateway, pushes through its
//! @connections API, chat and reactions, against moto.

use std::collections::HashSet;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{sid, token, uid, Env, Socket};
use futures::future::join_all;
use serde_json::{json, Value};
use shared::domain::rate::RateLimits;
use shared::domain::time::{epoch_seconds, Timestamp};
use shared::domain::{ChatMessage, Connection, MessageType, Role};

async fn session_with_viewers(env: &Env, settings: Value, viewers: &[&str]) -> String {
    env.live_with_viewers("host", settings, viewers).await
}

/// The text messages of a session's chat history, newest first, as `reader` reads them.
fn texts(socket: &Socket) -> Vec<String> {
    socket
        .of_type("chat.message")
        .into_iter()
        .filter(|e| e["data"]["message_type"] == "text")
        .map(|e| e["data"]["message"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn chat_reaches_every_client_in_order_once() {
    let env = Env::start().await;
    let viewers = ["v1", "v2", "v3"];
    let id = session_with_viewers(&env, json!({}), &viewers).await;
    let mut sockets = Vec::new();
    for u in ["host", "v1", "v2", "v3"] {
        sockets.push(env.connect(u, &id).await.expect("connect"));
    }
    let r = env
        .post(
            "/live/send-message",
            token("v1"),
            json!({"session_id": id, "message": "hello over http"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["message_type"], "text");
    assert_eq!(r.body["username"], "v1-name");
    sockets[2]
        .send(json!({"action": "chat", "message": "hello over the socket"}))
        .await;
    for s in sockets.iter_mut() {
        s.until("socket chat", |e| {
            e["type"] == "chat.message" && e["data"]["message"] == "hello over the socket"
        })
        .await;
        s.sync().await;
        assert_eq!(
            texts(s),
            vec!["hello over http", "hello over the socket"],
            "in order, once each"
        );
        let e = s.of_type("chat.message")[0];
        assert_eq!(e["session_id"], id.as_str());
        assert!(e["ts"].as_str().unwrap().ends_with('Z'));
    }
    let history = env.get(&format!("/live/messages/{id}"), Some(&token("v3"))).await;
    assert_eq!(history.status, 200, "{}", history.body);
    let msgs: Vec<&str> = history.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == "text")
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs, vec!["hello over the socket", "hello over http"], "newest first");
}

#[tokio::test]
async fn slow_mode_refuses_with_retry_after_and_exempts_the_host() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, json!({"chat_slow_mode": 10}), &["v1"]).await;
    let send = |u: &'static str, text: &'static str| {
        env.post(
            "/live/send-message",
            token(u),
            json!({"session_id": id, "message": text}),
        )
    };
    assert_eq!(send("v1", "first").await.status, 201);
    let second = send("v1", "second").await;
    assert_eq!(second.status, 429, "{}", second.body);
    assert_eq!(second.header("content-type"), Some("application/problem+json"));
    let wait: u64 = second.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=10).contains(&wait), "retry-after {wait}");
    assert_eq!(send("host", "one").await.status, 201);
    assert_eq!(send("host", "two").await.status, 201, "hosts are exempt");
    assert_eq!(
        env.chat_texts(&id, "host").await,
        ["two", "one", "first"],
        "the refused message was not stored"
    );
}

#[tokio::test]
async fn a_reaction_storm_is_counted_exactly_and_pushed_coalesced() {
    let env = Env::start().await;
    let users: Vec<String> = (0..50).map(|i| format!("fan{i}")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let id = session_with_viewers(&env, json!({}), &refs).await;
    let mut host = env.connect("host", &id).await.unwrap();
    let mut viewer = env.connect("fan0", &id).await.unwrap();
    let kinds = ["heart", "fire", "clap", "wow", "like"];
    let started = Instant::now();
    // 50 users at once, each tapping 20 times as fast as its answers come back. The emulator applies
    // requests one at a time, so locally the storm spans several seconds; the coalescing bound below
    // is per second of it.
    let users_tapping = users.iter().map(|u| {
        let (env, id) = (&env, id.clone());
        async move {
            let mut statuses = Vec::new();
            for k in kinds.iter().cycle().take(20) {
                let body = json!({"session_id": id, "reaction_type": k});
                statuses.push(env.post("/live/react", token(u), body).await.status);
            }
            statuses
        }
    });
    let statuses: Vec<u16> = join_all(users_tapping).await.into_iter().flatten().collect();
    let elapsed = started.elapsed().as_secs_f64();
    let accepted = statuses.iter().filter(|s| **s == 200).count() as i64;
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
    assert_eq!(accepted, 1000, "sequential taps stay within the per-second limit");
    let total = |e: &Value| -> i64 {
        e["data"]["totals"]
            .as_object()
            .map_or(0, |t| t.values().filter_map(Value::as_i64).sum())
    };
    for s in [&mut host, &mut viewer] {
        let last = s
            .until("final totals", |e| e["type"] == "reactions" && total(e) == accepted)
            .await;
        assert_eq!(last["data"]["totals"]["heart"], 400, "like counts as heart");
        s.sync().await;
        let events = s.of_type("reactions").len();
        let bound = 2 * (elapsed.ceil() as usize + 2);
        assert!(
            events <= bound,
            "{events} reactions events in {elapsed:.1}s (bound {bound})"
        );
    }
    let detail = env.get(&format!("/live/session/{id}"), None).await.body;
    assert_eq!(
        detail["reactions"],
        json!({"heart": 400, "fire": 200, "clap": 200, "wow": 200, "sad": 0})
    );
}

#[tokio::test]
async fn per_user_reaction_rate_limit_answers_429() {
    let mut config = e2e::test_config("trendke-live", "http://127.0.0.1:9");
    // An hour-long window: sixty requests that a loaded machine spreads over seconds still meet
    // one window's limit of 25.
    config.tunables.rates = RateLimits::parse("reactions=25/3600").unwrap();
    let env = Env::start_with(config).await;
    let id = session_with_viewers(&env, json!({}), &["fast"]).await;
    let sends = (0..60).map(|_| {
        env.post(
            "/live/react",
            token("fast"),
            json!({"session_id": id, "reaction_type": "fire"}),
        )
    });
    let statuses: Vec<u16> = join_all(sends).await.into_iter().map(|r| r.status).collect();
    let accepted = statuses.iter().filter(|s| **s == 200).count() as i64;
    assert!(statuses.contains(&429), "60 at once exceed 25 a window: {statuses:?}");
    let detail = env.get(&format!("/live/session/{id}"), None).await.body;
    assert_eq!(
        detail["reactions"]["fire"], accepted,
        "refused reactions are not counted"
    );
    let bad = env
        .post(
            "/live/react",
            token("fast"),
            json!({"session_id": id, "reaction_type": "angry"}),
        )
        .await;
    assert_eq!((bad.status, bad.body["field"].clone()), (400, json!("reaction_type")));
}

#[tokio::test]
async fn a_vanished_client_is_cleaned_up_by_410_and_others_still_receive() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, json!({}), &["v1"]).await;
    let mut live = env.connect("v1", &id).await.unwrap();
    // The join's events delivered first: a fan-out of them still running would meet the ghost
    // below, 410 it and forget it before the count is taken.
    live.sync().await;
    // A connection whose socket is gone and whose $disconnect never ran (it is best-effort in AWS).
    let ghost = Connection {
        connection_id: "GhostConnId0=".into(),
        session_id: sid(&id),
        user_id: uid("ghost"),
        username: "ghost".into(),
        avatar_url: None,
        role: Role::Viewer,
        connected_at: Timestamp::now().plus_seconds(-60),
        expires_at: epoch_seconds() + 3600,
    };
    // One `$connect` has just recorded and API Gateway has not opened yet: also 410, not stale.
    let opening = Connection {
        connection_id: "OpeningConn0=".into(),
        user_id: uid("newcomer"),
        connected_at: Timestamp::now(),
        ..ghost.clone()
    };
    let store = &env.app.fx.store;
    store.put_connection(&ghost).await.unwrap();
    store.put_connection(&opening).await.unwrap();
    assert_eq!(env.connections(&id).await.len(), 3);
    let r = env
        .post(
            "/live/send-message",
            token("host"),
            json!({"session_id": id, "message": "still here?"}),
        )
        .await;
    assert_eq!(r.status, 201);
    live.until("the message", |e| e["data"]["message"] == "still here?")
        .await;
    // The shard's invocation finished (its posts, and what their 410s forgot), not only v1's post.
    live.sync().await;
    assert!(
        store.connection("GhostConnId0=").await.unwrap().is_none(),
        "410 deleted the item"
    );
    assert!(
        store.connection("OpeningConn0=").await.unwrap().is_some(),
        "a connection still opening is kept"
    );
    assert_eq!(env.connections(&id).await.len(), 2);
}

#[tokio::test]
async fn paging_returns_every_message_once_when_timestamps_collide() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, json!({}), &["reader"]).await;
    let at = Timestamp::now();
    let mut written = HashSet::new();
    for i in 0..250 {
        let m = ChatMessage {
            id: uuid::Uuid::now_v7().to_string(),
            session_id: sid(&id),
            user_id: Some(uid("writer")),
            username: Some("writer".into()),
            avatar_url: None,
            message: format!("m{i}"),
            message_type: MessageType::Text,
            metadata: None,
            created_at: at,
        };
        written.insert(m.id.clone());
        env.app.fx.store.put_chat_message(&m, None).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    for page in 0.. {
        assert!(page < 20);
        let q = before.as_ref().map(|b| format!("&before={b}")).unwrap_or_default();
        let r = env
            .get(&format!("/live/messages/{id}?limit=40{q}"), Some(&token("reader")))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let msgs = r.body["messages"].as_array().unwrap();
        assert!(msgs.len() <= 40);
        seen.extend(
            msgs.iter()
                .filter(|m| m["created_at"] == at.to_string().as_str())
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => before = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250, "each exactly once");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), written);
    // `before` also takes a timestamp: strictly older messages only.
    let r = env
        .get(&format!("/live/messages/{id}?before={at}"), Some(&token("reader")))
        .await;
    assert!(r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["created_at"].as_str().unwrap() < at.to_string().as_str()));
    let r = env
        .get(&format!("/live/messages/{id}?limit=101"), Some(&token("reader")))
        .await;
    assert_eq!((r.status, r.body["field"].clone()), (400, json!("limit")));
}

#[tokio::test]
async fn connect_is_refused_for_bad_tokens_ended_sessions_and_banned_users() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, json!({}), &["banned"]).await;
    assert_eq!(env.connect_with_token("garbage", &id).await.err(), Some(401));
    assert_eq!(
        env.connect_with_token(&e2e::sign(json!({"sub": "x", "exp": 1}), e2e::JWT_SECRET), &id)
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        env.connect("someone", &uuid::Uuid::new_v4().to_string()).await.err(),
        Some(404)
    );
    assert_eq!(env.connect("someone", "not-a-uuid").await.err(), Some(400));
    // Ban through the table (the ban endpoint is issue 4's): status `banned` on the participant.
    env.app
        .fx
        .store
        .client()
        .update_item()
        .table_name(env.app.fx.store.table())
        .key("pk", AttributeValue::S(format!("SESSION#{id}")))
        .key("sk", AttributeValue::S("PART#banned".into()))
        .update_expression("SET #s = :b")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":b", AttributeValue::S("banned".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(env.connect("banned", &id).await.err(), Some(403));
    let ended = env.start_session("other-host", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.post(&format!("/live/end/{ended}"), token("other-host"), json!({}))
        .await;
    assert_eq!(env.connect("someone", &ended).await.err(), Some(409));
    assert!(env.connections(&id).await.is_empty(), "no connection item remains");
    assert!(env.connections(&ended).await.is_empty());
}

#[tokio::test]
async fn refused_chat_stores_nothing_and_pushes_nothing() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, json!({}), &["v1"]).await;
    let mut watcher = env.connect("host", &id).await.unwrap();
    let mut v1 = env.connect("v1", &id).await.unwrap();
    let cases = [
        (
            json!({"session_id": id, "message": "hi", "message_type": "system"}),
            400,
            Some("message_type"),
        ),
        (
            json!({"session_id": id, "message": "hi", "message_type": "gift"}),
            400,
            Some("message_type"),
        ),
        (
            json!({"session_id": id, "message": "hi", "message_type": "shout"}),
            400,
            Some("message_type"),
        ),
        (
            json!({"session_id": id, "message": "x".repeat(501)}),
            400,
            Some("message"),
        ),
        (
            json!({"session_id": id, "message": "evil \u{202E}txet"}),
            400,
            Some("message"),
        ),
        (json!({"session_id": id, "message": "  "}), 400, Some("message")),
        (
            json!({"session_id": id, "message": "hi", "metadata": [1]}),
            400,
            Some("metadata"),
        ),
        (json!({"session_id": id}), 400, Some("message")),
    ];
    for (body, status, field) in cases {
        let r = env.post("/live/send-message", token("v1"), body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.body["field"].as_str(), field, "{body}");
    }
    // Not present, and chat disabled.
    let r = env
        .post(
            "/live/send-message",
            token("stranger"),
            json!({"session_id": id, "message": "hi"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let off = env.start_session("quiet-host", json!({"enable_chat": false})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.post("/live/join", token("v1"), json!({"session_id": off})).await;
    let r = env
        .post(
            "/live/send-message",
            token("v1"),
            json!({"session_id": off, "message": "hi"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Over the socket, the same rules answer with an error frame to the sender only.
    v1.send(json!({"action": "chat", "message": "hi", "message_type": "system"}))
        .await;
    let err = v1.until("error frame", |e| e["type"] == "error").await;
    assert_eq!(
        (err["data"]["status"].clone(), err["data"]["field"].clone()),
        (json!(400), json!("message_type"))
    );
    v1.send(json!({"action": "dance"})).await;
    let err = v1.until("error frame", |e| e["type"] == "error").await;
    assert_eq!(err["data"]["field"], "action");
    watcher.sync().await;
    v1.sync().await;
    assert!(texts(&watcher).is_empty() && texts(&v1).is_empty(), "nothing pushed");
    assert!(
        watcher.of_type("error").is_empty(),
        "error frames go to the sender only"
    );
    for s in [&id, &off] {
        let h = env.get(&format!("/live/messages/{s}"), Some(&token("host"))).await.body;
        assert!(
            h["messages"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["message_type"] == "system"),
            "nothing stored"
        );
    }
}

#[tokio::test]
async fn session_events_and_coalesced_viewer_count() {
    let (_sfu, env) = Env::with_sfu().await;
    let id = session_with_viewers(&env, json!({}), &["early"]).await;
    let mut host = env.connect("host", &id).await.unwrap();
    let mut early = env.connect("early", &id).await.unwrap();
    let joins = (0..30).map(|i| {
        let (env, id) = (&env, id.clone());
        async move {
            env.post("/live/join", token(&format!("storm{i}")), json!({"session_id": id}))
                .await
                .status
        }
    });
    let started = Instant::now();
    assert!(join_all(joins).await.iter().all(|s| *s == 200));
    let elapsed = started.elapsed().as_secs_f64();
    for s in [&mut host, &mut early] {
        s.until("final count", |e| {
            e["type"] == "viewer_count" && e["data"]["viewer_count"] == 31
        })
        .await;
        s.sync().await;
        let n = s.of_type("viewer_count").len();
        assert!(
            n <= 2 * (elapsed.ceil() as usize + 2),
            "{n} viewer_count events for 30 joins in {elapsed:.1}s"
        );
    }
    // Viewers' joins are told to the stage, not to the audience (early's own may reach the host
    // too: it was still in its window when the host's socket opened).
    let storm = host
        .of_type("participant.joined")
        .iter()
        .filter(|e| e["data"]["user_id"].as_str().unwrap().starts_with("storm"))
        .count();
    assert_eq!(storm, 30);
    assert!(early.of_type("participant.joined").is_empty());
    assert!(host
        .of_type("chat.message")
        .iter()
        .any(|e| e["data"]["message"] == "storm0-name joined"));

    env.post("/live/leave", token("storm0"), json!({"session_id": id}))
        .await;
    host.until("participant.left", |e| {
        e["type"] == "participant.left" && e["data"]["user_id"] == "storm0"
    })
    .await;
    let end = env.post(&format!("/live/end/{id}"), token("host"), json!({})).await;
    assert_eq!(end.status, 200);
    for s in [&mut host, &mut early] {
        let e = s.until("session.ended", |e| e["type"] == "session.ended").await;
        assert_eq!(e["data"]["duration_seconds"], end.body["duration_seconds"]);
    }
}

#[tokio::test]
async fn ping_pong_and_the_management_api() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, json!({}), &["v1"]).await;
    let mut v1 = env.connect("v1", &id).await.unwrap();
    v1.sync().await;
    let conns = env.connections(&id).await;
    assert_eq!(conns.len(), 1);
    let conn_id = conns[0].connection_id.clone();
    let item = env.app.fx.store.connection(&conn_id).await.unwrap().unwrap();
    assert_eq!((item.user_id.as_str(), item.role), ("v1", Role::Viewer));
    assert!(
        item.expires_at - epoch_seconds() > 2 * 3600,
        "TTL beyond API Gateway's 2 h"
    );

    // The real SDK against the emulated management API.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await;
    let api = shared::adapter::app::management_client(&sdk, &env.ws_url.replace("ws://", "http://"));
    let info = api.get_connection().connection_id(&conn_id).send().await.unwrap();
    assert!(info.connected_at().is_some() && info.last_active_at().is_some());
    assert_eq!(info.identity().and_then(|i| i.source_ip()), Some("127.0.0.1"));
    api.post_to_connection()
        .connection_id(&conn_id)
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(
            br#"{"type":"hello"}"#.to_vec(),
        ))
        .send()
        .await
        .unwrap();
    v1.until("direct post", |e| e["type"] == "hello").await;
    let gone = api
        .post_to_connection()
        .connection_id("NoSuchConn00=")
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.into_service_error().is_gone_exception(),
        "410 is GoneException for the SDK"
    );
    api.delete_connection().connection_id(&conn_id).send().await.unwrap();
    assert!(v1.closed().await, "DELETE closes the socket");
    let after = api.get_connection().connection_id(&conn_id).send().await.unwrap_err();
    assert!(after.into_service_error().is_gone_exception());
    // The gateway runs $disconnect once the socket is closed: wait for its effect (bounded).
    let deadline = Instant::now() + e2e::EVENT_TIMEOUT;
    while env.app.fx.store.connection(&conn_id).await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "$disconnect did not delete the connection item"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Blocked words cannot be dodged (the audit's hole 11): chat and guest-request messages are
/// matched after NFKC, case folding and removing zero-width and soft-hyphen characters; the list
/// itself is shown to the host and cohosts only.
#[tokio::test]
async fn blocked_words_hold_against_disguises_and_stay_private() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, json!({"blocked_words": ["spam"]}), &["v1"]).await;
    for disguised in ["s\u{200B}pam", "ＳＰＡＭ", "S\u{00AD}PAM", "sp\u{2060}am now"] {
        let r = env
            .post(
                "/live/send-message",
                token("v1"),
                json!({"session_id": id, "message": disguised}),
            )
            .await;
        assert_eq!(
            (r.status, r.body["field"].clone()),
            (400, json!("message")),
            "{disguised:?} got through"
        );
    }
    let r = env
        .post(
            "/live/request-guest",
            token("v1"),
            json!({"session_id": id, "message": "ＳＰＡＭ, let me on"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].clone()),
        (400, json!("message")),
        "{}",
        r.body
    );
    let ok = env
        .post(
            "/live/send-message",
            token("v1"),
            json!({"session_id": id, "message": "spammer is fine"}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);

    let path = format!("/live/session/{id}");
    assert!(
        env.get(&path, None).await.body.get("blocked_words").is_none(),
        "anonymous readers"
    );
    assert!(
        env.get(&path, Some(&token("v1")))
            .await
            .body
            .get("blocked_words")
            .is_none(),
        "viewers"
    );
    assert_eq!(
        env.get(&path, Some(&token("host"))).await.body["blocked_words"],
        json!(["spam"])
    );
    let listed = env.get("/live/active", None).await.body;
    assert!(listed[0].get("blocked_words").is_none(), "the public list: {listed}");
}

/// Sockets are bounded (the audit's hole 6): only a present participant opens one, and each user
/// holds at most 3 to a session; a fourth closes their oldest (a reconnecting client always gets
/// in, a stale socket never locks it out).
#[tokio::test]
async fn sockets_need_presence_and_a_user_holds_at_most_three() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, json!({}), &["v1"]).await;
    assert_eq!(env.connect("lurker", &id).await.err(), Some(403), "not joined");
    let mut first = env.connect("v1", &id).await.unwrap();
    first.sync().await;
    let mut others = Vec::new();
    for _ in 0..3 {
        let mut s = env.connect("v1", &id).await.unwrap();
        s.sync().await;
        others.push(s);
    }
    assert!(first.closed().await, "the oldest socket is closed by the fourth");
    let store = &env.app.fx.store;
    let open = store.user_connections(&sid(&id), &uid("v1")).await.unwrap();
    assert_eq!(open.len(), 3, "{open:?}");
    let r = env
        .post(
            "/live/send-message",
            token("host"),
            json!({"session_id": id, "message": "to all three"}),
        )
        .await;
    assert_eq!(r.status, 201);
    for s in &mut others {
        s.until("the message", |e| e["data"]["message"] == "to all three").await;
    }
}

/// Rate limits are per user and kind, one count for HTTP and the socket: beyond one, `429` with
/// `Retry-After` (an `error` frame with `retry_after` on a socket) and nothing is done.
#[tokio::test]
async fn rate_limits_are_per_user_and_shared_by_http_and_sockets() {
    let mut config = e2e::test_config("trendke-live", "http://127.0.0.1:9");
    // Hour-long fixed windows: a test that straddled a window's end would see its count reset.
    config.tunables.rates = RateLimits::parse("chat=2/3600,stage=2/3600,presence=3/3600,frames=4/3600").unwrap();
    let env = Env::start_with(config).await;
    // Presence: v's first join, w's first.
    let id = session_with_viewers(&env, json!({}), &["v", "w"]).await;
    let mut v = env.connect("v", &id).await.unwrap();
    let chat = |who: &'static str, text: &'static str| {
        env.post(
            "/live/send-message",
            token(who),
            json!({"session_id": id, "message": text}),
        )
    };
    let refused = |r: &e2e::Reply| {
        assert_eq!(r.status, 429, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        let wait: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!((1..=3600).contains(&wait), "retry-after {wait}");
        assert_eq!(r.body["retry_after"], json!(wait));
    };

    // Chat: one over HTTP, one over the socket (frame 1), then the limit holds on both paths.
    assert_eq!(chat("v", "one").await.status, 201);
    v.send(json!({"action": "chat", "message": "two"})).await;
    v.until("the socket's message", |e| e["data"]["message"] == "two").await;
    refused(&chat("v", "three").await);
    v.send(json!({"action": "chat", "message": "four"})).await; // frame 2
    let error = v.until("the refusal", |e| e["type"] == "error").await;
    assert_eq!(error["data"]["status"], 429, "{error}");
    assert!(
        error["data"]["retry_after"]
            .as_u64()
            .is_some_and(|s| (1..=3600).contains(&s)),
        "{error}"
    );
    assert_eq!(chat("w", "another user's own limit").await.status, 201);
    assert_eq!(
        env.chat_texts(&id, "v").await,
        ["another user's own limit", "two", "one"],
        "refused messages were not stored"
    );

    // Frames: any action counts, `ping` too (frames 3 and 4 pass, 5 does not).
    v.sync().await;
    v.sync().await;
    v.send(json!({"action": "ping"})).await;
    let error = v.until("the frame refusal", |e| e["type"] == "error").await;
    assert_eq!(error["data"]["status"], 429, "{error}");
    assert!(
        error["data"]["detail"].as_str().unwrap().contains("socket frames"),
        "{error}"
    );

    // Guest requests and cancellations share one limit.
    let asked = env
        .post("/live/request-guest", token("v"), json!({"session_id": id}))
        .await;
    assert_eq!(asked.status, 201, "{}", asked.body);
    let request_id = asked.body["id"].as_str().unwrap().to_string();
    let cancelled = env
        .post(
            "/live/cancel-guest-request",
            token("v"),
            json!({"request_id": request_id}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    refused(
        &env.post("/live/request-guest", token("v"), json!({"session_id": id}))
            .await,
    );
    let pending = env
        .get(
            &format!("/live/guest-requests/{id}?status=pending"),
            Some(&token("host")),
        )
        .await;
    assert_eq!(
        pending.body["requests"],
        json!([]),
        "the refused request was not created"
    );

    // Joins and leaves: v's join above, a leave and a join again, then no more.
    assert_eq!(
        env.post("/live/leave", token("v"), json!({"session_id": id}))
            .await
            .status,
        200
    );
    assert_eq!(
        env.post("/live/join", token("v"), json!({"session_id": id}))
            .await
            .status,
        200
    );
    refused(&env.post("/live/leave", token("v"), json!({"session_id": id})).await);
    let present = env
        .get(&format!("/live/participants/{id}"), Some(&token("host")))
        .await
        .body;
    assert!(
        present.as_array().unwrap().iter().any(|p| p["user_id"] == "v"),
        "the refused leave left v present: {present}"
    );
}

/// A socket whose connection item is gone (forgotten after a 410, or a kick that raced its
/// `$connect`) receives nothing: its next frame closes it instead of leaving it open.
#[tokio::test]
async fn a_socket_nobody_knows_of_is_closed_at_its_next_frame() {
    let env = Env::start().await;
    let id = session_with_viewers(&env, json!({}), &["vic"]).await;
    let mut vic = env.connect("vic", &id).await.unwrap();
    vic.sync().await;
    let store = &env.app.fx.store;
    let conns = store.user_connections(&sid(&id), &uid("vic")).await.unwrap();
    assert_eq!(conns.len(), 1);
    store.delete_connection(&conns[0].connection_id).await.unwrap();
    vic.send(json!({"action": "ping"})).await;
    assert!(vic.closed().await, "closed, not left open receiving nothing");
}
