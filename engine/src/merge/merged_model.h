// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_config.h"
#include "nn/decoder.h"

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ftw::merge {

/// The element type a merged model is written in. The default value means "not chosen".
enum class ExportDType { Unknown, F32, F16, BF16 };

/// "f32", "f16" or "bf16"; ExportDType::Unknown for any other text.
[[nodiscard]] ExportDType parseExportDType(std::string_view name);
/// "f32", "f16", "bf16" ("" for Unknown).
[[nodiscard]] std::string_view exportDTypeName(ExportDType dtype);
/// config.json's torch_dtype: "float32", "float16", "bfloat16" ("" for Unknown).
[[nodiscard]] std::string_view torchDTypeName(ExportDType dtype);
/// Throws Error{InvalidArgument} for Unknown.
[[nodiscard]] c10::ScalarType scalarType(ExportDType dtype);

/// The largest accepted max |logit difference| as a share of the logit scale (the largest
/// |reference logit|, at least 1): 1e-3 for f32, whose only error is fp32 rounding and summation
/// order; 1e-2 for f16 (each weight rounded by up to 2^-11 relative); 5e-2 for bf16 (up to 2^-9).
/// The margins cover rounding that accumulates through deep models and the maximum taken over a
/// whole vocabulary, while a merge into the wrong weights or layout (differences of the logits' own
/// size) still fails. A missing merge fails only where the adapter moves the logits by more than
/// the tolerance; Verification::adapterEffect reports how much it does.
[[nodiscard]] double relativeTolerance(ExportDType dtype);

/// One input of the verification: the text (empty for fixed ids) and the token ids the model sees.
struct VerificationPrompt {
    std::string text;
    std::vector<std::int64_t> ids;
};

/// Prompts longer than this many tokens (or than the model's positions) are cut.
inline constexpr std::int64_t kMaxPromptTokens = 64;

/// The prompts used when none are given.
[[nodiscard]] const std::vector<std::string>& defaultVerificationTexts();

/// The verification inputs: `texts` (the built-in ones when empty) tokenized with the
/// tokenizer.json of `modelDir`, with a BOS as its tokenizer_config.json says, each cut to
/// kMaxPromptTokens and the model's positions. A folder without tokenizer.json gets three fixed
/// sequences of token ids instead.
/// Throws Error{InvalidConfig} when texts are given but there is no tokenizer.json, or a text gives
/// no tokens; Error{ModelFormat} for a malformed tokenizer.
[[nodiscard]] std::vector<VerificationPrompt>
makeVerificationPrompts(const std::filesystem::path& modelDir, const model::ModelConfig& config,
                        const std::vector<std::string>& texts);

/// The fp32 logits [tokens, vocab] of each prompt, computed without gradients on the CPU. Puts
/// `decoder` in eval mode.
[[nodiscard]] std::vector<at::Tensor> computeLogits(nn::DecoderImpl& decoder,
                                                    const std::vector<VerificationPrompt>& prompts);

/// max |a - b| over every logit of every prompt (prompts in the same order and shapes).
[[nodiscard]] double maxAbsDifference(const std::vector<at::Tensor>& a,
                                      const std::vector<at::Tensor>& b);

/// How the logits of one prompt compare.
struct PromptDifference {
    std::string text;
    std::int64_t tokens = 0;
    double maxAbsDiff = 0.0;
    double meanAbsDiff = 0.0;
};

/// The verification report of an export: the exported model's logits against base+adapter's.
struct Verification {
    std::string kind;  ///< "merged" or "adapter"
    std::string dtype; ///< the written weights' type: "f32", "f16", "bf16"
    std::vector<PromptDifference> prompts;
    double maxAbsDiff = 0.0;  ///< over every logit of every prompt (NaN when any is not finite)
    double meanAbsDiff = 0.0; ///< over every logit of every prompt
    double logitScale = 1.0;  ///< max |reference logit|, at least 1
    double relativeTolerance = 0.0;
    double tolerance = 0.0;     ///< relativeTolerance x logitScale
    double adapterEffect = 0.0; ///< max |(base+adapter) - base|: how much the adapter moves
    bool isPassed = false;      ///< maxAbsDiff <= tolerance (false for NaN)
};

/// Compares `actual` with `reference` (one [tokens, vocab] tensor per prompt). `baseLogits` (the
/// base model without the adapter) only sets adapterEffect.
[[nodiscard]] Verification compareLogits(const std::vector<VerificationPrompt>& prompts,
                                         const std::vector<at::Tensor>& reference,
                                         const std::vector<at::Tensor>& actual,
                                         const std::vector<at::Tensor>& baseLogits,
                                         ExportDType dtype);

/// The report as stored with the export and written as verification.json.
[[nodiscard]] nlohmann::json verificationJson(const Verification& verification);

/// Called before each tensor is converted with the count done so far and the total; it may throw
/// (ftw::Cancelled) to stop.
using TensorProgress = std::function<void(std::int64_t done, std::int64_t total)>;

/// Writes `outDir`/model.safetensors: every parameter of `decoder` (whose adapter, if any, is
/// merged) under its checkpoint name and in its checkpoint layout (GPT-2's Conv1D [in, out]; no
/// lm_head when embeddings are tied), converted to `dtype`, with PEFT's {"format": "pt"}
/// metadata. `outDir` must exist. Throws Error{Io} when writing fails, and what `onTensor` throws.
void writeMergedWeights(nn::DecoderImpl& decoder, const std::filesystem::path& outDir,
                        ExportDType dtype, const TensorProgress& onTensor);

/// Rounds every parameter of `decoder` to `dtype` and back in place, so that it computes what
/// the exported model computes once loaded (nothing changes for f32).
void roundToExportDType(nn::DecoderImpl& decoder, ExportDType dtype);

/// Checks that the model folder `folder` (just written) loads back as exactly `decoder`: its
/// config.json describes the same model with `dtype`'s torch_dtype, the loader pairs every
/// parameter with a tensor of the right shape (model::matchWeights), and each tensor's stored
/// bytes equal the parameter converted to `dtype`. The merged model's logits then stand for the
/// export's without reading it into a second model. Throws Error{Internal} "merge: verification
/// failed: ..." naming the file and the tensor, and the loader's Error{ModelFormat}.
void checkWrittenModel(const nn::DecoderImpl& decoder, const std::filesystem::path& folder,
                       ExportDType dtype);

/// The tokenizer and generation files copied from a model folder when present.
[[nodiscard]] const std::vector<std::string>& copiedModelFiles();

/// Writes `outDir`/config.json (that of `modelDir` with torch_dtype, and dtype when present, set
/// for `dtype`) and copies copiedModelFiles() that `modelDir` has. Throws Error{NotFound} when
/// `modelDir` has no config.json, Error{ModelFormat} when it is not JSON, Error{Io} when writing
/// or copying fails.
void writeModelFiles(const std::filesystem::path& modelDir, const std::filesystem::path& outDir,
                     ExportDType dtype);

} // namespace ftw::merge
