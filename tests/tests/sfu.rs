//! End-to-end against a real livekit-server: ending a session deletes its SFU room.

use e2e::{test_config, token, Env, Gate, LiveKit, Passage, SFU_KEY, SFU_SECRET};
use livekit_api::services::room::{CreateRoomOptions, RoomClient};
use serde_json::json;

#[tokio::test]
async fn end_deletes_the_sfu_room() {
    let sfu = LiveKit::start(None).await;
    let env = Env::start_with(test_config("trendke-live", &sfu.url)).await;
    let started = env.start_session("host", json!({})).await;
    let room = started["room_name"].as_str().unwrap();
    assert_eq!(started["webrtc_config"]["server_url"], sfu.url.as_str());

    // LiveKit creates a room when its first participant connects; create it as that would.
    let rooms = RoomClient::with_api_key(&sfu.url, SFU_KEY, SFU_SECRET);
    rooms.create_room(room, CreateRoomOptions::default()).await.unwrap();
    assert_eq!(rooms.list_rooms(vec![room.to_string()]).await.unwrap().len(), 1);

    let id = started["id"].as_str().unwrap();
    let end = env.post(&format!("/live/end/{id}"), token("host"), json!({})).await;
    assert_eq!(end.status, 200, "{}", end.body);
    assert!(
        rooms.list_rooms(vec![room.to_string()]).await.unwrap().is_empty(),
        "room deleted at the SFU"
    );
}

/// Ending tells every socket, closes it and forgets it; when the SFU cannot delete the room the
/// end stands and answers `502`, and a repeated end deletes it.
#[tokio::test]
async fn end_closes_every_socket_and_a_repeat_retries_the_room() {
    let livekit = LiveKit::start(None).await;
    let sfu = Gate::start(Some(livekit.addr()), Passage::Drop).await;
    let env = Env::start_with(test_config("trendke-live", &sfu.url)).await;
    let started = env.start_session("host", json!({})).await;
    let (id, room) = (started["id"].as_str().unwrap(), started["room_name"].as_str().unwrap());
    let joined = env.post("/live/join", token("vic"), json!({"session_id": id})).await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    let mut sockets = vec![
        env.connect("host", id).await.unwrap(),
        env.connect("vic", id).await.unwrap(),
        env.connect("vic", id).await.unwrap(),
    ];
    let rooms = RoomClient::with_api_key(&livekit.url, SFU_KEY, SFU_SECRET);
    rooms.create_room(room, CreateRoomOptions::default()).await.unwrap();

    // The SFU is unreachable: the session ends all the same, the answer says what is left.
    let end = env.post(&format!("/live/end/{id}"), token("host"), json!({})).await;
    assert_eq!(end.status, 502, "{}", end.body);
    assert!(
        end.body["detail"].as_str().unwrap().starts_with("the session ended"),
        "{}",
        end.body
    );
    for s in &mut sockets {
        s.until("session.ended", |e| e["type"] == "session.ended").await;
        assert!(s.closed().await, "the socket is closed after session.ended");
    }
    let left = env.connections(id).await;
    assert!(left.is_empty(), "connection items deleted: {left:?}");
    let rejoin = env.post("/live/join", token("vic"), json!({"session_id": id})).await;
    assert_eq!(
        (rejoin.status, rejoin.body["code"].clone()),
        (409, json!("session-ended"))
    );
    assert_eq!(rooms.list_rooms(vec![room.to_string()]).await.unwrap().len(), 1);

    // Reachable again: repeating the end deletes the room.
    sfu.set(Passage::Open);
    let again = env.post(&format!("/live/end/{id}"), token("host"), json!({})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(
        rooms.list_rooms(vec![room.to_string()]).await.unwrap().is_empty(),
        "room deleted"
    );
}
