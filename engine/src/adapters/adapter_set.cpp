// SPDX-License-Identifier: MIT
#include "adapter_set.h"

#include "counts.h"
#include "lora.h"
#include "miss.h"

#include "clover/clover_adapter.h"
#include "heterolora/gated_lora.h"
#include "heterolora/shortcuts.h"
#include "model/projections.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <algorithm>
#include <map>

namespace ftw::adapters {
namespace {

std::map<std::string, nn::Projection> projectionsByName(nn::DecoderImpl& decoder)
{
    std::map<std::string, nn::Projection> found;
    for (const auto& item : decoder.named_modules()) {
        if (auto projection = std::dynamic_pointer_cast<nn::ProjectionImpl>(item.value())) {
            found.emplace(item.key(), nn::Projection(projection));
        }
    }
    return found;
}

/// LoRA-GA's mean gradient of every target weight over `batches` batches, as [out, in] fp32.
std::map<std::string, at::Tensor>
estimateGradients(nn::DecoderImpl& decoder, const std::vector<Target>& targets,
                  const std::map<std::string, nn::Projection>& all, const AttachOptions& options,
                  int batches)
{
    if (!options.backwardOnNextBatch) {
        throw Error(ErrorCode::InvalidArgument,
                    "lora-ga estimates gradients from training batches; none were given");
    }
    for (const Target& t : targets) {
        all.at(t.spec.name)->weight.set_requires_grad(true);
    }
    for (int i = 0; i < batches; ++i) {
        options.backwardOnNextBatch(decoder);
    }
    std::map<std::string, at::Tensor> gradients;
    for (const Target& t : targets) {
        at::Tensor& weight = all.at(t.spec.name).ptr()->weight;
        at::Tensor grad = weight.grad();
        if (!grad.defined()) {
            throw Error(ErrorCode::InvalidArgument,
                        "lora-ga: the batches gave no gradient for '" + t.spec.name + "'");
        }
        grad = (t.spec.conv1d ? grad.t() : grad).to(at::kFloat) / static_cast<double>(batches);
        gradients.emplace(t.spec.name, grad.contiguous());
        weight.mutable_grad() = at::Tensor();
        weight.set_requires_grad(false);
    }
    return gradients;
}

} // namespace

AdapterSet AdapterSet::attach(nn::DecoderImpl& decoder, const AdapterConfig& config,
                              const AttachOptions& options)
{
    validateAdapterConfig(config);
    for (const auto& parameter : decoder.parameters()) {
        if (parameter.device().type() != c10::DeviceType::CPU) {
            throw Error(ErrorCode::InvalidArgument,
                        "adapters are attached on the CPU; move the model to the device after");
        }
    }
    AdapterSet set;
    set.m_config = config;
    set.m_decoder = &decoder;
    set.m_allProjections = model::projectionSpecs(decoder.config());
    const std::vector<Target> shortcutTargets =
        heterolora::shortcutTargets(decoder.config(), config);
    // A static HeteroLoRA allocation may have chosen shortcuts only.
    const bool isShortcutsOnly =
        !config.shortcutModules.empty() &&
        std::none_of(set.m_allProjections.begin(), set.m_allProjections.end(),
                     [&](const model::ProjectionSpec& spec) { return isTargeted(spec, config); });
    const std::vector<Target> targets =
        isShortcutsOnly ? std::vector<Target>{} : selectTargets(set.m_allProjections, config);
    const bool full = config.method == Method::Full;
    for (auto& parameter : decoder.parameters()) {
        parameter.set_requires_grad(full);
    }
    if (full) {
        return set;
    }
    const std::map<std::string, nn::Projection> projections = projectionsByName(decoder);
    std::map<std::string, at::Tensor> gradients;
    if (config.method == Method::LoraGa && options.initialise) {
        gradients = estimateGradients(decoder, targets, projections, options, config.loraGaBatches);
    }
    if (config.method == Method::Vera) {
        const LargestShape largest = largestShape(targets);
        set.m_vera = std::make_shared<VeraProjections>(makeVeraProjections(
            effectiveRank(config), largest.in, largest.out, config.projectionPrngKey));
    }

    at::Generator generator = at::detail::createCPUGenerator(config.seed);
    std::vector<std::pair<std::string, std::shared_ptr<AdaLoraAdapter>>> adaloraModules;
    for (const Target& t : targets) {
        nn::ProjectionImpl& base = *projections.at(t.spec.name).ptr();
        std::shared_ptr<ModuleAdapter> adapter;
        switch (config.method) {
        case Method::Lora:
        case Method::Pissa:
        case Method::Olora:
        case Method::LoraGa:
        case Method::Dora: {
            auto lora = config.method == Method::Dora
                            ? std::make_shared<DoraAdapter>(t, config.dropout)
                            : std::make_shared<LoraAdapter>(t, config.dropout);
            if (config.method == Method::Pissa && (options.initialise || config.pissaNiter == 0)) {
                lora->initPissa(base, config.pissaNiter, generator);
            } else if (config.method == Method::Olora) {
                lora->initOlora(base);
            } else if (config.method == Method::LoraGa && options.initialise) {
                lora->initLoraGa(base, gradients.at(t.spec.name), config.loraGaDirection,
                                 config.loraGaScale, config.loraGaGamma, generator);
            } else if (options.initialise) {
                lora->initDefault(config.gaussianInit, generator);
            }
            if (auto dora = std::dynamic_pointer_cast<DoraAdapter>(lora)) {
                dora->initMagnitude(base);
            }
            adapter = lora;
            break;
        }
        case Method::HeteroLora: {
            auto unit = std::make_shared<heterolora::GatedLoraAdapter>(t, config.dropout);
            if (options.initialise) {
                unit->initDefault(config.gaussianInit, generator);
            }
            adapter = unit;
            break;
        }
        case Method::Vera:
            adapter = std::make_shared<VeraAdapter>(t, set.m_vera, config.dInitial, config.dropout);
            break;
        case Method::Bone:
            adapter = std::make_shared<BoneAdapter>(t, config.dropout);
            break;
        case Method::Bat:
            adapter = std::make_shared<BatAdapter>(t);
            break;
        case Method::AdaLora: {
            auto adalora = std::make_shared<AdaLoraAdapter>(t, config.dropout);
            if (options.initialise) {
                adalora->initDefault(generator);
            }
            adaloraModules.emplace_back(t.spec.name, adalora);
            adapter = adalora;
            break;
        }
        case Method::Clover:
            // Factors and cores from the QR / SVD of the base weights; when loading, the saved
            // factors and cores fill the adapter instead.
            adapter =
                clover::makeCloverAdapter(t, base, decoder, options.initialise, config.dropout);
            break;
        case Method::Full:
            break;
        }
        base.adapter = adapter;
        base.merged = false;
        set.m_modules.push_back(Module{t.spec.name, projections.at(t.spec.name), adapter});
    }
    if (config.method == Method::AdaLora) {
        set.m_allocator = std::make_unique<AdaLoraAllocator>(config, std::move(adaloraModules));
    }
    if (!shortcutTargets.empty()) {
        if (decoder.residualHooks) {
            throw Error(ErrorCode::InvalidArgument,
                        "the model already has shortcuts installed by another adapter");
        }
        set.m_shortcuts = std::make_shared<heterolora::Shortcuts>(shortcutTargets);
        if (options.initialise) {
            set.m_shortcuts->initDefault(config.gaussianInit, generator);
        }
        decoder.residualHooks = set.m_shortcuts;
    }
    return set;
}

AdapterSet::AdapterSet(AdapterSet&& other) noexcept
    : m_config(std::move(other.m_config))
    , m_decoder(other.m_decoder)
    , m_modules(std::move(other.m_modules))
    , m_allProjections(std::move(other.m_allProjections))
    , m_vera(std::move(other.m_vera))
    , m_allocator(std::move(other.m_allocator))
    , m_shortcuts(std::move(other.m_shortcuts))
    , m_merged(other.m_merged)
{
    other.m_modules.clear();
}

AdapterSet& AdapterSet::operator=(AdapterSet&& other) noexcept
{
    if (this != &other) {
        uninstall();
        m_config = std::move(other.m_config);
        m_decoder = other.m_decoder;
        m_modules = std::move(other.m_modules);
        m_allProjections = std::move(other.m_allProjections);
        m_vera = std::move(other.m_vera);
        m_allocator = std::move(other.m_allocator);
        m_shortcuts = std::move(other.m_shortcuts);
        m_merged = other.m_merged;
        other.m_modules.clear();
    }
    return *this;
}

AdapterSet::~AdapterSet()
{
    uninstall();
}

void AdapterSet::uninstall()
{
    for (Module& m : m_modules) {
        if (m.projection && m.projection->adapter == m.adapter) {
            m.projection->adapter.reset();
            m.projection->merged = false;
        }
    }
    m_modules.clear();
    if (m_shortcuts && m_decoder != nullptr && m_decoder->residualHooks == m_shortcuts) {
        m_decoder->residualHooks.reset();
    }
    m_shortcuts.reset();
}

const AdapterSet::Module* AdapterSet::find(const std::string& moduleName) const
{
    const auto it = std::find_if(m_modules.begin(), m_modules.end(),
                                 [&](const Module& m) { return m.name == moduleName; });
    return it == m_modules.end() ? nullptr : &*it;
}

std::vector<std::pair<std::string, at::Tensor>> AdapterSet::trainableParameters() const
{
    std::vector<std::pair<std::string, at::Tensor>> all;
    if (m_config.method == Method::Full && m_decoder != nullptr) {
        for (const auto& item : m_decoder->named_parameters()) {
            all.emplace_back(item.key(), item.value());
        }
        return all;
    }
    for (const Module& m : m_modules) {
        for (const NamedTensor& t : m.adapter->trainable()) {
            all.emplace_back(m.name + "." + t.name, t.tensor);
        }
    }
    if (m_shortcuts) {
        for (auto& named : m_shortcuts->namedTensors()) {
            all.push_back(std::move(named));
        }
    }
    return all;
}

std::int64_t AdapterSet::trainableCount() const
{
    std::int64_t total = 0;
    for (const auto& [name, tensor] : trainableParameters()) {
        total += tensor.numel();
    }
    return total;
}

void AdapterSet::merge()
{
    if (m_merged) {
        return;
    }
    for (Module& m : m_modules) {
        m.adapter->merge(*m.projection);
    }
    m_merged = true;
}

void AdapterSet::unmerge()
{
    if (!m_merged) {
        return;
    }
    for (Module& m : m_modules) {
        m.adapter->unmerge(*m.projection);
    }
    m_merged = false;
}

void AdapterSet::to(const c10::Device& device)
{
    for (Module& m : m_modules) {
        m.adapter->to(device);
    }
    if (m_vera) {
        m_vera->a = m_vera->a.to(device);
        m_vera->b = m_vera->b.to(device);
    }
    if (m_shortcuts) {
        m_shortcuts->to(device);
    }
}

std::vector<ParameterGroup> loraPlusGroups(const AdapterSet& adapters, double learningRate,
                                           double ratio, double weightDecay)
{
    ParameterGroup a{"A", {}, learningRate, weightDecay};
    ParameterGroup bDecay{"B", {}, learningRate * ratio, weightDecay};
    ParameterGroup bNoDecay{"B (no decay)", {}, learningRate * ratio, 0.0};
    for (const auto& [name, tensor] : adapters.trainableParameters()) {
        const bool isB = name.find("lora_B") != std::string::npos || tensor.dim() == 1;
        const bool isBias = name.find("bias") != std::string::npos;
        if (!isB) {
            a.parameters.push_back(tensor);
        } else if (isBias) {
            bNoDecay.parameters.push_back(tensor);
        } else {
            bDecay.parameters.push_back(tensor);
        }
    }
    std::vector<ParameterGroup> groups;
    for (ParameterGroup* g : {&a, &bDecay, &bNoDecay}) {
        if (!g->parameters.empty()) {
            groups.push_back(std::move(*g));
        }
    }
    return groups;
}

} // namespace ftw::adapters
