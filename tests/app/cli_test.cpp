// SPDX-License-Identifier: MIT
#include "cli_fixture.h"

#include <ftw/run_store.h>
#include <ftw/version.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace ftw::cli {
namespace {

using namespace std::chrono_literals;

TEST_F(CliTest, VersionPrintsTheVersionAndExitsZero)
{
    const CliOutcome r = ftw({"--version"});
    EXPECT_EQ(r.exitCode, kExitOk);
    EXPECT_NE(r.out.find("ftw " + std::string(versionString())), std::string::npos) << r.out;
}

TEST_F(CliTest, RunsListJsonOnANewDatabaseIsAnEmptyArray)
{
    const CliOutcome r = ftw({"runs", "list", "--db", db(), "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const nlohmann::json json = nlohmann::json::parse(r.out);
    EXPECT_TRUE(json.is_array());
    EXPECT_TRUE(json.empty());
    EXPECT_TRUE(r.err.empty()) << r.err;
    EXPECT_TRUE(std::filesystem::exists(db()));
}

TEST_F(CliTest, RunsAloneListsTheRunsAsRunsListDoes)
{
    ASSERT_EQ(ftw({"demo", "--steps", "2", "--db", db()}).exitCode, kExitOk);
    const CliOutcome alone = ftw({"runs", "--db", db()});
    ASSERT_EQ(alone.exitCode, kExitOk) << alone.err;
    const CliOutcome list = ftw({"runs", "list", "--db", db()});
    ASSERT_EQ(list.exitCode, kExitOk) << list.err;
    EXPECT_NE(list.out.find("demo"), std::string::npos) << list.out;
    EXPECT_EQ(alone.out, list.out);
    const CliOutcome json = ftw({"runs", "--json", "--db", db()});
    ASSERT_EQ(json.exitCode, kExitOk) << json.err;
    EXPECT_EQ(nlohmann::json::parse(json.out).size(), 1U) << json.out;
}

TEST_F(CliTest, RunsShowOfAnUnknownIdFailsWithExitCodeTwoAndSaysWhy)
{
    const CliOutcome r = ftw({"runs", "show", "999", "--db", db()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find("ftw: no run with id 999"), std::string::npos) << r.err;
}

TEST_F(CliTest, BadArgumentsExitWithTwo)
{
    EXPECT_EQ(ftw({}).exitCode, kExitFailure);
    EXPECT_EQ(ftw({"frobnicate"}).exitCode, kExitFailure);
    const CliOutcome r = ftw({"runs", "show", "abc", "--db", db()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("RUN_ID"), std::string::npos) << r.err;
}

TEST_F(CliTest, DemoRecordsARunThatListAndShowReport)
{
    const CliOutcome demo =
        ftw({"demo", "--steps", "25", "--delay-ms", "0", "--db", db(), "--json"});
    ASSERT_EQ(demo.exitCode, kExitOk) << demo.err;
    const nlohmann::json result = nlohmann::json::parse(demo.out);
    EXPECT_EQ(result["status"], "succeeded");
    const RunId id = result["run_id"].get<RunId>();

    const CliOutcome list = ftw({"runs", "list", "--db", db(), "--json"});
    const nlohmann::json runs = nlohmann::json::parse(list.out);
    ASSERT_EQ(runs.size(), 1U);
    EXPECT_EQ(runs[0]["id"], id);
    EXPECT_EQ(runs[0]["status"], "succeeded");
    EXPECT_EQ(runs[0]["trainable_params"], 64);

    const CliOutcome show = ftw({"runs", "show", std::to_string(id), "--db", db(), "--json"});
    ASSERT_EQ(show.exitCode, kExitOk) << show.err;
    const nlohmann::json detail = nlohmann::json::parse(show.out);
    EXPECT_EQ(detail["config"]["steps"], 25);
    EXPECT_EQ(detail["metric_count"], 75); // loss, grad norm and learning rate for 25 steps

    const CliOutcome human = ftw({"runs", "show", std::to_string(id), "--db", db()});
    EXPECT_NE(human.out.find("status:           succeeded"), std::string::npos) << human.out;
    const CliOutcome table = ftw({"runs", "list", "--db", db()});
    EXPECT_NE(table.out.find("succeeded"), std::string::npos) << table.out;
}

TEST_F(CliTest, FtwDbEnvironmentVariableChoosesTheDatabase)
{
    ::setenv("FTW_DB", db().c_str(), 1);
    ASSERT_EQ(ftw({"demo", "--steps", "3", "--delay-ms", "0"}).exitCode, kExitOk);
    const CliOutcome list = ftw({"runs", "list", "--json"});
    EXPECT_EQ(nlohmann::json::parse(list.out).size(), 1U);
    const CliOutcome other = ftw({"runs", "list", "--json", "--db", (m_dir / "other.db").string()});
    EXPECT_TRUE(nlohmann::json::parse(other.out).empty());
}

TEST_F(CliTest, FailedJobExitsWithTwoAndIsRecordedAsFailed)
{
    const CliOutcome r =
        ftw({"demo", "--steps", "10", "--fail-at", "2", "--delay-ms", "0", "--db", db()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("failed on purpose at step 2"), std::string::npos) << r.err;
    const nlohmann::json runs =
        nlohmann::json::parse(ftw({"runs", "list", "--db", db(), "--json"}).out);
    ASSERT_EQ(runs.size(), 1U);
    EXPECT_EQ(runs[0]["status"], "failed");
    EXPECT_EQ(runs[0]["error"]["code"], "invalid_argument");
}

TEST_F(CliTest, InterruptStopsTheJobAndExitsWithThree)
{
    std::thread interrupter([this] {
        // Wait until the run exists (the handler is installed before the job is queued).
        for (int i = 0; i < 2000; ++i) {
            auto store = RunStore::open(db(), StoreMode::ReadOnly);
            if (store && store->listRuns() && !store->listRuns()->empty()) {
                break;
            }
            std::this_thread::sleep_for(5ms);
        }
        std::raise(SIGINT);
    });
    const CliOutcome r = ftw({"demo", "--steps", "100000", "--delay-ms", "2", "--db", db()});
    interrupter.join();

    EXPECT_EQ(r.exitCode, kExitCancelled) << r.err;
    EXPECT_NE(r.err.find("cancelled"), std::string::npos) << r.err;
    const nlohmann::json runs =
        nlohmann::json::parse(ftw({"runs", "list", "--db", db(), "--json"}).out);
    ASSERT_EQ(runs.size(), 1U);
    EXPECT_EQ(runs[0]["status"], "cancelled");
}

TEST_F(CliTest, MakeTinyModelWritesAFolderThatInspectModelDescribes)
{
    const std::string dir = (m_dir / "tiny-qwen2").string();
    const CliOutcome made = ftw({"make-tiny-model", dir, "--arch", "qwen2", "--seed", "5"});
    ASSERT_EQ(made.exitCode, kExitOk) << made.err;
    EXPECT_TRUE(std::filesystem::exists(m_dir / "tiny-qwen2" / "model.safetensors"));

    const CliOutcome inspected = ftw({"inspect-model", dir, "--json"});
    ASSERT_EQ(inspected.exitCode, kExitOk) << inspected.err;
    const nlohmann::json s = nlohmann::json::parse(inspected.out);
    EXPECT_EQ(s["architecture"], "qwen2");
    EXPECT_EQ(s["num_layers"], 2);
    EXPECT_EQ(s["num_kv_heads"], 2);
    EXPECT_EQ(s["tied_embeddings"], true);
    EXPECT_EQ(s["shards"], 1);
    EXPECT_EQ(s["adapter_targets"].size(), 7U);
    // Parameters: embeddings + 2 layers (q/k/v with biases, o, gate/up/down, two norms) + final
    // norm.
    const std::int64_t layer =
        (64 * 64 + 64) + 2 * (64 * 32 + 32) + 64 * 64 + 3 * 64 * 128 + 2 * 64;
    EXPECT_EQ(s["parameters"], 259 * 64 + 2 * layer + 64);

    const CliOutcome human = ftw({"inspect-model", dir});
    EXPECT_NE(human.out.find("architecture:    qwen2"), std::string::npos) << human.out;
}

TEST_F(CliTest, ModelCommandsFailClearlyOnBadInput)
{
    const CliOutcome unknownArch =
        ftw({"make-tiny-model", (m_dir / "x").string(), "--arch", "bert"});
    EXPECT_EQ(unknownArch.exitCode, kExitFailure);
    EXPECT_NE(unknownArch.err.find("bert"), std::string::npos) << unknownArch.err;

    const CliOutcome notAModel = ftw({"inspect-model", m_dir.path().string()});
    EXPECT_EQ(notAModel.exitCode, kExitFailure);
    EXPECT_NE(notAModel.err.find("has no config.json"), std::string::npos) << notAModel.err;

    ASSERT_EQ(ftw({"make-tiny-model", (m_dir / "p").string(), "--arch", "gpt2"}).exitCode, kExitOk);
    std::filesystem::remove(m_dir / "p" / "model.safetensors");
    std::ofstream(m_dir / "p" / "pytorch_model.bin") << "pickle";
    const CliOutcome pickle = ftw({"inspect-model", (m_dir / "p").string()});
    EXPECT_EQ(pickle.exitCode, kExitFailure);
    EXPECT_NE(pickle.err.find("unpickling runs code"), std::string::npos) << pickle.err;
}

TEST_F(CliTest, TokenizeJsonMatchesTheReferenceIdsOnRealVocabularies)
{
    const std::filesystem::path fixtures = std::filesystem::path(FTW_TEST_DATA_DIR) / "tokenizers";
    std::ifstream in(fixtures / "cases.json");
    // Every GPT-2 case and every fourth Llama 3 case (each call loads the 6 MB Llama 3 file; the
    // library test checks all cases).
    int checked = 0;
    int llamaIndex = 0;
    for (const nlohmann::json& c : nlohmann::json::parse(in)) {
        if (c["tokenizer"] == "llama3" && llamaIndex++ % 4 != 0) {
            continue;
        }
        const std::string file =
            (fixtures / (c["tokenizer"].get<std::string>() + ".tokenizer.json")).string();
        const CliOutcome r = ftw({"tokenize", "--tokenizer", file, "--text", c["text"], "--json"});
        ASSERT_EQ(r.exitCode, kExitOk) << r.err;
        EXPECT_EQ(nlohmann::json::parse(r.out), c["ids"]) << c["text"].dump();
        ++checked;
    }
    EXPECT_EQ(checked, 29 + 8);
}

TEST_F(CliTest, TokenizeNeedsATokenizerAndSaysWhichFileIsBad)
{
    EXPECT_EQ(ftw({"tokenize", "--text", "hi"}).exitCode, kExitFailure);
    std::ofstream(m_dir / "broken.json") << "{\"model\": {\"type\": \"WordPiece\"}}";
    const CliOutcome r =
        ftw({"tokenize", "--tokenizer", (m_dir / "broken.json").string(), "--text", "hi"});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("broken.json"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("WordPiece"), std::string::npos) << r.err;
}

TEST_F(CliTest, GenerateContinuesAPromptWithATinyModel)
{
    const std::string dir = (m_dir / "tiny").string();
    ASSERT_EQ(ftw({"make-tiny-model", dir, "--arch", "llama", "--seed", "3"}).exitCode, kExitOk);
    EXPECT_TRUE(std::filesystem::exists(m_dir / "tiny" / "tokenizer.json"));

    const CliOutcome r =
        ftw({"generate", "--model", dir, "--prompt", "Hello", "--max-new-tokens", "6", "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const nlohmann::json g = nlohmann::json::parse(r.out);
    // BOS (256) then one byte token per character of "Hello".
    EXPECT_EQ(g["prompt_ids"], (std::vector<int>{256, 72, 101, 108, 108, 111}));
    EXPECT_GE(g["ids"].size(), 1U);
    EXPECT_LE(g["ids"].size(), 6U);
    // Greedy decoding is deterministic.
    const CliOutcome again =
        ftw({"generate", "--model", dir, "--prompt", "Hello", "--max-new-tokens", "6", "--json"});
    EXPECT_EQ(nlohmann::json::parse(again.out)["ids"], g["ids"]);
}

TEST_F(CliTest, GenerateExplainsWhatIsMissing)
{
    ASSERT_EQ(ftw({"make-tiny-model", (m_dir / "t").string(), "--arch", "gpt2"}).exitCode, kExitOk);
    std::filesystem::remove(m_dir / "t" / "tokenizer.json");
    const CliOutcome r = ftw({"generate", "--model", (m_dir / "t").string(), "--prompt", "hi"});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("has no tokenizer.json"), std::string::npos) << r.err;
    EXPECT_EQ(
        ftw({"generate", "--model", (m_dir / "t").string(), "--prompt", "hi", "--adapter", "x"})
            .exitCode,
        kExitFailure);
}

TEST_F(CliTest, PreviewDataShowsFormatSegmentsTokensAndCounts)
{
    const std::string model = (m_dir / "tiny").string();
    ASSERT_EQ(ftw({"make-tiny-model", model, "--arch", "qwen2"}).exitCode, kExitOk);
    std::ofstream(m_dir / "d.jsonl") << R"({"prompt": "ab", "completion": "cd"})" << '\n'
                                     << R"({"prompt": "abcdefgh", "completion": "i"})" << '\n';
    const std::string data = (m_dir / "d.jsonl").string();

    const CliOutcome r = ftw({"preview-data", "--data", data, "--model", model, "--max-length", "6",
                              "--limit", "1", "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const nlohmann::json p = nlohmann::json::parse(r.out);
    EXPECT_EQ(p["format"], "prompt-completion");
    EXPECT_EQ(p["records"], 2);
    ASSERT_EQ(p["examples"].size(), 1U);
    // BOS, a, b | c, d, EOS: bytes are ids, BOS 256 and EOS 257 from the tiny
    // tokenizer_config.json.
    EXPECT_EQ(p["examples"][0]["ids"], (std::vector<int>{256, 97, 98, 99, 100, 257}));
    EXPECT_EQ(p["examples"][0]["trained"], (std::vector<int>{0, 0, 0, 1, 1, 1}));
    EXPECT_EQ(p["truncated"], 1);    // the second record has 11 tokens
    EXPECT_EQ(p["fully_masked"], 1); // and its first 6 are all prompt
    EXPECT_EQ(p["lengths"], (std::vector<int>{6, 11}));

    const CliOutcome human = ftw({"preview-data", "--data", data});
    EXPECT_EQ(human.exitCode, kExitOk);
    EXPECT_NE(human.out.find("trained  \"cd\""), std::string::npos) << human.out;
}

TEST_F(CliTest, PreviewDataNamesTheBadLine)
{
    std::ofstream(m_dir / "bad.jsonl") << "{\"text\": \"ok\"}\n{oops}\n";
    const CliOutcome r = ftw({"preview-data", "--data", (m_dir / "bad.jsonl").string()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("bad.jsonl' line 2: not valid JSON"), std::string::npos) << r.err;
    const CliOutcome format =
        ftw({"preview-data", "--data", (m_dir / "bad.jsonl").string(), "--format", "xml"});
    EXPECT_EQ(format.exitCode, kExitFailure);
}

} // namespace
} // namespace ftw::cli
