#!/usr/bin/env bash
# npm ci, but only when package-lock.json changed since the last install (always on a fresh clone).
# Used by run.sh and test.sh from the repository root.
set -uo pipefail
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -d node_modules ] && [ "$(cat node_modules/.railcloud-lock 2>/dev/null)" = "$lock_hash" ]; then
  exit 0
fi
echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error || exit 1
echo "$lock_hash" > node_modules/.railcloud-lock
