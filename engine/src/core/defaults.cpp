// SPDX-License-Identifier: MIT
#include <ftw/defaults.h>

#include <ftw/error.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

namespace ftw {
namespace {

constexpr const char* kDatasetFile = "dataset/kjv-books.jsonl";
constexpr const char* kRunConfigFile = "run.json";

/// The folder of the running program, or empty when /proc does not say.
std::filesystem::path programDir()
{
    std::error_code error;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path() : exe.parent_path();
}

} // namespace

std::vector<std::filesystem::path> bundledDefaultsCandidates()
{
    std::vector<std::filesystem::path> candidates;
    if (const char* dir = std::getenv("FTW_DEFAULTS_DIR"); dir != nullptr && *dir != '\0') {
        candidates.emplace_back(dir);
    }
    if (const std::filesystem::path bin = programDir(); !bin.empty()) {
        candidates.push_back((bin / ".." / "share" / "ftw" / "default").lexically_normal());
    }
    candidates.emplace_back(FTW_SOURCE_DEFAULTS_DIR);
    return candidates;
}

Expected<BundledDefaults> findBundledDefaults()
{
    std::string looked;
    for (const std::filesystem::path& root : bundledDefaultsCandidates()) {
        std::error_code error;
        if (std::filesystem::is_regular_file(root / "model" / "config.json", error) &&
            std::filesystem::is_regular_file(root / kDatasetFile, error) &&
            std::filesystem::is_regular_file(root / kRunConfigFile, error)) {
            return BundledDefaults{root, root / "model", root / kDatasetFile,
                                   root / kRunConfigFile};
        }
        looked += (looked.empty() ? "" : ", ") + root.string();
    }
    return ErrorInfo{ErrorCode::NotFound,
                     "the bundled default model and dataset were not found (looked in " + looked +
                         " for model/config.json, " + kDatasetFile + " and " + kRunConfigFile +
                         "); choose a model and a dataset, or set FTW_DEFAULTS_DIR",
                     {}};
}

Expected<TrainSpec> bundledTrainSpec()
{
    const Expected<BundledDefaults> defaults = findBundledDefaults();
    if (!defaults) {
        return defaults.error();
    }
    std::ifstream in(defaults->runConfigFile);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
        return ErrorInfo{
            ErrorCode::Io, "cannot read '" + defaults->runConfigFile.string() + "'", {}};
    }
    return parseRunConfig(text.str(), defaults->runConfigFile.string(), defaults->root);
}

} // namespace ftw
