# SPDX-License-Identifier: MIT
"""Running `ftw bench --json` and reading its figures: shared by compare_pytorch.py and
compare_hf_peft.py. Standard library only (no torch), so that --help works anywhere."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHAPES = ("bundled", "qwen2.5-0.5b", "tiny")
# The engine's "all-linear": every projection of the blocks, never lm_head.
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class BenchError(RuntimeError):
    """ftw bench could not be run or did not succeed."""


def default_ftw() -> str:
    """build/ci/bin/ftw under the repository root if it exists, else ftw on PATH."""
    built = REPO_ROOT / "build" / "ci" / "bin" / "ftw"
    if built.exists():
        return str(built)
    found = shutil.which("ftw")
    if found is None:
        raise BenchError("no ftw binary: build it (build/ci/bin/ftw) or pass --ftw PATH")
    return found


def parse_json_output(stdout: str) -> dict:
    """The one JSON object `ftw bench --json` prints (ignoring any text before it)."""
    start = stdout.find("{")
    if start < 0:
        raise ValueError("no JSON object in the output")
    obj, _ = json.JSONDecoder().raw_decode(stdout[start:])
    return obj


def bench_command(ftw: str, model_args: list, *, device: str, batch_size: int, seq_len: int,
                  steps: int, untimed_steps: int, method=None, r=None, alpha=None, targets=None,
                  seed=None, extra=()) -> list:
    """`ftw bench MODEL_ARGS ... --no-merge --json`; options left None take the engine's
    defaults (the output's config says which it used)."""
    cmd = [ftw, "bench", *model_args, "--device", device, "--no-merge", "--json",
           "--batch-size", str(batch_size), "--seq-len", str(seq_len),
           "--steps", str(steps), "--untimed-steps", str(untimed_steps)]
    for flag, value in (("--method", method), ("--r", r), ("--alpha", alpha),
                        ("--targets", targets), ("--seed", seed)):
        if value is not None:
            cmd += [flag, str(value)]
    return cmd + list(extra)


def run_bench(cmd: list, verbose: bool = False) -> dict:
    """Runs one `ftw bench --json` and returns its "output" object."""
    if verbose:
        print("+ " + " ".join(cmd), file=sys.stderr)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise BenchError(f"cannot run {cmd[0]}: {e}") from e
    try:
        result = parse_json_output(proc.stdout)
    except ValueError:
        result = None
    if proc.returncode != 0 or result is None or result.get("status") != "succeeded":
        detail = (proc.stdout[-3000:] + proc.stderr[-3000:]).strip()
        raise BenchError(f"`{' '.join(cmd)}` failed (exit status {proc.returncode}):\n{detail}")
    return result["output"]


def step_seconds(output: dict):
    """The engine's timed step durations, one per step, where its output lists them; else None
    (it gives only their median, mean, min and max)."""
    train = output["train"]
    stats = train["step_seconds"]
    if isinstance(stats, list):
        return [float(s) for s in stats]
    for key in ("all", "values", "steps"):
        if isinstance(stats.get(key), list):
            return [float(s) for s in stats[key]]
    for key in ("step_seconds_all", "step_seconds_list"):
        if isinstance(train.get(key), list):
            return [float(s) for s in train[key]]
    return None


def side_medians(engine_outputs: list, other_rounds: list):
    """(engine median, other side's median, how): the medians over every timed step of each
    side when the engine lists its steps; else the medians of the rounds' medians, for both sides
    alike (the engine reports only each round's median)."""
    engine_steps = [step_seconds(output) for output in engine_outputs]
    if all(steps is not None for steps in engine_steps):
        return (median([s for steps in engine_steps for s in steps]),
                median([s for steps in other_rounds for s in steps]), "median of all timed steps")
    return (median([float(o["train"]["step_seconds"]["median"]) for o in engine_outputs]),
            median([median(steps) for steps in other_rounds]), "median of the rounds' medians")


def paired_ratio(engine_outputs: list, other_rounds: list) -> float:
    """The median over rounds of (other side's round median / engine's round median): each round
    pairs two runs made minutes apart, so this is less moved by a machine whose speed drifts
    (shared hosts, thermal limits) than the ratio of the overall medians."""
    return median([median(other) / float(output["train"]["step_seconds"]["median"])
                   for output, other in zip(engine_outputs, other_rounds)])


def target_list(adapter: dict) -> list:
    """The adapter's target module names, "all-linear" (or nothing) spelled out."""
    targets = list(adapter.get("target_modules") or [])
    if not targets or targets == ["all-linear"]:
        return list(ALL_LINEAR)
    return targets


def median(values: list) -> float:
    return statistics.median(values)


def relative_difference(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), 1e-12)


def print_table(rows: list) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
