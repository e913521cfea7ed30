// SPDX-License-Identifier: MIT
#pragma once
// A tiny model and a small dataset on disk, and a TrainSpec over them, for training tests.

#include "support/temp_dir.h"

#include "model/tiny_model.h"

#include <ftw/run_config.h>

#include <fstream>
#include <string>

namespace ftw::test {

/// Eight question/answer pairs as prompt-completion records; the answers are what is trained.
inline void writeArithmeticDataset(const std::filesystem::path& file, int records = 8)
{
    std::ofstream out(file);
    for (int i = 0; i < records; ++i) {
        const int a = (i * 7 + 3) % 10;
        const int b = (i * 3 + 1) % 10;
        out << R"({"prompt": ")" << a << "+" << b << R"(=", "completion": ")" << a + b << R"(;"})"
            << '\n';
    }
}

/// A spec that overfits `method` on the arithmetic set with a tiny model of `arch` in `dir`.
inline TrainSpec tinyTrainSpec(const TempDir& dir, model::ArchId arch, AdapterMethod method,
                               std::uint64_t modelSeed = 1)
{
    const std::filesystem::path modelDir = dir / "model";
    if (!std::filesystem::exists(modelDir / "config.json")) {
        (void)model::writeTinyModel(modelDir, arch, modelSeed);
    }
    const std::filesystem::path data = dir / "data.jsonl";
    if (!std::filesystem::exists(data)) {
        writeArithmeticDataset(data);
    }
    TrainSpec spec;
    spec.runName = "tiny";
    spec.modelDir = modelDir;
    spec.data.path = data;
    spec.data.maxLength = 32;
    spec.data.validationRatio = 0.0;
    spec.adapter.method = method;
    spec.adapter.targetModules = {"all-linear"};
    spec.train.maxSteps = 30;
    spec.train.batchSize = 4;
    spec.train.learningRate = 1e-2;
    spec.train.lrScheduler = "constant";
    spec.train.seed = 7;
    spec.train.device = "cpu";
    return spec;
}

} // namespace ftw::test
