// SPDX-License-Identifier: MIT
// FTW's tokenizer against reference ids from an independent implementation of tokenizer.json
// (@huggingface/tokenizers) on real GPT-2, Llama 3 (byte-level BPE) and Llama 2 (SentencePiece BPE
// with byte fallback) vocabularies; see tests/data/tokenizers.
#include "data/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

namespace ftw::data {
namespace {

const std::filesystem::path kFixtures = std::filesystem::path(FTW_TEST_DATA_DIR) / "tokenizers";

struct Case {
    std::string tokenizer;
    std::string text;
    std::vector<std::int64_t> ids;
    std::string decoded; ///< what decoding gives back (the text unless the fixture says otherwise)
};

/// GPT-2 and Llama 3 cases live in cases.json; Llama 2's in llama2/ with its own script.
std::filesystem::path tokenizerFile(const std::string& name)
{
    return name == "llama2" ? kFixtures / "llama2" / "llama2.tokenizer.json"
                            : kFixtures / (name + ".tokenizer.json");
}

std::vector<Case> loadCases()
{
    std::vector<Case> cases;
    for (const auto& file :
         {kFixtures / "cases.json", kFixtures / "llama2" / "llama2_cases.json"}) {
        std::ifstream in(file);
        for (const nlohmann::json& c : nlohmann::json::parse(in)) {
            const std::string text = c["text"];
            cases.push_back(Case{c["tokenizer"], text, c["ids"], c.value("decoded", text)});
        }
    }
    return cases;
}

// Takes a C string: a std::string made from a literal at the call would be a temporary that
// GCC 13 and later's -Wdangling-reference takes the returned reference to depend on.
const Tokenizer& tokenizerNamed(const char* name)
{
    static std::map<std::string, Tokenizer> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        it = cache.emplace(name, Tokenizer::fromFile(tokenizerFile(name))).first;
    }
    return it->second;
}

class TokenizerReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerReferenceTest, EveryCaseMatchesTheReferenceIdsAndDecodesBack)
{
    int checked = 0;
    for (const Case& c : loadCases()) {
        if (c.tokenizer != GetParam()) {
            continue;
        }
        const Tokenizer& tokenizer = tokenizerNamed(c.tokenizer.c_str());
        EXPECT_EQ(tokenizer.encode(c.text), c.ids) << "text: " << nlohmann::json(c.text).dump();
        EXPECT_EQ(tokenizer.decode(c.ids), c.decoded) << "text: " << nlohmann::json(c.text).dump();
        ++checked;
    }
    EXPECT_GE(checked, 25);
}

TEST(TokenizerBosTest, Llama3AddsBeginOfTextThroughItsPostProcessor)
{
    const Tokenizer& llama3 = tokenizerNamed("llama3");
    EXPECT_EQ(llama3.templateBosId(), 128000);
    EXPECT_EQ(llama3.bosIdToAdd(std::nullopt, std::nullopt),
              128000); // no add_bos_token: the template
    EXPECT_EQ(llama3.bosIdToAdd(false, "<|begin_of_text|>"),
              std::nullopt);                                // tokenizer_config.json says no
    EXPECT_EQ(tokenizerNamed("llama2").templateBosId(), 1); // <s>
    const Tokenizer& gpt2 = tokenizerNamed("gpt2");
    EXPECT_EQ(gpt2.templateBosId(), std::nullopt); // a ByteLevel post-processor adds nothing
    EXPECT_EQ(gpt2.bosIdToAdd(true, "<|endoftext|>"), 50256);
}

INSTANTIATE_TEST_SUITE_P(RealVocabularies, TokenizerReferenceTest,
                         ::testing::Values(std::string("gpt2"), std::string("llama3"),
                                           std::string("llama2")),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                             return param.param;
                         });

} // namespace
} // namespace ftw::data
