#!/usr/bin/env bash
# `make test`: every check and test. Installs what the tests need (idempotently), then runs
# formatting and lint checks, the unit and end-to-end tests, and the `make dev` smoke test.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$root"
bash infra/scripts/python-tools.sh
bash infra/scripts/livekit.sh install >/dev/null
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
bash tests/dev_smoke.sh
log=$(mktemp)
cargo test --workspace 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test target, the last often a doc-test
# target with nothing in it).
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
