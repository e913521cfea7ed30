// SPDX-License-Identifier: MIT
// HeteroLoRA's zero-cost proxies (seed-papers.md 3.3), computed for every unit on a few batches.
#include "proxies.h"

#include "shortcuts.h"

#include "core/autocast.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace ftw::heterolora {
namespace {

bool wants(const ScoringOptions& options, ZeroCostProxy proxy)
{
    return std::find(options.proxies.begin(), options.proxies.end(), proxy) !=
           options.proxies.end();
}

/// A and B of every unit (handles onto the units' own tensors).
std::vector<at::Tensor> factorsOf(const std::vector<Unit>& units)
{
    std::vector<at::Tensor> factors;
    for (const Unit& u : units) {
        factors.push_back(u.adapter->a());
        factors.push_back(u.adapter->b());
    }
    return factors;
}

void clearGradients(std::vector<at::Tensor>& factors)
{
    for (at::Tensor& t : factors) {
        t.mutable_grad() = at::Tensor();
    }
}

/// Switches every unit on and the decoder to eval mode for its lifetime; restores both, and the
/// gradients of the factors, when it ends (also when scoring throws).
class ScoringScope {
public:
    ScoringScope(nn::DecoderImpl& decoder, const std::vector<Unit>& units)
        : m_decoder(decoder), m_units(units), m_wasTraining(decoder.is_training())
    {
        for (const Unit& u : units) {
            m_wasEnabled.push_back(u.adapter->isEnabled());
            u.adapter->setEnabled(true);
        }
        decoder.eval();
    }
    ScoringScope(const ScoringScope&) = delete;
    ScoringScope& operator=(const ScoringScope&) = delete;
    ~ScoringScope()
    {
        for (std::size_t i = 0; i < m_units.size(); ++i) {
            m_units[i].adapter->setEnabled(m_wasEnabled[i]);
        }
        std::vector<at::Tensor> factors = factorsOf(m_units);
        clearGradients(factors);
        m_decoder.train(m_wasTraining);
    }

private:
    nn::DecoderImpl& m_decoder;
    const std::vector<Unit>& m_units;
    std::vector<bool> m_wasEnabled;
    bool m_wasTraining;
};

/// Keeps copies of the factors and writes them back when it ends.
class FactorRestore {
public:
    explicit FactorRestore(std::vector<at::Tensor> factors) : m_factors(std::move(factors))
    {
        const torch::NoGradGuard noGrad;
        for (const at::Tensor& t : m_factors) {
            m_saved.push_back(t.detach().clone());
        }
    }
    FactorRestore(const FactorRestore&) = delete;
    FactorRestore& operator=(const FactorRestore&) = delete;
    ~FactorRestore()
    {
        const torch::NoGradGuard noGrad;
        for (std::size_t i = 0; i < m_factors.size(); ++i) {
            m_factors[i].copy_(m_saved[i]);
        }
    }

private:
    std::vector<at::Tensor> m_factors;
    std::vector<at::Tensor> m_saved;
};

/// SYNFLOW's |W|: replaces every tensor by its absolute value for its lifetime and gives the
/// negative entries their sign back when it ends (abs then negate is exact).
class AbsoluteValues {
public:
    explicit AbsoluteValues(std::vector<at::Tensor> tensors) : m_tensors(std::move(tensors))
    {
        const torch::NoGradGuard noGrad;
        for (at::Tensor& t : m_tensors) {
            m_negative.push_back(t.lt(0));
            t.abs_();
        }
    }
    AbsoluteValues(const AbsoluteValues&) = delete;
    AbsoluteValues& operator=(const AbsoluteValues&) = delete;
    ~AbsoluteValues()
    {
        const torch::NoGradGuard noGrad;
        for (std::size_t i = 0; i < m_tensors.size(); ++i) {
            m_tensors[i].copy_(at::where(m_negative[i], m_tensors[i].neg(), m_tensors[i]));
        }
    }

private:
    std::vector<at::Tensor> m_tensors;
    std::vector<at::Tensor> m_negative;
};

/// Forward and backward passes over the scoring batches, counted for onPass.
class Passes {
public:
    Passes(nn::DecoderImpl& decoder, std::span<const train::Batch> batches,
           const ScoringOptions& options, std::int64_t total)
        : m_decoder(decoder), m_batches(batches), m_options(options), m_total(total)
    {
    }

    /// The mean task loss of batch `index` (modulo the count); with `isOnesInput`, SYNFLOW's
    /// all-ones input embeddings of the batch's shape in place of its tokens.
    at::Tensor loss(std::size_t index, bool isOnesInput)
    {
        if (m_options.checkCancelled) {
            m_options.checkCancelled();
        }
        const train::Batch& batch = m_batches[index % m_batches.size()];
        const core::AutocastGuard autocast(m_options.device, m_options.computeDtype);
        at::Tensor logits;
        if (isOnesInput) {
            const at::Tensor ones = at::ones(
                {batch.inputIds.size(0), batch.inputIds.size(1), m_decoder.config().hiddenSize},
                at::TensorOptions().dtype(at::kFloat).device(m_options.device));
            logits = m_decoder.forwardEmbeddings(ones);
        } else {
            logits = m_decoder.forward(batch.inputIds.to(m_options.device));
        }
        return train::sumCrossEntropy(logits, batch.labels.to(m_options.device)) /
               static_cast<double>(std::max<std::int64_t>(1, batch.trainedTokens));
    }

    /// Gradients of the mean over the batches of their mean losses, accumulated into `factors`.
    void accumulate(std::vector<at::Tensor>& factors, bool isOnesInput)
    {
        clearGradients(factors);
        const auto count = static_cast<double>(m_batches.size());
        for (std::size_t i = 0; i < m_batches.size(); ++i) {
            (loss(i, isOnesInput) / count).backward();
            passed();
        }
    }

    void passed()
    {
        ++m_done;
        if (m_options.onPass) {
            m_options.onPass(m_done, m_total);
        }
    }

private:
    nn::DecoderImpl& m_decoder;
    std::span<const train::Batch> m_batches;
    const ScoringOptions& m_options;
    std::int64_t m_total;
    std::int64_t m_done = 0;
};

/// A gradient as a tensor of the factor's shape (zeros when the pass gave none).
at::Tensor gradientOf(const at::Tensor& factor)
{
    return factor.grad().defined() ? factor.grad().to(at::kFloat) : at::zeros_like(factor);
}

double frobenius(const at::Tensor& t)
{
    return at::linalg_vector_norm(t.to(at::kFloat), 2).item<double>();
}

/// sum |factor * gradient| for A and B of unit `i` of `factors` (A at 2i, B at 2i + 1).
double connectionSensitivity(const std::vector<at::Tensor>& factors, std::size_t i)
{
    double total = 0.0;
    for (std::size_t j = 2 * i; j < 2 * i + 2; ++j) {
        total += (factors[j].detach().to(at::kFloat) * gradientOf(factors[j]))
                     .abs()
                     .sum()
                     .item<double>();
    }
    return total;
}

} // namespace

double UnitScores::of(ZeroCostProxy proxy) const
{
    std::optional<double> value;
    switch (proxy) {
    case ZeroCostProxy::GradNorm:
        value = gradNorm;
        break;
    case ZeroCostProxy::Snip:
        value = snip;
        break;
    case ZeroCostProxy::Synflow:
        value = synflow;
        break;
    case ZeroCostProxy::Random:
        value = random;
        break;
    }
    return value.value_or(std::numeric_limits<double>::quiet_NaN());
}

std::vector<Unit> unitsOf(const adapters::AdapterSet& adapters)
{
    if (adapters.config().method != AdapterMethod::HeteroLora) {
        throw Error(ErrorCode::InvalidArgument,
                    "HeteroLoRA scores the units of a heterolora adapter, not of " +
                        std::string(adapterMethodName(adapters.config().method)));
    }
    std::vector<Unit> units;
    for (const adapters::AdapterSet::Module& m : adapters.modules()) {
        units.push_back(Unit{m.name, std::dynamic_pointer_cast<GatedLoraAdapter>(m.adapter)});
    }
    if (adapters.shortcuts()) {
        for (const Shortcuts::Entry& e : adapters.shortcuts()->entries()) {
            units.push_back(Unit{e.name, e.unit});
        }
    }
    return units;
}

std::vector<UnitScores> scoreUnits(nn::DecoderImpl& decoder, const std::vector<Unit>& units,
                                   std::span<const train::Batch> batches,
                                   const ScoringOptions& options)
{
    if (batches.empty()) {
        throw Error(ErrorCode::InvalidConfig,
                    "HeteroLoRA needs at least one training batch to score the modules");
    }
    const bool isGradNorm = wants(options, ZeroCostProxy::GradNorm);
    const bool isSnip = wants(options, ZeroCostProxy::Snip);
    const bool isSynflow = wants(options, ZeroCostProxy::Synflow);
    const bool isWarmingUp = (isSnip || isSynflow) && options.warmupSteps > 0;
    const auto k = static_cast<std::int64_t>(batches.size());
    const std::int64_t total = (isGradNorm ? k : 0) + (isWarmingUp ? options.warmupSteps : 0) +
                               (isSnip ? k : 0) + (isSynflow ? k : 0);

    std::vector<UnitScores> scores(units.size());
    {
        const torch::AutoGradMode gradients(true);
        const ScoringScope scope(decoder, units);
        std::vector<at::Tensor> factors = factorsOf(units);
        Passes passes(decoder, batches, options, total);

        if (isGradNorm) {
            passes.accumulate(factors, /*isOnesInput=*/false);
            for (std::size_t i = 0; i < units.size(); ++i) {
                scores[i].gradNorm = frobenius(gradientOf(factors[2 * i])) +
                                     frobenius(gradientOf(factors[2 * i + 1]));
            }
        }
        if (isSnip || isSynflow) {
            const FactorRestore restore(factors);
            if (isWarmingUp) {
                // The scoring point of the zero-B caveat: a few throwaway AdamW steps.
                torch::optim::AdamW warmup(
                    factors,
                    torch::optim::AdamWOptions(options.warmupLearningRate).weight_decay(0.0));
                for (std::int64_t s = 0; s < options.warmupSteps; ++s) {
                    clearGradients(factors);
                    passes.loss(static_cast<std::size_t>(s), /*isOnesInput=*/false).backward();
                    passes.passed();
                    warmup.step();
                }
            }
            if (isSnip) {
                passes.accumulate(factors, /*isOnesInput=*/false);
                for (std::size_t i = 0; i < units.size(); ++i) {
                    scores[i].snip = connectionSensitivity(factors, i);
                }
            }
            if (isSynflow) {
                std::vector<at::Tensor> everything = factors;
                for (const at::Tensor& p : decoder.parameters()) {
                    everything.push_back(p);
                }
                const AbsoluteValues absolute(std::move(everything));
                passes.accumulate(factors, /*isOnesInput=*/true);
                for (std::size_t i = 0; i < units.size(); ++i) {
                    scores[i].synflow = connectionSensitivity(factors, i);
                }
            }
        }
    }

    at::Generator generator = at::detail::createCPUGenerator(options.seed);
    const at::Tensor draws =
        at::rand({static_cast<std::int64_t>(units.size())}, generator, at::kDouble);
    for (std::size_t i = 0; i < units.size(); ++i) {
        scores[i].random = draws[static_cast<std::int64_t>(i)].item<double>();
    }
    return scores;
}

std::vector<train::Batch> firstBatches(const std::vector<data::TokenizedExample>& examples,
                                       std::int64_t batchSize, std::int64_t count,
                                       std::int64_t padId)
{
    std::vector<train::Batch> batches;
    const auto size = static_cast<std::size_t>(std::max<std::int64_t>(1, batchSize));
    for (std::size_t begin = 0; begin < examples.size() && std::cmp_less(batches.size(), count);
         begin += size) {
        std::vector<const data::TokenizedExample*> items;
        for (std::size_t i = begin; i < std::min(examples.size(), begin + size); ++i) {
            items.push_back(&examples[i]);
        }
        batches.push_back(train::collate(items, padId));
    }
    return batches;
}

} // namespace ftw::heterolora
