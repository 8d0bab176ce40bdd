//! End-to-end against a real livekit-server: ending a session deletes its SFU room.

use e2e::{test_config, token, Env, LiveKit, SFU_KEY, SFU_SECRET};
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
