#!/bin/sh
# SPDX-License-Identifier: MIT
# HeteroLoRA against uniform LoRA at the same trainable-parameter count (seed-papers.md 3.8).
#
# For every seed: uniform LoRA at rank R_UNIFORM on every target module (the paper's rank-2
# baseline); then `ftw allocate` scores the same modules at rank R_UNIT with each zero-cost proxy
# (grad-norm, snip, synflow, random) and switches on modules at R_UNIT under a parameter budget
# equal to the uniform run's count, and trains that allocation with the same settings. Prints each
# arm's eval loss per seed, the mean, and the trainable parameters, and says whether the best
# allocation beat uniform LoRA.
#
#   tests/experiments/heterolora_vs_uniform.sh [MODEL_DIR DATA_FILE] 
#
# Without a model and data it makes a tiny random Llama (`ftw make-tiny-model`) and an
# arithmetic dataset. Environment: FTW (default build/ci/bin/ftw), SEEDS (default "1 2 3"),
# STEPS (default 60), TARGETS (default all-linear), R_UNIFORM (2), R_UNIT (8), LR (default 2e-3),
# SCALE (default 2: every arm's LoRA alpha is SCALE x its rank, so that alpha / r is the same and
# the arms differ only in where the parameters go).
# Needs python3 to read the JSON results.
set -eu

ftw=${FTW:-build/ci/bin/ftw}
seeds=${SEEDS:-"1 2 3"}
steps=${STEPS:-60}
targets=${TARGETS:-all-linear}
r_uniform=${R_UNIFORM:-2}
r_unit=${R_UNIT:-8}
lr=${LR:-2e-3}
scale=${SCALE:-2}
[ -x "$ftw" ] || { echo "heterolora_vs_uniform.sh: $ftw is not built" >&2; exit 2; }
command -v python3 >/dev/null || { echo "heterolora_vs_uniform.sh: needs python3" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/ftw.db"
if [ $# -ge 2 ]; then
    model=$1
    data=$2
else
    model="$work/model"
    data="$work/data.jsonl"
    "$ftw" make-tiny-model "$model" --arch llama --seed 1 >/dev/null
    i=0
    while [ $i -lt 400 ]; do
        a=$(( (i * 37 + 11) % 50 ))
        b=$(( (i * 53 + 7) % 50 ))
        printf '{"prompt": "%d+%d=", "completion": "%d;"}\n' $a $b $((a + b)) >>"$data"
        i=$((i + 1))
    done
fi

# json FIELD.PATH < JSON: one value of a JSON document on stdin.
json() {
    python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[key]
print(value)' "$1"
}

common="--model $model --data $data --targets $targets --steps $steps --lr $lr --batch-size 8 \
--validation-ratio 0.2 --db $db --json"
budget=$("$ftw" budget --model "$model" --method lora --r "$r_uniform" --targets "$targets" --json |
    json trainable_params)
echo "model $model, targets $targets, $steps steps, lr $lr, alpha = $scale r;" \
    "budget: uniform LoRA r=$r_uniform = $budget parameters"

results="$work/results.tsv"
for seed in $seeds; do
    # shellcheck disable=SC2086
    out=$("$ftw" train $common --method lora --r "$r_uniform" --alpha $((scale * r_uniform)) --seed "$seed" --name "uniform-$seed")
    printf 'uniform r=%s\t%s\t%s\t%s\n' "$r_uniform" "$seed" "$(echo "$out" | json output.eval_loss)" \
        "$(echo "$out" | json output.trainable_params)" >>"$results"
    for proxy in grad-norm snip synflow random; do
        # shellcheck disable=SC2086
        out=$("$ftw" allocate $common --r "$r_unit" --alpha $((scale * r_unit)) --proxy "$proxy" --budget-params "$budget" \
            --ranks "0,$r_unit" --seed "$seed" --name "$proxy-$seed" --train)
        printf '%s r=%s\t%s\t%s\t%s\n' "$proxy" "$r_unit" "$seed" \
            "$(echo "$out" | json train.output.eval_loss)" \
            "$(echo "$out" | json allocate.output.trainable_params)" >>"$results"
    done
done

python3 - "$results" <<'PY'
import statistics, sys
arms = {}
for line in open(sys.argv[1]):
    arm, seed, loss, params = line.rstrip("\n").split("\t")
    arms.setdefault(arm, []).append((int(seed), float(loss), int(params)))
print(f"{'arm':<16} {'params':>8}  {'mean eval loss':>14}  per seed")
for arm, rows in arms.items():
    losses = [loss for _, loss, _ in rows]
    params = "/".join(sorted({str(p) for _, _, p in rows}))
    print(f"{arm:<16} {params:>8}  {statistics.mean(losses):>14.4f}  "
          + "  ".join(f"{loss:.4f}" for loss in losses))
uniform = statistics.mean(l for _, l, _ in next(v for k, v in arms.items() if k.startswith("uniform")))
best_arm, best = min(((k, statistics.mean(l for _, l, _ in v)) for k, v in arms.items()
                      if not k.startswith("uniform")), key=lambda kv: kv[1])
verdict = "lower" if best < uniform else "NOT lower"
print(f"best allocation: {best_arm} at {best:.4f}, {verdict} than uniform LoRA at {uniform:.4f}")
PY
