//! Opaque pagination cursors: a DynamoDB `LastEvaluatedKey` as base64url JSON.
//!
//! Clients must treat them as opaque. Decoding checks that the cursor names exactly the key
//! attributes of the query it is handed to and stays inside that query's partition and sort-key
//! range, so a forged cursor cannot read another partition, nor start a query outside its range
//! (which DynamoDB refuses as invalid input); anything else is refused, naming the request
//! parameter the cursor came in.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::error::{StoreError, StoreResult};

pub fn encode(key: &HashMap<String, AttributeValue>) -> String {
    let map: BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&map).expect("string map serializes"))
}

/// Decodes a cursor for a query whose key attributes are `attributes`, whose partition attribute
/// `partition.0` must equal `partition.1`, and whose sort key `range.0` must satisfy `range.1`
/// (the query's key condition).
pub fn decode(
    param: &'static str,
    cursor: &str,
    attributes: &[&str],
    partition: (&str, &str),
    range: (&str, &dyn Fn(&str) -> bool),
) -> StoreResult<HashMap<String, AttributeValue>> {
    let bad = || StoreError::BadCursor(param);
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let map: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
    let mut expected = attributes.to_vec();
    names.sort_unstable();
    expected.sort_unstable();
    if names != expected
        || map.get(partition.0).map(String::as_str) != Some(partition.1)
        || !map.get(range.0).is_some_and(|sk| (range.1)(sk))
    {
        return Err(bad());
    }
    Ok(map.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_cursors() {
        let key: HashMap<String, AttributeValue> = [("pk", "SESSION#a"), ("sk", "PART#u")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect();
        let c = encode(&key);
        let any: (&str, &dyn Fn(&str) -> bool) = ("sk", &|_| true);
        let parts: (&str, &dyn Fn(&str) -> bool) = ("sk", &|sk| sk.starts_with("PART#"));
        let messages: (&str, &dyn Fn(&str) -> bool) = ("sk", &|sk| sk.starts_with("MSG#"));
        assert_eq!(
            decode("cursor", &c, &["pk", "sk"], ("pk", "SESSION#a"), any).unwrap(),
            key
        );
        assert_eq!(
            decode("cursor", &c, &["pk", "sk"], ("pk", "SESSION#a"), parts).unwrap(),
            key
        );
        assert!(decode("cursor", &c, &["pk", "sk"], ("pk", "SESSION#a"), messages).is_err());
        assert!(decode("cursor", &c, &["pk", "sk"], ("pk", "SESSION#b"), any).is_err());
        assert!(decode("cursor", &c, &["pk", "sk", "gsi1pk"], ("pk", "SESSION#a"), any).is_err());
        assert!(decode("cursor", "!!", &["pk", "sk"], ("pk", "SESSION#a"), any).is_err());
        assert!(decode("cursor", "e30", &["pk", "sk"], ("pk", "SESSION#a"), any).is_err());
    }
}
