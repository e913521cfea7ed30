// SPDX-License-Identifier: MIT
// `ftw train-tokenizer` on a small Bible-style listing: the files it writes, what it prints, and
// `ftw tokenize` with the result.
#include "cli_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ftw::cli {
namespace {

/// Verses as `bible -f` lists them: a reference, a space, the text.
const std::vector<std::string> kVerses{
    "Ge1:1 In the beginning God created the heaven and the earth.",
    "Ge1:2 And the earth was without form, and void; and darkness was upon the face of the deep.",
    "Ge1:3 And God said, Let there be light: and there was light.",
    "Ge1:4 And God saw the light, that it was good: and God divided the light from the darkness.",
    "Ge1:5 And God called the light Day, and the darkness he called Night.",
    "Joh1:1 In the beginning was the Word, and the Word was with God, and the Word was God.",
};

class TrainTokenizerCommandTest : public CliTest {
protected:
    void SetUp() override
    {
        CliTest::SetUp();
        std::ofstream out(data(), std::ios::binary);
        for (int copy = 0; copy < 3; ++copy) {
            for (const std::string& verse : kVerses) {
                out << verse << (copy == 1 ? "\r\n" : "\n");
            }
        }
    }

    std::string data() const { return (m_dir / "kjv.txt").string(); }
    std::string out() const { return (m_dir / "tok").string(); }
};

TEST_F(TrainTokenizerCommandTest, WritesAHuggingFaceTokenizerAndReportsTheFigures)
{
    const CliOutcome r = ftw({"train-tokenizer", "--data", data(), "--vocab-size", "320",
                              "--drop-first-field", "--out", out()});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_NE(r.out.find("on 18 lines"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("vocabulary   320 ids: 256 bytes, 61 merged tokens, 3 special tokens"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("tokens per byte"), std::string::npos) << r.out;
    EXPECT_TRUE(std::filesystem::exists(m_dir / "tok" / "tokenizer.json"));
    EXPECT_TRUE(std::filesystem::exists(m_dir / "tok" / "tokenizer_config.json"));
    std::ifstream in(m_dir / "tok" / "tokenizer.json");
    const nlohmann::json j = nlohmann::json::parse(in);
    EXPECT_EQ(j["model"]["vocab"].size(), 317U);
    EXPECT_EQ(j["added_tokens"][0]["content"], "<|begin_of_text|>");
    EXPECT_EQ(j["added_tokens"][0]["id"], 317);
}

TEST_F(TrainTokenizerCommandTest, JsonCountsTheTextWithoutItsReferences)
{
    const CliOutcome r = ftw({"train-tokenizer", "--data", data(), "--vocab-size", "300",
                              "--strip-reference", "--out", out(), "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    std::int64_t bytes = 0;
    for (const std::string& verse : kVerses) {
        bytes += 3 * static_cast<std::int64_t>(verse.size() - verse.find(' ') - 1);
    }
    EXPECT_EQ(j["corpus_bytes"], bytes);
    EXPECT_EQ(j["lines"], 18);
    EXPECT_EQ(j["vocab_size"], 300);
    EXPECT_EQ(j["requested_vocab_size"], 300);
    EXPECT_GE(j["merges"].get<std::int64_t>(), 41);
    EXPECT_GT(j["corpus_tokens"].get<std::int64_t>(), 0);
    EXPECT_LT(j["corpus_tokens"].get<std::int64_t>(), bytes / 2);
    EXPECT_DOUBLE_EQ(j["tokens_per_byte"].get<double>(),
                     j["corpus_tokens"].get<double>() / static_cast<double>(bytes));
    // No reference was trained on: "Ge" (15 times in the references, never in the text) is not a
    // token, and no merged token has a digit. Without the flag it is, and the bytes count them.
    const auto vocab = [this] {
        std::ifstream in(m_dir / "tok" / "tokenizer.json");
        return nlohmann::json::parse(in)["model"]["vocab"];
    };
    EXPECT_FALSE(vocab().contains("Ge"));
    const nlohmann::json trained = vocab();
    for (const auto& [token, id] : trained.items()) {
        if (id.get<int>() >= 256) {
            EXPECT_EQ(token.find_first_of("0123456789"), std::string::npos) << token;
        }
    }
    const CliOutcome kept =
        ftw({"train-tokenizer", "--data", data(), "--vocab-size", "300", "--out", out(), "--json"});
    ASSERT_EQ(kept.exitCode, kExitOk) << kept.err;
    std::int64_t keptBytes = 0;
    for (const std::string& verse : kVerses) {
        keptBytes += 3 * static_cast<std::int64_t>(verse.size());
    }
    EXPECT_EQ(nlohmann::json::parse(kept.out)["corpus_bytes"], keptBytes);
    EXPECT_TRUE(vocab().contains("Ge"));
}

TEST_F(TrainTokenizerCommandTest, TokenizeUsesTheMergedTokensOfTrainingWords)
{
    // More ids than the verses have pairs: training stops when every word is one token.
    const CliOutcome trained = ftw({"train-tokenizer", "--data", data(), "--vocab-size", "1000",
                                    "--drop-first-field", "--out", out()});
    ASSERT_EQ(trained.exitCode, kExitOk) << trained.err;
    EXPECT_NE(trained.out.find("note: the corpus ran out of pairs to merge"), std::string::npos)
        << trained.out;
    const std::string file = (m_dir / "tok" / "tokenizer.json").string();
    const std::string text = "In the beginning God created the light";
    const CliOutcome r = ftw({"tokenize", "--tokenizer", file, "--text", text, "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const std::vector<std::int64_t> ids = nlohmann::json::parse(r.out);
    // Every word of the text is a training word: one token each.
    EXPECT_EQ(ids.size(), 7U) << r.out;
    const CliOutcome shown = ftw({"tokenize", "--tokenizer", file, "--text", text});
    EXPECT_NE(shown.out.find("\"Ġbeginning\""), std::string::npos) << shown.out;
}

TEST_F(TrainTokenizerCommandTest, BadOptionsAndFilesAreClearErrors)
{
    CliOutcome r =
        ftw({"train-tokenizer", "--data", data(), "--vocab-size", "100", "--out", out()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("vocab_size must be at least 259"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(m_dir / "tok"));

    const std::string missing = (m_dir / "missing.txt").string();
    r = ftw({"train-tokenizer", "--data", missing, "--out", out()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;

    const std::string references = (m_dir / "references.txt").string();
    std::ofstream(references) << "Ge1:1\nGe1:2\n\n";
    r = ftw({"train-tokenizer", "--data", references, "--drop-first-field", "--out", out()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("no text to train on"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(references), std::string::npos) << r.err;

    r = ftw({"train-tokenizer", "--data", data()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
}

} // namespace
} // namespace ftw::cli
