// SPDX-License-Identifier: MIT
#include "training_data.h"

#include "core/check.h"
#include "data/tokenizer_config.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include <algorithm>
#include <fstream>
#include <random>

namespace ftw::train {
namespace {

constexpr std::int64_t kIgnoreIndex = -100;

/// sum over the rows whose target is not kIgnoreIndex of -log softmax(logits)[row, target], for
/// logits [rows, vocab] in fp32. The backward pass forms the gradient (softmax - one-hot, scaled)
/// from the saved log-probabilities in two passes over [rows, vocab], where LibTorch's
/// cross-entropy fills a zero tensor, scatters into it and runs the log-softmax backward.
class SumCrossEntropy : public torch::autograd::Function<SumCrossEntropy> {
public:
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits,
                              const at::Tensor& targets)
    {
        const at::Tensor logProbabilities = at::log_softmax(logits, 1);
        const at::Tensor isTrained = targets.ne(kIgnoreIndex);
        const at::Tensor safeTargets = targets.masked_fill(isTrained.logical_not(), 0).unsqueeze(1);
        const at::Tensor picked = logProbabilities.gather(1, safeTargets).squeeze(1);
        ctx->save_for_backward({logProbabilities, safeTargets, isTrained});
        return -(picked * isTrained.to(picked.scalar_type())).sum();
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs)
    {
        const torch::autograd::variable_list saved = ctx->get_saved_variables();
        const at::Tensor& logProbabilities = saved[0];
        const at::Tensor& safeTargets = saved[1];
        const at::Tensor rowScale =
            (saved[2].to(logProbabilities.scalar_type()) * gradOutputs[0]).unsqueeze(1);
        at::Tensor grad = logProbabilities.exp();
        grad.mul_(rowScale);
        grad.scatter_add_(1, safeTargets, -rowScale);
        return {grad, at::Tensor()};
    }
};

} // namespace

EncodedDataset encodeDataset(const DataConfig& config, const std::filesystem::path& modelDir,
                             const data::Tokenizer& tokenizer,
                             const std::vector<std::int64_t>& modelEosIds)
{
    const std::vector<data::SourceRecord> records = data::readRecords(config.path);
    FTW_CHECK(!records.empty(), ErrorCode::InvalidConfig,
              "'" + config.path.string() + "' has no records to train on");
    const data::ColumnMapping columns;
    data::DatasetFormat format = data::parseDatasetFormat(config.format);
    if (format == data::DatasetFormat::Auto) {
        format = data::detectFormat(records.front(), columns, config.path);
    }
    data::ChatTemplate chatTemplate = data::parseChatTemplate(config.chatTemplate);
    const std::filesystem::path tokenizerConfigFile = modelDir / "tokenizer_config.json";
    if (chatTemplate == data::ChatTemplate::Auto) {
        chatTemplate = data::detectChatTemplate(data::readChatTemplateText(tokenizerConfigFile));
    }
    EncodedDataset dataset;
    dataset.rendered.reserve(records.size());
    for (const data::SourceRecord& record : records) {
        dataset.rendered.push_back(
            data::renderExample(record, format, columns, chatTemplate, config.path));
    }

    const data::TokenizerConfig tokenizerConfig = data::readTokenizerConfig(tokenizerConfigFile);
    data::EncodeOptions options;
    options.maxLength = config.maxLength;
    options.isPacking = config.isPacking;
    options.isCompletionOnly = config.isCompletionOnly;
    if (format != data::DatasetFormat::Chat) { // chat templates write their own BOS
        options.bosId =
            tokenizer.bosIdToAdd(tokenizerConfig.shouldAddBos, tokenizerConfig.bosToken);
    }
    if (options.bosId) {
        dataset.bosIds.push_back(*options.bosId);
    }
    std::optional<std::int64_t> eosId;
    if (tokenizerConfig.eosToken) {
        eosId = tokenizer.tokenToId(*tokenizerConfig.eosToken);
    }
    options.eosId = eosId;
    dataset.stopIds = modelEosIds;
    if (eosId) {
        dataset.stopIds.push_back(*eosId);
    }
    std::optional<std::int64_t> padId;
    if (tokenizerConfig.padToken) {
        padId = tokenizer.tokenToId(*tokenizerConfig.padToken);
    }
    dataset.padId = padId.value_or(eosId.value_or(0));

    dataset.examples = data::encodeExamples(dataset.rendered, tokenizer, options, dataset.stats);
    FTW_CHECK(!dataset.examples.empty(), ErrorCode::InvalidConfig,
              "'" + config.path.string() + "': no example has a token to train on after " +
                  "truncation to " + std::to_string(config.maxLength) +
                  " tokens; raise data.max_length or check the format (" +
                  std::string(data::datasetFormatName(format)) + ")");
    return dataset;
}

TrainingSplit splitExamples(const EncodedDataset& dataset, const DataConfig& config,
                            std::uint64_t seed)
{
    const data::SplitIndices indices =
        data::splitIndices(dataset.examples.size(), config.validationRatio, seed);
    TrainingSplit split;
    for (const std::size_t i : indices.train) {
        split.train.push_back(dataset.examples[i]);
    }
    for (const std::size_t i : indices.validation) {
        if (config.maxValidationExamples > 0 &&
            std::cmp_greater_equal(split.validation.size(), config.maxValidationExamples)) {
            break;
        }
        split.validation.push_back(dataset.examples[i]);
    }
    FTW_CHECK(!split.train.empty(), ErrorCode::InvalidConfig,
              "'" + config.path.string() + "' has " + std::to_string(dataset.examples.size()) +
                  " example(s), none left for training after the validation split; lower " +
                  "data.validation_ratio");
    return split;
}

Batch collate(std::span<const data::TokenizedExample* const> examples, std::int64_t padId)
{
    FTW_CHECK(!examples.empty(), ErrorCode::Internal, "an empty batch");
    std::size_t length = 0;
    for (const data::TokenizedExample* e : examples) {
        length = std::max(length, e->ids.size());
    }
    const auto rows = static_cast<std::int64_t>(examples.size());
    const auto columns = static_cast<std::int64_t>(length);
    at::Tensor ids = at::full({rows, columns}, padId, at::kLong);
    at::Tensor labels = at::full({rows, columns}, kIgnoreIndex, at::kLong);
    auto idsAccess = ids.accessor<std::int64_t, 2>();
    auto labelsAccess = labels.accessor<std::int64_t, 2>();
    Batch batch;
    for (std::int64_t r = 0; r < rows; ++r) {
        const data::TokenizedExample& e = *examples[static_cast<std::size_t>(r)];
        for (std::size_t c = 0; c < e.ids.size(); ++c) {
            idsAccess[r][static_cast<std::int64_t>(c)] = e.ids[c];
            if (e.isTrained[c] != 0) {
                labelsAccess[r][static_cast<std::int64_t>(c)] = e.ids[c];
                batch.trainedTokens += c > 0 ? 1 : 0;
            }
        }
        batch.tokens += static_cast<std::int64_t>(e.ids.size());
    }
    batch.inputIds = ids;
    batch.labels = labels;
    return batch;
}

at::Tensor sumCrossEntropy(const at::Tensor& logits, const at::Tensor& labels)
{
    // The labels move one position left (the last position predicts nothing) rather than the
    // logits: slicing [batch, length, vocab] would copy it, and again in the backward pass.
    const std::int64_t length = logits.size(1);
    const at::Tensor targets = at::cat(
        {labels.slice(1, 1, length), at::full({labels.size(0), 1}, kIgnoreIndex, labels.options())},
        1);
    const at::Tensor predicted = logits.to(at::kFloat);
    return SumCrossEntropy::apply(predicted.reshape({-1, predicted.size(-1)}),
                                  targets.reshape({-1}));
}

std::vector<std::size_t> epochOrder(std::size_t count, std::uint64_t seed, std::int64_t epoch)
{
    std::vector<std::size_t> order(count);
    for (std::size_t i = 0; i < count; ++i) {
        order[i] = i;
    }
    std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32U),
                      static_cast<std::uint32_t>(epoch), 0x5EEDU};
    std::mt19937_64 rng(seq);
    // Fisher-Yates with our own draws: std::shuffle's algorithm differs between libraries.
    for (std::size_t i = count; i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(rng() % i);
        std::swap(order[i - 1], order[j]);
    }
    return order;
}

} // namespace ftw::train
