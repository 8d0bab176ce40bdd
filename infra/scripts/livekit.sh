#!/usr/bin/env bash
# livekit.sh install: installs livekit-server (Go module, built with `go install` from the module
#   proxy) into the cache dir, once; prints its path. Fails (exit 3) when it cannot be had.
# livekit.sh run: runs it in --dev mode on loopback with the ports in LIVEKIT_PORT (signal),
#   LIVEKIT_RTC_TCP_PORT and LIVEKIT_UDP_PORT, contacting nothing off this machine, and posting
#   its webhooks to the local gateway (LIVEKIT_WEBHOOK_URL, default its /livekit/webhook).
set -euo pipefail
source "$(dirname "$0")/common.sh"
version=v1.13.5
bin=${LIVEKIT_SERVER_BIN:-$cache_dir/bin/livekit-server-$version}

install() {
  if [ -x "$bin" ]; then echo "$bin"; return; fi
  if ! command -v go >/dev/null; then echo "livekit.sh: no Go toolchain; cannot build livekit-server" >&2; exit 3; fi
  echo "livekit.sh: building livekit-server $version with go install (first time only, a few minutes)" >&2
  local gobin
  gobin=$(mktemp -d)
  if ! GOBIN=$gobin go install "github.com/livekit/livekit-server/cmd/server@$version" >&2; then
    rm -rf "$gobin"; echo "livekit.sh: go install failed" >&2; exit 3
  fi
  mkdir -p "$(dirname "$bin")"
  mv "$gobin/server" "$bin"
  rm -rf "$gobin"
  echo "$bin"
}

run() {
  local port=${LIVEKIT_PORT:-7880} tcp=${LIVEKIT_RTC_TCP_PORT:-7881} udp=${LIVEKIT_UDP_PORT:-7882}
  local hook=${LIVEKIT_WEBHOOK_URL:-http://127.0.0.1:${GATEWAY_HTTP_PORT:-3000}/livekit/webhook}
  local config
  config=$(mktemp)
  # No external IP discovery and no STUN/TURN: the server must contact nothing off this machine.
  cat > "$config" <<YAML
port: $port
rtc:
  tcp_port: $tcp
  udp_port: $udp
  use_external_ip: false
  stun_servers: []
keys:
  ${LIVEKIT_API_KEY:-devkey}: ${LIVEKIT_API_SECRET:-secret}
webhook:
  api_key: ${LIVEKIT_API_KEY:-devkey}
  urls:
    - $hook
YAML
  exec "$(install)" --dev --bind 127.0.0.1 --node-ip 127.0.0.1 --config "$config"
}

case "${1:-}" in
  install) install ;;
  run) run ;;
  *) echo "usage: livekit.sh install|run" >&2; exit 2 ;;
esac
