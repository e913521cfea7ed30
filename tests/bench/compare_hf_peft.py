#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""FTW's training step against transformers + PEFT on an NVIDIA GPU, side by side.

What it measures
    The wall-clock time and peak GPU memory of a LoRA training step (forward under bf16 autocast,
    mean next-token cross-entropy, backward, reading the loss, gradient clipping, AdamW) of
    `ftw bench --device cuda` and of transformers' AutoModelForCausalLM wrapped by PEFT's
    get_peft_model, on the same model folder, adapter, batch and token ids, in one run: the rounds
    alternate between the engine (a subprocess) and transformers + PEFT (this process), and the
    medians over all timed steps (the medians of the rounds' medians for both sides while
    ftw bench reports only each round's median) are compared.

Targets
    engine tokens/s >= 1.3 x transformers + PEFT tokens/s, and engine peak memory <= 0.8 x theirs.
    It also prints the engine's flops_utilisation (and the same model-flops count over the
    transformers + PEFT step time, for comparison).

Requirements
    An NVIDIA GPU, PyTorch 2.x with CUDA, transformers (>= 4.36, for attn_implementation) and
    peft (>= 0.10, for use_rslora), and an ftw built against the CUDA LibTorch of that Python's
    torch:
        export CMAKE_PREFIX_PATH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
        cmake --preset cuda-headless && cmake --build --preset cuda-headless
        F=build/cuda-headless/bin/ftw
        python3 tests/bench/compare_hf_peft.py --ftw $F --shape bundled
        python3 tests/bench/compare_hf_peft.py --ftw $F --shape qwen2.5-0.5b --batch-size 8 --seq-len 512
        python3 tests/bench/compare_hf_peft.py --ftw $F --shape qwen2.5-0.5b --gradient-checkpointing
    (tests/gpu/device_kit.sh builds and runs all of this on a machine without FTW's other
    dependencies.)

The transformers side: from_pretrained(dir, torch_dtype=float32, attn_implementation="sdpa"),
moved to the GPU, get_peft_model(LoraConfig(...)) with the config the engine reports, AdamW over
the LoRA parameters, torch.autocast("cuda", dtype=torch.bfloat16) around the forward and loss
(model(input_ids=ids, labels=ids).loss), clip_grad_norm_, the same batch every step. Only the
step is timed, between two torch.cuda.synchronize(); the peak is torch.cuda.max_memory_allocated()
since the model was loaded (weights included).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
from pathlib import Path

import ftw_bench
from ftw_bench import median, print_table, relative_difference

SPEED_TARGET = 1.3   # engine tokens/s over transformers + PEFT tokens/s, at least
MEMORY_TARGET = 0.8  # engine peak memory over transformers + PEFT peak memory, at most


def fail(message: str) -> None:
    ftw_bench.fail("compare_hf_peft", message)


def import_libraries():
    """torch, transformers and peft, with a clear message for what is missing."""
    missing = []
    modules = {}
    for name in ("torch", "transformers", "peft"):
        try:
            modules[name] = __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        fail(f"{sys.executable} cannot import {', '.join(missing)}: this comparison needs "
             "PyTorch 2.x with CUDA, transformers and peft (pip install torch transformers peft)")
    torch = modules["torch"]
    if not torch.cuda.is_available():
        fail(f"torch {torch.__version__} sees no CUDA device")
    return modules["torch"], modules["transformers"], modules["peft"]


# --------------------------------------------------------------------------------------------
# transformers + PEFT
# --------------------------------------------------------------------------------------------

def load_hf_model(transformers, torch, model_dir: Path, attn_implementation: str):
    kwargs = {"torch_dtype": torch.float32, "attn_implementation": attn_implementation}
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs)
    except TypeError:  # a transformers older than attn_implementation: its default attention
        kwargs.pop("attn_implementation")
        model = transformers.AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs)
    return model.cuda()


def run_hf(libraries, model_dir: Path, adapter: dict, train: dict, args) -> dict:
    """Builds the model, adapter and optimiser afresh and times `steps` steps after the untimed
    ones; returns the step times, the losses and the peak memory."""
    torch, transformers, peft = libraries
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    seed = int(train.get("seed", 0))
    torch.manual_seed(seed)

    model = load_hf_model(transformers, torch, model_dir, args.attn_implementation)
    model.config.use_cache = False
    vocab = model.config.vocab_size
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    r = int(adapter["r"])
    config = peft.LoraConfig(
        r=r, lora_alpha=float(adapter["lora_alpha"]),
        target_modules=ftw_bench.target_list(adapter),
        lora_dropout=float(adapter.get("lora_dropout", 0.0)),
        use_rslora=bool(adapter.get("use_rslora", False)),
        bias="none", task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, config)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=float(train["learning_rate"]),
        betas=(float(train["adam_beta1"]), float(train["adam_beta2"])),
        eps=float(train["adam_epsilon"]), weight_decay=float(train["weight_decay"]))
    max_norm = float(train.get("max_grad_norm", 0.0))
    # The ids the engine draws: the LibTorch CPU generator with the same seed, then the GPU.
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (args.batch_size, args.seq_len), generator=generator).cuda()

    losses, seconds = [], []
    for step in range(args.untimed_steps + args.steps):
        torch.cuda.synchronize()
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss  # mean over the shifted tokens
        loss.backward()
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            fail(f"the transformers + PEFT loss became {loss_value} at step {step + 1}")
        if max_norm > 0.0:
            float(torch.nn.utils.clip_grad_norm_(params, max_norm))  # read, as the engine does
        optimizer.step()
        torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
        losses.append(loss_value)
        if step >= args.untimed_steps:
            seconds.append(elapsed)
        del loss

    result = {"step_seconds": seconds, "losses": losses, "first_loss": losses[0],
              "trainable_parameters": sum(p.numel() for p in params),
              "peak_memory_bytes": torch.cuda.max_memory_allocated()}
    del model, optimizer, params, ids
    gc.collect()
    torch.cuda.empty_cache()  # leave the GPU to the engine's next round
    return result


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Time FTW's LoRA training step (ftw bench --device cuda, bf16 autocast) "
                    "against transformers + PEFT on the same model, adapter and batch, side by "
                    f"side. Targets: engine tokens/s >= {SPEED_TARGET}x, peak memory <= "
                    f"{MEMORY_TARGET}x of transformers + PEFT.",
        epilog="Needs an NVIDIA GPU, PyTorch 2.x, transformers and peft, and an ftw built "
               "against that torch's CUDA LibTorch.")
    ftw_bench.add_run_arguments(parser, seq_len=512, steps=20, untimed_steps=3, rounds=3,
                                other="transformers")
    parser.add_argument("--gradient-checkpointing", action="store_true",
                        help="both sides: recompute the blocks' activations in the backward pass")
    parser.add_argument("--attn-implementation", default="sdpa",
                        help="transformers' attention (default sdpa)")
    parser.add_argument("--tolerance", type=float, default=2e-2,
                        help="largest relative difference of the first-step losses (bf16; "
                             "default 2e-2)")
    ftw_bench.add_output_arguments(parser)
    args = parser.parse_args(argv)
    ftw_bench.check_run_arguments(parser, args)
    return args


def run_engine(ftw: str, model_args: list, args, steps: int, untimed: int) -> dict:
    extra = ["--gradient-checkpointing"] if args.gradient_checkpointing else []
    return ftw_bench.run_engine(ftw, model_args, args, device="cuda", steps=steps, untimed=untimed,
                                extra=extra)


def mib(value) -> str:
    return f"{value / 2**20:,.0f} MiB" if value else "n/a"


def compare(libraries, ftw: str, work: Path, args) -> None:
    torch, transformers, peft = libraries
    # 1. The model (as compare_pytorch.py): a folder, the bundled one, or a random one of a
    #    standard shape that ftw bench writes and keeps; the config the engine uses.
    model_args, model_dir = ftw_bench.model_arguments(args, work)
    print(f"preparing the model ({' '.join(model_args)}) ...", file=sys.stderr)
    setup = run_engine(ftw, model_args, args, steps=1, untimed=0)
    model_dir = model_dir or Path(setup["model"]["dir"])
    if not str(setup.get("device", "cuda")).startswith("cuda"):
        fail(f"ftw bench ran on {setup.get('device')}, not on CUDA: is it built with CUDA?")
    adapter = setup["config"]["adapter"]
    train_config = setup["config"]["train"]
    if adapter.get("method", "lora") != "lora":
        fail(f"the engine ran method '{adapter.get('method')}'; only lora is supported here")

    # 2. Alternating rounds.
    hf_rounds = []  # each round's timed step seconds
    engine_runs, hf_runs = [], []
    for round_index in range(args.rounds):
        order = ("engine", "hf") if round_index % 2 == 0 else ("hf", "engine")
        for side in order:
            if side == "engine":
                out = run_engine(ftw, ["--model", str(model_dir)], args,
                                 steps=args.steps, untimed=args.untimed_steps)
                engine_runs.append(out)
                seconds = ftw_bench.step_seconds(out) or [out["train"]["step_seconds"]["median"]]
                first = float(out["train"]["first_loss"])
            else:
                out = run_hf(libraries, model_dir, adapter, train_config, args)
                hf_runs.append(out)
                seconds = out["step_seconds"]
                hf_rounds.append(seconds)
                first = out["first_loss"]
            print(f"round {round_index + 1} {side:<6}: median step {median(seconds):.4f} s, "
                  f"first loss {first:.5f}", file=sys.stderr)

    # 3. The same work on both sides?
    engine_train = engine_runs[0]["train"]
    trainable_engine = int(engine_train["trainable_parameters"])
    trainable_hf = hf_runs[0]["trainable_parameters"]
    if trainable_engine != trainable_hf:
        fail(f"trainable parameters differ: engine {trainable_engine:,}, PEFT {trainable_hf:,}: "
             "not the same adapter")
    tokens = args.batch_size * args.seq_len
    engine_first = [float(r["train"]["first_loss"]) for r in engine_runs]
    hf_first = [r["first_loss"] for r in hf_runs]
    relative = relative_difference(engine_first[0], hf_first[0])
    worst = max(relative_difference(e, h) for e in engine_first for h in hf_first)

    # 4. The figures.
    engine_step, hf_step, statistic = ftw_bench.side_medians(engine_runs, hf_rounds)
    engine_tps, hf_tps = tokens / engine_step, tokens / hf_step
    speed_ratio = engine_tps / hf_tps
    paired = ftw_bench.paired_ratio(engine_runs, hf_rounds)
    engine_peak = max(int(r["train"].get("peak_memory_bytes") or 0) for r in engine_runs)
    hf_peak = max(r["peak_memory_bytes"] for r in hf_runs)
    memory_ratio = engine_peak / hf_peak if engine_peak and hf_peak else None
    utilisation = engine_train.get("flops_utilisation")
    flops_per_step = engine_train.get("flops_per_step")
    hf_utilisation = None
    if utilisation and flops_per_step and engine_train.get("flops_per_second"):
        peak_flops = float(engine_train["flops_per_second"]) / float(utilisation)
        hf_utilisation = float(flops_per_step) / hf_step / peak_flops
    shape = args.shape if args.model is None else str(args.model)
    figures = {
        "shape": shape,
        "arch": setup["model"].get("arch"),
        "model_dir": str(model_dir),
        "parameters": setup["model"].get("parameters"),
        "trainable_parameters": trainable_engine,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "tokens_per_step": tokens,
        "steps": args.steps,
        "untimed_steps": args.untimed_steps,
        "rounds": args.rounds,
        "statistic": statistic,
        "gradient_checkpointing": args.gradient_checkpointing,
        "gpu": torch.cuda.get_device_name(),
        "versions": {"engine_torch": setup.get("torch"), "torch": torch.__version__,
                     "transformers": transformers.__version__, "peft": peft.__version__},
        "adapter": adapter,
        "engine": {"step_seconds_median": engine_step, "tokens_per_second": engine_tps,
                   "rounds": [r["train"]["step_seconds"] for r in engine_runs],
                   "first_loss": engine_first,
                   "peak_memory_bytes": engine_peak, "precision": setup.get("precision"),
                   "flops_per_step": flops_per_step, "flops_utilisation": utilisation},
        "transformers_peft": {"step_seconds_median": hf_step, "tokens_per_second": hf_tps,
                              "rounds": hf_rounds, "first_loss": hf_first,
                              "peak_memory_bytes": hf_peak, "flops_utilisation": hf_utilisation,
                              "attn_implementation": args.attn_implementation},
        "speed_ratio": speed_ratio,
        "paired_speed_ratio": paired,
        "memory_ratio": memory_ratio,
        "first_loss_relative_difference": relative,
        "targets": {"speed_ratio_at_least": SPEED_TARGET, "memory_ratio_at_most": MEMORY_TARGET,
                    "speed_met": speed_ratio >= SPEED_TARGET,
                    "memory_met": memory_ratio is not None and memory_ratio <= MEMORY_TARGET},
    }

    def percent(value):
        return f"{100 * value:.1f}%" if value is not None else "n/a"

    print_table([
        ("shape", f"{shape} ({figures['arch']}), {figures['gpu']}"),
        ("parameters", f"{figures['parameters']:,}" if figures["parameters"] else "n/a"),
        ("trainable (LoRA)", f"{trainable_engine:,} (engine) = {trainable_hf:,} (PEFT)"),
        ("batch x seq", f"{args.batch_size} x {args.seq_len} = {tokens} tokens/step"
                        + (", gradient checkpointing" if args.gradient_checkpointing else "")),
        ("steps", f"{args.rounds} rounds x ({args.untimed_steps} untimed + {args.steps} timed)"),
        ("statistic", statistic),
        ("round medians", "engine " + ", ".join(
            f"{r['train']['step_seconds']['median'] * 1000:.1f}" for r in engine_runs)
            + " ms; transformers+PEFT " + ", ".join(f"{median(r) * 1000:.1f}" for r in hf_rounds)
            + " ms"),
        ("engine", f"{engine_step * 1000:9.2f} ms/step {engine_tps:12,.0f} tokens/s  "
                   f"peak {mib(engine_peak)}  MFU {percent(utilisation)}"),
        ("transformers+PEFT", f"{hf_step * 1000:9.2f} ms/step {hf_tps:12,.0f} tokens/s  "
                              f"peak {mib(hf_peak)}  MFU {percent(hf_utilisation)}"),
        ("speed ratio", f"{speed_ratio:.3f}  (engine / transformers+PEFT tokens/s; target >= "
                        f"{SPEED_TARGET})"),
        ("paired ratio", f"{paired:.3f}  (median over rounds of the same ratio in each round)"),
        ("memory ratio", (f"{memory_ratio:.3f}" if memory_ratio is not None else "n/a")
         + f"  (engine / transformers+PEFT peak; target <= {MEMORY_TARGET})"),
        ("first loss", f"engine {engine_first[0]:.5f}, transformers+PEFT {hf_first[0]:.5f} "
                       f"({relative:.1e} relative)"),
    ])
    if args.json:
        print(json.dumps(figures, indent=2))
    if worst > args.tolerance:
        fail(f"the first-step losses differ by {worst:.2e} relative (> {args.tolerance:g}): "
             "the two sides are not doing the same work")


def main(argv=None) -> None:
    args = parse_args(argv)
    libraries = import_libraries()  # after parsing, so that --help needs none of them
    ftw_bench.run_in_work_folder(args, "compare_hf_peft",
                                 lambda ftw, work: compare(libraries, ftw, work, args))


if __name__ == "__main__":
    main()
