//! Items as DynamoDB sees them: attribute values, keys, (de)serialization of our types, and the
//! store's one mapping of an SDK failure.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{StoreError, StoreResult};
use crate::domain::keys::{self, Key};
use crate::domain::ParticipantStatus;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl ToString) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn key_item(key: &Key) -> Item {
    HashMap::from([(keys::PK.to_string(), s(&key.pk)), (keys::SK.to_string(), s(&key.sk))])
}

/// `value` as an item stored under `key`.
pub fn to_item<T: Serialize>(key: &Key, value: &T) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(failed)?;
    item.extend(key_item(key));
    Ok(item)
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(failed)
}

/// A numeric attribute of an item, 0 when absent.
pub fn number(item: &Item, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A string attribute of an item.
pub fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// `:active` and `:muted`, for conditions on presence (`#st IN (:active, :muted)`).
pub fn present_values() -> [(String, AttributeValue); 2] {
    [
        (":active".into(), s(ParticipantStatus::Active.as_str())),
        (":muted".into(), s(ParticipantStatus::Muted.as_str())),
    ]
}

/// An unexpected failure, with the SDK's whole error chain for the log.
pub fn db_err(e: impl std::error::Error) -> StoreError {
    StoreError::Failed(DisplayErrorContext(e).to_string())
}

/// A failure to build or read an item (a bug, never the caller's fault).
pub fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(e.to_string())
}
