#!/usr/bin/env bash
# The browser client (web/). Idempotent, everything from the npm registry and Debian:
#   web.sh install   npm ci into web/node_modules when package-lock.json changed since the last one
#   web.sh build     install, then type-check and bundle into web/dist (the local gateway serves it)
#   web.sh check     install, then the TypeScript (strict) and ESLint checks and the unit tests (Vitest)
#   web.sh browser   Debian's chromium and an emoji font for the browser tests (apt), when missing
#   web.sh e2e       the browser tests against a running `make dev` (BASE_URL), in Chromium
set -euo pipefail
source "$(dirname "$0")/common.sh"
web="$root/web"

install() {
  command -v npm >/dev/null || { echo "web.sh: npm is not installed (Node.js 20.19+ from Debian or nodejs.org)" >&2; exit 3; }
  local want stamp="$web/node_modules/.package-lock.sha256"
  want=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "web.sh: npm ci (web/)" >&2
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$want" > "$stamp"
  fi
}

build() {
  install
  (cd "$web" && npm run --silent build >&2)
}

check() {
  install
  (cd "$web" && npm run --silent typecheck && npm run --silent lint && npm run --silent test)
}

browser() {
  if [ -x /usr/bin/chromium ] && [ -d /usr/share/fonts/truetype/noto ]; then return; fi
  echo "web.sh: installing Debian's chromium and fonts-noto-color-emoji (apt)" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-noto-color-emoji >&2
}

e2e() {
  install
  browser
  (cd "$web" && CHROMIUM=${CHROMIUM:-/usr/bin/chromium} npm run --silent e2e)
}

case "${1:-}" in
  install|build|check|browser|e2e) "$1" ;;
  *) echo "usage: web.sh install|build|check|browser|e2e" >&2; exit 2 ;;
esac
