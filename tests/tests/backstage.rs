//! Backstage end to end: unlisted and closed to viewers while the host and invited guests get
//! ready, listed and open once live; left alone too long, it ends by itself.

use e2e::{token, Env, Reply};
use serde_json::{json, Value};
use shared::adapter::endpoints::Endpoint;
use shared::domain::time::Timestamp;

async fn listed(env: &Env, id: &str) -> bool {
    let r = env.get("/live/active", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().unwrap().iter().any(|s| s["id"] == id)
}

async fn join(env: &Env, user: &str, id: &str) -> Reply {
    env.post("/live/join", token(user), json!({"session_id": id})).await
}

async fn status(env: &Env, id: &str) -> Value {
    env.get(&format!("/live/session/{id}"), None).await.body["status"].clone()
}

#[tokio::test]
async fn backstage_is_closed_to_viewers_until_the_host_goes_live() {
    let (_sfu, env) = Env::with_sfu().await;
    let started = env.start_session("host", json!({"backstage": true})).await;
    let id = started["id"].as_str().unwrap().to_string();
    assert_eq!(started["status"], "backstage");
    assert!(!listed(&env, &id).await, "backstage is not listed");

    let refused = join(&env, "viewer", &id).await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (409, Some("backstage")),
        "{}",
        refused.body
    );
    assert_eq!(
        env.connect("viewer", &id).await.err(),
        Some(403),
        "no socket without a join"
    );

    // The host invites a guest who has not joined: the invitation admits them.
    let invitation = env
        .post(
            "/live/invite-guest",
            token("host"),
            json!({"session_id": id, "user_id": "guest"}),
        )
        .await;
    assert_eq!(invitation.status, 201, "{}", invitation.body);
    let joined = join(&env, "guest", &id).await;
    assert_eq!(joined.status, 200, "invited guests are admitted: {}", joined.body);
    let accepted = env
        .post(
            "/live/respond-invite",
            token("guest"),
            json!({"request_id": invitation.body["id"], "action": "accepted"}),
        )
        .await;
    assert_eq!(accepted.body["status"], "approved", "{}", accepted.body);
    let on_stage = join(&env, "guest", &id).await;
    assert_eq!(
        on_stage.body["role"], "guest",
        "a fresh token to test their media: {}",
        on_stage.body
    );
    let mut guest = env.connect("guest", &id).await.unwrap();
    assert_eq!(join(&env, "viewer", &id).await.status, 409, "still backstage");
    assert_eq!(
        env.post(&format!("/live/go-live/{id}"), token("guest"), json!({}))
            .await
            .status,
        403,
        "only the host"
    );

    let before = Timestamp::now();
    let live = env.post(&format!("/live/go-live/{id}"), token("host"), json!({})).await;
    assert_eq!(live.status, 200, "{}", live.body);
    assert_eq!(live.body["status"], "live");
    let started_at = Timestamp::parse(live.body["started_at"].as_str().unwrap()).unwrap();
    assert!(started_at >= before, "started_at is when it went live");
    let e = guest.until("session.live", |e| e["type"] == "session.live").await;
    assert_eq!(e["data"]["session_id"], id.as_str());
    assert!(listed(&env, &id).await, "listed once live");
    assert_eq!(join(&env, "viewer", &id).await.status, 200, "open to viewers");
    let again = env.post(&format!("/live/go-live/{id}"), token("host"), json!({})).await;
    assert_eq!(
        (again.status, again.body["started_at"].clone()),
        (200, live.body["started_at"].clone()),
        "a repeat changes nothing"
    );
}

#[tokio::test]
async fn a_session_left_backstage_ends_by_itself() {
    let env = Env::start().await;
    let now = Timestamp::now();
    let id = env.start_session("host", json!({"backstage": true})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let early = env
        .fire(Endpoint::EndAbandoned, &now.plus_seconds(3_500))
        .await
        .unwrap();
    assert_eq!(early["backstage_ended"], json!([]), "{early}");
    assert_eq!(status(&env, &id).await, "backstage");
    let late = env
        .fire(Endpoint::EndAbandoned, &now.plus_seconds(3_660))
        .await
        .unwrap();
    assert_eq!(late["backstage_ended"], json!([id]), "{late}");
    assert_eq!(status(&env, &id).await, "ended");
    // Its host is not blocked from going live again.
    let again = env
        .post("/live/start", token("host"), json!({"title": "take two"}))
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
}
