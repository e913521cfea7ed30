// SPDX-License-Identifier: MIT
// The public previewDataset() of ftw/datasets.h over the dataset and tokenizer internals.
#include <ftw/datasets.h>

#include "dataset.h"
#include "tokenizer.h"
#include "tokenizer_config.h"

#include "core/api_guard.h"
#include "core/check.h"

#include <fstream>
#include <limits>

namespace ftw {
Expected<DatasetPreview> previewDataset(const DatasetPreviewRequest& request)
{
    return core::captureErrors([&] {
        FTW_CHECK(request.maxLength >= 1, ErrorCode::InvalidConfig,
                  "the sequence length must be at least 1");
        FTW_CHECK(request.limit >= 0, ErrorCode::InvalidConfig,
                  "the preview limit must not be negative");
        const std::vector<data::SourceRecord> records = data::readRecords(request.dataFile);
        const data::ColumnMapping columns;
        data::DatasetFormat format = data::parseDatasetFormat(request.format);
        if (format == data::DatasetFormat::Auto && !records.empty()) {
            format = data::detectFormat(records.front(), columns, request.dataFile);
        }
        data::ChatTemplate chatTemplate = data::parseChatTemplate(request.chatTemplate);
        if (chatTemplate == data::ChatTemplate::Auto) {
            chatTemplate = request.modelDir.empty()
                               ? data::ChatTemplate::Plain
                               : data::detectChatTemplate(data::readChatTemplateText(
                                     request.modelDir / "tokenizer_config.json"));
        }
        std::vector<data::RenderedExample> rendered;
        rendered.reserve(records.size());
        for (const data::SourceRecord& record : records) {
            rendered.push_back(
                data::renderExample(record, format, columns, chatTemplate, request.dataFile));
        }

        DatasetPreview preview;
        preview.format = data::datasetFormatName(format);
        preview.chatTemplate = data::chatTemplateName(chatTemplate);
        preview.records = records.size();
        const auto limit = std::min(rendered.size(), static_cast<std::size_t>(request.limit));
        for (std::size_t i = 0; i < limit; ++i) {
            PreviewExample example;
            example.line = rendered[i].line;
            for (const data::Segment& s : rendered[i].segments) {
                example.segments.push_back(PreviewSegment{s.text, s.isTrained});
            }
            preview.examples.push_back(std::move(example));
        }
        if (request.modelDir.empty()) {
            return preview;
        }

        const data::Tokenizer tokenizer =
            data::Tokenizer::fromFile(request.modelDir / "tokenizer.json");
        const data::TokenizerConfig config =
            data::readTokenizerConfig(request.modelDir / "tokenizer_config.json");
        data::EncodeOptions options;
        options.maxLength = request.maxLength;
        options.isPacking = request.isPacking;
        if (format != data::DatasetFormat::Chat) { // chat templates write their own BOS
            options.bosId = tokenizer.bosIdToAdd(config.shouldAddBos, config.bosToken);
        }
        if (config.eosToken) {
            options.eosId = tokenizer.tokenToId(*config.eosToken);
        }
        // Lengths before truncation, then the examples as training will see them.
        data::EncodeOptions unlimited = options;
        unlimited.maxLength = std::numeric_limits<std::int64_t>::max();
        unlimited.isPacking = false;
        data::DatasetStats fullStats;
        for (const data::TokenizedExample& t :
             data::encodeExamples(rendered, tokenizer, unlimited, fullStats)) {
            preview.lengths.push_back(static_cast<std::int64_t>(t.ids.size()));
        }
        for (std::size_t i = 0; i < preview.examples.size(); ++i) {
            data::DatasetStats ignored;
            const auto shown = data::encodeExamples({rendered[i]}, tokenizer, unlimited, ignored);
            if (!shown.empty()) {
                preview.examples[i].ids = shown.front().ids;
                preview.examples[i].isTrained = shown.front().isTrained;
            }
        }
        data::DatasetStats stats;
        (void)data::encodeExamples(rendered, tokenizer, options, stats);
        preview.hasTokens = true;
        preview.examplesAfterLength = stats.examples;
        preview.truncated = stats.truncated;
        preview.fullyMasked = stats.fullyMasked;
        preview.tokens = stats.tokens;
        preview.trainedTokens = stats.trainedTokens;
        return preview;
    });
}

} // namespace ftw
