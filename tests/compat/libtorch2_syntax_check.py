#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compiles FTW's torch-using sources against the headers of a LibTorch 2.x, CUDA path included.

What it checks
    Every translation unit of the configured build that includes torch (engine/, app/ and
    tests/, not the Qt-only ui/) is compiled with `-fsyntax-only` and the build's own flags
    (-Werror included), but against the headers of Debian trixie's libtorch-dev 2.x instead of
    the installed 1.13, and with FTW_HAS_CUDA_LIBTORCH=1 and the CUDA runtime headers of
    Debian bookworm's nvidia-cuda-dev, so the code behind `#if FTW_HAS_CUDA_LIBTORCH` (the CUDA
    allocator's statistics, device properties, synchronisation) is compiled too. A TU that
    fails is printed with the compiler's errors; the exit status is the number of failures.

Why
    The engine must build against a CUDA LibTorch 2.x as well as Debian's 1.13, but only a
    machine with a GPU has one, and most sessions have none. This catches the API differences
    (deprecated autocast calls, removed overloads, headers that moved) without a GPU: it does
    not link, and it cannot tell whether the CUDA path runs.

How to run it (downloads about 780 MB once, keeps 65 MB; not part of the test suite)
    cmake --preset ci                      # any preset: it needs compile_commands.json
    python3 tests/compat/libtorch2_syntax_check.py [--build build/ci] [--jobs 2] [FILTER ...]

    FILTER keeps the sources whose path contains one of the strings (default: all).
"""

import argparse
import concurrent.futures
import json
import lzma
import pathlib
import shlex
import subprocess
import sys
import urllib.request

MIRROR = "http://deb.debian.org/debian"
TORCH_SUITE = ("trixie", "main", "libtorch-dev")  # LibTorch 2.6 in Debian 13
CUDA_SUITE = ("bookworm", "non-free", "nvidia-cuda-dev")  # CUDA 11.8 in Debian 12
QT_ONLY = "/ui/"


def package_filename(suite: str, component: str, package: str) -> str:
    """The pool path of `package` in a suite's amd64 Packages index."""
    url = f"{MIRROR}/dists/{suite}/{component}/binary-amd64/Packages.xz"
    with urllib.request.urlopen(url) as response:
        index = lzma.decompress(response.read()).decode("utf-8", "replace")
    for stanza in index.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
        if fields.get("Package") == package:
            return fields["Filename"]
    sys.exit(f"libtorch2_syntax_check: no package '{package}' in {url}")


def unpack_headers(cache: pathlib.Path, suite: tuple, pattern: str) -> pathlib.Path:
    """Downloads a package once and keeps the files matching `pattern` under cache/NAME."""
    target = cache / suite[2]
    if (target / "usr/include").is_dir():
        return target
    deb = cache / (suite[2] + ".deb")
    filename = package_filename(*suite)
    print(f"downloading {MIRROR}/{filename}", flush=True)
    urllib.request.urlretrieve(f"{MIRROR}/{filename}", deb)
    partial = cache / (suite[2] + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        f"dpkg-deb --fsys-tarfile {shlex.quote(str(deb))} | "
        f"tar -x -C {shlex.quote(str(partial))} --wildcards {shlex.quote(pattern)}",
        shell=True,
        check=True,
    )
    deb.unlink()
    partial.rename(target)
    return target


def stand_in_headers(cache: pathlib.Path) -> pathlib.Path:
    """The one header a CUDA build of LibTorch generates and a CPU package lacks."""
    root = cache / "stand-in"
    header = root / "c10/cuda/impl/cuda_cmake_macros.h"
    header.parent.mkdir(parents=True, exist_ok=True)
    header.write_text("#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n")
    return root


def syntax_command(entry: dict, include_dirs: list) -> list:
    """The build's compile command, as a syntax check against the LibTorch 2.x headers."""
    args = shlex.split(entry["command"])
    kept = [args[0], "-fsyntax-only"]
    for directory in include_dirs:
        kept += ["-isystem", str(directory)]
    skip = False
    for i, arg in enumerate(args[1:], start=1):
        if skip:
            skip = False
        elif arg in ("-include", "-o"):  # the 1.13 precompiled header, the object file
            skip = True
        elif arg == "-isystem" and args[i + 1].startswith("/usr/include/torch"):
            skip = True
        elif arg == "-c" or arg.startswith("-O"):
            pass
        elif arg.startswith("-DFTW_HAS_CUDA_LIBTORCH"):
            kept.append("-DFTW_HAS_CUDA_LIBTORCH=1")
        else:
            kept.append(arg)
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build/ci", help="a configured build folder")
    parser.add_argument("--cache", default="/tmp/ftw-libtorch2-headers")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("filters", nargs="*")
    args = parser.parse_args()

    commands = pathlib.Path(args.build) / "compile_commands.json"
    if not commands.is_file():
        sys.exit(f"libtorch2_syntax_check: no '{commands}': configure a build first")
    cache = pathlib.Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    torch = unpack_headers(cache, TORCH_SUITE, "./usr/include/*")
    cuda = unpack_headers(cache, CUDA_SUITE, "*include*")
    include = torch / "usr/include"
    include_dirs = [
        stand_in_headers(cache),
        include,
        include / "torch/csrc/api/include",
        cuda / "usr/include",
    ]
    version = (include / "torch/csrc/api/include/torch/version.h").read_text()
    parts = [
        line.split()[2]
        for line in version.splitlines()
        if line.startswith("#define TORCH_VERSION_") and line.split()[1][14:] in ("MAJOR", "MINOR", "PATCH")
    ]
    print("LibTorch headers " + ".".join(parts) + ", CUDA runtime headers from " + CUDA_SUITE[2], flush=True)

    entries = [
        e
        for e in json.loads(commands.read_text())
        if QT_ONLY not in e["file"]
        and "/build/" not in e["file"]
        and (not args.filters or any(f in e["file"] for f in args.filters))
    ]

    def check(entry: dict):
        result = subprocess.run(
            syntax_command(entry, include_dirs),
            cwd=entry["directory"],
            capture_output=True,
            text=True,
        )
        return entry["file"], result.returncode, result.stderr

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for file, status, errors in pool.map(check, entries):
            print(("ok    " if status == 0 else "FAIL  ") + file, flush=True)
            if status != 0:
                failed += 1
                print(errors, flush=True)
    print(f"{len(entries)} sources against LibTorch 2.x headers: {failed} failed")
    return failed


if __name__ == "__main__":
    sys.exit(main())
