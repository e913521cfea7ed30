// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/expected.h>
#include <ftw/run_config.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ftw {

/// The bundled default model and dataset (resources/default in the source tree,
/// share/ftw/default when installed): what the workbench and `ftw train` use when nothing else is
/// chosen.
struct BundledDefaults {
    std::filesystem::path root;        ///< the folder holding model/ and dataset/
    std::filesystem::path modelDir;    ///< root/model: config.json, weights, tokenizer.json
    std::filesystem::path datasetFile; ///< root/dataset/kjv-books.jsonl
    /// root/run.json: the run config that fine-tunes the model on the dataset (paths relative
    /// to root), used when a run chooses nothing.
    std::filesystem::path runConfigFile;
};

/// Where findBundledDefaults() looks, in order: $FTW_DEFAULTS_DIR when set; share/ftw/default
/// beside the running program's bin/ folder (an installed FTW); the source tree's
/// resources/default (a build).
[[nodiscard]] std::vector<std::filesystem::path> bundledDefaultsCandidates();

/// The first candidate that holds model/config.json, the dataset file and run.json. Returns:
/// NotFound naming every folder it looked in.
[[nodiscard]] Expected<BundledDefaults> findBundledDefaults();

/// The bundled run config (run.json) as a TrainSpec with absolute paths. Returns: the errors of
/// findBundledDefaults() and of parseRunConfig() (naming run.json and the field).
[[nodiscard]] Expected<TrainSpec> bundledTrainSpec();

} // namespace ftw
