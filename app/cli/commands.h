// SPDX-License-Identifier: MIT
#pragma once

#include "cli_context.h"

#include <ftw/datasets.h>
#include <ftw/generation.h>
#include <ftw/job.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace ftw::cli {

/// `ftw runs list`
int runsList(const CliContext& ctx);
/// `ftw runs show RUN_ID`
int runsShow(const CliContext& ctx, RunId id);
/// `ftw make-tiny-model OUT_DIR [--arch A] [--seed N]`
int makeTinyModel(const CliContext& ctx, const std::filesystem::path& outDir,
                  const std::string& architecture, std::uint64_t seed);
/// `ftw inspect-model MODEL_DIR`
int inspectModel(const CliContext& ctx, const std::filesystem::path& modelDir);
/// `ftw tokenize (--model DIR | --tokenizer FILE) --text TEXT`
int tokenize(const CliContext& ctx, const std::filesystem::path& modelDir,
             const std::filesystem::path& tokenizerFile, const std::string& text);
/// `ftw generate --model DIR [--adapter DIR] --prompt TEXT ...`
int generate(const CliContext& ctx, const GenerateRequest& request, const std::string& adapterDir);
/// `ftw preview-data --data FILE [--model DIR] [--format F] [--limit N]`
int previewData(const CliContext& ctx, const DatasetPreviewRequest& request);
/// `ftw demo`: runs the demonstration job with a progress bar; Ctrl-C cancels it (exit 3).
int demo(const CliContext& ctx, const DemoJobSpec& spec);

} // namespace ftw::cli
