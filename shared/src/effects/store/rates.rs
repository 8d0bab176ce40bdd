//! Access pattern of per-user rate limits (`docs/data-model.md`, P25): fixed windows counted by
//! one conditional update each, on the user's own rate item, or on another item whose condition
//! must hold in the same write (a reaction's: the participant, present).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::error::{Refusal, StoreError, StoreResult};
use super::item::{key_item, n, number, Item};
use super::transact::{backoff, MAX_ATTEMPTS};
use super::Store;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::keys::{self, Key};
use crate::domain::rate::{Limited, Rate};
use crate::domain::time::epoch_millis;

/// Where a window is counted: the item, the attributes holding the window and its count, and a
/// condition the item must meet as well (`None`: any item, created when absent).
pub struct WindowAt<'a> {
    pub key: Key,
    pub window_attr: &'static str,
    pub count_attr: &'static str,
    pub guard: Option<Guard<'a>>,
}

/// A condition of the counting write beyond the window's, and how to tell from the item as it
/// was whether it held.
pub struct Guard<'a> {
    pub condition: &'a str,
    pub names: Vec<(&'a str, &'a str)>,
    pub values: Vec<(String, AttributeValue)>,
    pub holds: &'a (dyn Fn(&Item) -> bool + Sync),
}

/// What counting an action found.
#[derive(Debug)]
pub enum Counted {
    /// Counted within the rate.
    Yes,
    /// The rate is used up; the next window opens in this many milliseconds.
    Full { retry_after_ms: i64 },
    /// The guard did not hold: the item as it was (empty when absent).
    Refused(Item),
}

impl Store {
    /// P25: counts one action of `what` by `user` in `session` against `rate` (429 beyond).
    pub async fn count_action(&self, session: &SessionId, user: &UserId, what: Limited, rate: Rate) -> StoreResult<()> {
        let at = WindowAt {
            key: keys::rate_window(session, user, what.as_str()),
            window_attr: "window",
            count_attr: "used",
            guard: None,
        };
        match self.count_in_window(&at, rate).await? {
            Counted::Yes | Counted::Refused(_) => Ok(()),
            Counted::Full { retry_after_ms } => Err(Refusal::RateLimited {
                what,
                rate,
                retry_after_ms,
            }
            .into()),
        }
    }

    /// P25 (and P14): counts one action in the current window of `rate` on `at`: a new window
    /// (`SET window, count = 1` if the stored one is older) or the same one under the rate
    /// (`count + 1` if `count < rate.count`), each with `at`'s guard. Windows are aligned to the
    /// epoch; the item's `expires_at` is a minute past its window.
    pub async fn count_in_window(&self, at: &WindowAt<'_>, rate: Rate) -> StoreResult<Counted> {
        let window_ms = rate.window_ms();
        // The window last seen in a failed condition; `None`: assume a new one.
        let mut seen: Option<i64> = None;
        for attempt in 0..MAX_ATTEMPTS {
            let now = epoch_millis();
            let window = now.div_euclid(window_ms);
            let new_window = seen.is_none_or(|w| w < window);
            let mut update = self
                .db
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_item(&at.key)))
                .expression_attribute_names("#win", at.window_attr)
                .expression_attribute_names("#used", at.count_attr)
                .expression_attribute_values(":win", n(window))
                .expression_attribute_values(":one", n(1))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
            let (set, window_condition) = if new_window {
                // A guarded item (a participant) outlives its windows; a rate item does not.
                let set = if at.guard.is_some() {
                    "SET #win = :win, #used = :one"
                } else {
                    let expires = ((window + 1) * window_ms).div_euclid(1000) + 60;
                    update = update.expression_attribute_values(":exp", n(expires));
                    "SET #win = :win, #used = :one, expires_at = :exp"
                };
                (set, "(attribute_not_exists(#win) OR #win < :win)")
            } else {
                update = update.expression_attribute_values(":limit", n(rate.count));
                ("SET #used = #used + :one", "#win = :win AND #used < :limit")
            };
            update = update.update_expression(set);
            update = match &at.guard {
                None => update.condition_expression(window_condition),
                Some(g) => {
                    for (k, v) in &g.names {
                        update = update.expression_attribute_names(*k, *v);
                    }
                    for (k, v) in &g.values {
                        update = update.expression_attribute_values(k, v.clone());
                    }
                    update.condition_expression(format!("({}) AND {window_condition}", g.condition))
                }
            };
            let Some(old) = self.conditional_update(update).await? else {
                return Ok(Counted::Yes);
            };
            if let Some(g) = &at.guard {
                if old.is_empty() || !(g.holds)(&old) {
                    return Ok(Counted::Refused(old));
                }
            }
            let (stored, used) = (number(&old, at.window_attr), number(&old, at.count_attr));
            if stored >= window && used >= i64::from(rate.count) {
                return Ok(Counted::Full {
                    retry_after_ms: ((stored + 1) * window_ms - now).max(1),
                });
            }
            // The window moved on (or was not what this attempt assumed): decide again.
            seen = Some(stored);
            if stored >= window {
                backoff(attempt).await;
            }
        }
        Err(StoreError::Busy("rate window".into()))
    }
}
