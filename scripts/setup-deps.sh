#!/usr/bin/env bash
# Installs the Debian packages moescope needs to build and test. The one place they are named.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libsentencepiece-dev sentencepiece
  nlohmann-json3-dev libcli11-dev
  libpcre2-dev libicu-dev
  xvfb xauth
  python3
  clang-14 libclang-rt-14-dev llvm-14
  libcurl4-openssl-dev libcpp-httplib-dev
  qtkeychain-qt6-dev libqt6keychain1
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
