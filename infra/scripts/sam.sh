#!/usr/bin/env bash
# sam.sh lint: cfn-lint and `sam validate --lint` on template.yaml (offline).
# sam.sh build: `sam build` of every function, as a deployment would: cargo-lambda (PyPI) builds
#   each function's binary for arm64 (Graviton), cross-compiling through Zig (PyPI); the release
#   build directory is cached outside the clone (SAM_TARGET_DIR). Then checks that every function
#   has an aarch64 `bootstrap`.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$root"
export PATH="$root/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
case "${1:-}" in
  lint)
    cfn-lint template.yaml
    sam validate --lint --template template.yaml --region us-east-1 >/dev/null
    echo "sam: template.yaml passes cfn-lint and sam validate --lint"
    ;;
  build)
    rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
    export CARGO_TARGET_DIR=${SAM_TARGET_DIR:-$cache_dir/target-lambda}
    build_dir=$(mktemp -d)
    trap 'rm -rf "$build_dir"' EXIT
    sam build --template template.yaml --build-dir "$build_dir" >"$build_dir.log" 2>&1 || { cat "$build_dir.log" >&2; rm -f "$build_dir.log"; exit 1; }
    rm -f "$build_dir.log"
    count=0
    for f in "$build_dir"/*/bootstrap; do
      # ELF e_machine (bytes 18-19) 0xB7: AArch64.
      [ "$(od -An -tx1 -j18 -N2 "$f" | tr -d ' ')" = "b700" ] || { echo "sam: $f is not an arm64 executable" >&2; exit 1; }
      count=$((count + 1))
    done
    want=$(grep -c "Type: AWS::Serverless::Function" template.yaml)
    [ "$count" -eq "$want" ] || { echo "sam: built $count bootstraps for $want functions" >&2; exit 1; }
    echo "sam: built $count arm64 functions"
    ;;
  *) echo "usage: sam.sh lint|build" >&2; exit 2 ;;
esac
