// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace ftw::data {

/// The parts of tokenizer_config.json that FTW uses.
struct TokenizerConfig {
    std::optional<std::string> bosToken;
    std::optional<std::string> eosToken;
    std::optional<std::string> padToken;
    std::optional<bool>
        shouldAddBos; ///< add_bos_token; absent means "as the tokenizer's post-processor does"
    bool shouldAddEos = false; ///< add_eos_token
};

/// Reads `path`; a missing file gives the defaults. Tokens may be strings or {"content": ...}
/// objects. Throws Error{ModelFormat} naming the file and field for malformed content.
[[nodiscard]] TokenizerConfig readTokenizerConfig(const std::filesystem::path& path);

/// The chat_template text of a tokenizer_config.json, "" when the file, or the field, is missing
/// or not text.
[[nodiscard]] std::string readChatTemplateText(const std::filesystem::path& path);

} // namespace ftw::data
