//! Access patterns of WebSocket connections and the audiences of pushes (`docs/data-model.md`,
//! P12, P17).

use super::error::StoreResult;
use super::item::{db_err, s, text, to_item, Item};
use super::Store;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::time::epoch_seconds;
use crate::domain::Connection;

/// A connection as the fan-out sees it (from GSI1 keys alone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRef {
    pub connection_id: String,
    pub user_id: String,
}

impl Store {
    /// P12: records a connection (with its TTL) under the session's fan-out index.
    pub async fn put_connection(&self, c: &Connection) -> StoreResult<()> {
        let mut item = to_item(&keys::connection(&c.connection_id), c)?;
        item.insert(keys::GSI1_PK.into(), s(keys::connections_index_pk(&c.session_id)));
        item.insert(
            keys::GSI1_SK.into(),
            s(keys::connections_index_sk(&c.user_id, &c.connection_id)),
        );
        self.put(item).await
    }

    /// P12: a connection by id; an expired one is none (TTL deletes lag by up to two days).
    pub async fn connection(&self, connection_id: &str) -> StoreResult<Option<Connection>> {
        let c: Option<Connection> = self.get(keys::connection(connection_id)).await?;
        Ok(c.filter(|c| c.expires_at > epoch_seconds()))
    }

    /// P12: deletes a connection item (on `$disconnect`, or when a push finds it gone).
    pub async fn delete_connection(&self, connection_id: &str) -> StoreResult<()> {
        self.delete(keys::connection(connection_id)).await
    }

    /// P12: connections of a session, optionally of one user only, following every page.
    pub async fn session_connections(
        &self,
        session_id: &SessionId,
        user_id: Option<&UserId>,
    ) -> StoreResult<Vec<ConnectionRef>> {
        let mut q = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .expression_attribute_values(":pk", s(keys::connections_index_pk(session_id)));
        q = match user_id {
            Some(u) => q
                .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :user)")
                .expression_attribute_values(":user", s(format!("{u}#"))),
            None => q.key_condition_expression("gsi1pk = :pk"),
        };
        let items: Vec<Item> = q.into_paginator().items().send().try_collect().await.map_err(db_err)?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let (user, conn) = text(i, keys::GSI1_SK)?.split_once('#')?;
                Some(ConnectionRef {
                    connection_id: conn.to_string(),
                    user_id: user.to_string(),
                })
            })
            .collect())
    }

    /// P17: ids of the host and cohosts of a session, from the session item (which keeps the
    /// cohost list, so a push to the stage never reads the audience).
    pub async fn moderators(&self, session_id: &SessionId) -> StoreResult<Vec<UserId>> {
        Ok(self
            .session(session_id)
            .await?
            .map(|s| s.moderators())
            .unwrap_or_default())
    }
}
