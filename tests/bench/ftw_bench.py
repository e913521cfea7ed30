# SPDX-License-Identifier: MIT
"""Running `ftw bench --json` and reading its figures: shared by compare_pytorch.py and
compare_hf_peft.py. Standard library only (no torch), so that --help works anywhere."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
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


# --------------------------------------------------------------------------------------------
# What both comparisons share: their options, the engine's runs and the work folder
# --------------------------------------------------------------------------------------------

def add_run_arguments(parser: argparse.ArgumentParser, *, seq_len: int, steps: int,
                      untimed_steps: int, rounds: int, other: str) -> None:
    """The ftw binary, the model, the adapter, the batch and the rounds (`other` names the side
    the engine alternates with)."""
    parser.add_argument("--ftw",
                        help="the ftw binary (default: build/ci/bin/ftw, else ftw on PATH)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--shape", choices=SHAPES, default="bundled",
                       help="a standard shape, made by ftw bench with random weights (bundled: the "
                            "repository's model; default)")
    where.add_argument("--model", type=Path, help="an existing Hugging Face model folder instead")
    parser.add_argument("--method", default=None, help="adapter method (only lora is supported)")
    parser.add_argument("--r", type=int, default=None, help="LoRA rank (default: the engine's, 8)")
    parser.add_argument("--alpha", type=float, default=None, help="LoRA alpha (engine default 16)")
    parser.add_argument("--targets", default=None,
                        help="target modules as ftw bench takes them (default all-linear)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=seq_len)
    parser.add_argument("--steps", type=int, default=steps, help="timed steps per round")
    parser.add_argument("--untimed-steps", type=int, default=untimed_steps,
                        help="warm-up steps per round")
    parser.add_argument("--seed", type=int, default=None, help="seed of the ids (engine default)")
    parser.add_argument("--rounds", type=int, default=rounds,
                        help=f"rounds of engine then {other} (the order alternates); "
                             f"default {rounds}")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work", type=Path,
                        help="work folder (default: a new one under /tmp, removed at the end)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (and the model written into it)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--verbose", action="store_true", help="show the ftw commands")


def check_run_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """parser.error() for the values add_run_arguments() cannot check by type."""
    if args.method not in (None, "lora"):
        parser.error(f"--method {args.method}: only lora is supported by this script")
    for name in ("batch_size", "steps", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.seq_len < 2:
        parser.error("--seq-len must be at least 2 (the loss predicts the next token)")
    if args.untimed_steps < 0:
        parser.error("--untimed-steps must be 0 or more")


def run_engine(ftw: str, model_args: list, args: argparse.Namespace, *, device: str, steps: int,
               untimed: int, extra=()) -> dict:
    """One `ftw bench --json` run with the options of add_run_arguments()."""
    cmd = bench_command(
        ftw, model_args, device=device, batch_size=args.batch_size, seq_len=args.seq_len,
        steps=steps, untimed_steps=untimed, method=args.method, r=args.r, alpha=args.alpha,
        targets=args.targets, seed=args.seed, extra=extra)
    return run_bench(cmd, args.verbose)


def model_arguments(args: argparse.Namespace, work: Path):
    """(ftw bench's model options, the model folder or None): --model's folder, the bundled
    model (its folder is in the output), or a random one of a standard shape that ftw bench
    writes into the work folder and keeps."""
    if args.model is not None:
        return ["--model", str(args.model)], args.model
    if args.shape == "bundled":
        return ["--shape", "bundled"], None
    return ["--shape", args.shape, "--save-model", str(work / "model")], work / "model"


def run_in_work_folder(args: argparse.Namespace, prefix: str, body) -> None:
    """body(ftw, work) in --work or a new folder under /tmp. A folder of our own is removed
    whole; of a --work folder, only the model written into it (unless --keep). A BenchError
    ends the script with its message."""
    try:
        ftw = args.ftw or default_ftw()
    except BenchError as e:
        fail(prefix, str(e))
    work = args.work or Path(tempfile.mkdtemp(prefix=f"ftw-{prefix}-"))
    work.mkdir(parents=True, exist_ok=True)
    writes_model = args.model is None and args.shape != "bundled"
    removed = work if not args.work else (work / "model" if writes_model else None)
    try:
        body(ftw, work)
    except BenchError as e:
        fail(prefix, str(e))
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        elif removed is not None:
            shutil.rmtree(removed, ignore_errors=True)


def fail(script: str, message: str) -> None:
    print(f"{script}: error: {message}", file=sys.stderr)
    sys.exit(1)
