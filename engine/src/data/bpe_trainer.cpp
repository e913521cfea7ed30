// SPDX-License-Identifier: MIT
#include "bpe_trainer.h"

#include "byte_level.h"
#include "tokenizer.h"

#include "core/atomic_file.h"

#include <ftw/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

namespace ftw::data {
namespace {

using Json = nlohmann::ordered_json;
using PairKey = std::uint64_t;

constexpr std::int64_t kByteTokens = 256;

/// The pre-tokenizer of every trained tokenizer.json; the trainer splits with the same one.
Json preTokenizerJson()
{
    return Json{{"type", "ByteLevel"},
                {"add_prefix_space", false},
                {"trim_offsets", true},
                {"use_regex", true}};
}

/// A tokenizer with no vocabulary whose preTokenize() is the written tokenizer's.
Tokenizer makeSplitter()
{
    const Json json{
        {"pre_tokenizer", preTokenizerJson()},
        {"model", Json{{"type", "BPE"}, {"vocab", Json::object()}, {"merges", Json::array()}}}};
    return Tokenizer::fromJsonText(json.dump(), "the BPE trainer's pre-tokenizer");
}

PairKey pairKey(std::int32_t left, std::int32_t right)
{
    return (static_cast<PairKey>(static_cast<std::uint32_t>(left)) << 32U) |
           static_cast<std::uint32_t>(right);
}

std::int32_t leftOf(PairKey key)
{
    return static_cast<std::int32_t>(key >> 32U);
}

std::int32_t rightOf(PairKey key)
{
    return static_cast<std::int32_t>(key & 0xFFFFFFFFU);
}

struct Word {
    std::vector<std::int32_t> symbols; // token ids
    std::int64_t count = 0;
};

struct HeapEntry {
    std::int64_t count = 0;
    PairKey pair = 0;
};

/// Orders a max-heap: higher count first; on a tie the pair whose left (then right) token is
/// smaller in bytes.
struct IsLowerPriority {
    const std::vector<std::string>* bytes = nullptr; // id -> the token's bytes

    bool operator()(const HeapEntry& a, const HeapEntry& b) const
    {
        if (a.count != b.count) {
            return a.count < b.count;
        }
        const std::string& aLeft = (*bytes)[static_cast<std::size_t>(leftOf(a.pair))];
        const std::string& bLeft = (*bytes)[static_cast<std::size_t>(leftOf(b.pair))];
        if (aLeft != bLeft) {
            return aLeft > bLeft;
        }
        return (*bytes)[static_cast<std::size_t>(rightOf(a.pair))] >
               (*bytes)[static_cast<std::size_t>(rightOf(b.pair))];
    }
};

/// The merge loop over counted words: pair counts and a pair -> words index kept up to date as
/// pairs are merged, and a max-heap of pairs whose stale entries are refreshed when popped.
class MergeState {
public:
    MergeState(const MergeState&) = delete; // the heap's comparator points at m_bytes
    MergeState& operator=(const MergeState&) = delete;
    MergeState(std::vector<Word> words, std::int64_t targetTokens)
        : m_words(std::move(words)), m_targetTokens(targetTokens), m_heap(IsLowerPriority{&m_bytes})
    {
        for (int b = 0; b < kByteTokens; ++b) {
            addToken(std::string(1, static_cast<char>(b)));
        }
        for (std::size_t w = 0; w < m_words.size(); ++w) {
            const std::vector<std::int32_t>& s = m_words[w].symbols;
            for (std::size_t i = 0; i + 1 < s.size(); ++i) {
                const PairKey key = pairKey(s[i], s[i + 1]);
                m_pairCounts[key] += m_words[w].count;
                m_pairWords[key].push_back(static_cast<std::int32_t>(w));
            }
        }
        for (const auto& [key, count] : m_pairCounts) {
            m_heap.push({count, key});
        }
    }

    void run()
    {
        while (static_cast<std::int64_t>(m_bytes.size()) < m_targetTokens && !m_heap.empty()) {
            const HeapEntry top = m_heap.top();
            m_heap.pop();
            const auto it = m_pairCounts.find(top.pair);
            const std::int64_t actual = it == m_pairCounts.end() ? 0 : it->second;
            if (actual <= 0) {
                continue;
            }
            if (actual != top.count) {
                m_heap.push({actual, top.pair}); // stale: its count went down since the push
                continue;
            }
            merge(top.pair);
        }
    }

    void fill(BpeVocabulary& out) const
    {
        for (const std::string& bytes : m_bytes) {
            out.tokens.push_back(bytesToByteLevel(bytes));
        }
        for (const PairKey key : m_merges) {
            out.merges.emplace_back(
                bytesToByteLevel(m_bytes[static_cast<std::size_t>(leftOf(key))]),
                bytesToByteLevel(m_bytes[static_cast<std::size_t>(rightOf(key))]));
        }
        for (const Word& word : m_words) {
            out.corpusTokens += word.count * static_cast<std::int64_t>(word.symbols.size());
        }
    }

private:
    std::int32_t addToken(const std::string& bytes)
    {
        const auto [it, isNew] =
            m_idOfBytes.emplace(bytes, static_cast<std::int32_t>(m_bytes.size()));
        if (isNew) {
            m_bytes.push_back(bytes);
        }
        return it->second;
    }

    void merge(PairKey key)
    {
        const std::int32_t left = leftOf(key);
        const std::int32_t right = rightOf(key);
        const std::int32_t merged = addToken(m_bytes[static_cast<std::size_t>(left)] +
                                             m_bytes[static_cast<std::size_t>(right)]);
        // NOTE: a pair can come back after its merge when another merge path rebuilds one of its
        // tokens; its rule is already listed (with the lower rank that encoding applies first).
        if (m_mergedPairs.insert(key).second) {
            m_merges.push_back(key);
        }
        std::vector<std::int32_t> words = std::move(m_pairWords[key]);
        m_pairWords.erase(key);
        std::sort(words.begin(), words.end());
        words.erase(std::unique(words.begin(), words.end()), words.end());

        m_deltas.clear();
        for (const std::int32_t w : words) {
            Word& word = m_words[static_cast<std::size_t>(w)];
            std::vector<std::int32_t>& s = word.symbols;
            std::vector<std::int32_t> next;
            next.reserve(s.size());
            for (std::size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == left && s[i + 1] == right) {
                    next.push_back(merged);
                    ++i;
                } else {
                    next.push_back(s[i]);
                }
            }
            if (next.size() == s.size()) {
                continue; // an index entry left over from before an earlier merge
            }
            for (std::size_t i = 0; i + 1 < s.size(); ++i) {
                m_deltas[pairKey(s[i], s[i + 1])] -= word.count;
            }
            for (std::size_t i = 0; i + 1 < next.size(); ++i) {
                const PairKey p = pairKey(next[i], next[i + 1]);
                m_deltas[p] += word.count;
                if (next[i] == merged || next[i + 1] == merged) {
                    m_pairWords[p].push_back(w);
                }
            }
            s = std::move(next);
        }
        for (const auto& [p, delta] : m_deltas) {
            if (delta == 0) {
                continue;
            }
            const std::int64_t count = m_pairCounts[p] += delta;
            if (count <= 0) {
                m_pairCounts.erase(p);
            } else if (delta > 0) {
                m_heap.push({count, p}); // decreases are caught when the old entry is popped
            }
        }
    }

    std::vector<Word> m_words;
    std::int64_t m_targetTokens = 0;
    std::vector<std::string> m_bytes; // id -> the token's bytes
    std::unordered_map<std::string, std::int32_t> m_idOfBytes;
    std::vector<PairKey> m_merges;
    std::unordered_set<PairKey> m_mergedPairs;
    std::unordered_map<PairKey, std::int64_t> m_pairCounts;
    std::unordered_map<PairKey, std::vector<std::int32_t>> m_pairWords;
    std::unordered_map<PairKey, std::int64_t> m_deltas;
    std::priority_queue<HeapEntry, std::vector<HeapEntry>, IsLowerPriority> m_heap;
};

void checkOptions(const BpeTrainingOptions& options)
{
    const auto specials = static_cast<std::int64_t>(options.specialTokens.size());
    if (options.vocabSize < kByteTokens + specials) {
        throw Error(ErrorCode::InvalidArgument,
                    "vocab_size must be at least " + std::to_string(kByteTokens + specials) +
                        " (256 byte tokens + " + std::to_string(specials) +
                        " special tokens), got " + std::to_string(options.vocabSize));
    }
    if (options.vocabSize > std::int64_t{1} << 30) {
        throw Error(ErrorCode::InvalidArgument,
                    "vocab_size must be at most 2^30, got " + std::to_string(options.vocabSize));
    }
    std::unordered_set<std::string> seen;
    for (std::size_t i = 0; i < options.specialTokens.size(); ++i) {
        if (options.specialTokens[i].empty() || !seen.insert(options.specialTokens[i]).second) {
            throw Error(ErrorCode::InvalidArgument,
                        "special_tokens[" + std::to_string(i) + "] must be a new, non-empty token");
        }
    }
}

/// The distinct pre-tokens of `lines` as byte sequences with their counts, in byte order.
std::vector<Word> countWords(const std::vector<std::string>& lines, BpeVocabulary& stats)
{
    const Tokenizer splitter = makeSplitter();
    std::unordered_map<std::string, std::int64_t> counts;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        stats.corpusBytes += static_cast<std::int64_t>(lines[i].size());
        try {
            for (std::string& piece : splitter.preTokenize(lines[i])) {
                ++counts[std::move(piece)];
            }
        } catch (const Error& e) {
            throw Error(ErrorCode::InvalidArgument,
                        "line " + std::to_string(i + 1) + " of the corpus: " + e.what());
        }
    }
    if (counts.empty()) {
        throw Error(ErrorCode::InvalidArgument,
                    "the corpus has no text to train on" +
                        (lines.empty() ? std::string()
                                       : " (" + std::to_string(lines.size()) + " empty lines)"));
    }
    std::vector<std::pair<std::string, std::int64_t>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<Word> words;
    words.reserve(sorted.size());
    for (const auto& [piece, count] : sorted) {
        Word word;
        for (const char b : byteLevelToBytes(piece).value_or(std::string())) {
            word.symbols.push_back(static_cast<unsigned char>(b));
        }
        word.count = count;
        stats.preTokenCount += count;
        words.push_back(std::move(word));
    }
    stats.distinctWords = static_cast<std::int64_t>(words.size());
    return words;
}

Json addedTokenJson(std::int64_t id, const std::string& content)
{
    return Json{{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
                {"rstrip", false}, {"normalized", false}, {"special", true}};
}

Json postProcessorJson(const BpeVocabulary& v)
{
    if (v.specialTokens.empty()) {
        return nullptr;
    }
    const std::string& bos = v.specialTokens.front();
    const auto bosId = static_cast<std::int64_t>(v.tokens.size());
    const auto special = [&](int typeId) {
        return Json{{"SpecialToken", Json{{"id", bos}, {"type_id", typeId}}}};
    };
    const auto sequence = [](const char* id, int typeId) {
        return Json{{"Sequence", Json{{"id", id}, {"type_id", typeId}}}};
    };
    return Json{{"type", "TemplateProcessing"},
                {"single", Json::array({special(0), sequence("A", 0)})},
                {"pair", Json::array({special(0), sequence("A", 0), special(1), sequence("B", 1)})},
                {"special_tokens", Json{{bos, Json{{"id", bos},
                                                   {"ids", Json::array({bosId})},
                                                   {"tokens", Json::array({bos})}}}}}};
}

} // namespace

std::int64_t BpeVocabulary::size() const
{
    return static_cast<std::int64_t>(tokens.size() + specialTokens.size());
}

BpeVocabulary trainByteLevelBpe(const std::vector<std::string>& lines,
                                const BpeTrainingOptions& options)
{
    checkOptions(options);
    BpeVocabulary result;
    std::vector<Word> words = countWords(lines, result);
    const auto specials = static_cast<std::int64_t>(options.specialTokens.size());
    MergeState state(std::move(words), options.vocabSize - specials);
    state.run();
    state.fill(result);
    result.specialTokens = options.specialTokens;
    return result;
}

std::string tokenizerJson(const BpeVocabulary& v)
{
    Json added = Json::array();
    for (std::size_t i = 0; i < v.specialTokens.size(); ++i) {
        added.push_back(
            addedTokenJson(static_cast<std::int64_t>(v.tokens.size() + i), v.specialTokens[i]));
    }
    Json vocab = Json::object();
    for (std::size_t id = 0; id < v.tokens.size(); ++id) {
        vocab[v.tokens[id]] = id;
    }
    Json merges = Json::array();
    for (const auto& [left, right] : v.merges) {
        merges.push_back(left + " " + right);
    }
    const Json json{{"version", "1.0"},
                    {"truncation", nullptr},
                    {"padding", nullptr},
                    {"added_tokens", std::move(added)},
                    {"normalizer", nullptr},
                    {"pre_tokenizer", preTokenizerJson()},
                    {"post_processor", postProcessorJson(v)},
                    {"decoder", Json{{"type", "ByteLevel"},
                                     {"add_prefix_space", true},
                                     {"trim_offsets", true},
                                     {"use_regex", true}}},
                    {"model", Json{{"type", "BPE"},
                                   {"dropout", nullptr},
                                   {"unk_token", nullptr},
                                   {"continuing_subword_prefix", nullptr},
                                   {"end_of_word_suffix", nullptr},
                                   {"fuse_unk", false},
                                   {"byte_fallback", false},
                                   {"ignore_merges", false},
                                   {"vocab", std::move(vocab)},
                                   {"merges", std::move(merges)}}}};
    return json.dump(2) + "\n";
}

std::string tokenizerConfigJson(const BpeVocabulary& v, std::int64_t modelMaxLength)
{
    Json decoder = Json::object();
    for (std::size_t i = 0; i < v.specialTokens.size(); ++i) {
        Json token = addedTokenJson(0, v.specialTokens[i]);
        token.erase("id");
        decoder[std::to_string(v.tokens.size() + i)] = std::move(token);
    }
    const auto special = [&](std::size_t i) -> Json {
        return i < v.specialTokens.size() ? Json(v.specialTokens[i]) : Json(nullptr);
    };
    const Json json{{"added_tokens_decoder", std::move(decoder)},
                    {"bos_token", special(0)},
                    {"eos_token", special(1)},
                    {"pad_token", special(2)},
                    {"clean_up_tokenization_spaces", false},
                    {"model_input_names", Json::array({"input_ids", "attention_mask"})},
                    {"model_max_length", modelMaxLength},
                    {"tokenizer_class", "PreTrainedTokenizerFast"}};
    return json.dump(2) + "\n";
}

void writeTokenizerFiles(const std::filesystem::path& dir, const BpeVocabulary& vocabulary,
                         std::int64_t modelMaxLength)
{
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        throw Error(ErrorCode::Io, "cannot create '" + dir.string() + "': " + ec.message());
    }
    core::writeFileAtomically(dir / "tokenizer.json", tokenizerJson(vocabulary));
    core::writeFileAtomically(dir / "tokenizer_config.json",
                              tokenizerConfigJson(vocabulary, modelMaxLength));
}

} // namespace ftw::data
