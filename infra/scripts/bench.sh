#!/usr/bin/env bash
# `make bench`: the audience-scale benchmark (not part of `make test`). Installs the Python tools
# it needs (moto, the SAM CLI's aws-lambda-rie) and livekit-server, builds the Lambda artifact and
# the load driver (with its two baseline functions) in release mode and runs it; it writes
# BENCHMARKS.md.
# BENCH_CLIENTS, BENCH_RATES, BENCH_SECONDS and BENCH_OUT change what it runs (bench/src/main.rs).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$root"
bash infra/scripts/python-tools.sh
bash infra/scripts/livekit.sh install >/dev/null
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache_dir/target}
# Quiet handlers: the bench measures them, their logs would measure the terminal.
export RUST_LOG=${RUST_LOG:-error}
cargo build --release --quiet -p functions -p bench
"$CARGO_TARGET_DIR/release/trendke-bench"
