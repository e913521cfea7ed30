// SPDX-License-Identifier: MIT
#include "adapter_layout.h"

#include "heterolora/shortcuts.h"

#include <ftw/adapter_config.h>

#include <algorithm>
#include <optional>
#include <string>

namespace ftw::train {
namespace {

/// The directions AdaLoRA's allocator kept on `module`, when it has masked it.
std::optional<std::int64_t> keptDirections(const adapters::AdaLoraAllocator& allocator,
                                           const std::string& module)
{
    const auto found = allocator.rankPattern().find(module + ".lora_E");
    if (found == allocator.rankPattern().end()) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(std::count(found->second.begin(), found->second.end(), true));
}

} // namespace

std::vector<AdapterLayoutEntry> adapterLayout(const adapters::AdapterSet& adapters)
{
    const std::string method(adapterMethodName(adapters.config().method));
    std::vector<AdapterLayoutEntry> layout;
    if (adapters.config().method == AdapterMethod::Full) {
        for (const model::ProjectionSpec& p : adapters.allProjections()) {
            AdapterLayoutEntry e;
            e.layer = p.layer;
            e.module = p.kind;
            e.method = method;
            e.paramCount = p.in * p.out + (p.hasBias ? p.out : 0);
            layout.push_back(std::move(e));
        }
        return layout;
    }
    for (const adapters::AdapterSet::Module& m : adapters.modules()) {
        const adapters::Target& target = m.adapter->target();
        AdapterLayoutEntry e;
        e.layer = target.spec.layer;
        e.module = target.spec.kind;
        e.method = method;
        e.rank = target.r;
        for (const adapters::NamedTensor& t : m.adapter->trainable()) {
            e.paramCount += t.tensor.numel();
        }
        e.isEnabled = m.adapter->isEnabled(); // a HeteroLoRA unit may be switched off
        if (const adapters::AdaLoraAllocator* allocator = adapters.allocator()) {
            if (const std::optional<std::int64_t> kept = keptDirections(*allocator, m.name)) {
                e.rank = *kept;
                e.paramCount = *kept * (target.spec.in + target.spec.out + 1);
                e.isEnabled = *kept > 0;
            }
        }
        layout.push_back(std::move(e));
    }
    if (adapters.shortcuts()) {
        // HeteroLoRA's shortcuts: hidden x hidden "shortcut.*" units of 2 r D each.
        for (const heterolora::Shortcuts::Entry& s : adapters.shortcuts()->entries()) {
            const adapters::Target& target = s.unit->target();
            AdapterLayoutEntry e;
            e.layer = target.spec.layer;
            e.module = target.spec.kind;
            e.method = method;
            e.rank = target.r;
            e.paramCount = target.r * (target.spec.in + target.spec.out);
            e.isEnabled = s.unit->isEnabled();
            layout.push_back(std::move(e));
        }
    }
    return layout;
}

} // namespace ftw::train
