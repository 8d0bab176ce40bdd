#!/usr/bin/env bash
# Smoke test of `make dev`: starts it on free ports (no SFU, to stay fast), waits for its banner,
# runs the curl line it prints, and checks the session it starts is listed. Stops it afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export DEV_SFU=off
source "$root/tests/dev_stack.sh"
dev_stack_up dev_smoke
start_line=$(grep -m1 "curl -s -X POST" "$dev_out")
started=$(eval "$start_line")
json_ids() { python3 -c 'import json,sys; d=json.load(sys.stdin); print("\n".join(x["id"] for x in (d if isinstance(d, list) else [d])))'; }
id=$(echo "$started" | json_ids) || { echo "dev_smoke: start failed: $started" >&2; exit 1; }
listed=$(curl -s "http://127.0.0.1:$GATEWAY_HTTP_PORT/live/active" | json_ids)
[ "$listed" = "$id" ] || { echo "dev_smoke: session $id not listed: $listed" >&2; exit 1; }
echo "dev_smoke: make dev served the API; the printed curl line started session $id"
