#!/bin/sh
# SPDX-License-Identifier: MIT
# Rebuilds the bundled default model: the corpus (make_corpus.sh), a 4,096-token byte-level BPE
# tokenizer trained on it (`ftw train-tokenizer`), and a small Llama-architecture model pretrained
# from scratch on it (`ftw pretrain`), written to OUT_DIR (resources/default/model in the tree).
#
#   resources/default/scripts/make_model.sh OUT_DIR [WORK_DIR]
#
# Environment: FTW (default build/ci/bin/ftw). The run is recorded in WORK_DIR/ftw.db. Takes about
# 15 minutes on 2 CPU cores.
set -eu
out=${1:?usage: make_model.sh OUT_DIR [WORK_DIR]}
work=${2:-$(mktemp -d)}
ftw=${FTW:-build/ci/bin/ftw}
here=$(dirname "$0")
[ -x "$ftw" ] || { echo "make_model.sh: $ftw is not built" >&2; exit 2; }
mkdir -p "$work"

sh "$here/make_corpus.sh" "$work/kjv-corpus.txt"
"$ftw" train-tokenizer --data "$work/kjv-corpus.txt" --vocab-size 4096 --out "$work/tokenizer"
"$ftw" pretrain --name kjv-bundled --tokenizer "$work/tokenizer/tokenizer.json" \
    --data "$work/kjv-corpus.txt" --out "$out" \
    --hidden 128 --layers 6 --heads 4 --kv-heads 2 --intermediate 384 --max-positions 256 \
    --max-length 128 --epochs 3 --batch-size 16 --lr 2e-3 --seed 1 --save-every 500 \
    --sample-prompt "And the LORD said unto" --sample-tokens 40 --db "$work/ftw.db"
