#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""FTW's training step against the same model and LoRA in PyTorch's Python API, side by side.

What it measures
    The wall-clock time of one LoRA training step (forward, mean next-token cross-entropy,
    backward, reading the loss, gradient clipping, AdamW) of `ftw bench` and of the same
    Llama-family model and adapter written here with PyTorch's Python API (nn.Linear, F.linear,
    F.silu, F.cross_entropy, torch.optim.AdamW, clip_grad_norm_), in the way transformers'
    modeling_llama / modeling_qwen2 and PEFT's LoRA layer compute them. Both run on the CPU in
    fp32, on the same LibTorch shared libraries, with the same thread count, the same weights, the
    same token ids and the same adapter, in one run: the rounds alternate between the engine (a
    subprocess) and the Python step (this process), each round gives

        engine tokens/s / PyTorch-Python tokens/s

    from the medians of its timed steps, and the ratio printed is the median of the rounds'
    ratios. Pairing rounds this way matters on a shared machine whose speed changes from one
    minute to the next (a factor of up to 2 was seen on the 2-core CI machine); the ratio of the
    medians over all steps ("pooled") is printed too.

Why
    The spec's target: "a training step of the engine is at least as fast as the same model and
    adapter in PyTorch's Python API on the same LibTorch, measured side by side in one run", that
    is, a ratio of at least 1.0. The first-step losses of both sides must agree (to 1e-3
    relative) and so must the trainable parameter counts: otherwise it is not the same work, and
    the script fails.

How to run it
    apt-get install python3-torch          # Debian's torch 1.13: the LibTorch the engine uses
    cmake --workflow --preset ci           # or any build that makes build/<preset>/bin/ftw
    python3 tests/bench/compare_pytorch.py --shape bundled
    python3 tests/bench/compare_pytorch.py --shape qwen2.5-0.5b --batch-size 1 --steps 3

    For qwen2.5-0.5b (about 0.5 B parameters, ~6 GB of memory) use batch 1 or 2, seq-len 128 and
    3 steps (with --untimed-steps 1 --rounds 2 for a quicker run): a step takes seconds on 2
    cores. Where `python3` is not the interpreter that has torch (a pyenv shim, say), run
    /usr/bin/python3 instead.

    --python-only runs the Python side alone (no ftw needed) on --model DIR or the bundled model,
    with ftw bench's default adapter and optimiser settings, and prints the loss of every step.

The Python side uses the thread count the engine reports (torch.set_num_threads), the adapter and
optimiser settings it reports, and follows the engine's step: gradients set to None, forward,
loss, backward, loss.item(), clip_grad_norm_ (its value read as a float), AdamW.step(). The
learning rate stays constant (the engine's schedule changes nothing in the cost of a step).
"""

from __future__ import annotations

import argparse
import json
import math
import mmap
import resource
import struct
import sys
import time
from pathlib import Path

import ftw_bench
from ftw_bench import median, print_table, relative_difference

BUNDLED_MODEL = ftw_bench.REPO_ROOT / "resources" / "default" / "model"

# ftw bench's defaults (the bundled resources/default/run.json over the engine's), used by
# --python-only; a comparison takes the config the engine reports instead.
ENGINE_DEFAULT_ADAPTER = {
    "method": "lora", "r": 8, "lora_alpha": 16.0, "lora_dropout": 0.0, "use_rslora": False,
    "target_modules": ["all-linear"],
}
ENGINE_DEFAULT_TRAIN = {
    "learning_rate": 2e-3, "weight_decay": 0.0, "adam_beta1": 0.9, "adam_beta2": 0.999,
    "adam_epsilon": 1e-8, "max_grad_norm": 1.0, "seed": 0,
}

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:
    sys.exit(f"compare_pytorch: {sys.executable} cannot import torch: apt-get install "
             "python3-torch (and run this script with /usr/bin/python3 if `python3` is another "
             "one)")


def fail(message: str) -> None:
    ftw_bench.fail("compare_pytorch", message)


# --------------------------------------------------------------------------------------------
# Reading a Hugging Face model folder
# --------------------------------------------------------------------------------------------

def read_safetensors(path: Path) -> dict:
    """The tensors of a .safetensors file: 8-byte little-endian header length, a JSON header
    {name: {dtype, shape, data_offsets}}, then the raw bytes. The tensors view a private
    (copy-on-write) memory map, so nothing is read until it is used."""
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    data_start = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = dtypes.get(info["dtype"])
        if dtype is None:
            fail(f"{path}: tensor {name} has dtype {info['dtype']}; only F32, F16 and BF16 "
                 "are read")
        begin, end = info["data_offsets"]
        count = (end - begin) // torch.tensor([], dtype=dtype).element_size()
        if count == 0:
            tensors[name] = torch.empty(info["shape"], dtype=dtype)
            continue
        flat = torch.frombuffer(mapped, dtype=dtype, count=count, offset=data_start + begin)
        tensors[name] = flat.view(info["shape"])
    return tensors


class ModelConfig:
    """The config.json fields the forward pass needs (Llama and Qwen2)."""

    def __init__(self, folder: Path):
        raw = json.loads((folder / "config.json").read_text())
        self.model_type = raw.get("model_type", "llama")
        if self.model_type not in ("llama", "qwen2", "mistral"):
            fail(f"{folder}: model_type '{self.model_type}' is not supported here "
                 "(llama, qwen2 and mistral are)")
        if raw.get("rope_scaling"):
            fail(f"{folder}: rope_scaling is not supported by this script")
        self.hidden_size = raw["hidden_size"]
        self.intermediate_size = raw["intermediate_size"]
        self.num_layers = raw["num_hidden_layers"]
        self.num_heads = raw["num_attention_heads"]
        self.num_kv_heads = raw.get("num_key_value_heads") or self.num_heads
        self.head_dim = raw.get("head_dim") or self.hidden_size // self.num_heads
        self.eps = raw.get("rms_norm_eps", 1e-6)
        self.rope_theta = raw.get("rope_theta", 10000.0)
        self.vocab_size = raw["vocab_size"]
        self.tied = bool(raw.get("tie_word_embeddings", False))
        if self.model_type == "qwen2":  # q/k/v biases, none on o_proj
            self.qkv_bias, self.o_bias = True, False
        else:
            self.qkv_bias = self.o_bias = bool(raw.get("attention_bias", False))
        self.mlp_bias = bool(raw.get("mlp_bias", False))


# --------------------------------------------------------------------------------------------
# The model: a Llama-family decoder (transformers' modeling_llama / modeling_qwen2 in fp32)
# --------------------------------------------------------------------------------------------

def linear(in_features: int, out_features: int, bias: bool) -> "nn.Linear":
    # Not initialised: the weights are loaded right after.
    return torch.nn.utils.skip_init(nn.Linear, in_features, out_features, bias=bias)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, groups: int):
    """[b, kv_heads, s, d] -> [b, kv_heads * groups, s, d], each KV head repeated `groups` times
    in place (what repeat_interleave on dim 1 gives)."""
    if groups == 1:
        return x
    b, kv_heads, s, d = x.shape
    return x[:, :, None].expand(b, kv_heads, groups, s, d).reshape(b, kv_heads * groups, s, d)


class Attention(nn.Module):
    def __init__(self, c: ModelConfig, use_sdpa: bool):
        super().__init__()
        self.num_heads, self.num_kv_heads, self.head_dim = c.num_heads, c.num_kv_heads, c.head_dim
        self.groups = c.num_heads // c.num_kv_heads
        self.scaling = c.head_dim ** -0.5
        self.use_sdpa = use_sdpa
        self.q_proj = linear(c.hidden_size, c.num_heads * c.head_dim, c.qkv_bias)
        self.k_proj = linear(c.hidden_size, c.num_kv_heads * c.head_dim, c.qkv_bias)
        self.v_proj = linear(c.hidden_size, c.num_kv_heads * c.head_dim, c.qkv_bias)
        self.o_proj = linear(c.num_heads * c.head_dim, c.hidden_size, c.o_bias)

    def forward(self, x, cos, sin, causal_mask):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = repeat_kv(k, self.groups)
        v = repeat_kv(v, self.groups)
        if self.use_sdpa:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = torch.matmul(q, k.transpose(2, 3)) * self.scaling + causal_mask
            weights = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
            out = torch.matmul(weights, v)
        return self.o_proj(out.transpose(1, 2).reshape(b, s, -1))


class MLP(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.gate_proj = linear(c.hidden_size, c.intermediate_size, c.mlp_bias)
        self.up_proj = linear(c.hidden_size, c.intermediate_size, c.mlp_bias)
        self.down_proj = linear(c.intermediate_size, c.hidden_size, c.mlp_bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: ModelConfig, use_sdpa: bool):
        super().__init__()
        self.self_attn = Attention(c, use_sdpa)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.eps)

    def forward(self, x, cos, sin, causal_mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, causal_mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class DecoderBody(nn.Module):
    """transformers' LlamaModel: embeddings, blocks, final norm; RoPE tables and the causal mask
    are made once per forward and shared by every layer."""

    def __init__(self, c: ModelConfig, use_sdpa: bool):
        super().__init__()
        self.use_sdpa = use_sdpa
        self.embed_tokens = torch.nn.utils.skip_init(nn.Embedding, c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c, use_sdpa) for _ in range(c.num_layers))
        self.norm = RMSNorm(c.hidden_size, c.eps)
        exponents = torch.arange(0, c.head_dim, 2, dtype=torch.float64) / c.head_dim
        inv_freq = (1.0 / c.rope_theta ** exponents).float()
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, ids):
        seq = ids.shape[1]
        hidden = self.embed_tokens(ids)
        positions = torch.arange(seq, dtype=torch.float32)
        angles = torch.outer(positions, self.inv_freq)
        emb = torch.cat((angles, angles), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        causal_mask = None
        if not self.use_sdpa:
            causal_mask = torch.full((seq, seq), float("-inf")).triu(1)
        for layer in self.layers:
            hidden = layer(hidden, cos, sin, causal_mask)
        return self.norm(hidden)


class CausalLM(nn.Module):
    def __init__(self, c: ModelConfig, use_sdpa: bool):
        super().__init__()
        self.config = c
        self.model = DecoderBody(c, use_sdpa)
        self.lm_head = None if c.tied else linear(c.hidden_size, c.vocab_size, False)

    def forward(self, ids):
        hidden = self.model(ids)
        if self.lm_head is None:
            return F.linear(hidden, self.model.embed_tokens.weight)
        return self.lm_head(hidden)


def load_model(folder: Path, use_sdpa: bool) -> "CausalLM":
    """The model of `folder` in fp32 with every weight frozen."""
    config = ModelConfig(folder)
    model = CausalLM(config, use_sdpa)
    tensors = read_safetensors(folder / "model.safetensors")
    if config.tied:
        tensors.pop("lm_head.weight", None)
    state = {k: v for k, v in tensors.items() if not k.endswith("rotary_emb.inv_freq")}
    # copy_ converts F16 / BF16 to the fp32 parameters.
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        fail(f"{folder}/model.safetensors does not fit its config: missing {missing[:5]}, "
             f"unexpected {unexpected[:5]}")
    del tensors, state
    model.requires_grad_(False)
    return model


# --------------------------------------------------------------------------------------------
# LoRA (PEFT's semantics)
# --------------------------------------------------------------------------------------------

class LoraLinear(nn.Module):
    """base(x) + lora_B(lora_A(dropout(x))) * scaling, as PEFT's lora.Linear."""

    def __init__(self, base: "nn.Linear", r: int, alpha: float, dropout: float, rslora: bool):
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)); B starts at zero.
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.dropout = nn.Dropout(dropout) if dropout > 0.0 else nn.Identity()
        self.scaling = alpha / math.sqrt(r) if rslora else alpha / r

    def forward(self, x):
        return self.base_layer(x) + self.lora_B(self.lora_A(self.dropout(x))) * self.scaling


def is_target(name: str, targets: list) -> bool:
    """PEFT's list rule: the module's full name or a dotted suffix of it."""
    return any(name == t or name.endswith("." + t) for t in targets)


def add_lora(model: "CausalLM", adapter: dict) -> list:
    """Wraps the targeted nn.Linear modules of the blocks (never lm_head); returns the trainable
    parameters (every lora_A and lora_B)."""
    if adapter.get("method", "lora") != "lora":
        fail(f"method '{adapter['method']}' is not supported by this script (only lora is)")
    targets = ftw_bench.target_list(adapter)
    r = int(adapter["r"])
    wrapped = 0
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            if isinstance(child, nn.Linear) and full != "lm_head" and is_target(full, targets):
                setattr(parent, child_name,
                        LoraLinear(child, r, float(adapter["lora_alpha"]),
                                   float(adapter.get("lora_dropout", 0.0)),
                                   bool(adapter.get("use_rslora", False))))
                wrapped += 1
    if wrapped == 0:
        fail(f"target_modules {targets} select no module of the model")
    return [p for p in model.parameters() if p.requires_grad]


# --------------------------------------------------------------------------------------------
# The Python training step
# --------------------------------------------------------------------------------------------

def batch_ids(vocab: int, batch: int, seq_len: int, seed: int):
    """The ids the engine draws: the same LibTorch CPU generator with the same seed."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (batch, seq_len), generator=generator)


def run_python(model_dir: Path, adapter: dict, train: dict, batch: int, seq_len: int,
               steps: int, untimed: int, use_sdpa: bool) -> dict:
    """Builds the model, LoRA and AdamW afresh and times `steps` steps after `untimed` ones."""
    seed = int(train.get("seed", 0))
    torch.manual_seed(seed)  # LoRA A's init and dropout
    model = load_model(model_dir, use_sdpa)
    params = add_lora(model, adapter)
    model.train()
    optimizer = torch.optim.AdamW(
        params, lr=float(train["learning_rate"]),
        betas=(float(train["adam_beta1"]), float(train["adam_beta2"])),
        eps=float(train["adam_epsilon"]), weight_decay=float(train["weight_decay"]))
    max_norm = float(train.get("max_grad_norm", 0.0))
    vocab = model.config.vocab_size
    ids = batch_ids(vocab, batch, seq_len, seed)  # the same batch every step
    targets = ids[:, 1:].reshape(-1)

    losses, grad_norms, seconds = [], [], []
    for step in range(untimed + steps):
        started = time.perf_counter()
        # ---- the timed body: what the engine does each step ----
        optimizer.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab), targets)
        loss.backward()
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            fail(f"the Python loss became {loss_value} at step {step + 1}")
        if max_norm > 0.0:
            grad_norms.append(float(nn.utils.clip_grad_norm_(params, max_norm)))
        optimizer.step()
        # ---- end of the timed body ----
        elapsed = time.perf_counter() - started
        losses.append(loss_value)
        if step >= untimed:
            seconds.append(elapsed)
        del logits, loss
    trainable = sum(p.numel() for p in params)
    parameters = sum(p.numel() for p in model.parameters()) - trainable
    del model, optimizer, params
    return {"step_seconds": seconds, "losses": losses, "grad_norms": grad_norms,
            "first_loss": losses[0],
            "trainable_parameters": trainable, "parameters": parameters}


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Time FTW's LoRA training step (ftw bench) against the same model and adapter "
                    "in PyTorch's Python API on the same LibTorch (CPU, fp32), side by side. "
                    "Prints engine tokens/s over Python tokens/s (the target is >= 1.0).",
        epilog="For --shape qwen2.5-0.5b use --batch-size 1 (or 2) --seq-len 128 --steps 3 "
               "(and --untimed-steps 1 --rounds 2 for a quicker run): a step takes seconds on 2 "
               "cores and the run needs about 6 GB of memory.")
    ftw_bench.add_run_arguments(parser, seq_len=128, steps=10, untimed_steps=2, rounds=6,
                                other="Python")
    parser.add_argument("--sdpa", action="store_true",
                        help="Python side: F.scaled_dot_product_attention (torch >= 2.0) "
                             "instead of the explicit softmax attention the engine computes")
    parser.add_argument("--tolerance", type=float, default=1e-3,
                        help="largest relative difference of the first-step losses (default 1e-3)")
    parser.add_argument("--python-only", action="store_true",
                        help="run the Python side alone (no ftw) on --model or the bundled model")
    parser.add_argument("--threads", type=int, default=None,
                        help="--python-only: torch threads (a comparison uses the engine's count)")
    ftw_bench.add_output_arguments(parser)
    args = parser.parse_args(argv)
    ftw_bench.check_run_arguments(parser, args)
    if args.sdpa and not hasattr(F, "scaled_dot_product_attention"):
        parser.error(f"--sdpa: torch {torch.__version__} has no scaled_dot_product_attention")
    return args


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def python_only(args) -> None:
    model_dir = args.model or BUNDLED_MODEL
    if args.shape != "bundled" and args.model is None:
        fail("--python-only needs --model DIR for shapes other than bundled")
    if args.threads:
        torch.set_num_threads(args.threads)
    adapter = dict(ENGINE_DEFAULT_ADAPTER)
    if args.r is not None:
        adapter["r"] = args.r
    if args.alpha is not None:
        adapter["lora_alpha"] = args.alpha
    if args.targets is not None:
        adapter["target_modules"] = [t for t in args.targets.split(",") if t]
    train = dict(ENGINE_DEFAULT_TRAIN)
    if args.seed is not None:
        train["seed"] = args.seed
    tokens = args.batch_size * args.seq_len
    all_seconds = []
    for round_index in range(args.rounds):
        result = run_python(model_dir, adapter, train, args.batch_size, args.seq_len, args.steps,
                            args.untimed_steps, args.sdpa)
        all_seconds += result["step_seconds"]
        print(f"round {round_index + 1}: median step {median(result['step_seconds']):.4f} s, "
              "losses " + " ".join(f"{x:.4f}" for x in result["losses"]))
    step = median(all_seconds)
    print(f"model {model_dir}: {result['parameters']:,} parameters, "
          f"{result['trainable_parameters']:,} trainable; batch {args.batch_size} x "
          f"{args.seq_len}, torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"Python step median {step:.4f} s, {tokens / step:,.1f} tokens/s; "
          f"first loss {result['first_loss']:.5f} (ln(vocab) = "
          f"{math.log(ModelConfig(model_dir).vocab_size):.3f}); peak RSS "
          f"{peak_rss_bytes() / 2**20:,.0f} MiB")
    if args.json:
        print(json.dumps({"python": {"step_seconds_median": step, "tokens_per_second":
                                     tokens / step, "losses": result["losses"],
                                     "trainable_parameters": result["trainable_parameters"],
                                     "threads": torch.get_num_threads()}}, indent=2))


def compare(args) -> None:
    ftw_bench.run_in_work_folder(args, "compare_pytorch", lambda ftw, work: compare_in(ftw, work, args))


def run_engine(ftw: str, model_args: list, args, steps: int, untimed: int) -> dict:
    return ftw_bench.run_engine(ftw, model_args, args, device="cpu", steps=steps, untimed=untimed)


def compare_in(ftw: str, work: Path, args) -> None:
    # 1. The model: an existing folder, the bundled one, or a random one of a standard shape that
    #    ftw bench writes and keeps. This first run (one step) also reports the config the engine
    #    uses and its thread count.
    model_args, model_dir = ftw_bench.model_arguments(args, work)
    print(f"preparing the model ({' '.join(model_args)}) ...", file=sys.stderr)
    setup = run_engine(ftw, model_args, args, steps=1, untimed=0)
    model_dir = model_dir or Path(setup["model"]["dir"])
    if not (model_dir / "model.safetensors").exists():
        fail(f"{model_dir} has no model.safetensors to read")
    threads = int(setup["threads"])
    torch.set_num_threads(threads)
    adapter = setup["config"]["adapter"]
    train_config = setup["config"]["train"]
    if adapter.get("method", "lora") != "lora":
        fail(f"the engine ran method '{adapter.get('method')}'; only lora is supported here")

    # 2. Alternating rounds (engine first in odd rounds, Python first in even ones), so that
    #    neither side always runs on a machine the other has just warmed or heated.
    python_rounds = []  # each round's timed step seconds
    engine_runs, python_runs = [], []
    for round_index in range(args.rounds):
        order = ("engine", "python") if round_index % 2 == 0 else ("python", "engine")
        for side in order:
            if side == "engine":
                out = run_engine(ftw, ["--model", str(model_dir)], args,
                                 steps=args.steps, untimed=args.untimed_steps)
                engine_runs.append(out)
                seconds = ftw_bench.step_seconds(out) or [out["train"]["step_seconds"]["median"]]
                first = float(out["train"]["first_loss"])
            else:
                out = run_python(model_dir, adapter, train_config, args.batch_size, args.seq_len,
                                 args.steps, args.untimed_steps, args.sdpa)
                python_runs.append(out)
                seconds = out["step_seconds"]
                python_rounds.append(seconds)
                first = out["first_loss"]
            print(f"round {round_index + 1} {side:<6}: median step {median(seconds):.4f} s, "
                  f"first loss {first:.6f}", file=sys.stderr)

    # 3. The same work on both sides?
    engine_train = engine_runs[0]["train"]
    trainable_engine = int(engine_train["trainable_parameters"])
    trainable_python = python_runs[0]["trainable_parameters"]
    if trainable_engine != trainable_python:
        fail(f"trainable parameters differ: engine {trainable_engine:,}, Python "
             f"{trainable_python:,}: not the same adapter")
    tokens = args.batch_size * args.seq_len
    if int(engine_train["tokens_per_step"]) != tokens:
        fail(f"the engine trained {engine_train['tokens_per_step']} tokens a step, not {tokens}")
    engine_first = [float(r["train"]["first_loss"]) for r in engine_runs]
    python_first = [r["first_loss"] for r in python_runs]
    loss_difference = engine_first[0] - python_first[0]
    relative = relative_difference(engine_first[0], python_first[0])
    worst = max(relative_difference(e, p) for e in engine_first for p in python_first)

    # 4. The figures: medians over every timed step of each side.
    engine_step, python_step, statistic = ftw_bench.side_medians(engine_runs, python_rounds)
    engine_tps = tokens / engine_step
    python_tps = tokens / python_step
    ratio = engine_tps / python_tps
    paired = ftw_bench.paired_ratio(engine_runs, python_rounds)
    shape = args.shape if args.model is None else str(args.model)
    engine_peak = max(int(r["train"].get("peak_memory_bytes", 0)) for r in engine_runs)
    figures = {
        "shape": shape,
        "arch": setup["model"].get("arch"),
        "model_dir": str(model_dir),
        "parameters": int(setup["model"].get("parameters", python_runs[0]["parameters"])),
        "trainable_parameters": trainable_engine,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "tokens_per_step": tokens,
        "steps": args.steps,
        "untimed_steps": args.untimed_steps,
        "rounds": args.rounds,
        "statistic": statistic,
        "threads": {"engine": threads, "python": torch.get_num_threads()},
        "torch": {"engine": setup.get("torch"), "python": torch.__version__},
        "adapter": adapter,
        "engine": {"step_seconds_median": engine_step, "tokens_per_second": engine_tps,
                   "rounds": [r["train"]["step_seconds"] for r in engine_runs],
                   "first_loss": engine_first,
                   "reported_tokens_per_second": [r["train"].get("tokens_per_second")
                                                  for r in engine_runs],
                   "peak_memory_bytes": engine_peak},
        "python": {"step_seconds_median": python_step, "tokens_per_second": python_tps,
                   "rounds": python_rounds, "first_loss": python_first,
                   "peak_rss_bytes": peak_rss_bytes(), "sdpa": args.sdpa},
        "ratio": paired,
        "pooled_ratio": ratio,
        "first_loss_difference": loss_difference,
        "first_loss_relative_difference": relative,
    }
    print_table([
        ("shape", f"{shape} ({figures['arch']})"),
        ("parameters", f"{figures['parameters']:,}"),
        ("trainable (LoRA)", f"{trainable_engine:,} (engine) = {trainable_python:,} (Python)"),
        ("batch x seq", f"{args.batch_size} x {args.seq_len} = {tokens} tokens/step"),
        ("steps", f"{args.rounds} rounds x ({args.untimed_steps} untimed + {args.steps} timed)"),
        ("threads", f"engine {threads}, Python {torch.get_num_threads()}"),
        ("statistic", statistic),
        ("round medians", "engine " + ", ".join(
            f"{r['train']['step_seconds']['median'] * 1000:.1f}" for r in engine_runs)
            + " ms; PyTorch " + ", ".join(f"{median(r) * 1000:.1f}" for r in python_rounds)
            + " ms"),
        ("engine step", f"{engine_step * 1000:10.1f} ms  {engine_tps:12,.1f} tokens/s"),
        ("PyTorch step", f"{python_step * 1000:10.1f} ms  {python_tps:12,.1f} tokens/s"
                         + (" (sdpa)" if args.sdpa else "")),
        ("ratio", f"{paired:.3f}  (engine tokens/s / PyTorch tokens/s, the median over rounds "
                  "of each round's ratio; target >= 1.0)"),
        ("pooled ratio", f"{ratio:.3f}  (of the medians over all rounds' steps: more exposed "
                         "to the machine's speed changing between rounds)"),
        ("first loss", f"engine {engine_first[0]:.6f}, PyTorch {python_first[0]:.6f}, "
                       f"difference {loss_difference:+.2e} ({relative:.1e} relative)"),
        ("peak memory", f"engine {engine_peak / 2**20:,.0f} MiB, Python process "
                        f"{figures['python']['peak_rss_bytes'] / 2**20:,.0f} MiB (resident)"),
    ])
    if args.json:
        print(json.dumps(figures, indent=2))
    if worst > args.tolerance:
        fail(f"the first-step losses differ by {worst:.2e} relative (> {args.tolerance:g}): "
             "the two sides are not doing the same work")


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.python_only:
        python_only(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
