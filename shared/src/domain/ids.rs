//! The ids of the API, as validated types: a value of one of these types is well-formed wherever
//! it appears. They are checked once, where they enter (a JSON body or a path parameter, a token's
//! `sub`, a LiveKit identity), and a malformed one is refused there with its field named.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::time::Timestamp;

/// A live session: a UUID, written hyphenated and lower-case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Uuid);

/// A guest request or invitation: a UUIDv7 (time-ordered), written hyphenated and lower-case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(Uuid);

/// A user: the `sub` of their JWT, which is also their identity at the SFU. 1..=128 bytes, no
/// surrounding spaces, no control characters and no `#` (it separates the parts of table keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

/// Why a text is not an id (the detail of the 400 that names the field).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(&'static str);

const NOT_A_UUID: InvalidId = InvalidId("must be a UUID");
const NOT_A_USER_ID: InvalidId =
    InvalidId("must be 1 to 128 characters without surrounding spaces, control characters or `#`");

/// SFU room names are derived from session ids: unique by construction, not guessable from titles.
const ROOM_PREFIX: &str = "live_";

impl SessionId {
    /// A new random session id.
    pub fn new() -> Self {
        SessionId(Uuid::new_v4())
    }

    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        Uuid::parse_str(text).map(SessionId).map_err(|_| NOT_A_UUID)
    }

    /// The session's SFU room: `live_<id without dashes>`.
    pub fn room_name(&self) -> String {
        format!("{ROOM_PREFIX}{}", self.0.simple())
    }

    /// The session whose SFU room this is; `None` for rooms that are not ours.
    pub fn of_room(room_name: &str) -> Option<Self> {
        let simple = room_name.strip_prefix(ROOM_PREFIX)?;
        Uuid::try_parse(simple).ok().map(SessionId)
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

/// A chat message's id (a UUIDv7 from [`stamped_id`]), as a path names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageId(pub String);

/// A new time-ordered id (UUIDv7) for something created at `at`, and `at` cut to the id's
/// millisecond: a chat message's sort key is made of the pair, so its id alone finds it
/// ([`keys::chat_message_of`](super::keys::chat_message_of)).
pub fn stamped_id(at: Timestamp) -> (String, Timestamp) {
    let ms = at.unix_millis();
    let seconds = u64::try_from(ms.div_euclid(1000)).unwrap_or(0);
    let nanos = u32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0);
    let id = Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, nanos));
    (id.to_string(), Timestamp::from_millis(ms))
}

/// The creation millisecond of a [`stamped_id`] (`None`: not a UUIDv7).
pub fn stamped_millis(id: &str) -> Option<i64> {
    let (seconds, nanos) = Uuid::try_parse(id).ok()?.get_timestamp()?.to_unix();
    Some(i64::try_from(seconds).ok()? * 1000 + i64::from(nanos / 1_000_000))
}

impl RequestId {
    /// A new time-ordered request id (UUIDv7), so that a session's requests sort by creation.
    pub fn new() -> Self {
        RequestId(Uuid::now_v7())
    }

    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        Uuid::parse_str(text).map(RequestId).map_err(|_| NOT_A_UUID)
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl UserId {
    /// Longest id we accept: it becomes part of table keys and the SFU identity.
    pub const MAX_LEN: usize = 128;

    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let ok = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text.trim() == text
            && !text.chars().any(|c| c.is_control() || c == '#');
        if ok {
            Ok(UserId(text.to_string()))
        } else {
            Err(NOT_A_USER_ID)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for UserId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for UserId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Serde for the three ids: written as their text, read through `parse`, so that a malformed id
/// in a body is refused while deserializing and the error names its field.
macro_rules! text_serde {
    ($($id:ident: $expecting:literal),*) => {$(
        impl Serialize for $id {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $id {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $id;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$id, E> {
                        $id::parse(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(Visitor)
            }
        }
    )*};
}

text_serde!(SessionId: "a UUID", RequestId: "a UUID", UserId: "a user id");

#[cfg(feature = "openapi")]
mod schemas {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::{RefOr, Schema};

    fn uuid(description: &str, example: &str) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uuid".into())))
            .description(Some(description))
            .examples([example])
            .into()
    }

    impl utoipa::PartialSchema for super::SessionId {
        fn schema() -> RefOr<Schema> {
            uuid("A live session.", "5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30")
        }
    }
    impl utoipa::ToSchema for super::SessionId {}

    impl utoipa::PartialSchema for super::RequestId {
        fn schema() -> RefOr<Schema> {
            uuid(
                "A guest request or invitation (UUIDv7, time-ordered).",
                "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2b",
            )
        }
    }
    impl utoipa::ToSchema for super::RequestId {}

    impl utoipa::PartialSchema for super::MessageId {
        fn schema() -> RefOr<Schema> {
            uuid("A chat message (UUIDv7).", "01a21419-b9c0-7000-8000-000000000001")
        }
    }
    impl utoipa::ToSchema for super::MessageId {}

    impl utoipa::PartialSchema for super::UserId {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(super::UserId::MAX_LEN))
                .description(Some(
                    "A user: the `sub` of their JWT, also their identity at the SFU; without surrounding spaces, \
                     control characters or `#`.",
                ))
                .examples(["bob"])
                .into()
        }
    }
    impl utoipa::ToSchema for super::UserId {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_uuids_and_name_their_room() {
        let id = SessionId::parse("5B0C2F9E8D1A4C3B9F7E2A6D4E8B1C30").unwrap();
        assert_eq!(id.to_string(), "5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30");
        assert_eq!(id.room_name(), "live_5b0c2f9e8d1a4c3b9f7e2a6d4e8b1c30");
        assert_eq!(SessionId::of_room(&id.room_name()), Some(id));
        assert_eq!(SessionId::of_room("other_room"), None);
        assert_eq!(SessionId::of_room("live_nothex"), None);
        assert_eq!(SessionId::parse("not-a-uuid"), Err(NOT_A_UUID));
    }

    #[test]
    fn user_ids_are_bounded_and_key_safe() {
        assert!(UserId::parse("alice").is_ok());
        assert!(UserId::parse(&"a".repeat(128)).is_ok());
        for bad in ["", " alice", "al#ice", "a\u{7}b", &"a".repeat(129)] {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_deserialize_through_parse() {
        #[derive(Deserialize)]
        struct Body {
            #[allow(dead_code)]
            session_id: SessionId,
        }
        let err = serde_json::from_str::<Body>(r#"{"session_id": "nope"}"#).err().unwrap();
        assert!(err.to_string().starts_with("must be a UUID"), "{err}");
        let err = serde_json::from_str::<Body>(r#"{"session_id": 42}"#).err().unwrap();
        assert!(err.to_string().contains("expected a UUID"), "{err}");
        let id: UserId = serde_json::from_str(r#""bob""#).unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""bob""#);
    }
}
