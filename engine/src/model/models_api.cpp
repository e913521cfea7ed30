// SPDX-License-Identifier: MIT
// The public model functions of ftw/models.h over the model/ internals.
#include <ftw/models.h>

#include "checkpoint.h"
#include "model_config.h"
#include "tiny_model.h"

#include "core/api_guard.h"
#include "core/check.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>

namespace ftw {
namespace {

/// "model.layers.3.self_attn.q_proj.weight" -> "self_attn.q_proj" for 2-D weights inside blocks.
std::string projectionKind(const model::TensorInfo& t)
{
    const std::string suffix = ".weight";
    if (t.shape.size() != 2 || t.name.size() <= suffix.size() ||
        t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return {};
    }
    const std::string module = t.name.substr(0, t.name.size() - suffix.size());
    for (const std::string blocks : {".layers.", ".h."}) {
        const auto at = module.find(blocks);
        if (at == std::string::npos) {
            continue;
        }
        const auto afterIndex = module.find('.', at + blocks.size());
        if (afterIndex != std::string::npos) {
            return module.substr(afterIndex + 1);
        }
    }
    return {};
}

} // namespace

std::vector<std::string> supportedArchitectures()
{
    std::vector<std::string> names;
    for (const model::ArchId arch : model::allArchIds()) {
        names.emplace_back(model::archName(arch));
    }
    return names;
}

Expected<ModelSummary> inspectModel(const std::filesystem::path& modelDir)
{
    return core::captureErrors([&] {
        const model::ModelConfig config = model::readModelFolderConfig(modelDir);
        const model::Checkpoint checkpoint = model::Checkpoint::open(modelDir);

        ModelSummary s;
        s.folder = modelDir;
        s.architecture = model::archName(config.arch);
        s.vocabSize = config.vocabSize;
        s.hiddenSize = config.hiddenSize;
        s.intermediateSize = config.intermediateSize;
        s.numLayers = config.numLayers;
        s.numHeads = config.numHeads;
        s.numKvHeads = config.numKvHeads;
        s.headDim = config.headDim;
        s.maxPositions = config.maxPositions;
        s.hasTiedEmbeddings = config.tieWordEmbeddings;
        s.configDtype = model::dtypeName(config.dtype);
        s.shardCount = static_cast<int>(checkpoint.shardCount());
        s.hasTokenizer = std::filesystem::exists(modelDir / "tokenizer.json");
        std::set<std::string> kinds;
        for (const std::string& name : checkpoint.tensorNames()) {
            const model::TensorInfo& t = *checkpoint.find(name);
            s.tensors.push_back(
                ModelTensor{t.name, std::string(model::dtypeName(t.dtype)), t.shape});
            s.parameterCount += t.numel();
            s.weightBytes += static_cast<std::int64_t>(t.end - t.begin);
            if (std::string kind = projectionKind(t); !kind.empty()) {
                kinds.insert(kind);
            }
        }
        s.adapterTargets.assign(kinds.begin(), kinds.end());
        return s;
    });
}

Expected<std::filesystem::path> adapterBaseModel(const std::filesystem::path& adapterDir)
{
    return core::captureErrors([&] {
        const std::filesystem::path file = adapterDir / "adapter_config.json";
        std::ifstream in(file);
        FTW_CHECK(in.good(), ErrorCode::NotFound,
                  "'" + adapterDir.string() + "' is not an adapter folder: it has no " +
                      "adapter_config.json");
        const nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
        FTW_CHECK(!json.is_discarded() && json.is_object(), ErrorCode::ModelFormat,
                  "'" + file.string() + "': not a JSON object");
        const auto name = json.find("base_model_name_or_path");
        FTW_CHECK(name != json.end() && name->is_string() && !name->get<std::string>().empty(),
                  ErrorCode::NotFound,
                  "'" + file.string() + "' names no base model (base_model_name_or_path)");
        const std::filesystem::path base = name->get<std::string>();
        std::error_code ec;
        FTW_CHECK(std::filesystem::is_regular_file(base / "config.json", ec), ErrorCode::NotFound,
                  "the base model that '" + file.string() + "' names (base_model_name_or_path '" +
                      base.string() + "') is not a model folder here");
        return base;
    });
}

Status makeTinyModel(const std::filesystem::path& outDir, std::string_view architecture,
                     std::uint64_t seed)
{
    const model::ArchId arch = model::parseArch(architecture);
    if (arch == model::ArchId::Unknown) {
        return ErrorInfo{ErrorCode::InvalidArgument,
                         "unknown architecture '" + std::string(architecture) +
                             "' (choose llama, mistral, qwen2, qwen3 or gpt2)",
                         {}};
    }
    const auto written = core::captureErrors([&] {
        (void)model::writeTinyModel(outDir, arch, seed);
        return true;
    });
    return written ? Status() : Status(written.error());
}

} // namespace ftw
