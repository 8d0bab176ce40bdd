//! Every key of the single table, in one place. `docs/data-model.md` lists the access patterns that
//! use them; a key format changes here and nowhere else.
//!
//! Attribute names: `pk`/`sk` (table), `gsi1pk`/`gsi1sk` (GSI1, keys only), `expires_at` (TTL).

/// Attribute names of the table and its index.
pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";

/// The partition every live session is listed under in GSI1 (sparse: removed when it ends).
/// Only start and end write it, and the index projects keys only, so viewer-count updates never
/// touch it (see data-model.md, "hot keys").
pub const LIVE_INDEX_PK: &str = "LIVE";

/// A table key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

/// `SESSION#<id>` / `META`: the session with its settings and counters.
pub fn session(session_id: &str) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: "META".into(),
    }
}

pub fn session_pk(session_id: &str) -> String {
    format!("SESSION#{session_id}")
}

/// `SESSION#<id>` / `PART#<user>`: one participant of a session (present or not).
pub fn participant(session_id: &str, user_id: &str) -> Key {
    Key {
        pk: session_pk(session_id),
        sk: format!("{PARTICIPANT_PREFIX}{user_id}"),
    }
}

pub const PARTICIPANT_PREFIX: &str = "PART#";

/// `USER#<id>` / `LIVE`: exists while the user hosts a live session; makes "one live session per
/// host" a conditional put instead of a query.
pub fn host_lock(user_id: &str) -> Key {
    Key {
        pk: format!("USER#{user_id}"),
        sk: "LIVE".into(),
    }
}

/// GSI1 sort key of a live session: newest first when queried descending; the id breaks ties.
pub fn live_index_sk(started_at: &str, session_id: &str) -> String {
    format!("{started_at}#{session_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shapes() {
        assert_eq!(
            session("s1"),
            Key {
                pk: "SESSION#s1".into(),
                sk: "META".into()
            }
        );
        assert_eq!(participant("s1", "u1").sk, "PART#u1");
        assert_eq!(
            host_lock("u1"),
            Key {
                pk: "USER#u1".into(),
                sk: "LIVE".into()
            }
        );
        assert_eq!(
            live_index_sk("2026-01-01T00:00:00.000000Z", "s1"),
            "2026-01-01T00:00:00.000000Z#s1"
        );
    }
}
