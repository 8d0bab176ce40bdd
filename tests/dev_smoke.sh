#!/usr/bin/env bash
# Smoke test of `make dev`: starts it on free ports (no SFU, to stay fast), waits for its banner,
# runs the curl line it prints, and checks the session it starts is listed. Stops it afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export DYNAMODB_PORT=$(free_port) GATEWAY_HTTP_PORT=$(free_port) GATEWAY_WS_PORT=$(free_port) DEV_SFU=off
export DEV_LOG_DIR=$(mktemp -d)
out=$DEV_LOG_DIR/dev.out
setsid bash "$root/infra/scripts/dev.sh" >"$out" 2>&1 &
pid=$!
trap 'kill -- -$pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
deadline=$((SECONDS + 300))
until grep -qs "Ctrl-C stops everything" "$out"; do
  if ! kill -0 $pid 2>/dev/null || [ $SECONDS -ge $deadline ]; then cat "$out" "$DEV_LOG_DIR"/*.log >&2; echo "dev_smoke: make dev did not come up" >&2; exit 1; fi
  sleep 0.2
done
start_line=$(grep -m1 "curl -s -X POST" "$out")
started=$(eval "$start_line")
json_ids() { python3 -c 'import json,sys; d=json.load(sys.stdin); print("\n".join(x["id"] for x in (d if isinstance(d, list) else [d])))'; }
id=$(echo "$started" | json_ids) || { echo "dev_smoke: start failed: $started" >&2; exit 1; }
listed=$(curl -s "http://127.0.0.1:$GATEWAY_HTTP_PORT/live/active" | json_ids)
[ "$listed" = "$id" ] || { echo "dev_smoke: session $id not listed: $listed" >&2; exit 1; }
echo "dev_smoke: make dev served the API; the printed curl line started session $id"
