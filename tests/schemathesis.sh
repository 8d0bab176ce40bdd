#!/usr/bin/env bash
# The API against its own document: starts `make dev` on free ports (with its livekit-server),
# signs two users' tokens, and runs Schemathesis (PyPI, infra/requirements.txt) over
# docs/openapi.json as each of them, with a fixed seed and a time budget: no 5xx, and every
# status, content type, header and body as the document says. Stops everything afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/infra/scripts/common.sh"
cd "$root"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export DYNAMODB_PORT=$(free_port) GATEWAY_HTTP_PORT=$(free_port) GATEWAY_WS_PORT=$(free_port)
export LIVEKIT_PORT=$(free_port) LIVEKIT_RTC_TCP_PORT=$(free_port) LIVEKIT_UDP_PORT=$(free_port)
# Generated requests come fast: rate limits would answer most of them 429 (documented, and
# tested in tests/tests/realtime.rs), leaving the rest of the API untested.
export RATE_LIMITS="chat=1000/1,stage=1000/1,presence=1000/1,frames=1000/1,reactions=1000/1"
local_defaults
export DEV_LOG_DIR=$(mktemp -d)
out=$DEV_LOG_DIR/dev.out
setsid bash infra/scripts/dev.sh >"$out" 2>&1 &
pid=$!
trap 'kill -- -$pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
deadline=$((SECONDS + 300))
until grep -qs "Ctrl-C stops everything" "$out"; do
  if ! kill -0 $pid 2>/dev/null || [ $SECONDS -ge $deadline ]; then cat "$out" "$DEV_LOG_DIR"/*.log >&2; echo "schemathesis: make dev did not come up" >&2; exit 1; fi
  sleep 0.2
done
base="http://127.0.0.1:$GATEWAY_HTTP_PORT"
budget=${SCHEMATHESIS_SECONDS:-70}
for user in alice bob; do
  token=$("$target_dir/debug/dev-token" "$user")
  # Something for generated requests to meet: a live session of the user's own.
  curl -s -o /dev/null -X POST "$base/live/start" -H "Authorization: Bearer $token" \
    -H "Content-Type: application/json" -d "{\"title\": \"$user's live\"}"
  echo "schemathesis: as $user, ${budget}s" >&2
  "${SCHEMATHESIS:-.venv/bin/schemathesis}" run docs/openapi.json --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --seed 20261126 --max-time "$budget" --workers 2 --no-color \
    || { echo "schemathesis: the API departs from docs/openapi.json as $user (gateway log: $DEV_LOG_DIR/gateway.log)" >&2; exit 1; }
done
