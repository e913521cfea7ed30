// SPDX-License-Identifier: MIT
// `ftw train`, `ftw resume`, `ftw eval` and `ftw runs compare`, in-process on a tiny model.
#include "cli_fixture.h"

#include <ftw/run_store.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ftw::cli {
namespace {

class TrainCommandTest : public CliTest {
protected:
    void SetUp() override
    {
        CliTest::SetUp();
        ASSERT_EQ(ftw({"make-tiny-model", model(), "--arch", "qwen2"}).exitCode, 0);
        std::ofstream out(data());
        for (int i = 0; i < 20; ++i) {
            out << R"({"prompt": ")" << i % 10 << R"(+1=", "completion": ")" << i % 10 + 1
                << R"(;"})" << '\n';
        }
    }

    std::string model() const { return (m_dir / "model").string(); }
    std::string data() const { return (m_dir / "data.jsonl").string(); }

    /// A bundle of the tiny model and the test data (run.json: LoRA r 2 for 7 steps), to be found
    /// through FTW_DEFAULTS_DIR.
    std::filesystem::path makeBundle() const
    {
        const std::filesystem::path root = m_dir / "bundle";
        std::filesystem::create_directories(root / "dataset");
        std::filesystem::copy(model(), root / "model", std::filesystem::copy_options::recursive);
        std::filesystem::copy_file(data(), root / "dataset" / "kjv-books.jsonl");
        std::ofstream(root / "run.json")
            << R"({"name": "bundled", "model": "model", "data": {"path": "dataset/kjv-books.jsonl"},
                  "adapter": {"method": "lora", "r": 2}, "train": {"max_steps": 7}})";
        return root;
    }

    std::vector<std::string> trainArgs(const std::string& method) const
    {
        return {"train", "--model", model(), "--data", data(), "--method",
                method,  "--steps", "12",    "--lr",   "0.01", "--validation-ratio",
                "0.2",   "--seed",  "3",     "--db",   db()};
    }
};

TEST_F(TrainCommandTest, PrintConfigWritesARunConfigThatReadsBackTheSame)
{
    std::vector<std::string> args = trainArgs("dora");
    args.insert(args.end(), {"--r", "4", "--targets", "q_proj,v_proj", "--print-config"});
    const CliOutcome printed = ftw(args);
    ASSERT_EQ(printed.exitCode, 0) << printed.err;
    const nlohmann::json config = nlohmann::json::parse(printed.out);
    EXPECT_EQ(config["adapter"]["method"], "dora");
    EXPECT_EQ(config["adapter"]["r"], 4);
    EXPECT_EQ(config["adapter"]["target_modules"], nlohmann::json({"q_proj", "v_proj"}));
    EXPECT_EQ(config["train"]["max_steps"], 12);
    EXPECT_EQ(config["train"]["seed"], 3);

    const std::string file = (m_dir / "run.json").string();
    std::ofstream(file) << printed.out;
    const CliOutcome again = ftw({"train", "--config", file, "--print-config"});
    ASSERT_EQ(again.exitCode, 0) << again.err;
    EXPECT_EQ(nlohmann::json::parse(again.out), config);
    const CliOutcome overridden = ftw({"train", "--config", file, "--lr", "0.5", "--print-config"});
    EXPECT_EQ(nlohmann::json::parse(overridden.out)["train"]["learning_rate"], 0.5);
}

TEST_F(TrainCommandTest, EpochsOverAConfigThatCountsStepsTrainsByEpochs)
{
    std::vector<std::string> args = trainArgs("lora"); // --steps 12
    args.emplace_back("--print-config");
    const CliOutcome printed = ftw(args);
    ASSERT_EQ(printed.exitCode, 0) << printed.err;
    const std::string file = (m_dir / "run.json").string();
    std::ofstream(file) << printed.out;

    const CliOutcome byEpochs = ftw({"train", "--config", file, "--epochs", "2", "--print-config"});
    ASSERT_EQ(byEpochs.exitCode, 0) << byEpochs.err;
    const nlohmann::json train = nlohmann::json::parse(byEpochs.out)["train"];
    EXPECT_EQ(train["max_steps"], 0) << "--epochs must not be ignored under the config's steps";
    EXPECT_EQ(train["epochs"], 2.0);

    const CliOutcome both =
        ftw({"train", "--config", file, "--epochs", "2", "--steps", "5", "--print-config"});
    ASSERT_EQ(both.exitCode, 0) << both.err;
    EXPECT_EQ(nlohmann::json::parse(both.out)["train"]["max_steps"], 5) << "--steps wins";
}

TEST_F(TrainCommandTest, AConfigWithAnUnknownKeyIsRefusedNamingTheFileAndTheKey)
{
    const std::string file = (m_dir / "bad.json").string();
    std::ofstream(file) << R"({"model": "m", "data": {"path": "d.jsonl"}, "train": {"lr": 0.1}})";
    const CliOutcome outcome = ftw({"train", "--config", file});
    EXPECT_EQ(outcome.exitCode, 2);
    EXPECT_NE(outcome.err.find(file), std::string::npos) << outcome.err;
    EXPECT_NE(outcome.err.find("'train.lr'"), std::string::npos) << outcome.err;
}

TEST_F(TrainCommandTest, ATrainedAdapterEvaluatesToTheRunsFinalEvalLoss)
{
    const CliOutcome trained = ftw([&] {
        auto args = trainArgs("lora");
        args.push_back("--json");
        return args;
    }());
    ASSERT_EQ(trained.exitCode, 0) << trained.err;
    const nlohmann::json result = nlohmann::json::parse(trained.out);
    const double runEvalLoss = result["output"]["eval_loss"].get<double>();
    const std::string adapter = result["output"]["adapter_dir"].get<std::string>();

    // The validation split is a function of the data, the ratio and the seed alone.
    const CliOutcome evaluated =
        ftw({"eval", "--model", model(), "--adapter", adapter, "--data", data(), "--split",
             "validation", "--validation-ratio", "0.2", "--seed", "3", "--db", db(), "--json"});
    ASSERT_EQ(evaluated.exitCode, 0) << evaluated.err;
    const nlohmann::json eval = nlohmann::json::parse(evaluated.out);
    EXPECT_NEAR(eval["output"]["loss"].get<double>(), runEvalLoss, 1e-5);
    EXPECT_EQ(eval["output"]["examples"], 4);

    const CliOutcome base =
        ftw({"eval", "--model", model(), "--data", data(), "--split", "validation",
             "--validation-ratio", "0.2", "--seed", "3", "--db", db(), "--json"});
    ASSERT_EQ(base.exitCode, 0) << base.err;
    EXPECT_GT(nlohmann::json::parse(base.out)["output"]["loss"].get<double>(), runEvalLoss + 1.0);
}

TEST_F(TrainCommandTest, CompareShowsOnlyTheConfigKeysThatDiffer)
{
    ASSERT_EQ(ftw(trainArgs("lora")).exitCode, 0);
    auto second = trainArgs("vera");
    second.insert(second.end(), {"--r", "16"});
    ASSERT_EQ(ftw(second).exitCode, 0);
    const CliOutcome compared = ftw({"runs", "compare", "1", "2", "--db", db(), "--json"});
    ASSERT_EQ(compared.exitCode, 0) << compared.err;
    const nlohmann::json json = nlohmann::json::parse(compared.out);
    std::vector<std::string> keys;
    for (const auto& [key, values] : json["config_diff"].items()) {
        keys.push_back(key);
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"adapter.method", "adapter.r"}));
    EXPECT_EQ(json["config_diff"]["adapter.method"], nlohmann::json({"lora", "vera"}));
    ASSERT_EQ(json["runs"].size(), 2U);
    EXPECT_TRUE(json["runs"][1]["final_train_loss"].is_number());
    EXPECT_TRUE(json["runs"][1]["best_eval_loss"].is_number());

    const CliOutcome text = ftw({"runs", "compare", "1", "2", "--db", db()});
    EXPECT_NE(text.out.find("Config differences (2 keys)"), std::string::npos) << text.out;
}

TEST_F(TrainCommandTest, ResumingAnUnknownRunFailsWithAMessage)
{
    const CliOutcome outcome = ftw({"resume", "42", "--db", db()});
    EXPECT_EQ(outcome.exitCode, 2);
    EXPECT_NE(outcome.err.find("no run with id 42"), std::string::npos) << outcome.err;
}

} // namespace
} // namespace ftw::cli

namespace ftw::cli {
namespace {

TEST_F(TrainCommandTest, AMergedExportEvaluatesToTheLossOfBasePlusAdapter)
{
    ASSERT_EQ(ftw(trainArgs("dora")).exitCode, 0);
    const std::string adapter = (m_dir / "runs" / "1" / "adapter").string();
    const std::string merged = (m_dir / "merged").string();
    const CliOutcome merge = ftw({"merge", "--model", model(), "--adapter", adapter, "--out",
                                  merged, "--db", db(), "--json"});
    ASSERT_EQ(merge.exitCode, 0) << merge.err;
    EXPECT_EQ(nlohmann::json::parse(merge.out)["output"]["export_run_id"], 1);
    const nlohmann::json verification = nlohmann::json::parse(merge.out)["output"]["verification"];
    EXPECT_TRUE(verification["passed"].get<bool>());
    EXPECT_LT(verification["max_abs_diff"].get<double>(), 1e-3);
    EXPECT_GT(verification["adapter_effect_max_abs"].get<double>(), 0.1)
        << "the trained adapter must move the logits for the comparison to mean anything";

    const auto evalLoss = [&](std::vector<std::string> args) {
        args.insert(args.end(), {"--data", data(), "--db", db(), "--json"});
        const CliOutcome outcome = ftw(args);
        EXPECT_EQ(outcome.exitCode, 0) << outcome.err;
        return nlohmann::json::parse(outcome.out)["output"]["loss"].get<double>();
    };
    const double adapted = evalLoss({"eval", "--model", model(), "--adapter", adapter});
    const double reloaded = evalLoss({"eval", "--model", merged});
    EXPECT_NEAR(reloaded, adapted, 1e-5);

    // The export is recorded with the training run it came from, with its report, and the text
    // output names that run (not the merge run, whose page does not list it).
    const CliOutcome shown = ftw({"runs", "show", "1", "--db", db()});
    EXPECT_NE(shown.out.find("merged f32, succeeded: " + merged), std::string::npos) << shown.out;
    const std::string mergedAgain = (m_dir / "merged-text").string();
    const CliOutcome text = ftw(
        {"merge", "--model", model(), "--adapter", adapter, "--out", mergedAgain, "--db", db()});
    ASSERT_EQ(text.exitCode, 0) << text.err;
    EXPECT_NE(text.out.find("of run 1 in "), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("see it with `ftw runs show 1`"), std::string::npos) << text.out;
    EXPECT_EQ(text.out.find("note: the adapter moves"), std::string::npos) << text.out;
}

TEST_F(TrainCommandTest, AnAdapterInTheFolderOfAnotherStoresRunIsNotRecordedWithThisStoresRun)
{
    // Store A trains run 1; store B beside it numbers its own first run 1 too, which fails
    // because runs/1 holds A's files.
    const std::vector<std::string> trainA = trainArgs("lora"); // ends with --db db()
    ASSERT_EQ(ftw(trainA).exitCode, 0);
    const std::string otherDb = (m_dir / "other.db").string();
    std::vector<std::string> trainB = trainA;
    trainB.back() = otherDb;
    EXPECT_EQ(ftw(trainB).exitCode, 2);

    const std::string adapter = (m_dir / "runs" / "1" / "adapter").string();
    const std::string merged = (m_dir / "merged-b").string();
    const CliOutcome merge =
        ftw({"merge", "--model", model(), "--adapter", adapter, "--out", merged, "--db", otherDb});
    ASSERT_EQ(merge.exitCode, 0) << merge.err;
    EXPECT_NE(merge.out.find("see it with `ftw runs show 2`"), std::string::npos) << merge.out;
    // Recorded with B's merge run (run 2), not with B's failed run 1, which wrote no adapter.
    const std::string exportLine = "merged f32, succeeded: " + merged;
    const CliOutcome failedRun = ftw({"runs", "show", "1", "--db", otherDb});
    EXPECT_EQ(failedRun.out.find(exportLine), std::string::npos) << failedRun.out;
    const CliOutcome mergeRun = ftw({"runs", "show", "2", "--db", otherDb});
    EXPECT_NE(mergeRun.out.find(exportLine), std::string::npos) << mergeRun.out;
    // (In store A the same folder is run 1's adapter, and its export is recorded with run 1:
    // AMergedExportEvaluatesToTheLossOfBasePlusAdapter.)
}

TEST_F(TrainCommandTest, NothingChosenTrainsTheBundledRunConfigAndOptionsStillApply)
{
    const std::filesystem::path root = makeBundle();
    ::setenv("FTW_DEFAULTS_DIR", root.c_str(), 1);
    const CliOutcome printed = ftw({"train", "--print-config"});
    const CliOutcome trained = ftw({"train", "--steps", "2", "--db", db(), "--json"});
    ::unsetenv("FTW_DEFAULTS_DIR");

    ASSERT_EQ(printed.exitCode, 0) << printed.err;
    const nlohmann::json config = nlohmann::json::parse(printed.out);
    EXPECT_EQ(config["name"], "bundled");
    EXPECT_EQ(std::filesystem::path(config["model"].get<std::string>()).lexically_normal(),
              (root / "model").lexically_normal());
    EXPECT_EQ(config["train"]["max_steps"], 7);
    ASSERT_EQ(trained.exitCode, 0) << trained.err;
    auto store = RunStore::open(db(), StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    const auto run = store->run(nlohmann::json::parse(trained.out)["run_id"].get<RunId>());
    ASSERT_TRUE(run.hasValue());
    EXPECT_EQ(run->summary.name, "bundled");
    EXPECT_EQ(run->summary.method, "lora");
    // --steps over the bundled max_steps.
    EXPECT_EQ(nlohmann::json::parse(run->configJson)["train"]["max_steps"], 2);
}

TEST_F(TrainCommandTest, EvalAndGenerateDefaultToTheBundledModelAndDataset)
{
    const std::filesystem::path root = makeBundle();
    const std::string bundledModel = (root / "model").string();
    const std::string bundledData = (root / "dataset" / "kjv-books.jsonl").string();
    ::setenv("FTW_DEFAULTS_DIR", root.c_str(), 1);
    const CliOutcome evalDefault = ftw({"eval", "--db", db(), "--json"});
    const CliOutcome generateDefault = ftw({"generate", "--prompt", "3+1=", "--json"});
    ::unsetenv("FTW_DEFAULTS_DIR");
    const CliOutcome evalNamed =
        ftw({"eval", "--model", bundledModel, "--data", bundledData, "--db", db(), "--json"});
    const CliOutcome generateNamed =
        ftw({"generate", "--model", bundledModel, "--prompt", "3+1=", "--json"});

    ASSERT_EQ(evalDefault.exitCode, 0) << evalDefault.err;
    ASSERT_EQ(evalNamed.exitCode, 0) << evalNamed.err;
    const nlohmann::json byDefault = nlohmann::json::parse(evalDefault.out)["output"];
    const nlohmann::json named = nlohmann::json::parse(evalNamed.out)["output"];
    EXPECT_EQ(byDefault["loss"], named["loss"]);
    EXPECT_EQ(byDefault["tokens"], named["tokens"]);
    ASSERT_EQ(generateDefault.exitCode, 0) << generateDefault.err;
    ASSERT_EQ(generateNamed.exitCode, 0) << generateNamed.err;
    EXPECT_EQ(nlohmann::json::parse(generateDefault.out)["ids"],
              nlohmann::json::parse(generateNamed.out)["ids"]);
    // The runs record the bundled model and dataset by their paths.
    auto store = RunStore::open(db(), StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    const auto runs = store->listRuns();
    ASSERT_TRUE(runs.hasValue());
    ASSERT_EQ(runs->size(), 2U);
    for (const RunSummary& run : *runs) {
        EXPECT_EQ(std::filesystem::path(run.model).lexically_normal(),
                  std::filesystem::path(bundledModel).lexically_normal());
    }
}

} // namespace
} // namespace ftw::cli
