#!/usr/bin/env bash
# Installs what is missing, then configures and builds Release into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
generator=()
command -v ninja >/dev/null && [ ! -f build/CMakeCache.txt ] && generator=(-G Ninja)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${generator[@]}"
cmake --build build -j"$(nproc)"
