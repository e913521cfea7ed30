// SPDX-License-Identifier: MIT
#include "adalora.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>

namespace ftw::adapters {

AdaLoraAdapter::AdaLoraAdapter(Target target, double dropout)
    : ModuleAdapter(std::move(target)), m_dropout(dropout)
{
    const Target& t = this->target();
    m_a = trainableLeaf(at::zeros({t.r, t.spec.in}));
    m_e = trainableLeaf(at::zeros({t.r, 1}));
    m_b = trainableLeaf(at::zeros({t.spec.out, t.r}));
}

void AdaLoraAdapter::initDefault(at::Generator generator)
{
    const torch::NoGradGuard noGrad;
    m_a.normal_(0.0, 0.02, generator);
    m_b.normal_(0.0, 0.02, generator);
    m_e.zero_();
}

at::Tensor AdaLoraAdapter::forward(nn::ProjectionImpl& base, const at::Tensor& input)
{
    const at::Tensor output = base.baseForward(input);
    const at::Tensor x = dropout(input, m_dropout, base.is_training()).to(m_a.scalar_type());
    const at::Tensor h = at::linear(at::linear(x, m_a * m_e), m_b) * target().scaling;
    return output + h.to(output.scalar_type());
}

at::Tensor AdaLoraAdapter::deltaWeight(const at::Tensor& /*weightOutIn*/) const
{
    const torch::NoGradGuard noGrad;
    return at::matmul(m_b.to(at::kFloat), (m_a * m_e).to(at::kFloat)) * target().scaling;
}

std::vector<NamedTensor> AdaLoraAdapter::tensors() const
{
    return {{"lora_A", m_a}, {"lora_E", m_e}, {"lora_B", m_b}};
}

void AdaLoraAdapter::to(const c10::Device& device)
{
    moveLeaf(m_a, device);
    moveLeaf(m_e, device);
    moveLeaf(m_b, device);
}

AdaLoraAllocator::AdaLoraAllocator(
    Settings settings, std::vector<std::pair<std::string, std::shared_ptr<AdaLoraAdapter>>> modules)
    : m_settings(settings)
    , m_modules(std::move(modules))
    , m_averageImportance(m_modules.size())
    , m_averageUncertainty(m_modules.size())
{
}

AdaLoraAllocator::Budget AdaLoraAllocator::budgetAt(std::int64_t step) const
{
    const auto count = static_cast<std::int64_t>(m_modules.size());
    const std::int64_t initial = m_settings.initR * count;
    const std::int64_t target = m_settings.targetR * count;
    const Settings& s = m_settings;
    if (step <= s.tinit) {
        return {initial, false};
    }
    if (step > s.totalStep - s.tfinal) {
        return {target, true};
    }
    const double progress =
        static_cast<double>(step - s.tinit) / static_cast<double>(s.totalStep - s.tfinal - s.tinit);
    const double remaining = 1.0 - progress;
    const auto budget = static_cast<std::int64_t>(static_cast<double>(initial - target) *
                                                      remaining * remaining * remaining +
                                                  static_cast<double>(target));
    return {budget, step % s.deltaT == 0};
}

at::Tensor AdaLoraAllocator::orthogonalRegularizer() const
{
    at::Tensor total;
    int terms = 0;
    for (const auto& [name, module] : m_modules) {
        const at::Tensor a = module->a();
        const at::Tensor b = module->b();
        const at::Tensor eye = at::eye(a.size(0), a.options().requires_grad(false));
        const at::Tensor termA = at::linalg_matrix_norm(at::matmul(a, a.t()) - eye, "fro");
        const at::Tensor termB = at::linalg_matrix_norm(at::matmul(b.t(), b) - eye, "fro");
        total = total.defined() ? total + termA + termB : termA + termB;
        terms += 2;
    }
    if (terms == 0) {
        return at::zeros({});
    }
    return total * (m_settings.orthRegWeight / terms);
}

void AdaLoraAllocator::updateImportance()
{
    const torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < m_modules.size(); ++i) {
        AdaLoraAdapter& module = *m_modules[i].second;
        const std::array<at::Tensor, 3> parts{module.a(), module.e(), module.b()};
        for (std::size_t j = 0; j < parts.size(); ++j) {
            const at::Tensor& p = parts[j];
            if (!p.grad().defined()) {
                continue;
            }
            const at::Tensor importance = (p * p.grad()).abs();
            at::Tensor& average = m_averageImportance[i][j];
            at::Tensor& uncertainty = m_averageUncertainty[i][j];
            if (!average.defined()) {
                average = at::zeros_like(p);
                uncertainty = at::zeros_like(p);
            }
            average.mul_(m_settings.beta1).add_(importance, 1.0 - m_settings.beta1);
            uncertainty.mul_(m_settings.beta2)
                .add_((importance - average).abs(), 1.0 - m_settings.beta2);
        }
    }
}

void AdaLoraAllocator::maskToBudget(std::int64_t budget)
{
    const torch::NoGradGuard noGrad;
    // s = average importance * average uncertainty, per element; zero before any gradient.
    auto score = [&](std::size_t module, std::size_t part, const at::Tensor& p) {
        const at::Tensor& average = m_averageImportance[module][part];
        return average.defined() ? average * m_averageUncertainty[module][part] : at::zeros_like(p);
    };
    std::vector<at::Tensor> tripletScores;
    for (std::size_t i = 0; i < m_modules.size(); ++i) {
        AdaLoraAdapter& module = *m_modules[i].second;
        tripletScores.push_back(score(i, 1, module.e()).view({-1}) +
                                score(i, 0, module.a()).mean(1) + score(i, 2, module.b()).mean(0));
    }
    const std::int64_t initial = m_settings.initR * static_cast<std::int64_t>(m_modules.size());
    const std::int64_t pruned = initial - budget;
    if (pruned <= 0) {
        return;
    }
    const double threshold =
        std::get<0>(at::kthvalue(at::cat(tripletScores), pruned)).item<double>();
    for (std::size_t i = 0; i < m_modules.size(); ++i) {
        const auto& [name, module] = m_modules[i];
        const at::Tensor drop = tripletScores[i] <= threshold;
        module->e().masked_fill_(drop.view({-1, 1}), 0.0);
        const at::Tensor keep = drop.logical_not().to(at::kCPU);
        std::vector<bool> pattern;
        for (std::int64_t j = 0; j < keep.size(0); ++j) {
            pattern.push_back(keep[j].item<bool>());
        }
        m_rankPattern[name + ".lora_E"] = std::move(pattern);
    }
}

void AdaLoraAllocator::applyRankPattern()
{
    const torch::NoGradGuard noGrad;
    for (const auto& [name, module] : m_modules) {
        const auto found = m_rankPattern.find(name + ".lora_E");
        if (found == m_rankPattern.end()) {
            continue;
        }
        for (std::size_t j = 0; j < found->second.size(); ++j) {
            if (!found->second[j]) {
                module->e()[static_cast<std::int64_t>(j)].zero_();
            }
        }
    }
}

void AdaLoraAllocator::updateAndAllocate(std::int64_t step)
{
    const std::int64_t freezeAt = m_settings.totalStep - m_settings.tfinal;
    if (step < freezeAt) {
        updateImportance();
        const Budget b = budgetAt(step);
        if (b.mask) {
            maskToBudget(b.budget);
        }
    } else if (step == freezeAt) {
        updateImportance();
        maskToBudget(budgetAt(step).budget);
        m_averageImportance.assign(m_modules.size(), {});
        m_averageUncertainty.assign(m_modules.size(), {});
    } else {
        applyRankPattern();
    }
}

} // namespace ftw::adapters

namespace ftw::adapters {

std::vector<std::pair<std::string, at::Tensor>> AdaLoraAllocator::state() const
{
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (std::size_t i = 0; i < m_modules.size(); ++i) {
        const std::string prefix = "adalora." + m_modules[i].first;
        for (std::size_t part = 0; part < 3; ++part) {
            if (m_averageImportance[i][part].defined()) {
                tensors.emplace_back(prefix + ".importance." + std::to_string(part),
                                     m_averageImportance[i][part].to(at::kCPU));
                tensors.emplace_back(prefix + ".uncertainty." + std::to_string(part),
                                     m_averageUncertainty[i][part].to(at::kCPU));
            }
        }
        const auto found = m_rankPattern.find(m_modules[i].first + ".lora_E");
        if (found != m_rankPattern.end()) {
            at::Tensor kept =
                at::zeros({static_cast<std::int64_t>(found->second.size())}, at::kByte);
            for (std::size_t j = 0; j < found->second.size(); ++j) {
                kept[static_cast<std::int64_t>(j)] = found->second[j] ? 1 : 0;
            }
            tensors.emplace_back(prefix + ".kept", kept);
        }
    }
    return tensors;
}

void AdaLoraAllocator::loadState(const std::vector<std::pair<std::string, at::Tensor>>& state)
{
    std::map<std::string, at::Tensor> byName(state.begin(), state.end());
    for (std::size_t i = 0; i < m_modules.size(); ++i) {
        const std::string prefix = "adalora." + m_modules[i].first;
        const c10::Device device = m_modules[i].second->e().device();
        for (std::size_t part = 0; part < 3; ++part) {
            const auto importance = byName.find(prefix + ".importance." + std::to_string(part));
            const auto uncertainty = byName.find(prefix + ".uncertainty." + std::to_string(part));
            if (importance != byName.end() && uncertainty != byName.end()) {
                m_averageImportance[i][part] = importance->second.to(device);
                m_averageUncertainty[i][part] = uncertainty->second.to(device);
            }
        }
        if (const auto kept = byName.find(prefix + ".kept"); kept != byName.end()) {
            std::vector<bool> pattern;
            for (std::int64_t j = 0; j < kept->second.numel(); ++j) {
                pattern.push_back(kept->second[j].item<std::uint8_t>() != 0);
            }
            m_rankPattern[m_modules[i].first + ".lora_E"] = std::move(pattern);
        }
    }
}

} // namespace ftw::adapters
