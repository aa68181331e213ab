#!/usr/bin/env bash
# Prepares, here, what a bare GPU machine of the device tool needs to run
# scripts/device-check.sh: that machine (Ubuntu 24.04, CUDA 13 driver, nvcc, CMake, g++)
# has no Qt, no sentencepiece, ICU or PCRE2 headers and no network, so moescope-cli and
# the CUDA suites are built here, for any x86-64 CPU of the last decade (-march
# x86-64-v2, no -march=native) and for Hopper (sm_90, H100 and H200), into build-device/,
# and packed with the shared libraries they load into device-bundle/moescope-device.tar.xz.
# Left out: glibc, libstdc++ and libgcc (that machine's are newer, and compatible) and
# CUDA's own (the driver, cudart, cuBLAS: that machine's toolkit). docs/PERFORMANCE.md
# says how to carry it there; 64 MiB travel in all, this tree included.
#   scripts/device-bundle.sh   (MOESCOPE_DEVICE_MARCH, MOESCOPE_DEVICE_CUDA_ARCH, JOBS override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-device
bundle=$root/device-bundle
march=${MOESCOPE_DEVICE_MARCH:-x86-64-v2}
cuda_arch=${MOESCOPE_DEVICE_CUDA_ARCH:-90}
jobs=${JOBS:-2}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMOESCOPE_NATIVE_ARCH=OFF \
  -DCMAKE_CXX_FLAGS="-march=$march" -DCMAKE_CUDA_ARCHITECTURES="$cuda_arch" >/dev/null
grep -q '^CMAKE_CUDA_COMPILER:[A-Z]*=/' "$build/CMakeCache.txt" ||
  echo "device-bundle: no CUDA compiler here: the bundle has the CPU backend only" >&2
# The suites (test_*) that exercise the CUDA backend: those of tests/kernels/, those
# labelled gpu, and every one whose name says cuda or backend.
mapfile -t suites < <({ ctest --test-dir "$build" -N -L '^(kernels|gpu)$'
  ctest --test-dir "$build" -N -R 'cuda|backend'; } | sed -n 's/^ *Test *#[0-9]*: //p' |
  grep '^test_' | sort -u)
cmake --build "$build" -j"$jobs" --target moescope-cli "${suites[@]}"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
cp "$build/cli/moescope-cli" "$stage/bin/"
for suite in "${suites[@]}"; do
  find "$build/tests" -type f -name "$suite" -perm -u+x -exec cp {} "$stage/bin/" \;
done
# Every library the binaries load, but glibc's, the compiler runtime's and CUDA's.
keep_out='/(ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcublasLt|libnvidia)[.-]'
ldd "$stage"/bin/* | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | grep -Ev "$keep_out" |
  while read -r lib; do cp -L "$lib" "$stage/lib/"; done
{
  echo "source $root"
  echo "commit $(git -C "$root" rev-parse HEAD)$(git -C "$root" diff --quiet HEAD || echo ' (with uncommitted changes)')"
  echo "built $(date -u +%FT%TZ) on $(uname -m), -march=$march, CUDA architectures $cuda_arch"
  echo "binaries: $(cd "$stage/bin" && echo *)"
  echo "libraries: $(cd "$stage/lib" && echo *)"
} >"$stage/MANIFEST"

mkdir -p "$bundle"
tar -C "$stage" -cf - . | xz -T"$jobs" -6 >"$bundle/moescope-device.tar.xz"
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
size=$(stat -c %s "$bundle/moescope-device.tar.xz")
unpacked=$(du -sb "$stage" | cut -f1)
tree=$(cd "$root" && git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1 | cut -f1)
cat "$stage/MANIFEST"
echo "device-bundle: $bundle/moescope-device.tar.xz, $(mib "$size") ($(mib "$unpacked") unpacked);" \
  "with the tree that travels ($(mib "$tree")): $(mib $((tree + size))) of the 64 MiB"
if ((tree + size > 64 * 1048576)); then
  echo "device-bundle: over the device tool's 64 MiB" >&2
  exit 1
fi
