#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Inside the trixie-cuda chroot of debian_chroot_check.sh: lets Debian 13's CUDA LibTorch
# (libtorch-cuda-dev, contrib) link and load where NVIDIA's servers cannot be reached.
#
# cuDNN is not in Debian: the nvidia-cudnn package downloads it from NVIDIA when it is configured,
# and fails without that network, which leaves libtorch-cuda-2.6 unconfigured. This script
#   1. configures nvidia-cudnn without the download, when that download failed;
#   2. when libcudnn.so.9 is then missing, builds a stand-in for it: every cudnn* function that
#      the installed libraries import, under the library's symbol version, each one aborting.
# FTW never calls cuDNN (no convolutions, no cuDNN RNNs), and nothing reaches it without a GPU,
# so the build links and the CPU tests run; a real cuDNN replaces the stand-in on a GPU machine.
set -euo pipefail

say() { printf 'cudnn-stand-in: %s\n' "$*"; }
lib=/usr/lib/x86_64-linux-gnu
postinst=/var/lib/dpkg/info/nvidia-cudnn.postinst

if dpkg-query -W -f='${Status}' nvidia-cudnn 2>/dev/null | grep -q 'half-configured\|unpacked'; then
  say "nvidia-cudnn could not download cuDNN: configuring it without the download"
  printf '#!/bin/sh\nexit 0\n' >"$postinst"
  DEBIAN_FRONTEND=noninteractive dpkg --configure -a
fi

if [ -e "$lib/libcudnn.so.9" ]; then
  say "libcudnn.so.9 is installed: nothing to stand in for"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# nm fails on what is not a library (a dangling link among them): skipped.
{ nm -D --undefined-only "$lib"/lib*.so* 2>/dev/null || true; } |
  awk '/@libcudnn\.so\.9$/ {print $2}' | sed 's/@libcudnn\.so\.9$//' | sort -u >"$work/symbols"
{
  echo '#include <stdlib.h>'
  while read -r symbol; do echo "void $symbol(void) { abort(); }"; done <"$work/symbols"
} >"$work/stand_in.c"
printf 'libcudnn.so.9 {\n  global: *;\n};\n' >"$work/version.map"
gcc -shared -fPIC -o "$lib/libcudnn.so.9" -Wl,-soname,libcudnn.so.9 \
  -Wl,--version-script="$work/version.map" "$work/stand_in.c"
ldconfig
say "built a stand-in libcudnn.so.9 of $(wc -l <"$work/symbols") functions that abort"
