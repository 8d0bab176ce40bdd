//! Analytics end to end: a scripted session on the app's clock, held and moved to known times
//! (joins, leaves, a rejoin, a guest on stage, chat, reactions, a gift and a tip), whose
//! analytics must equal what the script computes itself, exactly — live, ended, and summed over
//! the host's sessions.

use std::time::Duration;

use e2e::{now, sign, token, Env, JWT_SECRET};
use reqwest::Method;
use serde_json::{json, Value};
use shared::domain::time::Timestamp;

/// The script's clock: seconds since the session started.
struct Script<'a> {
    env: &'a Env,
    at: u64,
}

impl Script<'_> {
    /// Moves the app's clock to `t` seconds after the start.
    fn to(&mut self, t: u64) {
        assert!(t >= self.at, "the script only moves forward");
        self.env.app.fx.clock.advance(Duration::from_secs(t - self.at));
        self.at = t;
    }
}

async fn ok(r: e2e::Reply, what: &str) -> Value {
    assert!((200..300).contains(&r.status), "{what}: {} {}", r.status, r.body);
    r.body
}

async fn analytics(env: &Env, path: &str) -> Value {
    ok(env.get(path, Some(&token("host"))).await, path).await
}

#[tokio::test]
async fn a_scripted_sessions_analytics_are_exactly_what_the_script_counts() {
    let (_sfu, env) = Env::with_sfu().await;
    let t0 = Timestamp::parse("2026-12-06T20:00:00.000000Z").unwrap();
    env.app.fx.clock.hold_at(t0);
    let mut s = Script { env: &env, at: 0 };
    let id = env.start_session("host", json!({"require_approval": false})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let join = |u: &'static str| env.post("/live/join", token(u), json!({"session_id": id}));
    let leave = |u: &'static str| env.post("/live/leave", token(u), json!({"session_id": id}));

    s.to(10);
    ok(join("v1").await, "v1 joins").await;
    s.to(20);
    ok(join("v2").await, "v2 joins").await;
    s.to(30);
    ok(join("v3").await, "v3 joins").await;
    s.to(70);
    ok(leave("v1").await, "v1 leaves").await;
    s.to(80);
    ok(join("v1").await, "v1 is back").await;
    s.to(85);
    for text in ["hi", "again"] {
        ok(env.send_message("v1", &id, text).await, "v1 chats").await;
    }
    s.to(90);
    let asked = ok(
        env.post("/live/request-guest", token("v2"), json!({"session_id": id}))
            .await,
        "v2 asks",
    )
    .await;
    assert_eq!(asked["status"], "approved", "no approval needed: on stage at once");
    s.to(125);
    ok(env.send_message("v3", &id, "minute two").await, "v3 chats").await;
    for kind in ["heart", "heart", "fire", "heart"] {
        ok(
            env.post(
                "/live/react",
                token("v3"),
                json!({"session_id": id, "reaction_type": kind}),
            )
            .await,
            "v3 reacts",
        )
        .await;
    }
    let service = sign(
        json!({"sub": "billing", "exp": now() + 3600, "role": "service_role"}),
        JWT_SECRET,
    );
    let credit = json!({"user_id": "v3", "coins": 500, "reference": "analytics-1"});
    ok(
        env.post_keyed("/live/wallet/credit", &service, Some(credit), "credit-1")
            .await,
        "credit",
    )
    .await;
    let tip = json!({"session_id": id, "coins": 50});
    ok(
        env.post_keyed("/live/tip", token("v3"), Some(tip), "tip-1").await,
        "v3 tips",
    )
    .await;
    let gift = json!({"session_id": id, "gift_id": "rose", "quantity": 3});
    ok(
        env.post_keyed("/live/send-gift", token("v3"), Some(gift), "gift-1")
            .await,
        "v3 gifts",
    )
    .await;
    s.to(150);
    ok(leave("v2").await, "v2 leaves the stage and the session").await;
    s.to(200);

    // Present seconds: v1 (70 − 10) + (200 − 80) = 180, v2 150 − 20 = 130, v3 200 − 30 = 170.
    let live = analytics(&env, &format!("/live/analytics/{id}")).await;
    let expected = |views: [f64; 3], minutes: &[i64], chats: &[i64], duration: i64| {
        let mut sorted = views;
        sorted.sort_by(f64::total_cmp);
        json!({
            "sessions": 1,
            "duration_seconds": duration,
            "peak_viewers": 3,
            "unique_viewers": 3,
            "average_view_seconds": views.iter().sum::<f64>() / 3.0,
            "median_view_seconds": sorted[1],
            "viewers_per_minute": minutes,
            "guests_on_stage": 1,
            "stage_seconds": 60.0,
            "guest_request_rate": 1.0 / 3.0,
            "chat_messages": 3,
            "chat_per_minute": chats,
            "reactions": {"heart": 3, "fire": 1, "clap": 0, "wow": 0, "sad": 0},
            "gift_revenue": 3,
            "tips": 50,
            "tickets": 0,
        })
    };
    let mut want = expected([180.0, 130.0, 170.0], &[3, 3, 2, 2], &[0, 2, 1, 0], 200);
    want["top_gifters"] = json!([{"user_id": "v3", "username": "v3-name", "coins": 53}]);
    assert_eq!(live, want);

    // Ended at 260: those still present are counted to the end.
    s.to(260);
    let ended = env.post(&format!("/live/end/{id}"), token("host"), json!({})).await;
    assert!(matches!(ended.status, 200 | 502), "{}", ended.body);
    s.to(900);
    let after = analytics(&env, &format!("/live/analytics/{id}")).await;
    let mut want = expected([240.0, 130.0, 230.0], &[3, 3, 2, 2, 2], &[0, 2, 1, 0, 0], 260);
    want["top_gifters"] = json!([{"user_id": "v3", "username": "v3-name", "coins": 53}]);
    assert_eq!(after, want, "the clock ran on after the end; the figures did not");

    // Across the host's sessions: this one alone in the range, per-session ranking left out.
    let range = analytics(
        &env,
        "/live/analytics?from=2026-12-06T19:00:00Z&to=2026-12-06T21:00:00Z",
    )
    .await;
    let mut summed = expected([240.0, 130.0, 230.0], &[3, 3, 2, 2, 2], &[0, 2, 1, 0, 0], 260);
    summed["top_gifters"] = json!([]);
    assert_eq!(range, summed);
    let empty = analytics(
        &env,
        "/live/analytics?from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z",
    )
    .await;
    assert_eq!(
        (empty["sessions"].clone(), empty["unique_viewers"].clone()),
        (json!(0), json!(0))
    );

    // Only the host reads a session's; a bad range is 400.
    let other = env
        .call(Method::GET, &format!("/live/analytics/{id}"), Some(&token("v1")), None)
        .await;
    assert_eq!(other.status, 403);
    let bad = env.get("/live/analytics?from=yesterday", Some(&token("host"))).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("from")));
}
