// SPDX-License-Identifier: MIT
// The analytic parameter budget of ftw/budget.h: counts from config.json alone, a memory estimate
// and the equal-budget solver.
#include <ftw/budget.h>

#include "counts.h"
#include "targets.h"

#include "core/api_guard.h"
#include "heterolora/shortcuts.h"
#include "model/dtype.h"
#include "model/model_config.h"
#include "model/projections.h"

#include <ftw/error.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace ftw {
namespace {

using adapters::Method;
using adapters::Target;

std::string knobName(Method method)
{
    switch (method) {
    case Method::Full:
    case Method::Clover: // a full d x d core per head: nothing to choose
        return {};
    case Method::Bone:
    case Method::Bat:
        return "block size";
    case Method::AdaLora:
        return "init_r";
    default:
        return "r";
    }
}

AdapterConfig withKnob(AdapterConfig config, Method method, std::int64_t value)
{
    config.method = method;
    if (method == Method::AdaLora) {
        config.initR = value;
        config.r = 0;
    } else {
        config.r = value;
    }
    return config;
}

/// The adapted modules, or every projection (untouched by targets) for full fine-tuning.
std::vector<Target> chosenModules(const std::vector<model::ProjectionSpec>& projections,
                                  const AdapterConfig& adapter)
{
    if (adapter.method != Method::Full) {
        return adapters::selectTargets(projections, adapter);
    }
    std::vector<Target> all;
    for (const model::ProjectionSpec& spec : projections) {
        all.push_back(Target{spec, 0, 0.0, 1.0});
    }
    return all;
}

void addTotals(BudgetReport& report, std::int64_t numLayers)
{
    std::vector<std::int64_t> perLayer(static_cast<std::size_t>(numLayers), 0);
    std::int64_t head = 0;
    bool hasHead = false;
    for (const BudgetModule& m : report.modules) {
        auto kind = std::find_if(report.kinds.begin(), report.kinds.end(),
                                 [&](const BudgetKindTotal& k) { return k.kind == m.kind; });
        if (kind == report.kinds.end()) {
            kind = report.kinds.insert(report.kinds.end(),
                                       BudgetKindTotal{m.kind, m.in, m.out, m.r, m.r, 0, 0});
        }
        kind->rMin = std::min(kind->rMin, m.r);
        kind->rMax = std::max(kind->rMax, m.r);
        kind->modules += 1;
        kind->trainableParams += m.trainableParams;
        if (m.layer >= 0) {
            perLayer.at(static_cast<std::size_t>(m.layer)) += m.trainableParams;
        } else {
            head += m.trainableParams;
            hasHead = true;
        }
    }
    for (std::int64_t layer = 0; layer < numLayers; ++layer) {
        report.layers.push_back({layer, perLayer[static_cast<std::size_t>(layer)]});
    }
    if (hasHead) {
        report.layers.push_back({-1, head});
    }
}

model::DType chosenDtype(const model::ModelConfig& config, const MemoryOptions& options)
{
    if (options.weightDtype.empty()) {
        return config.dtype;
    }
    const model::DType dtype = model::parseDType(options.weightDtype);
    if (dtype != model::DType::F32 && dtype != model::DType::F16 && dtype != model::DType::BF16) {
        throw Error(ErrorCode::InvalidArgument,
                    "weight dtype '" + options.weightDtype + "': expected F32, F16 or BF16");
    }
    return dtype;
}

MemoryEstimate estimateMemory(const model::ModelConfig& c, const BudgetReport& report,
                              const MemoryOptions& options)
{
    if (options.batchSize < 1 || options.seqLen < 1) {
        throw Error(ErrorCode::InvalidArgument,
                    "the memory estimate needs a batch size and a sequence length of at least 1");
    }
    constexpr std::int64_t kFloatBytes = 4;
    const model::DType dtype = chosenDtype(c, options);
    const auto weightBytes = static_cast<std::int64_t>(model::dtypeSize(dtype));
    MemoryEstimate m;
    m.weightDtype = model::dtypeName(dtype);
    m.batchSize = options.batchSize;
    m.seqLen = options.seqLen;
    m.baseWeightBytes = report.baseParams * weightBytes;
    if (report.method == Method::Full) {
        m.adapterWeightBytes =
            dtype == model::DType::F32 ? 0 : report.trainableParams * kFloatBytes;
    } else {
        m.adapterWeightBytes = (report.trainableParams + report.sharedFrozenParams) * kFloatBytes;
    }
    m.gradientBytes = report.trainableParams * kFloatBytes;
    m.optimizerBytes = 2 * report.trainableParams * kFloatBytes;
    const std::int64_t t = options.seqLen;
    const std::int64_t q = c.numHeads * c.headDim;
    const std::int64_t kv = c.numKvHeads * c.headDim;
    const std::int64_t perTokenLayer =
        4 * c.hiddenSize + 2 * q + 2 * kv + 4 * c.intermediateSize + 2 * c.numHeads * t;
    const std::int64_t perToken =
        c.numLayers * perTokenLayer * weightBytes + 2 * c.vocabSize * kFloatBytes;
    m.activationBytes = options.batchSize * t * perToken;
    m.totalBytes = m.baseWeightBytes + m.adapterWeightBytes + m.gradientBytes + m.optimizerBytes +
                   m.activationBytes;
    return m;
}

/// AdaLoRA's schedule does not change the count: a budget needs no total_step.
void validateForBudget(const AdapterConfig& adapter)
{
    AdapterConfig checked = adapter;
    if (checked.method == Method::AdaLora && checked.totalStep == 0) {
        checked.totalStep = checked.tinit + checked.tfinal + 1;
    }
    validateAdapterConfig(checked);
}

BudgetReport buildReport(const std::filesystem::path& modelDir, const AdapterConfig& adapter,
                         const MemoryOptions& memory)
{
    validateForBudget(adapter);
    const model::ModelConfig config = model::readModelFolderConfig(modelDir);
    const std::vector<Target> targets = chosenModules(model::projectionSpecs(config), adapter);

    BudgetReport report;
    report.modelDir = modelDir;
    report.architecture = model::archName(config.arch);
    report.numLayers = config.numLayers;
    report.configDtype = model::dtypeName(config.dtype);
    report.baseParams = model::modelParameterCount(config);
    report.method = adapter.method;
    report.knob = knobName(adapter.method);
    report.rank = adapter.method == Method::Full ? 0 : effectiveRank(adapter);
    std::int64_t moduleTotal = 0;
    for (const Target& t : targets) {
        const std::int64_t count = adapters::trainableCount(adapter.method, t);
        report.modules.push_back(BudgetModule{t.spec.name, t.spec.kind, t.spec.layer, t.spec.in,
                                              t.spec.out, t.r, count});
        moduleTotal += count;
    }
    // HeteroLoRA's shortcuts, as hidden x hidden "shortcut.*" modules: 2 r D each.
    for (const Target& t : heterolora::shortcutTargets(config, adapter)) {
        const std::int64_t count = t.r * (t.spec.in + t.spec.out);
        report.modules.push_back(BudgetModule{t.spec.name, t.spec.kind, t.spec.layer, t.spec.in,
                                              t.spec.out, t.r, count});
        moduleTotal += count;
    }
    addTotals(report, config.numLayers);
    report.trainableParams = adapters::totalTrainableCount(config, adapter, targets);
    report.otherTrainableParams = report.trainableParams - moduleTotal;
    report.percentOfBase = 100.0 * static_cast<double>(report.trainableParams) /
                           static_cast<double>(report.baseParams);
    report.sharedFrozenParams = adapters::sharedFrozenCount(adapter.method, targets);
    report.memory = estimateMemory(config, report, memory);
    return report;
}

// ---- The solver ----------------------------------------------------------------------------

/// The values the solver may give `method`'s knob on `targets`, ascending: 1 up to the largest
/// useful rank, or Bat's block sizes that divide every dimension.
std::vector<std::int64_t> candidateValues(Method method, const std::vector<Target>& targets)
{
    std::int64_t smallest = targets.front().spec.in;
    std::int64_t largest = 0;
    std::int64_t divisor = 0;
    for (const Target& t : targets) {
        const std::int64_t k = std::min(t.spec.in, t.spec.out);
        smallest = std::min(smallest, k);
        largest = std::max(largest, k);
        divisor = std::gcd(divisor, std::gcd(t.spec.in, t.spec.out));
    }
    std::int64_t limit = largest;
    if (method == Method::Vera) {
        // VeRA trains only r + out per module, and nothing bounds r (the shared frozen projections
        // grow with it): up to 16x the widest module reaches the counts of LoRA at a small rank.
        std::int64_t widest = 0;
        for (const Target& t : targets) {
            widest = std::max({widest, t.spec.in, t.spec.out});
        }
        limit = 16 * widest;
    } else if (method == Method::Pissa || method == Method::Olora) {
        limit = smallest;
    } else if (method == Method::LoraGa) {
        limit = smallest / 2;
    }
    std::vector<std::int64_t> values;
    for (std::int64_t v = 1; v <= limit; ++v) {
        if (method != Method::Bat || divisor % v == 0) {
            values.push_back(v);
        }
    }
    return values;
}

class Solver {
public:
    Solver(const model::ModelConfig& config, const AdapterConfig& base, double targetParams)
        : m_config(config)
        , m_projections(model::projectionSpecs(config))
        , m_base(base)
        , m_target(targetParams)
    {
    }

    BudgetMatch solve(Method method) const
    {
        BudgetMatch match;
        match.method = method;
        match.knob = knobName(method);
        if (method == Method::Full) {
            match.isFixed = true;
            return finish(match, model::modelParameterCount(m_config));
        }
        if (method == Method::Clover) {
            match.isFixed = true; // heads * d^2 per adapted projection, whatever the target
            try {
                return finish(match, count(method, 0));
            } catch (const Error& e) {
                match.unavailable = e.what();
                return match;
            }
        }
        try {
            // Rank 1 is valid for every method, so its modules bound the candidates.
            const std::vector<std::int64_t> values =
                candidateValues(method, adapters::selectTargets(m_projections, at(method, 1)));
            if (values.empty()) {
                match.unavailable =
                    std::string(adapterMethodName(method)) + " has no valid value on these modules";
                return match;
            }
            return closest(match, values);
        } catch (const Error& e) {
            match.unavailable = e.what();
            return match;
        }
    }

private:
    AdapterConfig at(Method method, std::int64_t value) const
    {
        return withKnob(m_base, method, value);
    }

    std::int64_t count(Method method, std::int64_t value) const
    {
        const AdapterConfig c = at(method, value);
        return adapters::totalTrainableCount(m_config, c,
                                             adapters::selectTargets(m_projections, c));
    }

    /// Counts grow with the knob, so a binary search finds the first value at or above the target;
    /// the one before it is the other candidate.
    BudgetMatch closest(BudgetMatch match, const std::vector<std::int64_t>& values) const
    {
        std::size_t lo = 0;
        std::size_t hi = values.size();
        while (lo < hi) {
            const std::size_t mid = (lo + hi) / 2;
            if (static_cast<double>(count(match.method, values[mid])) >= m_target) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        std::size_t best = lo == values.size() ? lo - 1 : lo;
        std::int64_t bestCount = count(match.method, values[best]);
        if (best == lo && lo > 0) {
            const std::int64_t below = count(match.method, values[lo - 1]);
            if (std::abs(m_target - static_cast<double>(below)) <=
                std::abs(static_cast<double>(bestCount) - m_target)) {
                best = lo - 1;
                bestCount = below;
            }
        }
        match.value = values[best];
        if (values.size() > 1) {
            const std::size_t upper = std::clamp<std::size_t>(lo, 1, values.size() - 1);
            match.stepParams =
                count(match.method, values[upper]) - count(match.method, values[upper - 1]);
        }
        match.isAtLimit =
            lo == values.size() || (lo == 0 && static_cast<double>(bestCount) > m_target);
        return finish(match, bestCount);
    }

    BudgetMatch finish(BudgetMatch match, std::int64_t trainable) const
    {
        match.trainableParams = trainable;
        match.relativeError = (static_cast<double>(trainable) - m_target) / m_target;
        return match;
    }

    const model::ModelConfig& m_config;
    std::vector<model::ProjectionSpec> m_projections;
    const AdapterConfig& m_base;
    double m_target;
};

} // namespace

Expected<BudgetReport> computeBudget(const std::filesystem::path& modelDir,
                                     const AdapterConfig& adapter, const MemoryOptions& memory)
{
    return core::captureErrors([&] { return buildReport(modelDir, adapter, memory); });
}

Expected<std::vector<BudgetMatch>> solveBudget(const std::filesystem::path& modelDir,
                                               const AdapterConfig& base,
                                               const BudgetTarget& target)
{
    return core::captureErrors([&] {
        if (target.kind == BudgetTargetKind::None || !(target.value > 0.0)) {
            throw Error(ErrorCode::InvalidArgument,
                        "the budget solver needs a positive parameter count or percentage");
        }
        const model::ModelConfig config = model::readModelFolderConfig(modelDir);
        // The targets themselves must match something whatever the method.
        (void)adapters::selectTargets(model::projectionSpecs(config),
                                      withKnob(base, Method::Lora, 1));
        const double targetParams =
            target.kind == BudgetTargetKind::Parameters
                ? target.value
                : target.value / 100.0 * static_cast<double>(model::modelParameterCount(config));
        const Solver solver(config, base, targetParams);
        std::vector<BudgetMatch> matches;
        for (const Method method : allAdapterMethods()) {
            if (method == Method::HeteroLora) {
                continue; // its budget is budget_fraction of its units (`ftw allocate`), not r
            }
            matches.push_back(solver.solve(method));
        }
        return matches;
    });
}

} // namespace ftw
