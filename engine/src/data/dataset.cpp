// SPDX-License-Identifier: MIT
#include "dataset.h"

#include <ftw/error.h>

#include "core/enum_names.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <random>
#include <utility>

namespace ftw::data {
namespace {

constexpr core::NameTable<DatasetFormat, 5> kFormatNames{{
    {DatasetFormat::Auto, "auto"},
    {DatasetFormat::Text, "text"},
    {DatasetFormat::Alpaca, "alpaca"},
    {DatasetFormat::PromptCompletion, "prompt-completion"},
    {DatasetFormat::Chat, "chat"},
}};

constexpr core::NameTable<ChatTemplate, 6> kTemplateNames{{
    {ChatTemplate::Auto, "auto"},
    {ChatTemplate::ChatMl, "chatml"},
    {ChatTemplate::Llama3, "llama3"},
    {ChatTemplate::Llama2, "llama2"},
    {ChatTemplate::Mistral, "mistral"},
    {ChatTemplate::Plain, "plain"},
}};

template <typename Enum, std::size_t N>
Enum parse(const core::NameTable<Enum, N>& table, std::string_view text, const char* what)
{
    if (const auto value = core::valueOf(table, text)) {
        return *value;
    }
    std::string choices;
    for (const auto& [v, name] : table) {
        choices += (choices.empty() ? "" : ", ") + std::string(name);
    }
    throw Error(ErrorCode::InvalidConfig, std::string("unknown ") + what + " '" +
                                              std::string(text) + "' (choose " + choices + ")");
}

std::string where(const std::filesystem::path& file, std::size_t line)
{
    return "'" + file.string() + "' line " + std::to_string(line);
}

/// A text field of the record; `isRequired` fields must exist.
std::string textField(const SourceRecord& record, const std::string& name, bool isRequired,
                      const std::filesystem::path& file)
{
    const auto it = record.fields.find(name);
    if (it == record.fields.end() || it->is_null()) {
        if (isRequired) {
            throw Error(ErrorCode::ModelFormat,
                        where(file, record.line) + ": missing field \"" + name + "\"");
        }
        return {};
    }
    if (!it->is_string()) {
        throw Error(ErrorCode::ModelFormat, where(file, record.line) + ": field \"" + name +
                                                "\" must be text, got " + it->type_name());
    }
    return it->get<std::string>();
}

struct Message {
    std::string role;
    std::string content;
};

std::vector<Message> readMessages(const SourceRecord& record, const ColumnMapping& c,
                                  const std::filesystem::path& file)
{
    const auto it = record.fields.find(c.messages);
    if (it == record.fields.end() || !it->is_array() || it->empty()) {
        throw Error(ErrorCode::ModelFormat, where(file, record.line) + ": field \"" + c.messages +
                                                "\" must be a non-empty list of messages");
    }
    std::vector<Message> messages;
    for (std::size_t i = 0; i < it->size(); ++i) {
        const nlohmann::json& m = (*it)[i];
        const std::string at = where(file, record.line) + ": message " + std::to_string(i + 1);
        if (!m.is_object() || !m.contains(c.role) || !m.contains(c.content) ||
            !m[c.role].is_string() || !m[c.content].is_string()) {
            throw Error(ErrorCode::ModelFormat,
                        at + " needs text fields \"" + c.role + "\" and \"" + c.content + "\"");
        }
        const std::string role = m[c.role].get<std::string>();
        if (role != "system" && role != "user" && role != "assistant") {
            throw Error(ErrorCode::ModelFormat,
                        at + ": role \"" + role + "\" is not system, user or assistant");
        }
        messages.push_back(Message{role, m[c.content].get<std::string>()});
    }
    return messages;
}

void add(std::vector<Segment>& segments, std::string text, bool isTrained)
{
    if (!text.empty()) {
        segments.push_back(Segment{std::move(text), isTrained});
    }
}

std::vector<Segment> renderChat(const std::vector<Message>& messages, ChatTemplate t)
{
    std::vector<Segment> s;
    std::string system;
    switch (t) {
    case ChatTemplate::ChatMl:
        for (const Message& m : messages) {
            add(s, "<|im_start|>" + m.role + "\n", false);
            add(s, m.content + "<|im_end|>", m.role == "assistant");
            add(s, "\n", false);
        }
        break;
    case ChatTemplate::Llama3:
        add(s, "<|begin_of_text|>", false);
        for (const Message& m : messages) {
            add(s, "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n", false);
            add(s, m.content + "<|eot_id|>", m.role == "assistant");
        }
        break;
    case ChatTemplate::Llama2:
    case ChatTemplate::Mistral:
        for (const Message& m : messages) {
            if (m.role == "system") {
                system = m.content;
            } else if (m.role == "user") {
                std::string user = m.content;
                if (!system.empty() && t == ChatTemplate::Llama2) {
                    user = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + user;
                } else if (!system.empty()) {
                    user = system + "\n\n" + user;
                }
                system.clear();
                add(s, "<s>[INST] " + user + " [/INST]", false);
            } else {
                add(s,
                    (t == ChatTemplate::Llama2 ? " " : "") + m.content +
                        (t == ChatTemplate::Llama2 ? " </s>" : "</s>"),
                    true);
            }
        }
        break;
    case ChatTemplate::Plain:
    case ChatTemplate::Auto:
        for (const Message& m : messages) {
            const std::string label = m.role == "system" ? "System"
                                      : m.role == "user" ? "User"
                                                         : "Assistant";
            add(s, label + ": ", false);
            add(s, m.content + "\n", m.role == "assistant");
        }
        break;
    }
    return s;
}

} // namespace

std::string_view datasetFormatName(DatasetFormat format)
{
    return core::nameOf(kFormatNames, format, "unknown");
}

DatasetFormat parseDatasetFormat(std::string_view name)
{
    return parse(kFormatNames, name, "dataset format");
}

std::string_view chatTemplateName(ChatTemplate chatTemplate)
{
    return core::nameOf(kTemplateNames, chatTemplate, "unknown");
}

ChatTemplate parseChatTemplate(std::string_view name)
{
    return parse(kTemplateNames, name, "chat template");
}

ChatTemplate detectChatTemplate(std::string_view jinja)
{
    if (jinja.find("<|im_start|>") != std::string_view::npos) {
        return ChatTemplate::ChatMl;
    }
    if (jinja.find("<|start_header_id|>") != std::string_view::npos) {
        return ChatTemplate::Llama3;
    }
    if (jinja.find("<<SYS>>") != std::string_view::npos) {
        return ChatTemplate::Llama2;
    }
    if (jinja.find("[INST]") != std::string_view::npos) {
        return ChatTemplate::Mistral;
    }
    return ChatTemplate::Plain;
}

DatasetFormat detectFormat(const SourceRecord& record, const ColumnMapping& c,
                           const std::filesystem::path& file)
{
    const auto has = [&](const std::string& name) { return record.fields.contains(name); };
    if (has(c.messages)) {
        return DatasetFormat::Chat;
    }
    if (has(c.instruction) && has(c.output)) {
        return DatasetFormat::Alpaca;
    }
    if (has(c.prompt) && has(c.completion)) {
        return DatasetFormat::PromptCompletion;
    }
    if (has(c.text)) {
        return DatasetFormat::Text;
    }
    std::string found;
    for (const auto& [key, value] : record.fields.items()) {
        found += (found.empty() ? "" : ", ") + key;
    }
    throw Error(ErrorCode::ModelFormat,
                where(file, record.line) + ": cannot tell the format from the fields (" + found +
                    "); expected \"" + c.text + "\", \"" + c.instruction + "\"+\"" + c.output +
                    "\", \"" + c.prompt + "\"+\"" + c.completion + "\" or \"" + c.messages +
                    "\", or choose the format and map the columns");
}

RenderedExample renderExample(const SourceRecord& record, DatasetFormat format,
                              const ColumnMapping& c, ChatTemplate chatTemplate,
                              const std::filesystem::path& file)
{
    RenderedExample example;
    example.line = record.line;
    switch (format) {
    case DatasetFormat::Text:
        add(example.segments, textField(record, c.text, true, file), true);
        break;
    case DatasetFormat::Alpaca: {
        const std::string input = textField(record, c.input, false, file);
        std::string prompt =
            "### Instruction:\n" + textField(record, c.instruction, true, file) + "\n\n";
        if (!input.empty()) {
            prompt += "### Input:\n" + input + "\n\n";
        }
        add(example.segments, prompt + "### Response:\n", false);
        add(example.segments, textField(record, c.output, true, file), true);
        break;
    }
    case DatasetFormat::PromptCompletion:
        add(example.segments, textField(record, c.prompt, true, file), false);
        add(example.segments, textField(record, c.completion, true, file), true);
        break;
    case DatasetFormat::Chat:
        example.segments = renderChat(readMessages(record, c, file), chatTemplate);
        example.shouldAppendEos =
            chatTemplate == ChatTemplate::Plain || chatTemplate == ChatTemplate::Auto;
        break;
    case DatasetFormat::Auto:
        return renderExample(record, detectFormat(record, c, file), c, chatTemplate, file);
    }
    return example;
}

std::vector<TokenizedExample> encodeExamples(const std::vector<RenderedExample>& examples,
                                             const Tokenizer& tokenizer,
                                             const EncodeOptions& options, DatasetStats& stats)
{
    stats = DatasetStats{};
    stats.records = examples.size();
    std::vector<TokenizedExample> encoded;
    for (const RenderedExample& example : examples) {
        TokenizedExample t;
        t.line = example.line;
        if (options.bosId) {
            t.ids.push_back(*options.bosId);
            t.isTrained.push_back(0);
        }
        for (const Segment& segment : example.segments) {
            const bool isTrained = segment.isTrained || !options.isCompletionOnly;
            for (const std::int64_t id : tokenizer.encode(segment.text)) {
                t.ids.push_back(id);
                t.isTrained.push_back(isTrained ? 1 : 0);
            }
        }
        if (options.eosId && example.shouldAppendEos) {
            t.ids.push_back(*options.eosId);
            t.isTrained.push_back(1);
        }
        encoded.push_back(std::move(t));
    }

    std::vector<TokenizedExample> result;
    const auto keep = [&](TokenizedExample t) {
        if (std::none_of(t.isTrained.begin(), t.isTrained.end(),
                         [](std::uint8_t b) { return b != 0; })) {
            ++stats.fullyMasked;
            return;
        }
        stats.tokens += t.ids.size();
        stats.trainedTokens +=
            static_cast<std::size_t>(std::count(t.isTrained.begin(), t.isTrained.end(), 1));
        result.push_back(std::move(t));
    };
    const auto maxLength = static_cast<std::size_t>(options.maxLength);
    if (!options.isPacking) {
        for (TokenizedExample& t : encoded) {
            if (t.ids.size() > maxLength) {
                t.ids.resize(maxLength);
                t.isTrained.resize(maxLength);
                ++stats.truncated;
            }
            keep(std::move(t));
        }
    } else {
        TokenizedExample chunk;
        for (const TokenizedExample& t : encoded) {
            for (std::size_t i = 0; i < t.ids.size(); ++i) {
                if (chunk.ids.empty()) {
                    chunk.line = t.line;
                }
                chunk.ids.push_back(t.ids[i]);
                chunk.isTrained.push_back(t.isTrained[i]);
                if (chunk.ids.size() == maxLength) {
                    keep(std::move(chunk));
                    chunk = TokenizedExample{};
                }
            }
        }
        if (!chunk.ids.empty()) {
            keep(std::move(chunk));
        }
    }
    stats.examples = result.size();
    return result;
}

SplitIndices splitIndices(std::size_t count, double validationRatio, std::uint64_t seed)
{
    if (validationRatio < 0.0 || validationRatio >= 1.0) {
        throw Error(ErrorCode::InvalidConfig, "the validation ratio must be in [0, 1), got " +
                                                  std::to_string(validationRatio));
    }
    std::vector<std::size_t> order(count);
    std::iota(order.begin(), order.end(), 0);
    // A Fisher-Yates shuffle with our own generator, so the split is the same on every platform.
    std::mt19937_64 random(seed);
    for (std::size_t i = count; i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(random() % i);
        std::swap(order[i - 1], order[j]);
    }
    const auto validation =
        static_cast<std::size_t>(static_cast<double>(count) * validationRatio + 0.5);
    SplitIndices split;
    split.validation.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(validation));
    split.train.assign(order.begin() + static_cast<std::ptrdiff_t>(validation), order.end());
    std::sort(split.validation.begin(), split.validation.end());
    std::sort(split.train.begin(), split.train.end());
    return split;
}

} // namespace ftw::data
