// SPDX-License-Identifier: MIT
#include "merged_model.h"

#include "core/atomic_file.h"
#include "core/check.h"
#include "data/tokenizer.h"
#include "data/tokenizer_config.h"
#include "model/checkpoint.h"
#include "model/dtype.h"
#include "model/model_loader.h"
#include "model/safetensors.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <system_error>
#include <utility>

namespace ftw::merge {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kFixedPromptTokens = 16;
constexpr int kFixedPrompts = 3;

/// Three deterministic id sequences spread over the vocabulary, for folders without a tokenizer.
std::vector<VerificationPrompt> fixedPrompts(const model::ModelConfig& config,
                                             std::int64_t maxTokens)
{
    FTW_CHECK(config.vocabSize > 0, ErrorCode::ModelFormat, "the model has an empty vocabulary");
    std::vector<VerificationPrompt> prompts;
    const std::int64_t length = std::min(kFixedPromptTokens, maxTokens);
    for (int p = 0; p < kFixedPrompts; ++p) {
        VerificationPrompt prompt;
        for (std::int64_t j = 0; j < length; ++j) {
            prompt.ids.push_back((1 + 31 * p + 97 * j) % config.vocabSize);
        }
        prompts.push_back(std::move(prompt));
    }
    return prompts;
}

} // namespace

namespace {

/// Each export dtype: its name, config.json's torch_dtype and the tensor type.
struct DTypeNames {
    ExportDType dtype;
    std::string_view name;
    std::string_view torchName;
    c10::ScalarType scalar;
};
constexpr std::array<DTypeNames, 3> kDTypes{{
    {ExportDType::F32, "f32", "float32", at::kFloat},
    {ExportDType::F16, "f16", "float16", at::kHalf},
    {ExportDType::BF16, "bf16", "bfloat16", at::kBFloat16},
}};

const DTypeNames* findDType(ExportDType dtype)
{
    const auto it = std::find_if(kDTypes.begin(), kDTypes.end(),
                                 [dtype](const DTypeNames& d) { return d.dtype == dtype; });
    return it == kDTypes.end() ? nullptr : &*it;
}

} // namespace

ExportDType parseExportDType(std::string_view name)
{
    const auto it = std::find_if(kDTypes.begin(), kDTypes.end(),
                                 [name](const DTypeNames& d) { return d.name == name; });
    return it == kDTypes.end() ? ExportDType::Unknown : it->dtype;
}

std::string_view exportDTypeName(ExportDType dtype)
{
    const DTypeNames* found = findDType(dtype);
    return found == nullptr ? "" : found->name;
}

std::string_view torchDTypeName(ExportDType dtype)
{
    const DTypeNames* found = findDType(dtype);
    return found == nullptr ? "" : found->torchName;
}

c10::ScalarType scalarType(ExportDType dtype)
{
    const DTypeNames* found = findDType(dtype);
    FTW_CHECK(found != nullptr, ErrorCode::InvalidArgument,
              "no export dtype chosen (f32, f16 or bf16)");
    return found->scalar;
}

double relativeTolerance(ExportDType dtype)
{
    switch (dtype) {
    case ExportDType::F16:
        return 1e-2;
    case ExportDType::BF16:
        return 5e-2;
    case ExportDType::F32:
    case ExportDType::Unknown:
        break;
    }
    return 1e-3;
}

const std::vector<std::string>& defaultVerificationTexts()
{
    static const std::vector<std::string> texts = {
        "The quick brown fox jumps over the lazy dog.",
        "In the beginning God created the heaven and the earth.",
        "Question: What is 12 plus 30?\nAnswer:",
        "def fibonacci(n):\n    if n < 2:\n        return n",
    };
    return texts;
}

std::vector<VerificationPrompt> makeVerificationPrompts(const fs::path& modelDir,
                                                        const model::ModelConfig& config,
                                                        const std::vector<std::string>& texts)
{
    const std::int64_t maxTokens = config.maxPositions > 0
                                       ? std::min(kMaxPromptTokens, config.maxPositions)
                                       : kMaxPromptTokens;
    const fs::path tokenizerFile = modelDir / "tokenizer.json";
    if (!fs::exists(tokenizerFile)) {
        FTW_CHECK(texts.empty(), ErrorCode::InvalidConfig,
                  "merge: verifyPrompts need a tokenizer.json in '" + modelDir.string() +
                      "'; leave them out to verify with fixed token ids");
        return fixedPrompts(config, maxTokens);
    }
    const data::Tokenizer tokenizer = data::Tokenizer::fromFile(tokenizerFile);
    const data::TokenizerConfig tokenizerConfig =
        data::readTokenizerConfig(modelDir / "tokenizer_config.json");
    const auto bos = tokenizer.bosIdToAdd(tokenizerConfig.shouldAddBos, tokenizerConfig.bosToken);
    std::vector<VerificationPrompt> prompts;
    for (const std::string& text : texts.empty() ? defaultVerificationTexts() : texts) {
        VerificationPrompt prompt{text, {}};
        if (bos) {
            prompt.ids.push_back(*bos);
        }
        const std::vector<std::int64_t> ids = tokenizer.encode(text);
        prompt.ids.insert(prompt.ids.end(), ids.begin(), ids.end());
        if (std::cmp_greater(prompt.ids.size(), maxTokens)) {
            prompt.ids.resize(static_cast<std::size_t>(maxTokens));
        }
        FTW_CHECK(!prompt.ids.empty(), ErrorCode::InvalidConfig,
                  "merge: the verification prompt '" + text + "' gives no tokens");
        for (const std::int64_t id : prompt.ids) {
            FTW_CHECK(id >= 0 && id < config.vocabSize, ErrorCode::ModelFormat,
                      "'" + tokenizerFile.string() + "' gives token id " + std::to_string(id) +
                          ", outside the model's vocabulary of " +
                          std::to_string(config.vocabSize));
        }
        prompts.push_back(std::move(prompt));
    }
    return prompts;
}

std::vector<at::Tensor> computeLogits(nn::DecoderImpl& decoder,
                                      const std::vector<VerificationPrompt>& prompts)
{
    const at::NoGradGuard noGrad;
    decoder.eval();
    std::vector<at::Tensor> logits;
    if (prompts.empty()) {
        return logits;
    }
    // One forward pass over the prompts right-padded to the longest: attention is causal, so a
    // prompt's positions never see the padding after them, and the weights are read once (a
    // forward pass over a few short prompts is bound by reading the weights).
    std::size_t longest = 0;
    for (const VerificationPrompt& prompt : prompts) {
        longest = std::max(longest, prompt.ids.size());
    }
    at::Tensor tokens = at::zeros(
        {static_cast<std::int64_t>(prompts.size()), static_cast<std::int64_t>(longest)}, at::kLong);
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        tokens[static_cast<std::int64_t>(i)]
            .narrow(0, 0, static_cast<std::int64_t>(prompts[i].ids.size()))
            .copy_(at::tensor(prompts[i].ids, at::kLong));
    }
    const at::Tensor all = decoder.forward(tokens).to(at::kFloat);
    logits.reserve(prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        logits.push_back(all[static_cast<std::int64_t>(i)]
                             .narrow(0, 0, static_cast<std::int64_t>(prompts[i].ids.size()))
                             .contiguous());
    }
    return logits;
}

double maxAbsDifference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b)
{
    FTW_CHECK(a.size() == b.size(), ErrorCode::Internal,
              "comparing logits of different prompt counts");
    double result = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double diff = (a[i] - b[i]).abs().max().item<double>();
        if (!std::isfinite(diff)) {
            return std::numeric_limits<double>::quiet_NaN();
        }
        result = std::max(result, diff);
    }
    return result;
}

Verification compareLogits(const std::vector<VerificationPrompt>& prompts,
                           const std::vector<at::Tensor>& reference,
                           const std::vector<at::Tensor>& actual,
                           const std::vector<at::Tensor>& baseLogits, ExportDType dtype)
{
    FTW_CHECK(prompts.size() == reference.size() && prompts.size() == actual.size() &&
                  !prompts.empty(),
              ErrorCode::Internal, "comparing logits: the prompt and logit counts differ");
    Verification v;
    v.dtype = std::string(exportDTypeName(dtype));
    v.relativeTolerance = relativeTolerance(dtype);
    double sumAbs = 0.0;
    double count = 0.0;
    bool isFinite = true;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        FTW_CHECK(reference[i].sizes() == actual[i].sizes(), ErrorCode::Internal,
                  "comparing logits of different shapes");
        const at::Tensor diff = (actual[i] - reference[i]).abs().to(at::kDouble);
        PromptDifference p;
        p.text = prompts[i].text;
        p.tokens = static_cast<std::int64_t>(prompts[i].ids.size());
        p.maxAbsDiff = diff.max().item<double>();
        p.meanAbsDiff = diff.mean().item<double>();
        isFinite = isFinite && std::isfinite(p.maxAbsDiff);
        v.maxAbsDiff = std::max(v.maxAbsDiff, p.maxAbsDiff);
        sumAbs += diff.sum().item<double>();
        count += static_cast<double>(diff.numel());
        v.logitScale = std::max(v.logitScale, reference[i].abs().max().item<double>());
        v.prompts.push_back(std::move(p));
    }
    if (!isFinite) {
        v.maxAbsDiff = std::numeric_limits<double>::quiet_NaN();
    }
    v.meanAbsDiff = sumAbs / count;
    v.tolerance = v.relativeTolerance * v.logitScale;
    v.adapterEffect = baseLogits.empty() ? 0.0 : maxAbsDifference(reference, baseLogits);
    v.isPassed = v.maxAbsDiff <= v.tolerance; // false for NaN
    return v;
}

nlohmann::json verificationJson(const Verification& v)
{
    // JSON has no NaN or infinity: a difference that is not finite is written as null.
    const auto number = [](double value) {
        return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
    };
    nlohmann::json prompts = nlohmann::json::array();
    for (const PromptDifference& p : v.prompts) {
        prompts.push_back({{"text", p.text},
                           {"tokens", p.tokens},
                           {"max_abs_diff", number(p.maxAbsDiff)},
                           {"mean_abs_diff", number(p.meanAbsDiff)}});
    }
    return {{"kind", v.kind},
            {"dtype", v.dtype},
            {"prompts", prompts},
            {"max_abs_diff", number(v.maxAbsDiff)},
            {"mean_abs_diff", number(v.meanAbsDiff)},
            {"logit_scale", number(v.logitScale)},
            {"relative_tolerance", v.relativeTolerance},
            {"tolerance", number(v.tolerance)},
            {"adapter_effect_max_abs", number(v.adapterEffect)},
            {"passed", v.isPassed}};
}

void writeMergedWeights(nn::DecoderImpl& decoder, const fs::path& outDir, ExportDType dtype,
                        const TensorProgress& onTensor)
{
    const c10::ScalarType type = scalarType(dtype);
    const auto parameters = decoder.named_parameters(/*recurse=*/true);
    const auto total = static_cast<std::int64_t>(parameters.size());
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    tensors.reserve(parameters.size());
    const at::NoGradGuard noGrad;
    std::int64_t done = 0;
    for (const auto& item : parameters) {
        if (onTensor) {
            onTensor(done, total);
        }
        // NOTE: for f32 this is the parameter itself (no copy); the names and layouts are the
        // checkpoint's, so the file is the base model's state dict with merged weights.
        tensors.emplace_back(item.key(), item.value().detach().to(type).contiguous());
        ++done;
    }
    model::writeSafetensors(outDir / "model.safetensors", tensors, {{"format", "pt"}});
}

void roundToExportDType(nn::DecoderImpl& decoder, ExportDType dtype)
{
    const c10::ScalarType type = scalarType(dtype);
    const at::NoGradGuard noGrad;
    for (at::Tensor& parameter : decoder.parameters(/*recurse=*/true)) {
        if (parameter.scalar_type() != type) {
            parameter.copy_(parameter.to(type));
        }
    }
}

void checkWrittenModel(const nn::DecoderImpl& decoder, const fs::path& folder, ExportDType dtype)
{
    const c10::ScalarType type = scalarType(dtype);
    model::ModelConfig expected = decoder.config();
    expected.dtype = model::fromScalarType(type);
    FTW_CHECK(model::readModelFolderConfig(folder) == expected, ErrorCode::Internal,
              "merge: verification failed: '" + (folder / "config.json").string() +
                  "' does not describe the merged model");
    const model::Checkpoint checkpoint = model::Checkpoint::open(folder);
    const at::NoGradGuard noGrad;
    for (const model::WeightMatch& match : model::matchWeights(decoder, checkpoint)) {
        const model::TensorInfo* info = checkpoint.find(match.fileName);
        const at::Tensor bytes = match.parameter.detach().to(type).contiguous();
        const bool isSame =
            info != nullptr && model::toScalarType(info->dtype) == type &&
            checkpoint.hasBytes(match.fileName, {static_cast<const std::byte*>(bytes.data_ptr()),
                                                 static_cast<std::size_t>(bytes.nbytes())});
        FTW_CHECK(isSame, ErrorCode::Internal,
                  "merge: verification failed: tensor '" + match.fileName + "' in '" +
                      folder.string() + "' is not the merged " + match.name + " in " +
                      std::string(exportDTypeName(dtype)));
    }
}

const std::vector<std::string>& copiedModelFiles()
{
    static const std::vector<std::string> names = {
        "tokenizer.json",    "tokenizer_config.json",  "special_tokens_map.json",
        "added_tokens.json", "generation_config.json", "vocab.json",
        "merges.txt",        "tokenizer.model",        "chat_template.jinja",
    };
    return names;
}

void writeModelFiles(const fs::path& modelDir, const fs::path& outDir, ExportDType dtype)
{
    const fs::path configPath = modelDir / "config.json";
    FTW_CHECK(fs::exists(configPath), ErrorCode::NotFound,
              "'" + modelDir.string() + "' is not a model folder: it has no config.json");
    std::ifstream in(configPath);
    nlohmann::ordered_json config = nlohmann::ordered_json::parse(in, nullptr, false);
    FTW_CHECK(!config.is_discarded() && config.is_object(), ErrorCode::ModelFormat,
              configPath.string() + ": not a JSON object");
    // transformers >= 4.56 writes "dtype"; older versions read "torch_dtype".
    config["torch_dtype"] = torchDTypeName(dtype);
    if (config.contains("dtype")) {
        config["dtype"] = torchDTypeName(dtype);
    }
    core::writeFileAtomically(
        outDir / "config.json",
        config.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
    for (const std::string& name : copiedModelFiles()) {
        const fs::path from = modelDir / name;
        std::error_code ec;
        if (!fs::is_regular_file(from, ec)) {
            continue;
        }
        fs::copy_file(from, outDir / name, fs::copy_options::overwrite_existing, ec);
        FTW_CHECK(!ec, ErrorCode::Io,
                  "cannot copy '" + from.string() + "' to '" + outDir.string() +
                      "': " + ec.message());
    }
}

} // namespace ftw::merge
