// SPDX-License-Identifier: MIT
#include "tokenizer_config.h"

#include <ftw/error.h>

#include <nlohmann/json.hpp>

#include <fstream>

namespace ftw::data {
namespace {

std::optional<std::string> tokenField(const nlohmann::json& json, const char* key,
                                      const std::string& source)
{
    const auto it = json.find(key);
    if (it == json.end() || it->is_null()) {
        return std::nullopt;
    }
    if (it->is_string()) {
        return it->get<std::string>();
    }
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
        return (*it)["content"].get<std::string>();
    }
    throw Error(ErrorCode::ModelFormat, "'" + source + "': field \"" + key +
                                            "\" must be a string or an object with \"content\"");
}

std::optional<bool> boolField(const nlohmann::json& json, const char* key,
                              const std::string& source)
{
    const auto it = json.find(key);
    if (it == json.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_boolean()) {
        throw Error(ErrorCode::ModelFormat,
                    "'" + source + "': field \"" + key + "\" must be true or false");
    }
    return it->get<bool>();
}

} // namespace

TokenizerConfig readTokenizerConfig(const std::filesystem::path& path)
{
    TokenizerConfig config;
    std::ifstream in(path);
    if (!in) {
        return config;
    }
    const nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        throw Error(ErrorCode::ModelFormat, "'" + path.string() + "' is not a JSON object");
    }
    config.bosToken = tokenField(json, "bos_token", path.string());
    config.eosToken = tokenField(json, "eos_token", path.string());
    config.padToken = tokenField(json, "pad_token", path.string());
    config.shouldAddBos = boolField(json, "add_bos_token", path.string());
    config.shouldAddEos = boolField(json, "add_eos_token", path.string()).value_or(false);
    return config;
}

std::string readChatTemplateText(const std::filesystem::path& path)
{
    std::ifstream in(path);
    const nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("chat_template") ||
        !json["chat_template"].is_string()) {
        return {};
    }
    return json["chat_template"].get<std::string>();
}

} // namespace ftw::data
