//! Live settings end to end: bounds kept by the write's condition (409), every change pushed and
//! enforced from its answer on.

use e2e::{token, Env, Reply};
use reqwest::Method;
use serde_json::{json, Value};

async fn patch(env: &Env, by: &str, id: &str, body: Value) -> Reply {
    env.call(
        Method::PATCH,
        &format!("/live/settings/{id}"),
        Some(&token(by)),
        Some(body),
    )
    .await
}

async fn detail(env: &Env, id: &str) -> Value {
    let r = env.get(&format!("/live/session/{id}"), Some(&token("host"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn limits_are_never_lowered_below_the_session_now() {
    let (_sfu, env) = Env::with_sfu().await;
    let id = env
        .live_with_viewers(
            "host",
            json!({"max_guests": 3, "require_approval": false}),
            &["g1", "g2", "v3"],
        )
        .await;
    for g in ["g1", "g2"] {
        let r = env
            .post("/live/request-guest", token(g), json!({"session_id": id}))
            .await;
        assert_eq!(
            (r.status, r.body["status"].as_str()),
            (201, Some("approved")),
            "{}",
            r.body
        );
    }

    let low = patch(&env, "host", &id, json!({"max_guests": 1})).await;
    assert_eq!(
        (low.status, low.body["code"].as_str()),
        (409, Some("below-guest-count")),
        "{}",
        low.body
    );
    let few = patch(&env, "host", &id, json!({"max_participants": 2, "title": "renamed"})).await;
    assert_eq!(
        (few.status, few.body["code"].as_str()),
        (409, Some("below-viewer-count")),
        "{}",
        few.body
    );
    let unchanged = detail(&env, &id).await;
    assert_eq!(
        (
            unchanged["max_guests"].as_u64(),
            unchanged["max_participants"].as_u64(),
            unchanged["title"].as_str()
        ),
        (Some(3), Some(1000), Some("host's live")),
        "a refused change changes nothing"
    );

    let ok = patch(&env, "host", &id, json!({"max_guests": 2, "max_participants": 3})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        (ok.body["max_guests"].as_u64(), ok.body["max_participants"].as_u64()),
        (Some(2), Some(3))
    );
    // Enforced at once: the stage is full at 2, the audience at 3.
    let late = env
        .post("/live/request-guest", token("v3"), json!({"session_id": id}))
        .await;
    assert_eq!(
        late.body["status"], "pending",
        "no free slot: the request waits: {}",
        late.body
    );
    let full = env.post("/live/join", token("v4"), json!({"session_id": id})).await;
    assert_eq!((full.status, full.body["code"].as_str()), (409, Some("session-full")));
}

#[tokio::test]
async fn every_change_is_pushed_and_enforced_at_once() {
    let env = Env::start().await;
    let id = env.live_with_viewers("host", json!({}), &["v1"]).await;
    let mut viewer = env.connect("v1", &id).await.unwrap();
    for text in ["one", "two"] {
        assert_eq!(env.send_message("v1", &id, text).await.status, 201, "no slow mode yet");
    }

    let slow = patch(&env, "host", &id, json!({"chat_slow_mode": 30})).await;
    assert_eq!(
        (slow.status, slow.body["chat_slow_mode"].as_u64()),
        (200, Some(30)),
        "{}",
        slow.body
    );
    let e = viewer
        .until("settings.updated", |e| e["type"] == "settings.updated")
        .await;
    assert_eq!(e["data"]["changed"], json!(["chat_slow_mode"]));
    assert_eq!(e["data"]["settings"]["chat_slow_mode"], 30);
    let note = viewer
        .until("the system message", |e| {
            e["type"] == "chat.message" && e["data"]["message_type"] == "system"
        })
        .await;
    assert!(
        note["data"]["message"].as_str().unwrap().contains("slow mode is on"),
        "{note}"
    );
    assert_eq!(env.send_message("v1", &id, "three").await.status, 201);
    assert_eq!(
        env.send_message("v1", &id, "four").await.status,
        429,
        "slow mode mid-session"
    );

    assert_eq!(
        patch(&env, "host", &id, json!({"enable_chat": false})).await.status,
        200
    );
    assert_eq!(env.send_message("host", &id, "anyone?").await.status, 403, "chat off");
    assert_eq!(
        patch(&env, "host", &id, json!({"enable_chat": true, "chat_slow_mode": 0}))
            .await
            .status,
        200
    );

    let words = patch(
        &env,
        "host",
        &id,
        json!({"blocked_words": ["Spam"], "title": "New title"}),
    )
    .await;
    assert_eq!(words.status, 200, "{}", words.body);
    assert_eq!(words.body["blocked_words"], json!(["spam"]), "the host sees the list");
    let e = viewer
        .until("the words' update", |e| {
            e["type"] == "settings.updated" && e["data"]["changed"] == json!(["title", "blocked_words"])
        })
        .await;
    assert!(
        e["data"]["settings"].get("blocked_words").is_none(),
        "viewers never see the list: {e}"
    );
    assert_eq!(e["data"]["title"], "New title");
    assert_eq!(env.send_message("v1", &id, "buy SPAM").await.status, 400);
    assert_eq!(env.send_message("v1", &id, "fine").await.status, 201);
    assert_eq!(detail(&env, &id).await["title"], "New title");

    // Refused, nothing changed.
    assert_eq!(patch(&env, "v1", &id, json!({"title": "mine"})).await.status, 403);
    let unknown = patch(&env, "host", &id, json!({"access": "paid"})).await;
    assert_eq!(unknown.status, 400, "who may join is fixed at start: {}", unknown.body);
    let nothing = patch(&env, "host", &id, json!({})).await;
    assert_eq!((nothing.status, nothing.body["field"].as_str()), (400, Some("body")));
    let bad = patch(&env, "host", &id, json!({"chat_slow_mode": 301})).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("chat_slow_mode")));
    assert_eq!(detail(&env, &id).await["title"], "New title");
    let audit = env.get(&format!("/live/audit/{id}"), Some(&token("host"))).await;
    let changes = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "settings.update")
        .count();
    assert_eq!(changes, 4, "every applied change, nothing refused");
}
