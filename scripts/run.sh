#!/usr/bin/env bash
# Sets up, builds, and opens moescope on the bundled default model. Without a
# display it runs the command-line generator instead; extra arguments go to
# the app (a model directory or snapshot) or to `moescope-cli generate`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/app/moescope ]; then
  exec build/app/moescope "$@"
fi
echo "run.sh: no display, so running the command-line generator" >&2
[ $# -eq 0 ] && set -- --prompt "The old man said" --max-tokens 48
exec build/cli/moescope-cli generate "$@"
