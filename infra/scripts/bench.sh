#!/usr/bin/env bash
# `make bench`: the audience-scale benchmark (not part of `make test`). Installs the Python tools
# it needs (moto), builds the load driver in release mode and runs it; it writes BENCHMARKS.md.
# BENCH_CLIENTS, BENCH_RATES, BENCH_SECONDS and BENCH_OUT change what it runs (bench/src/main.rs).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$root"
bash infra/scripts/python-tools.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache_dir/target}
# Quiet handlers: the bench measures them, their logs would measure the terminal.
export RUST_LOG=${RUST_LOG:-error}
cargo run --release --quiet -p bench
