// SPDX-License-Identifier: MIT
#include "targets.h"

#include "clover/segments.h"
#include "data/regex.h"

#include <ftw/error.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace ftw::adapters {
namespace {

bool fullMatch(const std::string& pattern, const std::string& text)
{
    const data::Regex regex("\\A(?:" + pattern + ")\\z");
    return !regex.findAll(text).empty();
}

bool endsWith(const std::string& text, const std::string& suffix)
{
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// PEFT's list rule: the name itself or a dotted suffix of it.
bool matchesAny(const std::string& name, const std::vector<std::string>& list)
{
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& t) { return name == t || endsWith(name, "." + t); });
}

bool isAllLinear(const std::vector<std::string>& targets)
{
    return targets.empty() || (targets.size() == 1 && targets.front() == "all-linear");
}

/// rank_pattern / alpha_pattern: the first key (in sorted order, as PEFT writes them) whose
/// `(.*\.)?(key)$` matches the module name.
template <typename Value>
std::optional<Value> patternValue(const std::map<std::string, Value>& patterns,
                                  const std::string& name)
{
    for (const auto& [key, value] : patterns) {
        if (fullMatch("(.*\\.)?(" + key + ")", name)) {
            return value;
        }
    }
    return std::nullopt;
}

double scalingOf(const AdapterConfig& config, std::int64_t r, double alpha)
{
    switch (config.method) {
    case Method::Lora:
    case Method::Pissa:
    case Method::Olora:
    case Method::LoraGa:
    case Method::Dora:
    case Method::HeteroLora:
        return config.useRslora ? alpha / std::sqrt(static_cast<double>(r))
                                : alpha / static_cast<double>(r);
    case Method::AdaLora:
        return alpha / (static_cast<double>(config.initR) + 1e-5);
    default:
        return 1.0;
    }
}

void checkShape(const AdapterConfig& config, const Target& t)
{
    const std::int64_t k = std::min(t.spec.in, t.spec.out);
    const bool usesSvd = config.method == Method::Pissa || config.method == Method::Olora;
    if (usesSvd && t.r > k) {
        throw Error(ErrorCode::InvalidArgument,
                    "rank " + std::to_string(t.r) +
                        " is larger than min(in, out) = " + std::to_string(k) + " of '" +
                        t.spec.name + "'; " + std::string(methodName(config.method)) +
                        " needs r <= " + std::to_string(k));
    }
    if (config.method == Method::LoraGa && 2 * t.r > k) {
        throw Error(ErrorCode::InvalidArgument,
                    "lora-ga takes 2r gradient directions but '" + t.spec.name +
                        "' has only min(in, out) = " + std::to_string(k) +
                        "; use r <= " + std::to_string(k / 2));
    }
    if (config.method == Method::Bat && (t.spec.in % t.r != 0 || t.spec.out % t.r != 0)) {
        throw Error(ErrorCode::InvalidArgument,
                    "bat needs the weight of '" + t.spec.name + "' (" + std::to_string(t.spec.out) +
                        " x " + std::to_string(t.spec.in) + ") to divide into " +
                        std::to_string(t.r) + " x " + std::to_string(t.r) +
                        " blocks; choose a block size that divides both");
    }
}

} // namespace

bool isTargeted(const model::ProjectionSpec& spec, const AdapterConfig& config)
{
    if (matchesAny(spec.name, config.excludeModules) ||
        (!config.excludeRegex.empty() && fullMatch(config.excludeRegex, spec.name))) {
        return false;
    }
    bool chosen = false;
    if (!config.targetRegex.empty()) {
        chosen = fullMatch(config.targetRegex, spec.name);
    } else if (isAllLinear(config.targetModules)) {
        // Every block projection, never lm_head; CLOVER's default is its v2 set (K, V, up).
        chosen = config.method == Method::Clover ? clover::isDefaultTarget(spec) : spec.layer >= 0;
    } else {
        chosen = matchesAny(spec.name, config.targetModules);
    }
    if (chosen && !config.layersToTransform.empty()) {
        chosen = std::find(config.layersToTransform.begin(), config.layersToTransform.end(),
                           spec.layer) != config.layersToTransform.end();
    }
    return chosen;
}

std::vector<Target> selectTargets(const std::vector<model::ProjectionSpec>& projections,
                                  const AdapterConfig& config)
{
    std::vector<Target> targets;
    const std::int64_t rank = effectiveRank(config);
    for (const model::ProjectionSpec& spec : projections) {
        if (!isTargeted(spec, config)) {
            continue;
        }
        Target t;
        t.spec = spec;
        t.r = patternValue(config.rankPattern, spec.name).value_or(rank);
        t.alpha = patternValue(config.alphaPattern, spec.name).value_or(config.alpha);
        if (config.method == Method::Clover) {
            t.r = clover::blockSizeOf(spec); // throws for a module CLOVER cannot adapt
        }
        // AdaLoRA may prune every direction of a module (rank 0); other methods need one.
        if (t.r < (config.method == Method::AdaLora ? 0 : 1)) {
            throw Error(ErrorCode::InvalidArgument,
                        "rank_pattern gives '" + spec.name + "' a rank below 1");
        }
        t.scaling = scalingOf(config, t.r, t.alpha);
        checkShape(config, t);
        targets.push_back(std::move(t));
    }
    if (targets.empty()) {
        std::set<std::string> kinds;
        for (const model::ProjectionSpec& spec : projections) {
            kinds.insert(spec.kind);
        }
        std::string list;
        for (const std::string& kind : kinds) {
            list += (list.empty() ? "" : ", ") + kind;
        }
        throw Error(ErrorCode::InvalidArgument,
                    "target modules matched no module of the model; it has: " + list);
    }
    return targets;
}

} // namespace ftw::adapters
