#!/usr/bin/env bash
# Smoke test of `make dev`: starts it on free ports (no SFU, to stay fast), waits for its banner,
# runs the curl lines it prints, checks the session it starts is listed, the dev wallets were
# seeded and the printed credit adds to one, and the web client is served. Stops it afterwards.
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
# The web client at / (the page, its assets, its configuration naming this WebSocket API).
page=$(curl -sf "http://127.0.0.1:$GATEWAY_HTTP_PORT/")
grep -q '<div id="root">' <<<"$page" || { echo "dev_smoke: / did not serve the web client: $page" >&2; exit 1; }
asset=$(grep -o '/assets/[^"]*\.js' <<<"$page" | head -1)
curl -sf -o /dev/null "http://127.0.0.1:$GATEWAY_HTTP_PORT$asset" || { echo "dev_smoke: $asset not served" >&2; exit 1; }
curl -sf "http://127.0.0.1:$GATEWAY_HTTP_PORT/config.json" | grep -q "ws://127.0.0.1:$GATEWAY_WS_PORT" \
  || { echo "dev_smoke: /config.json does not name the WebSocket API" >&2; exit 1; }
# The dev wallets: bob was seeded with 5,000 coins; the printed credit line adds 1,000 once.
credit_line=$(grep -m1 "live/wallet/credit" "$dev_out")
credited=$(eval "$credit_line")
grep -q '"credited":true' <<<"$credited" || { echo "dev_smoke: the printed credit failed: $credited" >&2; exit 1; }
bob=$("$root/infra/scripts/token.sh" bob)
balance=$(curl -s "http://127.0.0.1:$GATEWAY_HTTP_PORT/live/wallet" -H "Authorization: Bearer $bob" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance"])')
[ "$balance" = 6000 ] || { echo "dev_smoke: bob's dev wallet holds $balance, not 5,000 + 1,000" >&2; exit 1; }
grep -q "open http://127.0.0.1:$GATEWAY_HTTP_PORT/" "$dev_out" || { echo "dev_smoke: no 'open' line" >&2; exit 1; }
echo "dev_smoke: make dev served the API and the web client; the printed curl lines started session $id and credited bob"
