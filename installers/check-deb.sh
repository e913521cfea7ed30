#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks an FTW Debian package the way a user meets it: in a clean Debian 12 (bookworm) root made
# with debootstrap, `apt-get install ./ftw_<version>_<arch>.deb` must resolve every dependency from
# Debian's archive, and then the installed programs must run:
#   version    `ftw --version` prints the package's version
#   train      `ftw train --steps 5` with no model or data trains on the bundled defaults that the
#              package installs in /usr/share/ftw/default (FTW_DEFAULTS_DIR is not set)
#   blas       libblas.so.3 is OpenBLAS (the reference BLAS makes LibTorch 25-40x slower)
#   workbench  `ftw-workbench` starts under Xvfb and writes a screenshot (xvfb and xauth are
#              installed in the root after the package, for this check only)
# It prints PASS or FAIL for each and exits 0 only when all pass.
#
# NOT run by CI: it downloads a Debian base system and FTW's dependencies (several hundred MB) and
# takes several minutes. Run it by hand, as root, on a Debian or Ubuntu machine that reaches
# deb.debian.org (or the mirror in FTW_DEBIAN_MIRROR):
#
#   cpack --preset deb
#   sudo installers/check-deb.sh build/ci/ftw_0.1.0_amd64.deb [ROOT]
#
# ROOT (default /tmp/ftw-root) is deleted and made again; it is left in place afterwards so that the
# logs (ROOT/tmp/ftw-check/*.log) and the screenshot (ROOT/tmp/ftw-check/shot.png) can be read.
set -uo pipefail

say() { printf 'check-deb: %s\n' "$*"; }
die() {
  say "$*" >&2
  exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then die "usage: $0 DEB [ROOT]"; fi
deb=$(realpath -e "$1") || die "no such package: $1"
root=${2:-/tmp/ftw-root}
mirror=${FTW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || die "run it as root (debootstrap and chroot need root)"
case "$(realpath -m "$root")" in
  / | /tmp | /usr | /home | /root) die "refusing to use $root as the root to delete and make again" ;;
esac

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null || die "could not install debootstrap"
fi

say "package: $deb"
dpkg-deb -f "$deb" Package Version Architecture Installed-Size Depends | sed 's/^/  /'
version=$(dpkg-deb -f "$deb" Version)

unmount_all() {
  for m in "$root/dev/shm" "$root/proc"; do
    if mountpoint -q "$m" 2>/dev/null; then umount "$m"; fi
  done
}
trap unmount_all EXIT

# A clean root every time.
unmount_all
rm -rf --one-file-system "$root"
say "debootstrap --variant=minbase bookworm $root $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"/tmp/ftw-debootstrap.log" 2>&1 ||
  die "debootstrap failed; see /tmp/ftw-debootstrap.log"
mount -t proc proc "$root/proc" # the engine finds its share/ folder through /proc/self/exe
mkdir -p "$root/dev/shm" && mount -t tmpfs shm "$root/dev/shm"
logs=/tmp/ftw-check
mkdir -p "$root$logs"
cp "$deb" "$root/tmp/"
debname=$(basename "$deb")

# Runs a command inside the root, with a clean environment, its output in $logs/NAME.log.
in_root() {
  local name=$1
  shift
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@" >"$root$logs/$name.log" 2>&1
}
show_log() { sed "s/^/  $1| /" "$root$logs/$1.log" | tail -n "${2:-15}"; }

results=()
record() { # NAME STATUS
  results+=("$2 $1")
  say "$2: $1"
}

say "apt-get update && apt-get install -y --no-install-recommends /tmp/$debname"
if in_root apt-update apt-get update -q && in_root apt-install apt-get install -y -q --no-install-recommends "/tmp/$debname"; then
  grep -E '^[0-9]+ upgraded' "$root$logs/apt-install.log" | sed 's/^/  apt-install| /'
  record install PASS
else
  show_log apt-update
  show_log apt-install 30
  record install FAIL
fi

say "ftw --version"
if in_root version ftw --version && grep -qF "$version" "$root$logs/version.log"; then
  record version PASS
else
  record version FAIL
fi
show_log version

say "ftw train --steps 5 (no --model, no --data: the bundled defaults)"
if in_root train sh -c "cd $logs && FTW_DB=$logs/ftw.db timeout 600 ftw train --steps 5" &&
  in_root train-show sh -c "FTW_DB=$logs/ftw.db ftw runs show 1" &&
  grep -q '/usr/share/ftw/default/model' "$root$logs/train-show.log"; then
  record train PASS
else
  record train FAIL
fi
show_log train
grep -E '/usr/share/ftw/default|status' "$root$logs/train-show.log" 2>/dev/null | sed 's/^/  train-show| /'

in_root blas update-alternatives --query libblas.so.3-x86_64-linux-gnu
blas=$(awk '/^Value:/ {print $2}' "$root$logs/blas.log")
say "libblas.so.3 -> ${blas:-none}"
case "$blas" in
  *openblas*) record blas PASS ;;
  *) record blas FAIL ;;
esac

say "xvfb-run -a ftw-workbench --screenshot $logs/shot.png --screenshot-delay-ms 800"
in_root xvfb-install apt-get install -y -q --no-install-recommends xvfb xauth ||
  show_log xvfb-install
if in_root workbench timeout 300 xvfb-run -a -s "-screen 0 1400x1000x24" ftw-workbench \
  --db "$logs/ftw.db" --screenshot "$logs/shot.png" --screenshot-delay-ms 800 &&
  [ -s "$root$logs/shot.png" ]; then
  record workbench PASS
  say "screenshot: $root$logs/shot.png ($(stat -c %s "$root$logs/shot.png") bytes)"
else
  record workbench FAIL
fi
show_log workbench

say "summary (root left in $root, logs in $root$logs):"
status=0
for r in "${results[@]}"; do
  printf '  %s\n' "$r"
  case "$r" in FAIL*) status=1 ;; esac
done
exit "$status"
