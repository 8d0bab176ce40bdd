//! The OpenAPI 3.1 document of the HTTP API, generated from the code: every route from
//! [`Endpoint::route`], every body and answer from the types the rules take and return (their
//! `utoipa::ToSchema` derives), every error from the one [`Problem`] mapping, with examples.
//!
//! `docs/openapi.json` is this document, committed for client generators and fuzzers; a test
//! fails when it is stale (`UPDATE_OPENAPI=1 cargo test -p shared openapi` rewrites it). The local
//! gateway serves it at `/openapi.json`.

use serde_json::{json, Value};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required, ResponseBuilder, Schema,
};
use utoipa::ToSchema;

use crate::api::{Endpoint, Route, NEXT_CURSOR_HEADER};
use crate::error::{ApiError, Problem};
use crate::{chat, domain, reactions, sessions, stage, webhook};

const SESSION_ID: &str = "5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30";
const REQUEST_ID: &str = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2b";

/// Who may call an endpoint.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    /// `Authorization: Bearer <user JWT>`.
    User,
    /// LiveKit's signed `Authorization` (a JWT with the body's SHA-256).
    LiveKit,
}

/// What a successful answer carries.
enum Answer {
    One(&'static str),
    List(&'static str),
}

/// One endpoint's documentation beside what the code already says (route, types).
struct Doc {
    tag: &'static str,
    summary: &'static str,
    description: &'static str,
    auth: Auth,
    /// Query parameters: name, description, schema.
    query: Vec<(&'static str, &'static str, Schema)>,
    /// Request body: schema name and example.
    body: Option<(&'static str, Value)>,
    ok: (u16, &'static str, Answer, Value),
    /// Next page cursor in the `X-Next-Cursor` header.
    paged_by_header: bool,
    /// Error answers, each with an example produced by the real error mapping.
    errors: Vec<ApiError>,
}

fn uuid_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .build()
        .into()
}

fn string_schema() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).build().into()
}

fn limit(default: i32, max: i32) -> (&'static str, &'static str, Schema) {
    (
        "limit",
        "Page size.",
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(max))
            .default(Some(json!(default)))
            .build()
            .into(),
    )
}

fn cursor(name: &'static str, description: &'static str) -> (&'static str, &'static str, Schema) {
    (name, description, string_schema())
}

fn bad(field: &str, detail: &str) -> ApiError {
    ApiError::validation(field, detail)
}

fn unauthorized() -> ApiError {
    ApiError::Unauthorized("token expired".into())
}

fn not_found() -> ApiError {
    ApiError::NotFound(format!("no session {SESSION_ID}"))
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::Forbidden(detail.into())
}

fn conflict(code: &'static str, detail: &str) -> ApiError {
    ApiError::conflict(code, detail)
}

fn upstream() -> ApiError {
    ApiError::Upstream(String::new())
}

fn busy() -> ApiError {
    ApiError::Unavailable(String::new())
}

fn participant_example(user: &str, role: &str) -> Value {
    json!({
        "session_id": SESSION_ID, "user_id": user, "username": user, "role": role, "status": "active",
        "audio_enabled": role != "viewer", "video_enabled": role != "viewer", "screen_sharing": false,
        "screen_share_allowed": role == "host", "connected": true, "audio_published": role != "viewer",
        "video_published": false, "joined_at": "2026-11-25T19:00:00.000000Z"
    })
}

fn session_example() -> Value {
    json!({
        "id": SESSION_ID, "room_name": "live_5b0c2f9e8d1a4c3b9f7e2a6d4e8b1c30", "host_id": "alice",
        "host_username": "alice", "title": "My Amazing Live Stream", "description": "Let's chat about tech!",
        "session_type": "camera", "status": "live", "started_at": "2026-11-25T19:00:00.000000Z",
        "viewer_count": 123, "peak_viewers": 150, "guest_count": 3, "max_participants": 1000,
        "allow_guests": true, "require_approval": true, "max_guests": 8, "enable_chat": true,
        "enable_gifts": true, "chat_slow_mode": 0, "guest_audio_default": true, "guest_video_default": true,
        "blocked_words": []
    })
}

fn webrtc_example() -> Value {
    json!({"server_url": "wss://your-project.livekit.cloud", "room_name": "live_5b0c2f9e8d1a4c3b9f7e2a6d4e8b1c30",
           "participant_token": "eyJhbGciOiJIUzI1NiJ9...", "ice_servers": []})
}

fn request_example(status: &str, origin: &str) -> Value {
    json!({
        "id": REQUEST_ID, "session_id": SESSION_ID, "user_id": "bob", "username": "bob", "request_type": "guest",
        "origin": origin, "status": status, "message": "Can I join to discuss this topic?",
        "created_at": "2026-11-25T19:05:00.000000Z"
    })
}

fn message_example() -> Value {
    json!({"id": "0193b1f2-4000-7000-8000-000000000001", "session_id": SESSION_ID, "user_id": "bob",
           "username": "bob", "message": "Hello everyone!", "message_type": "text",
           "created_at": "2026-11-25T19:06:00.000000Z"})
}

fn doc(e: Endpoint) -> Option<Doc> {
    let session_ref = json!({"session_id": SESSION_ID});
    let d = match e {
        Endpoint::StartSession => Doc {
            tag: "sessions",
            summary: "Go live as host",
            description: "Creates the session, its settings and the host participant in one transaction and mints the host's SFU token. A host who is already live gets 409 `already-live`.",
            auth: Auth::User,
            query: vec![],
            body: Some(("StartRequest", json!({"title": "My Amazing Live Stream", "description": "Let's chat about tech!", "session_type": "camera", "max_participants": 100, "allow_guests": true, "require_approval": true, "max_guests": 8, "enable_chat": true, "enable_gifts": true, "guest_audio_default": true, "guest_video_default": true}))),
            ok: (201, "The live session, with the host's SFU token", Answer::One("StartResponse"), {
                let mut v = session_example();
                v["session_id"] = json!(SESSION_ID);
                v["access_token"] = json!("eyJhbGciOiJIUzI1NiJ9...");
                v["webrtc_config"] = webrtc_example();
                v["role"] = json!("host");
                v["token_ttl_seconds"] = json!(600);
                v
            }),
            paged_by_header: false,
            errors: vec![bad("max_guests", "must be between 1 and 20 (got 21)"), unauthorized(), conflict("already-live", "you already have a live session; end it before starting another"), busy()],
        },
        Endpoint::JoinSession => Doc {
            tag: "sessions",
            summary: "Join as a viewer (or get a fresh token for the role held)",
            description: "Capacity (`max_participants`) is enforced together with the viewer count. Joining again while present is idempotent (`joined: false`, same role). Kicked and banned users get 403.",
            auth: Auth::User,
            query: vec![],
            body: Some(("SessionRef", session_ref.clone())),
            ok: (200, "The SFU connection details for the caller's role", Answer::One("JoinResponse"), json!({"session_id": SESSION_ID, "room_name": "live_5b0c2f9e8d1a4c3b9f7e2a6d4e8b1c30", "access_token": "eyJhbGciOiJIUzI1NiJ9...", "webrtc_config": webrtc_example(), "role": "viewer", "can_request_guest": true, "joined": true, "token_ttl_seconds": 600})),
            paged_by_header: false,
            errors: vec![bad("session_id", "must be a UUID"), unauthorized(), forbidden("you were removed from this session"), not_found(), conflict("session-full", "this session is full"), busy()],
        },
        Endpoint::LeaveSession => Doc {
            tag: "sessions",
            summary: "Leave a session",
            description: "Counts drop exactly once; `left: false` when the caller was not present. The host ends the session instead (409 `host-cannot-leave`).",
            auth: Auth::User,
            query: vec![],
            body: Some(("SessionRef", session_ref.clone())),
            ok: (200, "The caller's participation now", Answer::One("LeaveResponse"), json!({"message": "Left the live session", "session_id": SESSION_ID, "status": "left", "left": true})),
            paged_by_header: false,
            errors: vec![bad("session_id", "must be a UUID"), unauthorized(), not_found(), conflict("host-cannot-leave", "the host ends the session with POST /live/end/{session_id}"), busy()],
        },
        Endpoint::EndSession => Doc {
            tag: "sessions",
            summary: "End a session (host only)",
            description: "Idempotent: a repeat gives the same answer. Everyone present is marked left (kicked and banned keep their status) and the SFU room is deleted.",
            auth: Auth::User,
            query: vec![],
            body: None,
            ok: (200, "The session's end", Answer::One("EndResponse"), json!({"message": "Live session ended successfully", "session_id": SESSION_ID, "duration_seconds": 1234, "ended_at": "2026-11-25T19:20:34.000000Z"})),
            paged_by_header: false,
            errors: vec![bad("session_id", "must be a UUID"), unauthorized(), forbidden("only the host can end this session"), not_found(), busy()],
        },
        Endpoint::ListActive => Doc {
            tag: "sessions",
            summary: "Live sessions, newest first",
            description: "Ordered by `started_at`, newest first. The next page's cursor is in the `X-Next-Cursor` header (absent on the last page).",
            auth: Auth::None,
            query: vec![limit(20, 100), cursor("cursor", "The `X-Next-Cursor` of the previous page.")],
            body: None,
            ok: (200, "One page of live sessions", Answer::List("SessionView"), json!([session_example()])),
            paged_by_header: true,
            errors: vec![bad("limit", "must be an integer between 1 and 100"), bad("cursor", "is not a cursor of this list")],
        },
        Endpoint::GetSession => Doc {
            tag: "sessions",
            summary: "Session detail",
            description: "Live or ended: settings, counters (`viewer_count`, `peak_viewers`, `guest_count`), `status`, `ended_at`, `duration_seconds` and reaction totals.",
            auth: Auth::None,
            query: vec![],
            body: None,
            ok: (200, "The session", Answer::One("SessionView"), {
                let mut v = session_example();
                v["reactions"] = json!({"heart": 120, "fire": 30, "clap": 12, "wow": 4, "sad": 0});
                v
            }),
            paged_by_header: false,
            errors: vec![bad("session_id", "must be a UUID"), not_found()],
        },
        Endpoint::ListParticipants => Doc {
            tag: "sessions",
            summary: "Present participants",
            description: "Any signed-in user may read it except those kicked or banned from the session. Pages follow user-id order; the next page's cursor is in `X-Next-Cursor`.",
            auth: Auth::User,
            query: vec![limit(100, 500), cursor("cursor", "The `X-Next-Cursor` of the previous page.")],
            body: None,
            ok: (200, "One page of present participants", Answer::List("Participant"), json!([participant_example("alice", "host"), participant_example("bob", "viewer")])),
            paged_by_header: true,
            errors: vec![bad("limit", "must be an integer between 1 and 500"), unauthorized(), forbidden("you were removed from this session"), not_found()],
        },
        Endpoint::SendMessage => Doc {
            tag: "chat",
            summary: "Send a chat message",
            description: "Present participants of a live session with chat enabled. Text is NFC-normalised, 1..500 characters, without control or bidi-override characters or the session's blocked words; `message_type` is `text` or `sticker` (`system` and `gift` are the server's). Slow mode answers 429 with `Retry-After` (hosts and cohosts exempt). Pushed as `chat.message`.",
            auth: Auth::User,
            query: vec![],
            body: Some(("SendMessage", json!({"session_id": SESSION_ID, "message": "Hello everyone!", "message_type": "text"}))),
            ok: (201, "The stored message", Answer::One("ChatMessage"), message_example()),
            paged_by_header: false,
            errors: vec![bad("message", "must be at most 500 characters (got 501)"), unauthorized(), forbidden("chat is disabled in this session"), not_found(), ApiError::TooManyRequests { retry_after_seconds: 7, detail: "slow mode: wait before sending another message".into() }, busy()],
        },
        Endpoint::ListMessages => Doc {
            tag: "chat",
            summary: "Chat history, newest first",
            description: "`before` takes the previous page's `next_cursor` (no message skipped or repeated, even with equal timestamps) or an RFC 3339 timestamp (strictly older messages).",
            auth: Auth::User,
            query: vec![limit(50, 100), cursor("before", "`next_cursor` of the previous page, or an RFC 3339 timestamp.")],
            body: None,
            ok: (200, "One page of messages", Answer::One("MessagePage"), json!({"messages": [message_example()], "next_cursor": null})),
            paged_by_header: false,
            errors: vec![bad("before", "must be a cursor or an RFC 3339 timestamp"), unauthorized(), forbidden("you were removed from this session"), not_found()],
        },
        Endpoint::React => Doc {
            tag: "reactions",
            summary: "Send a reaction",
            description: "`heart`, `fire`, `clap`, `wow`, `sad` (`like` is accepted as `heart`). At most 25 per user per second (429). Totals are exact and pushed as coalesced `reactions` events.",
            auth: Auth::User,
            query: vec![],
            body: Some(("React", json!({"session_id": SESSION_ID, "reaction_type": "heart"}))),
            ok: (200, "The reaction was counted", Answer::One("Reacted"), json!({"session_id": SESSION_ID, "reaction_type": "heart"})),
            paged_by_header: false,
            errors: vec![bad("reaction_type", "unknown variant `smile`, expected one of `heart`, `fire`, `clap`, `wow`, `sad`"), unauthorized(), forbidden("join the session first (POST /live/join)"), not_found(), ApiError::TooManyRequests { retry_after_seconds: 1, detail: "too many reactions; slow down".into() }, busy()],
        },
        Endpoint::RequestGuest => Doc {
            tag: "stage",
            summary: "Ask to go on stage",
            description: "A present viewer of a live session that allows guests. One pending request or invitation per user (409 `request-pending`). Approved at once when `require_approval` is false and a slot is free. Pushed as `guest_request.created` to hosts, cohosts and the requester.",
            auth: Auth::User,
            query: vec![],
            body: Some(("RequestGuest", json!({"session_id": SESSION_ID, "request_type": "guest", "message": "Can I join to discuss this topic?"}))),
            ok: (201, "The request", Answer::One("GuestRequest"), request_example("pending", "request")),
            paged_by_header: false,
            errors: vec![bad("message", "must be at most 200 characters (got 201)"), unauthorized(), forbidden("this session does not take guests"), not_found(), conflict("request-pending", "a request or invitation is already pending"), upstream(), busy()],
        },
        Endpoint::CancelGuestRequest => Doc {
            tag: "stage",
            summary: "Withdraw one's own pending request",
            description: "The requester only; the user may ask again afterwards.",
            auth: Auth::User,
            query: vec![],
            body: Some(("RequestRef", json!({"request_id": REQUEST_ID}))),
            ok: (200, "The request, cancelled", Answer::One("GuestRequest"), request_example("cancelled", "request")),
            paged_by_header: false,
            errors: vec![bad("request_id", "must be a UUID"), unauthorized(), forbidden("only the requester can cancel a request"), ApiError::NotFound(format!("no guest request {REQUEST_ID}")), conflict("already-answered", "this request is no longer pending"), busy()],
        },
        Endpoint::RespondGuestRequest => Doc {
            tag: "stage",
            summary: "Approve or reject a pending request (host, cohost)",
            description: "Approval is one transaction: the request becomes approved, the viewer goes on stage with the session's guest audio/video defaults, and the guest count grows on the condition that it stays within `max_guests` (full: 409 `stage-full`, the request stays pending). The new permissions are applied to the live SFU connection; if the SFU cannot take them, the approval is rolled back and the answer is 502. Only the host approves cohost requests.",
            auth: Auth::User,
            query: vec![],
            body: Some(("RespondGuestRequest", json!({"request_id": REQUEST_ID, "action": "approved"}))),
            ok: (200, "The request, answered", Answer::One("GuestRequest"), request_example("approved", "request")),
            paged_by_header: false,
            errors: vec![bad("action", "unknown variant `maybe`, expected `approved` or `rejected`"), unauthorized(), forbidden("only the host and cohosts can do this"), ApiError::NotFound(format!("no guest request {REQUEST_ID}")), conflict("stage-full", "every guest slot is taken"), upstream(), busy()],
        },
        Endpoint::ListGuestRequests => Doc {
            tag: "stage",
            summary: "Requests and invitations of a session, newest first (host, cohost)",
            description: "Optionally of one `status`. `before` takes the previous page's `next_cursor`.",
            auth: Auth::User,
            query: vec![
                ("status", "Only requests in this status.", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["pending", "approved", "rejected", "cancelled"])).build().into()),
                limit(50, 100),
                cursor("before", "`next_cursor` of the previous page."),
            ],
            body: None,
            ok: (200, "One page of requests", Answer::One("RequestPage"), json!({"requests": [request_example("pending", "request")], "next_cursor": null})),
            paged_by_header: false,
            errors: vec![bad("status", "must be pending, approved, rejected or cancelled"), unauthorized(), forbidden("only the host and cohosts can do this"), not_found()],
        },
        Endpoint::InviteGuest => Doc {
            tag: "stage",
            summary: "Invite a present viewer on stage (host, cohost)",
            description: "Two-way consent: the viewer answers with `POST /live/respond-invite`. Only the host invites cohosts.",
            auth: Auth::User,
            query: vec![],
            body: Some(("InviteGuest", json!({"session_id": SESSION_ID, "user_id": "bob", "request_type": "guest", "message": "Come on stage!"}))),
            ok: (201, "The invitation", Answer::One("GuestRequest"), request_example("pending", "invitation")),
            paged_by_header: false,
            errors: vec![bad("session_id", "must be a UUID"), unauthorized(), forbidden("only the host and cohosts can do this"), ApiError::NotFound("that user is not present in this session".into()), conflict("request-pending", "a request or invitation is already pending"), busy()],
        },
        Endpoint::RespondInvite => Doc {
            tag: "stage",
            summary: "Accept or decline an invitation (the invited user)",
            description: "Acceptance runs the same transaction as an approval (409 `stage-full` when no slot is free; 502 when the SFU cannot take the permissions). A declined invitation is `rejected`.",
            auth: Auth::User,
            query: vec![],
            body: Some(("RespondInvite", json!({"request_id": REQUEST_ID, "action": "accepted"}))),
            ok: (200, "The invitation, answered", Answer::One("GuestRequest"), request_example("approved", "invitation")),
            paged_by_header: false,
            errors: vec![bad("action", "unknown variant `ok`, expected `accepted` or `declined`"), unauthorized(), forbidden("only the invited user can answer an invitation"), ApiError::NotFound(format!("no guest request {REQUEST_ID}")), conflict("already-answered", "this invitation is no longer pending"), upstream(), busy()],
        },
        Endpoint::ManageParticipant => Doc {
            tag: "stage",
            summary: "A host control (host, cohost)",
            description: "Actions: `mute_audio`, `unmute_audio`, `mute_video`, `unmute_video`, `allow_screen_share`, `disallow_screen_share`, `kick`, `ban`, `promote_cohost`, `demote`. Nobody acts on the host or on themselves; cohosts act on guests and viewers only; only the host promotes. Each control is enforced at the SFU (permissions, track mute, removal); when the SFU cannot apply it, a reversible change is rolled back and the answer is 502 (a kick or ban stands: repeat it to retry the removal).",
            auth: Auth::User,
            query: vec![],
            body: Some(("ManageParticipant", json!({"session_id": SESSION_ID, "user_id": "bob", "action": "mute_audio"}))),
            ok: (200, "The participant after the control", Answer::One("Managed"), json!({"session_id": SESSION_ID, "action": "mute_audio", "participant": participant_example("bob", "guest")})),
            paged_by_header: false,
            errors: vec![bad("action", "unknown variant `silence`"), unauthorized(), forbidden("a cohost cannot kick a cohost"), ApiError::NotFound("that user is not a participant of this session".into()), conflict("not-present", "that user is not present in this session"), upstream(), busy()],
        },
        Endpoint::AuditTrail => Doc {
            tag: "stage",
            summary: "The audit trail of host actions, newest first (host only)",
            description: "Who did what to whom, when: every host control, approval, rejection and invitation.",
            auth: Auth::User,
            query: vec![limit(50, 100), cursor("before", "`next_cursor` of the previous page.")],
            body: None,
            ok: (200, "One page of audit entries", Answer::One("AuditPage"), json!({"entries": [{"id": "0193b1f2-5000-7000-8000-000000000002", "session_id": SESSION_ID, "actor_id": "alice", "action": "mute_audio", "target_id": "bob", "at": "2026-11-25T19:10:00.000000Z", "details": {"role_before": "guest", "role_after": "guest"}}], "next_cursor": null})),
            paged_by_header: false,
            errors: vec![bad("limit", "must be an integer between 1 and 100"), unauthorized(), forbidden("only the host can read the audit trail"), not_found()],
        },
        Endpoint::LiveKitWebhook => Doc {
            tag: "sfu",
            summary: "LiveKit webhooks",
            description: "Point LiveKit's `webhook.urls` here. The `Authorization` JWT (signed with the API secret, issued by the API key) must carry the SHA-256 of the exact body. Each event id is applied once: a replay answers 200 with `duplicate: true` and changes nothing. `participant_joined`/`participant_left` keep `connected` true, `track_published`/`track_unpublished` the published flags, `room_finished` ends a session still live.",
            auth: Auth::LiveKit,
            query: vec![],
            body: Some(("WebhookEvent", json!({"event": "participant_joined", "room": {"name": "live_5b0c2f9e8d1a4c3b9f7e2a6d4e8b1c30"}, "participant": {"identity": "bob"}, "id": "EV_3kT9pZ", "createdAt": "1795633200"}))),
            ok: (200, "Received (applied, or a duplicate)", Answer::One("Received"), json!({"id": "EV_3kT9pZ", "event": "participant_joined", "duplicate": false})),
            paged_by_header: false,
            errors: vec![ApiError::MalformedBody("not a LiveKit webhook event".into()), ApiError::Unauthorized("webhook signature rejected: invalid signature".into()), busy()],
        },
        Endpoint::Fallback | Endpoint::WsConnect | Endpoint::WsDisconnect | Endpoint::WsDefault => return None,
    };
    Some(d)
}

/// LiveKit's webhook body as we read it (the full shape is LiveKit's `WebhookEvent`).
fn webhook_event_schema() -> Schema {
    let text = |d: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(d))
            .build()
    };
    let object = |d: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(d))
            .build()
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("A LiveKit webhook event (protobuf JSON). Fields not listed are accepted and ignored."))
        .property("id", text("Unique event id (deduplication)."))
        .required("id")
        .property("event", text("`participant_joined`, `participant_left`, `track_published`, `track_unpublished`, `room_finished`, … (others are accepted and ignored)."))
        .required("event")
        .property("room", object("The room (`name`: `live_<session id without dashes>`)."))
        .property("participant", object("The participant (`identity`: our user id)."))
        .property("track", object("The track (`source`: `MICROPHONE`, `CAMERA`, `SCREEN_SHARE`, …)."))
        .property("createdAt", text("Unix seconds, as a string (int64 in protobuf JSON)."))
        .build()
        .into()
}

fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn problem_response(errors: &[ApiError], status: u16) -> utoipa::openapi::Response {
    let same: Vec<&ApiError> = errors.iter().filter(|e| e.status().as_u16() == status).collect();
    let mut content = ContentBuilder::new().schema(Some(schema_ref("Problem")));
    if same.len() == 1 {
        content = content.example(Some(same[0].problem_json()));
    } else {
        content = content.examples_from_iter(same.iter().enumerate().map(|(i, e)| {
            (
                format!("example{}", i + 1),
                utoipa::openapi::example::ExampleBuilder::new()
                    .value(Some(e.problem_json()))
                    .build(),
            )
        }));
    }
    let title = same[0].problem_json()["title"].as_str().unwrap_or_default().to_string();
    let mut r = ResponseBuilder::new()
        .description(title)
        .content("application/problem+json", content.build());
    let header = |d: &str| {
        HeaderBuilder::new()
            .schema(string_schema())
            .description(Some(d))
            .build()
    };
    match status {
        401 => r = r.header("WWW-Authenticate", header("`Bearer`")),
        429 | 503 => r = r.header("Retry-After", header("Seconds to wait before retrying.")),
        _ => {}
    }
    r.build()
}

fn operation(e: Endpoint, path: &str, d: Doc) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new()
        .operation_id(Some(format!("{e:?}")))
        .tag(d.tag)
        .summary(Some(d.summary))
        .description(Some(d.description));
    match d.auth {
        Auth::User => op = op.security(SecurityRequirement::new("bearerAuth", Vec::<String>::new())),
        Auth::LiveKit => op = op.security(SecurityRequirement::new("livekitWebhook", Vec::<String>::new())),
        Auth::None => {}
    }
    if path.contains("{session_id}") {
        op = op.parameter(
            ParameterBuilder::new()
                .name("session_id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("The session."))
                .schema(Some(uuid_schema()))
                .example(Some(json!(SESSION_ID))),
        );
    }
    for (name, description, schema) in d.query {
        op = op.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema)),
        );
    }
    if let Some((schema, example)) = d.body {
        let media = if d.auth == Auth::LiveKit {
            "application/webhook+json"
        } else {
            "application/json"
        };
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    media,
                    ContentBuilder::new()
                        .schema(Some(schema_ref(schema)))
                        .example(Some(example))
                        .build(),
                )
                .build(),
        ));
    }
    let (status, description, answer, example) = d.ok;
    let schema: RefOr<Schema> = match answer {
        Answer::One(name) => schema_ref(name),
        Answer::List(name) => ArrayBuilder::new().items(schema_ref(name)).build().into(),
    };
    let mut ok = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(schema))
            .example(Some(example))
            .build(),
    );
    if d.paged_by_header {
        ok = ok.header(
            NEXT_CURSOR_HEADER,
            HeaderBuilder::new()
                .schema(string_schema())
                .description(Some("Cursor of the next page; absent on the last page."))
                .build(),
        );
    }
    op = op.response(status.to_string(), ok.build());
    let mut statuses: Vec<u16> = d.errors.iter().map(|e| e.status().as_u16()).collect();
    statuses.sort();
    statuses.dedup();
    for s in statuses {
        op = op.response(s.to_string(), problem_response(&d.errors, s));
    }
    op.build()
}

/// Collects a type's schema and every schema it refers to.
fn with_deps<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
    out.push((T::name().to_string(), T::schema()));
    T::schemas(out);
}

/// The whole document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut items: Vec<(String, PathItem)> = Vec::new();
    for e in Endpoint::ALL {
        let Route::Http { method, path } = e.route() else {
            continue;
        };
        let Some(d) = doc(e) else { continue };
        let method = match method {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            other => panic!("undocumented method {other}"),
        };
        let op = operation(e, path, d);
        match items.iter_mut().find(|(p, _)| p == path) {
            Some((_, item)) => item.merge_operations(PathItem::new(method, op)),
            None => items.push((path.to_string(), PathItem::new(method, op))),
        }
    }
    for (path, item) in items {
        paths = paths.path(path, item);
    }

    let mut schemas = Vec::new();
    with_deps::<sessions::StartRequest>(&mut schemas);
    with_deps::<sessions::StartResponse>(&mut schemas);
    with_deps::<sessions::SessionRef>(&mut schemas);
    with_deps::<sessions::JoinResponse>(&mut schemas);
    with_deps::<sessions::LeaveResponse>(&mut schemas);
    with_deps::<sessions::EndResponse>(&mut schemas);
    with_deps::<sessions::SessionView>(&mut schemas);
    with_deps::<domain::Participant>(&mut schemas);
    with_deps::<chat::SendMessage>(&mut schemas);
    with_deps::<chat::MessagePage>(&mut schemas);
    with_deps::<domain::ChatMessage>(&mut schemas);
    with_deps::<reactions::React>(&mut schemas);
    with_deps::<reactions::Reacted>(&mut schemas);
    with_deps::<stage::RequestGuest>(&mut schemas);
    with_deps::<stage::RequestRef>(&mut schemas);
    with_deps::<stage::RespondGuestRequest>(&mut schemas);
    with_deps::<stage::InviteGuest>(&mut schemas);
    with_deps::<stage::RespondInvite>(&mut schemas);
    with_deps::<stage::ManageParticipant>(&mut schemas);
    with_deps::<stage::RequestPage>(&mut schemas);
    with_deps::<stage::AuditPage>(&mut schemas);
    with_deps::<stage::Managed>(&mut schemas);
    with_deps::<domain::GuestRequest>(&mut schemas);
    with_deps::<webhook::Received>(&mut schemas);
    with_deps::<Problem>(&mut schemas);
    schemas.push(("WebhookEvent".into(), webhook_event_schema().into()));
    schemas.sort_by(|a, b| a.0.cmp(&b.0));
    schemas.dedup_by(|a, b| a.0 == b.0);

    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user JWT (HS256, or RS256/ES256 from a JWKS); `sub` is the user id.",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            "livekitWebhook",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "LiveKit's signed JWT (our API key and secret) with the SHA-256 of the body.",
            ))),
        )
        .build();
    let tags = [
        ("sessions", "Going live, joining, leaving, ending, listing"),
        ("chat", "Chat messages"),
        ("reactions", "Reactions"),
        ("stage", "Guest requests, invitations and host controls"),
        ("sfu", "What the SFU (LiveKit) reports"),
    ]
    .map(|(name, description)| TagBuilder::new().name(name).description(Some(description)).build());
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("TrendKe Live API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The HTTP API of TrendKe Live, the serverless backend for multi-guest live streaming. Errors are RFC 9457 `application/problem+json` documents. Realtime events (WebSocket API) are documented in docs/events.md.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .tags(Some(tags))
        .build()
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().expect("the document serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/openapi.json` is what the code generates (`UPDATE_OPENAPI=1` rewrites it).
    #[test]
    fn openapi_document_is_committed_and_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        let generated = document_json();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p shared openapi` and commit it"
        );
    }

    #[test]
    fn every_http_endpoint_is_documented_with_its_errors() {
        let doc: Value = serde_json::from_str(&document_json()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for e in Endpoint::ALL {
            let Route::Http { method, path } = e.route() else {
                continue;
            };
            if e == Endpoint::Fallback {
                continue;
            }
            let op = &doc["paths"][path][method.to_lowercase()];
            assert!(op.is_object(), "{method} {path} missing");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{path}: no success");
            assert!(responses.keys().any(|s| s.starts_with('4')), "{path}: no error");
            for (status, r) in responses {
                let media = if status.starts_with('2') {
                    "application/json"
                } else {
                    "application/problem+json"
                };
                let content = &r["content"][media];
                assert!(
                    content["example"].is_object() || content["example"].is_array() || content["examples"].is_object(),
                    "{path} {status}: no example"
                );
            }
        }
    }
}
