#!/usr/bin/env bash
# sam.sh lint: cfn-lint and `sam validate --lint` on template.yaml (offline).
# sam.sh build: `sam build` of every function, as a deployment would. Every function runs the one
#   artifact (`functions/`, binary trendke-live) and shares one build definition, so SAM builds it
#   once: cargo-lambda (PyPI) for arm64 (Graviton), cross-compiling through Zig (PyPI); the release
#   build directory is cached outside the clone (SAM_TARGET_DIR). Then checks that every function
#   has an aarch64 `bootstrap` and prints its zipped size. Where rustup cannot install the aarch64
#   standard library, it says so and builds the same template for x86_64 instead.
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
    export CARGO_TARGET_DIR=${SAM_TARGET_DIR:-$cache_dir/target-lambda}
    build_dir=$(mktemp -d)
    trap 'rm -rf "$build_dir" "$build_dir.log" "$root/.template-x86_64.yaml"' EXIT
    template=template.yaml arch=arm64 machine=b700 # ELF e_machine (bytes 18-19): 0xB7 AArch64
    if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
      && ! rustup target add aarch64-unknown-linux-gnu >&2; then
      # Deliberate fallback: without the aarch64 standard library (rustup could not fetch it)
      # arm64 cannot be linked here, so the same template is built for x86_64 to prove the build.
      echo "sam: WARNING: rustup could not install aarch64-unknown-linux-gnu; building for x86_64 instead" >&2
      sed 's/Architectures: \[arm64\]/Architectures: [x86_64]/' template.yaml > .template-x86_64.yaml
      template=.template-x86_64.yaml arch=x86_64 machine=3e00
    fi
    sam build --template "$template" --build-dir "$build_dir" >"$build_dir.log" 2>&1 || { cat "$build_dir.log" >&2; exit 1; }
    count=0
    for f in "$build_dir"/*/bootstrap; do
      [ "$(od -An -tx1 -j18 -N2 "$f" | tr -d ' ')" = "$machine" ] || { echo "sam: $f is not an $arch executable" >&2; exit 1; }
      count=$((count + 1))
    done
    want=$(grep -c "Type: AWS::Serverless::Function" template.yaml)
    [ "$count" -eq "$want" ] || { echo "sam: built $count bootstraps for $want functions" >&2; exit 1; }
    size=$(cd "$(dirname "$f")" && python3 -c 'import io, zipfile; b = io.BytesIO(); z = zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED); z.write("bootstrap"); z.close(); print(len(b.getvalue()))')
    echo "sam: built $count $arch functions from one artifact (bootstrap $(stat -c %s "$f") bytes, $size zipped)"
    ;;
  *) echo "usage: sam.sh lint|build" >&2; exit 2 ;;
esac
