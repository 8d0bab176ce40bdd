#!/usr/bin/env bash
# `make test`: every check and test. Installs what the tests need (idempotently), then runs
# formatting and lint checks, the template checks and `sam build`, the web client's checks, the
# `make dev` smoke test, the web client's browser test, Schemathesis over the OpenAPI document,
# and the unit and end-to-end tests. Each step's time is printed, and a summary at the end.
#
# On 2 cores the compilers are the bottleneck: the installs that mostly wait on the network (Python
# tools, livekit-server's modules) run beside the lint build, and everything else runs in turn.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$root"

started=$SECONDS
summary=()
# step NAME COMMAND...: runs COMMAND, records how long it took.
step() {
  local name=$1 t0=$SECONDS rc=0
  shift
  "$@" || rc=$?
  summary+=("$(printf '%5ss  %s' $((SECONDS - t0)) "$name")")
  if [ "$rc" -ne 0 ]; then
    echo "make test: $name FAILED (exit $rc)" >&2
    return "$rc"
  fi
  echo "make test: $name done in $((SECONDS - t0))s" >&2
}
finish() {
  local rc=$?
  echo "make test: steps (seconds):" >&2
  printf '  %s\n' "${summary[@]}" >&2
  echo "make test: $((SECONDS - started))s in all (exit $rc)" >&2
}
trap finish EXIT

installs() {
  bash infra/scripts/python-tools.sh
  bash infra/scripts/livekit.sh install >/dev/null
  bash infra/scripts/web.sh install
  bash infra/scripts/web.sh browser
}
logs=$(mktemp -d)
installs >"$logs/installs.log" 2>&1 &
installing=$!
installed() { wait "$installing" || { cat "$logs/installs.log" >&2; return 1; }; }
step "cargo fmt --check" cargo fmt --all --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets --quiet -- -D warnings
step "installs (Python tools, livekit-server, npm packages, chromium)" installed
step "template lint" bash infra/scripts/sam.sh lint
step "OpenAPI validation" .venv/bin/openapi-spec-validator docs/openapi.json
step "web client checks (TypeScript strict, ESLint, Vitest)" bash infra/scripts/web.sh check
step "sam build (arm64)" bash infra/scripts/sam.sh build
step "make dev smoke test" bash tests/dev_smoke.sh
step "web client in Chromium (make dev with the SFU)" bash tests/web_e2e.sh
step "Schemathesis against docs/openapi.json" bash tests/schemathesis.sh
# The Lambda artifact the event replay test (tests/tests/events.rs) runs under aws-lambda-rie.
step "the Lambda artifact (debug)" cargo build --quiet -p functions --bins
log="$logs/test.log"
step "cargo test --workspace" bash -c "set -o pipefail; cargo test --workspace 2>&1 | tee '$log'"
# One closing line for the whole run (cargo prints one per test target, the last often a doc-test
# target with nothing in it).
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"
rm -rf "$logs"
