// SPDX-License-Identifier: MIT
#pragma once

#include "proxies.h"

#include "adapters/targets.h"

#include <ftw/adapter_config.h>
#include <ftw/run_store.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ftw::heterolora {

/// What may be switched on. A negative limit is no limit.
struct Budget {
    std::int64_t units = -1;  ///< at most this many units on (the paper's floor(p N))
    std::int64_t params = -1; ///< at most this many trainable parameters, r (in + out) per unit
};

/// The paper's budget of a fraction p of N units: floor(p N).
[[nodiscard]] std::int64_t unitsForFraction(double fraction, std::size_t count);

/// Python's round() of `value`: to the nearest integer, ties to even.
[[nodiscard]] std::int64_t roundHalfToEven(double value);

/// HeteroLoRA's budget of units with shortcuts (seed-papers.md 3.2): floor(p N_lora) module units
/// and round(p N_shortcut) shortcut units (Python's round, as the paper's code).
struct UnitBudget {
    std::int64_t lora = 0;
    std::int64_t shortcut = 0;
    [[nodiscard]] std::int64_t total() const { return lora + shortcut; }
};
[[nodiscard]] UnitBudget unitBudget(double fraction, std::size_t loraCount,
                                    std::size_t shortcutCount);

/// Which units are on (their rank) or off (0) under unitBudget(fraction, ...), by descending
/// `scores` with ties broken by descending `tieBreak` (as allocateRanks). Combined
/// (`isSeparate` false): module and shortcut units (isShortcut) compete in one ranking for
/// budget.total() places. Separated: the top budget.lora modules and, in their own ranking, the
/// top budget.shortcut shortcuts. Without shortcuts both are the top floor(p N). Throws
/// Error{InvalidArgument} when the sizes differ.
[[nodiscard]] std::vector<std::int64_t> chooseUnits(const std::vector<adapters::Target>& units,
                                                    std::span<const double> scores,
                                                    std::span<const double> tieBreak,
                                                    double fraction, bool isSeparate);

/// Trainable parameters of a LoRA of rank `r` on `target`: r (in + out).
[[nodiscard]] std::int64_t loraParams(const adapters::Target& target, std::int64_t r);

/// The static allocation (seed-papers.md 3.4): the rank of every candidate. Candidates are taken
/// in descending `scores` (NaN last), ties broken by descending `tieBreak` (seeded uniform draws,
/// so a tie is broken uniformly at random); each gets the largest rank of `rankSet` that keeps
/// within what is left of the budget, and 0 when none does. With rankSet {0, r} and a unit
/// budget this is "enable the top floor(p N), the rest get r = 0". The result never exceeds
/// either limit of `budget`. Throws Error{InvalidArgument} when the sizes differ or rankSet has a
/// negative rank.
[[nodiscard]] std::vector<std::int64_t>
allocateRanks(const std::vector<adapters::Target>& candidates, std::span<const double> scores,
              std::span<const double> tieBreak, std::span<const std::int64_t> rankSet,
              const Budget& budget);

/// A regular expression that matches exactly `name` (dots escaped).
[[nodiscard]] std::string exactNamePattern(const std::string& name);

/// The plain-LoRA config that trains an allocation: `candidates` with method lora, every module
/// of rank 0 excluded by its full name (exclude_modules; folded into exclude_regex when the
/// candidates use one), and a rank_pattern entry (the full name, dots escaped) for every module
/// whose rank is not candidates' r. Shortcut targets (isShortcut) that are on become
/// shortcut_modules (they have rank r or 0; throws Error{InvalidArgument} otherwise). Loads in PEFT
/// (>= 0.14, which has exclude_modules) as the same modules and ranks. `targets` are
/// selectTargets(candidates) in order, `ranks` their ranks.
[[nodiscard]] AdapterConfig allocatedConfig(const AdapterConfig& candidates,
                                            const std::vector<adapters::Target>& targets,
                                            std::span<const std::int64_t> ranks);

/// The adapter layout rows of an allocation (what the Allocation inspector draws): one per
/// candidate in order, method "heterolora", its rank and r (in + out) parameters when on, rank 0,
/// no parameters and isEnabled false when off, and the four proxy scores that were computed.
[[nodiscard]] std::vector<AdapterLayoutEntry>
allocationLayout(const std::vector<adapters::Target>& targets, std::span<const std::int64_t> ranks,
                 std::span<const UnitScores> scores);

} // namespace ftw::heterolora
