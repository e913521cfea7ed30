// SPDX-License-Identifier: MIT
#include "model_loader.h"

#include <ftw/error.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace ftw::model {
namespace {

constexpr std::size_t kListedNames = 20;

bool endsWith(const std::string& text, std::string_view suffix)
{
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Checkpoint entries that are not parameters of FTW's modules and carry nothing it needs.
bool isIgnorable(const std::string& name, const ModelConfig& config)
{
    if (endsWith(name, "rotary_emb.inv_freq")) {
        return true;
    }
    if (config.tieWordEmbeddings && name == "lm_head.weight") {
        return true;
    }
    return config.arch == ArchId::Gpt2 &&
           (endsWith(name, ".attn.bias") || endsWith(name, ".attn.masked_bias"));
}

std::string listNames(const std::string& title, const std::vector<std::string>& names)
{
    std::ostringstream out;
    out << "\n  " << title << " (" << names.size() << "): ";
    for (std::size_t i = 0; i < names.size() && i < kListedNames; ++i) {
        out << (i == 0 ? "" : ", ") << names[i];
    }
    if (names.size() > kListedNames) {
        out << ", ...";
    }
    return out.str();
}

} // namespace

std::vector<WeightMatch> matchWeights(const nn::DecoderImpl& decoder, const Checkpoint& checkpoint)
{
    const ModelConfig& config = decoder.config();
    std::set<std::string> fileNames;
    for (const std::string& name : checkpoint.tensorNames()) {
        fileNames.insert(name);
    }
    // Older GPT-2 files store "h.0.attn..." for "transformer.h.0.attn...".
    const bool isUnprefixedGpt2 = config.arch == ArchId::Gpt2 && fileNames.count("wte.weight") == 1;
    const auto fileNameOf = [&](const std::string& name) {
        const std::string prefix = "transformer.";
        return isUnprefixedGpt2 && name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
    };

    std::vector<std::string> missing;
    std::vector<std::string> misShaped;
    std::set<std::string> used;
    std::vector<WeightMatch> assignments;
    for (const auto& item : decoder.named_parameters()) {
        const std::string fileName = fileNameOf(item.key());
        const TensorInfo* info = checkpoint.find(fileName);
        if (info == nullptr) {
            missing.push_back(fileName);
            continue;
        }
        used.insert(fileName);
        if (info->shape != item.value().sizes().vec()) {
            std::ostringstream shapes;
            shapes << fileName << " " << at::IntArrayRef(info->shape) << " (expected "
                   << item.value().sizes() << ")";
            misShaped.push_back(shapes.str());
            continue;
        }
        if (info->dtype != DType::F32 && info->dtype != DType::F16 && info->dtype != DType::BF16) {
            misShaped.push_back(fileName + " has dtype " + std::string(dtypeName(info->dtype)) +
                                " (expected F32, F16 or BF16)");
            continue;
        }
        assignments.push_back(WeightMatch{item.key(), item.value(), fileName});
    }
    std::vector<std::string> unexpected;
    for (const std::string& name : fileNames) {
        if (used.count(name) == 0 && !isIgnorable(name, config)) {
            unexpected.push_back(name);
        }
    }
    if (!missing.empty() || !unexpected.empty() || !misShaped.empty()) {
        std::string message = "the weights in '" + checkpoint.folder().string() +
                              "' do not fit a " + std::string(archName(config.arch)) +
                              " model of this config.json:";
        if (!missing.empty()) {
            message += listNames("missing", missing);
        }
        if (!unexpected.empty()) {
            message += listNames("unexpected", unexpected);
        }
        if (!misShaped.empty()) {
            message += listNames("wrong shape or dtype", misShaped);
        }
        throw Error(ErrorCode::ModelFormat, message);
    }
    return assignments;
}

void loadWeights(nn::DecoderImpl& decoder, const Checkpoint& checkpoint)
{
    const at::NoGradGuard noGrad;
    for (WeightMatch& match : matchWeights(decoder, checkpoint)) {
        checkpoint.loadInto(match.fileName, match.parameter);
    }
}

LoadedModel loadModel(const std::filesystem::path& modelDir)
{
    LoadedModel model;
    model.config = readModelFolderConfig(modelDir);
    const Checkpoint checkpoint = Checkpoint::open(modelDir);
    model.decoder = nn::Decoder(model.config);
    model.decoder->packProjections(/*isKeepingValues=*/false); // the weights are read into it
    loadWeights(*model.decoder, checkpoint);
    model.decoder->eval();
    return model;
}

} // namespace ftw::model
