// SPDX-License-Identifier: MIT
#include "counts.h"

#include "clover/segments.h"
#include "heterolora/shortcuts.h"
#include "model/projections.h"

#include <algorithm>

namespace ftw::adapters {

std::int64_t trainableCount(Method method, const Target& t)
{
    const std::int64_t in = t.spec.in;
    const std::int64_t out = t.spec.out;
    switch (method) {
    case Method::Lora:
    case Method::Pissa:
    case Method::Olora:
    case Method::LoraGa:
    case Method::HeteroLora: // every unit's tensors, on or off
        return t.r * (in + out);
    case Method::Dora:
        return t.r * (in + out) + out;
    case Method::Vera:
        return out + t.r;
    case Method::Bone:
    case Method::Bat:
        return t.r * out;
    case Method::AdaLora:
        return t.r * (in + out + 1);
    case Method::Clover:
        return clover::trainableCount(t.spec);
    case Method::Full:
        return in * out + (t.spec.hasBias ? out : 0);
    }
    return 0;
}

LargestShape largestShape(const std::vector<Target>& targets)
{
    LargestShape largest;
    for (const Target& t : targets) {
        largest.in = std::max(largest.in, t.spec.in);
        largest.out = std::max(largest.out, t.spec.out);
    }
    return largest;
}

std::int64_t sharedFrozenCount(Method method, const std::vector<Target>& targets)
{
    if (method != Method::Vera || targets.empty()) {
        return 0;
    }
    const LargestShape largest = largestShape(targets);
    const std::int64_t r = targets.front().r;
    return r * largest.in + largest.out * r;
}

std::int64_t totalTrainableCount(const model::ModelConfig& config, const AdapterConfig& adapter,
                                 const std::vector<Target>& targets)
{
    if (adapter.method == Method::Full) {
        return model::modelParameterCount(config);
    }
    std::int64_t total = shortcutTrainableCount(config, adapter);
    for (const Target& t : targets) {
        total += trainableCount(adapter.method, t);
    }
    return total;
}

std::int64_t shortcutTrainableCount(const model::ModelConfig& config, const AdapterConfig& adapter)
{
    std::int64_t total = 0;
    for (const Target& t : heterolora::shortcutTargets(config, adapter)) {
        total += t.r * (t.spec.in + t.spec.out);
    }
    return total;
}

} // namespace ftw::adapters
