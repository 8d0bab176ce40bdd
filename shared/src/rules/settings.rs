//! Live settings: what the host changes while the session runs (`PATCH /live/settings/{id}`),
//! each change applied in one conditional write, enforced from its answer on (every rule reads
//! the session's settings consistently), pushed as `settings.updated` and told in the chat.

use serde::Deserialize;
use serde_json::{json, Value};

use super::access;
use super::events::{self, kind};
use super::sessions::{blocked_words, within, SessionView};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::fanout::Audience;
use crate::domain::ids::SessionId;
use crate::domain::text::check_text;
use crate::domain::{limits, SessionStatus, User};
use crate::effects::store::settings::{SettingsRefusal, SettingsWrite};
use crate::effects::Effects;

/// `PATCH /live/settings/{session_id}` body: the settings to change, each optional (at least
/// one), with `POST /live/start`'s bounds. Who may join (`access`, `ticket_price`) is fixed at
/// start; any other field is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub chat_slow_mode: Option<u32>,
    pub enable_chat: Option<bool>,
    pub enable_gifts: Option<bool>,
    pub allow_guests: Option<bool>,
    pub require_approval: Option<bool>,
    /// Never below the guests on stage now (`409 below-guest-count`).
    pub max_guests: Option<u32>,
    /// Never below the audience now (`409 below-viewer-count`).
    pub max_participants: Option<u32>,
    /// The whole list, replacing the last one.
    pub blocked_words: Option<Vec<String>>,
}

/// One validated change: its field, its value as stored, and its words in the chat's note.
struct Change {
    field: &'static str,
    value: Value,
    said: String,
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

impl SettingsPatch {
    /// The changes asked for, validated in field order (the first violation is reported).
    fn changes(&self) -> ApiResult<Vec<Change>> {
        let mut out = Vec::new();
        let mut push = |field: &'static str, value: Value, said: String| out.push(Change { field, value, said });
        if let Some(t) = &self.title {
            let t = t.trim().to_string();
            if t.is_empty() {
                return Err(ApiError::validation("title", "must not be empty"));
            }
            check_text("title", &t, limits::TITLE_MAX_CHARS, false)?;
            push("title", json!(t), format!("the title is now \u{201c}{t}\u{201d}"));
        }
        if let Some(d) = &self.description {
            let d = d.trim().to_string();
            check_text("description", &d, limits::DESCRIPTION_MAX_CHARS, true)?;
            push("description", json!(d), "the description changed".into());
        }
        if let Some(s) = self.chat_slow_mode {
            let s = within("chat_slow_mode", s, limits::CHAT_SLOW_MODE_SECONDS)?;
            let said = if s == 0 {
                "slow mode is off".to_string()
            } else {
                format!("slow mode is on: one message every {s} s")
            };
            push("chat_slow_mode", json!(s), said);
        }
        if let Some(b) = self.enable_chat {
            push("enable_chat", json!(b), format!("chat is {}", on_off(b)));
        }
        if let Some(b) = self.enable_gifts {
            push("enable_gifts", json!(b), format!("gifts and tips are {}", on_off(b)));
        }
        if let Some(b) = self.allow_guests {
            push(
                "allow_guests",
                json!(b),
                format!("requests to join the stage are {}", on_off(b)),
            );
        }
        if let Some(b) = self.require_approval {
            let said = if b {
                "guests wait for the host's approval"
            } else {
                "guests come on stage without approval"
            };
            push("require_approval", json!(b), said.into());
        }
        if let Some(m) = self.max_guests {
            let m = within("max_guests", m, limits::MAX_GUESTS)?;
            push("max_guests", json!(m), format!("up to {m} guests on stage"));
        }
        if let Some(m) = self.max_participants {
            let m = within("max_participants", m, limits::MAX_PARTICIPANTS)?;
            push("max_participants", json!(m), format!("up to {m} viewers"));
        }
        if let Some(words) = &self.blocked_words {
            let words = blocked_words(words)?;
            push("blocked_words", json!(words), "the chat filter changed".into());
        }
        if out.is_empty() {
            return Err(ApiError::validation("body", "name at least one setting to change"));
        }
        Ok(out)
    }
}

/// The write of `changes`: title and description on the session, the rest in its settings.
fn write(changes: &[Change]) -> ApiResult<SettingsWrite> {
    let mut w = SettingsWrite::default();
    for c in changes {
        let value = serde_dynamo::to_attribute_value(&c.value).map_err(ApiError::internal)?;
        match c.field {
            "title" | "description" => w.top.push((c.field, value)),
            field => w.settings.push((field, value)),
        }
        match c.field {
            "max_guests" => w.max_guests = c.value.as_u64().and_then(|m| u32::try_from(m).ok()),
            "max_participants" => w.max_participants = c.value.as_u64().and_then(|m| u32::try_from(m).ok()),
            _ => {}
        }
    }
    Ok(w)
}

/// `PATCH /live/settings/{session_id}`: the host changes settings of a session that has not
/// ended. Lowering `max_guests` below the stage or `max_participants` below the audience is
/// `409`, nothing changed. Everyone gets `settings.updated` (the new settings without the
/// blocked words) and a system message; the audit trail records it.
pub async fn update(fx: &Effects, user: &User, session_id: SessionId, patch: SettingsPatch) -> ApiResult<SessionView> {
    let changes = patch.changes()?;
    let session = access::existing_session(fx, &session_id).await?;
    if session.host_id != user.id {
        return Err(ApiError::Forbidden("only the host changes the settings".into()));
    }
    if session.status == SessionStatus::Ended {
        return Err(ApiError::session_ended());
    }
    let updated = match fx.store.update_settings(&session_id, &write(&changes)?).await? {
        Ok(s) => s,
        Err(SettingsRefusal::Session(r)) => return Err(r.into()),
        Err(SettingsRefusal::BelowGuests(now)) => {
            return Err(ApiError::conflict(
                "below-guest-count",
                format!("{now} guests are on stage: max_guests cannot be lower"),
            ))
        }
        Err(SettingsRefusal::BelowViewers(now)) => {
            return Err(ApiError::conflict(
                "below-viewer-count",
                format!("{now} viewers are watching: max_participants cannot be lower"),
            ))
        }
    };
    let fields: Vec<&str> = changes.iter().map(|c| c.field).collect();
    let details: serde_json::Map<String, Value> =
        changes.iter().map(|c| (c.field.to_string(), c.value.clone())).collect();
    events::audit(
        fx,
        &session_id,
        &user.id,
        "settings.update",
        None,
        Value::Object(details),
    )
    .await;
    let view = SessionView::from(updated).at(fx.clock.millis());
    // Everyone sees what changed, without the blocked words (a list of what is filtered tells
    // how to get around it; hosts and cohosts read it in the session detail).
    let public = view.clone().public();
    let data = json!({"changed": fields, "title": public.title, "description": public.description, "settings": public.settings});
    events::publish(fx, Audience::Session, kind::SETTINGS_UPDATED, &session_id, data).await;
    let said: Vec<&str> = changes.iter().map(|c| c.said.as_str()).collect();
    let text = format!("{} changed the settings: {}", user.username, said.join("; "));
    events::system_message(
        fx,
        &session_id,
        text,
        Audience::Session,
        json!({"event": "settings.updated", "changed": fields}),
    )
    .await;
    Ok(view)
}
