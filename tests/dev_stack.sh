# Sourced by the tests that run `make dev` whole (dev_smoke.sh, schemathesis.sh): `dev_stack_up`
# starts it on free ports (the SFU's too unless DEV_SFU=off), with its logs in DEV_LOG_DIR, waits
# for its banner (`$dev_out` holds what it printed), and stops it all when the script exits.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

dev_stack_up() {
  local who=$1 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  export DYNAMODB_PORT=$(free_port) GATEWAY_HTTP_PORT=$(free_port) GATEWAY_WS_PORT=$(free_port)
  export LIVEKIT_PORT=$(free_port) LIVEKIT_RTC_TCP_PORT=$(free_port) LIVEKIT_UDP_PORT=$(free_port)
  export DEV_LOG_DIR=$(mktemp -d)
  dev_out=$DEV_LOG_DIR/dev.out
  setsid bash "$root/infra/scripts/dev.sh" >"$dev_out" 2>&1 &
  dev_pid=$!
  trap 'kill -- -$dev_pid 2>/dev/null || true; wait $dev_pid 2>/dev/null || true' EXIT
  local deadline=$((SECONDS + 300))
  until grep -qs "Ctrl-C stops everything" "$dev_out"; do
    if ! kill -0 "$dev_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      cat "$dev_out" "$DEV_LOG_DIR"/*.log >&2
      echo "$who: make dev did not come up" >&2
      exit 1
    fi
    sleep 0.2
  done
}
