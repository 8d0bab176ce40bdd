//! The permission matrix: every endpoint and socket action × every kind of caller, run over HTTP
//! and the WebSocket API, with a real livekit-server behind the stage. Each action gets a fresh
//! session, tried by the callers one after the other, the host last (so that an end, say, is
//! tried by everyone else first); an action the first success would change for the others
//! (approving one request, inviting one viewer) gets a fresh session per caller. The statuses found are
//! `docs/permissions.md`: `UPDATE_DOCS=1 cargo test -p e2e --test permissions` writes it, and
//! without it this test fails when behaviour and the committed matrix differ.

use std::fmt::Write as _;

use e2e::{now, repo_root, sign, token, Env, JWT_SECRET};
use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};

/// Who calls, relative to the session under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Host,
    Cohost,
    Guest,
    Viewer,
    Left,
    Kicked,
    Banned,
    NonMember,
    OtherHost,
    NoToken,
}

const CALLERS: [Caller; 10] = [
    Caller::Host,
    Caller::Cohost,
    Caller::Guest,
    Caller::Viewer,
    Caller::Left,
    Caller::Kicked,
    Caller::Banned,
    Caller::NonMember,
    Caller::OtherHost,
    Caller::NoToken,
];

impl Caller {
    fn label(self) -> &'static str {
        match self {
            Caller::Host => "host",
            Caller::Cohost => "cohost",
            Caller::Guest => "guest",
            Caller::Viewer => "viewer",
            Caller::Left => "left",
            Caller::Kicked => "kicked",
            Caller::Banned => "banned",
            Caller::NonMember => "non-member",
            Caller::OtherHost => "another session's host",
            Caller::NoToken => "no token",
        }
    }

    /// The user id playing this caller in world `n` (`None`: no token).
    fn user(self, n: usize) -> Option<String> {
        let role = match self {
            Caller::NoToken => return None,
            Caller::NonMember => "stranger",
            Caller::OtherHost => "other",
            c => c.label(),
        };
        Some(format!("w{n}-{role}"))
    }
}

/// What is tried, and what the session holds beforehand for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Start,
    Join,
    Leave,
    End,
    ListActive,
    GetSession,
    ListParticipants,
    SendMessage,
    ListMessages,
    ListEvents,
    React,
    SendGift,
    RequestGuest,
    CancelViewersRequest,
    ApproveViewersRequest,
    ListGuestRequests,
    InviteViewer,
    AnswerViewersInvitation,
    MuteGuest,
    KickViewer,
    BanNewcomer,
    AuditTrail,
    TimeOutViewer,
    DeleteViewersMessage,
    PinViewersMessage,
    Unpin,
    ChangeSettings,
    GoLive,
    Analytics,
    SocketConnect,
    SocketChat,
    SocketReact,
}

const ACTIONS: [Action; 32] = [
    Action::Start,
    Action::Join,
    Action::Leave,
    Action::End,
    Action::ListActive,
    Action::GetSession,
    Action::ListParticipants,
    Action::SendMessage,
    Action::ListMessages,
    Action::ListEvents,
    Action::React,
    Action::SendGift,
    Action::RequestGuest,
    Action::CancelViewersRequest,
    Action::ApproveViewersRequest,
    Action::ListGuestRequests,
    Action::InviteViewer,
    Action::AnswerViewersInvitation,
    Action::MuteGuest,
    Action::KickViewer,
    Action::BanNewcomer,
    Action::AuditTrail,
    Action::TimeOutViewer,
    Action::DeleteViewersMessage,
    Action::PinViewersMessage,
    Action::Unpin,
    Action::ChangeSettings,
    Action::GoLive,
    Action::Analytics,
    Action::SocketConnect,
    Action::SocketChat,
    Action::SocketReact,
];

impl Action {
    /// Whether one caller's success changes what the next one would get.
    fn exclusive(self) -> bool {
        matches!(
            self,
            Action::ApproveViewersRequest | Action::InviteViewer | Action::DeleteViewersMessage
        )
    }

    fn label(self) -> &'static str {
        match self {
            Action::Start => "`POST /live/start` (a session of one's own)",
            Action::Join => "`POST /live/join`",
            Action::Leave => "`POST /live/leave`",
            Action::End => "`POST /live/end/{id}`",
            Action::ListActive => "`GET /live/active`",
            Action::GetSession => "`GET /live/session/{id}`",
            Action::ListParticipants => "`GET /live/participants/{id}`",
            Action::SendMessage => "`POST /live/send-message`",
            Action::ListMessages => "`GET /live/messages/{id}`",
            Action::ListEvents => "`GET /live/events/{id}?after=0`",
            Action::React => "`POST /live/react`",
            Action::SendGift => "`POST /live/send-gift` (a rose to the host; every caller holds coins)",
            Action::RequestGuest => "`POST /live/request-guest`",
            Action::CancelViewersRequest => "`POST /live/cancel-guest-request` (the viewer's request)",
            Action::ApproveViewersRequest => "`POST /live/respond-guest-request` (approve the viewer's)",
            Action::ListGuestRequests => "`GET /live/guest-requests/{id}`",
            Action::InviteViewer => "`POST /live/invite-guest` (the viewer)",
            Action::AnswerViewersInvitation => "`POST /live/respond-invite` (accept the viewer's invitation)",
            Action::MuteGuest => "`POST /live/manage-participant` `mute_audio` (the guest)",
            Action::KickViewer => "`POST /live/manage-participant` `kick` (the viewer)",
            Action::BanNewcomer => "`POST /live/manage-participant` `ban` (a user who never joined)",
            Action::AuditTrail => "`GET /live/audit/{id}`",
            Action::TimeOutViewer => "`POST /live/chat-timeout` (the viewer, 60 s)",
            Action::DeleteViewersMessage => "`DELETE /live/messages/{id}/{message_id}` (the viewer's message)",
            Action::PinViewersMessage => "`PUT /live/pin/{id}` (the viewer's message)",
            Action::Unpin => "`DELETE /live/pin/{id}` (nothing pinned)",
            Action::ChangeSettings => "`PATCH /live/settings/{id}` (slow mode 5 s)",
            Action::GoLive => "`POST /live/go-live/{id}` (a live session)",
            Action::Analytics => "`GET /live/analytics/{id}`",
            Action::SocketConnect => "WebSocket `$connect`",
            Action::SocketChat => "WebSocket `chat` frame",
            Action::SocketReact => "WebSocket `react` frame",
        }
    }
}

/// One cell's world: a live session with a host, a cohost, a guest, a viewer, one who left, one
/// kicked and one banned, and another user's live session.
struct World {
    n: usize,
    session_id: String,
    /// The viewer's pending request, the host's pending invitation of the viewer, or the
    /// viewer's chat message.
    pending: Option<String>,
}

async fn ok(r: e2e::Reply, what: &str) -> Value {
    assert!(r.status < 300, "setting up: {what}: {} {}", r.status, r.body);
    r.body
}

impl World {
    async fn new(env: &Env, n: usize, action: Action) -> World {
        let user = |c: Caller| c.user(n).unwrap();
        let started = env
            .start_session(&user(Caller::Host), json!({"require_approval": true}))
            .await;
        let id = started["id"].as_str().unwrap().to_string();
        let host = token(&user(Caller::Host));
        // Everyone from the cohost to the banned joins first.
        for &c in &CALLERS[1..=6] {
            ok(
                env.post("/live/join", token(&user(c)), json!({"session_id": id})).await,
                "join",
            )
            .await;
        }
        for (c, kind) in [(Caller::Cohost, "cohost"), (Caller::Guest, "guest")] {
            let asked = ok(
                env.post(
                    "/live/request-guest",
                    token(&user(c)),
                    json!({"session_id": id, "request_type": kind}),
                )
                .await,
                "request",
            )
            .await;
            let body = json!({"request_id": asked["id"], "session_id": id, "action": "approved"});
            ok(env.post("/live/respond-guest-request", &host, body).await, "approve").await;
        }
        ok(
            env.post("/live/leave", token(&user(Caller::Left)), json!({"session_id": id}))
                .await,
            "leave",
        )
        .await;
        for (c, control) in [(Caller::Kicked, "kick"), (Caller::Banned, "ban")] {
            let body = json!({"session_id": id, "user_id": user(c), "action": control});
            ok(env.post("/live/manage-participant", &host, body).await, control).await;
        }
        env.start_session(&user(Caller::OtherHost), json!({})).await;
        if action == Action::SendGift {
            // Coins for everyone, so that only who may gift decides the answer.
            let service = sign(
                json!({"sub": "billing", "exp": now() + 3600, "role": "service_role"}),
                JWT_SECRET,
            );
            for c in CALLERS.iter().filter_map(|c| c.user(n)) {
                let body = json!({"user_id": c, "coins": 10, "reference": format!("perm-{c}")});
                let key = format!("perm-{c}");
                ok(
                    env.post_keyed("/live/wallet/credit", &service, Some(body), &key).await,
                    "credit",
                )
                .await;
            }
        }
        let pending = match action {
            Action::CancelViewersRequest | Action::ApproveViewersRequest => {
                let body = json!({"session_id": id});
                let r = ok(
                    env.post("/live/request-guest", token(&user(Caller::Viewer)), body)
                        .await,
                    "ask",
                )
                .await;
                r["id"].as_str().map(str::to_string)
            }
            Action::AnswerViewersInvitation => {
                let body = json!({"session_id": id, "user_id": user(Caller::Viewer)});
                let r = ok(env.post("/live/invite-guest", &host, body).await, "invite").await;
                r["id"].as_str().map(str::to_string)
            }
            Action::DeleteViewersMessage | Action::PinViewersMessage => {
                let body = json!({"session_id": id, "message": "pin me"});
                let r = ok(
                    env.post("/live/send-message", token(&user(Caller::Viewer)), body).await,
                    "say",
                )
                .await;
                r["id"].as_str().map(str::to_string)
            }
            _ => None,
        };
        World {
            n,
            session_id: id,
            pending,
        }
    }

    /// What `caller` gets trying `action`: an HTTP status, or for socket frames the status of the
    /// answer (`200`: done), `–` when the caller cannot hold a socket to try it on.
    async fn try_as(&self, env: &Env, caller: Caller, action: Action) -> String {
        let id = &self.session_id;
        let tok = caller.user(self.n).map(|u| token(&u));
        let pending = self.pending.clone().unwrap_or_default();
        let target = |c: Caller| c.user(self.n).unwrap();
        let (method, path, body) = match action {
            Action::Start => (Method::POST, "/live/start".to_string(), Some(json!({"title": "mine"}))),
            Action::Join => (Method::POST, "/live/join".into(), Some(json!({"session_id": id}))),
            Action::Leave => (Method::POST, "/live/leave".into(), Some(json!({"session_id": id}))),
            Action::End => (Method::POST, format!("/live/end/{id}"), None),
            Action::ListActive => (Method::GET, "/live/active".into(), None),
            Action::GetSession => (Method::GET, format!("/live/session/{id}"), None),
            Action::ListParticipants => (Method::GET, format!("/live/participants/{id}"), None),
            Action::SendMessage => (
                Method::POST,
                "/live/send-message".into(),
                Some(json!({"session_id": id, "message": "hello"})),
            ),
            Action::ListMessages => (Method::GET, format!("/live/messages/{id}"), None),
            Action::ListEvents => (Method::GET, format!("/live/events/{id}?after=0"), None),
            Action::React => (
                Method::POST,
                "/live/react".into(),
                Some(json!({"session_id": id, "reaction_type": "heart"})),
            ),
            Action::RequestGuest => (
                Method::POST,
                "/live/request-guest".into(),
                Some(json!({"session_id": id})),
            ),
            Action::CancelViewersRequest => (
                Method::POST,
                "/live/cancel-guest-request".into(),
                Some(json!({"request_id": pending, "session_id": id})),
            ),
            Action::ApproveViewersRequest => (
                Method::POST,
                "/live/respond-guest-request".into(),
                Some(json!({"request_id": pending, "session_id": id, "action": "approved"})),
            ),
            Action::ListGuestRequests => (Method::GET, format!("/live/guest-requests/{id}"), None),
            Action::InviteViewer => (
                Method::POST,
                "/live/invite-guest".into(),
                Some(json!({"session_id": id, "user_id": target(Caller::Viewer)})),
            ),
            Action::AnswerViewersInvitation => (
                Method::POST,
                "/live/respond-invite".into(),
                Some(json!({"request_id": pending, "session_id": id, "action": "accepted"})),
            ),
            Action::MuteGuest | Action::KickViewer | Action::BanNewcomer => {
                let (who, control) = match action {
                    Action::MuteGuest => (target(Caller::Guest), "mute_audio"),
                    Action::KickViewer => (target(Caller::Viewer), "kick"),
                    _ => (format!("w{}-newcomer", self.n), "ban"),
                };
                let body = json!({"session_id": id, "user_id": who, "action": control});
                (Method::POST, "/live/manage-participant".into(), Some(body))
            }
            Action::AuditTrail => (Method::GET, format!("/live/audit/{id}"), None),
            Action::TimeOutViewer => (
                Method::POST,
                "/live/chat-timeout".into(),
                Some(json!({"session_id": id, "user_id": target(Caller::Viewer), "seconds": 60})),
            ),
            Action::DeleteViewersMessage => (Method::DELETE, format!("/live/messages/{id}/{pending}"), None),
            Action::PinViewersMessage => (
                Method::PUT,
                format!("/live/pin/{id}"),
                Some(json!({"message_id": pending})),
            ),
            Action::Unpin => (Method::DELETE, format!("/live/pin/{id}"), None),
            Action::ChangeSettings => (
                Method::PATCH,
                format!("/live/settings/{id}"),
                Some(json!({"chat_slow_mode": 5})),
            ),
            Action::GoLive => (Method::POST, format!("/live/go-live/{id}"), None),
            Action::Analytics => (Method::GET, format!("/live/analytics/{id}"), None),
            Action::SocketConnect | Action::SocketChat | Action::SocketReact => {
                return self.try_socket(env, tok.as_deref(), action).await;
            }
            Action::SendGift => {
                let body = json!({"session_id": id, "gift_id": "rose", "quantity": 1});
                let Some(tok) = tok else {
                    return env
                        .call(Method::POST, "/live/send-gift", None, Some(body))
                        .await
                        .status
                        .to_string();
                };
                let key = format!("perm-gift-{}", caller.user(self.n).unwrap_or_default());
                return env
                    .post_keyed("/live/send-gift", tok, Some(body), &key)
                    .await
                    .status
                    .to_string();
            }
        };
        env.call(method, &path, tok.as_deref(), body).await.status.to_string()
    }

    async fn try_socket(&self, env: &Env, tok: Option<&str>, action: Action) -> String {
        let opened = env.connect_with_token(tok.unwrap_or(""), &self.session_id).await;
        let mut socket = match (opened, action) {
            (Ok(_), Action::SocketConnect) => return "200".into(),
            (Err(status), Action::SocketConnect) => return status.to_string(),
            (Ok(socket), _) => socket,
            (Err(_), _) => return "–".into(),
        };
        let frame = if action == Action::SocketChat {
            json!({"action": "chat", "message": "hello"})
        } else {
            json!({"action": "react", "reaction_type": "heart"})
        };
        socket.send(frame).await;
        let answer = socket
            .until("the frame's answer", |e| {
                e["type"] == "error" || e["type"] == "chat.message" || e["type"] == "reactions"
            })
            .await;
        match answer["type"].as_str() {
            Some("error") => answer["data"]["status"].to_string(),
            _ => "200".into(),
        }
    }
}

fn render(rows: &[(Action, Vec<String>)]) -> String {
    let mut doc = String::from(
        "# Permissions\n\n\
         <!-- generated by `UPDATE_DOCS=1 cargo test -p e2e --test permissions` from what the API answers; do not edit -->\n\n\
         What each kind of caller gets for each action on a live session, found by running every cell over HTTP and \
         the WebSocket API (`tests/tests/permissions.rs`): a fresh session per action, tried by the callers in turn \
         with the host last, and a fresh session per caller where one success would change the others' answer \
         (approving the request, inviting the viewer). The callers: the session's \
         **host**; a **cohost** and a **guest** on its stage; a **viewer**; a user who **left**; one **kicked** \
         and one **banned** from it; a signed-in **non-member**; the **host of another** live session; and a \
         request with **no token**. Socket frames are tried on a socket of the caller's own: `–` where the caller \
         cannot open one. `200` for a frame: it was acted on; otherwise the `status` of the `error` event it got.\n\n",
    );
    doc.push_str("| action |");
    for c in CALLERS {
        write!(doc, " {} |", c.label()).unwrap();
    }
    doc.push_str("\n|---|");
    doc.push_str(&"---|".repeat(CALLERS.len()));
    doc.push('\n');
    for (action, statuses) in rows {
        write!(doc, "| {} |", action.label()).unwrap();
        for s in statuses {
            write!(doc, " {s} |").unwrap();
        }
        doc.push('\n');
    }
    doc.push_str(
        "\nWhat the statuses mean for each endpoint (`403` forbidden or removed, `409` a state conflict such as \
         `already-live`, `request-pending` or `not-present`, `404` nothing there for the caller) is in \
         `docs/openapi.json`; who may use which host control on whom is in the README.\n",
    );
    doc
}

#[tokio::test]
async fn every_action_by_every_kind_of_caller() {
    let (_sfu, env) = Env::with_sfu().await;
    let cells: Vec<(usize, Action, Caller)> = ACTIONS
        .iter()
        .flat_map(|a| CALLERS.iter().map(move |c| (*a, *c)))
        .enumerate()
        .map(|(n, (a, c))| (n, a, c))
        .collect();
    let env = &env;
    // The worlds: one per action, or one per cell for an exclusive action (numbered by its first
    // cell); each world's cells run in reverse caller order.
    type Cells = Vec<(usize, Caller)>;
    let mut worlds: Vec<(usize, Action, Cells)> = Vec::new();
    for (n, action, caller) in cells {
        match worlds.last_mut() {
            Some((_, a, group)) if *a == action && !action.exclusive() => group.push((n, caller)),
            _ => worlds.push((n, action, vec![(n, caller)])),
        }
    }
    let mut found: Vec<(usize, String)> = stream::iter(worlds)
        .map(|(n, action, group)| async move {
            let world = World::new(env, n, action).await;
            let mut statuses = Vec::new();
            for (cell, caller) in group.into_iter().rev() {
                statuses.push((cell, world.try_as(env, caller, action).await));
            }
            statuses
        })
        .buffer_unordered(4)
        .flat_map(stream::iter)
        .collect()
        .await;
    found.sort();
    let rows: Vec<(Action, Vec<String>)> = ACTIONS
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let statuses = found[i * CALLERS.len()..(i + 1) * CALLERS.len()]
                .iter()
                .map(|(_, s)| s.clone())
                .collect();
            (*a, statuses)
        })
        .collect();
    let generated = render(&rows);
    let path = repo_root().join("docs/permissions.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "the API's permissions differ from docs/permissions.md; review and run \
         `UPDATE_DOCS=1 cargo test -p e2e --test permissions`:\n{generated}"
    );
}
