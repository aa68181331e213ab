#!/usr/bin/env bash
# The GPU engine's checks on a GPU machine of the device tool, from the repository root
# (docs/PERFORMANCE.md has the call): unpacks device-bundle/ (scripts/device-bundle.sh
# makes it here), runs the CUDA suites, `check --backend cuda` against the CPU backend on
# the bundled and fixture models and on random models of several shapes (deepseek-moe-16b's
# among them), and `bench --random-weights --backend cuda` on the 16b shape with the
# device-to-device copy bandwidth measured first. Without a GPU it runs the CPU parts and
# says that the CUDA parts were skipped. Everything goes to $OUT/device-report.txt
# (device-out/ when OUT is unset); the summary is printed last. Exit 1 if a step failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/device-out}
mkdir -p "$out"
report=$out/device-report.txt
: >"$report"
bundle=$root/device-bundle/moescope-device.tar.xz
cuda_libs=
here=$(mktemp -d)
trap 'rm -rf "$here"' EXIT
log() { echo "$*" | tee -a "$report"; }

if [[ ! -f $bundle ]]; then
  log "device-check: no $bundle: run scripts/device-bundle.sh first, then carry device-bundle"
  exit 1
fi
tar -xJf "$bundle" -C "$here" 2>/dev/null ||
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$here"
# The binaries know the tree they were built from (fixtures, bundled models): point it here.
source_dir=$(sed -n 's/^source //p' "$here/MANIFEST")
if [[ $source_dir != "$root" && ! -e $source_dir ]]; then
  mkdir -p "$(dirname "$source_dir")" && ln -s "$root" "$source_dir"
fi
# The CUDA runtime and cuBLAS come from this machine's toolkit (or PyTorch's wheels).
library_path=$here/lib
for lib in libcudart.so.13 libcublas.so.13; do
  found=$(find /usr/local/cuda/ /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu \
    /opt /usr/local/lib -name "$lib" -print -quit 2>/dev/null)
  [[ -n $found ]] && library_path+=:$(dirname "$found")
  cuda_libs+="$lib: ${found:-not found}; "
done
run=(env "LD_LIBRARY_PATH=$library_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
cli=$here/bin/moescope-cli

summary=()
failed=0
# Every step ends by the deadline, so that the summary is written inside the device tool's
# 600 s: DEVICE_CHECK_SECONDS (default 540) after the start.
deadline=${DEVICE_CHECK_SECONDS:-540}
# step NAME SECONDS PROGRAM ARGS...: runs the bundled program, its output into the report,
# a verdict into the summary.
step() {
  local name=$1 limit=$2 start=$SECONDS rc verdict
  shift 2
  if ((SECONDS + 10 > deadline)); then
    skip "$name" "out of time (DEVICE_CHECK_SECONDS=$deadline)"
    failed=1
    return
  fi
  ((limit > deadline - SECONDS)) && limit=$((deadline - SECONDS))
  echo "=== $name: ${*##*/}" >>"$report"
  timeout "$limit" "${run[@]}" "$@" >>"$report" 2>&1
  rc=$?
  case $rc in
    0) verdict=PASS ;;
    124) verdict="FAIL (over ${limit} s)" ;;
    77) verdict="FAIL (the suite saw no CUDA device)" ;;
    *) verdict="FAIL (exit $rc)" ;;
  esac
  ((rc == 0)) || failed=1
  summary+=("$(printf '%-58s %s, %d s' "$name" "$verdict" $((SECONDS - start)))")
}
skip() { summary+=("$(printf '%-58s SKIPPED: %s' "$1" "$2")"); }

{
  echo "moescope device check, $(date -u +%FT%TZ), $(uname -srm), $(nproc) CPUs"
  cat "$here/MANIFEST"
  echo "CUDA libraries: $cuda_libs"
  grep -E 'MemTotal|MemAvailable' /proc/meminfo
  nvidia-smi 2>&1 || true
} >>"$report"
gpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)

fixtures=$root/tests/fixtures/models
configs=$root/resources/configs
small_shapes=(dense-lead-f32 nodense-f16 mixtral-bf16-sharded qwen2moe-f32 olmoe-f16)

# The CPU parts, everywhere: CPU against CPU must show no difference at all.
step "check cpu: bundled model" 120 "$cli" check --backend cpu
for shape in "${small_shapes[@]}"; do
  step "check cpu: random $shape" 120 "$cli" check --backend cpu --random-weights \
    --config "$fixtures/$shape/config.json"
done
step "bench cpu: random bundled shape" 300 "$cli" bench --backend cpu --random-weights \
  --repeats 3

if ((gpu == 0)); then
  skip "CUDA: suites, check --backend cuda, bench on the 16b shape" "no GPU (nvidia-smi lists none)"
else
  bandwidth=$(python3 - 2>>"$report" <<'EOF'
# Device-to-device copy of 4 GiB, bytes read + written over the median of 20 copies.
import torch
a = torch.empty(1 << 30, dtype=torch.float32, device="cuda").normal_()
b = torch.empty_like(a)
start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
times = []
for i in range(23):
    start.record(); b.copy_(a); end.record(); torch.cuda.synchronize()
    if i >= 3: times.append(start.elapsed_time(end) / 1e3)
times.sort()
print(f"{2 * a.numel() * 4 / times[len(times) // 2] / 1e9:.0f}")
EOF
  )
  log "device-to-device copy bandwidth: ${bandwidth:-not measured (no PyTorch)} GB/s"
  for suite in "$here"/bin/*; do
    [[ ${suite##*/} == moescope-cli ]] || step "suite ${suite##*/}" 300 "$suite"
  done
  for model in "$root"/resources/models/* "$fixtures"/*; do
    step "check cuda: ${model##*/}" 120 "$cli" check --backend cuda --model "$model"
  done
  for shape in "${small_shapes[@]}"; do
    step "check cuda: random $shape" 120 "$cli" check --backend cuda --random-weights \
      --config "$fixtures/$shape/config.json"
  done
  step "check cuda: random deepseek-moe-16b" 420 "$cli" check --backend cuda --random-weights \
    --config "$configs/deepseek-moe-16b-base.json"
  step "bench cuda: random deepseek-moe-16b" 300 "$cli" bench --backend cuda --random-weights \
    --config "$configs/deepseek-moe-16b-base.json" --prompt-tokens 256 --gen-tokens 64 \
    ${bandwidth:+--bandwidth "$bandwidth"}
  for shape in olmoe-1b-7b-0924 qwen1.5-moe-a2.7b; do
    step "check cuda: random $shape" 300 "$cli" check --backend cuda --random-weights \
      --config "$configs/$shape.json"
  done
fi

{
  echo
  echo "=== summary"
  printf '%s\n' "${summary[@]}"
  grep -E '^(model|prefill|decode|weights read|bandwidth)' "$report" | sed 's/^/  /'
} | tee -a "$report"
exit "$failed"
