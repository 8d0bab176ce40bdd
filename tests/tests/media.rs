//! End-to-end at the media layer: a real livekit-server, real LiveKit clients (`MediaClient`), and
//! our API deciding what each may publish. Every control is checked where it matters — at the SFU,
//! as the clients see it — not just in our table.

use std::time::Duration;

use e2e::media::MediaClient;
use e2e::{token, Env, Socket, SFU_KEY, SFU_SECRET};
use livekit_api::services::room::RoomClient;
use serde_json::{json, Value};
use shared::adapter::endpoints::Endpoint;
use shared::domain::time::Timestamp;

async fn post(env: &Env, user: &str, path: &str, body: Value) -> Value {
    let r = env.post(path, token(user), body).await;
    assert!(r.status < 300, "{user} {path}: {} {}", r.status, r.body);
    r.body
}

/// Joins as `user` and connects a media client with the token the API minted.
async fn join_media(env: &Env, user: &str, session_id: &str) -> MediaClient {
    let joined = post(env, user, "/live/join", json!({"session_id": session_id})).await;
    let mut client = MediaClient::start(user);
    client
        .connect(
            joined["webrtc_config"]["server_url"].as_str().unwrap(),
            joined["access_token"].as_str().unwrap(),
        )
        .await;
    client
}

async fn manage(env: &Env, target: &str, session_id: &str, action: &str) -> Value {
    post(
        env,
        "host",
        "/live/manage-participant",
        json!({"session_id": session_id, "user_id": target, "action": action}),
    )
    .await
}

/// Asks to go on stage and has the host approve it.
async fn bring_on_stage(env: &Env, user: &str, session_id: &str) {
    let r = post(env, user, "/live/request-guest", json!({"session_id": session_id})).await;
    let approved = post(
        env,
        "host",
        "/live/respond-guest-request",
        json!({"request_id": r["id"], "action": "approved"}),
    )
    .await;
    assert_eq!(approved["status"], "approved");
}

/// The tracks the SFU itself holds for `identity` (not what any client believes).
async fn sfu_tracks(rooms: &RoomClient, room: &str, identity: &str) -> Vec<i32> {
    rooms
        .list_participants(room)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.identity == identity)
        .flat_map(|p| p.tracks.into_iter().map(|t| t.source))
        .collect()
}

/// Waits on a socket for a `participant.updated` of `user` satisfying `pred` (the SFU's webhooks
/// arrive on their own schedule; each change they make is pushed).
async fn until_updated(socket: &mut Socket, user: &str, what: &str, pred: impl Fn(&Value) -> bool) {
    socket
        .until(&format!("{user} {what}"), |e| {
            e["type"] == "participant.updated" && e["data"]["user_id"] == user && pred(&e["data"])
        })
        .await;
}

#[tokio::test]
async fn stage_controls_take_effect_at_the_sfu() {
    let (sfu, env) = Env::with_sfu().await;
    let started = env
        .start_session("host", json!({"max_guests": 1, "guest_audio_default": true}))
        .await;
    let id = started["id"].as_str().unwrap().to_string();
    let room = started["room_name"].as_str().unwrap().to_string();
    let rooms = RoomClient::with_api_key(&sfu.url, SFU_KEY, SFU_SECRET);
    let mut host_socket = env.connect("host", &id).await.unwrap();
    let mut host = MediaClient::start("host");
    host.connect(&sfu.url, started["access_token"].as_str().unwrap()).await;
    let mut ann = join_media(&env, "ann", &id).await;

    // A viewer's token cannot publish: the SFU refuses, and holds no track of hers.
    let refused = ann.publish("microphone").await;
    assert_eq!(refused["ok"], false, "a viewer published: {refused}");
    assert!(sfu_tracks(&rooms, &room, "ann").await.is_empty());
    // The SFU's webhooks keep presence true in our table.
    until_updated(&mut host_socket, "ann", "connected", |p| p["connected"] == true).await;

    // Approved: the same connection publishes without reconnecting, and the host sees it.
    bring_on_stage(&env, "ann", &id).await;
    ann.until("publish permission", |e| {
        e["event"] == "permissions_changed" && e["identity"] == "ann" && e["can_publish"] == true
    })
    .await;
    let published = ann.publish("microphone").await;
    assert_eq!(published["ok"], true, "{published}");
    host.until_track("track_published", "ann", "microphone").await;
    until_updated(&mut host_socket, "ann", "publishing audio", |p| {
        p["audio_published"] == true
    })
    .await;

    // mute_audio: the track is muted at the SFU, then the source is taken away, so her own
    // attempt to publish her microphone again is refused.
    manage(&env, "ann", &id, "mute_audio").await;
    host.until_track("track_muted", "ann", "microphone").await;
    host.until_track("track_unpublished", "ann", "microphone").await;
    let again = ann.publish("microphone").await;
    assert_eq!(again["ok"], false, "a muted guest published audio: {again}");
    assert!(sfu_tracks(&rooms, &room, "ann").await.is_empty());

    // unmute_audio: allowed again, and she publishes.
    manage(&env, "ann", &id, "unmute_audio").await;
    ann.until("microphone allowed again", |e| {
        e["event"] == "permissions_changed"
            && e["identity"] == "ann"
            && e["sources"]
                .as_array()
                .is_some_and(|s| s.contains(&json!("microphone")))
    })
    .await;
    let back = ann.publish("microphone").await;
    assert_eq!(back["ok"], true, "{back}");
    host.until_track("track_published", "ann", "microphone").await;

    // demote: publishing stops at the SFU, and the only slot is free for the next approval.
    let mut bob = join_media(&env, "bob", &id).await;
    manage(&env, "ann", &id, "demote").await;
    host.until_track("track_unpublished", "ann", "microphone").await;
    assert!(sfu_tracks(&rooms, &room, "ann").await.is_empty());
    bring_on_stage(&env, "bob", &id).await;
    bob.until("publish permission", |e| {
        e["event"] == "permissions_changed" && e["can_publish"] == true
    })
    .await;
    assert_eq!(bob.publish("microphone").await["ok"], true);
    host.until_track("track_published", "bob", "microphone").await;

    // kick: disconnected from the SFU; rejoin, a new token, a request and a socket all refused.
    let mut bob_socket = env.connect("bob", &id).await.unwrap();
    manage(&env, "bob", &id, "kick").await;
    let gone = bob.until("disconnected", |e| e["event"] == "disconnected").await;
    assert_eq!(gone["reason"], "PARTICIPANT_REMOVED", "{gone}");
    assert!(bob_socket.closed().await, "the kicked user's socket is closed");
    let rejoin = env.post("/live/join", token("bob"), json!({"session_id": id})).await;
    assert_eq!(
        rejoin.status, 403,
        "rejoin (the only way to a new token): {}",
        rejoin.body
    );
    let ask = env
        .post("/live/request-guest", token("bob"), json!({"session_id": id}))
        .await;
    assert_eq!(ask.status, 403);
    assert_eq!(env.connect("bob", &id).await.err(), Some(403));
    let left = env.get(&format!("/live/session/{id}"), None).await.body;
    assert_eq!(
        (left["viewer_count"].clone(), left["guest_count"].clone()),
        (json!(1), json!(0))
    );
}

#[tokio::test]
async fn a_genuine_room_finished_ends_the_session() {
    let (sfu, env) = Env::with_sfu().await;
    let started = env.start_session("host", json!({})).await;
    let id = started["id"].as_str().unwrap().to_string();
    let mut host_socket = env.connect("host", &id).await.unwrap();
    let mut host = MediaClient::start("host");
    host.connect(&sfu.url, started["access_token"].as_str().unwrap()).await;

    // The room goes away at the SFU, not through our API: LiveKit's signed webhook ends the session.
    let rooms = RoomClient::with_api_key(&sfu.url, SFU_KEY, SFU_SECRET);
    rooms.delete_room(started["room_name"].as_str().unwrap()).await.unwrap();
    host.until("disconnected", |e| e["event"] == "disconnected").await;
    host_socket
        .until("session.ended", |e| e["type"] == "session.ended")
        .await;
    let s = env.get(&format!("/live/session/{id}"), None).await.body;
    assert_eq!(s["status"], "ended", "{s}");
    let again = env.post("/live/start", token("host"), json!({"title": "again"})).await;
    assert_eq!(again.status, 201, "the host's live lock was released: {}", again.body);
}

/// Waits until the SFU removes `client` from the room (our API or our webhook asked it to).
async fn until_removed(client: &mut MediaClient) {
    let gone = client
        .until("removed from the room", |e| e["event"] == "disconnected")
        .await;
    assert_eq!(gone["reason"], "PARTICIPANT_REMOVED", "{gone}");
}

/// Joins as `user` without connecting to the SFU; returns the token the API minted.
async fn join_offline(env: &Env, user: &str, session_id: &str) -> String {
    let joined = post(env, user, "/live/join", json!({"session_id": session_id})).await;
    let ttl = joined["token_ttl_seconds"].as_u64().unwrap();
    assert!(ttl <= 300, "SFU tokens live at most 5 minutes by default: {ttl}");
    joined["access_token"].as_str().unwrap().to_string()
}

/// Nobody stays in the SFU room without being present in our table: a guest who leaves is
/// removed (and can still be kicked and banned afterwards); an old token — LiveKit cannot revoke
/// one — gets its holder into the room only until the webhook removes them, whether they were
/// kicked while offline, left, or were banned by id before they ever joined.
#[tokio::test]
async fn nobody_stays_in_the_room_without_being_present() {
    let (sfu, env) = Env::with_sfu().await;
    let started = env.start_session("host", json!({"max_guests": 2})).await;
    let id = started["id"].as_str().unwrap().to_string();
    let room = started["room_name"].as_str().unwrap().to_string();
    let rooms = RoomClient::with_api_key(&sfu.url, SFU_KEY, SFU_SECRET);
    let mut host_socket = env.connect("host", &id).await.unwrap();

    // A guest on stage leaves: removed from the room, her track gone, not left publishing.
    let ann_token = join_offline(&env, "ann", &id).await;
    let mut ann = MediaClient::start("ann");
    ann.connect(&sfu.url, &ann_token).await;
    bring_on_stage(&env, "ann", &id).await;
    ann.until("publish permission", |e| {
        e["event"] == "permissions_changed" && e["identity"] == "ann" && e["can_publish"] == true
    })
    .await;
    assert_eq!(ann.publish("microphone").await["ok"], true);
    until_updated(&mut host_socket, "ann", "publishing audio", |p| {
        p["audio_published"] == true
    })
    .await;
    let left = post(&env, "ann", "/live/leave", json!({"session_id": id})).await;
    assert_eq!(left["left"], true);
    until_removed(&mut ann).await;
    assert!(sfu_tracks(&rooms, &room, "ann").await.is_empty());

    // Having left, she is still within the host's reach: kicked, then banned.
    assert_eq!(
        manage(&env, "ann", &id, "kick").await["participant"]["status"],
        "kicked"
    );
    assert_eq!(manage(&env, "ann", &id, "ban").await["participant"]["status"], "banned");
    let rejoin = env.post("/live/join", token("ann"), json!({"session_id": id})).await;
    assert_eq!(rejoin.status, 403, "{}", rejoin.body);
    // Her old token still opens the room; the webhook removes her within seconds.
    let mut ann_again = MediaClient::start("ann again");
    ann_again.connect(&sfu.url, &ann_token).await;
    until_removed(&mut ann_again).await;

    // A viewer kicked while offline: nothing to remove at that moment; her unused token is.
    let carl_token = join_offline(&env, "carl", &id).await;
    manage(&env, "carl", &id, "kick").await;
    let mut carl = MediaClient::start("carl");
    carl.connect(&sfu.url, &carl_token).await;
    until_removed(&mut carl).await;

    // Not only barred users: one who left while offline is removed when she comes back so.
    let dina_token = join_offline(&env, "dina", &id).await;
    post(&env, "dina", "/live/leave", json!({"session_id": id})).await;
    let mut dina = MediaClient::start("dina");
    dina.connect(&sfu.url, &dina_token).await;
    until_removed(&mut dina).await;

    // A ban by user id, before the user ever joined; a kick of an unknown user means nothing.
    let zed = manage(&env, "zed", &id, "ban").await;
    assert_eq!(zed["participant"]["status"], "banned");
    let join = env.post("/live/join", token("zed"), json!({"session_id": id})).await;
    assert_eq!(join.status, 403, "{}", join.body);
    let unknown = env
        .post(
            "/live/manage-participant",
            token("host"),
            json!({"session_id": id, "user_id": "nobody", "action": "kick"}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    // None of it moved the counts below zero or twice: nobody but the host is present.
    let detail = env.get(&format!("/live/session/{id}"), None).await.body;
    assert_eq!(
        (detail["viewer_count"].clone(), detail["guest_count"].clone()),
        (json!(0), json!(0))
    );
    let audit = env.get(&format!("/live/audit/{id}"), Some(&token("host"))).await.body;
    let bans: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "ban")
        .collect();
    assert_eq!(bans.len(), 2, "every ban is audited: {audit}");
}

/// A session whose host has been gone from the SFU for `HOST_GONE_END_SECONDS` ends by itself
/// (the scheduled `EndAbandoned`, fired here at chosen times): not before, not when the host came
/// back, and once only.
#[tokio::test]
async fn a_session_whose_host_is_gone_ends_by_itself() {
    let (sfu, env) = Env::with_sfu_configured(|c| c.tunables.host_gone_grace = Duration::from_secs(60)).await;
    // ann leaves her session behind; bob drops out and comes back.
    let ann_live = env.start_session("ann", json!({})).await;
    let bob_live = env.start_session("bob", json!({})).await;
    let (ann_id, bob_id) = (ann_live["id"].as_str().unwrap(), bob_live["id"].as_str().unwrap());
    post(&env, "vic", "/live/join", json!({"session_id": ann_id})).await;
    let mut vic_socket = env.connect("vic", ann_id).await.unwrap();
    let mut bob_socket = env.connect("bob", bob_id).await.unwrap();
    let mut ann = MediaClient::start("ann");
    ann.connect(&sfu.url, ann_live["access_token"].as_str().unwrap()).await;
    let mut bob = MediaClient::start("bob");
    bob.connect(&sfu.url, bob_live["access_token"].as_str().unwrap()).await;
    until_updated(&mut vic_socket, "ann", "connected", |p| p["connected"] == true).await;
    until_updated(&mut bob_socket, "bob", "connected", |p| p["connected"] == true).await;

    ann.command(json!({"cmd": "disconnect"})).await;
    bob.command(json!({"cmd": "disconnect"})).await;
    until_updated(&mut vic_socket, "ann", "gone", |p| p["connected"] == false).await;
    until_updated(&mut bob_socket, "bob", "gone", |p| p["connected"] == false).await;
    // bob is back, with the fresh token a host's join gives.
    let again = post(&env, "bob", "/live/join", json!({"session_id": bob_id})).await;
    assert_eq!(again["role"], "host");
    let mut bob = MediaClient::start("bob again");
    bob.connect(&sfu.url, again["access_token"].as_str().unwrap()).await;
    until_updated(&mut bob_socket, "bob", "back", |p| p["connected"] == true).await;

    let now = Timestamp::now();
    let early = env.fire(Endpoint::EndAbandoned, &now.plus_seconds(30)).await.unwrap();
    assert_eq!(early["ended"], json!([]), "gone for less than the grace: {early}");
    let late = env.fire(Endpoint::EndAbandoned, &now.plus_seconds(61)).await.unwrap();
    assert_eq!(late["ended"], json!([ann_id]), "{late}");
    vic_socket
        .until("session.ended", |e| e["type"] == "session.ended")
        .await;
    assert!(vic_socket.closed().await, "the ended session's sockets are closed");
    let status = |id: &str| {
        let env = &env;
        let id = id.to_string();
        async move { env.get(&format!("/live/session/{id}"), None).await.body["status"].clone() }
    };
    assert_eq!(status(ann_id).await, "ended");
    assert_eq!(status(bob_id).await, "live", "a host who came back keeps the session");
    // ann is not blocked from going live again; nobody is left listed as gone.
    let restart = env.post("/live/start", token("ann"), json!({"title": "again"})).await;
    assert_eq!(restart.status, 201, "{}", restart.body);
    let later = env.fire(Endpoint::EndAbandoned, &now.plus_seconds(600)).await.unwrap();
    assert_eq!(
        (later["ended"].clone(), later["checked"].clone()),
        (json!([]), json!(0)),
        "{later}"
    );
}
