// SPDX-License-Identifier: MIT
#include "data/byte_level.h"
#include "data/regex.h"
#include "data/tokenizer.h"
#include "model/tiny_model.h"

#include <ftw/error.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace ftw::data {
namespace {

using Ids = std::vector<std::int64_t>;

// A byte-level BPE (GPT-2 style) worked by hand: "Ġ" is the mapped space.
constexpr const char* kByteLevel = R"({
  "added_tokens": [{"id": 50, "content": "<|endoftext|>", "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "ignore_merges": false,
            "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "abc": 5, "Ġa": 6, "Ġabc": 9},
            "merges": ["a b", "ab c", "Ġ a"]}})";

// A SentencePiece-style BPE with byte fallback (Llama 2 style), worked by hand.
constexpr const char* kSentencePiece = R"({
  "normalizer": {"type": "Sequence", "normalizers": [
      {"type": "Prepend", "prepend": "▁"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
  "pre_tokenizer": null,
  "decoder": {"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"},
      {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
  "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
            "vocab": {"<unk>": 0, "▁": 1, "h": 2, "l": 3, "o": 4, "▁h": 5, "ll": 6,
                      "<0xC3>": 7, "<0xA9>": 8},
            "merges": [["▁", "h"], ["l", "l"]]}})";

Tokenizer load(const std::string& json)
{
    return Tokenizer::fromJsonText(json, "test/tokenizer.json");
}

void expectModelFormatError(const std::string& json, const std::string& part)
{
    try {
        (void)load(json);
        FAIL() << "accepted: " << json;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::ModelFormat);
        EXPECT_NE(std::string(e.what()).find("test/tokenizer.json"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

TEST(RegexTest, Gpt2PatternSplitsWithUnicodeClasses)
{
    const Regex regex(
        R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
    const std::string text = "I'm café  123!!\n";
    std::vector<std::string> pieces;
    for (const auto& [begin, end] : regex.findAll(text)) {
        pieces.push_back(text.substr(begin, end - begin));
    }
    EXPECT_EQ(pieces, (std::vector<std::string>{"I", "'m", " café", " ", " 123", "!!", "\n"}));
}

TEST(RegexTest, InvalidUtf8IsAnErrorNotACrash)
{
    const Regex regex(R"(\p{L}+)");
    EXPECT_THROW((void)regex.findAll("ab\xff\xfe"), Error);
}

TEST(TokenizerTest, ByteLevelBpeMergesByRankAsWorkedByHand)
{
    const Tokenizer t = load(kByteLevel);
    // "abc" -> a b c -> ab c -> abc; " abc" -> Ġ a b c -> (a b, rank 0) -> Ġ ab c -> Ġ abc.
    EXPECT_EQ(t.encode("abc abc"), (Ids{5, 3, 5}));
    EXPECT_EQ(t.decode({5, 3, 5}), "abc abc");
    EXPECT_EQ(t.encode(""), Ids{});
}

TEST(TokenizerTest, AddedTokensAreMatchedBeforeBpeAndCanBeSkippedWhenDecoding)
{
    const Tokenizer t = load(kByteLevel);
    EXPECT_EQ(t.encode("abc<|endoftext|>abc"), (Ids{5, 50, 5}));
    EXPECT_EQ(t.decode({5, 50, 5}), "abc<|endoftext|>abc");
    EXPECT_EQ(t.decode({5, 50, 5}, /*skipSpecialTokens=*/true), "abcabc");
    EXPECT_TRUE(t.isSpecial(50));
    EXPECT_EQ(t.vocabSize(), 51);
    EXPECT_EQ(t.tokenToId("Ġa"), 6);
}

TEST(TokenizerTest, IgnoreMergesTakesWholeWordsFromTheVocabulary)
{
    std::string json = kByteLevel;
    json.replace(json.find("\"ignore_merges\": false"), 22, "\"ignore_merges\": true");
    EXPECT_EQ(load(json).encode("abc abc"), (Ids{5, 9})); // "Ġabc" is in the vocabulary
}

TEST(TokenizerTest, SentencePieceBpeFallsBackToBytesAndDecodesBack)
{
    const Tokenizer t = load(kSentencePiece);
    // "▁héllo": (▁ h) -> ▁h, (l l) -> ll; é is not in the vocabulary -> <0xC3> <0xA9>.
    EXPECT_EQ(t.encode("héllo"), (Ids{5, 7, 8, 6, 4}));
    EXPECT_EQ(t.decode({5, 7, 8, 6, 4}), "héllo");
    // A character with no byte tokens becomes <unk>.
    EXPECT_EQ(t.encode("hz"), (Ids{5, 0}));
}

TEST(TokenizerTest, MalformedFilesNameTheFileAndField)
{
    expectModelFormatError("{not json", "is not a JSON object");
    expectModelFormatError(R"({"model": {"type": "Unigram", "vocab": []}})",
                           "type \"Unigram\" is not supported");
    expectModelFormatError(R"({"model": {"type": "BPE", "merges": []}})",
                           "missing field \"vocab\"");
    expectModelFormatError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["ab"]}})",
                           "model.merges[0]");
    expectModelFormatError(R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}})",
                           "does not compile");
    expectModelFormatError(R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Punctuation"}]}})",
                           "pre_tokenizer.pretokenizers[0]: type \"Punctuation\" is not supported");
}

// Found by the tokenizer fuzz target (tests/fuzz): ids that would have been undefined behaviour, a
// write before the id table or a table of 10^17 entries, and fields of the wrong JSON type.
TEST(TokenizerTest, BadIdsAndWrongTypesAreFormatErrorsNotCrashes)
{
    const std::string model = R"("model": {"type": "BPE", "vocab": {"a": 0}, "merges": []})";
    expectModelFormatError("{" + model + R"(, "added_tokens": [{"content": "<s>", "id": -1}]})",
                           "added_tokens[0]: token \"<s>\" has no valid id");
    expectModelFormatError("{" + model + R"(, "added_tokens": [{"content": "<s>", "id": 2.5e26}]})",
                           "added_tokens[0]: token \"<s>\" has no valid id");
    expectModelFormatError(
        "{" + model + R"(, "added_tokens": [{"content": "<s>", "id": 100000000000000000}]})",
        "id 100000000000000000 is far beyond the 2 tokens the file declares");
    expectModelFormatError(R"({"model": {"type": "BPE", "vocab": {"a": 1.5}, "merges": []}})",
                           "model.vocab: token \"a\" has no valid id");
    expectModelFormatError(
        "{" + model + R"(, "added_tokens": [{"content": "<s>", "id": 1, "special": "yes"}]})",
        "a field has a JSON type the tokenizer format does not allow");
    // An empty added token matched at every position without moving on: encode() never ended.
    expectModelFormatError("{" + model + R"(, "added_tokens": [{"content": "", "id": 1}]})",
                           "added_tokens[0]: \"content\" is empty");
    expectModelFormatError(R"({"model": {"type": 7, "vocab": {}, "merges": []}})",
                           "a field has a JSON type the tokenizer format does not allow");
    // Gaps in the ids are allowed, up to a point: 1 token declared, id 60000 used.
    EXPECT_NO_THROW(
        (void)load(R"({"model": {"type": "BPE", "vocab": {"a": 60000}, "merges": []}})"));
}

TEST(TokenizerTest, DecodingInvalidBytesGivesReplacementCharactersNotInvalidUtf8)
{
    const Tokenizer t = load(kSentencePiece);
    // <0xC3> alone is a truncated sequence; decode must still return valid UTF-8.
    EXPECT_EQ(t.decode({7}), "\xef\xbf\xbd");
}

TEST(Utf8Test, OverlongSurrogateAndOutOfRangeSequencesAreNotCharacters)
{
    // C1 81 is an overlong 'A'; ED A0 80 a surrogate; F4 90 80 80 is past U+10FFFF.
    EXPECT_EQ(utf8Characters("\xc1\x81").size(), 2U);
    EXPECT_EQ(utf8Characters("\xed\xa0\x80").size(), 3U);
    EXPECT_EQ(utf8Characters("\xf4\x90\x80\x80").size(), 4U);
    EXPECT_EQ(utf8Characters("é😀").size(), 2U);
}

TEST(TokenizerTest, NfcNormalizerComposesCharactersBeforeByteLevelBpe)
{
    // Qwen2's normalizer. A byte vocabulary makes the ids the UTF-8 bytes after normalisation.
    nlohmann::json json = nlohmann::json::parse(model::tinyTokenizerJson());
    const Tokenizer plain = Tokenizer::fromJsonText(json.dump(), "plain");
    json["normalizer"] = {{"type", "NFC"}};
    const Tokenizer nfc = Tokenizer::fromJsonText(json.dump(), "nfc");
    const std::string decomposed = "e\xcc\x81"; // e + COMBINING ACUTE ACCENT
    EXPECT_EQ(plain.encode(decomposed), (Ids{0x65, 0xCC, 0x81}));
    EXPECT_EQ(nfc.encode(decomposed), (Ids{0xC3, 0xA9})); // U+00E9
    json["normalizer"] = {{"type", "NFKC"}};
    EXPECT_EQ(Tokenizer::fromJsonText(json.dump(), "nfkc").encode("\xef\xac\x81"),
              (Ids{'f', 'i'})); // U+FB01
}

TEST(TokenizerTest, MissingFileIsNotFound)
{
    try {
        (void)Tokenizer::fromFile("/nonexistent/tokenizer.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
    }
}

} // namespace
} // namespace ftw::data
