#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes the pretraining corpus of the bundled model: the King James Bible from Debian's
# bible-kjv package (public domain), one verse a line, without the references.
#
#   resources/default/scripts/make_corpus.sh OUT_FILE
#
# Needs the `bible` program (apt install bible-kjv; its text is in bible-kjv-text).
set -eu
out=${1:?usage: make_corpus.sh OUT_FILE}
command -v bible >/dev/null || { echo "make_corpus.sh: needs 'bible' (apt install bible-kjv)" >&2; exit 2; }
# `bible -f` prints "Ge1:1 In the beginning ..." for every verse; the first field is the reference.
bible -f "Gen1:1-Rev22:21" | sed -e 's/^[^ ]* //' >"$out.partial"
mv "$out.partial" "$out"
echo "make_corpus.sh: $(wc -l <"$out") verses, $(wc -c <"$out") bytes in $out"
