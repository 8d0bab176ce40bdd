//! End-to-end: guest requests, invitations and host controls over real HTTP, against moto and a
//! real livekit-server (participants here are not connected to it; `sfu_client.py` covers the
//! media side with a real LiveKit client).

use e2e::{test_config, token, Env, Gate};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

async fn live(env: &Env, host: &str, settings: Value, viewers: &[&str]) -> String {
    env.live_with_viewers(host, settings, viewers).await
}

async fn request(env: &Env, user: &str, id: &str, kind: &str) -> e2e::Reply {
    env.post(
        "/live/request-guest",
        token(user),
        json!({"session_id": id, "request_type": kind, "message": "can I join?"}),
    )
    .await
}

async fn respond(env: &Env, user: &str, request_id: &str, action: &str) -> e2e::Reply {
    env.post(
        "/live/respond-guest-request",
        token(user),
        json!({"request_id": request_id, "action": action}),
    )
    .await
}

async fn manage(env: &Env, actor: &str, id: &str, target: &str, action: &str) -> e2e::Reply {
    env.post(
        "/live/manage-participant",
        token(actor),
        json!({"session_id": id, "user_id": target, "action": action}),
    )
    .await
}

async fn participant(env: &Env, id: &str, user: &str) -> Option<Value> {
    let r = env
        .get(&format!("/live/participants/{id}?limit=500"), Some(&token("observer")))
        .await;
    r.body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == user)
        .cloned()
}

/// The id of the session's newest pending request or invitation (read as the host).
async fn newest_pending(env: &Env, id: &str) -> String {
    let r = env
        .get(
            &format!("/live/guest-requests/{id}?status=pending"),
            Some(&token("host")),
        )
        .await;
    r.body["requests"][0]["id"].as_str().unwrap().to_string()
}

async fn detail(env: &Env, id: &str) -> Value {
    env.get(&format!("/live/session/{id}"), None).await.body
}

#[tokio::test]
async fn request_approve_and_the_request_lifecycle() {
    let (_sfu, env) = Env::with_sfu().await;
    let id = live(
        &env,
        "host",
        json!({"max_guests": 2, "guest_audio_default": true, "guest_video_default": false}),
        &["ann", "bob"],
    )
    .await;
    let mut host_socket = env.connect("host", &id).await.unwrap();
    let mut ann_socket = env.connect("ann", &id).await.unwrap();

    let r = request(&env, "ann", &id, "guest").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.body["status"].clone(), r.body["origin"].clone()),
        (json!("pending"), json!("request"))
    );
    let rid = r.body["id"].as_str().unwrap().to_string();
    host_socket
        .until("request created", |e| {
            e["type"] == "guest_request.created" && e["data"]["id"] == rid.as_str()
        })
        .await;
    ann_socket
        .until("own request created", |e| e["type"] == "guest_request.created")
        .await;
    let again = request(&env, "ann", &id, "guest").await;
    assert_eq!(
        (again.status, again.body["code"].clone()),
        (409, json!("request-pending"))
    );

    let listed = env
        .get(
            &format!("/live/guest-requests/{id}?status=pending"),
            Some(&token("host")),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["requests"][0]["id"], rid.as_str());
    assert_eq!(
        env.get(&format!("/live/guest-requests/{id}"), Some(&token("bob")))
            .await
            .status,
        403
    );

    let ok = respond(&env, "host", &rid, "approved").await;
    assert_eq!(
        (ok.status, ok.body["status"].clone()),
        (200, json!("approved")),
        "{}",
        ok.body
    );
    let twice = respond(&env, "host", &rid, "rejected").await;
    assert_eq!(
        (twice.status, twice.body["code"].clone()),
        (409, json!("already-answered"))
    );
    let ann = participant(&env, &id, "ann").await.unwrap();
    assert_eq!(
        (
            ann["role"].clone(),
            ann["audio_enabled"].clone(),
            ann["video_enabled"].clone()
        ),
        (json!("guest"), json!(true), json!(false))
    );
    assert_eq!(detail(&env, &id).await["guest_count"], 1);
    ann_socket
        .until("request approved", |e| {
            e["type"] == "guest_request.updated" && e["data"]["status"] == "approved"
        })
        .await;
    host_socket
        .until("participant updated", |e| {
            e["type"] == "participant.updated" && e["data"]["user_id"] == "ann"
        })
        .await;
    // The guest's fresh token publishes exactly the allowed sources.
    let rejoin = env.post("/live/join", token("ann"), json!({"session_id": id})).await;
    assert_eq!(rejoin.body["role"], "guest");

    // Rejected and cancelled users may ask again.
    let b1 = request(&env, "bob", &id, "guest").await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(respond(&env, "host", &b1, "rejected").await.body["status"], "rejected");
    let b2 = request(&env, "bob", &id, "guest").await;
    assert_eq!(b2.status, 201, "a rejected user may ask again");
    let b2 = b2.body["id"].as_str().unwrap().to_string();
    let cancel = env
        .post("/live/cancel-guest-request", token("ann"), json!({"request_id": b2}))
        .await;
    assert_eq!(cancel.status, 403, "only the requester cancels");
    let cancel = env
        .post("/live/cancel-guest-request", token("bob"), json!({"request_id": b2}))
        .await;
    assert_eq!(cancel.body["status"], "cancelled");
    assert_eq!(
        request(&env, "bob", &id, "guest").await.status,
        201,
        "a cancelled user may ask again"
    );

    // A guest cannot request again; validation names the field.
    assert_eq!(request(&env, "ann", &id, "guest").await.body["code"], "not-a-viewer");
    let long = env
        .post(
            "/live/request-guest",
            token("bob"),
            json!({"session_id": id, "message": "x".repeat(201)}),
        )
        .await;
    assert_eq!((long.status, long.body["field"].clone()), (400, json!("message")));
    let bad = env
        .post(
            "/live/request-guest",
            token("bob"),
            json!({"session_id": id, "request_type": "king"}),
        )
        .await;
    assert_eq!((bad.status, bad.body["field"].clone()), (400, json!("request_type")));
    let bad = respond(&env, "host", "nope", "approved").await;
    assert_eq!((bad.status, bad.body["field"].clone()), (400, json!("request_id")));
    let bad = respond(&env, "host", &b2, "maybe").await;
    assert_eq!((bad.status, bad.body["field"].clone()), (400, json!("action")));
}

#[tokio::test]
async fn fifty_concurrent_approvals_fill_exactly_max_guests() {
    let (_sfu, env) = Env::with_sfu().await;
    let viewers: Vec<String> = (0..50).map(|i| format!("fan{i}")).collect();
    let refs: Vec<&str> = viewers.iter().map(String::as_str).collect();
    let id = live(&env, "host", json!({"max_guests": 5}), &refs).await;
    let mut ids = Vec::new();
    for v in &viewers {
        ids.push(
            request(&env, v, &id, "guest").await.body["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let replies = join_all(ids.iter().map(|r| respond(&env, "host", r, "approved"))).await;
    let approved = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(approved, 5);
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(
            (r.status, r.body["code"].clone()),
            (409, json!("stage-full")),
            "{}",
            r.body
        );
    }
    let pending = env
        .get(
            &format!("/live/guest-requests/{id}?status=pending&limit=100"),
            Some(&token("host")),
        )
        .await;
    assert_eq!(
        pending.body["requests"].as_array().unwrap().len(),
        45,
        "the rest stay pending"
    );
    assert_eq!(detail(&env, &id).await["guest_count"], 5);
    let guests = env
        .get(&format!("/live/participants/{id}?limit=500"), Some(&token("host")))
        .await;
    assert_eq!(
        guests
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["role"] == "guest")
            .count(),
        5
    );

    // Demoting a guest frees the slot for the next approval.
    let guest = guests
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "guest")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        manage(&env, "host", &id, &guest, "demote").await.body["participant"]["role"],
        "viewer"
    );
    assert_eq!(detail(&env, &id).await["guest_count"], 4);
    let next = pending.body["requests"][0]["id"].as_str().unwrap();
    assert_eq!(respond(&env, "host", next, "approved").await.status, 200);
    assert_eq!(detail(&env, &id).await["guest_count"], 5);
}

#[tokio::test]
async fn instant_approval_invitations_and_host_controls() {
    let (_sfu, env) = Env::with_sfu().await;
    let id = live(
        &env,
        "host",
        json!({"require_approval": false, "max_guests": 3}),
        &["cat", "dan", "eve", "fay"],
    )
    .await;
    // No approval required: on stage at once.
    let r = request(&env, "cat", &id, "guest").await;
    assert_eq!((r.status, r.body["status"].clone()), (201, json!("approved")));

    // Invitations: two-way consent.
    let inv = env
        .post(
            "/live/invite-guest",
            token("host"),
            json!({"session_id": id, "user_id": "dan"}),
        )
        .await;
    assert_eq!(
        (inv.status, inv.body["origin"].clone()),
        (201, json!("invitation")),
        "{}",
        inv.body
    );
    let inv_id = inv.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        env.post(
            "/live/respond-invite",
            token("eve"),
            json!({"request_id": inv_id, "action": "accepted"})
        )
        .await
        .status,
        403
    );
    assert_eq!(
        respond(&env, "host", &inv_id, "approved").await.body["code"],
        "is-invitation"
    );
    let acc = env
        .post(
            "/live/respond-invite",
            token("dan"),
            json!({"request_id": inv_id, "action": "accepted"}),
        )
        .await;
    assert_eq!(
        (acc.status, acc.body["status"].clone()),
        (200, json!("approved")),
        "{}",
        acc.body
    );
    let inv2 = env
        .post(
            "/live/invite-guest",
            token("host"),
            json!({"session_id": id, "user_id": "eve"}),
        )
        .await
        .body;
    let dec = env
        .post(
            "/live/respond-invite",
            token("eve"),
            json!({"request_id": inv2["id"], "action": "declined"}),
        )
        .await;
    assert_eq!(dec.body["status"], "rejected");
    assert_eq!(detail(&env, &id).await["guest_count"], 2);

    // Controls change the participant; unmute asks the participant to unmute.
    let mut dan_socket = env.connect("dan", &id).await.unwrap();
    let m = manage(&env, "host", &id, "dan", "mute_audio").await;
    assert_eq!(
        (m.status, m.body["participant"]["audio_enabled"].clone()),
        (200, json!(false)),
        "{}",
        m.body
    );
    let u = manage(&env, "host", &id, "dan", "unmute_audio").await;
    assert_eq!(u.body["participant"]["audio_enabled"], true);
    dan_socket
        .until("unmute request", |e| {
            e["type"] == "participant.updated" && e["data"]["unmute_requested"] == "audio"
        })
        .await;
    assert_eq!(
        manage(&env, "host", &id, "dan", "allow_screen_share").await.body["participant"]["screen_share_allowed"],
        true
    );
    let muted_token = manage(&env, "host", &id, "dan", "mute_video").await;
    assert_eq!(muted_token.body["participant"]["video_enabled"], false);

    // Promote: guest → cohost; the cohost then moderates guests and viewers, not the host.
    assert_eq!(
        manage(&env, "host", &id, "dan", "promote_cohost").await.body["participant"]["role"],
        "cohost"
    );
    assert_eq!(manage(&env, "dan", &id, "cat", "mute_audio").await.status, 200);
    assert_eq!(manage(&env, "dan", &id, "host", "mute_audio").await.status, 403);
    assert_eq!(manage(&env, "dan", &id, "fay", "promote_cohost").await.status, 403);
    assert_eq!(manage(&env, "cat", &id, "fay", "kick").await.status, 403);
    assert_eq!(manage(&env, "host", &id, "host", "mute_audio").await.status, 403);
    // A viewer promoted straight to cohost takes a slot (3 of 3 now).
    assert_eq!(manage(&env, "host", &id, "fay", "promote_cohost").await.status, 200);
    assert_eq!(detail(&env, &id).await["guest_count"], 3);
    assert_eq!(
        manage(&env, "host", &id, "eve", "promote_cohost").await.body["code"],
        "stage-full"
    );
    assert_eq!(
        manage(&env, "host", &id, "dan", "demote").await.body["participant"]["role"],
        "guest"
    );

    // Kick: removed, barred from rejoining, from a new token, from requests and from sockets.
    let kicked = manage(&env, "dan", &id, "cat", "kick").await;
    assert_eq!(kicked.status, 403, "dan is a guest again");
    let kicked = manage(&env, "host", &id, "cat", "kick").await;
    assert_eq!(
        (kicked.status, kicked.body["participant"]["status"].clone()),
        (200, json!("kicked")),
        "{}",
        kicked.body
    );
    assert_eq!(
        env.post("/live/join", token("cat"), json!({"session_id": id}))
            .await
            .status,
        403
    );
    assert_eq!(request(&env, "cat", &id, "guest").await.status, 403);
    assert_eq!(env.connect("cat", &id).await.err(), Some(403));
    assert_eq!(detail(&env, &id).await["guest_count"], 2);
    // Ban: kick plus the ban list.
    let banned = manage(&env, "host", &id, "eve", "ban").await;
    assert_eq!(banned.body["participant"]["status"], "banned");
    assert_eq!(
        env.post("/live/join", token("eve"), json!({"session_id": id}))
            .await
            .status,
        403
    );
    let d = detail(&env, &id).await;
    assert_eq!(
        (d["viewer_count"].clone(), d["guest_count"].clone()),
        (json!(2), json!(2))
    );

    // The audit trail: every host action, for the host only.
    let trail = env
        .get(&format!("/live/audit/{id}?limit=100"), Some(&token("host")))
        .await;
    assert_eq!(trail.status, 200);
    let actions: Vec<&str> = trail.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "kick",
        "ban",
        "promote_cohost",
        "demote",
        "mute_audio",
        "unmute_audio",
        "invite",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(trail.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["actor_id"] == "dan" && e["target_id"] == "cat"));
    assert_eq!(
        env.get(&format!("/live/audit/{id}"), Some(&token("dan"))).await.status,
        403
    );
}

#[tokio::test]
async fn an_unreachable_sfu_rolls_back_with_502() {
    // No SFU at all (the default test config points at a closed port).
    sfu_failures_roll_back_with_502(&Env::start().await).await;
}

/// A hanging SFU (the audit's hole 4): calls that never answer are bounded by the Lambda
/// deadline with room left to roll back, however many one request makes (a mute makes two). The
/// gateway stops a function at its `Timeout` as Lambda does (answering 500): every answer here is
/// the function's own 502, after its rollback.
#[tokio::test]
async fn a_hanging_sfu_still_rolls_back_before_the_deadline() {
    let sfu = Gate::silent().await;
    let config = test_config("trendke-live", &sfu.url);
    let env = Env::start_with_timeout(config, std::time::Duration::from_secs(4)).await;
    sfu_failures_roll_back_with_502(&env).await;
}

/// With an SFU that cannot take a change: approvals and reversible controls are undone in our
/// table and answer 502; a kick stands.
async fn sfu_failures_roll_back_with_502(env: &Env) {
    let id = live(env, "host", json!({}), &["gus"]).await;
    let rid = request(env, "gus", &id, "guest").await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = respond(env, "host", &rid, "approved").await;
    assert_eq!(
        (r.status, r.header("content-type")),
        (502, Some("application/problem+json")),
        "{}",
        r.body
    );
    assert_eq!(
        participant(env, &id, "gus").await.unwrap()["role"],
        "viewer",
        "rolled back"
    );
    assert_eq!(detail(env, &id).await["guest_count"], 0);
    let pending = env
        .get(
            &format!("/live/guest-requests/{id}?status=pending"),
            Some(&token("host")),
        )
        .await;
    assert_eq!(pending.body["requests"][0]["id"], rid.as_str(), "still pending");
    let m = manage(env, "host", &id, "gus", "mute_audio").await;
    assert_eq!(m.status, 502, "{}", m.body);
    assert_eq!(
        participant(env, &id, "gus").await.unwrap()["audio_enabled"],
        false,
        "unchanged (viewers have no audio)"
    );
    let share = manage(env, "host", &id, "gus", "allow_screen_share").await;
    assert_eq!(share.status, 502, "{}", share.body);
    assert_eq!(
        participant(env, &id, "gus").await.unwrap()["screen_share_allowed"],
        false,
        "rolled back"
    );
    // A kick is never rolled back: the user is barred even though the SFU could not be told.
    assert_eq!(manage(env, "host", &id, "gus", "kick").await.status, 502);
    assert_eq!(
        env.post("/live/join", token("gus"), json!({"session_id": id}))
            .await
            .status,
        403
    );
}

/// Every endpoint of the stage × every kind of caller → exactly the documented status.
#[tokio::test]
async fn permission_matrix() {
    let (_sfu, env) = Env::with_sfu().await;
    // Callers: host, cohost, guest, viewer, non-member, host of another session.
    let id = live(
        &env,
        "host",
        json!({"require_approval": true}),
        &["co", "gu", "vi", "tv", "tv2"],
    )
    .await;
    live(&env, "other-host", json!({}), &[]).await;
    for (user, kind) in [("co", "cohost"), ("gu", "guest")] {
        let rid = request(&env, user, &id, kind).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(respond(&env, "host", &rid, "approved").await.status, 200);
    }
    let callers = ["host", "co", "gu", "vi", "stranger", "other-host"];
    let status = |r: &e2e::Reply| r.status;

    // request-guest: only a present viewer (vi); stage members 409; outsiders 403 (join first).
    let mut got = Vec::new();
    for c in callers {
        got.push(status(&request(&env, c, &id, "guest").await));
    }
    assert_eq!(got, vec![409, 409, 409, 201, 403, 403], "request-guest");
    let vi_request = newest_pending(&env, &id).await;

    // guest-requests list: host and cohost only.
    let mut got = Vec::new();
    for c in callers {
        got.push(
            env.get(&format!("/live/guest-requests/{id}"), Some(&token(c)))
                .await
                .status,
        );
    }
    assert_eq!(got, vec![200, 200, 403, 403, 403, 403], "list guest requests");

    // cancel-guest-request: the requester (vi) only.
    let mut got = Vec::new();
    for c in ["host", "co", "gu", "stranger", "other-host"] {
        got.push(
            env.post(
                "/live/cancel-guest-request",
                token(c),
                json!({"request_id": vi_request}),
            )
            .await
            .status,
        );
    }
    assert_eq!(got, vec![403; 5], "cancel by others");

    // respond-guest-request: host and cohost; others 403 (tried with reject, on a fresh request each time).
    let mut got = Vec::new();
    for c in ["gu", "vi", "stranger", "other-host"] {
        got.push(status(&respond(&env, c, &vi_request, "rejected").await));
    }
    assert_eq!(got, vec![403; 4], "respond by non-moderators");
    assert_eq!(
        status(&respond(&env, "co", &vi_request, "rejected").await),
        200,
        "cohost rejects"
    );

    // invite-guest: host and cohost, of a present viewer.
    let mut got = Vec::new();
    for c in callers {
        got.push(
            env.post(
                "/live/invite-guest",
                token(c),
                json!({"session_id": id, "user_id": "tv"}),
            )
            .await
            .status,
        );
    }
    assert_eq!(
        got,
        vec![201, 409, 403, 403, 403, 403],
        "invite (the cohost's finds one pending)"
    );
    let inv = newest_pending(&env, &id).await;
    // respond-invite: the invitee only.
    let mut got = Vec::new();
    for c in callers {
        got.push(
            env.post(
                "/live/respond-invite",
                token(c),
                json!({"request_id": inv, "action": "declined"}),
            )
            .await
            .status,
        );
    }
    assert_eq!(got, vec![403; 6], "respond-invite by others");
    assert_eq!(
        env.post(
            "/live/respond-invite",
            token("tv"),
            json!({"request_id": inv, "action": "declined"})
        )
        .await
        .status,
        200
    );

    // manage-participant (mute_audio) on each target by each caller.
    let targets = ["host", "co", "gu", "vi"];
    let expected = [
        // host: on host (self), cohost, guest, viewer
        ("host", [403, 200, 200, 200]),
        ("co", [403, 403, 200, 200]),
        ("gu", [403, 403, 403, 403]),
        ("vi", [403, 403, 403, 403]),
        ("stranger", [403, 403, 403, 403]),
        ("other-host", [403, 403, 403, 403]),
    ];
    for (actor, want) in expected {
        let mut got = Vec::new();
        for t in targets {
            got.push(status(&manage(&env, actor, &id, t, "mute_audio").await));
        }
        assert_eq!(got, want, "mute_audio by {actor}");
    }

    // audit: the host only.
    let mut got = Vec::new();
    for c in callers {
        got.push(env.get(&format!("/live/audit/{id}"), Some(&token(c))).await.status);
    }
    assert_eq!(got, vec![200, 403, 403, 403, 403, 403], "audit trail");

    // Without a token: 401 everywhere.
    for (m, p, b) in [
        (
            Method::POST,
            "/live/request-guest".to_string(),
            Some(json!({"session_id": id})),
        ),
        (Method::POST, "/live/manage-participant".to_string(), Some(json!({}))),
        (Method::GET, format!("/live/guest-requests/{id}"), None),
        (Method::GET, format!("/live/audit/{id}"), None),
    ] {
        assert_eq!(env.call(m, &p, None, b).await.status, 401, "{p}");
    }
}

/// Only the host grants cohost (the audit's hole 1): without approval, a guest request goes on
/// stage at once, with the automatic approval in the audit trail; a cohost request waits for the
/// host, and until then its author has no cohost power.
#[tokio::test]
async fn without_approval_only_guest_requests_are_approved_at_once() {
    let (_sfu, env) = Env::with_sfu().await;
    let id = live(&env, "host", json!({"require_approval": false}), &["cat", "dan", "eve"]).await;
    let asked = request(&env, "cat", &id, "cohost").await;
    assert_eq!(
        (asked.status, asked.body["status"].clone()),
        (201, json!("pending")),
        "{}",
        asked.body
    );
    assert_eq!(
        manage(&env, "cat", &id, "eve", "kick").await.status,
        403,
        "no cohost power yet"
    );
    assert_eq!(participant(&env, id.as_str(), "cat").await.unwrap()["role"], "viewer");

    let guest = request(&env, "dan", &id, "guest").await;
    assert_eq!((guest.status, guest.body["status"].clone()), (201, json!("approved")));
    let audit = env.get(&format!("/live/audit/{id}"), Some(&token("host"))).await;
    let automatic = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "guest_request.approved" && e["target_id"] == "dan")
        .cloned();
    let automatic = automatic.unwrap_or_else(|| panic!("no audit entry for the automatic approval: {}", audit.body));
    assert_eq!(
        (automatic["actor_id"].clone(), automatic["details"]["automatic"].clone()),
        (json!("host"), json!(true))
    );

    // The host answers the cohost request; then, and only then, cat acts as a cohost.
    let approved = respond(&env, "host", asked.body["id"].as_str().unwrap(), "approved").await;
    assert_eq!(
        (approved.status, approved.body["status"].clone()),
        (200, json!("approved"))
    );
    assert_eq!(manage(&env, "cat", &id, "eve", "kick").await.status, 200);
}

async fn invite(env: &Env, actor: &str, id: &str, user: &str) -> e2e::Reply {
    env.post(
        "/live/invite-guest",
        token(actor),
        json!({"session_id": id, "user_id": user}),
    )
    .await
}

async fn answer_invitation(env: &Env, user: &str, invitation: &e2e::Reply, action: &str) -> e2e::Reply {
    let request_id = invitation.body["id"].as_str().unwrap();
    env.post(
        "/live/respond-invite",
        token(user),
        json!({"request_id": request_id, "action": action}),
    )
    .await
}

/// Invitations expire (the audit's hole 12): past `INVITATION_TTL_SECONDS` an invitation can no
/// longer be accepted, it is closed as expired, and the user can be invited again.
#[tokio::test]
async fn invitations_expire() {
    let (_sfu, env) = Env::with_sfu_configured(|c| c.tunables.invitation_ttl = std::time::Duration::ZERO).await;
    let id = live(&env, "host", json!({}), &["dan"]).await;
    let first = invite(&env, "host", &id, "dan").await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(first.body["expires_at"].is_string(), "{}", first.body);
    let late = answer_invitation(&env, "dan", &first, "accepted").await;
    assert_eq!(
        (late.status, late.body["code"].clone()),
        (409, json!("invitation-expired")),
        "{}",
        late.body
    );
    assert_eq!(participant(&env, &id, "dan").await.unwrap()["role"], "viewer");
    let listed = env
        .get(
            &format!("/live/guest-requests/{id}?status=expired"),
            Some(&token("host")),
        )
        .await;
    assert_eq!(listed.body["requests"][0]["id"], first.body["id"], "{}", listed.body);
    let again = invite(&env, "host", &id, "dan").await;
    assert_eq!(again.status, 201, "an expired invitation holds nothing: {}", again.body);
}

/// Accepting an invitation re-checks its inviter (the audit's hole 12): a cohost who invited and
/// is no longer a cohost has withdrawn the invitation.
#[tokio::test]
async fn an_invitation_needs_its_inviter_when_accepted() {
    let (_sfu, env) = Env::with_sfu().await;
    let id = live(&env, "host", json!({}), &["cat", "eve", "fay"]).await;
    assert_eq!(manage(&env, "host", &id, "cat", "promote_cohost").await.status, 200);
    let invitation = invite(&env, "cat", &id, "eve").await;
    assert_eq!(invitation.status, 201, "{}", invitation.body);
    assert_eq!(manage(&env, "host", &id, "cat", "demote").await.status, 200);
    let r = answer_invitation(&env, "eve", &invitation, "accepted").await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (409, json!("invitation-withdrawn")),
        "{}",
        r.body
    );
    assert_eq!(participant(&env, &id, "eve").await.unwrap()["role"], "viewer");
    // An invitation whose inviter is still entitled is accepted as before.
    let invitation = invite(&env, "host", &id, "fay").await;
    let r = answer_invitation(&env, "fay", &invitation, "accepted").await;
    assert_eq!(
        (r.status, r.body["status"].clone()),
        (200, json!("approved")),
        "{}",
        r.body
    );
}

/// A request is answered by id and, better, with its session's id (as every request and event
/// carries it): read directly and consistently, never missed because an index lags. A session id
/// that is not the request's finds nothing.
#[tokio::test]
async fn requests_are_answered_with_their_session_id() {
    let (_sfu, env) = Env::with_sfu().await;
    let id = live(&env, "host", json!({}), &["vic", "wes"]).await;
    let asked = request(&env, "vic", &id, "guest").await;
    assert_eq!(asked.status, 201, "{}", asked.body);
    let request_id = asked.body["id"].as_str().unwrap().to_string();
    let elsewhere = live(&env, "other-host", json!({}), &[]).await;
    let wrong = env
        .post(
            "/live/cancel-guest-request",
            token("vic"),
            json!({"request_id": request_id, "session_id": elsewhere}),
        )
        .await;
    assert_eq!(wrong.status, 404, "{}", wrong.body);
    let approved = env
        .post(
            "/live/respond-guest-request",
            token("host"),
            json!({"request_id": request_id, "session_id": id, "action": "approved"}),
        )
        .await;
    assert_eq!(
        (approved.status, approved.body["status"].clone()),
        (200, json!("approved")),
        "{}",
        approved.body
    );
    let invited = invite(&env, "host", &id, "wes").await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    let accepted = env
        .post(
            "/live/respond-invite",
            token("wes"),
            json!({"request_id": invited.body["id"], "session_id": id, "action": "accepted"}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
}
