//! Access patterns of reactions: count one within the per-user rate, sum a session's totals
//! (`docs/data-model.md`, P14, P15).
//!
//! A reaction never touches the session's item: the most frequent write we take must not contend
//! with joins, leaves and stage changes there (on DynamoDB, transactions on one item conflict).
//! The user's rate window lives on their participant item, whose presence is the condition of the
//! same update; the count is an `ADD` on one of the session's shard items, each its own partition.

use std::collections::HashMap;

use super::error::{Refusal, StoreResult};
use super::item::{db_err, key_item, n, number, present_values, text, Item};
use super::rates::{Counted, Guard, WindowAt};
use super::Store;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys;
use crate::domain::rate::{Limited, Rate};
use crate::domain::{ParticipantStatus, ReactionType, SessionStatus};

/// Shards of a session's reaction counts: writes spread over them, reads sum them.
pub const REACTION_SHARDS: u32 = 16;

impl Store {
    /// P14: counts one reaction of a present participant, within `rate`: one conditional update
    /// of the participant's rate window (P25's, guarded by presence in the same write), then an
    /// `ADD` on a random shard of the session's counts.
    pub async fn add_reaction(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        kind: ReactionType,
        rate: Rate,
    ) -> StoreResult<()> {
        let present = |item: &Item| {
            [ParticipantStatus::Active, ParticipantStatus::Muted]
                .iter()
                .any(|p| text(item, "status") == Some(p.as_str()))
        };
        let at = WindowAt {
            key: keys::participant(session_id, user_id),
            window_attr: "react_window",
            count_attr: "react_count",
            guard: Some(Guard {
                condition: "#st IN (:active, :muted)",
                names: vec![("#st", "status")],
                values: present_values().into(),
                holds: &present,
            }),
        };
        match self.count_in_window(&at, rate).await? {
            Counted::Yes => self.count_reaction(session_id, kind).await,
            Counted::Full { retry_after_ms } => Err(Refusal::RateLimited {
                what: Limited::Reactions,
                rate,
                retry_after_ms,
            }
            .into()),
            Counted::Refused(old) => Err(self.reaction_refusal(session_id, &old).await?.into()),
        }
    }

    /// P14: why a reaction was refused, the participant as it was (`old`, empty when there is
    /// none) being absent, left or barred: an ended or missing session says so first.
    async fn reaction_refusal(&self, session_id: &SessionId, old: &Item) -> StoreResult<Refusal> {
        Ok(match self.session(session_id).await? {
            None => Refusal::SessionMissing,
            Some(s) if s.status != SessionStatus::Live => Refusal::SessionEnded,
            _ if [ParticipantStatus::Kicked, ParticipantStatus::Banned]
                .iter()
                .any(|b| text(old, "status") == Some(b.as_str())) =>
            {
                Refusal::Barred
            }
            _ => Refusal::Absent,
        })
    }

    /// P14: adds one reaction of `kind` to a random shard of the session's counts.
    async fn count_reaction(&self, session_id: &SessionId, kind: ReactionType) -> StoreResult<()> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::reaction_shard(
                session_id,
                rand::random_range(0..REACTION_SHARDS),
            ))))
            .update_expression("ADD #t :one")
            .expression_attribute_names("#t", kind.as_str())
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map(|_| ())
            .map_err(db_err)
    }

    /// P15: a session's reaction totals, summed over its shards (one BatchGetItem).
    pub async fn reaction_totals(&self, session_id: &SessionId) -> StoreResult<HashMap<ReactionType, i64>> {
        let items = self
            .batch_get_items(reaction_shard_keys(session_id), "reaction totals", false)
            .await?;
        Ok(reaction_totals(&items))
    }
}

/// The keys of a session's reaction shards (P15).
pub(super) fn reaction_shard_keys(session_id: &SessionId) -> Vec<Item> {
    (0..REACTION_SHARDS)
        .map(|shard| key_item(&keys::reaction_shard(session_id, shard)))
        .collect()
}

/// Every reaction type's total over the shard `items` (the ones that exist).
pub(super) fn reaction_totals<'a>(items: impl IntoIterator<Item = &'a Item>) -> HashMap<ReactionType, i64> {
    let mut totals: HashMap<ReactionType, i64> = ReactionType::ALL.iter().map(|t| (*t, 0)).collect();
    for item in items {
        for t in ReactionType::ALL {
            *totals.entry(t).or_default() += number(item, t.as_str());
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::effects::store::testing::{cancelled, reason, session_id};

    /// However much the session's item is fought over (joins, leaves, stage changes conflicting
    /// in transactions), a reaction is two single-item updates and never waits on it.
    #[tokio::test]
    async fn a_conflict_storm_on_the_session_cannot_block_reactions() {
        let storm =
            mock!(Client::transact_write_items).then_error(|| cancelled(vec![reason("TransactionConflict", None)]));
        let update = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
        let store = Store::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&storm, &update]),
            "t",
        );
        let user = UserId::parse("u").unwrap();
        for _ in 0..3 {
            store
                .add_reaction(&session_id(), &user, ReactionType::Fire, Rate::per_seconds(25, 1))
                .await
                .unwrap();
        }
        assert_eq!(storm.num_calls(), 0, "no transaction");
        assert_eq!(update.num_calls(), 6, "the rate window and a shard, per reaction");
    }
}
