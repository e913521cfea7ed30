#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian 12 package that FTW's build, its programs and its tests need.
# Idempotent: packages already present are left alone. Runs as root, or through sudo otherwise.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git
  # engine: LibTorch (CPU) with a fast BLAS, SQLite, JSON
  libtorch-dev libopenblas0-pthread libsqlite3-dev nlohmann-json3-dev
  # command line parsing; regular expressions and Unicode normalisation for tokenizers
  libcli11-dev libpcre2-dev libicu-dev
  # desktop workbench: Qt 6 Widgets and Charts, platform plugins, fonts
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev libxkbcommon-dev qt6-qpa-plugins libgl-dev
  fonts-dejavu-core
  # tests: GoogleTest, an X server for UI tests and screenshots
  libgtest-dev libgmock-dev xvfb xauth
  # the Debian package (cpack --preset deb): dpkg-shlibdeps finds the libraries' packages
  dpkg-dev
)

say() { printf 'ftw-install: %s\n' "$*"; }

# --bench: also Debian's python3-torch (the same LibTorch 1.13 as libtorch-dev), for the side-by-side
# benchmark tests/bench/compare_pytorch.py. --fuzz: also Clang and its libFuzzer runtime, for the
# fuzz preset (tests/fuzz). Neither the build nor the tests need them.
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(python3-torch) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) say "unknown option '$arg' (expected --bench or --fuzz)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -eq 0 ]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
  sudo_cmd=(sudo)
else
  say "this script installs Debian packages: run it as root or install sudo" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "all ${#packages[@]} packages are already installed"
else
  say "installing ${#missing[@]} missing package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  say "done"
fi

# LibTorch calls the system BLAS through libblas.so.3: make sure OpenBLAS (pthread) provides it,
# the reference BLAS is 25-40x slower for matrix products.
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/ {print $2}')
case "$blas" in
  *openblas*) say "BLAS: $blas" ;;
  *)
    alt=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas-pthread | head -n 1 || true)
    if [ -n "$alt" ]; then
      say "selecting OpenBLAS for libblas.so.3: $alt"
      "${sudo_cmd[@]}" update-alternatives --set libblas.so.3-x86_64-linux-gnu "$alt"
    fi
    ;;
esac
