// SPDX-License-Identifier: MIT
#pragma once

#include "proxies.h"

#include "train/train_state.h"

#include <ftw/adapter_config.h>
#include <ftw/run_store.h>

#include <cstdint>
#include <vector>

namespace ftw::heterolora {

/// One re-allocation of the dynamic variant: when, the scores, and what was switched on.
struct Reallocation {
    std::int64_t step = 0;
    std::vector<UnitScores> scores;
    std::vector<bool> enabled;
    std::int64_t enabledParams = 0;
};

/// Dynamic HeteroLoRA (seed-papers.md 3.4, the paper's `train-dyrealloc`): at step 0 and every
/// config.reallocEvery steps, every unit is switched on, scored with config.proxy on the scoring
/// batches with the live weights, and the top floor(budgetFraction N) are switched on (ties
/// broken at random), the rest off; with shortcut units, floor(p N_lora) + round(p N_shortcut) in
/// one ranking, or in two with config.separateBudgets (chooseUnits). A unit that is off is skipped
/// in forward, gets no gradient and keeps its weights (GatedLoraAdapter). Lives on the engine
/// thread with its trainer.
class Reallocator {
public:
    /// `scoring` gives the device, dtype and warm-up; its proxies and seed are set here.
    Reallocator(nn::DecoderImpl& decoder, std::vector<Unit> units,
                std::vector<train::Batch> scoringBatches, const AdapterConfig& config,
                ScoringOptions scoring);

    /// Whether step `step` (the next optimiser step) starts with a re-allocation.
    [[nodiscard]] bool isDue(std::int64_t step) const;
    /// Re-scores and re-chooses before step `step`; returns the record (kept in history()).
    const Reallocation& reallocate(std::int64_t step);

    [[nodiscard]] const std::vector<Unit>& units() const { return m_units; }
    [[nodiscard]] const std::vector<Reallocation>& history() const { return m_history; }
    /// floor(p N_lora) + round(p N_shortcut): the units on after every re-allocation.
    [[nodiscard]] std::int64_t budgetUnits() const { return m_budgetUnits; }
    /// Trainable elements of the units that are on now.
    [[nodiscard]] std::int64_t enabledParams() const;
    /// The layout now: on/off and rank of every unit, with the scores of the last re-allocation.
    [[nodiscard]] std::vector<AdapterLayoutEntry> layout() const;

    /// The on/off state for a checkpoint ("heterolora.enabled", int64 [N]).
    [[nodiscard]] train::NamedTensors state() const;
    /// Restores state(); a resumed run then re-allocates at the same steps as the original.
    void loadState(const train::NamedTensors& state);

private:
    nn::DecoderImpl& m_decoder;
    std::vector<Unit> m_units;
    std::vector<adapters::Target> m_targets;
    std::vector<train::Batch> m_batches;
    AdapterConfig m_config;
    ScoringOptions m_scoring;
    std::int64_t m_budgetUnits = 0;
    bool m_hasAllocated = false;
    std::int64_t m_lastStep = -1;
    std::vector<Reallocation> m_history;
};

} // namespace ftw::heterolora
