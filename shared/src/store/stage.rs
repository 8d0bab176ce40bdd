//! Access patterns of the stage: guest requests and invitations, approvals, host controls on
//! participants, the ban list and the audit trail (`docs/data-model.md`, P9, P10, P18–P21).

use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::*;
use crate::domain::{AuditEntry, GuestRequest, RequestStatus, Role};

/// A change to one participant, with the session counters it moves, as one transaction.
#[derive(Clone, Debug)]
pub struct ParticipantChange {
    pub session_id: String,
    pub target: String,
    /// The target's role when the rule was decided; the write fails if it changed since.
    pub expected_role: Role,
    /// The acting user and the role that entitled them; checked in the same transaction.
    pub actor: Option<(String, Role)>,
    pub role: Option<Role>,
    pub status: Option<ParticipantStatus>,
    pub audio_enabled: Option<bool>,
    pub video_enabled: Option<bool>,
    pub screen_share_allowed: Option<bool>,
    /// +1: takes a stage slot (fails when the stage is full); -1: frees one.
    pub guest_delta: i32,
    /// -1 when the participant leaves the audience (kick, ban).
    pub viewer_delta: i32,
    /// Some(true): add to the session's cohost list; Some(false): remove from it.
    pub cohost: Option<bool>,
    /// Also list the user in the session's ban list.
    pub ban: bool,
    pub at: String,
}

impl ParticipantChange {
    pub fn new(session_id: &str, target: &str, expected_role: Role, at: &str) -> Self {
        ParticipantChange {
            session_id: session_id.into(),
            target: target.into(),
            expected_role,
            actor: None,
            role: None,
            status: None,
            audio_enabled: None,
            video_enabled: None,
            screen_share_allowed: None,
            guest_delta: 0,
            viewer_delta: 0,
            cohost: None,
            ban: false,
            at: at.into(),
        }
    }
}

/// The transaction's actions for a participant change, and where the session update sits.
fn change_actions(store: &Store, c: &ParticipantChange) -> ApiResult<Vec<TransactWriteItem>> {
    let mut sets: Vec<String> = Vec::new();
    let mut b = Update::builder()
        .table_name(&store.table)
        .set_key(Some(key_item(&keys::participant(&c.session_id, &c.target))))
        .expression_attribute_names("#st", "status")
        .expression_attribute_names("#role", "role")
        .expression_attribute_values(":expected", s(c.expected_role.as_str()));
    for (k, v) in present_values() {
        b = b.expression_attribute_values(k, v);
    }
    if let Some(r) = c.role {
        sets.push("#role = :role".into());
        b = b.expression_attribute_values(":role", s(r.as_str()));
    }
    if let Some(st) = c.status {
        sets.push("#st = :status".into());
        b = b.expression_attribute_values(":status", s(st.as_str()));
        if !st.is_present() {
            sets.push("left_at = :at".into());
            b = b.expression_attribute_values(":at", s(&c.at));
        }
    }
    for (name, value) in [
        ("audio_enabled", c.audio_enabled),
        ("video_enabled", c.video_enabled),
        ("screen_share_allowed", c.screen_share_allowed),
    ] {
        if let Some(v) = value {
            sets.push(format!("{name} = :{name}"));
            b = b.expression_attribute_values(format!(":{name}"), AttributeValue::Bool(v));
        }
    }
    if sets.is_empty() {
        return Err(ApiError::internal("empty participant change"));
    }
    let participant = b
        .update_expression(format!("SET {}", sets.join(", ")))
        .condition_expression("#st IN (:active, :muted) AND #role = :expected")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(ApiError::internal)?;
    let mut items = vec![TransactWriteItem::builder().update(participant).build()];
    items.push(TransactWriteItem::builder().update(session_counters(store, c)?).build());
    if let Some((actor, role)) = &c.actor {
        let mut check = ConditionCheck::builder()
            .table_name(&store.table)
            .set_key(Some(key_item(&keys::participant(&c.session_id, actor))))
            .condition_expression("#st IN (:active, :muted) AND #role = :role")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", s(role.as_str()));
        for (k, v) in present_values() {
            check = check.expression_attribute_values(k, v);
        }
        items.push(
            TransactWriteItem::builder()
                .condition_check(check.build().map_err(ApiError::internal)?)
                .build(),
        );
    }
    if c.ban {
        let mut ban = key_item(&keys::ban(&c.session_id, &c.target));
        ban.insert("user_id".into(), s(&c.target));
        ban.insert("banned_at".into(), s(&c.at));
        if let Some((actor, _)) = &c.actor {
            ban.insert("banned_by".into(), s(actor));
        }
        let put = Put::builder()
            .table_name(&store.table)
            .set_item(Some(ban))
            .build()
            .map_err(ApiError::internal)?;
        items.push(TransactWriteItem::builder().put(put).build());
    }
    Ok(items)
}

/// The session update of a change: counters and cohost list, on the condition that the session is
/// live (and, taking a slot, that the stage has one free).
fn session_counters(store: &Store, c: &ParticipantChange) -> ApiResult<Update> {
    let mut sets = vec!["updated_at = :at".to_string()];
    let mut conds = vec!["#st = :live".to_string()];
    let mut b = Update::builder()
        .table_name(&store.table)
        .set_key(Some(key_item(&keys::session(&c.session_id))))
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":live", s("live"))
        .expression_attribute_values(":at", s(&c.at))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    if c.guest_delta != 0 || c.viewer_delta != 0 {
        b = b.expression_attribute_values(":one", n(1));
    }
    match c.guest_delta {
        1 => {
            sets.push("guest_count = guest_count + :one".into());
            conds.push("guest_count < #settings.max_guests".into());
            b = b.expression_attribute_names("#settings", "settings");
        }
        -1 => {
            sets.push("guest_count = guest_count - :one".into());
            conds.push("guest_count > :zero".into());
        }
        _ => {}
    }
    if c.viewer_delta == -1 {
        sets.push("viewer_count = viewer_count - :one".into());
        conds.push("viewer_count > :zero".into());
    }
    if conds.iter().any(|c| c.contains(":zero")) {
        b = b.expression_attribute_values(":zero", n(0));
    }
    let mut expr = format!("SET {}", sets.join(", "));
    match c.cohost {
        Some(true) => expr.push_str(" ADD cohosts :me"),
        Some(false) => expr.push_str(" DELETE cohosts :me"),
        None => {}
    }
    if c.cohost.is_some() {
        b = b.expression_attribute_values(":me", AttributeValue::Ss(vec![c.target.clone()]));
    }
    b.update_expression(expr)
        .condition_expression(conds.join(" AND "))
        .build()
        .map_err(ApiError::internal)
}

fn already_answered() -> ApiError {
    ApiError::conflict("already-answered", "this request is no longer pending")
}

/// Why a participant change was refused, from its cancellation reasons.
async fn change_refusal(store: &Store, c: &ParticipantChange, why: &Cancelled) -> ApiResult<ApiError> {
    if why.failed(0) {
        return Ok(ApiError::conflict(
            "participant-changed",
            "the participant is not present or their role changed; reload and retry",
        ));
    }
    if why.failed(1) {
        let session = store.session(&c.session_id).await?;
        return Ok(match session {
            Some(s) if s.status != SessionStatus::Live => {
                ApiError::conflict("session-ended", "this live session has ended")
            }
            Some(_) if c.guest_delta == 1 => ApiError::conflict("stage-full", "every guest slot is taken"),
            _ => ApiError::conflict("session-changed", "the session changed; retry"),
        });
    }
    if why.failed(2) {
        return Ok(ApiError::Forbidden("your role in this session changed".into()));
    }
    Ok(ApiError::Unavailable("participant change cancelled".into()))
}

impl Store {
    /// P18: applies a participant change in one transaction (see [`ParticipantChange`]).
    pub async fn change_participant(&self, c: &ParticipantChange) -> ApiResult<()> {
        match self
            .transact_settled(change_actions(self, c)?, "participant change")
            .await?
        {
            Ok(()) => Ok(()),
            Err(why) => Err(change_refusal(self, c, &why).await?),
        }
    }

    /// P9 + P19: records a pending request or invitation: the session is live (and, for requests,
    /// allows guests), the user a present viewer, and nothing else pending for them.
    pub async fn create_guest_request(&self, r: &GuestRequest, require_allow_guests: bool) -> ApiResult<()> {
        let mut live = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(&r.session_id))))
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":live", s("live"));
        live = if require_allow_guests {
            live.condition_expression("#st = :live AND #settings.allow_guests = :yes")
                .expression_attribute_names("#settings", "settings")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
        } else {
            live.condition_expression("#st = :live")
        };
        let mut viewer = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::participant(&r.session_id, &r.user_id))))
            .condition_expression("#st IN (:active, :muted) AND #role = :viewer")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":viewer", s("viewer"));
        for (k, v) in present_values() {
            viewer = viewer.expression_attribute_values(k, v);
        }
        let mut lock = key_item(&keys::pending_request(&r.session_id, &r.user_id));
        lock.insert("request_id".into(), s(&r.id));
        let lock = Put::builder()
            .table_name(&self.table)
            .set_item(Some(lock))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(ApiError::internal)?;
        let mut item = to_item(&keys::guest_request(&r.session_id, &r.id), r)?;
        item.insert(keys::GSI1_PK.into(), s(keys::guest_request_index_pk(&r.id)));
        item.insert(keys::GSI1_SK.into(), s("GREQ"));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(ApiError::internal)?;
        let items = vec![
            TransactWriteItem::builder()
                .condition_check(live.build().map_err(ApiError::internal)?)
                .build(),
            TransactWriteItem::builder()
                .condition_check(viewer.build().map_err(ApiError::internal)?)
                .build(),
            TransactWriteItem::builder().put(lock).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        let c = match self.transact_settled(items, "guest request").await? {
            Ok(()) => return Ok(()),
            Err(c) => c,
        };
        if c.failed(0) {
            let session = self.session(&r.session_id).await?;
            return Err(match session {
                None => ApiError::NotFound(format!("no session {}", r.session_id)),
                Some(s) if s.status != SessionStatus::Live => {
                    ApiError::conflict("session-ended", "this live session has ended")
                }
                Some(_) => ApiError::Forbidden("this session does not take guests".into()),
            });
        }
        if c.failed(1) {
            let me = self.participant(&r.session_id, &r.user_id).await?;
            return Err(match me {
                Some(p) if p.status.is_present() => {
                    ApiError::conflict("not-a-viewer", "only a present viewer can go on stage")
                }
                Some(p) if p.status.is_barred() => ApiError::Forbidden("removed from this session".into()),
                _ => ApiError::Forbidden("join the session first (POST /live/join)".into()),
            });
        }
        if c.failed(2) {
            return Err(ApiError::conflict(
                "request-pending",
                "a request or invitation is already pending",
            ));
        }
        Err(ApiError::internal("guest request id collision"))
    }

    /// P9: a guest request by id alone (GSI1 gives its key).
    pub async fn guest_request(&self, request_id: &str) -> ApiResult<Option<GuestRequest>> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(keys::guest_request_index_pk(request_id)))
            .send()
            .await
            .map_err(db_err)?;
        let Some(found) = out.items.unwrap_or_default().into_iter().next() else {
            return Ok(None);
        };
        let (Some(pk), Some(sk)) = (
            found.get(keys::PK).and_then(|v| v.as_s().ok()),
            found.get(keys::SK).and_then(|v| v.as_s().ok()),
        ) else {
            return Ok(None);
        };
        self.get(Key {
            pk: pk.clone(),
            sk: sk.clone(),
        })
        .await
    }

    /// The request update that answers a pending request (cond: still pending).
    fn answer(&self, r: &GuestRequest, status: RequestStatus, by: &str, at: &str) -> ApiResult<Update> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::guest_request(&r.session_id, &r.id))))
            .update_expression("SET #st = :status, responded_at = :at, responded_by = :by")
            .condition_expression("#st = :pending")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":by", s(by))
            .build()
            .map_err(ApiError::internal)
    }

    fn unlock(&self, r: &GuestRequest) -> ApiResult<Delete> {
        Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::pending_request(&r.session_id, &r.user_id))))
            .build()
            .map_err(ApiError::internal)
    }

    /// P19: closes a pending request without approval (rejected, cancelled) and frees the user to
    /// ask again. A second answer is a 409.
    pub async fn close_guest_request(
        &self,
        r: &GuestRequest,
        status: RequestStatus,
        by: &str,
        at: &str,
    ) -> ApiResult<()> {
        let items = vec![
            TransactWriteItem::builder()
                .update(self.answer(r, status, by, at)?)
                .build(),
            TransactWriteItem::builder().delete(self.unlock(r)?).build(),
        ];
        match self.transact_settled(items, "closing a guest request").await? {
            Ok(()) => Ok(()),
            Err(_) => Err(already_answered()),
        }
    }

    /// P20: approval as ONE transaction: the request (still pending) becomes approved, the viewer
    /// (still a present viewer) goes on stage with the session's defaults, the guest count grows on
    /// the condition that it stays within `max_guests`, and the pending lock goes. Full → 409
    /// `stage-full` and the request stays pending.
    pub async fn approve_guest_request(&self, r: &GuestRequest, stage: &ParticipantChange, by: &str) -> ApiResult<()> {
        let mut items = vec![TransactWriteItem::builder()
            .update(self.answer(r, RequestStatus::Approved, by, &stage.at)?)
            .build()];
        items.extend(change_actions(self, stage)?);
        items.push(TransactWriteItem::builder().delete(self.unlock(r)?).build());
        match self.transact_settled(items, "approval").await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(0) => Err(already_answered()),
            Err(c) => {
                // The change's own actions start at index 1.
                let shifted = Cancelled(c.0.into_iter().skip(1).collect());
                Err(change_refusal(self, stage, &shifted).await?)
            }
        }
    }

    /// Undoes an approval whose SFU update failed: back to a viewer, slot freed, request pending.
    pub async fn revert_approval(&self, r: &GuestRequest, undo: &ParticipantChange) -> ApiResult<()> {
        self.change_participant(undo).await?;
        let mut lock = key_item(&keys::pending_request(&r.session_id, &r.user_id));
        lock.insert("request_id".into(), s(&r.id));
        let reopen = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::guest_request(&r.session_id, &r.id))))
            .update_expression("SET #st = :pending REMOVE responded_at, responded_by")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":pending", s("pending"))
            .build()
            .map_err(ApiError::internal)?;
        let relock = Put::builder()
            .table_name(&self.table)
            .set_item(Some(lock))
            .build()
            .map_err(ApiError::internal)?;
        self.transact(vec![
            TransactWriteItem::builder().update(reopen).build(),
            TransactWriteItem::builder().put(relock).build(),
        ])
        .await
        .map_err(|_| ApiError::Unavailable("approval could not be reverted".into()))
    }

    /// P10: requests of a session, newest first, optionally of one status.
    pub async fn guest_requests_page(
        &self,
        session_id: &str,
        status: Option<RequestStatus>,
        limit: i32,
        cursor: Option<&str>,
    ) -> ApiResult<(Vec<GuestRequest>, Option<String>)> {
        let mut q = self
            .partition_page(&keys::session_pk(session_id), "before", cursor, limit)?
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":prefix", s(keys::GUEST_REQUEST_PREFIX))
            .scan_index_forward(false);
        if let Some(st) = status {
            q = q
                .filter_expression("#st = :status")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":status", s(st.as_str()));
        }
        page(q).await
    }

    /// P21: records a host action.
    pub async fn put_audit(&self, e: &AuditEntry) -> ApiResult<()> {
        self.put(to_item(&keys::audit(&e.session_id, &e.at, &e.id), e)?).await
    }

    /// P21: the audit trail of a session, newest first.
    pub async fn audit_page(
        &self,
        session_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> ApiResult<(Vec<AuditEntry>, Option<String>)> {
        let q = self
            .partition_page(&keys::audit_pk(session_id), "before", cursor, limit)?
            .key_condition_expression("pk = :pk")
            .scan_index_forward(false);
        page(q).await
    }
}
