// SPDX-License-Identifier: MIT
// The byte-level BPE trainer against merges worked by hand and against a plain recount-everything
// reference; the tokenizer.json it writes loaded back by FTW's Tokenizer.
#include "data/bpe_trainer.h"
#include "data/byte_level.h"
#include "data/regex.h"
#include "data/tokenizer.h"
#include "data/tokenizer_config.h"

#include "support/temp_dir.h"

#include <ftw/error.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace ftw::data {
namespace {

using Merges = std::vector<std::pair<std::string, std::string>>;

/// 256 byte tokens, `merges` merged tokens and the three special tokens.
BpeTrainingOptions withMerges(std::int64_t merges)
{
    BpeTrainingOptions options;
    options.vocabSize = 256 + merges + 3;
    return options;
}

/// Deterministic text: words of 1-7 letters from a small alphabet, some capitalised, with
/// punctuation, digits and an occasional accented letter (a fixed linear congruential generator).
std::vector<std::string> syntheticLines(int count)
{
    std::uint32_t state = 12345;
    const auto next = [&state](std::uint32_t n) {
        state = state * 1664525U + 1013904223U;
        return (state >> 8U) % n;
    };
    const std::vector<std::string> letters{"a", "e", "i", "o", "n", "s", "t", "r", "h", "é"};
    std::vector<std::string> lines;
    for (int i = 0; i < count; ++i) {
        std::string line;
        const std::uint32_t words = 3 + next(8);
        for (std::uint32_t w = 0; w < words; ++w) {
            if (w > 0) {
                line += next(9) == 0 ? ", " : " ";
            }
            std::string word;
            const std::uint32_t length = 1 + next(7);
            for (std::uint32_t k = 0; k < length; ++k) {
                word += letters[next(next(2) == 0 ? 4 : 10)];
            }
            if (next(6) == 0 && word[0] >= 'a' && word[0] <= 'z') {
                word[0] = static_cast<char>(word[0] - 'a' + 'A');
            }
            line += next(15) == 0 ? std::to_string(next(200)) : word;
        }
        lines.push_back(line + (next(3) == 0 ? "." : ""));
    }
    return lines;
}

/// The textbook algorithm, written independently: split with GPT-2's pattern, and before every
/// merge count every adjacent pair of every word again. Tokens are raw bytes here.
Merges referenceMerges(const std::vector<std::string>& lines, std::size_t targetTokens)
{
    const Regex regex(
        R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
    std::map<std::string, std::int64_t> counts;
    for (const std::string& line : lines) {
        for (const auto& [begin, end] : regex.findAll(line)) {
            ++counts[line.substr(begin, end - begin)];
        }
    }
    std::vector<std::pair<std::vector<std::string>, std::int64_t>> words;
    for (const auto& [word, count] : counts) {
        std::vector<std::string> symbols;
        for (const char b : word) {
            symbols.emplace_back(1, b);
        }
        words.emplace_back(symbols, count);
    }
    std::set<std::string> vocabulary;
    for (int b = 0; b < 256; ++b) {
        vocabulary.insert(std::string(1, static_cast<char>(b)));
    }
    Merges merges;
    std::set<std::pair<std::string, std::string>> listed;
    while (vocabulary.size() < targetTokens) {
        std::map<std::pair<std::string, std::string>, std::int64_t> pairs;
        for (const auto& [symbols, count] : words) {
            for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
                pairs[{symbols[i], symbols[i + 1]}] += count;
            }
        }
        if (pairs.empty()) {
            break;
        }
        // std::map iterates pairs in byte order: the first with the highest count wins ties.
        auto best = pairs.begin();
        for (auto it = pairs.begin(); it != pairs.end(); ++it) {
            if (it->second > best->second) {
                best = it;
            }
        }
        const auto [left, right] = best->first;
        for (auto& [symbols, count] : words) {
            std::vector<std::string> merged;
            for (std::size_t i = 0; i < symbols.size(); ++i) {
                if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
                    merged.push_back(left + right);
                    ++i;
                } else {
                    merged.push_back(symbols[i]);
                }
            }
            symbols = merged;
        }
        vocabulary.insert(left + right);
        if (listed.insert(best->first).second) {
            merges.emplace_back(bytesToByteLevel(left), bytesToByteLevel(right));
        }
    }
    return merges;
}

Tokenizer writeAndLoad(const test::TempDir& dir, const BpeVocabulary& vocabulary)
{
    writeTokenizerFiles(dir.path(), vocabulary, 512);
    return Tokenizer::fromFile(dir / "tokenizer.json");
}

void expectInvalidArgument(const std::vector<std::string>& lines, std::int64_t vocabSize,
                           const std::string& part)
{
    BpeTrainingOptions options;
    options.vocabSize = vocabSize;
    try {
        (void)trainByteLevelBpe(lines, options);
        FAIL() << "trained with vocab_size " << vocabSize;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

TEST(BpeTrainerTest, FirstMergesOfOneWordMatchTheHandWorkedCounts)
{
    // aaabdaaabac: (a a) 4 -> [aa a b d aa a b a c]; (aa a) 2 ties (a b) 2 and "a" < "aa" ->
    // [aa ab d aa ab a c]; (aa ab) 2 -> [aaab d aaab a c]; four pairs of 1, (a c) first in bytes
    // -> [aaab d aaab ac].
    const BpeVocabulary v = trainByteLevelBpe({"aaabdaaabac"}, withMerges(4));
    EXPECT_EQ(v.merges, (Merges{{"a", "a"}, {"a", "b"}, {"aa", "ab"}, {"a", "c"}}));
    ASSERT_EQ(v.tokens.size(), 260U);
    EXPECT_EQ(v.tokens[97], "a");
    EXPECT_EQ(v.tokens[32], "Ġ"); // byte 32, the space, in GPT-2's mapping
    EXPECT_EQ((std::vector<std::string>(v.tokens.begin() + 256, v.tokens.end())),
              (std::vector<std::string>{"aa", "ab", "aaab", "ac"}));
    EXPECT_EQ(v.corpusTokens, 4); // aaab d aaab ac
}

TEST(BpeTrainerTest, WordCountsAcrossLinesDecideTheMergesAsWorkedByHand)
{
    // Words: low x2, " lower", " lowest". (l o) 4 ties (o w) 4 -> (l o); (lo w) 4; then
    // (" " low) 2 ties (low e) 2 and the space byte comes first; (" low" e) 2; then pairs of 1:
    // (" lowe" r) before (" lowe" s) before (s t); then (" lowes" t).
    const BpeVocabulary v = trainByteLevelBpe({"low lower", "low lowest"}, withMerges(7));
    EXPECT_EQ(v.merges, (Merges{{"l", "o"},
                                {"lo", "w"},
                                {"Ġ", "low"},
                                {"Ġlow", "e"},
                                {"Ġlowe", "r"},
                                {"Ġlowe", "s"},
                                {"Ġlowes", "t"}}));
    EXPECT_EQ(v.preTokenCount, 4);
    EXPECT_EQ(v.distinctWords, 3);
    EXPECT_EQ(v.corpusBytes, 19);
}

TEST(BpeTrainerTest, IncrementalCountsGiveTheMergesOfAFullRecount)
{
    const std::vector<std::string> lines = syntheticLines(300);
    const BpeVocabulary v = trainByteLevelBpe(lines, withMerges(200));
    EXPECT_EQ(v.merges, referenceMerges(lines, 256 + 200));
}

TEST(BpeTrainerTest, TrainingToNIdsGivesExactlyNIdsWithTheSpecialTokensLast)
{
    test::TempDir dir;
    const BpeVocabulary v = trainByteLevelBpe(syntheticLines(200), withMerges(141));
    EXPECT_EQ(v.size(), 400);
    EXPECT_EQ(v.tokens.size(), 397U);
    EXPECT_GE(v.merges.size(), 141U);
    const Tokenizer t = writeAndLoad(dir, v);
    EXPECT_EQ(t.vocabSize(), 400);
    EXPECT_EQ(t.tokenToId("<|begin_of_text|>"), 397);
    EXPECT_EQ(t.tokenToId("<|end_of_text|>"), 398);
    EXPECT_EQ(t.tokenToId("<|pad|>"), 399);
    EXPECT_TRUE(t.isSpecial(397) && t.isSpecial(398) && t.isSpecial(399));
    EXPECT_FALSE(t.isSpecial(396));
    EXPECT_EQ(t.templateBosId(), 397);
    const TokenizerConfig config = readTokenizerConfig(dir / "tokenizer_config.json");
    EXPECT_EQ(config.bosToken, "<|begin_of_text|>");
    EXPECT_EQ(config.eosToken, "<|end_of_text|>");
    EXPECT_EQ(config.padToken, "<|pad|>");
    EXPECT_EQ(t.bosIdToAdd(config.shouldAddBos, config.bosToken), 397);
}

TEST(BpeTrainerTest, ACorpusWithoutEnoughPairsStopsEarly)
{
    const BpeVocabulary v = trainByteLevelBpe({"ab ab"}, withMerges(100));
    EXPECT_EQ(v.merges, (Merges{{"a", "b"}, {"Ġ", "ab"}}));
    EXPECT_EQ(v.size(), 256 + 2 + 3);
}

TEST(BpeTrainerTest, WrittenFileRoundTripsAnyTextAndUsesMergedTokensForTrainingWords)
{
    test::TempDir dir;
    std::vector<std::string> lines = syntheticLines(300);
    lines.insert(lines.begin(), 50, "covenant covenant");
    const BpeVocabulary v = trainByteLevelBpe(lines, withMerges(300));
    const Tokenizer t = writeAndLoad(dir, v);
    for (const std::string text :
         {"In the beginning God created the heaven and the earth.", "héllo, wörld — ünïcödé 😀",
          "line one\nline two\r\n\n\ttabs  and   spaces ", "日本語のテキスト", "", " ", "\n"}) {
        const std::vector<std::int64_t> ids = t.encode(text);
        EXPECT_EQ(t.decode(ids), text);
        for (const std::int64_t id : ids) {
            EXPECT_LT(id, 256 + 300);
        }
    }
    // Every training line encodes to the pieces the trainer ended with, in fewer ids than bytes.
    std::int64_t encoded = 0;
    for (const std::string& line : lines) {
        const std::vector<std::int64_t> ids = t.encode(line);
        EXPECT_LT(ids.size(), line.size()) << line;
        encoded += static_cast<std::int64_t>(ids.size());
    }
    EXPECT_EQ(encoded, v.corpusTokens);
    // A frequent training word is one merged token; <|begin_of_text|> in text is its id.
    const std::optional<std::int64_t> covenant = t.tokenToId("covenant");
    const std::optional<std::int64_t> spaceCovenant = t.tokenToId("Ġcovenant");
    ASSERT_TRUE(covenant && spaceCovenant);
    EXPECT_EQ(t.encode("<|begin_of_text|>covenant covenant"),
              (std::vector<std::int64_t>{256 + 300, *covenant, *spaceCovenant}));
}

TEST(BpeTrainerTest, WrittenFileHasHuggingFacesLayout)
{
    const BpeVocabulary v = trainByteLevelBpe({"low lower", "low lowest"}, withMerges(7));
    const nlohmann::json j = nlohmann::json::parse(tokenizerJson(v));
    EXPECT_EQ(j["version"], "1.0");
    EXPECT_EQ(j["pre_tokenizer"]["type"], "ByteLevel");
    EXPECT_EQ(j["pre_tokenizer"]["add_prefix_space"], false);
    EXPECT_EQ(j["decoder"]["type"], "ByteLevel");
    EXPECT_EQ(j["post_processor"]["type"], "TemplateProcessing");
    EXPECT_EQ(j["post_processor"]["single"][0]["SpecialToken"]["id"], "<|begin_of_text|>");
    EXPECT_EQ(j["post_processor"]["special_tokens"]["<|begin_of_text|>"]["ids"][0], 263);
    EXPECT_EQ(j["model"]["type"], "BPE");
    EXPECT_EQ(j["model"]["vocab"].size(), 263U);
    EXPECT_EQ(j["model"]["vocab"]["Ġlowest"], 262);
    EXPECT_EQ(j["model"]["merges"][2], "Ġ low");
    ASSERT_EQ(j["added_tokens"].size(), 3U);
    EXPECT_EQ(j["added_tokens"][2]["content"], "<|pad|>");
    EXPECT_EQ(j["added_tokens"][2]["id"], 265);
    EXPECT_EQ(j["added_tokens"][2]["special"], true);
    const nlohmann::json config = nlohmann::json::parse(tokenizerConfigJson(v, 512));
    EXPECT_EQ(config["tokenizer_class"], "PreTrainedTokenizerFast");
    EXPECT_EQ(config["model_max_length"], 512);
    EXPECT_EQ(config["added_tokens_decoder"]["264"]["content"], "<|end_of_text|>");
}

TEST(BpeTrainerTest, SameLinesInAnyOrderWriteTheSameBytes)
{
    std::vector<std::string> lines = syntheticLines(200);
    const std::string first = tokenizerJson(trainByteLevelBpe(lines, withMerges(150)));
    EXPECT_EQ(tokenizerJson(trainByteLevelBpe(lines, withMerges(150))), first);
    std::reverse(lines.begin(), lines.end());
    EXPECT_EQ(tokenizerJson(trainByteLevelBpe(lines, withMerges(150))), first);
}

TEST(BpeTrainerTest, BadInputIsAClearError)
{
    expectInvalidArgument({"some text"}, 258, "vocab_size must be at least 259");
    expectInvalidArgument({}, 300, "no text to train on");
    expectInvalidArgument({"", ""}, 300, "no text to train on");
    expectInvalidArgument({"fine", "bad \xff\xfe byte"}, 300, "line 2");
}

TEST(BpeTrainerTest, FilesAreWrittenWithoutLeavingTemporaries)
{
    test::TempDir dir;
    const BpeVocabulary v = trainByteLevelBpe({"low lower"}, withMerges(3));
    writeTokenizerFiles(dir / "nested" / "out", v, 256);
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir / "nested" / "out")) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"tokenizer.json", "tokenizer_config.json"}));
    std::ifstream in(dir / "nested" / "out" / "tokenizer.json", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), tokenizerJson(v));
}

} // namespace
} // namespace ftw::data
