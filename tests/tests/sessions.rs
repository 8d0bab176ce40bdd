//! End-to-end: the session API over real HTTP, through the local gateway, against moto.

use std::collections::HashSet;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use e2e::{now, sign, test_config, token, Env, Gate, LiveKit, Passage, JWT_SECRET, SFU_SECRET};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use shared::domain::config::SfuConfig;

fn problem(r: &e2e::Reply, status: u16) {
    assert_eq!(r.status, status, "body: {}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    for f in ["type", "title", "status", "detail"] {
        assert!(r.body.get(f).is_some(), "problem lacks {f}: {}", r.body);
    }
    assert_eq!(r.body["status"], status);
}

#[tokio::test]
async fn lifecycle_start_join_leave_end_with_exact_counts() {
    let (_sfu, env) = Env::with_sfu().await;
    let started = env
        .start_session("hana", json!({"max_guests": 4, "description": "tech talk"}))
        .await;
    let id = started["id"].as_str().unwrap().to_string();
    for f in [
        "room_name",
        "access_token",
        "host_username",
        "title",
        "viewer_count",
        "guest_count",
    ] {
        assert!(started.get(f).is_some(), "start response lacks {f}");
    }
    assert_eq!(started["host_username"], "hana-name");
    assert_eq!(started["viewer_count"], 0);
    assert_eq!(started["webrtc_config"]["participant_token"], started["access_token"]);

    // A host who is already live cannot start a second session.
    let again = env.post("/live/start", &token("hana"), json!({"title": "again"})).await;
    problem(&again, 409);
    assert_eq!(again.body["code"], "already-live");

    for viewer in ["vic", "wes"] {
        let j = env.post("/live/join", &token(viewer), json!({"session_id": id})).await;
        assert_eq!(j.status, 200, "{}", j.body);
        assert_eq!(j.body["role"], "viewer");
        assert_eq!(j.body["can_request_guest"], true);
        assert_eq!(j.body["room_name"], started["room_name"]);
        for f in ["server_url", "room_name", "participant_token", "ice_servers"] {
            assert!(j.body["webrtc_config"].get(f).is_some(), "webrtc_config lacks {f}");
        }
    }
    // Joining again while present is idempotent: same role, not counted twice.
    let rejoin = env.post("/live/join", &token("vic"), json!({"session_id": id})).await;
    assert_eq!((rejoin.status, rejoin.body["joined"].clone()), (200, json!(false)));

    let parts = env.get(&format!("/live/participants/{id}"), Some(&token("vic"))).await;
    assert_eq!(parts.status, 200);
    let mut roles: Vec<(String, String)> = parts
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user_id"].as_str().unwrap().into(),
                p["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        vec![
            ("hana".into(), "host".into()),
            ("vic".into(), "viewer".into()),
            ("wes".into(), "viewer".into())
        ]
    );
    for f in [
        "username",
        "status",
        "audio_enabled",
        "video_enabled",
        "screen_sharing",
        "joined_at",
    ] {
        assert!(parts.body[0].get(f).is_some(), "participant lacks {f}");
    }

    let detail = env.get(&format!("/live/session/{id}"), None).await;
    assert_eq!(detail.status, 200);
    assert_eq!(
        (detail.body["viewer_count"].clone(), detail.body["peak_viewers"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(detail.body["status"], "live");
    assert_eq!(detail.body["max_guests"], 4);
    assert_eq!(detail.body["description"], "tech talk");

    let active = env.get("/live/active", None).await;
    assert_eq!(active.status, 200);
    let listed = active
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .expect("listed");
    assert_eq!(listed["viewer_count"], 2);
    for f in [
        "host_username",
        "title",
        "guest_count",
        "max_guests",
        "allow_guests",
        "started_at",
    ] {
        assert!(listed.get(f).is_some(), "active entry lacks {f}");
    }

    let left = env.post("/live/leave", &token("wes"), json!({"session_id": id})).await;
    assert_eq!((left.status, left.body["left"].clone()), (200, json!(true)));
    let left_again = env.post("/live/leave", &token("wes"), json!({"session_id": id})).await;
    assert_eq!(
        (left_again.status, left_again.body["left"].clone()),
        (200, json!(false))
    );
    let detail = env.get(&format!("/live/session/{id}"), None).await;
    assert_eq!(
        (detail.body["viewer_count"].clone(), detail.body["peak_viewers"].clone()),
        (json!(1), json!(2))
    );

    // Only the host ends; unknown sessions are 404.
    problem(
        &env.post(&format!("/live/end/{id}"), &token("vic"), json!({})).await,
        403,
    );
    let unknown = uuid::Uuid::new_v4();
    problem(
        &env.post(&format!("/live/end/{unknown}"), &token("hana"), json!({}))
            .await,
        404,
    );

    let end = env.post(&format!("/live/end/{id}"), &token("hana"), json!({})).await;
    assert_eq!(end.status, 200, "{}", end.body);
    assert_eq!(end.body["message"], "Live session ended successfully");
    assert_eq!(end.body["session_id"], id.as_str());
    assert!(end.body["duration_seconds"].as_i64().unwrap() >= 0);
    let end_again = env.post(&format!("/live/end/{id}"), &token("hana"), json!({})).await;
    assert_eq!(
        (end_again.status, &end_again.body),
        (200, &end.body),
        "end is idempotent"
    );

    let detail = env.get(&format!("/live/session/{id}"), None).await;
    assert_eq!(detail.body["status"], "ended");
    assert_eq!(
        (detail.body["viewer_count"].clone(), detail.body["peak_viewers"].clone()),
        (json!(0), json!(2))
    );
    assert_eq!(detail.body["ended_at"], end.body["ended_at"]);
    let parts = env.get(&format!("/live/participants/{id}"), Some(&token("hana"))).await;
    assert_eq!(parts.body, json!([]), "nobody is present after end");
    let active = env.get("/live/active", None).await;
    assert!(
        active.body.as_array().unwrap().iter().all(|s| s["id"] != id.as_str()),
        "ended sessions are not listed"
    );

    // Joining or leaving an ended session; the host may go live again.
    problem(
        &env.post("/live/join", &token("vic"), json!({"session_id": id})).await,
        409,
    );
    assert_eq!(
        env.post("/live/leave", &token("vic"), json!({"session_id": id}))
            .await
            .body["left"],
        false
    );
    env.start_session("hana", json!({})).await;
}

#[tokio::test]
async fn concurrent_joins_respect_max_participants_exactly() {
    // A hundred joins at once queue behind each other in the one-request-at-a-time emulator: a
    // deadline above the template's 10 s, so that a slow machine tests the count, not its speed.
    let env = Env::start_with_timeout(
        test_config("trendke-live", "http://127.0.0.1:9"),
        Duration::from_secs(60),
    )
    .await;
    let id = env.start_session("host", json!({"max_participants": 60})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let joins = (0..100).map(|i| {
        let (env, id) = (&env, id.clone());
        async move {
            env.post("/live/join", &token(&format!("viewer{i}")), json!({"session_id": id}))
                .await
        }
    });
    let replies = join_all(joins).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let full: Vec<_> = replies.iter().filter(|r| r.status != 200).collect();
    assert_eq!(ok, 60);
    for r in &full {
        problem(r, 409);
        assert_eq!(r.body["code"], "session-full");
    }
    let detail = env.get(&format!("/live/session/{id}"), None).await;
    assert_eq!(
        (detail.body["viewer_count"].clone(), detail.body["peak_viewers"].clone()),
        (json!(60), json!(60))
    );
}

#[tokio::test]
async fn peak_is_the_true_maximum_across_leaves_and_joins() {
    let env = Env::start().await;
    let id = env.start_session("host", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let join = |u: &str| env.post("/live/join", token(u), json!({"session_id": id}));
    let leave = |u: &str| env.post("/live/leave", token(u), json!({"session_id": id}));
    for u in ["a", "b", "c"] {
        assert_eq!(join(u).await.status, 200);
    }
    leave("a").await;
    leave("b").await;
    assert_eq!(join("d").await.status, 200);
    assert_eq!(join("a").await.status, 200, "a user who left may join again");
    let d = env.get(&format!("/live/session/{id}"), None).await.body;
    assert_eq!(
        (d["viewer_count"].clone(), d["peak_viewers"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(join("e").await.status, 200);
    let d = env.get(&format!("/live/session/{id}"), None).await.body;
    assert_eq!(
        (d["viewer_count"].clone(), d["peak_viewers"].clone()),
        (json!(4), json!(4))
    );
}

#[tokio::test]
async fn validation_errors_name_the_field_and_change_nothing() {
    let env = Env::start().await;
    let t = token("val");
    let long = "x".repeat(256);
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "title"),
        (json!({"title": ""}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": long}), "title"),
        (json!({"title": "a\u{202E}b"}), "title"),
        (json!({"title": 5}), "title"),
        (json!({"title": "t", "description": "d".repeat(2001)}), "description"),
        (json!({"title": "t", "session_type": "radio"}), "session_type"),
        (json!({"title": "t", "max_guests": 0}), "max_guests"),
        (json!({"title": "t", "max_guests": 21}), "max_guests"),
        (json!({"title": "t", "max_guests": -1}), "max_guests"),
        (json!({"title": "t", "max_guests": "5"}), "max_guests"),
        (json!({"title": "t", "max_guests": 2.5}), "max_guests"),
        (json!({"title": "t", "max_participants": 0}), "max_participants"),
        (json!({"title": "t", "max_participants": 10001}), "max_participants"),
        (
            json!({"title": "t", "max_participants": 99999999999u64}),
            "max_participants",
        ),
        (json!({"title": "t", "chat_slow_mode": 301}), "chat_slow_mode"),
        (json!({"title": "t", "allow_guests": "yes"}), "allow_guests"),
        (json!({"title": "t", "require_approval": 1}), "require_approval"),
        (
            json!({"title": "t", "enable_chat": null, "enable_gifts": "no"}),
            "enable_gifts",
        ),
        (json!({"title": "t", "guest_audio_default": []}), "guest_audio_default"),
        (json!({"title": "t", "guest_video_default": {}}), "guest_video_default"),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let r = env.post("/live/start", &t, body.clone()).await;
        problem(&r, 400);
        assert_eq!(r.body["field"], field, "for {body}: {}", r.body);
    }
    // Not JSON at all, or no body.
    let raw = env
        .client
        .post(format!("{}/live/start", env.base))
        .bearer_auth(&t)
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let raw = env
        .client
        .post(format!("{}/live/start", env.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    // Nothing was created: the caller is not live.
    assert_eq!(env.get("/live/active", None).await.body, json!([]));

    let r = env.post("/live/join", &t, json!({"session_id": "not-a-uuid"})).await;
    problem(&r, 400);
    assert_eq!(r.body["field"], "session_id");
    let r = env.post("/live/join", &t, json!({"session_id": 42})).await;
    assert_eq!(r.body["field"], "session_id");
    let r = env.post("/live/join", &t, json!({})).await;
    assert_eq!(r.body["field"], "session_id");
    for q in ["limit=0", "limit=101", "limit=abc", "cursor=nope", "cursor=e30"] {
        let r = env.get(&format!("/live/active?{q}"), None).await;
        problem(&r, 400);
        assert!(
            r.body["field"] == "limit" || r.body["field"] == "cursor",
            "{q}: {}",
            r.body
        );
    }
    let r = env.get("/live/session/nope", None).await;
    assert_eq!((r.status, r.body["field"].clone()), (400, json!("session_id")));
}

#[tokio::test]
async fn authentication_is_required_and_checked() {
    let env = Env::start().await;
    let id = env.start_session("host", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let expired = sign(json!({"sub": "u", "exp": now() - 120}), JWT_SECRET);
    let forged = sign(json!({"sub": "u", "exp": now() + 600}), "not-the-secret");
    let no_sub = sign(json!({"exp": now() + 600}), JWT_SECRET);
    let no_exp = sign(json!({"sub": "u"}), JWT_SECRET);
    let endpoints: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, "/live/start".into(), Some(json!({"title": "t"}))),
        (Method::POST, "/live/join".into(), Some(json!({"session_id": id}))),
        (Method::POST, "/live/leave".into(), Some(json!({"session_id": id}))),
        (Method::POST, format!("/live/end/{id}"), Some(json!({}))),
        (Method::GET, format!("/live/participants/{id}"), None),
    ];
    for (method, path, body) in &endpoints {
        for tok in [
            None,
            Some(expired.as_str()),
            Some(forged.as_str()),
            Some(no_sub.as_str()),
            Some(no_exp.as_str()),
            Some("garbage"),
        ] {
            let r = env.call(method.clone(), path, tok, body.clone()).await;
            problem(&r, 401);
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        }
    }
    // Public reads need no token.
    assert_eq!(env.get("/live/active", None).await.status, 200);
    assert_eq!(env.get(&format!("/live/session/{id}"), None).await.status, 200);
}

#[tokio::test]
async fn unknown_sessions_routes_and_methods() {
    let env = Env::start().await;
    let t = token("u");
    let unknown = uuid::Uuid::new_v4().to_string();
    problem(&env.post("/live/join", &t, json!({"session_id": unknown})).await, 404);
    problem(&env.post("/live/leave", &t, json!({"session_id": unknown})).await, 404);
    problem(&env.get(&format!("/live/session/{unknown}"), None).await, 404);
    problem(&env.get(&format!("/live/participants/{unknown}"), Some(&t)).await, 404);
    problem(&env.get("/live/nothing-here", None).await, 404);
    problem(&env.get("/", None).await, 404);
    let r = env.get("/live/start", Some(&t)).await;
    problem(&r, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    problem(
        &env.call(Method::DELETE, &format!("/live/session/{unknown}"), Some(&t), None)
            .await,
        405,
    );
}

fn sfu_claims(jwt: &str) -> Value {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_required_spec_claims(&["exp", "sub", "iss"]);
    jsonwebtoken::decode::<Value>(jwt, &jsonwebtoken::DecodingKey::from_secret(SFU_SECRET.as_bytes()), &v)
        .expect("SFU token verifies with the LiveKit secret")
        .claims
}

#[tokio::test]
async fn sfu_tokens_carry_exact_grants_per_role() {
    let env = Env::start().await;
    let started = env.start_session("host", json!({"session_type": "studio"})).await;
    let room = started["room_name"].as_str().unwrap();
    let host = sfu_claims(started["access_token"].as_str().unwrap());
    assert_eq!(host["sub"], "host");
    assert_eq!(host["name"], "host-name");
    assert_eq!(host["iss"], e2e::SFU_KEY);
    let ttl = host["exp"].as_i64().unwrap() - now();
    // At most five minutes by default: an unused token outlives a kick only that long.
    let default = SfuConfig::DEFAULT_TOKEN_TTL.as_secs() as i64;
    assert!(
        default <= 300 && (default - 10..=default).contains(&ttl),
        "short TTL: {ttl}"
    );
    assert_eq!(
        host["video"],
        json!({"roomJoin": true, "room": room, "roomAdmin": true, "canPublish": true, "canSubscribe": true,
               "canPublishData": true, "canPublishSources": ["camera", "microphone", "screen_share", "screen_share_audio"],
               "canUpdateOwnMetadata": false})
    );

    let joined = env
        .post("/live/join", &token("viewer"), json!({"session_id": started["id"]}))
        .await
        .body;
    let viewer = sfu_claims(joined["access_token"].as_str().unwrap());
    assert_eq!(viewer["sub"], "viewer");
    assert_eq!(
        viewer["video"],
        json!({"roomJoin": true, "room": room, "canPublish": false, "canSubscribe": true, "canPublishData": false,
               "canUpdateOwnMetadata": false})
    );
    // The host re-joining gets a fresh host token, not a viewer one.
    let rejoin = env
        .post("/live/join", &token("host"), json!({"session_id": started["id"]}))
        .await
        .body;
    assert_eq!(rejoin["role"], "host");
    assert_eq!(
        sfu_claims(rejoin["access_token"].as_str().unwrap())["video"]["roomAdmin"],
        true
    );

    let voice = env.start_session("speaker", json!({"session_type": "voice"})).await;
    let v = sfu_claims(voice["access_token"].as_str().unwrap());
    assert_eq!(v["video"]["canPublishSources"], json!(["microphone"]));
    assert_eq!(v["video"]["room"], voice["room_name"]);
}

#[tokio::test]
async fn active_list_pages_newest_first_without_repeats() {
    let env = Env::start().await;
    let mut started = Vec::new();
    for i in 0..5 {
        started.push(
            env.start_session(&format!("h{i}"), json!({})).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let r = env.get(&format!("/live/active?limit=2{q}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.as_array().unwrap().len() <= 2);
        seen.extend(
            r.body
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string()),
        );
        pages += 1;
        match r.header("x-next-cursor") {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 10);
    }
    started.reverse();
    assert_eq!(seen, started, "newest first, each exactly once");
    // A cursor for another partition is refused.
    let forged = URL_SAFE_NO_PAD.encode(br#"{"gsi1pk":"X","gsi1sk":"a","pk":"b","sk":"c"}"#);
    problem(&env.get(&format!("/live/active?cursor={forged}"), None).await, 400);
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 5);
}

#[tokio::test]
async fn cors_follows_the_template() {
    let env = Env::start().await;
    let pre = env
        .client
        .request(Method::OPTIONS, format!("{}/live/start", env.base))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    let h = pre.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    let allowed = h["access-control-allow-headers"].to_str().unwrap();
    assert!(
        allowed.contains("authorization") && allowed.contains("idempotency-key"),
        "{allowed}"
    );
    let r = env
        .client
        .get(format!("{}/live/active", env.base))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-next-cursor"));
}

#[tokio::test]
async fn the_gateway_serves_the_committed_openapi_document() {
    let env = Env::start().await;
    let r = env
        .client
        .get(format!("{}/openapi.json", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let served = r.text().await.unwrap();
    let committed = std::fs::read_to_string(e2e::repo_root().join("docs/openapi.json")).unwrap();
    assert_eq!(served, committed);
}

/// Authentication fails closed (the audit's hole 9): oversized tokens, and profile claims that
/// could disguise what others see (control or bidi characters, overlong names, avatars that are
/// not https URLs), are refused with 401.
#[tokio::test]
async fn oversized_tokens_and_unsafe_profile_claims_are_refused() {
    let env = Env::start().await;
    let claims = |extra: Value| {
        let mut c = json!({"sub": "mallory", "exp": now() + 600});
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        sign(c, JWT_SECRET)
    };
    let refused = [
        claims(json!({"padding": "x".repeat(10_000)})),
        claims(json!({"username": "alice\u{202E}nimda"})),
        claims(json!({"username": "line\nbreak"})),
        claims(json!({"username": "n".repeat(65)})),
        claims(json!({"avatar_url": "http://plain.example/a.png"})),
        claims(json!({"avatar_url": "javascript:alert(1)"})),
        claims(json!({"picture": format!("https://cdn.example/{}", "a".repeat(2100))})),
    ];
    for t in &refused {
        let r = env.post("/live/start", t, json!({"title": "t"})).await;
        assert_eq!(r.status, 401, "{}: {}", &t[..40.min(t.len())], r.body);
    }
    let fine = claims(json!({"username": "Mallory Ö", "avatar_url": "https://cdn.example/m.png"}));
    let r = env.post("/live/start", &fine, json!({"title": "t"})).await;
    assert_eq!(
        (r.status, r.body["host_username"].clone()),
        (201, json!("Mallory Ö")),
        "{}",
        r.body
    );
}

/// The text messages of a session's chat history, with their authors, oldest first.
async fn chat_texts(env: &Env, id: &str) -> Vec<(String, String)> {
    let history = env
        .get(&format!("/live/messages/{id}?limit=100"), Some(&token("ida")))
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    let mut texts: Vec<(String, String)> = history.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == "text")
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().into(),
                m["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    texts.reverse();
    texts
}

/// Retries are safe (the audit's hole 8): a state-changing `POST` retried with its
/// `Idempotency-Key` replays the first answer and does nothing again (no second session, message
/// or push); the key with another request is `422`; keys are per user; a refusal keeps nothing;
/// a storm of one retried request happens once.
#[tokio::test]
async fn a_retry_with_an_idempotency_key_replays_and_does_nothing_again() {
    let env = Env::start().await;
    let host = token("ida");
    let start = json!({"title": "Ida live", "session_type": "camera"});
    let first = env
        .post_keyed("/live/start", &host, Some(start.clone()), "start-1")
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = env
        .post_keyed("/live/start", &host, Some(start.clone()), "start-1")
        .await;
    assert_eq!(
        (again.status, &again.body),
        (201, &first.body),
        "the first answer, replayed"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("content-type"), Some("application/json"));
    // Without the key, the same request runs and is refused: the replay ran nothing.
    let unkeyed = env.post("/live/start", &host, start.clone()).await;
    problem(&unkeyed, 409);
    assert_eq!(unkeyed.body["code"], "already-live");
    let reused = env
        .post_keyed("/live/start", &host, Some(json!({"title": "Another"})), "start-1")
        .await;
    problem(&reused, 422);
    assert_eq!(reused.body["code"], "idempotency-key-reused");
    let id = first.body["id"].as_str().unwrap().to_string();

    assert_eq!(
        env.post("/live/join", token("vic"), json!({"session_id": id}))
            .await
            .status,
        200
    );
    let mut socket = env.connect("ida", &id).await.expect("the host's socket");
    let once = json!({"session_id": id, "message": "once"});
    let sent = env
        .post_keyed("/live/send-message", token("vic"), Some(once.clone()), "m-1")
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let resent = env
        .post_keyed("/live/send-message", token("vic"), Some(once.clone()), "m-1")
        .await;
    assert_eq!((resent.status, &resent.body), (201, &sent.body));
    assert_eq!(resent.header("idempotent-replayed"), Some("true"));
    // Keys are per user: the host's "m-1" is another request.
    let hosts = env
        .post_keyed("/live/send-message", &host, Some(once.clone()), "m-1")
        .await;
    assert_eq!(
        (hosts.status, hosts.header("idempotent-replayed")),
        (201, None),
        "{}",
        hosts.body
    );
    // The same key on another endpoint is another request.
    let react = json!({"session_id": id, "reaction_type": "heart"});
    let elsewhere = env.post_keyed("/live/react", token("vic"), Some(react), "m-1").await;
    problem(&elsewhere, 422);
    // A refusal changed nothing and keeps nothing: its retry runs.
    let hi = json!({"session_id": id, "message": "hi"});
    let refused = env
        .post_keyed("/live/send-message", token("sam"), Some(hi.clone()), "s-1")
        .await;
    problem(&refused, 403);
    assert_eq!(
        env.post("/live/join", token("sam"), json!({"session_id": id}))
            .await
            .status,
        200
    );
    let retried = env
        .post_keyed("/live/send-message", token("sam"), Some(hi.clone()), "s-1")
        .await;
    assert_eq!(
        (retried.status, retried.header("idempotent-replayed")),
        (201, None),
        "{}",
        retried.body
    );
    // A malformed key is refused, naming the header, and nothing runs.
    for bad in ["two words", &"k".repeat(256)] {
        let r = env
            .post_keyed(
                "/live/send-message",
                token("vic"),
                Some(json!({"session_id": id, "message": "bad"})),
                bad,
            )
            .await;
        problem(&r, 400);
        assert_eq!(r.body["field"], "Idempotency-Key");
    }
    // A storm of one request under one key: it happens once; the others replay it or wait.
    let storm = json!({"session_id": id, "message": "storm"});
    let answers =
        join_all((0..8).map(|_| env.post_keyed("/live/send-message", token("vic"), Some(storm.clone()), "m-2"))).await;
    let created: HashSet<String> = answers
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(created.len(), 1, "one message, every success the same");
    for r in &answers {
        assert!(
            r.status == 201 || (r.status == 409 && r.body["code"] == "idempotency-in-progress"),
            "{} {}",
            r.status,
            r.body
        );
    }

    let texts = chat_texts(&env, &id).await;
    let want: Vec<(String, String)> = [("vic", "once"), ("ida", "once"), ("sam", "hi"), ("vic", "storm")]
        .iter()
        .map(|(u, m)| (u.to_string(), m.to_string()))
        .collect();
    assert_eq!(texts, want, "each message stored once");
    socket.sync().await;
    let pushed: Vec<&str> = socket
        .of_type("chat.message")
        .iter()
        .filter(|e| e["data"]["message_type"] == "text")
        .filter_map(|e| e["data"]["message"].as_str())
        .collect();
    assert_eq!(pushed, ["once", "once", "hi", "storm"], "each message pushed once");
}

/// While the first request under a key runs (here: ending a session while the SFU is slow to
/// answer), a retry answers `409 idempotency-in-progress`; once it is done, the retry replays its
/// answer.
#[tokio::test]
async fn a_retry_while_the_first_request_runs_is_409() {
    let livekit = LiveKit::start(None).await;
    let sfu = Gate::start(Some(livekit.addr()), Passage::Hold).await;
    let env = Env::start_with(test_config("trendke-live", &sfu.url)).await;
    let id = env.start_session("ines", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (host, path) = (token("ines"), format!("/live/end/{id}"));
    let first = env.post_keyed(&path, &host, None, "end-1");
    let retry = async {
        // The first request holds the key once it waits on the SFU.
        sfu.accepted().await;
        let retry = env.post_keyed(&path, &host, None, "end-1").await;
        sfu.set(Passage::Open);
        retry
    };
    let (first, retry) = tokio::join!(first, retry);
    problem(&retry, 409);
    assert_eq!(retry.body["code"], "idempotency-in-progress");
    assert_eq!(first.status, 200, "{}", first.body);
    let after = env.post_keyed(&path, &host, None, "end-1").await;
    assert_eq!((after.status, &after.body), (200, &first.body));
    assert_eq!(after.header("idempotent-replayed"), Some("true"));
}

/// Keys expire (`IDEMPOTENCY_TTL_SECONDS`): a record past its time is ignored whether or not
/// DynamoDB's TTL has deleted it (moto never does), and the request runs again.
#[tokio::test]
async fn expired_idempotency_keys_run_again() {
    let mut config = test_config("trendke-live", "http://127.0.0.1:9");
    config.tunables.idempotency_ttl = std::time::Duration::ZERO;
    let env = Env::start_with(config).await;
    let id = env.start_session("ida", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let twice = json!({"session_id": id, "message": "twice"});
    for _ in 0..2 {
        let r = env
            .post_keyed("/live/send-message", token("ida"), Some(twice.clone()), "m-1")
            .await;
        assert_eq!((r.status, r.header("idempotent-replayed")), (201, None), "{}", r.body);
    }
    assert_eq!(chat_texts(&env, &id).await.len(), 2);
}

/// A forged cursor — well formed, in the right partition, but outside the query's sort-key range
/// — is a `400` naming the parameter, never a `500` from the database refusing it.
#[tokio::test]
async fn forged_cursors_outside_the_query_answer_400() {
    let env = Env::start().await;
    let id = env.start_session("hana", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        env.post("/live/join", &token("vic"), json!({"session_id": id}))
            .await
            .status,
        200
    );
    let cursor = |pk: String, sk: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!({"pk": pk, "sk": sk}).to_string())
    };
    let session_pk = format!("SESSION#{id}");
    let forged = [
        // The session's own item, not a participant.
        (
            format!("/live/participants/{id}?cursor={}", cursor(session_pk.clone(), "META")),
            "cursor",
        ),
        // A participant, handed to the requests' listing.
        (
            format!("/live/guest-requests/{id}?before={}", cursor(session_pk, "PART#vic")),
            "before",
        ),
        // A message key newer than the time the page is asked before.
        (
            format!("/live/messages/{id}?before={}", cursor(format!("CHAT#{id}"), "zzz")),
            "before",
        ),
    ];
    for (path, param) in forged {
        let r = env.get(&path, Some(&token("hana"))).await;
        assert_eq!(
            (r.status, r.body["field"].clone()),
            (400, json!(param)),
            "{path}: {}",
            r.body
        );
    }
}
