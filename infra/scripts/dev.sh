#!/usr/bin/env bash
# `make dev`: the whole system on this machine. Installs what is missing (Python tools into .venv,
# livekit-server into the cache when Go can build it, the web client's npm packages), builds the
# web client, then starts the DynamoDB emulator, the SFU and the local gateway (which serves the
# client at /), prints the URLs, a dev token and a curl line, and runs until Ctrl-C.
# Honours the same variables as the deployed functions (README, "Configuration").
set -euo pipefail
source "$(dirname "$0")/common.sh"
local_defaults
cd "$root"
logs=${DEV_LOG_DIR:-$root/.local/logs}
mkdir -p "$logs"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

bash infra/scripts/python-tools.sh
echo "dev: building the gateway" >&2
cargo build --quiet -p local-gateway --bins
web="not built (see above)"
if [ "${DEV_WEB:-on}" = "on" ]; then
  echo "dev: building the web client (web/)" >&2
  if bash infra/scripts/web.sh build; then web="built"; else echo "dev: the web client did not build; serving the API only" >&2; fi
else
  web="disabled (DEV_WEB=$DEV_WEB)"
fi
export WEB_ROOT=${WEB_ROOT:-$root/web/dist}

if [ "$AWS_ENDPOINT_URL_DYNAMODB" = "http://127.0.0.1:$DYNAMODB_PORT" ]; then
  .venv/bin/python infra/scripts/emulator --host 127.0.0.1 --port "$DYNAMODB_PORT" >"$logs/dynamodb.log" 2>&1 &
  pids+=($!)
  wait_http "$AWS_ENDPOINT_URL_DYNAMODB/moto-api/" 60 || { echo "dev: DynamoDB emulator did not start (see $logs/dynamodb.log)" >&2; exit 1; }
  # The dev secrets as SSM SecureString parameters too, in the same emulator, for
  # `sam local invoke --env-vars events/env.json` (README, "Deployment").
  .venv/bin/python - <<'PY'
import os, boto3
ssm = boto3.client("ssm", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"], region_name=os.environ["AWS_REGION"])
for name, var in (("/trendke-live/dev/jwt-secret", "JWT_SECRET"), ("/trendke-live/dev/livekit-api-secret", "LIVEKIT_API_SECRET")):
    if os.environ.get(var):
        ssm.put_parameter(Name=name, Value=os.environ[var], Type="SecureString", Overwrite=True)
PY
fi

sfu="not running"
if [ "${DEV_SFU:-on}" = "on" ] && [ "$LIVEKIT_URL" = "ws://127.0.0.1:$LIVEKIT_PORT" ]; then
  if bash infra/scripts/livekit.sh install >/dev/null; then
    bash infra/scripts/livekit.sh run >"$logs/livekit.log" 2>&1 &
    pids+=($!)
    if wait_http "http://127.0.0.1:$LIVEKIT_PORT/" 60; then sfu="$LIVEKIT_URL (livekit-server --dev; webhooks to http://127.0.0.1:$GATEWAY_HTTP_PORT/livekit/webhook)"; fi
  fi
  [ "$sfu" != "not running" ] || echo "dev: livekit-server could not be had; running without an SFU (tokens are still minted; room calls are logged and skipped)" >&2
elif [ "${DEV_SFU:-on}" != "on" ]; then
  sfu="disabled (DEV_SFU=$DEV_SFU)"
else
  sfu="$LIVEKIT_URL (external)"
fi

"$target_dir/debug/local-gateway" >"$logs/gateway.log" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$GATEWAY_HTTP_PORT"
wait_http "$base/live/active" 60 || { echo "dev: gateway did not start (see $logs/gateway.log)" >&2; exit 1; }

token=$("$target_dir/debug/dev-token" alice)
# Dev wallets: coins for a few users to send gifts and tips with (credited once: the reference
# makes a repeat a no-op), as the embedding app's backend would after a purchase.
service=$("$target_dir/debug/dev-token" --service billing)
for user in alice bob carol dan; do
  curl -s -o /dev/null -X POST "$base/live/wallet/credit" -H "Authorization: Bearer $service" \
    -H "Idempotency-Key: dev-seed-$user" -H "Content-Type: application/json" \
    -d "{\"user_id\": \"$user\", \"coins\": 5000, \"reference\": \"dev-seed-$user\"}"
done
cat <<INFO

TrendKe Live is running locally.
  Web client      $base/  ($web; sign in with any name, open a second window to be a viewer)
  HTTP API        $base
  WebSocket API   ws://127.0.0.1:$GATEWAY_WS_PORT/?token=<JWT>&session_id=<id>  (management: $WEBSOCKET_API_ENDPOINT/@connections)
  DynamoDB        $AWS_ENDPOINT_URL_DYNAMODB (table $TABLE_NAME)
  SQS             $AWS_ENDPOINT_URL_SQS (the fan-out's queues)
  SFU             $sfu
  Logs            $logs

A dev token for user "alice" (more: make token USER=bob):
  $token

Try:
  curl -s -X POST $base/live/start -H "Authorization: Bearer $token" -H "Content-Type: application/json" -d '{"title": "Test Live", "session_type": "camera"}'
  curl -s $base/live/active

Wallets: alice, bob, carol and dan hold 5,000 dev coins each. Credit more with a server token
(make token SERVICE=billing); a new reference (and key) for each credit:
  curl -s -X POST $base/live/wallet/credit -H "Authorization: Bearer $service" -H "Idempotency-Key: topup-1" -H "Content-Type: application/json" -d '{"user_id": "bob", "coins": 1000, "reference": "topup-1"}'

Ctrl-C stops everything.

open $base/
INFO
wait -n "${pids[@]}"
echo "dev: a component exited; stopping (logs in $logs)" >&2
