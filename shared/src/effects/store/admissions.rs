//! Access pattern of subscribers-only sessions (`docs/data-model.md`, P38): the users a session
//! admits, one item each, so that a join reads one key whatever the list's length.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};

use super::error::StoreResult;
use super::item::{failed, key_item, s, text};
use super::Store;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;

impl Store {
    /// P38: makes `users` the session's admitted users: the current list (one Query), then the
    /// puts and deletes that differ, 25 to a BatchWriteItem. Not one transaction (a list may hold
    /// 10,000 users): a join during the replacement sees the old or the new entry of its user.
    pub async fn replace_admitted(&self, session_id: &SessionId, users: &BTreeSet<UserId>) -> StoreResult<()> {
        let current: BTreeSet<String> = self
            .query_prefix(keys::session_pk(session_id), keys::ADMITTED_PREFIX)
            .await?
            .iter()
            .filter_map(|item| text(item, "user_id").map(str::to_string))
            .collect();
        let mut writes = Vec::new();
        for user in users.iter().filter(|u| !current.contains(u.as_str())) {
            let mut item = key_item(&keys::admitted(session_id, user));
            item.insert("user_id".into(), s(user));
            let put = PutRequest::builder().set_item(Some(item)).build().map_err(failed)?;
            writes.push(WriteRequest::builder().put_request(put).build());
        }
        for gone in current
            .iter()
            .filter(|u| !users.iter().any(|k| k.as_str() == u.as_str()))
        {
            let user = UserId::parse(gone).map_err(failed)?;
            let delete = DeleteRequest::builder()
                .set_key(Some(key_item(&keys::admitted(session_id, &user))))
                .build()
                .map_err(failed)?;
            writes.push(WriteRequest::builder().delete_request(delete).build());
        }
        self.batch_write(writes, "replacing the admitted users").await
    }

    /// P38: whether the session admits `user_id`.
    pub async fn is_admitted(&self, session_id: &SessionId, user_id: &UserId) -> StoreResult<bool> {
        Ok(self
            .get::<serde_json::Value>(keys::admitted(session_id, user_id))
            .await?
            .is_some())
    }
}
