#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds and tests FTW from a fresh clone inside a minimal Debian made by debootstrap.
#
#   bash tests/compat/debian_chroot_check.sh bookworm [DIR]
#       Debian 12 as the README promises it: runs .ci/run (installers/install-deps.sh, then the
#       README's test workflow) on a system that has nothing but the minimal base. A package the
#       CI machine happens to have (make, python3, ...) cannot hide a missing install step here.
#   bash tests/compat/debian_chroot_check.sh trixie [DIR]
#       Debian 13: the same install script, then the default preset built and the default test
#       preset run against LibTorch 2.6, Qt 6.8 and GCC 14. The one place without a GPU where the
#       LibTorch 2.x code paths (scaled_dot_product_attention on CPU among them) link and run.
#       Warnings are not errors there: GCC 14 reports a false -Warray-bounds inside LibTorch 2.6's
#       custom_function.h (vector<bool>::reserve), which -Werror would stop at.
#   bash tests/compat/debian_chroot_check.sh trixie-cuda [DIR]
#       Debian 13 with contrib and non-free: the cuda-headless preset (FTW_WITH_CUDA) built against
#       Debian's CUDA LibTorch 2.6 (libtorch-cuda-dev, CUDA 12.4, nvcc), then the gpu tests (they
#       skip without a device), the engine tests and the CLI tests run on the CPU with it. cuDNN
#       comes from NVIDIA's servers, not Debian's: where they cannot be reached,
#       tests/compat/cudnn_stand_in.sh stands in for it (see there). Downloads about 3.5 GB.
#
# Needs root, debootstrap and the Debian mirror (not part of the test suite). DIR defaults to
# /srv/ftw-SUITE and is kept, so that a second run skips debootstrap and the packages; the
# clone in DIR/src is made afresh from this repository's HEAD every time. About 20 minutes on
# 2 cores (mostly the build). Logs: DIR/src/ftw-check.log; the exit status is the check's.
set -euo pipefail

suite=${1:-}
case "$suite" in
  bookworm | trixie | trixie-cuda) ;;
  *)
    echo "usage: $0 bookworm|trixie|trixie-cuda [DIR]" >&2
    exit 2
    ;;
esac
root=${2:-/srv/ftw-$suite}
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)

say() { printf 'debian-chroot-check: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  say "run as root: debootstrap and chroot need it" >&2
  exit 1
fi
command -v debootstrap >/dev/null || {
  say "debootstrap is missing: apt-get install debootstrap" >&2
  exit 1
}

if [ ! -f "$root/etc/debian_version" ]; then
  say "making a minimal Debian $suite in $root"
  debootstrap --variant=minbase "${suite%-cuda}" "$root" http://deb.debian.org/debian
fi
if [ "$suite" = trixie-cuda ]; then
  echo "deb http://deb.debian.org/debian trixie main contrib non-free non-free-firmware" \
    >"$root/etc/apt/sources.list"
fi

cleanup() {
  umount "$root/dev" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"

rm -rf "$root/src"
git clone -q "$repo" "$root/src"
say "cloned $(git -C "$root/src" rev-parse --short HEAD) into $root/src"

if [ "$suite" = bookworm ]; then
  steps='bash .ci/run'
elif [ "$suite" = trixie-cuda ]; then
  # nvidia-cudnn fails to configure where it cannot download cuDNN: the stand-in script sees to it.
  steps='export DEBIAN_FRONTEND=noninteractive && apt-get update -q &&
         { apt-get install -y -q --no-install-recommends g++ cmake ninja-build pkg-config git \
             libsqlite3-dev nlohmann-json3-dev libcli11-dev libpcre2-dev libicu-dev libgtest-dev \
             libgmock-dev libtorch-cuda-dev nvidia-cuda-toolkit || true; } &&
         bash tests/compat/cudnn_stand_in.sh &&
         cmake --preset cuda-headless &&
         cmake --build --preset cuda-headless --target ftw ftw_gpu_tests ftw_engine_tests ftw_cli_tests &&
         for t in ftw_gpu_tests ftw_engine_tests ftw_cli_tests; do
           build/cuda-headless/bin/$t --gtest_brief=1 || exit 1; done'
else
  steps='bash installers/install-deps.sh && cmake --preset default &&
         cmake --build --preset default &&
         QT_QPA_PLATFORM=offscreen ctest --preset default --output-on-failure'
fi
say "running in the chroot: $steps"
set +e
chroot "$root" /bin/bash -c "cd /src && ($steps)" >"$root/src/ftw-check.log" 2>&1
rc=$?
set -e
tail -n 20 "$root/src/ftw-check.log"
say "exit status $rc (log: $root/src/ftw-check.log)"
exit "$rc"
