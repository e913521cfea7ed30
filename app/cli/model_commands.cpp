// SPDX-License-Identifier: MIT
#include "cli.h"
#include "commands.h"
#include "format.h"

#include <ftw/models.h>

#include <nlohmann/json.hpp>

namespace ftw::cli {

int makeTinyModel(const CliContext& ctx, const std::filesystem::path& outDir,
                  const std::string& architecture, std::uint64_t seed)
{
    const Status status = ftw::makeTinyModel(outDir, architecture, seed);
    if (!status) {
        return fail(ctx, status.error().message);
    }
    if (ctx.isJson) {
        ctx.out << nlohmann::json{{"path", outDir.string()},
                                  {"architecture", architecture},
                                  {"seed", seed}}
                       .dump(2)
                << '\n';
    } else {
        ctx.out << "wrote a tiny " << architecture << " model to " << outDir.string()
                << "; see it with `ftw inspect-model " << outDir.string() << "`\n";
    }
    return kExitOk;
}

int inspectModel(const CliContext& ctx, const std::filesystem::path& modelDir)
{
    const auto summary = ftw::inspectModel(modelDir);
    if (!summary) {
        return fail(ctx, summary.error().message);
    }
    const ModelSummary& s = *summary;
    if (ctx.isJson) {
        nlohmann::json tensors = nlohmann::json::array();
        for (const ModelTensor& t : s.tensors) {
            tensors.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}});
        }
        ctx.out << nlohmann::json{{"path", s.folder.string()},
                                  {"architecture", s.architecture},
                                  {"vocab_size", s.vocabSize},
                                  {"hidden_size", s.hiddenSize},
                                  {"intermediate_size", s.intermediateSize},
                                  {"num_layers", s.numLayers},
                                  {"num_heads", s.numHeads},
                                  {"num_kv_heads", s.numKvHeads},
                                  {"head_dim", s.headDim},
                                  {"max_positions", s.maxPositions},
                                  {"tied_embeddings", s.hasTiedEmbeddings},
                                  {"dtype", s.configDtype},
                                  {"parameters", s.parameterCount},
                                  {"weight_bytes", s.weightBytes},
                                  {"shards", s.shardCount},
                                  {"adapter_targets", s.adapterTargets},
                                  {"has_tokenizer", s.hasTokenizer},
                                  {"tensors", tensors}}
                       .dump(2)
                << '\n';
        return kExitOk;
    }
    std::string targets;
    for (const std::string& target : s.adapterTargets) {
        targets += (targets.empty() ? "" : ", ") + target;
    }
    ctx.out << "Model " << s.folder.string() << '\n'
            << "  architecture:    " << s.architecture << '\n'
            << "  layers:          " << s.numLayers << " (hidden " << s.hiddenSize << ", MLP "
            << s.intermediateSize << ")\n"
            << "  attention:       " << s.numHeads << " heads, " << s.numKvHeads
            << " key/value heads, head dim " << s.headDim << '\n'
            << "  vocabulary:      " << s.vocabSize << " tokens, " << s.maxPositions
            << " positions\n"
            << "  embeddings:      " << (s.hasTiedEmbeddings ? "tied to the output head" : "untied")
            << '\n'
            << "  weights:         " << formatCount(s.parameterCount) << " parameters, "
            << s.configDtype << ", " << s.weightBytes / 1024 << " KiB in " << s.shardCount
            << (s.shardCount == 1 ? " file\n" : " files\n")
            << "  adapter targets: " << (targets.empty() ? "-" : targets) << '\n'
            << "  tokenizer:       "
            << (s.hasTokenizer ? "tokenizer.json" : "none (no tokenizer.json)") << '\n';
    return kExitOk;
}

} // namespace ftw::cli
