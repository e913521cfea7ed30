#!/bin/sh
# SPDX-License-Identifier: MIT
# Takes a screenshot of every page of the workbench from a real session: a tiny Llama model made
# by `ftw make-tiny-model`, a small arithmetic dataset, a few fine-tuning runs of different
# methods (one with a merged export) and a failed run, all recorded by the headless `ftw` in a
# fresh store; then `ftw-workbench` opens each page under Xvfb and saves it as PNG.
#
#   tests/screenshots/take_screenshots.sh [OUT_DIR] [BIN_DIR]
#
# OUT_DIR defaults to build/screenshots, BIN_DIR to build/ci/bin. Needs xvfb-run (package xvfb).
set -eu

out=${1:-build/screenshots}
bin=${2:-build/ci/bin}
ftw="$bin/ftw"
workbench="$bin/ftw-workbench"
for tool in "$ftw" "$workbench"; do
    [ -x "$tool" ] || { echo "take_screenshots.sh: $tool is not built" >&2; exit 2; }
done
command -v xvfb-run >/dev/null || { echo "take_screenshots.sh: xvfb-run is missing (apt install xvfb)" >&2; exit 2; }

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/ftw.db"

"$ftw" make-tiny-model "$work/model" --arch llama --seed 1 >/dev/null
i=1
while [ $i -le 240 ]; do
    printf '{"prompt": "What is %d plus %d?", "completion": " %d."}\n' $i $((i % 17)) $((i + i % 17))
    i=$((i + 1))
done >"$work/data.jsonl"

train() { # NAME METHOD [method options]
    name=$1 method=$2
    shift 2
    "$ftw" train --db "$db" --name "$name" --model "$work/model" --data "$work/data.jsonl" \
        --method "$method" --steps 300 --batch-size 8 --lr 3e-3 --eval-every 50 --seed 1 "$@" \
        >/dev/null 2>"$work/train.log" || { cat "$work/train.log" >&2; exit 1; }
}
train lora-r8 lora --r 8
train dora-r4 dora --r 4 --targets q_proj,v_proj
train adalora adalora --init-r 12 --target-r 4 --tinit 30 --tfinal 60 --delta-t 10
train bone-b8 bone --r 8
"$ftw" demo --db "$db" --name diverges --steps 80 --delay-ms 0 --fail-at 55 >/dev/null 2>&1 || true
"$ftw" merge --db "$db" --model "$work/model" --adapter "$work/runs/1/adapter" \
    --out "$work/merged-lora" --dtype bf16 >/dev/null 2>&1

# A run config for the New-run form, as `ftw train --print-config` writes it.
"$ftw" train --model "$work/model" --data "$work/data.jsonl" --method lora --r 8 --steps 300 \
    --name my-lora --print-config >"$work/run.json"

shot() { # NAME [workbench options]
    name=$1
    shift
    xvfb-run -a -s "-screen 0 1400x1000x24" "$workbench" --db "$db" "$@" \
        --screenshot "$out/$name.png" --screenshot-delay-ms 1500 2>"$work/$name.log" ||
        { cat "$work/$name.log" >&2; exit 1; }
    echo "$out/$name.png"
}
shot runs --page runs
shot new-run --config "$work/run.json"
shot live --run 1
shot live-failed --run 5
shot compare --compare 1,2,3,4
shot allocation --run 3 --page allocation
shot export --run 1 --page export
shot playground --run 1 --prompt "What is 40 plus 6?"
