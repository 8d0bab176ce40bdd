#!/usr/bin/env bash
# `make test`: every check and test. Installs what the tests need (idempotently), then runs
# formatting and lint checks, the template checks and `sam build`, the `make dev` smoke test, and
# the unit and end-to-end tests.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$root"
bash infra/scripts/python-tools.sh
bash infra/scripts/livekit.sh install >/dev/null
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
bash infra/scripts/sam.sh lint
.venv/bin/openapi-spec-validator docs/openapi.json
bash infra/scripts/sam.sh build
bash tests/dev_smoke.sh
# The Lambda artifact the event replay test (tests/tests/events.rs) runs under aws-lambda-rie.
cargo build --quiet -p functions --bins
log=$(mktemp)
cargo test --workspace 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test target, the last often a doc-test
# target with nothing in it).
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
