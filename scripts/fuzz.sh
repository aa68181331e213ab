#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang 14 into build-fuzz/ and runs each one for
# SECONDS (default 60) on a copy of its seed corpus in tests/fuzz/corpus/<name>/;
# inputs that crash are written to build-fuzz/crashes/. Not part of scripts/test.sh.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(config safetensors gguf snapshot chat_template)
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOESCOPE_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${harnesses[@]/#/fuzz_}"
mkdir -p build-fuzz/crashes
for h in "${harnesses[@]}"; do
  work="build-fuzz/corpus/$h"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$h"/* "$work"/ 2>/dev/null || true
  echo "== fuzz_$h for ${seconds} s"
  build-fuzz/tests/fuzz/fuzz_"$h" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix=build-fuzz/crashes/"$h"- "$work" 2>&1 | grep -E "^#[0-9]+.*(DONE|pulse)|ERROR|SUMMARY|stat::" | tail -3
done
