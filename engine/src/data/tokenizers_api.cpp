// SPDX-License-Identifier: MIT
// The public tokenizer functions of ftw/tokenizers.h over data::Tokenizer.
#include <ftw/tokenizers.h>

#include "bpe_trainer.h"
#include "tokenizer.h"

#include "core/api_guard.h"

#include <chrono>
#include <fstream>

namespace ftw {
namespace {

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The non-blank lines of `file`, without line breaks (LF or CRLF) and, when asked, without their
/// first field.
std::vector<std::string> readTrainingLines(const std::filesystem::path& file, bool isDropFirstField)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw Error(ErrorCode::NotFound, "cannot read '" + file.string() + "'");
    }
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (isDropFirstField) {
            const auto space = line.find(' ');
            line = space == std::string::npos ? std::string() : line.substr(space + 1);
        }
        if (!line.empty()) {
            lines.push_back(std::move(line));
        }
    }
    return lines;
}

} // namespace

Expected<TokenizedText> tokenize(const std::filesystem::path& tokenizerFile, std::string_view text)
{
    return core::captureErrors([&] {
        const data::Tokenizer tokenizer = data::Tokenizer::fromFile(tokenizerFile);
        TokenizedText result;
        result.ids = tokenizer.encode(text);
        for (const std::int64_t id : result.ids) {
            result.tokens.push_back(tokenizer.idToToken(id));
        }
        return result;
    });
}

Expected<TokenizerTrainingReport> trainTokenizer(const TokenizerTrainingRequest& request)
{
    return core::captureErrors([&] {
        const auto start = std::chrono::steady_clock::now();
        const std::vector<std::string> lines =
            readTrainingLines(request.dataFile, request.isDropFirstField);
        data::BpeTrainingOptions options;
        options.vocabSize = request.vocabSize;
        data::BpeVocabulary vocabulary;
        try {
            vocabulary = data::trainByteLevelBpe(lines, options);
        } catch (const Error& e) {
            throw Error(e.code(),
                        "training a tokenizer on '" + request.dataFile.string() + "': " + e.what());
        }
        TokenizerTrainingReport report;
        report.trainSeconds = secondsSince(start);
        data::writeTokenizerFiles(request.outDir, vocabulary, request.modelMaxLength);
        report.tokenizerFile = request.outDir / "tokenizer.json";
        report.configFile = request.outDir / "tokenizer_config.json";
        report.vocabSize = vocabulary.size();
        report.mergeCount = static_cast<std::int64_t>(vocabulary.merges.size());
        report.specialTokenCount = static_cast<std::int64_t>(vocabulary.specialTokens.size());
        report.lineCount = static_cast<std::int64_t>(lines.size());
        report.corpusBytes = vocabulary.corpusBytes;
        report.distinctWords = vocabulary.distinctWords;
        const data::Tokenizer written = data::Tokenizer::fromFile(report.tokenizerFile);
        for (const std::string& line : lines) {
            report.corpusTokens += static_cast<std::int64_t>(written.encode(line).size());
        }
        report.totalSeconds = secondsSince(start);
        return report;
    });
}

} // namespace ftw
