#!/usr/bin/env bash
# Installs the Python tools (infra/requirements.txt) into a virtual environment kept in the cache
# outside the clone, one per version of the requirements file, and links it as the project's
# `.venv`. Idempotent: nothing is installed when it is already there. The environment's path stays
# the same from clone to clone, and it matters: the compiler wrappers cargo-lambda writes for the
# arm64 build name its path, and a new path would make `sam build` rebuild every dependency.
set -euo pipefail
source "$(dirname "$0")/common.sh"
req="$root/infra/requirements.txt"
want=$(sha256sum "$req" | cut -d' ' -f1)
venv="$cache_dir/python-${want:0:16}"
mkdir -p "$cache_dir"
stamp="$venv/.requirements.sha256"
if ! { [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
  echo "python-tools: installing $(grep -v '^#' "$req" | xargs) into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
if [ "$(readlink "$root/.venv" 2>/dev/null)" != "$venv" ]; then
  rm -rf "$root/.venv"
  ln -s "$venv" "$root/.venv"
fi
