#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang 14 into build-fuzz/ and, for each one, runs every
# input of its committed corpus (tests/fuzz/corpus/<name>/: seeds and regression-* inputs
# that once crashed), then fuzzes for SECONDS (default 60) on a copy of that corpus.
# Inputs that crash go to build-fuzz/crashes/, each harness's log to build-fuzz/logs/.
# Exits non-zero if any harness crashed; scripts/test.sh runs it for 30 s each.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(config safetensors safetensors_index gguf snapshot
  chat_template tokenizer_json encode text_set server_response)
# The parsers are host code: no CUDA backend in this build.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOESCOPE_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_CUDA_COMPILER=NOTFOUND \
  >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${harnesses[@]/#/fuzz_}"
mkdir -p build-fuzz/crashes build-fuzz/logs
failed=()
for h in "${harnesses[@]}"; do
  fuzzer=build-fuzz/tests/fuzz/fuzz_"$h"
  log=build-fuzz/logs/"$h".log
  options=(-rss_limit_mb=2048 -timeout=10 -artifact_prefix=build-fuzz/crashes/"$h"-)
  work="build-fuzz/corpus/$h"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$h"/* "$work"/ 2>/dev/null || true
  echo "== fuzz_$h: the corpus, then ${seconds} s"
  if ! "$fuzzer" "${options[@]}" tests/fuzz/corpus/"$h"/* >"$log" 2>&1 ||
    ! "$fuzzer" "${options[@]}" -max_total_time="$seconds" -print_final_stats=1 "$work" \
      >>"$log" 2>&1; then
    failed+=("$h")
    grep -E "ERROR|SUMMARY|abort|Test unit written" "$log" | head -20
    continue
  fi
  grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units" "$log" | tail -2
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: ${failed[*]} crashed; the inputs are in build-fuzz/crashes/, logs in build-fuzz/logs/"
  exit 1
fi
