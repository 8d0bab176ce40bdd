//! Idempotency keys: the client's name for one logical request, so that a retry of a
//! state-changing `POST` (a timeout, a dropped connection) replays the first answer instead of
//! doing the work again. The header follows the IETF draft `Idempotency-Key` header field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The request header naming the key.
pub const HEADER: &str = "Idempotency-Key";

/// The response header marking an answer replayed from an earlier request (`true`).
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// A key as a client sends it: 1 to 255 visible ASCII characters (a UUID is the usual choice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() || text.len() > Self::MAX_LEN {
            return Err(format!("must be 1 to {} characters", Self::MAX_LEN));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be visible ASCII characters (no spaces)".into());
        }
        Ok(IdempotencyKey(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first answer to a key, replayed to its retries: status, headers and body, as sent. Only
/// successful answers are kept: a refused or failed request changed nothing, so its retry runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("0f8fad5b-d9cb-469f-a165-70867728950e").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " ", "a b", "ключ", "tab\t", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
