#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds and runs FTW's CUDA path on a lent GPU machine (the device tool's nvidia-h100-x1 or
# nvidia-h200), which has nvcc, CMake, Ninja and a CUDA PyTorch 2.x but not FTW's other build
# dependencies, and cannot download anything.
#
#   Here (Debian 12, network):   bash tests/gpu/device_kit.sh fetch
#       downloads the Debian 12 packages of SQLite, nlohmann-json, CLI11, GoogleTest, PCRE2, ICU
#       and pkgconf into .device-kit/ (about 23 MB, git-ignored).
#   There, as the device tool's command, carrying .device-kit:
#       bash tests/gpu/device_kit.sh build     unpacks the kit into /tmp/ftw-kit, configures the
#                                              cuda-headless preset against python3's torch and
#                                              builds ftw, the gpu tests and the engine tests
#       bash tests/gpu/device_kit.sh test      ctest --preset gpu-headless, the engine tests, and
#                                              tests/bench/compare_hf_peft.py on the bundled and
#                                              Qwen2.5-0.5B shapes; logs under $OUT (or /tmp)
#   `build` and `test` take ARGS for compare_hf_peft.py after `--` (test only).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
kit="$repo/.device-kit"
prefix=/tmp/ftw-kit
packages=(libsqlite3-dev libsqlite3-0 nlohmann-json3-dev libcli11-dev libgtest-dev libpcre2-dev
          libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 libicu-dev libicu72 pkgconf
          pkgconf-bin libpkgconf3)

say() { echo "device_kit: $*"; }

fetch() {
    mkdir -p "$kit"
    (cd "$kit" && apt-get download "${packages[@]}")
    say "$(find "$kit" -name "*.deb" | wc -l) packages, $(du -sh "$kit" | cut -f1) in $kit"
}

unpack() {
    compgen -G "$kit/*.deb" >/dev/null || { say "no packages in $kit: run 'fetch' first and carry .device-kit"; exit 2; }
    rm -rf "$prefix"
    mkdir -p "$prefix"
    for deb in "$kit"/*.deb; do
        if command -v dpkg-deb >/dev/null; then
            dpkg-deb -x "$deb" "$prefix"
        else # not a Debian-family image: a .deb is an ar archive around data.tar.xz
            (cd "$prefix" && ar p "$deb" data.tar.xz | tar -xJ)
        fi
    done
}

environment() {
    local arch=x86_64-linux-gnu
    export LD_LIBRARY_PATH="$prefix/usr/lib/$arch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export PKG_CONFIG_SYSROOT_DIR="$prefix"
    export PKG_CONFIG_LIBDIR="$prefix/usr/lib/$arch/pkgconfig:$prefix/usr/share/pkgconfig"
    torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
    export CMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr"
}

build() {
    unpack
    environment
    say "torch $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)'), nvcc $(nvcc --version | tail -1)"
    cmake --preset cuda-headless -DPKG_CONFIG_EXECUTABLE="$prefix/usr/bin/pkgconf" \
        -DCMAKE_LIBRARY_ARCHITECTURE=x86_64-linux-gnu
    cmake --build --preset cuda-headless --target ftw ftw_gpu_tests ftw_engine_tests
}

run_tests() {
    environment
    local out=${OUT:-/tmp}
    local bin="$repo/build/cuda-headless/bin"
    local status=0
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
    ctest --preset gpu-headless --output-on-failure 2>&1 | tee "$out/ctest-gpu.log" || status=1
    "$bin/ftw_engine_tests" --gtest_brief=1 2>&1 | tail -5 | tee "$out/engine-tests.log" || status=1
    for shape in bundled qwen2.5-0.5b; do # batch 8 x 512 tokens unless ARGS say otherwise
        python3 "$repo/tests/bench/compare_hf_peft.py" --ftw "$bin/ftw" --shape "$shape" --json "$@" 2>&1 |
            tee "$out/hf-peft-$shape.log" || status=1
    done
    return $status
}

case "${1:-}" in
fetch) fetch ;;
build) build ;;
test) shift; [[ "${1:-}" == "--" ]] && shift; run_tests "$@" ;;
*) say "usage: $0 fetch | build | test [-- COMPARE_HF_PEFT_ARGS]"; exit 2 ;;
esac
