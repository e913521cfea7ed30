// SPDX-License-Identifier: MIT
// HeteroLoRA's static allocation under a budget (seed-papers.md 3.2, 3.4).
#include "allocation.h"

#include "shortcuts.h"

#include <ftw/error.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ftw::heterolora {

std::int64_t unitsForFraction(double fraction, std::size_t count)
{
    // A small tolerance so that 0.25 * 8 is 2 despite rounding.
    return static_cast<std::int64_t>(std::floor(fraction * static_cast<double>(count) + 1e-9));
}

std::int64_t roundHalfToEven(double value)
{
    // std::nearbyint rounds in the default mode, to nearest with ties to even (Python's round).
    return static_cast<std::int64_t>(std::nearbyint(value));
}

UnitBudget unitBudget(double fraction, std::size_t loraCount, std::size_t shortcutCount)
{
    return UnitBudget{unitsForFraction(fraction, loraCount),
                      roundHalfToEven(fraction * static_cast<double>(shortcutCount))};
}

std::vector<std::int64_t> chooseUnits(const std::vector<adapters::Target>& units,
                                      std::span<const double> scores,
                                      std::span<const double> tieBreak, double fraction,
                                      bool isSeparate)
{
    if (scores.size() != units.size() || tieBreak.size() != units.size()) {
        throw Error(ErrorCode::InvalidArgument,
                    "HeteroLoRA allocation: one score and one tie-break per unit");
    }
    std::vector<std::size_t> loraIndex;
    std::vector<std::size_t> shortcutIndex;
    for (std::size_t i = 0; i < units.size(); ++i) {
        (isShortcut(units[i]) ? shortcutIndex : loraIndex).push_back(i);
    }
    const UnitBudget budget = unitBudget(fraction, loraIndex.size(), shortcutIndex.size());
    auto ranked = [&](const std::vector<std::size_t>& subset, std::int64_t count) {
        std::vector<adapters::Target> targets;
        std::vector<double> subsetScores;
        std::vector<double> subsetTies;
        for (const std::size_t i : subset) {
            targets.push_back(units[i]);
            subsetScores.push_back(scores[i]);
            subsetTies.push_back(tieBreak[i]);
        }
        // A budget of units only: "on" (1) or off, and an enabled unit trains at its own rank.
        const std::vector<std::int64_t> onOff = {0, 1};
        const std::vector<std::int64_t> ranks =
            allocateRanks(targets, subsetScores, subsetTies, onOff, Budget{count, -1});
        std::vector<std::int64_t> chosen(units.size(), 0);
        for (std::size_t j = 0; j < subset.size(); ++j) {
            chosen[subset[j]] = ranks[j] > 0 ? units[subset[j]].r : 0;
        }
        return chosen;
    };
    if (!isSeparate) {
        std::vector<std::size_t> all(units.size());
        std::iota(all.begin(), all.end(), std::size_t{0});
        return ranked(all, budget.total());
    }
    std::vector<std::int64_t> chosen = ranked(loraIndex, budget.lora);
    const std::vector<std::int64_t> shortcuts = ranked(shortcutIndex, budget.shortcut);
    for (const std::size_t i : shortcutIndex) {
        chosen[i] = shortcuts[i];
    }
    return chosen;
}

std::int64_t loraParams(const adapters::Target& target, std::int64_t r)
{
    return r * (target.spec.in + target.spec.out);
}

std::vector<std::int64_t> allocateRanks(const std::vector<adapters::Target>& candidates,
                                        std::span<const double> scores,
                                        std::span<const double> tieBreak,
                                        std::span<const std::int64_t> rankSet, const Budget& budget)
{
    if (scores.size() != candidates.size() || tieBreak.size() != candidates.size()) {
        throw Error(ErrorCode::InvalidArgument,
                    "HeteroLoRA allocation: one score and one tie-break per candidate module");
    }
    std::vector<std::int64_t> ranks(rankSet.begin(), rankSet.end());
    if (std::any_of(ranks.begin(), ranks.end(), [](std::int64_t r) { return r < 0; })) {
        throw Error(ErrorCode::InvalidArgument, "HeteroLoRA allocation: ranks must be 0 or more");
    }
    std::sort(ranks.begin(), ranks.end(), std::greater<>());

    auto keyOf = [&](std::size_t i) {
        return std::isnan(scores[i]) ? -std::numeric_limits<double>::infinity() : scores[i];
    };
    std::vector<std::size_t> order(candidates.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (keyOf(a) != keyOf(b)) {
            return keyOf(a) > keyOf(b);
        }
        return tieBreak[a] > tieBreak[b];
    });

    constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();
    std::int64_t unitsLeft = budget.units < 0 ? kUnlimited : budget.units;
    std::int64_t paramsLeft = budget.params < 0 ? kUnlimited : budget.params;
    std::vector<std::int64_t> chosen(candidates.size(), 0);
    for (const std::size_t i : order) {
        if (unitsLeft == 0) {
            break;
        }
        for (const std::int64_t r : ranks) {
            const std::int64_t cost = loraParams(candidates[i], r);
            if (r > 0 && cost <= paramsLeft) {
                chosen[i] = r;
                paramsLeft -= cost;
                --unitsLeft;
                break;
            }
        }
    }
    return chosen;
}

std::string exactNamePattern(const std::string& name)
{
    std::string escaped;
    for (const char ch : name) {
        if (ch == '.') {
            escaped += "\\.";
        } else {
            escaped += ch;
        }
    }
    return escaped;
}

AdapterConfig allocatedConfig(const AdapterConfig& candidates,
                              const std::vector<adapters::Target>& targets,
                              std::span<const std::int64_t> ranks)
{
    if (targets.size() != ranks.size()) {
        throw Error(ErrorCode::InvalidArgument,
                    "HeteroLoRA allocation: one rank per candidate module");
    }
    AdapterConfig config = candidates;
    config.method = AdapterMethod::Lora;
    config.shortcuts = false;
    config.separateBudgets = false;
    config.shortcutModules.clear();
    const std::int64_t r = effectiveRank(candidates);
    std::vector<std::string> off;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const std::string& name = targets[i].spec.name;
        if (isShortcut(targets[i])) {
            if (ranks[i] != 0 && ranks[i] != r) {
                throw Error(ErrorCode::InvalidArgument, "HeteroLoRA allocation: the shortcut '" +
                                                            name + "' is on at rank r or off");
            }
            if (ranks[i] == r) {
                config.shortcutModules.push_back(name); // trained as lora's shortcut_modules
            }
        } else if (ranks[i] == 0) {
            off.push_back(name);
        } else if (ranks[i] != r) {
            config.rankPattern[exactNamePattern(name)] = ranks[i];
        }
    }
    if (!config.excludeRegex.empty() && !off.empty()) {
        config.excludeRegex = "(?:" + config.excludeRegex + ")";
        for (const std::string& name : off) {
            config.excludeRegex += "|" + exactNamePattern(name);
        }
    } else {
        config.excludeModules.insert(config.excludeModules.end(), off.begin(), off.end());
    }
    return config;
}

std::vector<AdapterLayoutEntry> allocationLayout(const std::vector<adapters::Target>& targets,
                                                 std::span<const std::int64_t> ranks,
                                                 std::span<const UnitScores> scores)
{
    std::vector<AdapterLayoutEntry> layout;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        AdapterLayoutEntry e;
        e.layer = targets[i].spec.layer;
        e.module = targets[i].spec.kind;
        e.method = std::string(adapterMethodName(AdapterMethod::HeteroLora));
        e.rank = ranks[i];
        e.paramCount = loraParams(targets[i], ranks[i]);
        e.isEnabled = ranks[i] > 0;
        if (i < scores.size()) {
            e.scoreGradNorm = scores[i].gradNorm;
            e.scoreSnip = scores[i].snip;
            e.scoreSynflow = scores[i].synflow;
            e.scoreRandom = scores[i].random;
        }
        layout.push_back(std::move(e));
    }
    return layout;
}

} // namespace ftw::heterolora
