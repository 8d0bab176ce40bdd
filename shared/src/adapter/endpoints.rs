//! The endpoint table: every endpoint, once. Each entry names its `Handler` (the function's in
//! `template.yaml`, its event's file in `events/`), its route, the AWS calls its function may
//! make, how its arguments are taken from the request and which rule runs, its answer, an example
//! request and its documentation. The enum, the dispatch, the template drift checks, the OpenAPI
//! document, the README's API table and `events/` all derive from it (see `table.rs`); adding an
//! endpoint is an entry here, its rule, its function in `template.yaml` and a test
//! (`CONTRIBUTING.md`).

use super::answer::{Empty, Paged};
use super::extract::{
    Before, BeforeOrTime, Cursor, Json, Messages, Page, Path, PaymentKey, Query, RawBody, RequestLine, Service, Signed,
    Socket, Tick, TokenUser,
};
use super::iam::Policy;
use super::routes::{self, Matched};
use super::table::{endpoints, Route};
use super::websocket;
use crate::domain;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::ids::{MessageId, SessionId};
use crate::domain::User;
use crate::rules::stage::{controls, requests};
use crate::rules::{
    analytics, backstage, batch, chat, economy, events, fanout, moderation, reactions, realtime, recording, sessions,
    settings, webhook,
};
#[cfg(feature = "openapi")]
use {
    super::docs::{examples::*, Doc, Example},
    crate::domain::error::ApiError as E,
    crate::domain::rate::Limited,
    serde_json::json,
};

/// Reads the table (and GSI1).
const READS: Policy = Policy {
    dynamodb: &["GetItem", "Query"],
    ..Policy::NOTHING
};

/// Changes state and tells the sockets: every item action on the table and GSI1, and publishes
/// events (the fan-out pushes them), the trailing edge of a coalesced aggregate after a delay.
const WRITES_AND_PUSHES: Policy = Policy {
    dynamodb: &[
        "GetItem",
        "Query",
        "PutItem",
        "UpdateItem",
        "TransactWriteItems",
        "DeleteItem",
    ],
    indexes: true,
    connections: &[],
    queues: &["AggregatesQueue", "EventsQueue"],
};

/// A reaction is two updates (the user's window, a shard), then a coalesced push of the totals.
const REACTS: Policy = Policy {
    dynamodb: &["GetItem", "Query", "UpdateItem", "BatchGetItem", "DeleteItem"],
    ..WRITES_AND_PUSHES
};

/// A socket's frames run chat and reactions, answer the socket itself (`pong`, `error`) and close
/// a socket nobody knows of any more.
const FRAMES: Policy = Policy {
    dynamodb: &[
        "GetItem",
        "Query",
        "PutItem",
        "UpdateItem",
        "TransactWriteItems",
        "DeleteItem",
        "BatchGetItem",
    ],
    connections: &["POST", "DELETE"],
    ..WRITES_AND_PUSHES
};

/// Changes state, tells the sockets and closes some: a kicked user's (host controls), a user's
/// oldest socket beyond the bound.
const CLOSES_SOCKETS: Policy = Policy {
    connections: &["DELETE"],
    ..WRITES_AND_PUSHES
};

endpoints! {
    /// `POST /live/start`: go live as host.
    StartSession = "start-session" {
        route: Route::post("/live/start"),
        // One transaction; an `Idempotency-Key` is an update, and a delete when refused.
        policy: Policy { dynamodb: &["TransactWriteItems", "UpdateItem", "DeleteItem"], ..Policy::NOTHING },
        run: |fx, user: User, body: Json<sessions::StartRequest>| sessions::start(fx, &user, body.0),
        ok: 201 Json<sessions::StartResponse>,
        example: Example::by("carol").body(json!({"title": "Carol's studio", "session_type": "studio", "max_guests": 4})),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Go live as host",
            who: "user",
            description: "Creates the session, its settings and the host participant in one transaction and mints the host's SFU token: `201` with the session, `access_token` and `webrtc_config`; `409 already-live` if the caller already hosts a live session. Every setting is optional but `title` (bounds below); `access` is `public` (default), `paid`, which needs a `ticket_price` of 1..1,000,000 coins, or `subscribers` (`PUT /live/access/{session_id}` lists who may join).",
            ok: "The live session, with the host's SFU token",
            answer: start_answer(),
            errors: vec![E::validation("max_guests", "must be between 1 and 20 (got 21)"), already_live(), busy()],
        }),
    }

    /// `POST /live/join`: join as a viewer (or get a fresh token for the role held).
    JoinSession = "join-session" {
        route: Route::post("/live/join"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, body: Json<sessions::SessionRef>| sessions::join(fx, &user, body.0),
        ok: 200 Json<sessions::JoinResponse>,
        example: Example::by("bob").body(json!({"session_id": SESSION})),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Join as a viewer (or get a fresh token for the role held)",
            who: "user",
            description: "Capacity (`max_participants`) is enforced together with the viewer count: `409 session-full` beyond it, `409 session-ended`, `403` for kicked and banned users; a `paid` session admits its host, its stage (guests and cohosts coming back) and ticket holders only: `402 ticket-required` with the price (`needed`) for anyone else (`POST /live/buy-ticket`); a `subscribers` session admits its host, its stage and the listed users (`PUT /live/access/{session_id}`), `403` for anyone else; sockets and SFU tokens need the join. Joining again while present is idempotent (`joined: false`, same role, a fresh token).",
            ok: "The SFU connection details for the caller's role",
            answer: json!({"session_id": SESSION, "room_name": ROOM, "access_token": TOKEN, "webrtc_config": webrtc_example(), "role": "viewer", "can_request_guest": true, "joined": true, "token_ttl_seconds": 600}),
            errors: vec![bad_session_id(), E::ticket_required(100), E::removed(), no_session(), E::conflict("session-full", "this live session is full"), rate_limited(Limited::Presence), busy()],
        }),
    }

    /// `POST /live/leave`: leave a session.
    LeaveSession = "leave-session" {
        route: Route::post("/live/leave"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, body: Json<sessions::SessionRef>| sessions::leave(fx, &user, body.0),
        ok: 200 Json<sessions::LeaveResponse>,
        example: Example::by("dan").body(json!({"session_id": SESSION})),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Leave a session",
            who: "user",
            description: "Counts drop exactly once (`left: false` when the caller was not present); the host ends the session instead (`409 host-cannot-leave`). The caller is removed from the SFU room too (a guest who left does not keep publishing); `502` when the SFU cannot be told: the leave stands, repeat it to finish.",
            ok: "The caller's participation now",
            answer: json!({"message": "Left the live session", "session_id": SESSION, "status": "left", "left": true}),
            errors: vec![bad_session_id(), no_session(), E::conflict("host-cannot-leave", "the host ends the session with POST /live/end/{session_id}"), rate_limited(Limited::Presence), upstream_after("you left the session"), busy()],
        }),
    }

    /// `POST /live/end/{session_id}`: end a session (host only).
    EndSession = "end-session" {
        route: Route::post("/live/end/{session_id}"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, id: Path<SessionId>| sessions::end(fx, &user, id.0),
        ok: 200 Json<sessions::EndResponse>,
        example: Example::by("alice").in_session(),
        doc: Some(Doc {
            tag: "sessions",
            summary: "End a session (host only)",
            who: "host",
            description: "Idempotent: a repeat gives the same answer. Everyone present is marked left (kicked and banned keep their status), `session.ended` is pushed and every socket of the session is then closed, and the SFU room is deleted: `502` when the SFU cannot delete it (the session has ended; repeat the end to delete the room).",
            ok: "The session's end",
            answer: json!({"message": "Live session ended successfully", "session_id": SESSION, "duration_seconds": 1234, "ended_at": "2026-11-25T19:20:34.000000Z"}),
            errors: vec![E::Forbidden("only the host can end this session".into()), no_session(), upstream_after("the session ended"), busy()],
        }),
    }

    /// `GET /live/active`: live sessions, newest first.
    ListActive = "list-active" {
        route: Route::get("/live/active"),
        policy: Policy { dynamodb: &["Query", "BatchGetItem"], indexes: true, ..Policy::NOTHING },
        run: |fx, page: Page<Cursor, 20, 100>| sessions::active(fx, page.0),
        ok: 200 Paged<sessions::SessionView>,
        example: Example::anyone().query(&[("limit", "20")]),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Live sessions, newest first",
            who: "none",
            description: "Ordered by `started_at`, **newest first**.",
            ok: "One page of live sessions",
            answer: json!([session_example()]),
            errors: vec![E::bad_cursor("cursor")],
        }),
    }

    /// `GET /live/session/{session_id}`: session detail.
    GetSession = "get-session" {
        route: Route::get("/live/session/{session_id}"),
        // One BatchGetItem; the top gifters' Query (GSI2) once anyone has given.
        policy: Policy { dynamodb: &["BatchGetItem", "Query"], indexes: true, ..Policy::NOTHING },
        run: |fx, caller: Option<User>, id: Path<SessionId>| sessions::detail(fx, caller, id.0),
        ok: 200 Json<sessions::SessionView>,
        example: Example::anyone().in_session(),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Session detail",
            who: "none (a token shows more)",
            description: "Live or ended: settings, `status`, counters (`viewer_count`, `peak_viewers`, `guest_count`), `started_at`, `ended_at`, `duration_seconds`, reaction totals (`reactions`), coins paid in gifts and tips (`gift_revenue`, `tip_revenue`) and the 10 `top_gifters` by coins given (exact totals; a payment of the last moment may rank a moment later). The session's `blocked_words` are shown to its host and present cohosts only (signed in).",
            ok: "The session",
            answer: session_detail_example(),
            errors: vec![no_session()],
        }),
    }

    /// `GET /live/participants/{session_id}`: present participants.
    ListParticipants = "list-participants" {
        route: Route::get("/live/participants/{session_id}"),
        policy: READS,
        run: |fx, user: User, id: Path<SessionId>, page: Page<Cursor, 100, 500>| sessions::participants(fx, &user, id.0, page.0),
        ok: 200 Paged<domain::Participant>,
        example: Example::by("alice").in_session().query(&[("limit", "100")]),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Present participants",
            who: "user",
            description: "Present participants (`active`/`muted`); any signed-in user may read them except those kicked or banned from the session (`403`). Pages follow user-id order.",
            ok: "One page of present participants",
            answer: json!([participant_example("alice", "host"), participant_example("bob", "viewer")]),
            errors: vec![E::removed(), no_session()],
        }),
    }

    /// `POST /live/send-message`: send a chat message.
    SendMessage = "send-message" {
        route: Route::post("/live/send-message"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, body: Json<chat::SendMessage>| chat::send(fx, &user, body.0),
        ok: 201 Json<domain::ChatMessage>,
        example: Example::by("bob").body(json!({"session_id": SESSION, "message": "Hello everyone!", "message_type": "text"})),
        doc: Some(Doc {
            tag: "chat",
            summary: "Send a chat message",
            who: "present participant",
            description: "`201` with the stored message, pushed as `chat.message`. Text is NFC-normalised, 1..500 characters, without control or bidi-override characters or a word of the session's `blocked_words`; `message_type` is `text` (default) or `sticker` (`system` and `gift` are the server's); `metadata` an object of at most 2 KB and 4 levels. `403` when chat is disabled or the caller is not present; slow mode answers `429` with `Retry-After` (hosts and cohosts exempt).",
            ok: "The stored message",
            answer: message_example(),
            errors: vec![E::validation("message", "must be at most 500 characters (got 501)"), E::Forbidden("chat is disabled in this session".into()), no_session(), E::TooManyRequests { retry_after_seconds: 7, detail: "slow mode: wait before sending another message".into() }, rate_limited(Limited::Chat), E::session_ended(), busy()],
        }),
    }

    /// `GET /live/messages/{session_id}`: chat history, newest first.
    ListMessages = "list-messages" {
        route: Route::get("/live/messages/{session_id}"),
        policy: READS,
        run: |fx, user: User, id: Path<SessionId>, page: Page<BeforeOrTime, 50, 100>| chat::history(fx, &user, id.0, page.0),
        ok: 200 Json<chat::MessagePage>,
        example: Example::by("bob").in_session().query(&[("limit", "50")]),
        doc: Some(Doc {
            tag: "chat",
            summary: "Chat history, newest first",
            who: "user",
            description: "`{messages, next_cursor}`, **newest first**; `before` takes the previous page's `next_cursor` (no message skipped or repeated, even with equal timestamps) or an RFC 3339 timestamp (strictly older messages).",
            ok: "One page of messages",
            answer: json!({"messages": [message_example()], "next_cursor": null}),
            errors: vec![E::bad_cursor("before"), E::removed(), no_session()],
        }),
    }

    /// `PUT /live/pin/{session_id}`: pin a message above the chat.
    PinMessage = "pin-message" {
        route: Route::put("/live/pin/{session_id}"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, id: Path<SessionId>, body: Json<moderation::Pin>| moderation::pin(fx, &user, id.0, body.0),
        ok: 200 Json<domain::PinnedMessage>,
        example: Example::by("alice").in_session().body(json!({"message_id": MESSAGE, "expires_in_seconds": 600})),
        doc: Some(Doc {
            tag: "chat",
            summary: "Pin a message above the chat (host and cohosts)",
            who: "present host or cohost",
            description: "One pinned message per session, replacing the one before: `pinned_message` in the session detail while it shows (`expires_in_seconds`, 1..=86,400, or until unpinned, deleted or the session ends), and `chat.pinned` with the pin to every socket. On the audit trail (`chat.pin`).",
            ok: "The pin",
            answer: json!({"message": message_example(), "pinned_by": "alice", "pinned_at": "2026-11-25T19:07:00.000000Z", "expires_at": "2026-11-25T19:17:00.000000Z"}),
            errors: vec![E::validation("expires_in_seconds", "must be between 1 and 86400"), E::moderators_only(), E::NotFound(format!("no message {MESSAGE} in this session")), E::session_ended()],
        }),
    }

    /// `DELETE /live/pin/{session_id}`: unpin the pinned message.
    UnpinMessage = "unpin-message" {
        route: Route::delete("/live/pin/{session_id}"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, id: Path<SessionId>| moderation::unpin(fx, &user, id.0),
        ok: 200 Json<moderation::Unpinned>,
        example: Example::by("alice").in_session(),
        doc: Some(Doc {
            tag: "chat",
            summary: "Unpin the pinned message (host and cohosts)",
            who: "present host or cohost",
            description: "Removes the pin (`chat.unpinned` with `message_id` and `unpinned_by`; on the audit trail); with none pinned, `message_id` is null and nothing changes.",
            ok: "The pin was removed",
            answer: json!({"session_id": SESSION, "message_id": MESSAGE}),
            errors: vec![E::moderators_only(), no_session(), E::session_ended()],
        }),
    }

    /// `POST /live/chat-timeout`: keep a user out of the chat for a while (or lift it).
    ChatTimeout = "chat-timeout" {
        route: Route::post("/live/chat-timeout"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, body: Json<moderation::ChatTimeout>| moderation::chat_timeout(fx, &user, body.0),
        ok: 200 Json<moderation::ChatTimeoutSet>,
        example: Example::by("alice").body(json!({"session_id": SESSION, "user_id": "dan", "seconds": 300})),
        doc: Some(Doc {
            tag: "chat",
            summary: "Time a user out of the chat (host and cohosts)",
            who: "present host or cohost",
            description: "`seconds` (1..=86,400) from now the user's messages are refused with `403 chat-timeout`, whose `retry_after` (and `Retry-After` header) is the time left; `0` lifts it. The user (and the stage) get `chat.timeout` (`user_id`, `seconds`, `until`, `by`); it is on the audit trail. The host cannot be timed out, a cohost only by the host; the user must have joined the session.",
            ok: "The timeout holds until `until`",
            answer: json!({"session_id": SESSION, "user_id": "dan", "seconds": 300, "until": "2026-11-25T19:15:00.000000Z"}),
            errors: vec![E::validation("seconds", "must be between 0 (lifts the timeout) and 86400"), E::Forbidden("the host cannot be timed out, and a cohost only by the host".into()), E::moderators_only(), E::NotFound("dan has not joined this session".into()), E::session_ended()],
        }),
    }

    /// `DELETE /live/messages/{session_id}/{message_id}`: delete a chat message.
    DeleteMessage = "delete-message" {
        route: Route::delete("/live/messages/{session_id}/{message_id}"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, id: Path<SessionId>, m: Path<MessageId>| moderation::delete_message(fx, &user, id.0, m.0),
        ok: 200 Json<moderation::MessageDeleted>,
        example: Example::by("alice").in_session().at("message_id", MESSAGE),
        doc: Some(Doc {
            tag: "chat",
            summary: "Delete a chat message (moderators, or its author)",
            who: "host, cohost or the author",
            description: "The host and present cohosts delete any message of the session, its author their own: it is gone from the history (`GET /live/messages`) and every socket gets `chat.deleted` (`message_id`, `deleted_by`); a pinned message is unpinned with it (`unpinned: true`, `chat.unpinned`). A moderator deleting someone else's message is on the audit trail (`chat.delete`). A message already deleted: `404`.",
            ok: "The message was deleted",
            answer: json!({"session_id": SESSION, "message_id": MESSAGE, "deleted_by": "alice", "unpinned": false}),
            errors: vec![E::validation("message_id", "must be a chat message's id (a UUID)"), E::Forbidden("only the host, the cohosts and its author can delete a message".into()), E::NotFound(format!("no message {MESSAGE} in this session"))],
        }),
    }

    /// `GET /live/events/{session_id}`: the events after a sequence number (resync after a gap).
    ListEvents = "list-events" {
        route: Route::get("/live/events/{session_id}"),
        policy: READS,
        run: |fx, user: User, id: Path<SessionId>, q: Query<fanout::ResyncQuery>| fanout::resync(fx, &user, id.0, q.0),
        ok: 200 Json<fanout::Resync>,
        example: Example::by("bob").in_session().query(&[("after", "41")]),
        doc: Some(Doc {
            tag: "realtime",
            summary: "Events after a sequence number (resync)",
            who: "user",
            description: "Every frame pushed over the WebSocket API carries the range of sequence numbers it covers (`from`, `to`; docs/events.md). A client whose next frame's `from` is not its last `to` + 1 missed a frame (a reconnect, a lost post): it asks here with `after=<its last to>` and gets the events it would have received, ascending by `seq` (chat unsampled), then continues with `after=<to>` while `to < last_seq`. Events are kept an hour; older gaps reload the session and chat history instead.",
            ok: "The missed events",
            answer: json!({"session_id": SESSION, "events": [{"seq": 42, "id": "0193a0c4-0000-7000-8000-000000000001", "type": "chat.message", "session_id": SESSION, "data": message_example(), "ts": "2026-11-25T18:11:35.380087Z"}], "to": 42, "last_seq": 42}),
            errors: vec![E::validation("after", "must be a whole number (the last `to` received)"), E::removed(), no_session()],
        }),
    }

    /// `POST /live/react`: send a reaction.
    React = "react" {
        route: Route::post("/live/react"),
        policy: REACTS,
        run: |fx, user: User, body: Json<reactions::React>| reactions::react(fx, &user, body.0),
        ok: 200 Json<reactions::Reacted>,
        example: Example::by("bob").body(json!({"session_id": SESSION, "reaction_type": "heart"})),
        doc: Some(Doc {
            tag: "reactions",
            summary: "Send a reaction",
            who: "present participant",
            description: "`heart`, `fire`, `clap`, `wow`, `sad` (`like` is accepted as `heart`); at most 25 per user per second by default (`RATE_LIMITS`; `429` beyond). Totals are exact in `GET /live/session/{session_id}` (`reactions`) and in coalesced `reactions` events.",
            ok: "The reaction was counted",
            answer: json!({"session_id": SESSION, "reaction_type": "heart"}),
            errors: vec![E::validation("reaction_type", "unknown variant `smile`, expected one of `heart`, `fire`, `clap`, `wow`, `sad`"), E::join_first(), no_session(), rate_limited(Limited::Reactions), E::session_ended(), busy()],
        }),
    }

    /// `GET /live/gifts`: the gift catalogue.
    ListGifts = "list-gifts" {
        route: Route::get("/live/gifts"),
        policy: Policy::NOTHING,
        run: |fx| economy::catalogue(fx),
        ok: 200 Json<economy::Catalogue>,
        example: Example::anyone(),
        doc: Some(Doc {
            tag: "economy",
            summary: "The gift catalogue",
            who: "none",
            description: "Every gift (`id`, `name`, `emoji`, `price` in coins) and the recipients' revenue share in percent (the rest is the platform's). The catalogue is configuration (`GIFT_CATALOGUE_JSON`).",
            ok: "The catalogue",
            answer: json!({"gifts": [{"id": "rose", "name": "Rose", "emoji": "🌹", "price": 1}, {"id": "universe", "name": "Universe", "emoji": "🌌", "price": 10000}], "revenue_share_percent": 70}),
            // It reads configuration only: the one refusal is the route's (the fallback's 405).
            errors: vec![E::MethodNotAllowed { method: "POST".into(), allowed: "GET".into() }],
        }),
    }

    /// `GET /live/wallet`: the caller's wallet.
    GetWallet = "get-wallet" {
        route: Route::get("/live/wallet"),
        policy: Policy { dynamodb: &["GetItem"], ..Policy::NOTHING },
        run: |fx, user: User| economy::wallet(fx, &user),
        ok: 200 Json<crate::domain::economy::Wallet>,
        example: Example::by("bob"),
        doc: Some(Doc {
            tag: "economy",
            summary: "Your wallet",
            who: "user",
            description: "The caller's own wallet: `balance` (coins to spend) and `earnings` (coins earned from gifts and tips, after the platform's share). Zero before the first movement.",
            ok: "The wallet",
            answer: json!({"user_id": "bob", "balance": 120, "earnings": 35}),
            errors: vec![],
        }),
    }

    /// `GET /live/wallet/ledger`: the caller's wallet movements, newest first.
    ListLedger = "list-ledger" {
        route: Route::get("/live/wallet/ledger"),
        policy: Policy { dynamodb: &["Query"], ..Policy::NOTHING },
        run: |fx, user: User, page: Page<Before, 50, 100>| economy::ledger(fx, &user, page.0),
        ok: 200 Json<economy::LedgerPage>,
        example: Example::by("bob").query(&[("limit", "50")]),
        doc: Some(Doc {
            tag: "economy",
            summary: "Your wallet's movements, newest first",
            who: "user",
            description: "`{entries, next_cursor}`, **newest first**: every credit, gift and tip, sent or received. `balance_change` summed over all entries is the wallet's `balance`, `earnings_change` its `earnings`; a received payment's entry also names the platform's share.",
            ok: "One page of entries",
            answer: json!({"entries": [ledger_example()], "next_cursor": null}),
            errors: vec![E::bad_cursor("before")],
        }),
    }

    /// `POST /live/wallet/credit`: coins bought through the embedding app (server tokens only).
    CreditWallet = "credit-wallet" {
        route: Route::post("/live/wallet/credit"),
        policy: Policy { dynamodb: &["TransactWriteItems", "UpdateItem", "DeleteItem"], ..Policy::NOTHING },
        run: |fx, _service: Service, _key: PaymentKey, body: Json<economy::CreditRequest>| economy::credit(fx, body.0),
        ok: 200 Json<economy::CreditReceipt>,
        example: Example::by_service("billing").keyed("credit-pay_3MtwBwLkdIwHu7ix").body(json!({"user_id": "bob", "coins": 500, "reference": "pay_3MtwBwLkdIwHu7ix"})),
        doc: Some(Doc {
            tag: "economy",
            summary: "Credit coins bought in the app (server tokens only)",
            who: "server token (`role: service_role`)",
            description: "The embedding app's backend credits coins its own payments sold: `coins` 1..=1,000,000, `reference` its payment id (1..128 visible ASCII). A token whose `role` claim is not `service_role` (`SERVICE_ROLE_CLAIM` / `SERVICE_ROLE_VALUE`) → `403`. A `reference` credits once, whatever the `Idempotency-Key`: again with the same user and coins → `credited: false` and the first credit's entry; with others → `409 reference-used`. The credit, the balance and the ledger entry are one transaction.",
            ok: "The credit",
            answer: json!({"user_id": "bob", "coins": 500, "reference": "pay_3MtwBwLkdIwHu7ix", "entry_id": "01938f8c-6d1e-7b4a-9c3e-4f5a6b7c8d9e", "credited": true}),
            errors: vec![E::validation("coins", "must be an integer between 1 and 1000000"), E::conflict("reference-used", "this reference was credited with another user or amount"), busy()],
        }),
    }

    /// `POST /live/send-gift`: send a gift to the host or a guest on stage.
    SendGift = "send-gift" {
        route: Route::post("/live/send-gift"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, key: PaymentKey, body: Json<economy::SendGift>| economy::send_gift(fx, &user, key.0, body.0),
        ok: 200 Json<economy::PaymentReceipt>,
        example: Example::by("bob").keyed("0f8fad5b-d9cb-469f-a165-70867728950e").body(json!({"session_id": SESSION, "gift_id": "rose", "quantity": 3})),
        doc: Some(Doc {
            tag: "economy",
            summary: "Send a gift",
            who: "present participant",
            description: "`quantity` (1..99) of a catalogue gift to the host, or to `recipient_id`, a guest or cohost on stage, never yourself, in a live session with `enable_gifts`. ONE transaction debits the sender if the balance covers `price × quantity` (else `402 insufficient-coins` with `balance` and `needed`), credits the recipient's earnings with the revenue share, adds to the session's `gift_revenue` and the sender's total (top gifters), writes a ledger entry for each wallet and records the `Idempotency-Key` (required): a retry pays nothing again. Then a `gift` chat message (one per combo) and `gift.sent` follow; sends of the same gift within 5 s of the last are one combo (`combo.count`).",
            ok: "The payment",
            answer: payment_example(),
            errors: vec![E::validation("quantity", "must be an integer between 1 and 99"), E::insufficient_coins(2, 3), E::Forbidden("gifts and tips are turned off in this session".into()), no_session(), E::conflict("recipient-not-on-stage", "gifts and tips go to the host or a guest or cohost on stage"), E::session_ended(), busy()],
        }),
    }

    /// `POST /live/tip`: tip the host or a guest on stage.
    SendTip = "send-tip" {
        route: Route::post("/live/tip"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, key: PaymentKey, body: Json<economy::Tip>| economy::tip(fx, &user, key.0, body.0),
        ok: 200 Json<economy::PaymentReceipt>,
        example: Example::by("bob").keyed("7c9e6679-7425-40de-944b-e07fc1f90ae7").body(json!({"session_id": SESSION, "coins": 50, "message": "Great set!"})),
        doc: Some(Doc {
            tag: "economy",
            summary: "Tip the host or a guest",
            who: "present participant",
            description: "`coins` (1..=1,000,000) straight to the host, or to `recipient_id` on stage, with an optional `message` (at most 200 characters): the rules, the split and the one transaction of a gift (`402`, the required `Idempotency-Key`), adding to the session's `tip_revenue`. A `gift` chat message and `tip.sent` follow.",
            ok: "The payment",
            answer: payment_example(),
            errors: vec![E::validation("coins", "must be an integer between 1 and 1000000"), E::insufficient_coins(20, 50), E::Forbidden("gifts and tips are turned off in this session".into()), no_session(), E::conflict("recipient-not-on-stage", "gifts and tips go to the host or a guest or cohost on stage"), E::session_ended(), busy()],
        }),
    }

    /// `POST /live/buy-ticket`: a ticket to a paid session.
    BuyTicket = "buy-ticket" {
        route: Route::post("/live/buy-ticket"),
        policy: Policy { dynamodb: &["GetItem", "TransactWriteItems", "UpdateItem", "DeleteItem"], ..Policy::NOTHING },
        run: |fx, user: User, key: PaymentKey, body: Json<sessions::SessionRef>| economy::buy_ticket(fx, &user, key.0, body.0),
        ok: 200 Json<economy::TicketReceipt>,
        example: Example::by("bob").keyed("3b241101-e2bb-4255-8caf-4136c566a962").body(json!({"session_id": SESSION})),
        doc: Some(Doc {
            tag: "economy",
            summary: "Buy a ticket to a paid session",
            who: "user",
            description: "A live session started with `access: paid` admits ticket holders (besides its host and its stage): ONE transaction takes `ticket_price` coins from the caller (`402 insufficient-coins` with `balance` and `needed`), credits the host's earnings with the revenue share, adds to the session's `ticket_revenue`, writes both ledger entries and records the ticket and the `Idempotency-Key` (required). A ticket held already: `bought: false`, nothing moves. A free session, or its host: `409 no-ticket-needed`.",
            ok: "The ticket",
            answer: json!({"id": "01938f8c-6d1e-7b4a-9c3e-4f5a6b7c8d9e", "session_id": SESSION, "user_id": "bob", "price": 100, "split": {"recipient": 70, "platform": 30}, "bought": true, "created_at": "2026-11-25T18:59:59.000000Z"}),
            errors: vec![bad_session_id(), E::insufficient_coins(20, 100), no_session(), E::conflict("no-ticket-needed", "this live session is free to join"), E::session_ended(), busy()],
        }),
    }

    /// `PUT /live/access/{session_id}`: who a subscribers-only session admits (host only).
    SetAccessList = "set-access-list" {
        route: Route::put("/live/access/{session_id}"),
        policy: Policy { dynamodb: &["GetItem", "Query", "BatchWriteItem"], ..Policy::NOTHING },
        run: |fx, user: User, id: Path<SessionId>, body: Json<sessions::AccessList>| sessions::set_access_list(fx, &user, id.0, body.0),
        ok: 200 Json<sessions::AccessListSet>,
        example: Example::by("alice").in_session().body(json!({"user_ids": ["bob", "dan"]})),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Who a subscribers-only session admits (host only)",
            who: "host",
            description: "A session started with `access: subscribers` admits its host, its stage and the users listed here; anyone else's join is `403`. The embedding app keeps subscriptions in its own billing and mirrors them with this call: the list (at most 10,000 user ids) replaces the last one whole, so repeating it changes nothing. `409 not-subscribers-only` for any other session.",
            ok: "The list was replaced",
            answer: json!({"session_id": SESSION, "admitted": 2}),
            errors: vec![bad_session_id(), E::validation("user_ids", "at most 10000 user ids"), E::Forbidden("only the host sets who may join".into()), no_session(), E::conflict("not-subscribers-only", "this live session is not for subscribers only (access: subscribers at start)"), busy()],
        }),
    }

    /// `POST /live/go-live/{session_id}`: take a backstage session live (host only).
    GoLive = "go-live" {
        route: Route::post("/live/go-live/{session_id}"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, id: Path<SessionId>| backstage::go_live(fx, &user, id.0),
        ok: 200 Json<sessions::SessionView>,
        example: Example::by("alice").in_session(),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Take a backstage session live (host only)",
            who: "host",
            description: "A session started with `backstage: true` is `status: backstage`: unlisted, its host and the guests they invite (`POST /live/invite-guest` names any user backstage; the invitation admits them to join, accept and test their media) are in, viewers get `409 backstage`. Going live sets `started_at` now, lists it in `/live/active`, opens it to everyone and pushes `session.live` with a system message; on the audit trail. Repeating it answers the live session. A session left backstage longer than `BACKSTAGE_MAX_SECONDS` (default 1 h) ends by itself.",
            ok: "The live session",
            answer: session_example(),
            errors: vec![E::Forbidden("only the host takes the session live".into()), no_session(), E::session_ended()],
        }),
    }

    /// `POST /live/recording/{session_id}`: start or stop the session's recording (host only).
    Record = "record" {
        route: Route::post("/live/recording/{session_id}"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, id: Path<SessionId>, body: Json<recording::RecordingAction>| recording::record(fx, &user, id.0, body.0),
        ok: 200 Json<domain::Recording>,
        example: Example::by("alice").in_session().body(json!({"action": "start"})),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Start or stop the session's recording (host only)",
            who: "host",
            description: "`action: start` asks LiveKit Egress for a composite recording of the room (`StartRoomCompositeEgress`, grid layout, one MP4 file at `RECORDING_FILEPATH`, uploaded to `RECORDING_S3_BUCKET` when set): one at a time (`409 already-recording`), claimed before Egress is asked. `stop` stops it (`409 not-recording` when none is active); ending the session stops it too. Everyone gets `recording.started` / `recording.stopped`; the session detail shows `recording` (`status` `starting`, `active` or `stopped`, `started_at`, `stopped_at`; `location` and `egress_id` for the host and cohosts). A media server without an egress worker (the local `--dev` server) is `503 recording-unavailable`, nothing started: see the README's *Recording* for LiveKit Cloud or a self-hosted egress.",
            ok: "The recording",
            answer: json!({"status": "active", "egress_id": "EG_hSg2kRbJ5Xt9", "location": "recordings/live_5b0c2f9e8d1a4c3b9f7e2a6d4e8b1c30-2026-11-25T190700.mp4", "started_by": "alice", "started_at": "2026-11-25T19:07:00.000000Z"}),
            errors: vec![E::Forbidden("only the host records the session".into()), no_session(), E::conflict("already-recording", "this session is being recorded already"), E::conflict("not-recording", "this session is not being recorded"), E::session_ended(), E::conflict("room-empty", "nobody is connected to the media room yet: connect, then record"), E::RecordingUnavailable, upstream()],
        }),
    }

    /// `GET /live/analytics/{session_id}`: one session's analytics (host only).
    SessionAnalytics = "session-analytics" {
        route: Route::get("/live/analytics/{session_id}"),
        // The session, its counters' Query, its reaction shards (BatchGetItem), its top gifters (GSI2).
        policy: Policy { dynamodb: &["GetItem", "Query", "BatchGetItem"], indexes: true, ..Policy::NOTHING },
        run: |fx, user: User, id: Path<SessionId>| analytics::session(fx, &user, id.0),
        ok: 200 Json<analytics::Analytics>,
        example: Example::by("alice").in_session(),
        doc: Some(Doc {
            tag: "analytics",
            summary: "One session's analytics (host only)",
            who: "host",
            description: "Counted as things happen (no scans; a few reads whatever the session's size), live or ended: `duration_seconds`; `peak_viewers`; `unique_viewers` (distinct users who joined); `average_view_seconds` and `median_view_seconds` (each unique viewer's seconds present, visits summed, to now or the end); `viewers_per_minute` (viewers present at the end of each minute since it went live); `guests_on_stage` (distinct users who came on stage) and `stage_seconds` (their time there, summed); `guest_request_rate` (share of unique viewers who asked to come on stage, 0..1); `chat_messages` and `chat_per_minute` (participants' messages, system and gift lines not counted); `reactions` by type; `gift_revenue`, `tips`, `tickets` (coins); `top_gifters`.",
            ok: "The session's analytics",
            answer: analytics_example(),
            errors: vec![E::Forbidden("only the host reads the analytics".into()), no_session()],
        }),
    }

    /// `GET /live/analytics?from=&to=`: the caller's sessions summed (host only).
    HostAnalytics = "host-analytics" {
        route: Route::get("/live/analytics"),
        policy: Policy { dynamodb: &["GetItem", "Query", "BatchGetItem"], ..Policy::NOTHING },
        run: |fx, user: User, q: Query<analytics::Range>| analytics::range(fx, &user, q.0),
        ok: 200 Json<analytics::Analytics>,
        example: Example::by("alice").query(&[("from", "2026-11-01T00:00:00Z"), ("to", "2026-11-30T23:59:59Z")]),
        doc: Some(Doc {
            tag: "analytics",
            summary: "Analytics across the caller's sessions",
            who: "user (their own sessions)",
            description: "The sessions the caller opened between `from` and `to` (RFC 3339; default the 30 days before now), at most 50, oldest first, summed: `sessions`; counts, seconds and coins added; `peak_viewers` the highest; averages, the median and `guest_request_rate` over every viewer of every session; per-minute series added minute by minute from each session's start; `reactions` added by type; `top_gifters` empty (per session only). Sessions still backstage are left out.",
            ok: "The sessions' analytics summed",
            answer: json!({"sessions": 2, "duration_seconds": 5400, "peak_viewers": 140, "unique_viewers": 310, "average_view_seconds": 812.5, "median_view_seconds": 600.0, "viewers_per_minute": [12, 40, 95], "guests_on_stage": 5, "stage_seconds": 2100.0, "guest_request_rate": 0.04, "chat_messages": 1820, "chat_per_minute": [30, 51, 44], "reactions": {"heart": 900, "fire": 120, "clap": 40, "wow": 8, "sad": 1}, "gift_revenue": 4200, "tips": 350, "tickets": 0, "top_gifters": []}),
            errors: vec![E::validation("from", "must be an RFC 3339 timestamp")],
        }),
    }

    /// `PATCH /live/settings/{session_id}`: change settings while live (host only).
    UpdateSettings = "update-settings" {
        route: Route::patch("/live/settings/{session_id}"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, id: Path<SessionId>, body: Json<settings::SettingsPatch>| settings::update(fx, &user, id.0, body.0),
        ok: 200 Json<sessions::SessionView>,
        example: Example::by("alice").in_session().body(json!({"chat_slow_mode": 10, "enable_gifts": false})),
        doc: Some(Doc {
            tag: "sessions",
            summary: "Change settings while live (host only)",
            who: "host",
            description: "Any of `title`, `description`, `chat_slow_mode`, `enable_chat`, `enable_gifts`, `allow_guests`, `require_approval`, `max_guests`, `max_participants`, `blocked_words` (the whole list), with `POST /live/start`'s bounds; at least one, and nothing else (who may join is fixed at start). One conditional write: `max_guests` below the guests on stage now is `409 below-guest-count`, `max_participants` below the viewers now `409 below-viewer-count`, and nothing changes. Enforced from the answer on (slow mode, chat and gifts off, guests, capacity); everyone gets `settings.updated` (`changed`, `title`, `description`, `settings` without the blocked words) and a system message; on the audit trail (`settings.update`). Answers the session as its host sees it.",
            ok: "The session with its new settings",
            answer: session_example(),
            errors: vec![E::validation("chat_slow_mode", "must be between 0 and 300 (got 301)"), E::validation("body", "name at least one setting to change"), E::Forbidden("only the host changes the settings".into()), no_session(), E::conflict("below-guest-count", "3 guests are on stage: max_guests cannot be lower"), E::conflict("below-viewer-count", "250 viewers are watching: max_participants cannot be lower"), E::session_ended()],
        }),
    }

    /// `POST /live/request-guest`: ask to go on stage.
    RequestGuest = "request-guest" {
        route: Route::post("/live/request-guest"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, body: Json<requests::RequestGuest>| requests::request_guest(fx, &user, body.0),
        ok: 201 Json<domain::GuestRequest>,
        example: Example::by("erin").body(json!({"session_id": SESSION, "request_type": "guest", "message": "Can I join to discuss this topic?"})),
        doc: Some(Doc {
            tag: "stage",
            summary: "Ask to go on stage",
            who: "present viewer",
            description: "`201` with the request (`request_type` `guest` (default) or `cohost`; `message` at most 200 characters), pushed as `guest_request.created` to hosts, cohosts and the requester. `403` when the session takes no guests (`allow_guests` false) or the caller is not present or barred; `409 request-pending` (one pending request or invitation per user), `409 not-a-viewer` (already on stage). A `guest` request is approved at once (`status: approved`, in the host's name, on the audit trail) when `require_approval` is false and a slot is free, else pending; a `cohost` request always waits for the host.",
            ok: "The request",
            answer: request_example("pending", "request"),
            errors: vec![E::validation("message", "must be at most 200 characters (got 201)"), E::Forbidden("this session does not take guests".into()), no_session(), E::conflict("request-pending", "a request or invitation is already pending"), upstream(), rate_limited(Limited::StageRequests), E::session_ended(), busy()],
        }),
    }

    /// `POST /live/cancel-guest-request`: withdraw one's own pending request.
    CancelGuestRequest = "cancel-guest-request" {
        route: Route::post("/live/cancel-guest-request"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, body: Json<requests::RequestRef>| requests::cancel_guest_request(fx, &user, body.0),
        ok: 200 Json<domain::GuestRequest>,
        example: Example::by("frank").body(json!({"request_id": FRANKS_REQUEST})),
        doc: Some(Doc {
            tag: "stage",
            summary: "Withdraw one's own pending request",
            who: "the requester",
            description: "`200` with the request, `cancelled`; `409 already-answered` when it is no longer pending. The user may ask again afterwards.",
            ok: "The request, cancelled",
            answer: request_example("cancelled", "request"),
            errors: vec![E::validation("request_id", "must be a UUID"), E::Forbidden("only the requester can cancel a request".into()), no_request(), E::already_answered("request"), rate_limited(Limited::StageRequests), busy()],
        }),
    }

    /// `POST /live/respond-guest-request`: approve or reject a pending request.
    RespondGuestRequest = "respond-guest-request" {
        route: Route::post("/live/respond-guest-request"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, body: Json<requests::RespondGuestRequest>| requests::respond_guest_request(fx, &user, body.0),
        ok: 200 Json<domain::GuestRequest>,
        example: Example::by("alice").body(json!({"request_id": BOBS_REQUEST, "action": "approved"})),
        doc: Some(Doc {
            tag: "stage",
            summary: "Approve or reject a pending request (host, cohost)",
            who: "host, cohost",
            description: "`action` `approved` or `rejected`. Approval is one transaction: the request becomes approved, the viewer goes on stage with the session's `guest_audio_default` / `guest_video_default`, and `guest_count` grows on the condition that it stays within `max_guests` (`409 stage-full`: the request stays pending); `409 already-answered`. Only the host approves `cohost` requests. The new permissions are applied to the live SFU connection; when the SFU cannot take them the approval is rolled back (still pending) and the answer is `502`. Rejected and cancelled users may ask again.",
            ok: "The request, answered",
            answer: request_example("approved", "request"),
            errors: vec![E::validation("action", "unknown variant `maybe`, expected `approved` or `rejected`"), E::moderators_only(), no_request(), E::stage_full(), upstream(), E::session_ended(), busy()],
        }),
    }

    /// `GET /live/guest-requests/{session_id}`: requests and invitations of a session.
    ListGuestRequests = "list-guest-requests" {
        route: Route::get("/live/guest-requests/{session_id}"),
        policy: READS,
        run: |fx, user: User, id: Path<SessionId>, filter: Query<requests::RequestFilter>, page: Page<Before, 50, 100>| requests::list_guest_requests(fx, &user, id.0, filter.0, page.0),
        ok: 200 Json<requests::RequestPage>,
        example: Example::by("alice").in_session().query(&[("status", "pending")]),
        doc: Some(Doc {
            tag: "stage",
            summary: "Requests and invitations of a session, newest first (host, cohost)",
            who: "host, cohost",
            description: "`{requests, next_cursor}`, **newest first**, optionally of one `status`; `before` takes the previous page's `next_cursor`.",
            ok: "One page of requests",
            answer: json!({"requests": [request_example("pending", "request")], "next_cursor": null}),
            errors: vec![E::validation("status", "unknown variant `open`, expected one of `pending`, `approved`, `rejected`, `cancelled`"), E::moderators_only(), no_session()],
        }),
    }

    /// `POST /live/invite-guest`: invite a present viewer on stage.
    InviteGuest = "invite-guest" {
        route: Route::post("/live/invite-guest"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, body: Json<requests::InviteGuest>| requests::invite_guest(fx, &user, body.0),
        ok: 201 Json<domain::GuestRequest>,
        example: Example::by("alice").body(json!({"session_id": SESSION, "user_id": "gina", "message": "Come on stage!"})),
        doc: Some(Doc {
            tag: "stage",
            summary: "Invite a present viewer on stage (host, cohost)",
            who: "host, cohost",
            description: "`201` with an invitation (`origin: invitation`) to a present viewer, who answers with `POST /live/respond-invite` (two-way consent) before its `expires_at` (`INVITATION_TTL_SECONDS` after it was made); only the host invites cohosts; `409 request-pending`.",
            ok: "The invitation",
            answer: request_example("pending", "invitation"),
            errors: vec![bad_session_id(), E::moderators_only(), E::NotFound("that user is not present in this session".into()), E::conflict("request-pending", "a request or invitation is already pending"), E::session_ended(), busy()],
        }),
    }

    /// `POST /live/respond-invite`: accept or decline an invitation.
    RespondInvite = "respond-invite" {
        route: Route::post("/live/respond-invite"),
        policy: WRITES_AND_PUSHES,
        run: |fx, user: User, body: Json<requests::RespondInvite>| requests::respond_invite(fx, &user, body.0),
        ok: 200 Json<domain::GuestRequest>,
        example: Example::by("hank").body(json!({"request_id": HANKS_INVITATION, "action": "declined"})),
        doc: Some(Doc {
            tag: "stage",
            summary: "Accept or decline an invitation (the invited user)",
            who: "the invited user",
            description: "`action` `accepted` runs the same transaction as an approval (`409 stage-full` when no slot is free; `502` when the SFU cannot take the permissions), on the condition that the inviter is still a present host (or cohost, for a guest): else `409 invitation-withdrawn`; `declined` leaves the invitation `rejected`. Past its `expires_at` an invitation is closed as `expired` and the answer is `409 invitation-expired`.",
            ok: "The invitation, answered",
            answer: request_example("approved", "invitation"),
            errors: vec![E::validation("action", "unknown variant `ok`, expected `accepted` or `declined`"), E::Forbidden("only the invited user can answer an invitation".into()), no_request(), E::already_answered("invitation"), E::invitation_expired(), E::conflict("invitation-withdrawn", "whoever invited you is no longer a host or cohost of this session"), upstream(), E::session_ended(), busy()],
        }),
    }

    /// `POST /live/manage-participant`: a host control.
    ManageParticipant = "manage-participant" {
        route: Route::post("/live/manage-participant"),
        policy: CLOSES_SOCKETS,
        run: |fx, user: User, body: Json<controls::ManageParticipant>| controls::manage(fx, &user, body.0),
        ok: 200 Json<controls::Managed>,
        example: Example::by("alice").body(json!({"session_id": SESSION, "user_id": "bob", "action": "mute_audio"})),
        doc: Some(Doc {
            tag: "stage",
            summary: "A host control (host, cohost)",
            who: "host, cohost",
            description: "`action` is one of `mute_audio`, `unmute_audio`, `mute_video`, `unmute_video`, `allow_screen_share`, `disallow_screen_share`, `kick`, `ban`, `promote_cohost`, `demote` (who may do what: the table below). `200` with `{session_id, action, participant}`. Each control is enforced at the SFU (permissions, track mute, removal); when the SFU cannot apply it, a reversible change is rolled back and the answer is `502` (a kick or ban stands: repeat it to retry the removal). A user who is not present can be kicked or banned if they were ever in the session (whatever role they had, as a viewer), and banned by user id before they ever join; any other control of them is `409 not-present`, a kick of a user never seen `404`. `409 stage-full` (promoting a viewer), `409 participant-changed` (a concurrent change won).",
            ok: "The participant after the control",
            answer: json!({"session_id": SESSION, "action": "mute_audio", "participant": participant_example("bob", "guest")}),
            errors: vec![E::validation("action", "unknown variant `silence`"), E::Forbidden("a cohost cannot kick a cohost".into()), E::NotFound("that user is not a participant of this session".into()), E::conflict("not-present", "that user is not present in this session"), upstream(), upstream_after("the user is barred from the session"), E::session_ended(), busy()],
        }),
    }

    /// `GET /live/audit/{session_id}`: the audit trail of host actions.
    AuditTrail = "audit-trail" {
        route: Route::get("/live/audit/{session_id}"),
        policy: READS,
        run: |fx, user: User, id: Path<SessionId>, page: Page<Before, 50, 100>| controls::audit_trail(fx, &user, id.0, page.0),
        ok: 200 Json<controls::AuditPage>,
        example: Example::by("alice").in_session(),
        doc: Some(Doc {
            tag: "stage",
            summary: "The audit trail of host actions, newest first (host only)",
            who: "host",
            description: "`{entries, next_cursor}`: every host control, approval, rejection and invitation (`actor_id`, `action`, `target_id`, `at`, `details`), newest first.",
            ok: "One page of audit entries",
            answer: json!({"entries": [{"id": "0193b1f2-5000-7000-8000-000000000002", "session_id": SESSION, "actor_id": "alice", "action": "mute_audio", "target_id": "bob", "at": "2026-11-25T19:10:00.000000Z", "details": {"role_before": "guest", "role_after": "guest"}}], "next_cursor": null}),
            errors: vec![E::Forbidden("only the host can read the audit trail".into()), no_session()],
        }),
    }

    /// `POST /livekit/webhook`: what the SFU reports.
    LiveKitWebhook = "livekit-webhook" {
        route: Route::post("/livekit/webhook"),
        policy: WRITES_AND_PUSHES,
        run: |fx, delivery: Signed| webhook::receive(fx, &delivery.body, delivery.authorization.as_deref()),
        ok: 200 Json<webhook::Received>,
        example: Example::anyone().body(webhook_example()),
        doc: Some(Doc {
            tag: "sfu",
            summary: "LiveKit webhooks",
            who: "LiveKit's signature",
            description: "Point LiveKit's `webhook.urls` here. The `Authorization` JWT (signed with the API secret, issued by the API key) must carry the SHA-256 of the exact body (`401` otherwise). Each event id is applied once: a replay answers `200` with `duplicate: true` and changes nothing; a delivery while another is still processing it answers `503` (retry), and one whose processing died is taken over once that invocation's deadline passed. A participant who joins or publishes without being present is removed from the room. `participant_joined`/`participant_left` keep `connected` true, `track_published`/`track_unpublished` the published flags, `room_finished` ends a session still live.",
            ok: "Received (applied, or a duplicate)",
            answer: json!({"id": "EV_3kT9pZ", "event": "participant_joined", "duplicate": false}),
            errors: vec![E::MalformedBody("not a LiveKit webhook event".into()), E::Unauthorized("webhook signature rejected: invalid signature".into()), busy()],
        }),
    }

    /// API Gateway's `ANY /{proxy+}` catch-all: 404 for unknown paths, 405 for wrong methods.
    Fallback = "fallback" {
        route: Route::any("/{proxy+}"),
        policy: Policy::NOTHING,
        run: |_fx, line: RequestLine| Endpoint::refuse(line),
        // The catch-all only ever refuses: 404, or 405 with `Allow`.
        ok: 404 Empty,
        example: Example::anyone().request_line("GET", "/live/nowhere"),
        doc: None,
    }

    /// WebSocket `$connect`: a socket to a live session, authorised by the `token` parameter.
    WsConnect = "ws-connect" {
        route: Route::websocket("$connect"),
        policy: Policy {
            dynamodb: &["GetItem", "TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem"],
            indexes: false,
            connections: &["DELETE"],
            queues: &[],
        },
        run: |fx, user: TokenUser, socket: Socket, query: Query<realtime::ConnectQuery>| realtime::connect(fx, &user.0, query.0.session_id, socket.0),
        ok: 200 Empty,
        example: Example::by("bob").query(&[("session_id", SESSION)]),
        doc: None,
    }

    /// WebSocket `$default`: the frames a socket sends (`ping`, `chat`, `react`).
    WsDefault = "ws-default" {
        route: Route::websocket("$default"),
        policy: FRAMES,
        run: |fx, socket: Socket, frame: RawBody| websocket::frame(fx, socket.0, &frame.0),
        ok: 200 Empty,
        example: Example::anyone().body(json!({"action": "chat", "message": "Hi from the socket"})),
        doc: None,
    }

    /// Every minute: ends the live sessions whose host has been gone from the SFU for
    /// `HOST_GONE_END_SECONDS` (`sessions::end_abandoned`).
    EndAbandoned = "end-abandoned" {
        route: Route::schedule("rate(1 minute)"),
        policy: WRITES_AND_PUSHES,
        run: |fx, tick: Tick| backstage::sweep(fx, tick.0),
        ok: 200 Json<backstage::Swept>,
        example: Example::anyone(),
        doc: None,
    }

    /// The sequencer of the fan-out: numbers each session's published events (SQS FIFO, one
    /// message group per session) and opens its frame windows (`fanout::sequence`).
    SequenceEvents = "sequence-events" {
        route: Route::queue("EventsQueue"),
        policy: Policy { dynamodb: &["GetItem", "UpdateItem", "BatchWriteItem"], queues: &["FanoutQueue"], ..Policy::NOTHING },
        run: |fx, batch: Messages| fanout::sequence(fx, batch.0),
        ok: 200 Json<batch::BatchResult>,
        example: Example::anyone().body(queue_event("EventsQueue", json!({"audience": {"to": "session"}, "event": {"type": "chat.message", "session_id": SESSION, "data": {"message": "hi"}, "ts": "2026-11-26T18:00:00.000000Z", "id": "0193a0c4-0000-7000-8000-000000000001"}}))),
        doc: None,
    }

    /// The fan-out: one shard's delivery of one window to its sockets (`fanout::deliver`).
    FanOut = "fan-out" {
        route: Route::queue("FanoutQueue"),
        policy: Policy {
            dynamodb: &["GetItem", "Query", "UpdateItem", "PutItem", "DeleteItem"],
            indexes: true,
            connections: &["POST", "DELETE"],
            ..Policy::NOTHING
        },
        run: |fx, batch: Messages| fanout::deliver(fx, batch.0),
        ok: 200 Json<batch::BatchResult>,
        example: Example::anyone().body(queue_event("FanoutQueue", json!({"session_id": SESSION, "from": 1, "end_ms": 1_795_000_000_000_i64, "window_ms": 100, "shard": 0, "shards": 1}))),
        doc: None,
    }

    /// The trailing edge of coalesced aggregates: read once their window has ended, then
    /// published (`events::publish_due`).
    PublishAggregates = "publish-aggregates" {
        route: Route::queue("AggregatesQueue"),
        policy: Policy { dynamodb: &["GetItem", "BatchGetItem"], queues: &["EventsQueue"], ..Policy::NOTHING },
        run: |fx, batch: Messages| events::publish_due(fx, batch.0),
        ok: 200 Json<batch::BatchResult>,
        example: Example::anyone().body(queue_event("AggregatesQueue", json!({"session_id": SESSION, "type": "reactions"}))),
        doc: None,
    }

    /// WebSocket `$disconnect`.
    WsDisconnect = "ws-disconnect" {
        route: Route::websocket("$disconnect"),
        policy: Policy { dynamodb: &["DeleteItem", "UpdateItem", "PutItem"], ..Policy::NOTHING },
        run: |fx, socket: Socket| realtime::disconnect(fx, &socket.0),
        ok: 200 Empty,
        example: Example::anyone(),
        doc: None,
    }
}

impl Endpoint {
    /// Every HTTP route with its endpoint (the WebSocket routes are API Gateway's to select).
    fn routes() -> impl Iterator<Item = (Endpoint, Route)> + Clone {
        Self::ALL.iter().map(|e| (*e, e.route()))
    }

    /// The endpoint for an HTTP request, or the error the catch-all answers with.
    pub fn resolve(method: &str, path: &str) -> Result<Matched<Endpoint>, ApiError> {
        routes::resolve(Self::routes(), method, path)
    }

    /// The catch-all's answer: 405 with `Allow` when the path exists under other methods, else 404.
    async fn refuse(line: RequestLine) -> ApiResult<()> {
        Err(routes::unmatched(Self::routes(), &line.method, &line.path))
    }
}

/// Handler tests without a network: the rules that answer before any storage call, driven through
/// `Endpoint::handle` with requests shaped by `lambda_http::RequestExt`, as the runtime builds them.
#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use http::header;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use lambda_http::{Body, Request, RequestExt};
    use serde_json::{json, Value};

    use super::*;
    use crate::adapter::app::App;
    use crate::domain::config::{Config, JwtConfig, JwtKeySource, SfuConfig};

    fn app() -> App {
        // Nothing listens on port 9: a test that reached DynamoDB would fail loudly.
        let db = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url("http://127.0.0.1:9")
                .credentials_provider(Credentials::new("k", "s", None, None, "test"))
                .build(),
        );
        let config = Config {
            table_name: "t".into(),
            jwt: JwtConfig {
                keys: JwtKeySource::Secret("unit".into()),
                issuer: None,
                audience: None,
                leeway_seconds: 0,
                jwks_refetch_cooldown: Duration::from_secs(30),
                service_role: JwtConfig::default_service_role(),
            },
            sfu: SfuConfig {
                url: "ws://127.0.0.1:9".into(),
                api_key: "k".into(),
                api_secret: "s".into(),
                token_ttl: Duration::from_secs(600),
                ice_servers: json!([]),
                recording: Default::default(),
            },
            websocket_endpoint: None,
            queues: Default::default(),
            tunables: Default::default(),
        };
        App::new(config, db, None, None)
    }

    fn bearer() -> String {
        let exp = jsonwebtoken::get_current_timestamp() + 600;
        let t = encode(
            &Header::default(),
            &json!({"sub": "u", "exp": exp}),
            &EncodingKey::from_secret(b"unit"),
        );
        format!("Bearer {}", t.unwrap())
    }

    fn request(method: &str, path: &str, body: &str, auth: bool) -> Request {
        let mut b = http::Request::builder().method(method).uri(path);
        if auth {
            b = b.header(header::AUTHORIZATION, bearer());
        }
        b.body(Body::from(body)).unwrap()
    }

    async fn call(endpoint: Endpoint, req: Request) -> (u16, Value, http::HeaderMap) {
        let resp = endpoint.handle(&app(), req).await;
        let (parts, body) = resp.into_parts();
        let json = serde_json::from_slice(body.as_ref()).unwrap_or(Value::Null);
        if parts.status.is_client_error() {
            assert_eq!(parts.headers[header::CONTENT_TYPE], "application/problem+json");
        }
        (parts.status.as_u16(), json, parts.headers)
    }

    #[tokio::test]
    async fn start_requires_a_token() {
        let (status, body, headers) = call(Endpoint::StartSession, request("POST", "/live/start", "{}", false)).await;
        assert_eq!(status, 401);
        assert_eq!(body["type"], "https://trendke.live/problems/unauthorized");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[tokio::test]
    async fn start_validates_before_touching_storage() {
        for (body, field) in [
            (r#"{"title": "t", "max_guests": 21}"#, "max_guests"),
            (r#"{"title": "t", "session_type": "tv"}"#, "session_type"),
            (r#"{"title": "t", "chat_slow_mode": 301}"#, "chat_slow_mode"),
            (r#"{"description": "no title"}"#, "title"),
            (r#"[]"#, "body"),
        ] {
            let (status, problem, _) = call(Endpoint::StartSession, request("POST", "/live/start", body, true)).await;
            assert_eq!((status, problem["field"].as_str()), (400, Some(field)), "{body}");
        }
        let (status, problem, _) = call(Endpoint::StartSession, request("POST", "/live/start", "{oops", true)).await;
        assert_eq!(
            (status, problem["title"].as_str()),
            (400, Some("Malformed request body"))
        );
    }

    #[tokio::test]
    async fn path_and_query_parameters_are_checked() {
        let req = request("GET", "/live/session/x", "", false)
            .with_path_parameters(HashMap::from([("session_id".to_string(), "x".to_string())]));
        let (status, problem, _) = call(Endpoint::GetSession, req).await;
        assert_eq!((status, problem["field"].as_str()), (400, Some("session_id")));
        let req = request("GET", "/live/active", "", false)
            .with_query_string_parameters(HashMap::from([("limit".to_string(), "500".to_string())]));
        let (status, problem, _) = call(Endpoint::ListActive, req).await;
        assert_eq!((status, problem["field"].as_str()), (400, Some("limit")));
        let (status, problem, _) = call(Endpoint::EndSession, request("POST", "/live/end/", "", true)).await;
        assert_eq!((status, problem["field"].as_str()), (400, Some("session_id")));
    }

    #[tokio::test]
    async fn fallback_answers_404_and_405() {
        let (status, _, headers) = call(Endpoint::Fallback, request("GET", "/live/join", "", false)).await;
        assert_eq!(
            (status, &headers[header::ALLOW]),
            (405, &http::HeaderValue::from_static("POST"))
        );
        let (status, problem, _) = call(Endpoint::Fallback, request("POST", "/nope", "", false)).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (404, Some("https://trendke.live/problems/route-not-found"))
        );
    }

    #[test]
    fn handlers_and_function_ids_are_unique_and_found() {
        let mut names: Vec<&str> = Endpoint::ALL.iter().map(|e| e.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Endpoint::ALL.len());
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_name(e.name()), Some(*e));
            assert_eq!(Endpoint::from_function_id(e.function_id()), Some(*e));
        }
        assert_eq!(Endpoint::StartSession.function_id(), "StartSessionFunction");
        assert_eq!(Endpoint::for_route_key("$default"), Some(Endpoint::WsDefault));
        assert_eq!(
            Endpoint::resolve("POST", "/live/end/x").unwrap().endpoint,
            Endpoint::EndSession
        );
    }
}
