"""Writes the event files in this folder: one per function, in API Gateway's real shapes (HTTP API
payload 2.0; WebSocket $connect / $default / $disconnect) and LiveKit's webhook delivery.

They describe one session (alice's) and its people; `tests/tests/events.rs` seeds that state and
replays every file through each function's bootstrap under the Lambda runtime interface emulator.
Tokens are signed with the local dev secrets (`make dev`'s JWT_SECRET and livekit-server --dev's
key) and expire in 2100: they are useless anywhere else. Run `python3 events/generate.py` after
changing a shape or a secret.
"""
import base64, hashlib, hmac, json, os
OUT = os.path.dirname(os.path.abspath(__file__))
JWT_SECRET = b"dev-secret-change-me"
LK_KEY, LK_SECRET = "devkey", b"secret"
EXP = 4102444800  # 2100-01-01: these events are for local runs with the dev secrets only
SESSION = "5b0c2f9e-8d1a-4c3b-9f7e-2a6d4e8b1c30"
ROOM = "live_" + SESSION.replace("-", "")
R_BOB = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2b"
R_FRANK = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2c"
I_HANK = "0193b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2d"
CONN = "Xk3Lq0AbIAMCJpQ="
T = 1795633200000  # 2026-11-25T19:00:00Z

def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def jwt(claims, secret):
    h = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    p = b64u(json.dumps(claims, separators=(",", ":")).encode())
    s = b64u(hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest())
    return f"{h}.{p}.{s}"
def user_token(sub): return jwt({"sub": sub, "username": sub, "exp": EXP}, JWT_SECRET)

def http(method, path, template, user=None, body=None, path_params=None, query=None):
    headers = {"accept": "application/json", "host": "abc123def4.execute-api.us-east-1.amazonaws.com",
               "user-agent": "curl/8.5.0", "x-forwarded-for": "203.0.113.10", "x-forwarded-port": "443",
               "x-forwarded-proto": "https", "x-amzn-trace-id": "Root=1-67450a30-0123456789abcdef01234567"}
    if user: headers["authorization"] = "Bearer " + user_token(user)
    if body is not None: headers["content-type"] = "application/json"
    raw_q = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    ev = {"version": "2.0", "routeKey": f"{method} {template}", "rawPath": path, "rawQueryString": raw_q,
          "headers": headers,
          "requestContext": {"accountId": "123456789012", "apiId": "abc123def4",
                             "domainName": "abc123def4.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123def4",
                             "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0"},
                             "requestId": "dGVzdC1yZXF1ZXN0LWlk", "routeKey": f"{method} {template}", "stage": "$default",
                             "time": "25/Nov/2026:19:00:00 +0000", "timeEpoch": T},
          "isBase64Encoded": False}
    if query: ev["queryStringParameters"] = query
    if path_params: ev["pathParameters"] = path_params
    if body is not None: ev["body"] = body if isinstance(body, str) else json.dumps(body)
    return ev

def ws(route, event_type, query=None, body=None):
    ctx = {"routeKey": route, "eventType": event_type, "extendedRequestId": "Xk3LrFnRIAMFxyA=",
           "requestTime": "25/Nov/2026:19:00:00 +0000", "messageDirection": "IN", "stage": "live",
           "connectedAt": T, "requestTimeEpoch": T, "identity": {"sourceIp": "203.0.113.10", "userAgent": "Mozilla/5.0"},
           "requestId": "Xk3LrFnRIAMFxyA=", "domainName": "wxyz987654.execute-api.us-east-1.amazonaws.com",
           "connectionId": CONN, "apiId": "wxyz987654"}
    ev = {"requestContext": ctx, "isBase64Encoded": False}
    if event_type == "CONNECT":
        ev["headers"] = {"Host": "wxyz987654.execute-api.us-east-1.amazonaws.com", "Sec-WebSocket-Version": "13",
                         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "User-Agent": "Mozilla/5.0"}
        ev["multiValueHeaders"] = {k: [v] for k, v in ev["headers"].items()}
        ev["queryStringParameters"] = query
        ev["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    if event_type == "DISCONNECT":
        ev["headers"] = {"Host": "wxyz987654.execute-api.us-east-1.amazonaws.com"}
        ev["multiValueHeaders"] = {k: [v] for k, v in ev["headers"].items()}
        ctx["disconnectStatusCode"] = 1000
        ctx["disconnectReason"] = "Client-side close frame status not set"
    if event_type == "MESSAGE":
        ctx["messageId"] = "Xk3MdcnQIAMCJpQ="
        ev["body"] = json.dumps(body)
    return ev

webhook_body = json.dumps({"event": "participant_joined", "room": {"sid": "RM_events", "name": ROOM},
                           "participant": {"sid": "PA_bob", "identity": "bob", "state": "ACTIVE"},
                           "id": "EV_events_participant_joined", "createdAt": str(T // 1000)}, separators=(",", ":"))
lk_auth = jwt({"iss": LK_KEY, "exp": EXP, "nbf": 0, "sub": "", "video": {},
               "sha256": base64.b64encode(hashlib.sha256(webhook_body.encode()).digest()).decode()}, LK_SECRET)
webhook = http("POST", "/livekit/webhook", "/livekit/webhook", body=webhook_body)
webhook["headers"]["content-type"] = "application/webhook+json"
webhook["headers"]["authorization"] = lk_auth

sid = {"session_id": SESSION}
events = {
    "start-session": http("POST", "/live/start", "/live/start", "carol",
                          {"title": "Carol's studio", "session_type": "studio", "max_guests": 4}),
    "join-session": http("POST", "/live/join", "/live/join", "bob", sid),
    "leave-session": http("POST", "/live/leave", "/live/leave", "dan", sid),
    "end-session": http("POST", f"/live/end/{SESSION}", "/live/end/{session_id}", "alice", None, sid),
    "list-active": http("GET", "/live/active", "/live/active", query={"limit": "20"}),
    "get-session": http("GET", f"/live/session/{SESSION}", "/live/session/{session_id}", path_params=sid),
    "list-participants": http("GET", f"/live/participants/{SESSION}", "/live/participants/{session_id}", "alice",
                              path_params=sid, query={"limit": "100"}),
    "send-message": http("POST", "/live/send-message", "/live/send-message", "bob",
                         {"session_id": SESSION, "message": "Hello everyone!", "message_type": "text"}),
    "list-messages": http("GET", f"/live/messages/{SESSION}", "/live/messages/{session_id}", "bob",
                          path_params=sid, query={"limit": "50"}),
    "react": http("POST", "/live/react", "/live/react", "bob", {"session_id": SESSION, "reaction_type": "heart"}),
    "request-guest": http("POST", "/live/request-guest", "/live/request-guest", "erin",
                          {"session_id": SESSION, "request_type": "guest", "message": "Can I join to discuss this topic?"}),
    "cancel-guest-request": http("POST", "/live/cancel-guest-request", "/live/cancel-guest-request", "frank",
                                 {"request_id": R_FRANK}),
    "respond-guest-request": http("POST", "/live/respond-guest-request", "/live/respond-guest-request", "alice",
                                  {"request_id": R_BOB, "action": "approved"}),
    "list-guest-requests": http("GET", f"/live/guest-requests/{SESSION}", "/live/guest-requests/{session_id}", "alice",
                                path_params=sid, query={"status": "pending"}),
    "invite-guest": http("POST", "/live/invite-guest", "/live/invite-guest", "alice",
                         {"session_id": SESSION, "user_id": "gina", "message": "Come on stage!"}),
    "respond-invite": http("POST", "/live/respond-invite", "/live/respond-invite", "hank",
                           {"request_id": I_HANK, "action": "declined"}),
    "manage-participant": http("POST", "/live/manage-participant", "/live/manage-participant", "alice",
                               {"session_id": SESSION, "user_id": "bob", "action": "mute_audio"}),
    "audit-trail": http("GET", f"/live/audit/{SESSION}", "/live/audit/{session_id}", "alice", path_params=sid),
    "livekit-webhook": webhook,
    "fallback": http("GET", "/live/nowhere", "/{proxy+}", path_params={"proxy": "live/nowhere"}),
    "ws-connect": ws("$connect", "CONNECT", query={"token": user_token("bob"), "session_id": SESSION}),
    "ws-default": ws("$default", "MESSAGE", body={"action": "chat", "message": "Hi from the socket"}),
    "ws-disconnect": ws("$disconnect", "DISCONNECT"),
}
for k in ("routeKey",):
    events["fallback"][k] = "ANY /{proxy+}"
events["fallback"]["requestContext"]["routeKey"] = "ANY /{proxy+}"
for name, ev in events.items():
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(ev, f, indent=2); f.write("\n")
print(len(events))
