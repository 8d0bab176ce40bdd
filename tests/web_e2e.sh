#!/usr/bin/env bash
# The web client's browser test (web/e2e/): starts `make dev` whole on free ports with a real
# livekit-server, then drives the multi-guest flow in Debian's Chromium with fake media devices.
# Screenshots are kept in web/test-results/ (ARTIFACTS).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/infra/scripts/web.sh" browser
source "$root/infra/scripts/common.sh"
source "$root/tests/dev_stack.sh"
dev_stack_up web_e2e
local_defaults
export BASE_URL="http://127.0.0.1:$GATEWAY_HTTP_PORT"
export ARTIFACTS=${ARTIFACTS:-$root/web/test-results}
# The browser test credits its viewer's wallet as the embedding app's backend would.
SERVICE_TOKEN=$("$target_dir/debug/dev-token" --service web-e2e)
export SERVICE_TOKEN
if ! bash "$root/infra/scripts/web.sh" e2e; then
  echo "web_e2e: failed; the stack's logs:" >&2
  tail -n 40 "$DEV_LOG_DIR"/*.log >&2
  exit 1
fi
echo "web_e2e: the multi-guest flow passed in Chromium (screenshots in $ARTIFACTS)"
