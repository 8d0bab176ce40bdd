//! Analytics: counted as things happen ([`count`], right after each change), read back per
//! session in a bounded number of calls (the session, its counters' partition, its reaction
//! shards, its top gifters), and summed across a host's sessions. No table scans.

use serde::{Deserialize, Serialize};

use super::access;
use crate::domain::economy::{Gifter, TOP_GIFTERS};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Session, SessionStatus, User};
use crate::effects::store::analytics::{Happening, SessionStats};
use crate::effects::Effects;

/// Counts `what` of `user_id` in `session` at `at_ms` (epoch ms, the app's clock). A failure is
/// logged: the change it counts has been made and stands.
pub async fn count(fx: &Effects, session: &Session, user_id: &UserId, what: Happening, at_ms: i64) {
    let minute = minute_of(session, at_ms);
    if let Err(e) = fx.store.count(&session.id, user_id, what, at_ms, minute).await {
        tracing::warn!(error = %e, session_id = %session.id, ?what, "analytics count not kept");
    }
}

/// The minute of the session `at_ms` falls in (0 before it went live).
fn minute_of(session: &Session, at_ms: i64) -> u32 {
    u32::try_from((at_ms - session.started_at.unix_millis()).max(0) / 60_000).unwrap_or(u32::MAX)
}

/// `GET /live/analytics/{session_id}` answer; each field documented in the README.
#[derive(Debug, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Analytics {
    /// Sessions summed (1 for one session).
    pub sessions: usize,
    /// Seconds live (to now for a live session).
    pub duration_seconds: i64,
    /// The most viewers present at once (the host not counted).
    pub peak_viewers: u32,
    /// Distinct users who joined.
    pub unique_viewers: usize,
    /// Mean and median of each unique viewer's total seconds present (every visit summed).
    pub average_view_seconds: f64,
    pub median_view_seconds: f64,
    /// Viewers present at the end of each minute since the session went live (index = minute).
    pub viewers_per_minute: Vec<i64>,
    /// Distinct users who came on stage (guests and cohosts).
    pub guests_on_stage: usize,
    /// Seconds spent on stage, all of them summed.
    pub stage_seconds: f64,
    /// Share of unique viewers who asked to come on stage (0..1).
    pub guest_request_rate: f64,
    /// Chat messages sent by participants (system and gift lines not counted).
    pub chat_messages: i64,
    /// Chat messages sent in each minute (index = minute).
    pub chat_per_minute: Vec<i64>,
    /// Reactions by type.
    pub reactions: serde_json::Value,
    /// Coins paid in gifts, tips and tickets.
    pub gift_revenue: u64,
    pub tips: u64,
    pub tickets: u64,
    /// Who gave the most in gifts and tips (for one session).
    pub top_gifters: Vec<Gifter>,
}

/// `GET /live/analytics?from=&to=` query: RFC 3339 bounds of when the sessions opened.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Range {
    /// Sessions opened at or after this (default: 30 days before `to`).
    #[serde(default)]
    pub from: Option<String>,
    /// Sessions opened at or before this (default: now).
    #[serde(default)]
    pub to: Option<String>,
}

/// Sessions one range request sums, at most (each costs a few reads).
pub const RANGE_MAX_SESSIONS: i32 = 50;

/// Per-user totals of one session, to be summed with others'.
struct Totals {
    analytics: Analytics,
    view_ms: Vec<i64>,
    askers: usize,
    stage_ms: i64,
}

fn median(sorted: &[i64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2] as f64,
        n => (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0,
    }
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// One session's totals from its counters at `now_ms`.
fn totals(session: &Session, stats: &SessionStats, reactions: serde_json::Value, now_ms: i64) -> Totals {
    let end_ms = session.ended_at.map_or(now_ms, |t| t.unix_millis());
    let view_ms: Vec<i64> = stats.viewers.iter().map(|v| v.present_ms(end_ms)).collect();
    let stage_ms: i64 = stats.viewers.iter().map(|v| v.stage_ms(end_ms)).sum();
    let last_minute = stats
        .minutes
        .keys()
        .copied()
        .max()
        .unwrap_or(0)
        .max(u32::try_from((end_ms - session.started_at.unix_millis()).max(0) / 60_000).unwrap_or(0));
    let (mut present, mut viewers_per_minute, mut chat_per_minute) = (0, Vec::new(), Vec::new());
    for m in 0..=last_minute {
        let minute = stats.minutes.get(&m).cloned().unwrap_or_default();
        present += minute.joins - minute.leaves;
        viewers_per_minute.push(present);
        chat_per_minute.push(minute.chats);
    }
    let analytics = Analytics {
        sessions: 1,
        duration_seconds: session.started_at.seconds_until(&Timestamp::from_millis(end_ms)),
        peak_viewers: session.peak_viewers,
        unique_viewers: view_ms.len(),
        viewers_per_minute,
        guests_on_stage: stats.viewers.iter().filter(|v| v.stage_ons > 0).count(),
        chat_messages: chat_per_minute.iter().sum(),
        chat_per_minute,
        reactions,
        gift_revenue: session.gift_revenue,
        tips: session.tip_revenue,
        tickets: session.ticket_revenue,
        ..Analytics::default()
    };
    Totals {
        analytics,
        askers: stats.viewers.iter().filter(|v| v.asked).count(),
        view_ms,
        stage_ms,
    }
}

/// The averages, median and rates of summed totals.
fn finish(mut t: Totals) -> Analytics {
    t.view_ms.sort_unstable();
    let a = &mut t.analytics;
    let n = t.view_ms.len();
    a.unique_viewers = n;
    if n > 0 {
        a.average_view_seconds = seconds(t.view_ms.iter().sum::<i64>()) / n as f64;
        a.guest_request_rate = t.askers as f64 / n as f64;
    }
    a.median_view_seconds = median(&t.view_ms) / 1000.0;
    a.stage_seconds = seconds(t.stage_ms);
    t.analytics
}

async fn session_totals(fx: &Effects, session: &Session) -> ApiResult<Totals> {
    let (stats, detail) = futures::try_join!(
        fx.store.session_stats(&session.id),
        fx.store.session_detail(&session.id, None)
    )?;
    let reactions = detail
        .map(|d| super::events::totals_json(&d.reactions))
        .unwrap_or_default();
    Ok(totals(session, &stats, reactions, fx.clock.millis()))
}

/// `GET /live/analytics/{session_id}`: the host's analytics of one session, live or ended.
pub async fn session(fx: &Effects, user: &User, session_id: SessionId) -> ApiResult<Analytics> {
    let session = access::existing_session(fx, &session_id).await?;
    if session.host_id != user.id {
        return Err(ApiError::Forbidden("only the host reads the analytics".into()));
    }
    let t = session_totals(fx, &session).await?;
    let top = if session.gift_revenue + session.tip_revenue > 0 {
        fx.store.top_gifters(&session_id, TOP_GIFTERS).await?
    } else {
        Vec::new()
    };
    let mut a = finish(t);
    a.top_gifters = top;
    Ok(a)
}

fn bound(name: &str, text: Option<&str>) -> ApiResult<Option<Timestamp>> {
    text.map(|t| Timestamp::parse(t).map_err(|_| ApiError::validation(name, "must be an RFC 3339 timestamp")))
        .transpose()
}

/// `GET /live/analytics?from=&to=`: the caller's sessions opened in the range (at most
/// [`RANGE_MAX_SESSIONS`], oldest first), summed: counts and revenue added, peak the highest,
/// averages and the median over every viewer of every session, per-minute series added minute
/// by minute from each session's start.
pub async fn range(fx: &Effects, user: &User, q: Range) -> ApiResult<Analytics> {
    let to = bound("to", q.to.as_deref())?.unwrap_or_else(|| fx.clock.now());
    let from = bound("from", q.from.as_deref())?.unwrap_or_else(|| to.plus_seconds(-30 * 86_400));
    if from > to {
        return Err(ApiError::validation("from", "must not be after `to`"));
    }
    let ids = fx
        .store
        .hosted_sessions(&user.id, &from, &to, RANGE_MAX_SESSIONS)
        .await?;
    let mut sum = Totals {
        analytics: Analytics {
            reactions: serde_json::json!({}),
            ..Analytics::default()
        },
        view_ms: Vec::new(),
        askers: 0,
        stage_ms: 0,
    };
    for id in ids {
        let Some(session) = fx.store.session(&id).await? else {
            continue;
        };
        if session.host_id != user.id || session.shown_status() == SessionStatus::Backstage {
            continue;
        }
        let t = session_totals(fx, &session).await?;
        let (a, s) = (&mut sum.analytics, t.analytics);
        a.sessions += 1;
        a.duration_seconds += s.duration_seconds;
        a.peak_viewers = a.peak_viewers.max(s.peak_viewers);
        a.guests_on_stage += s.guests_on_stage;
        a.chat_messages += s.chat_messages;
        a.gift_revenue += s.gift_revenue;
        a.tips += s.tips;
        a.tickets += s.tickets;
        add_series(&mut a.viewers_per_minute, &s.viewers_per_minute);
        add_series(&mut a.chat_per_minute, &s.chat_per_minute);
        if let (Some(total), Some(more)) = (a.reactions.as_object_mut(), s.reactions.as_object()) {
            for (kind, n) in more {
                let before = total.get(kind).and_then(serde_json::Value::as_i64).unwrap_or(0);
                total.insert(kind.clone(), (before + n.as_i64().unwrap_or(0)).into());
            }
        }
        sum.view_ms.extend(t.view_ms);
        sum.askers += t.askers;
        sum.stage_ms += t.stage_ms;
    }
    Ok(finish(sum))
}

fn add_series(total: &mut Vec<i64>, more: &[i64]) {
    if total.len() < more.len() {
        total.resize(more.len(), 0);
    }
    for (t, m) in total.iter_mut().zip(more) {
        *t += m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[5]), 5.0);
        assert_eq!(median(&[1, 3, 10, 20]), 6.5);
    }
}
