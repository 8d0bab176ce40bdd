#!/usr/bin/env bash
# The API against its own document: starts `make dev` on free ports (with its livekit-server),
# signs two users' tokens, and runs Schemathesis (PyPI, infra/requirements.txt) over
# docs/openapi.json as each of them, with a fixed seed and a time budget: no 5xx, and every
# status, content type, header and body as the document says. Stops everything afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/infra/scripts/common.sh"
cd "$root"
# Generated requests come fast: rate limits would answer most of them 429 (documented, and
# tested in tests/tests/realtime.rs), leaving the rest of the API untested.
export RATE_LIMITS="chat=1000/1,stage=1000/1,presence=1000/1,frames=1000/1,reactions=1000/1"
# The API alone: the web client's pages are not in the document (the smoke test checks them).
export DEV_WEB=off
source "$root/tests/dev_stack.sh"
dev_stack_up schemathesis
local_defaults
base="http://127.0.0.1:$GATEWAY_HTTP_PORT"
budget=${SCHEMATHESIS_SECONDS:-70}
# One worker: with two, hypothesis parses lambdas' source (`ast.parse`) on both threads at once,
# and CPython 3.11's parser is not safe for that (seen in CI: "SystemError: AST constructor
# recursion depth mismatch" from hypothesis's lambda_sources), which failed a run that found
# nothing wrong.
for user in alice bob; do
  token=$("$target_dir/debug/dev-token" "$user")
  # Something for generated requests to meet: a live session of the user's own.
  curl -s -o /dev/null -X POST "$base/live/start" -H "Authorization: Bearer $token" \
    -H "Content-Type: application/json" -d "{\"title\": \"$user's live\"}"
  echo "schemathesis: as $user, ${budget}s" >&2
  "${SCHEMATHESIS:-.venv/bin/schemathesis}" run docs/openapi.json --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --seed 20261126 --max-time "$budget" --workers 1 --no-color \
    || { echo "schemathesis: the API departs from docs/openapi.json as $user (gateway log: $DEV_LOG_DIR/gateway.log)" >&2; exit 1; }
done
