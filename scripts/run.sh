#!/usr/bin/env bash
# Sets up, builds, and runs moescope on the bundled default model. Extra
# arguments go to `moescope-cli generate` (e.g. --prompt "def " --max-tokens 40).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if [ $# -eq 0 ]; then
  set -- --prompt "The old man said" --max-tokens 48
fi
exec build/cli/moescope-cli generate "$@"
