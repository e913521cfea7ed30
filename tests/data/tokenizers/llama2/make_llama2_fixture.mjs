// make_llama2_fixture.mjs -- build the Llama 2 reference tokenizer fixture for FTW's tokenizer.json
// implementation (SentencePiece-style BPE with byte fallback).
//
// Outputs (next to this script):
//   llama2.tokenizer.json  HF-style tokenizer.json for Llama 2 (layout of meta-llama/Llama-2-7b-hf),
//                          built from npm `llama-tokenizer-js` (base64 vocab + 16-bit packed merges
//                          baked into its source)
//   llama2_cases.json      [{tokenizer:"llama2", text, ids[, decoded]}], one case per line, encoded by
//                          @huggingface/tokenizers (encode(text, {add_special_tokens:false}))
//
// Cross-check: llama-tokenizer-js's encode(text, add_bos_token=false, add_preceding_space=true).
//   add_preceding_space must be true: the HF normalizer Prepend("▁") always adds the SentencePiece
//   dummy prefix, and llama-tokenizer-js does the same thing with add_preceding_space=true.
//   llama-tokenizer-js has no notion of special tokens, so for the comparison the text is first split
//   on the literal strings <unk>, <s>, </s> (which HF extracts as added tokens before normalizing),
//   each special piece maps to its id and every other non-empty piece is encoded separately --
//   exactly what the HF pipeline does with non-normalized added tokens.
// Round trip: HF decode(ids) must return the text exactly, except for texts with a special token
//   followed by more text, where the legacy Llama pipeline inserts a "▁" after the special token
//   (Prepend is applied to each segment); those cases list their exact expected decode below.
// Exit code 0 when every case agrees and round-trips as expected; otherwise 1.
//
// Usage: npm ci && node make_llama2_fixture.mjs

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { LlamaTokenizer } from "llama-tokenizer-js";

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));

function fail(msg) {
  throw new Error(msg);
}

// ---------------------------------------------------------------------------------------------
// Serialisation helpers. JSON.stringify on a plain object would hoist integer-like keys
// ("0", "1", ... -- Llama 2 has single-digit tokens "0".."9") to the front, so vocab is written
// by hand in id order (as HF does).
// ---------------------------------------------------------------------------------------------
function vocabJson(idToToken) {
  const parts = new Array(idToToken.length);
  for (let id = 0; id < idToToken.length; id++) {
    parts[id] = JSON.stringify(idToToken[id]) + ":" + id;
  }
  return "{" + parts.join(",") + "}";
}

// `model` is an object whose "vocab" and "merges" are emitted at the end (HF field order).
function tokenizerJson(head, modelHead, idToToken, merges) {
  const modelStr =
    JSON.stringify(modelHead).slice(0, -1) +
    ',"vocab":' + vocabJson(idToToken) +
    ',"merges":' + JSON.stringify(merges) + "}";
  return JSON.stringify(head).slice(0, -1) + ',"model":' + modelStr + "}";
}

function addedToken(id, content, normalized) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized, special: true };
}

// ---------------------------------------------------------------------------------------------
// Llama 2 from llama-tokenizer-js (llama-tokenizer.js). Its single source file bakes two JS
// string constants (see the package's data-conversion.py, which made them from an HF
// tokenizer.json):
//   llama_vocab_base64  : base64(UTF-8("tok0\ntok1\n...tok31999")) -- line index == token id
//                         (SentencePiece form: space is "▁", bytes are "<0xNN>"; no token holds '\n').
//   llama_merges_binary : base64 of Python struct.pack(f"{n}H", ...) (native order, little-endian as
//                         the package reads it: byte0 + (byte1 << 8)) -- uint16 token ids;
//                         consecutive pairs (left id, right id) are the HF merges in rank order.
//                         The package keys merges by "left right" with priority 2*rank+1.
// ---------------------------------------------------------------------------------------------
function extractStringConst(src, name) {
  const m = src.match(new RegExp(`const ${name} = "([A-Za-z0-9+/=]*)"`));
  if (!m) fail(`llama2: could not find const ${name} in llama-tokenizer.js`);
  return m[1];
}

function buildLlama2() {
  const srcPath = require.resolve("llama-tokenizer-js").replace(/\\/g, "/");
  const src = fs.readFileSync(srcPath, "utf8");
  const vocabB64 = extractStringConst(src, "llama_vocab_base64");
  const mergesB64 = extractStringConst(src, "llama_merges_binary");

  const vocab = Buffer.from(vocabB64, "base64").toString("utf8").split("\n");
  if (vocab.length !== 32000) fail(`llama2: expected 32000 tokens, got ${vocab.length}`);
  const tokenToId = new Map(vocab.map((t, i) => [t, i]));
  if (tokenToId.size !== vocab.length) fail("llama2: duplicate tokens in vocab");
  if (vocab[0] !== "<unk>" || vocab[1] !== "<s>" || vocab[2] !== "</s>") fail("llama2: unexpected special ids");
  for (let b = 0; b < 256; b++) {
    const want = `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
    if (vocab[3 + b] !== want) fail(`llama2: expected ${want} at id ${3 + b}, got ${vocab[3 + b]}`);
  }
  for (const t of vocab) if (t.includes(" ")) fail(`llama2: token with a plain space: ${JSON.stringify(t)}`);

  const bytes = Buffer.from(mergesB64, "base64");
  if (bytes.length % 4 !== 0) fail("llama2: merges blob is not a whole number of uint16 pairs");
  const merges = [];
  const mergePairs = [];
  for (let k = 0; k < bytes.length; k += 4) {
    const a = bytes.readUInt16LE(k), b = bytes.readUInt16LE(k + 2);
    if (a >= vocab.length || b >= vocab.length) fail(`llama2: merge id out of range at ${k / 4}`);
    if (!tokenToId.has(vocab[a] + vocab[b])) fail(`llama2: merge result ${vocab[a] + vocab[b]} not in vocab`);
    merges.push(vocab[a] + " " + vocab[b]);
    mergePairs.push([a, b]);
  }
  if (new Set(merges).size !== merges.length) fail("llama2: duplicate merges");

  // Cross-check the decoding against the package's own in-memory tables.
  const ref = new LlamaTokenizer();
  if (ref.vocabById.length !== vocab.length) fail("llama2: package vocab size differs");
  for (let i = 0; i < vocab.length; i++) if (ref.vocabById[i] !== vocab[i]) fail(`llama2: vocab mismatch at ${i}`);
  for (const [t, i] of tokenToId) if (ref.vocabByString.get(t) !== i) fail(`llama2: vocabByString mismatch for ${t}`);
  if (ref.merges.size !== merges.length) fail(`llama2: merges count ${ref.merges.size} vs ${merges.length}`);
  merges.forEach((m, r) => { if (ref.merges.get(m) !== 2 * r + 1) fail(`llama2: merge rank mismatch at ${r}`); });

  // Informational: compare the stored merge list with the one HF's LlamaConverter would derive
  // from the SentencePiece model (every vocab token splittable into two non-special vocab tokens;
  // ordered by the merged token's score, which for Llama 2 is id order, ties by left id then right
  // id). The whitespace-run pieces "▁▁", "▁▁▁", ... are user-defined pieces in Llama 2's
  // SentencePiece model (score -1e9 rather than -id), so the converter sorts their merges last; the
  // stored list does the same (in an order of its own within that tail), which is checked here.
  const onlySpaces = (t) => /^▁+$/.test(t);
  const derived = [];
  for (let id = 259; id < vocab.length; id++) {
    const chars = Array.from(vocab[id]);
    for (let cut = 1; cut < chars.length; cut++) {
      const l = tokenToId.get(chars.slice(0, cut).join("")), r = tokenToId.get(chars.slice(cut).join(""));
      if (l !== undefined && r !== undefined && l >= 3 && r >= 3) derived.push([id, l, r]);
    }
  }
  derived.sort((x, y) => onlySpaces(vocab[x[0]]) - onlySpaces(vocab[y[0]]) || x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  const nTail = derived.filter(([id]) => onlySpaces(vocab[id])).length;
  const nHead = derived.length - nTail;
  let firstDiff = -1;
  for (let i = 0; i < nHead; i++) {
    const d = derived[i], s = mergePairs[i];
    if (!s || d[1] !== s[0] || d[2] !== s[1]) { firstDiff = i; break; }
  }
  const derivedInfo = {
    derivedCount: derived.length,
    storedCount: merges.length,
    sameSet: derived.length === merges.length &&
      derived.every(([, l, r]) => ref.merges.has(vocab[l] + " " + vocab[r])),
    whitespaceRunMergesAtTail: nTail,
    tailIsWhitespaceRuns: mergePairs.slice(nHead).every(([a, b]) => onlySpaces(vocab[a] + vocab[b])),
    headSameOrder: firstDiff < 0,
    firstHeadOrderDifference: firstDiff < 0 ? null : {
      rank: firstDiff,
      stored: merges[firstDiff],
      derived: vocab[derived[firstDiff][1]] + " " + vocab[derived[firstDiff][2]],
    },
    tailSameOrder: mergePairs.slice(nHead).every(([a, b], i) => derived[nHead + i][1] === a && derived[nHead + i][2] === b),
  };

  // Field values mirror the meta-llama/Llama-2-7b-hf tokenizer.json on the Hugging Face hub.
  const head = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [addedToken(0, "<unk>", false), addedToken(1, "<s>", false), addedToken(2, "</s>", false)],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
  };
  const modelHead = {
    type: "BPE",
    dropout: null,
    unk_token: "<unk>",
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: true,
    byte_fallback: true,
    ignore_merges: false,
  };
  return { json: tokenizerJson(head, modelHead, vocab, merges), vocabSize: vocab.length, nMerges: merges.length, ref, derivedInfo };
}

// ---------------------------------------------------------------------------------------------
// Test texts. `back` (optional) is the exact expected HF decode when it is not the text itself.
// ---------------------------------------------------------------------------------------------
const CASES = [
  { text: "Hello world" },
  { text: "The quick brown fox jumps over the lazy dog." },
  { text: "don't" },
  { text: "I'LL be there; she's sure they'RE right, we've won, I'm fine, you'd see, it'S OK." },
  { text: "a  b\n\n\nc   \n d" },
  { text: "\tindented\ttabs\t\there\t" },
  { text: "1234567 3.14159" },
  { text: "Phone 555-0123, year 2024, 1,000,000.00 and 12345678901234567890" },
  { text: "café naïve résumé Ångström" },
  { text: "日本語のテキスト" },
  { text: "Привет, мир! Как дела?" },
  { text: "مرحبا بالعالم" },
  { text: "emoji 😀👍🏽 ok" },
  { text: "👩‍💻 writes code" },
  { text: "🇫🇷🇯🇵 flags" },
  { text: "def f(x):\n    return x**2  # square" },
  { text: "if (a != b) { return arr[i] >= 0 && !done; }" },
  { text: "!!!???...,,,;;;--- ***" },
  { text: "   leading spaces" },
  { text: "trailing spaces   " },
  { text: "" },
  { text: " " },
  { text: "\n" },
  { text: "line one\r\nline two\r\n\r\n" },
  { text: "Mixed ÀÉÎÕÜ ßøå ñ ç — “quotes” ‘single’ … €100 2024年" },
  { text: "supercalifragilisticexpialidocious antidisestablishmentarianism" },
  { text: "non\u00A0breaking and zero\u200Bwidth" },
  { text: "           grabbed" },
  { text: "The llama 🦙Ꙋ" },
  // Literal special-token strings: HF splits them out as added tokens (ids 1, 2, 0) even with
  // add_special_tokens=false, and Prepend("▁") is applied to every remaining segment (legacy Llama).
  { text: "end of text</s>" },
  { text: "<s>Hello world</s>", back: "<s> Hello world</s>" },
  { text: "a <s> b </s> c <unk> d", back: "a <s>  b </s>  c <unk>  d" },
];

// ---------------------------------------------------------------------------------------------
function sameIds(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const SPECIAL_IDS = new Map([["<unk>", 0], ["<s>", 1], ["</s>", 2]]);

// llama-tokenizer-js equivalent of the HF pipeline (see header comment).
function pkgEncode(ref, text) {
  const out = [];
  for (const piece of text.split(/(<unk>|<s>|<\/s>)/)) {
    if (piece === "") continue;
    if (SPECIAL_IDS.has(piece)) out.push(SPECIAL_IDS.get(piece));
    else out.push(...ref.encode(piece, false, true));
  }
  return out;
}

function main() {
  const report = { packages: {}, files: {}, mergeDerivation: null, disagreements: [], roundTripFailures: [], notes: [] };
  for (const p of ["@huggingface/tokenizers", "llama-tokenizer-js"]) {
    report.packages[p] = JSON.parse(fs.readFileSync(path.join(HERE, "node_modules", p, "package.json"), "utf8")).version;
  }

  const built = buildLlama2();
  report.mergeDerivation = built.derivedInfo;
  const file = "llama2.tokenizer.json";
  fs.writeFileSync(path.join(HERE, file), built.json);
  // Re-read from disk so the independent implementation sees exactly what was written.
  const tj = JSON.parse(fs.readFileSync(path.join(HERE, file), "utf8"));
  const hf = new Tokenizer(tj, { clean_up_tokenization_spaces: false });

  const cases = [];
  for (const { text, back: expectedBack } of CASES) {
    const ids = hf.encode(text, { add_special_tokens: false }).ids;
    if (ids.some((x) => typeof x !== "number" || !Number.isInteger(x) || x < 0 || x >= 32000))
      fail(`llama2: bad id for ${JSON.stringify(text)}`);
    cases.push(expectedBack === undefined ? { tokenizer: "llama2", text, ids } : { tokenizer: "llama2", text, ids, decoded: expectedBack });

    // Round trip through the HF decoder must reproduce the text exactly (or the documented legacy form).
    const want = expectedBack ?? text;
    const back = ids.length > 0 ? hf.decode(ids, { clean_up_tokenization_spaces: false }) : "";
    if (back !== want) report.roundTripFailures.push({ text, want, back });
    if (expectedBack !== undefined) report.notes.push({ text, note: "legacy decode (▁ prepended after special token)", back });

    // Cross-check against llama-tokenizer-js.
    const other = pkgEncode(built.ref, text);
    if (!sameIds(ids, other)) report.disagreements.push({ text, hf: ids, pkg: other });
    // The package's own decode must also agree with the text where no special token is involved.
    if (!/<unk>|<s>|<\/s>/.test(text) && ids.length > 0 && built.ref.decode(ids, false, true) !== text)
      report.roundTripFailures.push({ text, want: text, back: built.ref.decode(ids, false, true), via: "llama-tokenizer-js" });
  }

  // Sanity: the post-processor adds <s> (id 1) when add_special_tokens is on.
  const withBos = hf.encode("Hello world").ids;
  if (!sameIds(withBos, [1, ...hf.encode("Hello world", { add_special_tokens: false }).ids]))
    fail("llama2: TemplateProcessing did not prepend <s>");
  // Known reference values (from llama-tokenizer-js's own test-suite, Llama 2 ids).
  if (!sameIds(hf.encode("grabbed").ids, [1, 2646, 1327, 287]))
    fail("llama2: 'grabbed' does not tokenize to [1, 2646, 1327, 287]");

  report.files[file] = { bytes: fs.statSync(path.join(HERE, file)).size, vocab: built.vocabSize, merges: built.nMerges };
  // One case per line: diff-friendly and still plain JSON.
  const casesFile = "llama2_cases.json";
  fs.writeFileSync(path.join(HERE, casesFile), "[\n" + cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]\n");
  report.files[casesFile] = { bytes: fs.statSync(path.join(HERE, casesFile)).size, cases: cases.length };

  console.log(JSON.stringify(report, null, 2));
  if (report.disagreements.length || report.roundTripFailures.length) {
    console.error(`FAIL: ${report.disagreements.length} disagreements, ${report.roundTripFailures.length} round-trip failures`);
    process.exit(1);
  }
  console.error("OK");
}

main();
