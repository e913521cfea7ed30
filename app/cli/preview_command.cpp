// SPDX-License-Identifier: MIT
#include "cli.h"
#include "commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ftw::cli {

int previewData(const CliContext& ctx, const DatasetPreviewRequest& request)
{
    const auto preview = ftw::previewDataset(request);
    if (!preview) {
        return fail(ctx, preview.error().message);
    }
    const DatasetPreview& p = *preview;
    if (ctx.isJson) {
        nlohmann::json examples = nlohmann::json::array();
        for (const PreviewExample& e : p.examples) {
            nlohmann::json segments = nlohmann::json::array();
            for (const PreviewSegment& s : e.segments) {
                segments.push_back({{"text", s.text}, {"trained", s.isTrained}});
            }
            examples.push_back({{"line", e.line},
                                {"segments", segments},
                                {"ids", e.ids},
                                {"trained", e.isTrained}});
        }
        ctx.out << nlohmann::json{{"format", p.format},
                                  {"chat_template", p.chatTemplate},
                                  {"records", p.records},
                                  {"examples", examples},
                                  {"has_tokens", p.hasTokens},
                                  {"examples_after_length", p.examplesAfterLength},
                                  {"truncated", p.truncated},
                                  {"fully_masked", p.fullyMasked},
                                  {"tokens", p.tokens},
                                  {"trained_tokens", p.trainedTokens},
                                  {"lengths", p.lengths}}
                       .dump(2)
                << '\n';
        return kExitOk;
    }
    std::ostream& out = ctx.out;
    out << request.dataFile.string() << ": " << p.records
        << (p.records == 1 ? " record" : " records") << ", format " << p.format;
    if (p.format == "chat") {
        out << " (template " << p.chatTemplate << ")";
    }
    out << '\n';
    for (std::size_t i = 0; i < p.examples.size(); ++i) {
        const PreviewExample& e = p.examples[i];
        out << "\nExample " << i + 1 << " (line " << e.line << ")";
        if (!e.ids.empty()) {
            out << ": " << e.ids.size() << " tokens, "
                << std::count(e.isTrained.begin(), e.isTrained.end(), 1) << " trained";
        }
        out << '\n';
        for (const PreviewSegment& s : e.segments) {
            out << (s.isTrained ? "  trained  " : "  prompt   ") << nlohmann::json(s.text).dump()
                << '\n';
        }
    }
    if (p.hasTokens) {
        const auto [shortest, longest] = std::minmax_element(p.lengths.begin(), p.lengths.end());
        out << "\nWith the model's tokenizer at length " << request.maxLength
            << (request.isPacking ? " (packed)" : "") << ": " << p.examplesAfterLength
            << " examples, " << p.truncated << " truncated, " << p.fullyMasked
            << " fully masked (dropped), " << p.tokens << " tokens of which " << p.trainedTokens
            << " trained";
        if (!p.lengths.empty()) {
            out << "; lengths " << *shortest << " to " << *longest;
        }
        out << '\n';
    } else {
        out << "\n(give --model DIR to see tokens, loss masks and truncation counts)\n";
    }
    return kExitOk;
}

} // namespace ftw::cli
