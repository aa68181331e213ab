#!/usr/bin/env bash
# Builds the engine and CLI suites (ctest labels "engine" and "cli", not the Qt widgets)
# with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and runs them: any
# out-of-bounds access, use after free, leak or undefined behaviour fails the suite.
# scripts/test.sh runs it after the normal suites.
set -euo pipefail
cd "$(dirname "$0")/.."
# -O1 -g1, as the sanitizers' documentation advises: line numbers in reports, and a
# shorter compile than -O2 on 2 cores.
flags="-O1 -g1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
generator=()
command -v ninja >/dev/null && [ ! -f build-asan/CMakeCache.txt ] && generator=(-G Ninja)
# Host code only: ASan's shadow memory and the CUDA runtime do not mix, so no CUDA backend.
cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_CUDA_COMPILER=NOTFOUND >/dev/null
cmake --build build-asan -j"$(nproc)" --target engine_cli_suites
cd build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$(nproc)" -L '^(engine|cli)$'
