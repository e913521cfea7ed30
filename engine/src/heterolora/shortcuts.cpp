// SPDX-License-Identifier: MIT
// HeteroLoRA's LoRA-adapted shortcut connections (seed-papers.md 3.5): the units, the residual
// hooks that add them to the decoder's blocks, and their file beside a PEFT adapter.
#include "shortcuts.h"

#include "model/safetensors.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace ftw::heterolora {
namespace {

using nlohmann::json;

constexpr std::array<ShortcutKind, 4> kKinds = {ShortcutKind::Residual1, ShortcutKind::Residual2,
                                                ShortcutKind::ShortcutSa,
                                                ShortcutKind::ShortcutFfn};
const std::string kKindPrefix = "shortcut.";
const std::string kKeyPrefix = "base_model.model.";

std::size_t indexOf(ShortcutKind kind)
{
    return static_cast<std::size_t>(kind);
}

ShortcutKind kindOf(const std::string& specKind)
{
    for (const ShortcutKind kind : kKinds) {
        if (specKind == kKindPrefix + std::string(shortcutKindName(kind))) {
            return kind;
        }
    }
    throw Error(ErrorCode::InvalidArgument, "'" + specKind + "' is not a shortcut");
}

[[noreturn]] void badFile(const std::filesystem::path& path, const std::string& problem)
{
    throw Error(ErrorCode::ModelFormat, path.string() + ": " + problem);
}

} // namespace

std::string_view shortcutKindName(ShortcutKind kind)
{
    switch (kind) {
    case ShortcutKind::Residual1:
        return "residual1";
    case ShortcutKind::Residual2:
        return "residual2";
    case ShortcutKind::ShortcutSa:
        return "shortcut_sa";
    case ShortcutKind::ShortcutFfn:
        return "shortcut_ffn";
    }
    return "unknown";
}

std::vector<model::ProjectionSpec> shortcutSpecs(const model::ModelConfig& config)
{
    const std::string prefix =
        config.arch == model::ArchId::Gpt2 ? "transformer.h." : "model.layers.";
    std::vector<model::ProjectionSpec> specs;
    for (std::int64_t layer = 0; layer < config.numLayers; ++layer) {
        for (const ShortcutKind kind : kKinds) {
            if (kind == ShortcutKind::ShortcutFfn && layer == 0) {
                continue; // no previous layer to skip from
            }
            model::ProjectionSpec spec;
            spec.kind = kKindPrefix + std::string(shortcutKindName(kind));
            spec.name = prefix + std::to_string(layer) + "." + spec.kind;
            spec.layer = layer;
            spec.in = config.hiddenSize;
            spec.out = config.hiddenSize;
            specs.push_back(std::move(spec));
        }
    }
    return specs;
}

bool isShortcut(const adapters::Target& target)
{
    return target.spec.kind.starts_with(kKindPrefix);
}

std::vector<adapters::Target> shortcutTargets(const model::ModelConfig& model,
                                              const AdapterConfig& adapter)
{
    const bool isAll = adapter.method == AdapterMethod::HeteroLora && adapter.shortcuts;
    if (!isAll && adapter.shortcutModules.empty()) {
        return {};
    }
    const std::vector<model::ProjectionSpec> specs = shortcutSpecs(model);
    const std::set<std::string> named(adapter.shortcutModules.begin(),
                                      adapter.shortcutModules.end());
    for (const std::string& name : named) {
        const bool isKnown = std::any_of(specs.begin(), specs.end(),
                                         [&](const auto& spec) { return spec.name == name; });
        if (!isKnown) {
            throw Error(ErrorCode::InvalidArgument,
                        "heterolora_shortcut_modules: the model has no shortcut '" + name +
                            "' (expected names like '" + specs.front().name + "')");
        }
    }
    const std::int64_t r = effectiveRank(adapter);
    std::vector<adapters::Target> targets;
    for (const model::ProjectionSpec& spec : specs) {
        if (isAll || named.count(spec.name) > 0) {
            adapters::Target t;
            t.spec = spec;
            t.r = r;
            t.alpha = adapter.shortcutAlpha;
            t.scaling = adapter.shortcutAlpha / static_cast<double>(r);
            targets.push_back(std::move(t));
        }
    }
    return targets;
}

ShortcutLora::ShortcutLora(adapters::Target target, ShortcutKind kind)
    : m_target(std::move(target)), m_kind(kind)
{
    m_a = adapters::trainableLeaf(at::zeros({m_target.r, m_target.spec.in}));
    m_b = adapters::trainableLeaf(at::zeros({m_target.spec.out, m_target.r}));
}

void ShortcutLora::setFactors(const at::Tensor& a, const at::Tensor& b)
{
    const torch::NoGradGuard noGrad;
    m_a.copy_(a);
    m_b.copy_(b);
}

void ShortcutLora::initDefault(bool gaussian, at::Generator generator)
{
    const torch::NoGradGuard noGrad;
    if (gaussian) {
        m_a.normal_(0.0, 1.0 / static_cast<double>(m_target.r), generator);
    } else {
        // LoRA's kaiming_uniform_(a = sqrt(5)): bound 1 / sqrt(fan_in).
        const double bound = 1.0 / std::sqrt(static_cast<double>(m_target.spec.in));
        m_a.uniform_(-bound, bound, generator);
    }
    m_b.zero_();
}

at::Tensor ShortcutLora::branch(const at::Tensor& x) const
{
    return at::linear(at::linear(x.to(m_a.scalar_type()), m_a), m_b) * m_target.scaling;
}

std::vector<adapters::NamedTensor> ShortcutLora::tensors() const
{
    return {{"lora_A.weight", m_a}, {"lora_B.weight", m_b}};
}

void ShortcutLora::to(const c10::Device& device)
{
    adapters::moveLeaf(m_a, device);
    adapters::moveLeaf(m_b, device);
}

Shortcuts::Shortcuts(const std::vector<adapters::Target>& targets)
{
    for (const adapters::Target& t : targets) {
        auto unit = std::make_shared<ShortcutLora>(t, kindOf(t.spec.kind));
        const auto layer = static_cast<std::size_t>(t.spec.layer);
        if (m_byLayer.size() <= layer) {
            m_byLayer.resize(layer + 1, {nullptr, nullptr, nullptr, nullptr});
        }
        m_byLayer[layer][indexOf(unit->kind())] = unit.get();
        m_entries.push_back(Entry{t.spec.name, std::move(unit)});
    }
}

at::Tensor Shortcuts::added(std::int64_t layer, ShortcutKind kind, const at::Tensor& h,
                            const at::Tensor& source) const
{
    const auto index = static_cast<std::size_t>(layer);
    if (index >= m_byLayer.size() || !source.defined()) {
        return h;
    }
    const ShortcutLora* unit = m_byLayer[index][indexOf(kind)];
    if (unit == nullptr || !unit->isEnabled()) {
        return h;
    }
    return h + unit->branch(source).to(h.scalar_type());
}

at::Tensor Shortcuts::middle(std::int64_t layer, const at::Tensor& input,
                             const at::Tensor& previousMid, const at::Tensor& mid)
{
    const at::Tensor withResidual = added(layer, ShortcutKind::Residual1, mid, input);
    return added(layer, ShortcutKind::ShortcutFfn, withResidual, previousMid);
}

at::Tensor Shortcuts::output(std::int64_t layer, const at::Tensor& input, const at::Tensor& mid,
                             const at::Tensor& output)
{
    const at::Tensor withResidual = added(layer, ShortcutKind::Residual2, output, mid);
    return added(layer, ShortcutKind::ShortcutSa, withResidual, input);
}

void Shortcuts::initDefault(bool gaussian, at::Generator generator)
{
    for (const Entry& e : m_entries) {
        e.unit->initDefault(gaussian, generator);
    }
}

std::vector<std::pair<std::string, at::Tensor>> Shortcuts::namedTensors() const
{
    std::vector<std::pair<std::string, at::Tensor>> all;
    for (const Entry& e : m_entries) {
        for (const adapters::NamedTensor& t : e.unit->tensors()) {
            all.emplace_back(e.name + "." + t.name, t.tensor);
        }
    }
    return all;
}

bool Shortcuts::hasEnabled() const
{
    return std::any_of(m_entries.begin(), m_entries.end(),
                       [](const Entry& e) { return e.unit->isEnabled(); });
}

void Shortcuts::to(const c10::Device& device)
{
    for (const Entry& e : m_entries) {
        e.unit->to(device);
    }
}

void writeShortcutsFile(const Shortcuts& shortcuts, const std::filesystem::path& path)
{
    const torch::NoGradGuard noGrad;
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    std::vector<std::string> names;
    std::int64_t r = 0;
    double alpha = 0.0;
    for (const Shortcuts::Entry& e : shortcuts.entries()) {
        r = e.unit->target().r;
        alpha = e.unit->target().alpha;
        if (!e.unit->isEnabled()) {
            continue;
        }
        names.push_back(e.name);
        for (const adapters::NamedTensor& t : e.unit->tensors()) {
            tensors.emplace_back(kKeyPrefix + e.name + "." + t.name,
                                 t.tensor.detach().to(at::kCPU, at::kFloat).contiguous());
        }
    }
    model::writeSafetensors(path, tensors,
                            {{"format", "pt"},
                             {"shortcut_modules", json(names).dump()},
                             {"r", std::to_string(r)},
                             {"shortcut_alpha", json(alpha).dump()}});
}

void readShortcutsConfig(const std::filesystem::path& path, AdapterConfig& config)
{
    const model::SafetensorsFile file = model::SafetensorsFile::open(path);
    const std::map<std::string, std::string>& metadata = file.metadata();
    auto value = [&](const std::string& key) {
        const auto it = metadata.find(key);
        if (it == metadata.end()) {
            badFile(path, "the metadata has no '" + key + "'");
        }
        const json parsed = json::parse(it->second, nullptr, false);
        if (parsed.is_discarded()) {
            badFile(path, "the metadata's '" + key + "' is not JSON");
        }
        return parsed;
    };
    const json modules = value("shortcut_modules");
    const json r = value("r");
    const json alpha = value("shortcut_alpha");
    if (!modules.is_array() ||
        !std::all_of(modules.begin(), modules.end(), [](const json& m) { return m.is_string(); })) {
        badFile(path, "the metadata's 'shortcut_modules': expected a list of names");
    }
    if (!r.is_number_integer() || r.get<std::int64_t>() != effectiveRank(config)) {
        badFile(path, "the metadata's 'r': expected " + std::to_string(effectiveRank(config)) +
                          ", the rank of adapter_config.json, got " + r.dump());
    }
    if (!alpha.is_number() || !(alpha.get<double>() > 0.0)) {
        badFile(path, "the metadata's 'shortcut_alpha': expected a positive number");
    }
    config.shortcutModules = modules.get<std::vector<std::string>>();
    config.shortcutAlpha = alpha.get<double>();
}

void loadShortcutsFile(const Shortcuts& shortcuts, const std::filesystem::path& path)
{
    const torch::NoGradGuard noGrad;
    const model::SafetensorsFile file = model::SafetensorsFile::open(path);
    std::vector<std::string> problems;
    std::set<std::string> used;
    for (const Shortcuts::Entry& e : shortcuts.entries()) {
        for (adapters::NamedTensor& t : e.unit->tensors()) {
            const std::string key = kKeyPrefix + e.name + "." + t.name;
            const model::TensorInfo* info = file.find(key);
            if (info == nullptr) {
                problems.push_back("missing '" + key + "'");
                continue;
            }
            used.insert(key);
            if (info->shape != t.tensor.sizes().vec()) {
                problems.push_back("'" + key + "' has shape " + json(info->shape).dump() +
                                   ", expected " + json(t.tensor.sizes().vec()).dump());
                continue;
            }
            t.tensor.copy_(file.load(key));
        }
    }
    for (const model::TensorInfo& info : file.tensors()) {
        if (used.count(info.name) == 0) {
            problems.push_back("unexpected '" + info.name + "'");
        }
    }
    if (!problems.empty()) {
        std::string message = "does not fit the model and its shortcut_modules:";
        for (const std::string& p : problems) {
            message += "\n  " + p;
        }
        badFile(path, message);
    }
}

} // namespace ftw::heterolora
