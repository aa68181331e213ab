#!/usr/bin/env bash
# Sets up, builds, and runs the whole test suite; exits non-zero on any failure. Then the
# engine and CLI suites once more under ASan + UBSan (scripts/sanitize.sh, build-asan/) and
# every libFuzzer harness over its corpus and for 30 s (scripts/fuzz.sh, build-fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)")
bash scripts/sanitize.sh
bash scripts/fuzz.sh 30
