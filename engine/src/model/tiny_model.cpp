// SPDX-License-Identifier: MIT
#include "tiny_model.h"

#include "safetensors.h"

#include "core/atomic_file.h"
#include "data/byte_level.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

namespace ftw::model {

ModelConfig tinyConfig(ArchId arch)
{
    ModelConfig c;
    c.arch = arch;
    c.vocabSize = 259;
    c.hiddenSize = 64;
    c.intermediateSize = 128;
    c.numLayers = 2;
    c.numHeads = 4;
    c.numKvHeads = 2;
    c.headDim = 16;
    c.maxPositions = 64;
    c.normEps = 1e-6;
    c.ropeTheta = 10000.0;
    c.hiddenAct = "silu";
    c.bosTokenId = 256;
    c.eosTokenIds = {257};
    switch (arch) {
    case ArchId::Llama:
        c.ropeScaling = RopeScaling{"llama3", 8.0, 1.0, 4.0, 16};
        break;
    case ArchId::Qwen2:
        c.hasQkvBias = true;
        c.tieWordEmbeddings = true;
        c.ropeTheta = 1'000'000.0;
        break;
    case ArchId::Qwen3:
        c.hasQkNorm = true;
        c.headDim = 32; // explicit head_dim, not hidden / heads
        c.tieWordEmbeddings = true;
        break;
    case ArchId::Gpt2:
        c.numKvHeads = c.numHeads;
        c.normEps = 1e-5;
        c.hiddenAct = "gelu_new";
        c.tieWordEmbeddings = true;
        c.hasQkvBias = c.hasOutputBias = c.hasMlpBias = true;
        break;
    case ArchId::Mistral:
    case ArchId::Unknown:
        break;
    }
    return c;
}

std::string configJson(const ModelConfig& c)
{
    nlohmann::json json;
    json["model_type"] = archName(c.arch);
    json["vocab_size"] = c.vocabSize;
    json["torch_dtype"] = "float32";
    if (c.bosTokenId) {
        json["bos_token_id"] = *c.bosTokenId;
    }
    json["eos_token_id"] = c.eosTokenIds.size() == 1 ? nlohmann::json(c.eosTokenIds.front())
                                                     : nlohmann::json(c.eosTokenIds);
    if (c.arch == ArchId::Gpt2) {
        json["architectures"] = {"GPT2LMHeadModel"};
        json["n_embd"] = c.hiddenSize;
        json["n_layer"] = c.numLayers;
        json["n_head"] = c.numHeads;
        json["n_inner"] = c.intermediateSize;
        json["n_positions"] = c.maxPositions;
        json["layer_norm_epsilon"] = c.normEps;
        json["activation_function"] = c.hiddenAct;
        return json.dump(2);
    }
    json["hidden_size"] = c.hiddenSize;
    json["intermediate_size"] = c.intermediateSize;
    json["num_hidden_layers"] = c.numLayers;
    json["num_attention_heads"] = c.numHeads;
    json["num_key_value_heads"] = c.numKvHeads;
    json["head_dim"] = c.headDim;
    json["max_position_embeddings"] = c.maxPositions;
    json["rms_norm_eps"] = c.normEps;
    json["rope_theta"] = c.ropeTheta;
    json["hidden_act"] = c.hiddenAct;
    json["tie_word_embeddings"] = c.tieWordEmbeddings;
    if (c.arch == ArchId::Llama || c.arch == ArchId::Mistral || c.arch == ArchId::Qwen3) {
        json["attention_bias"] = c.hasQkvBias;
    }
    if (c.ropeScaling) {
        json["rope_scaling"] = {
            {"rope_type", c.ropeScaling->type},
            {"factor", c.ropeScaling->factor},
            {"low_freq_factor", c.ropeScaling->lowFreqFactor},
            {"high_freq_factor", c.ropeScaling->highFreqFactor},
            {"original_max_position_embeddings", c.ropeScaling->originalMaxPositions}};
    }
    const char* architecture = c.arch == ArchId::Qwen2     ? "Qwen2ForCausalLM"
                               : c.arch == ArchId::Qwen3   ? "Qwen3ForCausalLM"
                               : c.arch == ArchId::Mistral ? "MistralForCausalLM"
                                                           : "LlamaForCausalLM";
    json["architectures"] = {architecture};
    return json.dump(2);
}

std::string tinyTokenizerJson()
{
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (int b = 0; b < 256; ++b) {
        vocab[data::bytesToByteLevel(std::string(1, static_cast<char>(b)))] = b;
    }
    const auto special = [](int id, const char* content) {
        return nlohmann::ordered_json{
            {"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
            {"rstrip", false}, {"normalized", false}, {"special", true}};
    };
    const nlohmann::ordered_json json = {
        {"version", "1.0"},
        {"added_tokens",
         {special(256, "<|begin_of_text|>"), special(257, "<|end_of_text|>"),
          special(258, "<|pad|>")}},
        {"normalizer", nullptr},
        {"pre_tokenizer",
         {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
        {"post_processor", nullptr},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::ordered_json::array()}}},
    };
    return json.dump();
}

std::string tinyTokenizerConfigJson()
{
    return nlohmann::ordered_json{
        {"bos_token", "<|begin_of_text|>"}, {"eos_token", "<|end_of_text|>"},
        {"pad_token", "<|pad|>"},           {"add_bos_token", true},
        {"add_eos_token", false},           {"model_max_length", 64}}
        .dump(2);
}

RandomInit pretrainingInit()
{
    return RandomInit{0.02, 0.0, 0.0};
}

void initializeRandom(nn::DecoderImpl& decoder, std::uint64_t seed, const RandomInit& init)
{
    torch::manual_seed(seed);
    const at::NoGradGuard noGrad;
    for (auto& item : decoder.named_parameters()) {
        const std::string& name = item.key();
        at::Tensor& p = item.value();
        const bool isNorm =
            name.find("norm") != std::string::npos || name.find("ln_") != std::string::npos;
        const bool isBias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
        if (isNorm && !isBias) {
            p.copy_(1.0 + init.normNoiseStd * at::randn(p.sizes()));
        } else if (isBias) {
            p.copy_(init.biasStd * at::randn(p.sizes()));
        } else {
            p.copy_(init.weightStd * at::randn(p.sizes()));
        }
    }
}

nn::Decoder writeRandomModel(const std::filesystem::path& dir, const ModelConfig& config,
                             std::uint64_t seed, const RandomInit& init)
{
    nn::Decoder decoder(config);
    initializeRandom(*decoder, seed, init);
    std::filesystem::create_directories(dir);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& item : decoder->named_parameters()) {
        tensors.emplace_back(item.key(), item.value());
    }
    writeSafetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
    core::writeFileAtomically(dir / "config.json", configJson(config) + "\n");
    decoder->eval();
    return decoder;
}

nn::Decoder writeTinyModel(const std::filesystem::path& dir, ArchId arch, std::uint64_t seed)
{
    nn::Decoder decoder = writeRandomModel(dir, tinyConfig(arch), seed);
    core::writeFileAtomically(dir / "tokenizer.json", tinyTokenizerJson());
    core::writeFileAtomically(dir / "tokenizer_config.json", tinyTokenizerConfigJson() + "\n");
    return decoder;
}

} // namespace ftw::model
