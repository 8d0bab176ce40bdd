//! Moderation end to end: chat timeouts (on the app's clock, moved on instead of slept), deleted
//! messages, the pinned message and its expiry, each told to the sockets and on the audit trail.

use std::time::Duration;

use e2e::{token, Env};
use reqwest::Method;
use serde_json::{json, Value};

async fn say(env: &Env, id: &str, user: &str, text: &str) -> Value {
    let r = env.send_message(user, id, text).await;
    assert_eq!(r.status, 201, "{user}: {}", r.body);
    r.body
}

async fn audit_actions(env: &Env, id: &str) -> Vec<String> {
    let r = env.get(&format!("/live/audit/{id}"), Some(&token("host"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

async fn timeout(env: &Env, id: &str, by: &str, user: &str, seconds: i64) -> e2e::Reply {
    env.post(
        "/live/chat-timeout",
        token(by),
        json!({"session_id": id, "user_id": user, "seconds": seconds}),
    )
    .await
}

#[tokio::test]
async fn a_timed_out_user_cannot_chat_until_the_timeout_passes() {
    let env = Env::start().await;
    let id = env.live_with_viewers("host", json!({}), &["v1", "v2"]).await;
    let mut v1 = env.connect("v1", &id).await.unwrap();
    // Held still: the seconds the steps below take on a loaded machine must not count against
    // the timeout the test moves through.
    env.app.fx.clock.hold_at(shared::domain::time::Timestamp::now());

    let set = timeout(&env, &id, "host", "v1", 60).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert!(set.body["until"].is_string());
    let told = v1.until("chat.timeout", |e| e["type"] == "chat.timeout").await;
    assert_eq!(told["data"]["seconds"], 60);

    let refused = env.send_message("v1", &id, "let me in").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.header("content-type"), Some("application/problem+json"));
    assert_eq!(refused.body["code"], "chat-timeout");
    let left: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((59..=60).contains(&left), "time left {left}");
    assert_eq!(refused.body["retry_after"], left);
    // The socket's chat action is the same rule.
    v1.send(json!({"action": "chat", "session_id": id, "message": "over the socket"}))
        .await;
    let error = v1.until("an error frame", |e| e["type"] == "error").await;
    assert_eq!(error["data"]["code"], "chat-timeout");
    say(&env, &id, "v2", "others still chat").await;

    env.app.fx.clock.advance(Duration::from_secs(59));
    let almost = env.send_message("v1", &id, "now?").await;
    assert_eq!(almost.status, 403, "a second is left: {}", almost.body);
    assert_eq!(almost.header("retry-after"), Some("1"));
    env.app.fx.clock.advance(Duration::from_secs(1));
    say(&env, &id, "v1", "back").await;

    // Lifted early with 0.
    assert_eq!(timeout(&env, &id, "host", "v1", 3600).await.status, 200);
    let lifted = timeout(&env, &id, "host", "v1", 0).await;
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    assert!(lifted.body["until"].is_null());
    // A second on, so that the history's order (by time) is defined.
    env.app.fx.clock.advance(Duration::from_secs(1));
    say(&env, &id, "v1", "lifted").await;
    assert_eq!(
        env.chat_texts(&id, "host").await,
        ["lifted", "back", "others still chat"]
    );

    // Who may, whom, and for how long.
    assert_eq!(timeout(&env, &id, "v2", "v1", 60).await.status, 403, "viewers cannot");
    assert_eq!(timeout(&env, &id, "host", "host", 60).await.status, 400, "not oneself");
    assert_eq!(timeout(&env, &id, "host", "nobody", 60).await.status, 404);
    let long = timeout(&env, &id, "host", "v1", 86_401).await;
    assert_eq!((long.status, long.body["field"].as_str()), (400, Some("seconds")));
    assert_eq!(timeout(&env, &id, "host", "v1", -1).await.status, 400);
    assert_eq!(
        audit_actions(&env, &id).await,
        ["chat.timeout", "chat.timeout", "chat.timeout"],
        "every timeout set or lifted, nothing refused"
    );
}

#[tokio::test]
async fn a_deleted_message_disappears_and_every_client_is_told() {
    let env = Env::start().await;
    let id = env.live_with_viewers("host", json!({}), &["v1", "v2"]).await;
    let mut sockets = vec![
        env.connect("host", &id).await.unwrap(),
        env.connect("v1", &id).await.unwrap(),
        env.connect("v2", &id).await.unwrap(),
    ];
    let m1 = say(&env, &id, "v1", "something rude").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m2 = say(&env, &id, "v2", "my typo").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let delete = |by: &'static str, message: String| {
        let path = format!("/live/messages/{id}/{message}");
        let env = &env;
        async move { env.call(Method::DELETE, &path, Some(&token(by)), None).await }
    };

    assert_eq!(
        delete("v1", m2.clone()).await.status,
        403,
        "not one's own, not a moderator"
    );
    let deleted = delete("host", m1.clone()).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["deleted_by"], "host");
    for s in &mut sockets {
        let e = s.until("chat.deleted", |e| e["type"] == "chat.deleted").await;
        assert_eq!(e["data"]["message_id"], m1.as_str());
    }
    assert_eq!(env.chat_texts(&id, "host").await, ["my typo"]);
    assert_eq!(delete("host", m1.clone()).await.status, 404, "already deleted");
    assert_eq!(delete("v2", m2.clone()).await.status, 200, "its author");
    assert!(env.chat_texts(&id, "host").await.is_empty());
    let bad = env
        .call(
            Method::DELETE,
            &format!("/live/messages/{id}/nope"),
            Some(&token("host")),
            None,
        )
        .await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("message_id")));
    assert_eq!(
        audit_actions(&env, &id).await,
        ["chat.delete"],
        "the moderator's delete; an author's own is not moderation"
    );
}

#[tokio::test]
async fn a_pinned_message_shows_in_the_detail_and_expires() {
    let env = Env::start().await;
    let id = env.live_with_viewers("host", json!({}), &["v1"]).await;
    let mut viewer = env.connect("v1", &id).await.unwrap();
    let m = say(&env, &id, "v1", "read the rules").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pin_path = format!("/live/pin/{id}");
    let pin = |by: &'static str, body: Value| {
        let path = pin_path.clone();
        let env = &env;
        async move { env.call(Method::PUT, &path, Some(&token(by)), Some(body)).await }
    };
    let pinned_now = || async {
        let r = env.get(&format!("/live/session/{id}"), Some(&token("v1"))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["pinned_message"].clone()
    };

    assert_eq!(
        pin("v1", json!({"message_id": m})).await.status,
        403,
        "viewers cannot pin"
    );
    let bad = pin("host", json!({"message_id": m, "expires_in_seconds": 0})).await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (400, Some("expires_in_seconds"))
    );
    let unknown = pin("host", json!({"message_id": uuid::Uuid::now_v7().to_string()})).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);

    let pinned = pin("host", json!({"message_id": m, "expires_in_seconds": 120})).await;
    assert_eq!(pinned.status, 200, "{}", pinned.body);
    let e = viewer.until("chat.pinned", |e| e["type"] == "chat.pinned").await;
    assert_eq!(e["data"]["message"]["id"], m.as_str());
    assert_eq!(pinned_now().await["message"]["message"], "read the rules");
    env.app.fx.clock.advance(Duration::from_secs(119));
    assert_eq!(pinned_now().await["message"]["id"], m.as_str(), "still showing");
    env.app.fx.clock.advance(Duration::from_secs(1));
    assert!(pinned_now().await.is_null(), "expired");

    // Until unpinned.
    assert_eq!(pin("host", json!({"message_id": m})).await.status, 200);
    assert!(pinned_now().await["expires_at"].is_null());
    let unpin = || {
        let path = pin_path.clone();
        let env = &env;
        async move { env.call(Method::DELETE, &path, Some(&token("host")), None).await }
    };
    let removed = unpin().await;
    assert_eq!(
        (removed.status, removed.body["message_id"].as_str()),
        (200, Some(m.as_str()))
    );
    let e = viewer.until("chat.unpinned", |e| e["type"] == "chat.unpinned").await;
    assert_eq!(e["data"]["message_id"], m.as_str());
    assert!(pinned_now().await.is_null());
    assert!(
        unpin().await.body["message_id"].is_null(),
        "nothing pinned: nothing changes"
    );

    // A deleted message takes its pin with it.
    assert_eq!(pin("host", json!({"message_id": m})).await.status, 200);
    let deleted = env
        .call(
            Method::DELETE,
            &format!("/live/messages/{id}/{m}"),
            Some(&token("v1")),
            None,
        )
        .await;
    assert_eq!((deleted.status, deleted.body["unpinned"].as_bool()), (200, Some(true)));
    assert!(pinned_now().await.is_null());
    assert_eq!(
        audit_actions(&env, &id).await,
        ["chat.pin", "chat.unpin", "chat.pin", "chat.pin"],
        "newest first; the author's delete is not moderation"
    );

    // No SFU in this stack: the end stands and says the room was not deleted (502).
    let ended = env.post(&format!("/live/end/{id}"), token("host"), json!({})).await;
    assert!(matches!(ended.status, 200 | 502), "{}", ended.body);
    let late = pin("host", json!({"message_id": m})).await;
    assert_eq!((late.status, late.body["code"].as_str()), (409, Some("session-ended")));
}
