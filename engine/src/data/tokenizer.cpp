// SPDX-License-Identifier: MIT
#include "tokenizer.h"

#include "byte_level.h"
#include "regex.h"
#include "unicode_normalize.h"

#include <ftw/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace ftw::data {
namespace {

using Json = nlohmann::json;

// GPT-2's pre-tokenizer pattern, used by ByteLevel with use_regex.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kMergeSeparator = "\xff";    // never inside valid UTF-8 tokens
constexpr const char* kMetaspace = "\xe2\x96\x81"; // U+2581 LOWER ONE EIGHTH BLOCK

std::string replaceAll(std::string text, const std::string& from, const std::string& to)
{
    if (from.empty()) {
        return text;
    }
    std::size_t at = 0;
    while ((at = text.find(from, at)) != std::string::npos) {
        text.replace(at, from.size(), to);
        at += to.size();
    }
    return text;
}

struct AddedToken {
    std::string content;
    std::int64_t id = 0;
    bool isSpecial = false;
    bool isLstrip = false;
    bool isRstrip = false;
};

enum class StepKind {
    Unknown,
    ByteLevel,
    Split,
    Metaspace,
    Prepend,
    Replace,
    Unicode,
    ByteFallback,
    Fuse,
    Strip
};
enum class SplitBehavior { Unknown, Isolated, Removed, MergedWithPrevious, MergedWithNext };

/// One step of a normalizer, pre-tokenizer or decoder chain.
struct Step {
    StepKind kind = StepKind::Unknown;
    bool isAddPrefixSpace = false;
    bool isUseRegex = true;
    std::shared_ptr<Regex> regex;
    SplitBehavior behavior = SplitBehavior::Unknown;
    std::string pattern; // Replace
    std::string content; // Replace, Prepend, Strip, Metaspace replacement
    std::string prependScheme = "always";
    bool isSplit = true;                         // Metaspace
    NormalForm normalForm = NormalForm::Unknown; // Unicode normalizers
    int stripStart = 0;
    int stripStop = 0;
};

/// How far the largest id may lie beyond the count of tokens declared (ids unused in between).
constexpr std::int64_t kMaxIdGap = 65536;

/// Reads fields of one JSON object, naming the file and the path of the field in errors.
class Reader {
public:
    Reader(std::string source) : m_source(std::move(source)) {}

    [[noreturn]] void fail(const std::string& where, const std::string& what) const
    {
        throw Error(ErrorCode::ModelFormat, "'" + m_source + "': " + where + ": " + what);
    }

    const Json& field(const Json& object, const char* key, const std::string& where) const
    {
        const auto it = object.find(key);
        if (it == object.end()) {
            fail(where, std::string("missing field \"") + key + "\"");
        }
        return *it;
    }

    std::string string(const Json& object, const char* key, const std::string& where) const
    {
        const Json& value = field(object, key, where);
        if (!value.is_string()) {
            fail(where, std::string("field \"") + key + "\" must be a string");
        }
        return value.get<std::string>();
    }

    /// A token id: a non-negative integer (a float or a negative number is refused).
    std::int64_t id(const Json& value, const std::string& where, const std::string& token) const
    {
        if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
            fail(where, "token \"" + token + "\" has no valid id (expected an integer >= 0)");
        }
        return value.get<std::int64_t>();
    }

    std::string type(const Json& object, const std::string& where) const
    {
        if (!object.is_object()) {
            fail(where, "expected an object");
        }
        return string(object, "type", where);
    }

private:
    std::string m_source;
};

std::string regexPattern(const Reader& r, const Json& patternField, const std::string& where)
{
    if (patternField.is_object() && patternField.contains("Regex")) {
        return patternField["Regex"].get<std::string>();
    }
    if (patternField.is_object() && patternField.contains("String")) {
        // A literal: escape it for PCRE2.
        std::string literal = patternField["String"].get<std::string>();
        return "\\Q" + literal + "\\E";
    }
    r.fail(where, "\"pattern\" must be {\"Regex\": ...} or {\"String\": ...}");
}

void readSteps(const Reader& r, const Json& node, const std::string& where,
               std::vector<Step>& steps)
{
    if (node.is_null()) {
        return;
    }
    const std::string type = r.type(node, where);
    Step step;
    if (type == "Sequence") {
        const char* key = node.contains("pretokenizers") ? "pretokenizers"
                          : node.contains("normalizers") ? "normalizers"
                                                         : "decoders";
        const Json& list = r.field(node, key, where);
        for (std::size_t i = 0; i < list.size(); ++i) {
            readSteps(r, list[i], where + "." + key + "[" + std::to_string(i) + "]", steps);
        }
        return;
    }
    if (type == "ByteLevel") {
        step.kind = StepKind::ByteLevel;
        step.isAddPrefixSpace = node.value("add_prefix_space", false);
        step.isUseRegex = node.value("use_regex", true);
        if (step.isUseRegex) {
            step.regex = std::make_shared<Regex>(kGpt2Pattern);
            step.behavior = SplitBehavior::Isolated;
        }
    } else if (type == "Split") {
        step.kind = StepKind::Split;
        const std::string pattern = regexPattern(r, r.field(node, "pattern", where), where);
        try {
            step.regex = std::make_shared<Regex>(pattern);
        } catch (const Error& e) {
            r.fail(where, e.what()); // adds the file and the field to PCRE2's message
        }
        const std::string behavior = r.string(node, "behavior", where);
        step.behavior = behavior == "Isolated"             ? SplitBehavior::Isolated
                        : behavior == "Removed"            ? SplitBehavior::Removed
                        : behavior == "MergedWithPrevious" ? SplitBehavior::MergedWithPrevious
                        : behavior == "MergedWithNext"     ? SplitBehavior::MergedWithNext
                                                           : SplitBehavior::Unknown;
        if (step.behavior == SplitBehavior::Unknown) {
            r.fail(where, "Split behavior \"" + behavior + "\" is not supported");
        }
        if (node.value("invert", false)) {
            r.fail(where, "Split with invert=true is not supported");
        }
    } else if (type == "Metaspace") {
        step.kind = StepKind::Metaspace;
        step.content = node.value("replacement", std::string(kMetaspace));
        step.prependScheme =
            node.value("prepend_scheme", node.value("add_prefix_space", true) ? "always" : "never");
        step.isSplit = node.value("split", true);
    } else if (type == "Prepend") {
        step.kind = StepKind::Prepend;
        step.content = r.string(node, "prepend", where);
    } else if (type == "Replace") {
        step.kind = StepKind::Replace;
        const Json& pattern = r.field(node, "pattern", where);
        if (!pattern.is_object() || !pattern.contains("String")) {
            r.fail(where, "only Replace with a String pattern is supported");
        }
        step.pattern = pattern["String"].get<std::string>();
        step.content = r.string(node, "content", where);
    } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
        step.kind = StepKind::Unicode;
        step.normalForm = type == "NFC"    ? NormalForm::Nfc
                          : type == "NFD"  ? NormalForm::Nfd
                          : type == "NFKC" ? NormalForm::Nfkc
                                           : NormalForm::Nfkd;
    } else if (type == "ByteFallback") {
        step.kind = StepKind::ByteFallback;
    } else if (type == "Fuse") {
        step.kind = StepKind::Fuse;
    } else if (type == "Strip") {
        step.kind = StepKind::Strip;
        step.content = r.string(node, "content", where);
        step.stripStart = node.value("start", 0);
        step.stripStop = node.value("stop", 0);
    } else {
        r.fail(where, "type \"" + type + "\" is not supported");
    }
    steps.push_back(std::move(step));
}

std::vector<std::string> splitPiece(const Step& step, const std::string& piece)
{
    const auto matches = step.regex->findAll(piece);
    std::vector<std::string> out;
    std::size_t cursor = 0;
    std::string pending; // for MergedWithNext
    for (const auto& [begin, end] : matches) {
        const std::string gap = piece.substr(cursor, begin - cursor);
        const std::string match = piece.substr(begin, end - begin);
        switch (step.behavior) {
        case SplitBehavior::Isolated:
            if (!gap.empty()) {
                out.push_back(gap);
            }
            out.push_back(match);
            break;
        case SplitBehavior::Removed:
            if (!gap.empty()) {
                out.push_back(gap);
            }
            break;
        case SplitBehavior::MergedWithPrevious:
            if (!gap.empty() || out.empty()) {
                out.push_back(gap + match);
            } else {
                out.back() += match;
            }
            break;
        case SplitBehavior::MergedWithNext:
            if (!gap.empty()) {
                out.push_back(pending + gap);
                pending.clear();
            }
            pending += match;
            break;
        case SplitBehavior::Unknown:
            break;
        }
        cursor = end;
    }
    std::string tail = piece.substr(cursor);
    if (step.behavior == SplitBehavior::MergedWithNext) {
        tail = pending + tail;
    }
    if (!tail.empty()) {
        out.push_back(tail);
    }
    return out;
}

/// The special token that TemplateProcessing puts before a single sequence, searched through a
/// Sequence of processors.
std::optional<std::int64_t>
readTemplateBos(const Json& processor, const std::unordered_map<std::string, std::int64_t>& vocab)
{
    if (!processor.is_object()) {
        return std::nullopt;
    }
    if (processor.value("type", "") == "Sequence" && processor.contains("processors")) {
        for (const Json& inner : processor["processors"]) {
            if (auto id = readTemplateBos(inner, vocab)) {
                return id;
            }
        }
        return std::nullopt;
    }
    if (processor.value("type", "") != "TemplateProcessing" || !processor.contains("single") ||
        !processor["single"].is_array() || processor["single"].empty()) {
        return std::nullopt;
    }
    const Json& first = processor["single"][0];
    if (!first.contains("SpecialToken") || !first["SpecialToken"].contains("id")) {
        return std::nullopt;
    }
    const auto it = vocab.find(first["SpecialToken"]["id"].get<std::string>());
    return it == vocab.end() ? std::nullopt : std::optional(it->second);
}

std::string lossyUtf8(const std::string& bytes)
{
    std::string out;
    for (const std::string& c : utf8Characters(bytes)) {
        const bool isValid = c.size() > 1 || static_cast<unsigned char>(c[0]) < 0x80;
        out += isValid ? c : "\xef\xbf\xbd"; // U+FFFD
    }
    return out;
}

} // namespace

struct Tokenizer::Impl {
    std::unordered_map<std::string, std::int64_t> vocab;
    std::vector<std::string> tokens; // id -> token
    std::unordered_map<std::string, int> mergeRanks;
    std::vector<AddedToken> addedTokens; // longest first
    std::unordered_set<std::int64_t> specialIds;
    std::vector<Step> normalizer;
    std::vector<Step> preTokenizer;
    std::vector<Step> decoder;
    bool isIgnoreMerges = false;
    bool isByteFallback = false;
    bool isFuseUnk = false;
    std::optional<std::int64_t> unkId;
    std::optional<std::int64_t> templateBosId;

    std::vector<std::string> preTokenize(const std::string& text, bool isFirstSegment) const
    {
        std::vector<std::string> pieces{text};
        for (const Step& step : preTokenizer) {
            std::vector<std::string> next;
            for (std::size_t i = 0; i < pieces.size(); ++i) {
                std::string piece = pieces[i];
                switch (step.kind) {
                case StepKind::ByteLevel: {
                    if (step.isAddPrefixSpace && i == 0 && (piece.empty() || piece[0] != ' ')) {
                        piece = " " + piece;
                    }
                    const std::vector<std::string> parts =
                        step.isUseRegex ? splitPiece(step, piece) : std::vector<std::string>{piece};
                    for (const std::string& part : parts) {
                        next.push_back(bytesToByteLevel(part));
                    }
                    break;
                }
                case StepKind::Split:
                    for (std::string& part : splitPiece(step, piece)) {
                        next.push_back(std::move(part));
                    }
                    break;
                case StepKind::Metaspace: {
                    piece = replaceAll(piece, " ", step.content);
                    const bool isPrepend =
                        step.prependScheme == "always" ||
                        (step.prependScheme == "first" && isFirstSegment && i == 0);
                    if (isPrepend && piece.rfind(step.content, 0) != 0) {
                        piece = step.content + piece;
                    }
                    if (!step.isSplit) {
                        next.push_back(piece);
                        break;
                    }
                    std::size_t start = 0;
                    for (std::size_t at = piece.find(step.content, 1); at != std::string::npos;
                         at = piece.find(step.content, at + 1)) {
                        next.push_back(piece.substr(start, at - start));
                        start = at;
                    }
                    next.push_back(piece.substr(start));
                    break;
                }
                default:
                    next.push_back(piece);
                    break;
                }
            }
            pieces = std::move(next);
        }
        return pieces;
    }

    void bpe(const std::string& piece, std::vector<std::int64_t>& ids) const
    {
        if (piece.empty()) {
            return;
        }
        if (isIgnoreMerges) {
            if (const auto it = vocab.find(piece); it != vocab.end()) {
                ids.push_back(it->second);
                return;
            }
        }
        std::vector<std::string> symbols = utf8Characters(piece);
        while (symbols.size() > 1) {
            int bestRank = std::numeric_limits<int>::max();
            for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
                const auto it = mergeRanks.find(symbols[i] + kMergeSeparator + symbols[i + 1]);
                if (it != mergeRanks.end() && it->second < bestRank) {
                    bestRank = it->second;
                }
            }
            if (bestRank == std::numeric_limits<int>::max()) {
                break;
            }
            std::vector<std::string> merged;
            for (std::size_t i = 0; i < symbols.size(); ++i) {
                if (i + 1 < symbols.size()) {
                    const auto it = mergeRanks.find(symbols[i] + kMergeSeparator + symbols[i + 1]);
                    if (it != mergeRanks.end() && it->second == bestRank) {
                        merged.push_back(symbols[i] + symbols[i + 1]);
                        ++i;
                        continue;
                    }
                }
                merged.push_back(symbols[i]);
            }
            symbols = std::move(merged);
        }
        bool isPreviousUnk = false;
        for (const std::string& symbol : symbols) {
            if (const auto it = vocab.find(symbol); it != vocab.end()) {
                ids.push_back(it->second);
                isPreviousUnk = false;
                continue;
            }
            if (isByteFallback) {
                std::vector<std::int64_t> bytes;
                for (const char b : symbol) {
                    std::array<char, 8> name{};
                    std::snprintf(name.data(), name.size(), "<0x%02X>",
                                  static_cast<unsigned char>(b));
                    const auto it = vocab.find(name.data());
                    if (it == vocab.end()) {
                        bytes.clear();
                        break;
                    }
                    bytes.push_back(it->second);
                }
                if (!bytes.empty()) {
                    ids.insert(ids.end(), bytes.begin(), bytes.end());
                    isPreviousUnk = false;
                    continue;
                }
            }
            if (unkId && !(isFuseUnk && isPreviousUnk)) {
                ids.push_back(*unkId);
            }
            isPreviousUnk = true;
        }
    }

    std::string normalize(std::string text) const
    {
        for (const Step& step : normalizer) {
            if (step.kind == StepKind::Prepend && !text.empty()) {
                text = step.content + text;
            } else if (step.kind == StepKind::Replace) {
                text = replaceAll(std::move(text), step.pattern, step.content);
            } else if (step.kind == StepKind::Unicode) {
                text = normalizeUnicode(text, step.normalForm);
            }
        }
        return text;
    }
};

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl))
{
}

Tokenizer Tokenizer::fromFile(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ErrorCode::NotFound, "cannot read '" + path.string() + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    return fromJsonText(text.str(), path.string());
}

// A function try block: a field of an unexpected JSON type deep in the file (nlohmann's
// type_error) still ends in Error{ModelFormat} naming the file.
Tokenizer Tokenizer::fromJsonText(std::string_view text, const std::string& source)
try {
    const Reader r(source);
    const Json json = Json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        throw Error(ErrorCode::ModelFormat, "'" + source + "' is not a JSON object");
    }
    auto impl = std::make_shared<Impl>();
    const Json& model = r.field(json, "model", "top level");
    const std::string modelType = model.value("type", std::string("BPE"));
    if (modelType != "BPE") {
        r.fail("model", "type \"" + modelType + "\" is not supported (FTW reads BPE tokenizers)");
    }
    const Json& vocab = r.field(model, "vocab", "model");
    if (!vocab.is_object()) {
        r.fail("model.vocab", "expected an object of token -> id");
    }
    std::int64_t maxId = -1;
    for (const auto& [token, id] : vocab.items()) {
        const std::int64_t value = r.id(id, "model.vocab", token);
        impl->vocab.emplace(token, value);
        maxId = std::max(maxId, value);
    }
    const Json& merges = r.field(model, "merges", "model");
    int rank = 0;
    for (const Json& merge : merges) {
        std::string left;
        std::string right;
        if (merge.is_string()) {
            const std::string pair = merge.get<std::string>();
            const auto space = pair.find(' ', 1);
            if (space == std::string::npos) {
                r.fail("model.merges[" + std::to_string(rank) + "]",
                       "\"" + pair + "\" is not two tokens");
            }
            left = pair.substr(0, space);
            right = pair.substr(space + 1);
        } else if (merge.is_array() && merge.size() == 2) {
            left = merge[0].get<std::string>();
            right = merge[1].get<std::string>();
        } else {
            r.fail("model.merges[" + std::to_string(rank) + "]",
                   "expected \"a b\" or [\"a\", \"b\"]");
        }
        impl->mergeRanks.emplace(left + kMergeSeparator + right, rank++);
    }
    impl->isIgnoreMerges = model.value("ignore_merges", false);
    impl->isByteFallback = model.value("byte_fallback", false);
    impl->isFuseUnk = model.value("fuse_unk", false);
    if (const auto unk = model.find("unk_token"); unk != model.end() && unk->is_string()) {
        if (const auto it = impl->vocab.find(unk->get<std::string>()); it != impl->vocab.end()) {
            impl->unkId = it->second;
        }
    }
    if (const auto added = json.find("added_tokens"); added != json.end() && added->is_array()) {
        for (std::size_t i = 0; i < added->size(); ++i) {
            const Json& t = (*added)[i];
            const std::string where = "added_tokens[" + std::to_string(i) + "]";
            const std::string content = r.string(t, "content", where);
            if (content.empty()) {
                // It would match everywhere without moving on: encode() would never end.
                r.fail(where, "\"content\" is empty; an added token needs text to match");
            }
            AddedToken token{content, r.id(r.field(t, "id", where), where, content),
                             t.value("special", false), t.value("lstrip", false),
                             t.value("rstrip", false)};
            impl->vocab[token.content] = token.id;
            maxId = std::max(maxId, token.id);
            if (token.isSpecial) {
                impl->specialIds.insert(token.id);
            }
            impl->addedTokens.push_back(std::move(token));
        }
        std::stable_sort(impl->addedTokens.begin(), impl->addedTokens.end(),
                         [](const AddedToken& a, const AddedToken& b) {
                             return a.content.size() > b.content.size();
                         });
    }
    // The id -> token table is dense, as the ids of every real vocabulary are: an id far beyond
    // the tokens declared is a damaged file, not a table of that size to allocate.
    const auto declared = static_cast<std::int64_t>(impl->vocab.size());
    if (maxId >= declared + kMaxIdGap) {
        r.fail("model.vocab and added_tokens",
               "id " + std::to_string(maxId) + " is far beyond the " + std::to_string(declared) +
                   " tokens the file declares");
    }
    impl->tokens.resize(static_cast<std::size_t>(maxId + 1));
    for (const auto& [token, id] : impl->vocab) {
        impl->tokens[static_cast<std::size_t>(id)] = token;
    }
    impl->templateBosId = readTemplateBos(json.value("post_processor", Json()), impl->vocab);
    readSteps(r, json.value("normalizer", Json()), "normalizer", impl->normalizer);
    readSteps(r, json.value("pre_tokenizer", Json()), "pre_tokenizer", impl->preTokenizer);
    readSteps(r, json.value("decoder", Json()), "decoder", impl->decoder);
    return Tokenizer(std::move(impl));
} catch (const Json::exception& e) {
    throw Error(ErrorCode::ModelFormat,
                "'" + source + "': a field has a JSON type the tokenizer format does not allow (" +
                    e.what() + ")");
}

std::vector<std::int64_t> Tokenizer::encode(std::string_view text) const
{
    const Impl& d = *m_impl;
    std::vector<std::int64_t> ids;
    std::string segment;
    bool isFirstSegment = true;
    const auto flush = [&] {
        if (!segment.empty()) {
            for (const std::string& piece : d.preTokenize(d.normalize(segment), isFirstSegment)) {
                d.bpe(piece, ids);
            }
        }
        segment.clear();
        isFirstSegment = false;
    };
    std::size_t i = 0;
    while (i < text.size()) {
        const AddedToken* found = nullptr;
        for (const AddedToken& token : d.addedTokens) {
            if (text.compare(i, token.content.size(), token.content) == 0) {
                found = &token;
                break;
            }
        }
        if (found == nullptr) {
            segment += text[i++];
            continue;
        }
        if (found->isLstrip) {
            while (!segment.empty() &&
                   std::isspace(static_cast<unsigned char>(segment.back())) != 0) {
                segment.pop_back();
            }
        }
        flush();
        ids.push_back(found->id);
        i += found->content.size();
        if (found->isRstrip) {
            while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) {
                ++i;
            }
        }
    }
    flush();
    return ids;
}

std::string Tokenizer::decode(const std::vector<std::int64_t>& ids, bool skipSpecialTokens) const
{
    const Impl& d = *m_impl;
    std::vector<std::string> tokens;
    for (const std::int64_t id : ids) {
        if (id < 0 || id >= vocabSize() || (skipSpecialTokens && d.specialIds.count(id) == 1)) {
            continue;
        }
        tokens.push_back(d.tokens[static_cast<std::size_t>(id)]);
    }
    for (const Step& step : d.decoder) {
        switch (step.kind) {
        case StepKind::ByteLevel: {
            std::string bytes;
            for (const std::string& token : tokens) {
                const std::optional<std::string> decoded = byteLevelToBytes(token);
                bytes += decoded ? *decoded : token;
            }
            tokens = {lossyUtf8(bytes)};
            break;
        }
        case StepKind::Replace:
            for (std::string& token : tokens) {
                token = replaceAll(token, step.pattern, step.content);
            }
            break;
        case StepKind::ByteFallback: {
            std::vector<std::string> out;
            std::string bytes;
            const auto flushBytes = [&] {
                if (!bytes.empty()) {
                    out.push_back(lossyUtf8(bytes));
                    bytes.clear();
                }
            };
            for (const std::string& token : tokens) {
                unsigned value = 0;
                if (token.size() == 6 && token.rfind("<0x", 0) == 0 && token[5] == '>' &&
                    std::sscanf(token.c_str() + 3, "%2x", &value) == 1) {
                    bytes += static_cast<char>(value);
                } else {
                    flushBytes();
                    out.push_back(token);
                }
            }
            flushBytes();
            tokens = std::move(out);
            break;
        }
        case StepKind::Fuse: {
            std::string all;
            for (const std::string& token : tokens) {
                all += token;
            }
            tokens = {all};
            break;
        }
        case StepKind::Strip:
            for (std::string& token : tokens) {
                for (int k = 0; k < step.stripStart && token.rfind(step.content, 0) == 0; ++k) {
                    token.erase(0, step.content.size());
                }
                for (int k = 0; k < step.stripStop && token.size() >= step.content.size() &&
                                token.compare(token.size() - step.content.size(),
                                              step.content.size(), step.content) == 0;
                     ++k) {
                    token.erase(token.size() - step.content.size());
                }
            }
            break;
        case StepKind::Metaspace:
            for (std::size_t k = 0; k < tokens.size(); ++k) {
                tokens[k] = replaceAll(tokens[k], step.content, " ");
                if (k == 0 && step.prependScheme != "never" && tokens[k].rfind(' ', 0) == 0) {
                    tokens[k].erase(0, 1);
                }
            }
            break;
        default:
            break;
        }
    }
    std::string text;
    for (const std::string& token : tokens) {
        text += token;
    }
    return text;
}

std::vector<std::string> Tokenizer::preTokenize(std::string_view text) const
{
    return m_impl->preTokenize(m_impl->normalize(std::string(text)), true);
}

std::optional<std::int64_t> Tokenizer::tokenToId(std::string_view token) const
{
    const auto it = m_impl->vocab.find(std::string(token));
    return it == m_impl->vocab.end() ? std::nullopt : std::optional(it->second);
}

std::string Tokenizer::idToToken(std::int64_t id) const
{
    return id >= 0 && id < vocabSize() ? m_impl->tokens[static_cast<std::size_t>(id)]
                                       : std::string();
}

std::int64_t Tokenizer::vocabSize() const
{
    return static_cast<std::int64_t>(m_impl->tokens.size());
}

bool Tokenizer::isSpecial(std::int64_t id) const
{
    return m_impl->specialIds.count(id) == 1;
}

std::optional<std::int64_t> Tokenizer::templateBosId() const
{
    return m_impl->templateBosId;
}

std::optional<std::int64_t> Tokenizer::bosIdToAdd(std::optional<bool> addBosToken,
                                                  const std::optional<std::string>& bosToken) const
{
    if (addBosToken.has_value()) {
        return *addBosToken && bosToken ? tokenToId(*bosToken) : std::nullopt;
    }
    return m_impl->templateBosId;
}

} // namespace ftw::data
