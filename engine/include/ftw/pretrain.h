// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/expected.h>
#include <ftw/run_config.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace ftw {

/// The shape of a Llama-architecture model trained from scratch. Its vocabulary size, BOS and EOS
/// come from the tokenizer; head_dim is hiddenSize / numHeads.
struct ModelShape {
    std::int64_t hiddenSize = 256;
    std::int64_t intermediateSize = 704;
    std::int64_t numLayers = 6;
    std::int64_t numHeads = 8;
    std::int64_t numKvHeads = 4; ///< grouped-query attention; must divide numHeads
    std::int64_t maxPositions = 256;
    double ropeTheta = 10000.0;
    double normEps = 1e-5;         ///< rms_norm_eps
    bool tieWordEmbeddings = true; ///< lm_head shares the token embeddings
};

/// The data settings of pretraining: plain text (one record per line), packed into full
/// sequences of 128 tokens, every token trained, 2% held out for evaluation.
[[nodiscard]] DataConfig pretrainDataDefaults();
/// The loop settings of pretraining: one epoch, batch 16, AdamW at 1e-3 with betas (0.9, 0.95),
/// weight decay 0.1, cosine schedule after a 5% warm-up, a checkpoint every 100 steps.
[[nodiscard]] TrainConfig pretrainTrainDefaults();

/// Trains a Llama-architecture model from scratch on a text corpus (`ftw pretrain`): writes a
/// randomly initialised model folder with the tokenizer, trains every weight with the trainer of
/// `ftw train` (method full: metrics, checkpoints, resume and cancellation as there), and writes
/// the trained model to `outputDir`. Records a run of kind "pretrain", method "full"; a stopped
/// run continues with the resume of a train run (`ftw resume RUN`).
struct PretrainSpec {
    std::string runName = "pretrain";
    /// A Hugging Face tokenizer.json; the tokenizer_config.json beside it, when there is one, goes
    /// with it into the model (else one is written naming the BOS, EOS and pad tokens found).
    std::filesystem::path tokenizerFile;
    ModelShape model;
    /// Where the trained model folder goes (config.json, model.safetensors, tokenizer files): it
    /// must not exist or be empty; it is written under `<outputDir>.partial` and renamed.
    std::filesystem::path outputDir;
    DataConfig data = pretrainDataDefaults();
    TrainConfig train = pretrainTrainDefaults(); ///< train.seed also seeds the initial weights
    /// A greedy continuation of this prompt by the initial and the trained model goes into the
    /// run's output JSON ("sample"), so that one sees what it learned.
    std::string samplePrompt = "The";
    std::int64_t sampleTokens = 48; ///< new tokens of the sample, 0 for none
};

/// Parses a pretrain config (JSON text: name, tokenizer, output_dir, model {...}, data {...},
/// train {...}, sample {...}; data and train as in a run config). Keys left out keep the
/// PretrainSpec defaults; relative paths are taken from `baseDir`. Returns: InvalidConfig naming
/// `source` and the key for a bad value or an unknown key.
[[nodiscard]] Expected<PretrainSpec> parsePretrainConfig(std::string_view jsonText,
                                                         const std::string& source,
                                                         const std::filesystem::path& baseDir = {});
/// The pretrain config of `spec` as indented JSON; parsePretrainConfig() reads it back unchanged.
[[nodiscard]] std::string pretrainConfigJson(const PretrainSpec& spec);
/// Checks every setting of `spec` (files are not opened). Returns: InvalidConfig naming the key
/// (and the `ftw pretrain` option) and what is expected, for example a head count that does not
/// divide the hidden size.
[[nodiscard]] Status validatePretrainSpec(const PretrainSpec& spec);

} // namespace ftw
