# Shared by the infra scripts: paths and the local defaults `make dev` and `make test` use.
# The variables are the ones the deployed functions read; anything already set wins.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
cache_dir=${TRENDKE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trendke-live}

local_defaults() {
  if [ -z "${JWT_JWKS_URL:-}" ]; then export JWT_SECRET=${JWT_SECRET:-dev-secret-change-me}; fi
  export TABLE_NAME=${TABLE_NAME:-trendke-live}
  export DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
  export AWS_ENDPOINT_URL_DYNAMODB=${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:$DYNAMODB_PORT}
  # The same moto server serves the fan-out's queues (SQS).
  export AWS_ENDPOINT_URL_SQS=${AWS_ENDPOINT_URL_SQS:-$AWS_ENDPOINT_URL_DYNAMODB}
  export AWS_REGION=${AWS_REGION:-us-east-1}
  export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local}
  export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
  export GATEWAY_HTTP_PORT=${GATEWAY_HTTP_PORT:-3000}
  export GATEWAY_WS_PORT=${GATEWAY_WS_PORT:-3001}
  # The functions push through the gateway's @connections API, as through API Gateway's in AWS.
  export WEBSOCKET_API_ENDPOINT=${WEBSOCKET_API_ENDPOINT:-http://127.0.0.1:$GATEWAY_WS_PORT}
  export LIVEKIT_PORT=${LIVEKIT_PORT:-7880}
  export LIVEKIT_URL=${LIVEKIT_URL:-ws://127.0.0.1:$LIVEKIT_PORT}
  export LIVEKIT_API_KEY=${LIVEKIT_API_KEY:-devkey}
  export LIVEKIT_API_SECRET=${LIVEKIT_API_SECRET:-secret}
  export TEMPLATE_PATH=${TEMPLATE_PATH:-$root/template.yaml}
}

# wait_http URL SECONDS: polls until URL answers (readiness, not a fixed sleep).
wait_http() {
  local deadline=$((SECONDS + $2))
  until curl -s -o /dev/null "$1"; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
