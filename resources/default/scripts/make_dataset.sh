#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes the bundled fine-tuning dataset: "which book is this verse from?" over eight books of
# the King James Bible (Debian's bible-kjv package), as prompt-completion JSON lines:
#
#   {"prompt": "Verse: In the beginning God created the heaven and the earth.\nBook:", "completion": " Genesis\n"}
#
# Every 4th verse of each book is taken, at most 160 per book, so the set is the same on every
# machine (no random numbers). Accuracy is measured by exact match of the first line generated
# after "Book:" (`ftw eval --answer first-line`).
#
#   resources/default/scripts/make_dataset.sh OUT_FILE
set -eu
out=${1:?usage: make_dataset.sh OUT_FILE}
command -v bible >/dev/null || { echo "make_dataset.sh: needs 'bible' (apt install bible-kjv)" >&2; exit 2; }
bible -f "Gen1:1-Rev22:21" | awk '
BEGIN {
    name["Ge"] = "Genesis"; name["Lev"] = "Leviticus"; name["Psa"] = "Psalms"
    name["Prv"] = "Proverbs"; name["Isa"] = "Isaiah"; name["Mat"] = "Matthew"
    name["Rom"] = "Romans"; name["Rev"] = "Revelation"
    every = 4; most = 160
}
{
    ref = $1
    book = ref
    sub(/[0-9]+:[0-9]+$/, "", book)
    if (!(book in name)) next
    seen[book]++
    if (seen[book] % every != 1 || taken[book] >= most) next
    taken[book]++
    text = substr($0, length(ref) + 2)
    gsub(/\\/, "\\\\", text)
    gsub(/"/, "\\\"", text)
    printf "{\"prompt\": \"Verse: %s\\nBook:\", \"completion\": \" %s\\n\"}\n", text, name[book]
}' >"$out.partial"
mv "$out.partial" "$out"
echo "make_dataset.sh: $(wc -l <"$out") examples in $out"
