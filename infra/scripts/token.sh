#!/usr/bin/env bash
# `make token USER=alice`: prints a dev JWT for USER, signed with JWT_SECRET (local default as in make dev);
# `make token SERVICE=billing`: a server token.
set -euo pipefail
source "$(dirname "$0")/common.sh"
local_defaults
cd "$root"
cargo build --quiet -p local-gateway --bin dev-token
exec "$target_dir/debug/dev-token" "$@"
