// SPDX-License-Identifier: MIT
// `ftw train-tokenizer`: a byte-level BPE tokenizer.json trained on a text file.
#include "cli.h"
#include "commands.h"
#include "format.h"

#include <ftw/format.h>
#include <ftw/tokenizers.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace ftw::cli {
namespace {

double ratio(std::int64_t numerator, std::int64_t denominator)
{
    return denominator > 0 ? static_cast<double>(numerator) / static_cast<double>(denominator)
                           : 0.0;
}

std::int64_t milliseconds(double seconds)
{
    return static_cast<std::int64_t>(seconds * 1000.0 + 0.5);
}

nlohmann::json reportJson(const TokenizerTrainingReport& r, std::int64_t requestedVocabSize)
{
    return {{"tokenizer_file", r.tokenizerFile.string()},
            {"config_file", r.configFile.string()},
            {"vocab_size", r.vocabSize},
            {"requested_vocab_size", requestedVocabSize},
            {"merges", r.mergeCount},
            {"special_tokens", r.specialTokenCount},
            {"lines", r.lineCount},
            {"corpus_bytes", r.corpusBytes},
            {"distinct_words", r.distinctWords},
            {"corpus_tokens", r.corpusTokens},
            {"tokens_per_byte", ratio(r.corpusTokens, r.corpusBytes)},
            {"bytes_per_token", ratio(r.corpusBytes, r.corpusTokens)},
            {"train_seconds", r.trainSeconds},
            {"total_seconds", r.totalSeconds}};
}

void printReport(const CliContext& ctx, const TokenizerTrainingReport& r,
                 std::int64_t requestedVocabSize)
{
    ctx.out << "Trained a byte-level BPE tokenizer on " << formatGrouped(r.lineCount)
            << " lines in " << formatDuration(milliseconds(r.trainSeconds)) << '\n';
    ctx.out << "  vocabulary   " << formatGrouped(r.vocabSize) << " ids: 256 bytes, "
            << formatGrouped(r.vocabSize - 256 - r.specialTokenCount) << " merged tokens, "
            << r.specialTokenCount << " special tokens\n";
    ctx.out << "  merges       " << formatGrouped(r.mergeCount) << '\n';
    ctx.out << "  corpus       " << formatGrouped(r.corpusBytes) << " bytes, "
            << formatGrouped(r.distinctWords) << " distinct words\n";
    ctx.out << "  compression  " << formatGrouped(r.corpusTokens)
            << " tokens: " << formatFixed(ratio(r.corpusTokens, r.corpusBytes), 3)
            << " tokens per byte (" << formatFixed(ratio(r.corpusBytes, r.corpusTokens), 2)
            << " bytes per token)\n";
    ctx.out << "  wrote        " << r.tokenizerFile.string() << " and "
            << r.configFile.filename().string() << '\n';
    ctx.out << "  time         " << formatDuration(milliseconds(r.totalSeconds))
            << " in all (training " << formatDuration(milliseconds(r.trainSeconds))
            << ", then writing and encoding the corpus with the written file)\n";
    if (r.vocabSize < requestedVocabSize) {
        ctx.out << "note: the corpus ran out of pairs to merge: " << formatGrouped(r.vocabSize)
                << " ids instead of " << formatGrouped(requestedVocabSize) << '\n';
    }
}

} // namespace

void addTrainTokenizerCommand(CLI::App& app, TokenizerTrainingRequest& request, bool& isJson,
                              std::function<int(const CliContext&)>& action)
{
    CLI::App* command = app.add_subcommand(
        "train-tokenizer",
        "train a byte-level BPE tokenizer (Hugging Face tokenizer.json) on a text file");
    command->add_option("--data", request.dataFile, "UTF-8 text, one example a line")->required();
    command
        ->add_option("--vocab-size", request.vocabSize,
                     "ids in all: 256 bytes, merged tokens and 3 special tokens")
        ->capture_default_str();
    command->add_flag("--drop-first-field,--strip-reference", request.isDropFirstField,
                      "drop each line's text up to its first space (a verse reference such as "
                      "\"Ge1:1\")");
    command
        ->add_option("--model-max-length", request.modelMaxLength,
                     "model_max_length of tokenizer_config.json")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    command
        ->add_option("--out", request.outDir,
                     "folder for tokenizer.json and tokenizer_config.json (replaced if there)")
        ->required();
    command->add_flag("--json", isJson, "print JSON instead of text");
    command->callback([&request, &action] {
        action = [&request](const CliContext& c) { return cli::trainTokenizer(c, request); };
    });
}

int trainTokenizer(const CliContext& ctx, const TokenizerTrainingRequest& request)
{
    const auto report = ftw::trainTokenizer(request);
    if (!report) {
        return fail(ctx, report.error().message);
    }
    if (ctx.isJson) {
        ctx.out << reportJson(*report, request.vocabSize).dump(2) << '\n';
    } else {
        printReport(ctx, *report, request.vocabSize);
    }
    return kExitOk;
}

} // namespace ftw::cli
