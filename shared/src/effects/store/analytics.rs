//! Access patterns of analytics (`docs/data-model.md`, P46–P48): counters kept as things happen
//! (one item per user who joined, one per minute), read back in one paged Query per session; the
//! sessions a host hosted, by time.
//!
//! Every count is an `ADD` (commutative, no read, no condition), written right after the change
//! it counts has been applied: analytics never refuse or slow a join, a chat or a leave. Times
//! are sums of epoch milliseconds: a user's time present is `Σ left − Σ joined` (plus now, or the
//! session's end, for one still present), so no write needs to read the last one.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::error::StoreResult;
use super::item::{db_err, key_item, n, number, s, text};
use super::{query_all, Store};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::time::Timestamp;

/// One user's counters in one session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewerStats {
    pub joins: i64,
    pub leaves: i64,
    /// Σ of their join times and of their leave times (epoch ms).
    pub joined_ms: i64,
    pub left_ms: i64,
    pub stage_ons: i64,
    pub stage_offs: i64,
    pub stage_on_ms: i64,
    pub stage_off_ms: i64,
    /// Asked to come on stage.
    pub asked: bool,
}

impl ViewerStats {
    /// Milliseconds present, those still present counted up to `end_ms`.
    pub fn present_ms(&self, end_ms: i64) -> i64 {
        (self.left_ms - self.joined_ms + (self.joins - self.leaves) * end_ms).max(0)
    }

    /// Milliseconds on stage, up to `end_ms` for one still on it.
    pub fn stage_ms(&self, end_ms: i64) -> i64 {
        (self.stage_off_ms - self.stage_on_ms + (self.stage_ons - self.stage_offs) * end_ms).max(0)
    }
}

/// One minute's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MinuteStats {
    pub joins: i64,
    pub leaves: i64,
    pub chats: i64,
}

/// A session's counters as kept.
#[derive(Clone, Debug, Default)]
pub struct SessionStats {
    pub viewers: Vec<ViewerStats>,
    pub minutes: HashMap<u32, MinuteStats>,
}

/// What one counted happening adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Happening {
    Joined,
    Left,
    OnStage,
    OffStage,
    Asked,
    Chatted,
}

impl Store {
    /// P46: counts `what` of `user_id` at `at_ms` (`minute`: of the session). Failures are
    /// logged by the caller: the change counted has been made.
    pub async fn count(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        what: Happening,
        at_ms: i64,
        minute: u32,
    ) -> StoreResult<()> {
        let viewer = match what {
            Happening::Joined => Some(("ADD joins :one, joined_ms :at", true)),
            Happening::Left => Some(("ADD leaves :one, left_ms :at", true)),
            Happening::OnStage => Some(("ADD stage_ons :one, stage_on_ms :at", true)),
            Happening::OffStage => Some(("ADD stage_offs :one, stage_off_ms :at", true)),
            Happening::Asked => Some(("SET asked = :yes", false)),
            Happening::Chatted => None,
        };
        let minute_add = match what {
            Happening::Joined => Some("ADD joins :one"),
            Happening::Left => Some("ADD leaves :one"),
            Happening::Chatted => Some("ADD chats :one"),
            _ => None,
        };
        let viewer_write = async {
            let Some((expression, timed)) = viewer else {
                return Ok(());
            };
            let mut u = self
                .db
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_item(&keys::viewer_stats(session_id, user_id))))
                .update_expression(expression);
            u = if timed {
                u.expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":at", n(at_ms))
            } else {
                u.expression_attribute_values(":yes", AttributeValue::Bool(true))
            };
            u.send().await.map(|_| ()).map_err(db_err)
        };
        let minute_write = async {
            let Some(expression) = minute_add else { return Ok(()) };
            self.db
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_item(&keys::minute_stats(session_id, minute))))
                .update_expression(expression)
                .expression_attribute_values(":one", n(1))
                .send()
                .await
                .map(|_| ())
                .map_err(db_err)
        };
        let (a, b) = futures::join!(viewer_write, minute_write);
        a.and(b)
    }

    /// P47: a session's counters: one Query of its `STATS#` partition, every page (an item per
    /// user who joined and per minute: 10,000 viewers are about 1 MB).
    pub async fn session_stats(&self, session_id: &SessionId) -> StoreResult<SessionStats> {
        let items = query_all(
            self.db
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(keys::stats_pk(session_id))),
        )
        .await?;
        let mut stats = SessionStats::default();
        for i in items {
            let sk = text(&i, keys::SK).unwrap_or_default();
            if sk.starts_with(keys::VIEWER_PREFIX) {
                stats.viewers.push(ViewerStats {
                    joins: number(&i, "joins"),
                    leaves: number(&i, "leaves"),
                    joined_ms: number(&i, "joined_ms"),
                    left_ms: number(&i, "left_ms"),
                    stage_ons: number(&i, "stage_ons"),
                    stage_offs: number(&i, "stage_offs"),
                    stage_on_ms: number(&i, "stage_on_ms"),
                    stage_off_ms: number(&i, "stage_off_ms"),
                    asked: i.get("asked").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
                });
            } else if let Some(m) = sk.strip_prefix(keys::MINUTE_PREFIX).and_then(|m| m.parse().ok()) {
                stats.minutes.insert(
                    m,
                    MinuteStats {
                        joins: number(&i, "joins"),
                        leaves: number(&i, "leaves"),
                        chats: number(&i, "chats"),
                    },
                );
            }
        }
        Ok(stats)
    }

    /// P48: the sessions `host` opened between `from` and `to`, oldest first, at most `limit`.
    pub async fn hosted_sessions(
        &self,
        host: &UserId,
        from: &Timestamp,
        to: &Timestamp,
        limit: i32,
    ) -> StoreResult<Vec<SessionId>> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(format!("USER#{host}")))
            .expression_attribute_values(":from", s(format!("{}{from}", keys::HOSTED_PREFIX)))
            .expression_attribute_values(":to", s(format!("{}{to}#\u{10ffff}", keys::HOSTED_PREFIX)))
            .limit(limit)
            .send()
            .await
            .map_err(db_err)?;
        Ok(out
            .items()
            .iter()
            .filter_map(|i| {
                let sk = text(i, keys::SK)?;
                SessionId::parse(sk.rsplit('#').next()?).ok()
            })
            .collect())
    }
}
