#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/seed-*.

Usage: python3 tests/fuzz/make_seeds.py FTW_BINARY
FTW_BINARY (`ftw`) makes tiny models of each architecture: their config.json and tokenizer.json
are seeds; `ftw train --print-config` gives run configs of several methods, beside the bundled
resources/default/run.json, and `ftw pretrain --print-config` pretrain configs; one-step `ftw train`
runs on a tiny model give the adapter_config.json of each adapter method. Safetensors files,
datasets, tokenizer_config.json files and sharded checkpoints' index files are written here from
the format's definition. Files
named finding-* (inputs of past findings, kept after the fix) are left as they are.
"""
import json
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] -> the file's bytes (8-byte aligned header)."""
    header, offset, payload = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        payload += data
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text.encode() + payload


def safetensors_seeds():
    f32 = struct.pack("<6f", 1, -2, 3.5, 0, 1e-3, -7)
    write("safetensors", "f32-2x3", safetensors([("w", "F32", [2, 3], f32)], {"format": "pt"}))
    write("safetensors", "mixed", safetensors([
        ("model.embed_tokens.weight", "BF16", [2, 2], struct.pack("<4H", 0x3F80, 0, 0xBF80, 1)),
        ("a", "F16", [3], struct.pack("<3H", 0x3C00, 0x4000, 0)),
        ("b", "I64", [1], struct.pack("<q", -5)),
        ("c", "U8", [2, 1, 2], b"\x01\x02\x03\x04"),
        ("empty", "F32", [0, 4], b""),
    ]))
    write("safetensors", "scalar", safetensors([("s", "F64", [], struct.pack("<d", 2.5))]))
    write("safetensors", "header-only", safetensors([]))


def model_seeds(ftw):
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ["llama", "mistral", "qwen2", "qwen3", "gpt2"]:
            out = pathlib.Path(tmp) / arch
            subprocess.run([ftw, "make-tiny-model", str(out), "--arch", arch], check=True,
                           stdout=subprocess.DEVNULL)
            write("model_config", f"{arch}.json", (out / "config.json").read_bytes())
            write("tokenizer", f"{arch}.json", (out / "tokenizer.json").read_bytes())
            write("tokenizer_config", f"{arch}.json", (out / "tokenizer_config.json").read_bytes())
    for folder in sorted((HERE.parent / "data" / "configs").iterdir()):
        if (folder / "config.json").is_file():
            write("model_config", f"{folder.name}.json", (folder / "config.json").read_bytes())


def run_config_seeds(ftw):
    write("run_config", "bundled.json",
          (HERE.parent.parent / "resources" / "default" / "run.json").read_bytes())
    for method, extra in [("lora", ["--rslora", "--loraplus-ratio", "16"]), ("dora", []),
                          ("adalora", ["--init-r", "12", "--target-r", "4"]),
                          ("heterolora", ["--shortcuts"]), ("vera", []), ("bat", ["--r", "4"])]:
        config = subprocess.run([ftw, "train", "--model", "models/m", "--data", "data/d.jsonl",
                                 "--method", method, *extra, "--print-config"],
                                check=True, capture_output=True).stdout
        write("run_config", f"{method}.json", config)


def pretrain_config_seeds(ftw):
    for name, extra in [("defaults", []),
                        ("small", ["--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads",
                                   "2", "--intermediate", "128", "--untied-embeddings", "--steps",
                                   "20", "--scheduler", "linear"])]:
        with tempfile.TemporaryDirectory() as tmp:
            config = subprocess.run([ftw, "pretrain", "--tokenizer", "tok/tokenizer.json",
                                     "--data", "data/corpus.txt", "--out", "out/model", *extra,
                                     "--print-config"],
                                    check=True, capture_output=True, cwd=tmp).stdout.decode()
            # The paths, made absolute in the temporary folder, under the fuzz target's base.
            write("pretrain_config", f"{name}.json", config.replace(tmp, "/fuzz"))


def tokenizer_config_seeds():
    write("tokenizer_config", "bundled.json",
          (HERE.parent.parent / "resources" / "default" / "model" / "tokenizer_config.json").read_bytes())
    # As transformers writes it: special tokens as AddedToken objects, and a chat template.
    added = {"__type": "AddedToken", "lstrip": False, "normalized": False, "rstrip": False,
             "single_word": False}
    write("tokenizer_config", "hf-added-tokens.json", json.dumps({
        "add_bos_token": True, "add_eos_token": False,
        "bos_token": {**added, "content": "<s>"}, "eos_token": {**added, "content": "</s>"},
        "pad_token": None, "unk_token": {**added, "content": "<unk>"},
        "chat_template": "{% for message in messages %}{{ message['content'] }}{% endfor %}",
        "model_max_length": 2048, "tokenizer_class": "LlamaTokenizer"}, indent=2))


def checkpoint_index_seeds():
    # fuzz_checkpoint_index.cpp writes these shards and tensors beside the index.
    first, second = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    write("checkpoint_index", "two-shards.json", json.dumps({
        "metadata": {"total_size": 24, "format": "pt"},
        "weight_map": {"model.embed_tokens.weight": first, "model.norm.weight": first,
                       "lm_head.weight": second}}, indent=2))
    write("checkpoint_index", "one-shard.json", json.dumps({
        "weight_map": {"model.norm.weight": first}}))


def adapter_config_seeds(ftw):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        subprocess.run([ftw, "make-tiny-model", str(tmp / "m")], check=True, stdout=subprocess.DEVNULL)
        (tmp / "d.jsonl").write_text("".join(
            json.dumps({"prompt": f"{i}+1=", "completion": str(i + 1)}) + "\n" for i in range(8)))
        methods = ["lora", "pissa", "olora", "dora", "vera", "bone", "bat", "adalora", "clover"]
        for run, method in enumerate(methods, start=1):
            extra = ["--r", "4"] if method in ("bone", "bat") else []
            subprocess.run([ftw, "train", "--model", str(tmp / "m"), "--data", str(tmp / "d.jsonl"),
                            "--method", method, "--steps", "1", *extra, "--db", str(tmp / "ftw.db")],
                           check=True, capture_output=True)
            config = tmp / "runs" / str(run) / "adapter" / "adapter_config.json"
            # The temporary folder's name out, so that the seeds are the same on every run.
            write("adapter_config", f"{method}.json",
                  config.read_text().replace(str(tmp / "m"), "models/tiny"))
    write("adapter_config", "peft-lora.json", json.dumps({
        "peft_type": "LORA", "r": 16, "lora_alpha": 32, "lora_dropout": 0.05,
        "target_modules": ["q_proj", "v_proj"], "layers_to_transform": [0, 1],
        "init_lora_weights": "pissa_niter_4", "rank_pattern": {"q_proj": 8},
        "alpha_pattern": {"v_proj": 4.0}, "use_rslora": True, "bias": "none",
        "task_type": "CAUSAL_LM"}, indent=2))


def dataset_seeds():
    # The first byte picks the extension: 0 .jsonl, 1 .json, 2 .csv, 3 .txt.
    rows = [
        {"prompt": "2+3=", "completion": "5"},
        {"instruction": "Name the book.", "input": "In the beginning", "output": "Genesis"},
        {"text": "plain text to continue"},
        {"messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": "Hello."}]},
    ]
    write("dataset", "rows.jsonl", b"\x00" + "".join(json.dumps(r) + "\n" for r in rows).encode())
    write("dataset", "array.json", b"\x01" + json.dumps(rows[:2]).encode())
    write("dataset", "table.csv", b"\x02" + b'prompt,completion\n"a, b",c\n"say ""hi""",hi\n')
    write("dataset", "lines.txt", b"\x03" + "one line\n\nanother line, naïve\n".encode())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for target in ["safetensors", "model_config", "tokenizer", "dataset", "run_config",
                   "adapter_config", "tokenizer_config", "checkpoint_index", "pretrain_config"]:
        for old in (CORPUS / target).glob("seed-*"):
            old.unlink()
    safetensors_seeds()
    model_seeds(sys.argv[1])
    run_config_seeds(sys.argv[1])
    pretrain_config_seeds(sys.argv[1])
    tokenizer_config_seeds()
    checkpoint_index_seeds()
    adapter_config_seeds(sys.argv[1])
    dataset_seeds()


if __name__ == "__main__":
    main()
