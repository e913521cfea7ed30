// SPDX-License-Identifier: MIT
#include "model_config.h"

#include <ftw/error.h>

#include "core/enum_names.h"

#include <nlohmann/json.hpp>

#include <array>
#include <fstream>
#include <sstream>
#include <utility>

namespace ftw::model {
namespace {

constexpr core::NameTable<ArchId, 5> kArchNames{{
    {ArchId::Llama, "llama"},
    {ArchId::Mistral, "mistral"},
    {ArchId::Qwen2, "qwen2"},
    {ArchId::Qwen3, "qwen3"},
    {ArchId::Gpt2, "gpt2"},
}};

/// Reads typed fields of one config object, naming the file and field in every error.
class Fields {
public:
    Fields(const nlohmann::json& json, std::string source)
        : m_json(json), m_source(std::move(source))
    {
    }

    [[noreturn]] void fail(const std::string& what) const
    {
        throw Error(ErrorCode::ModelFormat, "'" + m_source + "': " + what);
    }

    std::int64_t positive(const char* key) const
    {
        const auto it = m_json.find(key);
        if (it == m_json.end() || it->is_null()) {
            fail(std::string("missing field \"") + key + "\"");
        }
        return positiveValue(key, *it);
    }

    std::int64_t positiveOr(const char* key, std::int64_t fallback) const
    {
        const auto it = m_json.find(key);
        return it == m_json.end() || it->is_null() ? fallback : positiveValue(key, *it);
    }

    double numberOr(const char* key, double fallback) const
    {
        const auto it = m_json.find(key);
        if (it == m_json.end() || it->is_null()) {
            return fallback;
        }
        if (!it->is_number()) {
            fail(std::string("field \"") + key + "\" must be a number, got " + it->dump());
        }
        return it->get<double>();
    }

    bool boolOr(const char* key, bool fallback) const
    {
        const auto it = m_json.find(key);
        if (it == m_json.end() || it->is_null()) {
            return fallback;
        }
        if (!it->is_boolean()) {
            fail(std::string("field \"") + key + "\" must be true or false, got " + it->dump());
        }
        return it->get<bool>();
    }

    std::string stringOr(const char* key, const std::string& fallback) const
    {
        const auto it = m_json.find(key);
        if (it == m_json.end() || it->is_null()) {
            return fallback;
        }
        if (!it->is_string()) {
            fail(std::string("field \"") + key + "\" must be a string, got " + it->dump());
        }
        return it->get<std::string>();
    }

    /// An id or a list of ids ("eos_token_id": 2 or [128001, 128009]).
    std::vector<std::int64_t> ids(const char* key) const
    {
        const auto it = m_json.find(key);
        std::vector<std::int64_t> result;
        if (it == m_json.end() || it->is_null()) {
            return result;
        }
        const nlohmann::json list = it->is_array() ? *it : nlohmann::json::array({*it});
        for (const nlohmann::json& id : list) {
            if (!id.is_number_integer() || id.get<std::int64_t>() < 0) {
                fail(std::string("field \"") + key + "\" must hold token ids, got " + it->dump());
            }
            result.push_back(id.get<std::int64_t>());
        }
        return result;
    }

    const nlohmann::json& json() const { return m_json; }

private:
    std::int64_t positiveValue(const char* key, const nlohmann::json& value) const
    {
        if (!value.is_number_integer() || value.get<std::int64_t>() <= 0) {
            fail(std::string("field \"") + key + "\" must be a positive integer, got " +
                 value.dump());
        }
        return value.get<std::int64_t>();
    }

    const nlohmann::json& m_json;
    std::string m_source;
};

void readLlamaFamily(const Fields& f, ModelConfig& c)
{
    c.vocabSize = f.positive("vocab_size");
    c.hiddenSize = f.positive("hidden_size");
    c.intermediateSize = f.positive("intermediate_size");
    c.numLayers = f.positive("num_hidden_layers");
    c.numHeads = f.positive("num_attention_heads");
    c.numKvHeads = f.positiveOr("num_key_value_heads", c.numHeads);
    c.headDim = f.positiveOr("head_dim", c.hiddenSize / c.numHeads);
    c.maxPositions = f.positiveOr("max_position_embeddings", 2048);
    c.normEps = f.numberOr("rms_norm_eps", 1e-6);
    c.ropeTheta = f.numberOr("rope_theta", 10000.0);
    c.tieWordEmbeddings = f.boolOr("tie_word_embeddings", false);
    c.hiddenAct = f.stringOr("hidden_act", "silu");
    const bool attentionBias = f.boolOr("attention_bias", false);
    c.hasQkvBias = attentionBias || c.arch == ArchId::Qwen2; // Qwen2 always has q/k/v biases
    c.hasOutputBias = attentionBias && c.arch != ArchId::Qwen2;
    c.hasMlpBias = f.boolOr("mlp_bias", false);
    c.hasQkNorm = c.arch == ArchId::Qwen3;

    const auto scaling = f.json().find("rope_scaling");
    if (scaling != f.json().end() && !scaling->is_null()) {
        if (!scaling->is_object()) {
            f.fail("field \"rope_scaling\" must be an object or null");
        }
        const Fields s(*scaling, "rope_scaling");
        RopeScaling rope;
        rope.type = s.stringOr("rope_type", s.stringOr("type", ""));
        if (rope.type != "llama3" && rope.type != "default") {
            f.fail("rope_scaling type \"" + rope.type +
                   "\" is not supported (FTW supports llama3)");
        }
        rope.factor = s.numberOr("factor", 1.0);
        rope.lowFreqFactor = s.numberOr("low_freq_factor", 1.0);
        rope.highFreqFactor = s.numberOr("high_freq_factor", 4.0);
        rope.originalMaxPositions = s.positiveOr("original_max_position_embeddings", 8192);
        if (rope.type == "llama3") {
            c.ropeScaling = rope;
        }
    }
}

void readGpt2(const Fields& f, ModelConfig& c)
{
    c.vocabSize = f.positive("vocab_size");
    c.hiddenSize = f.positive("n_embd");
    c.numLayers = f.positive("n_layer");
    c.numHeads = f.positive("n_head");
    c.numKvHeads = c.numHeads;
    c.headDim = c.hiddenSize / c.numHeads;
    c.intermediateSize = f.positiveOr("n_inner", 4 * c.hiddenSize);
    c.maxPositions = f.positive("n_positions");
    c.normEps = f.numberOr("layer_norm_epsilon", 1e-5);
    c.tieWordEmbeddings = true; // GPT-2's lm_head is always the token embedding
    c.hasQkvBias = true;
    c.hasOutputBias = true;
    c.hasMlpBias = true;
    c.hiddenAct = f.stringOr("activation_function", "gelu_new");
}

} // namespace

std::string_view archName(ArchId arch)
{
    return core::nameOf(kArchNames, arch, "unknown");
}

ArchId parseArch(std::string_view modelType)
{
    return core::valueOf(kArchNames, modelType).value_or(ArchId::Unknown);
}

std::vector<ArchId> allArchIds()
{
    std::vector<ArchId> ids;
    for (const auto& [id, name] : kArchNames) {
        ids.push_back(id);
    }
    return ids;
}

ModelConfig parseModelConfigText(std::string_view text, const std::string& source)
{
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        throw Error(ErrorCode::ModelFormat, "'" + source + "' is not a JSON object");
    }
    const Fields f(json, source);
    const std::string modelType = f.stringOr("model_type", "");
    ModelConfig c;
    c.arch = parseArch(modelType);
    if (c.arch == ArchId::Unknown) {
        f.fail(modelType.empty() ? std::string("missing field \"model_type\"")
                                 : "model_type \"" + modelType +
                                       "\" is not supported (FTW builds llama, mistral, qwen2, "
                                       "qwen3 and gpt2)");
    }
    if (c.arch == ArchId::Gpt2) {
        readGpt2(f, c);
    } else {
        readLlamaFamily(f, c);
    }
    if (c.arch != ArchId::Qwen3 && c.hiddenSize % c.numHeads != 0) {
        f.fail("the hidden size " + std::to_string(c.hiddenSize) + " is not divisible by the " +
               std::to_string(c.numHeads) + " attention heads");
    }
    if (c.numHeads % c.numKvHeads != 0) {
        f.fail("the " + std::to_string(c.numHeads) + " attention heads are not divisible by the " +
               std::to_string(c.numKvHeads) + " key/value heads");
    }
    const std::string dtypeText = f.stringOr("torch_dtype", "float32");
    if (dtypeText == "float32") {
        c.dtype = DType::F32;
    } else if (dtypeText == "float16") {
        c.dtype = DType::F16;
    } else if (dtypeText == "bfloat16") {
        c.dtype = DType::BF16;
    } else {
        f.fail("torch_dtype \"" + dtypeText + "\" is not supported (float32, float16 or bfloat16)");
    }
    const std::vector<std::int64_t> bos = f.ids("bos_token_id");
    if (!bos.empty()) {
        c.bosTokenId = bos.front();
    }
    c.eosTokenIds = f.ids("eos_token_id");
    return c;
}

ModelConfig parseModelConfig(const std::filesystem::path& configPath)
{
    std::ifstream in(configPath);
    if (!in) {
        throw Error(ErrorCode::NotFound, "cannot read '" + configPath.string() + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    return parseModelConfigText(text.str(), configPath.string());
}

ModelConfig readModelFolderConfig(const std::filesystem::path& modelDir)
{
    const std::filesystem::path configPath = modelDir / "config.json";
    if (!std::filesystem::exists(configPath)) {
        throw Error(ErrorCode::NotFound,
                    "'" + modelDir.string() + "' is not a model folder: it has no config.json");
    }
    return parseModelConfig(configPath);
}

} // namespace ftw::model
