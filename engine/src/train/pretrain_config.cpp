// SPDX-License-Identifier: MIT
// Pretrain configs: PretrainSpec <-> JSON (its data and train sections are those of a run config,
// read and written by run_config.cpp), and the validation of a PretrainSpec.
#include <ftw/pretrain.h>

#include "core/api_guard.h"
#include "core/check.h"
#include "core/json_object_reader.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace ftw {
namespace {

using nlohmann::json;

constexpr const char* kConfigKind = "pretrain config";

json modelJson(const ModelShape& m)
{
    return json{
        {"architecture", "llama"},
        {"hidden_size", m.hiddenSize},
        {"intermediate_size", m.intermediateSize},
        {"num_hidden_layers", m.numLayers},
        {"num_attention_heads", m.numHeads},
        {"num_key_value_heads", m.numKvHeads},
        {"max_position_embeddings", m.maxPositions},
        {"rope_theta", m.ropeTheta},
        {"rms_norm_eps", m.normEps},
        {"tie_word_embeddings", m.tieWordEmbeddings},
    };
}

void readModel(core::JsonObjectReader& r, ModelShape& m, const std::string& source)
{
    std::string architecture = "llama";
    r.read("architecture", architecture);
    FTW_CHECK(architecture == "llama", ErrorCode::InvalidConfig,
              source + ": '" + r.path("architecture") + "' is '" + architecture +
                  "'; pretraining builds llama models only");
    r.read("hidden_size", m.hiddenSize);
    r.read("intermediate_size", m.intermediateSize);
    r.read("num_hidden_layers", m.numLayers);
    r.read("num_attention_heads", m.numHeads);
    r.read("num_key_value_heads", m.numKvHeads);
    r.read("max_position_embeddings", m.maxPositions);
    r.read("rope_theta", m.ropeTheta);
    r.read("rms_norm_eps", m.normEps);
    r.read("tie_word_embeddings", m.tieWordEmbeddings);
    r.rejectUnknownKeys();
}

/// The data and train sections of a run config holding `data` and `train`.
json runConfigSections(const DataConfig& data, const TrainConfig& train)
{
    TrainSpec spec;
    spec.data = data;
    spec.train = train;
    const json written = json::parse(runConfigJson(spec));
    return json{{"data", written.at("data")}, {"train", written.at("train")}};
}

/// Reads the data and train sections of `root` over the pretrain defaults with the run config's
/// own reader, so that both files share keys, types and messages.
void readDataAndTrain(core::JsonObjectReader& root, PretrainSpec& spec, const std::string& source)
{
    json sections = runConfigSections(spec.data, spec.train);
    for (const char* key : {"data", "train"}) {
        const json& given = root.object(key);
        FTW_CHECK(given.is_object(), ErrorCode::InvalidConfig,
                  source + ": '" + std::string(key) + "' must be a JSON object");
        for (const auto& [name, value] : given.items()) {
            if (!value.is_null()) {
                sections[key][name] = value;
            }
        }
    }
    Expected<TrainSpec> parsed = parseRunConfig(sections.dump(), source);
    if (!parsed) {
        throw Error(parsed.error().code, parsed.error().message);
    }
    spec.data = parsed->data;
    spec.train = parsed->train;
}

std::filesystem::path resolved(const std::filesystem::path& path,
                               const std::filesystem::path& baseDir)
{
    return path.empty() || path.is_absolute() || baseDir.empty() ? path : baseDir / path;
}

/// `key` names the config key, `option` the `ftw pretrain` option that sets it.
void require(bool isOk, const std::string& key, const std::string& option,
             const std::string& expectation)
{
    FTW_CHECK(isOk, ErrorCode::InvalidConfig,
              "pretrain config: '" + key + "'" + (option.empty() ? "" : " (" + option + ")") +
                  " must be " + expectation);
}

void validateShape(const ModelShape& m, const DataConfig& data)
{
    require(m.hiddenSize >= 1 && m.hiddenSize <= 65'536, "model.hidden_size", "--hidden",
            "between 1 and 65536, not " + std::to_string(m.hiddenSize));
    require(m.intermediateSize >= 1 && m.intermediateSize <= 1'048'576, "model.intermediate_size",
            "--intermediate", "between 1 and 1048576, not " + std::to_string(m.intermediateSize));
    require(m.numLayers >= 1 && m.numLayers <= 1'024, "model.num_hidden_layers", "--layers",
            "between 1 and 1024, not " + std::to_string(m.numLayers));
    require(m.numHeads >= 1 && m.hiddenSize % m.numHeads == 0, "model.num_attention_heads",
            "--heads",
            "at least 1 and divide model.hidden_size (" + std::to_string(m.hiddenSize) +
                ") evenly, not " + std::to_string(m.numHeads));
    require((m.hiddenSize / m.numHeads) % 2 == 0, "model.num_attention_heads", "--heads",
            "such that the head size hidden_size / heads is even for the rotary embedding, not " +
                std::to_string(m.hiddenSize / m.numHeads));
    require(m.numKvHeads >= 1 && m.numHeads % m.numKvHeads == 0, "model.num_key_value_heads",
            "--kv-heads",
            "at least 1 and divide model.num_attention_heads (" + std::to_string(m.numHeads) +
                ") evenly, not " + std::to_string(m.numKvHeads));
    require(m.maxPositions >= 2 && m.maxPositions <= 1'048'576, "model.max_position_embeddings",
            "--max-positions", "between 2 and 1048576, not " + std::to_string(m.maxPositions));
    require(data.maxLength <= m.maxPositions, "data.max_length", "--max-length",
            "at most model.max_position_embeddings (" + std::to_string(m.maxPositions) + "), not " +
                std::to_string(data.maxLength));
    require(std::isfinite(m.ropeTheta) && m.ropeTheta > 0.0, "model.rope_theta", "--rope-theta",
            "above 0");
    require(std::isfinite(m.normEps) && m.normEps > 0.0 && m.normEps < 1.0, "model.rms_norm_eps",
            "", "in (0, 1)");
}

} // namespace

DataConfig pretrainDataDefaults()
{
    DataConfig d;
    d.format = "text";
    d.maxLength = 128;
    d.isPacking = true;
    d.isCompletionOnly = false;
    d.validationRatio = 0.02;
    return d;
}

TrainConfig pretrainTrainDefaults()
{
    TrainConfig t;
    t.epochs = 1.0;
    t.batchSize = 16;
    t.learningRate = 1e-3;
    t.weightDecay = 0.1;
    t.adamBeta2 = 0.95;
    t.lrScheduler = "cosine";
    t.warmupRatio = 0.05;
    t.saveEverySteps = 100;
    return t;
}

Expected<PretrainSpec> parsePretrainConfig(std::string_view jsonText, const std::string& source,
                                           const std::filesystem::path& baseDir)
{
    return core::captureErrors([&] {
        const json root = json::parse(jsonText, nullptr, false);
        FTW_CHECK(!root.is_discarded(), ErrorCode::InvalidConfig,
                  source + ": not valid JSON (a pretrain config is one JSON object)");
        PretrainSpec spec;
        core::JsonObjectReader r(root, "", source, kConfigKind);
        r.read("name", spec.runName);
        r.read("tokenizer", spec.tokenizerFile);
        r.read("output_dir", spec.outputDir);
        core::JsonObjectReader model(r.object("model"), "model", source, kConfigKind);
        readModel(model, spec.model, source);
        readDataAndTrain(r, spec, source);
        core::JsonObjectReader sample(r.object("sample"), "sample", source, kConfigKind);
        sample.read("prompt", spec.samplePrompt);
        sample.read("max_new_tokens", spec.sampleTokens);
        sample.rejectUnknownKeys();
        r.rejectUnknownKeys();
        spec.tokenizerFile = resolved(spec.tokenizerFile, baseDir);
        spec.outputDir = resolved(spec.outputDir, baseDir);
        spec.data.path = resolved(spec.data.path, baseDir);
        return spec;
    });
}

std::string pretrainConfigJson(const PretrainSpec& spec)
{
    const json sections = runConfigSections(spec.data, spec.train);
    const json root = {
        {"name", spec.runName},
        {"tokenizer", spec.tokenizerFile.string()},
        {"output_dir", spec.outputDir.string()},
        {"model", modelJson(spec.model)},
        {"data", sections.at("data")},
        {"train", sections.at("train")},
        {"sample", {{"prompt", spec.samplePrompt}, {"max_new_tokens", spec.sampleTokens}}},
    };
    return root.dump(2);
}

Status validatePretrainSpec(const PretrainSpec& spec)
{
    const Expected<bool> checked = core::captureErrors([&] {
        require(!spec.runName.empty(), "name", "--name", "a non-empty run name");
        require(!spec.tokenizerFile.empty(), "tokenizer", "--tokenizer", "a tokenizer.json file");
        require(!spec.outputDir.empty(), "output_dir", "--out",
                "the folder to write the trained model to");
        require(!spec.data.path.empty(), "data.path", "--data", "a text file to train on");
        validateShape(spec.model, spec.data);
        require(spec.sampleTokens >= 0 && spec.sampleTokens <= 4'096, "sample.max_new_tokens", "",
                "between 0 and 4096");
        // The data and loop settings as a full fine-tuning run checks them.
        TrainSpec train;
        train.runName = spec.runName;
        train.modelDir = spec.outputDir;
        train.data = spec.data;
        train.train = spec.train;
        train.adapter.method = AdapterMethod::Full;
        if (const Status valid = validateTrainSpec(train); !valid) {
            throw Error(valid.error().code, valid.error().message);
        }
        return true;
    });
    if (!checked) {
        return checked.error();
    }
    return {};
}

} // namespace ftw
