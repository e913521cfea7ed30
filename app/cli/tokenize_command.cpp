// SPDX-License-Identifier: MIT
#include "cli.h"
#include "commands.h"

#include <ftw/tokenizers.h>

#include <nlohmann/json.hpp>

#include <iomanip>

namespace ftw::cli {

int tokenize(const CliContext& ctx, const std::filesystem::path& modelDir,
             const std::filesystem::path& tokenizerFile, const std::string& text)
{
    const std::filesystem::path file =
        tokenizerFile.empty() ? modelDir / "tokenizer.json" : tokenizerFile;
    const auto tokenized = ftw::tokenize(file, text);
    if (!tokenized) {
        return fail(ctx, tokenized.error().message);
    }
    if (ctx.isJson) {
        ctx.out << nlohmann::json(tokenized->ids).dump() << '\n';
        return kExitOk;
    }
    ctx.out << tokenized->ids.size() << (tokenized->ids.size() == 1 ? " token\n" : " tokens\n");
    for (std::size_t i = 0; i < tokenized->ids.size(); ++i) {
        // JSON-quoted so that spaces, newlines and byte-level characters are visible.
        ctx.out << std::setw(8) << tokenized->ids[i] << "  "
                << nlohmann::json(tokenized->tokens[i]).dump() << '\n';
    }
    return kExitOk;
}

} // namespace ftw::cli
