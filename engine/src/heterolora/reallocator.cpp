// SPDX-License-Identifier: MIT
// The dynamic variant of HeteroLoRA: re-scoring and re-choosing the units during training.
#include "reallocator.h"

#include "allocation.h"
#include "shortcuts.h"

#include <ftw/error.h>

#include <ATen/ATen.h>

#include <algorithm>

namespace ftw::heterolora {

Reallocator::Reallocator(nn::DecoderImpl& decoder, std::vector<Unit> units,
                         std::vector<train::Batch> scoringBatches, const AdapterConfig& config,
                         ScoringOptions scoring)
    : m_decoder(decoder)
    , m_units(std::move(units))
    , m_batches(std::move(scoringBatches))
    , m_config(config)
    , m_scoring(std::move(scoring))
{
    for (const Unit& u : m_units) {
        m_targets.push_back(u.adapter->target());
    }
    m_scoring.proxies = {config.proxy};
    const auto shortcutCount = static_cast<std::size_t>(
        std::count_if(m_targets.begin(), m_targets.end(),
                      [](const adapters::Target& t) { return isShortcut(t); }));
    const UnitBudget budget =
        unitBudget(config.budgetFraction, m_units.size() - shortcutCount, shortcutCount);
    m_budgetUnits = budget.total();
    if (m_budgetUnits < 1) {
        throw Error(ErrorCode::InvalidConfig,
                    "heterolora: budget_fraction " + std::to_string(config.budgetFraction) +
                        " of " + std::to_string(m_units.size()) +
                        " modules switches none on; raise it or add target modules");
    }
}

bool Reallocator::isDue(std::int64_t step) const
{
    if (!m_hasAllocated) {
        return true;
    }
    return m_config.reallocEvery > 0 && step % m_config.reallocEvery == 0 && step != m_lastStep;
}

const Reallocation& Reallocator::reallocate(std::int64_t step)
{
    ScoringOptions options = m_scoring;
    // Each re-allocation draws its own tie-breaks, reproducibly (a resumed run draws the same).
    options.seed = m_config.seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(step + 1));
    Reallocation record;
    record.step = step;
    record.scores = scoreUnits(m_decoder, m_units, m_batches, options);

    std::vector<double> scores;
    std::vector<double> tieBreak;
    for (const UnitScores& s : record.scores) {
        scores.push_back(m_config.proxy == ZeroCostProxy::Random ? 1.0 : s.of(m_config.proxy));
        tieBreak.push_back(s.random.value_or(0.0));
    }
    const std::vector<std::int64_t> ranks =
        chooseUnits(m_targets, scores, tieBreak, m_config.budgetFraction, m_config.separateBudgets);
    for (std::size_t i = 0; i < m_units.size(); ++i) {
        const bool isOn = ranks[i] > 0;
        m_units[i].adapter->setEnabled(isOn);
        record.enabled.push_back(isOn);
        record.enabledParams += loraParams(m_targets[i], m_targets[i].r) * (isOn ? 1 : 0);
    }
    m_hasAllocated = true;
    m_lastStep = step;
    m_history.push_back(std::move(record));
    return m_history.back();
}

std::int64_t Reallocator::enabledParams() const
{
    std::int64_t total = 0;
    for (std::size_t i = 0; i < m_units.size(); ++i) {
        if (m_units[i].adapter->isEnabled()) {
            total += loraParams(m_targets[i], m_targets[i].r);
        }
    }
    return total;
}

std::vector<AdapterLayoutEntry> Reallocator::layout() const
{
    std::vector<std::int64_t> ranks;
    for (std::size_t i = 0; i < m_units.size(); ++i) {
        ranks.push_back(m_units[i].adapter->isEnabled() ? m_targets[i].r : 0);
    }
    const std::vector<UnitScores> none;
    return allocationLayout(m_targets, ranks,
                            m_history.empty()
                                ? std::span<const UnitScores>(none)
                                : std::span<const UnitScores>(m_history.back().scores));
}

train::NamedTensors Reallocator::state() const
{
    std::vector<std::int64_t> enabled;
    for (const Unit& u : m_units) {
        enabled.push_back(u.adapter->isEnabled() ? 1 : 0);
    }
    return {{"heterolora.enabled", at::tensor(enabled, at::kLong)}};
}

void Reallocator::loadState(const train::NamedTensors& state)
{
    for (const auto& [name, tensor] : state) {
        if (name != "heterolora.enabled") {
            continue;
        }
        if (tensor.numel() != static_cast<std::int64_t>(m_units.size())) {
            throw Error(ErrorCode::ModelFormat, "the checkpoint's heterolora.enabled has " +
                                                    std::to_string(tensor.numel()) +
                                                    " entries for " +
                                                    std::to_string(m_units.size()) + " modules");
        }
        const at::Tensor values = tensor.to(at::kLong).cpu();
        for (std::size_t i = 0; i < m_units.size(); ++i) {
            m_units[i].adapter->setEnabled(
                values[static_cast<std::int64_t>(i)].item<std::int64_t>() != 0);
        }
        m_hasAllocated = true;
    }
}

} // namespace ftw::heterolora
